"""The main job (``make run``): tile -> DRC -> LVS -> extracted netlist -> compare, one report.

``flow.json``'s keys are a contract with its readers: ``tests/data/flow_keys.json`` holds
their structure (:func:`key_structure`) as the flow wrote them before the typed-pipeline
refactor (issue 20), from ``bmru flow --n 2`` on the bundled checkpoint; the flow run here
(another checkpoint, one utterance, parasitics) writes the same structure. A key added,
renamed or removed on purpose: regenerate the file from a flow.json of the new code
(``python tests/test_flow.py FLOW_JSON``), review the diff and commit it with the change.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk import flow
from bmru_pdk.analyses import compare as cmp
from bmru_pdk.model.checkpoint import random_checkpoint
from bmru_pdk.model.samples import Utterance

# Frames well clear of the thresholds of the seed-1 unit (see test_compare.py)
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)

FLOW_KEYS = Path(__file__).parent / "data" / "flow_keys.json"
# maps keyed by the design, not by the format: network parts, net names, DRC rules
DATA_MAPS = {"tile.supply_na", "tile.power_nw", "pex.net_capacitance_f", "drc.counts"}


def key_structure(value: object, path: str = "") -> object:
    """The keys of a JSON value, values dropped: a dict's keys (sorted) with their structure,
    a list as the merged structure of its elements (``[]`` for scalars), ``None`` for a
    scalar, ``{"*": None}`` for a map of :data:`DATA_MAPS`."""
    if isinstance(value, dict):
        if path in DATA_MAPS:
            return {"*": None}
        return {k: key_structure(v, f"{path}.{k}" if path else k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        merged: object = None
        for element in value:
            merged = _merge(merged, key_structure(element, path))
        return [merged] if isinstance(merged, dict | list) else []
    return None


def _merge(a: object, b: object) -> object:
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) for k in sorted(a.keys() | b.keys())}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0] if a else None, b[0] if b else None)] if a or b else []
    return a if b is None else b


def key_paths(structure: object, path: str = "") -> set[str]:
    """Every key of a :func:`key_structure` as a dotted path (``[]`` for list elements)."""
    out: set[str] = set()
    if isinstance(structure, dict):
        for k, v in structure.items():
            key = f"{path}.{k}" if path else k
            out |= {key} | key_paths(v, key)
    elif isinstance(structure, list):
        for v in structure:
            out |= key_paths(v, path + "[]")
    return out


def key_changes(got: object, want: object) -> list[str]:
    """The keys one structure has and the other lacks, as ``missing``/``new`` lines."""
    g, w = key_paths(got), key_paths(want)
    return [f"missing: {k}" for k in sorted(w - g)] + [f"new: {k}" for k in sorted(g - w)]


@pytest.fixture(scope="module")
def flow_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, flow.FlowResult]:
    """One flow run (a 2-input, 1-unit tile, one utterance, parasitics) for the tests below."""
    tmp_path = tmp_path_factory.mktemp("flow")
    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    return tmp_path, flow.run(ckpt, tmp_path / "flow", [Utterance("hand", 0, FRAMES)], pex=True)


def test_flow_checks_reports_and_compares_a_tile(flow_run: tuple[Path, flow.FlowResult]
                                                 ) -> None:
    tmp_path, result = flow_run
    out = tmp_path / "flow"
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
    # within 0.5-1.5x of the tile's own supply estimate: the argument of test_compare.py's
    # power check (same network, same frames)
    estimate = figures["tile"]["power_total_nw"]
    assert 0.5 * estimate < c["power_nw"]["mean"] < 1.5 * estimate
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


def test_flow_draws_and_compares_the_rail_generator(tmp_path: Path) -> None:
    """``bmru flow --draw-rail --rail-generator``: the generator is drawn, checked with the
    tile and holds the rail in the compare (at 27 °C on ground, so the tile keeps its model
    in every frame, which the frames clear of the thresholds allow); without the drawn rail
    the option is refused before anything is written."""
    from bmru_pdk.circuits import RailGeneratorParams

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    result = flow.run(ckpt, tmp_path / "flow", [Utterance("hand", 0, FRAMES)],
                      source_rail=True, rail_generator=RailGeneratorParams())
    f = result.figures
    assert result.ok and f["tile"]["rail_generator"] and f["lvs"]["match"]
    assert f["compare"]["ideal"]["state_agreement_per_layer"] == [1.0]
    assert " iset " in f" {(tmp_path / 'flow' / 'tile.spice').read_text()} "
    out = tmp_path / "refused"
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "flow", str(ckpt), "-o", str(out),
                           "--rail-generator"], capture_output=True, text=True)
    assert proc.returncode == 2 and "add --draw-rail" in proc.stderr and not out.exists()


def test_flow_json_keys_unchanged(flow_run: tuple[Path, flow.FlowResult]) -> None:
    tmp_path, _ = flow_run
    got = key_structure(json.loads((tmp_path / "flow" / "flow.json").read_text()))
    want = json.loads(FLOW_KEYS.read_text())["structure"]
    assert got == want, "\n".join(key_changes(got, want) or ["list or map nesting changed"])


def test_key_changes_name_a_removed_and_a_new_key() -> None:
    figures = {"drc": {"clean": True, "counts": {"M1.1": 2}},
               "compare": {"worst": [{"index": 0, "name": "a"}, {"index": 1, "extra": 2}],
                           "ideal": {"ci95": [[0.1, 0.2]]}},
               "lvs": {"mismatches": []}}
    want = key_structure(figures)
    assert want == {"compare": {"ideal": {"ci95": [[]]},
                                "worst": [{"extra": None, "index": None, "name": None}]},
                    "drc": {"clean": None, "counts": {"*": None}}, "lvs": {"mismatches": []}}
    # values and the keys of a design's maps are not the format
    figures["drc"]["counts"] = {}
    assert key_structure(figures) == want
    del figures["compare"]["worst"][0]["name"]
    figures["lvs"]["runtime_s"] = 1.0
    assert key_changes(key_structure(figures), want) == ["missing: compare.worst[].name",
                                                         "new: lvs.runtime_s"]


def test_missed_targets_are_reported_with_the_shortfall() -> None:
    c = {"realised": {"state_agreement_per_layer": [0.95, 0.9], "decision_agreement": 1.0}}
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


if __name__ == "__main__":  # python tests/test_flow.py FLOW_JSON: rewrite the reference
    FLOW_KEYS.write_text(json.dumps({
        "about": "flow.json key structure (tests/test_flow.py key_structure); values dropped",
        "structure": key_structure(json.loads(Path(sys.argv[1]).read_text()))},
        indent=1) + "\n")
