"""Co-design screen of candidate d = 4 checkpoints, on tuning data only: validation balanced
accuracy (clean, and the mean of 10 draws of 5 % element mismatch), the model-level power
estimate, and the extracted tile (device-only) against its model on utterances of the
tuning sample: state agreement per layer, decisions, simulated power.

Usage: ``python benchmarks/bench_candidates.py --data build/kws CKPT [CKPT ...] [--n 8]
[--workers 2] [--tables DIR] [--out candidates.json]`` (``--tables``: map with these tables,
a grid of D-gate diodes for networks trained for it; default ``BMRU_TABLES`` or the
package's). Prints a row per checkpoint and writes
``benchmarks/results/candidates.json`` (or ``--out``)
(about 40 s per checkpoint on 2 cores).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import provenance
import torch

from bmru_pdk.analyses import simulation
from bmru_pdk.analyses.testbench import FRAME_S
from bmru_pdk.circuits.characterize import Tables
from bmru_pdk.circuits.mapping import load_tables, tables_from_environment
from bmru_pdk.executor import Executor, make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import samples
from bmru_pdk.model.checkpoint import load_checkpoint
from bmru_pdk.model.power import estimate_power
from bmru_pdk.model.train import evaluate, prepare_data

RESULTS = Path(__file__).parent / "results"
SIGMA, DRAWS = 0.05, 10


def screen(path: Path, data: Path, n: int, executor: Executor, tables: Tables) -> dict:
    """The figures of one candidate."""
    model = load_checkpoint(path)
    ds = prepare_data(data, "binary", seed=0, encoding=model.meta.input,
                      splits=("validation",))
    x, y = ds.x["validation"], ds.y["validation"]
    gen = torch.Generator().manual_seed(1)
    noisy = [evaluate(model, x, y, model.effective_parameters(SIGMA, gen)).balanced_accuracy
             for _ in range(DRAWS)]
    utterances = samples.load_utterances(path, None, n, "tuning")
    with tempfile.TemporaryDirectory() as tmp:
        _files, _x, sim = simulation.extracted_tile(path, Path(tmp), tables=tables)
    params = model.effective_parameters()
    with torch.no_grad():
        s0 = simulation.rest_states(model, params)
    runs = executor.map(partial(simulation.simulate_utterance, sim.netlist, sim.decision_nets, s0,
                                frame_s=FRAME_S), [u.x_na for u in utterances])
    agree, same = [], 0
    for u, hw in zip(utterances, runs, strict=True):
        states, scores = simulation.model_utterance(model, params, u.x_na)
        agree.append([float((a == b).mean()) for a, b in zip(hw.states, states, strict=True)])
        same += simulation.majority_vote(hw.scores) == simulation.majority_vote(scores)
    return {**provenance.checkpoint(path),
            "validation_balanced": round(evaluate(model, x, y).balanced_accuracy, 4),
            "validation_balanced_mismatch_5pct": round(float(np.mean(noisy)), 4),
            "model_power_nw": round(estimate_power(model, x[:50],
                                                   i_unit_na=tables.i_unit_na).total_nw),
            "tile_power_nw": round(float(np.mean([r.power_nw for r in runs]))),
            "state_agreement_per_layer": np.mean(agree, 0).round(4).tolist(),
            "decisions_agreeing": f"{same}/{len(utterances)}"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoints", type=Path, nargs="+")
    parser.add_argument("--data", type=Path, default=Path("build/kws"))
    parser.add_argument("--n", type=int, default=8, help="tuning utterances per tile")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    parser.add_argument("--tables", type=Path, default=None, help="tables to map with")
    parser.add_argument("--out", type=provenance.results_name, default="candidates.json",
                        help="results file name (in benchmarks/results)")
    args = parser.parse_args()
    tables = load_tables(args.tables) if args.tables else tables_from_environment()
    rows = []
    with make_executor(None, args.workers) as executor:
        for path in args.checkpoints:
            rows.append(screen(path, args.data, args.n, executor, tables))
            print(json.dumps(rows[-1]), flush=True)
    out = {"command": provenance.command(), "sample": "tuning", "tuning_utterances": args.n,
           "i_unit_na": tables.i_unit_na, "diode_gates": tables.unit.diode_gates, "rows": rows}
    write_text(RESULTS / args.out, json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS / args.out}")


if __name__ == "__main__":
    main()
