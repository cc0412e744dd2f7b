"""Sequence tasks beyond keyword spotting, the published Table-1 tasks that build offline:
FQ-BMRU, the signed BMRU, a GRU, minGRU and LRU under one parameter budget, test accuracy
over seeds.

Tasks (``bmru_pdk.model.tasks``): seq-digits and perm-digits (scikit-learn's 8 x 8 digits,
64 steps; 1257 / 270 / 270 examples), listops (up to 100 tokens; 3000 / 500 / 1000) and
pathfinder (16 x 16, 256 steps; 2000 / 500 / 1000). The data are made from seed 0 for every
run; the seeds vary initialisation and batch order.

Every run has the same budget: d = 32 units per layer for both BMRUs, every other
architecture the largest hidden size within the FQ-BMRU's parameter count, 2 layers, a
readout of the time-averaged top-layer outputs, Adam lr 1e-2, batch 32, a fixed number of
epochs (default 15, no early stopping), and reports the test accuracy of its
best-validation epoch: what
``bmru train --task T --arch A --epochs 15 --patience 15 --seed S --threads 1 -o run.json``
gives. Beside each task: always answering the commonest training class, and chance.

Usage: ``python benchmarks/bench_tasks.py [--tasks listops,pathfinder] [--archs gru,lru]
[--seeds 3] [--epochs 15] [--threads 1]`` -> ``benchmarks/results/tasks.json``. The default
run (4 tasks x 5 architectures x 3 seeds x 15 epochs) records its own run time in the
results file (``seconds``). A run of some architectures adds them to an existing results file
made with the same tasks, seeds, data and budget (its ``commands`` list both runs), so an
architecture added later need not retrain the others. ``--quick``: 2 seeds, 1 epoch,
200 / 100 / 100 examples per split, under a minute; a smoke test of the bench whose figures
mean nothing, written to ``build/tasks_quick.json`` unless ``--output`` says otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import provenance

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


def _same_run(path: Path, out: dict, tasks: list[str]) -> dict | None:
    """The results at ``path`` if they were made with ``out``'s seeds, data seed, budget and
    ``tasks`` (the run's architectures are then added to them), else ``None``."""
    if not path.is_file():
        return None
    earlier = json.loads(path.read_text())
    keys = ("quick", "seeds", "data_seed", "budget")
    same = all(earlier.get(k) == out[k] for k in keys) and list(earlier.get("tasks", {})) == tasks
    return earlier if same and "commands" in earlier else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(TASKS),
                        help=f"comma-separated, of {', '.join(TASKS)}")
    parser.add_argument("--archs", default=",".join(ARCHITECTURES),
                        help=f"comma-separated, of {', '.join(ARCHITECTURES)}")
    parser.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default 15)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--quick", action="store_true",
                        help="tiny splits, 1 epoch, 2 seeds: a smoke test, under a minute")
    parser.add_argument("--output", type=Path, default=None, help="results JSON to write")
    args = parser.parse_args()
    tasks = args.tasks.split(",")
    archs = args.archs.split(",")
    for given, known, what in ((tasks, TASKS, "task"), (archs, ARCHITECTURES, "architecture")):
        unknown = sorted(set(given) - set(known))
        if unknown:
            parser.error(f"unknown {what}(s) {', '.join(unknown)}; choose of {', '.join(known)}")
    seeds = list(range(args.seeds or (2 if args.quick else 3)))
    epochs = args.epochs or (1 if args.quick else 15)
    output = args.output or (Path("build/tasks_quick.json") if args.quick
                             else RESULTS / "tasks.json")
    base = TrainSettings(epochs=epochs, threads=args.threads)
    budget = {k: v for k, v in dataclasses.asdict(base).items() if k not in ("arch", "seed")}
    start = time.monotonic()
    out: dict = {"commands": [provenance.command()], "quick": args.quick,
                 "seeds": seeds, "data_seed": DATA_SEED, "budget": budget,
                 "readout": "linear, of the top layer's outputs averaged over all steps",
                 "tasks": {}}
    earlier = _same_run(output, out, tasks)
    if earlier:
        print(f"adding {', '.join(archs)} to {output} (same tasks, seeds, data and budget)")
    rows = []
    for name in tasks:
        data = load_task(name, DATA_SEED, QUICK_SIZES if args.quick else None)
        entry: dict = {"task": dataclasses.asdict(data.task), "sizes": data.sizes(),
                       "majority_baseline": round(data.majority_baseline(), 5),
                       "chance": round(1 / data.task.classes, 5), "architectures": {}}
        if earlier:
            entry["architectures"] = {a: v for a, v in earlier["tasks"][name]["architectures"]
                                      .items() if a not in archs}
        for arch in archs:
            runs = [fit(data, dataclasses.replace(base, arch=arch, seed=s)) for s in seeds]
            summary = _mean_sd([r.test_accuracy for r in runs])
            entry["architectures"][arch] = {
                "hidden": runs[0].hidden, "parameters": runs[0].parameters,
                "test_accuracy_mean_sd": summary,
                "runs": [dataclasses.asdict(r) for r in runs]}
            print(f"{name} {arch}: test {_cell(summary)}, "
                  f"{sum(r.seconds for r in runs):.0f} s", flush=True)
        entry["architectures"] = {a: entry["architectures"][a] for a in ARCHITECTURES
                                  if a in entry["architectures"]}
        out["tasks"][name] = entry
        rows.append([name, f"{entry['majority_baseline']:.1%}", f"{entry['chance']:.1%}",
                     *(f"{_cell(v['test_accuracy_mean_sd'])} ({v['parameters']})"
                       for v in entry["architectures"].values())])
    out["seconds"] = round(time.monotonic() - start) + (earlier or {}).get("seconds", 0)
    if earlier:
        out["commands"] = earlier["commands"] + out["commands"]
    header = ["task", "majority", "chance", *(f"{a} test (parameters)" for a in
                                              out["tasks"][tasks[0]]["architectures"])]
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
