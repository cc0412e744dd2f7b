"""The results file of ``make run``: the main job's figures, from the ``flow.json`` it wrote.

Usage: ``python benchmarks/run_results.py build/flow/flow.json`` (``make run`` calls it) ->
``benchmarks/results/run.json``: the checkpoint by name and SHA-256 (no machine path), the
sample, the tile, DRC, LVS, parasitics and compare figures, and the command that made them.
The README's headline figures are rendered from this file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import provenance

from bmru_pdk.fileio import write_text

RESULTS = Path(__file__).parent / "results"
COMMAND = ("make run  (bmru flow -o build/flow --draw-rail --rail-generator: bundled checkpoint, "
           "50 utterances, with parasitics)")


def summary(flow: dict) -> dict:
    """The figures of a ``flow.json`` worth keeping beside the code (no paths, no per-utterance
    rows)."""
    checkpoint = Path(flow["checkpoint"])
    out = {"command": COMMAND, **provenance.checkpoint(checkpoint),
           "tile": flow["tile"], "drc": flow["drc"], "lvs": flow["lvs"],
           "extract": flow["extract"]}
    if "pex" in flow:
        out["pex"] = {k: flow["pex"][k] for k in ("capacitors", "total_f", "substrate_f",
                                                  "runtime_s", "kpex_version")
                      if k in flow["pex"]}
    if "compare" in flow:
        out["compare"] = {k: v for k, v in flow["compare"].items() if k != "plot"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("flow_json", type=Path, help="the flow.json of a bmru flow run")
    args = parser.parse_args()
    result = summary(json.loads(args.flow_json.read_text()))
    path = RESULTS / "run.json"
    write_text(path, json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
