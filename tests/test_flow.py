"""The main job (``make run``): tile -> DRC -> LVS -> extracted netlist, one report."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bmru_pdk.model.checkpoint import random_checkpoint


def test_flow_checks_and_reports_a_tile(tmp_path: Path) -> None:
    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=3, path=tmp_path / "c.safetensors")
    out = tmp_path / "flow"
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "flow", str(ckpt), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    figures = json.loads((out / "flow.json").read_text())
    assert figures["drc"] == {"clean": True, "counts": {}, "runtime_s": figures["drc"]["runtime_s"]}
    assert figures["lvs"]["match"] and figures["lvs"]["mismatches"] == []
    # the extractor counts every placed transistor (per finger), as the netlist lists them
    lines = [ln for ln in (out / "extracted.spice").read_text().splitlines()
             if ln.startswith("XM")]
    assert sum(figures["extract"]["devices"].values()) == len(lines)
    assert "| DRC (official gf180mcu deck) | clean" in (out / "report.md").read_text()
    assert not list(tmp_path.glob(".*part"))


def test_flow_on_a_broken_checkpoint_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    out = tmp_path / "flow"
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "flow", str(bad), "-o", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1
    assert not out.exists() and not list(tmp_path.glob(".*part"))
