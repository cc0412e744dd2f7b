"""The base install (no torch, librosa, numba or dask) builds, DRCs and LVSes a tile: on the
Python 3.12 legs this runs without the extras installed at all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.verification import drc, lvs

EXTRAS = ("torch", "librosa", "numba", "soundfile", "dask", "distributed")


def test_tile_from_a_checkpoint_without_the_extras(tmp_path: Path) -> None:
    out = tmp_path / "tile"
    script = ("import sys, bmru_pdk; from bmru_pdk.layouts.tile import tile_files; "
              "bmru_pdk.PDK.activate(); "
              f"tile_files({str(bundled_checkpoint())!r}, {str(out)!r}); "
              f"print(sorted(set({EXTRAS!r}) & set(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"  # no extra was imported
    assert drc.run(out / "tile.gds", tmp_path / "drc.lyrdb").clean
    assert lvs.run(out / "tile.gds", out / "tile.spice").match
    # the check can fail: the same layout against a schematic with one weight changed
    spice = (out / "tile.spice").read_text()
    first = next(ln for ln in spice.splitlines() if ln.startswith("XM") and " w=" in ln)
    wrong = first.replace(" w=", " w=1", 1)
    (tmp_path / "wrong.spice").write_text(spice.replace(first, wrong, 1))
    assert not lvs.run(out / "tile.gds", tmp_path / "wrong.spice").match
