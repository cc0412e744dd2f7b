"""The main job (``make run``): tile -> DRC -> LVS -> extracted netlist -> compare, one report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from bmru_pdk import flow
from bmru_pdk.analyses import compare as cmp
from bmru_pdk.model.checkpoint import random_checkpoint
from bmru_pdk.model.samples import Utterance

# Frames well clear of the thresholds of the seed-1 unit (see test_compare.py)
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)


def test_flow_checks_reports_and_compares_a_tile(tmp_path: Path) -> None:
    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    out = tmp_path / "flow"
    result = flow.run(ckpt, out, [Utterance("hand", 0, FRAMES)], pex=True)
    assert result.ok
    figures = json.loads((out / "flow.json").read_text())
    assert figures == result.figures
    assert figures["drc"] == {"clean": True, "counts": {}, "runtime_s": figures["drc"]["runtime_s"]}
    assert figures["lvs"]["match"] and figures["lvs"]["mismatches"] == []
    # the extractor counts every placed transistor (per finger), as the netlist lists them
    lines = [ln for ln in (out / "extracted.spice").read_text().splitlines()
             if ln.startswith("XM")]
    assert sum(figures["extract"]["devices"].values()) == len(lines)
    c = figures["compare"]
    assert c["ideal"]["state_agreement_per_layer"] == [1.0]
    assert c["targets"]["met"] and c["targets"]["state_agreement"]["shortfall"] == 0
    assert 1 < c["power_nw"]["mean"] < 100
    assert (out / c["plot"]).stat().st_size > 0
    report = (out / "report.md").read_text()
    assert "| DRC (official gf180mcu deck) | clean" in report
    assert "| class decisions agreeing (95 % CI) | 1/1 (20.7 %-100.0 %) |" in report
    assert f"]({c['plot']})" in report and "| agreement targets" in report
    # the headline compare ran on the netlist with parasitics, the device-only one beside it
    assert figures["pex"]["capacitors"] > 10 and (out / "pex.spice").is_file()
    assert c["netlist"].startswith("devices and ") and "parasitic capacitors" in c["netlist"]
    assert c["device_only"]["netlist"] == "devices"
    assert c["device_only"]["ideal"]["state_agreement_per_layer"] == [1.0]
    assert "| parasitic capacitances (KLayout-PEX 2.5D) |" in report
    assert "| PVT (corners, -40/27/125 °C, VDD ±10 %) | python benchmarks/bench_pvt.py" in report
    assert "| device-only netlist: state bits per layer, decisions | 100.0 %; 1/1 |" in report
    assert not list(tmp_path.glob(".*part")) and not list(out.glob(".*part"))


def test_missed_targets_are_reported_with_the_shortfall() -> None:
    c = {"ideal": {"state_agreement_per_layer": [0.95, 0.9], "decision_agreement": 1.0}}
    t = cmp.target_check(c)
    assert not t["met"]
    assert t["state_agreement"] == {"target": 0.99, "measured": 0.9, "shortfall": 0.09}
    assert t["decision_agreement"]["shortfall"] == 0


def test_flow_on_a_broken_checkpoint_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    out = tmp_path / "flow"
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "flow", str(bad), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".*part"))
