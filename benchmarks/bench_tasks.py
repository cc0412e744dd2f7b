"""Sequence tasks beyond keyword spotting, the published Table-1 tasks that build offline:
FQ-BMRU, the signed BMRU and a GRU under one parameter budget, test accuracy over seeds.

Tasks (``bmru_pdk.model.tasks``): seq-digits and perm-digits (scikit-learn's 8 x 8 digits,
64 steps; 1257 / 270 / 270 examples), listops (up to 100 tokens; 3000 / 500 / 1000) and
pathfinder (16 x 16, 256 steps; 2000 / 500 / 1000). The data are made from seed 0 for every
run; the seeds vary initialisation and batch order.

Every run has the same budget: d = 32 units per layer for both BMRUs, the GRU the largest
hidden size within the FQ-BMRU's parameter count, 2 layers, a readout of the time-averaged
top-layer outputs, Adam lr 1e-2, batch 32, a fixed number of epochs (default 15, no early
stopping), and reports the test accuracy of its best-validation epoch: what
``bmru train --task T --arch A --epochs 15 --patience 15 --seed S --threads 1 -o run.json``
gives. Beside each task: always answering the commonest training class, and chance.

Usage: ``python benchmarks/bench_tasks.py [--tasks listops,pathfinder] [--seeds 3]
[--epochs 15] [--threads 1]`` -> ``benchmarks/results/tasks.json``. The default run (4 tasks
x 3 architectures x 3 seeds x 15 epochs) records its own run time in the results file
(``seconds``). ``--quick``: 2 seeds, 1 epoch,
200 / 100 / 100 examples per split, under a minute; a smoke test of the bench whose figures
mean nothing, written to ``build/tasks_quick.json`` unless ``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np

from bmru_pdk.fileio import write_text
from bmru_pdk.model.tasks import TASKS, load_task
from bmru_pdk.model.tasks.architectures import ARCHITECTURES
from bmru_pdk.model.tasks.training import TrainSettings, fit

RESULTS = Path(__file__).parent / "results"
QUICK_SIZES = {"train": 200, "validation": 100, "test": 100}
DATA_SEED = 0


def _mean_sd(values: list[float]) -> list[float | None]:
    """Mean and sample standard deviation (``None`` for one value)."""
    sd = round(float(np.std(values, ddof=1)), 5) if len(values) > 1 else None
    return [round(float(np.mean(values)), 5), sd]


def _cell(mean_sd: list[float | None]) -> str:
    mean, sd = mean_sd
    return f"{mean:.1%}" if sd is None else f"{mean:.1%} ± {sd:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help=f"comma-separated, of {', '.join(TASKS)}")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true",
                        help="tiny splits, 1 epoch, 2 seeds: a smoke test, under a minute")
    parser.add_argument("--output", type=Path, default=None, help="results JSON to write")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    unknown = sorted(set(tasks) - set(TASKS))
    if unknown:
        parser.error(f"unknown task(s) {', '.join(unknown)}; choose of {', '.join(TASKS)}")
    seeds = list(range(args.seeds or (2 if args.quick else 3)))
    epochs = args.epochs or (1 if args.quick else 15)
    output = args.output or (Path("build/tasks_quick.json") if args.quick
                             else RESULTS / "tasks.json")
    base = TrainSettings(epochs=epochs, threads=args.threads)
    budget = {k: v for k, v in dataclasses.asdict(base).items() if k not in ("arch", "seed")}
    start = time.monotonic()
    out: dict = {"command": "python " + " ".join(sys.argv), "quick": args.quick,
                 "seeds": seeds, "data_seed": DATA_SEED, "budget": budget,
                 "readout": "linear, of the top layer's outputs averaged over all steps",
                 "tasks": {}}
    rows = []
    for name in tasks:
        data = load_task(name, DATA_SEED, QUICK_SIZES if args.quick else None)
        entry: dict = {"task": dataclasses.asdict(data.task), "sizes": data.sizes(),
                       "majority_baseline": round(data.majority_baseline(), 5),
                       "chance": round(1 / data.task.classes, 5), "architectures": {}}
        cells = []
        for arch in ARCHITECTURES:
            runs = [fit(data, dataclasses.replace(base, arch=arch, seed=s)) for s in seeds]
            summary = _mean_sd([r.test_accuracy for r in runs])
            entry["architectures"][arch] = {
                "hidden": runs[0].hidden, "parameters": runs[0].parameters,
                "test_accuracy_mean_sd": summary,
                "runs": [dataclasses.asdict(r) for r in runs]}
            cells.append(f"{_cell(summary)} ({runs[0].parameters})")
            print(f"{name} {arch}: test {_cell(summary)}, "
                  f"{sum(r.seconds for r in runs):.0f} s", flush=True)
        out["tasks"][name] = entry
        rows.append([name, f"{entry['majority_baseline']:.1%}", f"{entry['chance']:.1%}",
                     *cells])
    out["seconds"] = round(time.monotonic() - start)
    header = ["task", "majority", "chance",
              *(f"{a} test (parameters)" for a in ARCHITECTURES)]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"\ntest accuracy, mean ± sd over {len(seeds)} seed(s), {epochs} epoch(s), "
          f"d = {base.d}, {base.layers} layers")
    for row in [header, *rows]:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    output.parent.mkdir(parents=True, exist_ok=True)
    write_text(output, json.dumps(out, indent=1) + "\n")
    print(f"wrote {output} ({out['seconds']} s)")


if __name__ == "__main__":
    main()
