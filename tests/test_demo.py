"""``make run``'s demo: a device array from one description, DRC-clean and LVS-matching."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import gdsfactory as gf

from bmru_pdk.layouts.device_array import array_circuit, device_array
from bmru_pdk.verification import lvs


def test_demo_command_is_clean(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "demo", "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "DRC clean" in proc.stdout and "LVS match" in proc.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary == {"transistors": 8, "drc_clean": True, "drc_counts": {}, "lvs_match": True}
    assert json.loads((out / "lvs.json").read_text())["gds"] == str(out / "demo.gds")
    assert not list(tmp_path.glob(".*part"))


def test_schematic_from_another_description_fails_lvs(tmp_path: Path, pdk: None) -> None:
    gds = tmp_path / "a.gds"
    device_array(count=3).write_gds(gds, with_metadata=False)
    wrong = array_circuit(3).to_spice().replace("w=2u", "w=2.5u", 1)
    result = lvs.run(gds, wrong)
    assert not result.match
    assert any("W" in m.message and "2.5" in m.message for m in result.mismatches)
    assert gf.get_component("device_array", count=3).name == device_array(count=3).name
