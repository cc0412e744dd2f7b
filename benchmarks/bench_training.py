"""Training recipes for the d = 4 network, on the validation split only: which circuit-aware
loss terms give better networks across seeds.

Every recipe trains d = 4, L = 2 with 5 % element mismatch drawn every step (Adam 1e-2,
120 epochs, patience 30, as ``bmru train --data DATA --d 4 --layers 2 --epochs 120
--patience 30 --mismatch 0.05 --seed S`` plus the recipe's options), one run per seed.
Per recipe: each seed's validation balanced accuracy (the stopping rule's own score), the
same under 10 draws of 5 % element mismatch, and the model's power estimate at the tables'
unit current. Nothing here reads the test split.

Usage: ``python benchmarks/bench_training.py --data build/kws [--seeds 6]`` (checkpoints are
kept in ``build/recipes/`` and a run whose checkpoint is there is not repeated; the file says
how many the run trained) -> ``benchmarks/results/training.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import provenance
import torch

from bmru_pdk.circuits.mapping import tables_from_environment
from bmru_pdk.fileio import write_text
from bmru_pdk.model.checkpoint import load_checkpoint
from bmru_pdk.model.power import estimate_power
from bmru_pdk.model.schema import Realisability
from bmru_pdk.model.train import TrainConfig, evaluate, prepare_data, train

RESULTS = Path(__file__).parent / "results"
CACHE = Path("build/recipes")
RECIPES = {
    "mismatch only": {},
    "margin 0.05": {"margin": 0.05},
    "current 0.0005": {"current_weight": 0.0005},
    "candidate noise 0.1": {"candidate_noise": 0.1},
    "noise 0.1 + current 0.0005": {"candidate_noise": 0.1, "current_weight": 0.0005},
}
SIGMA, DRAWS = 0.05, 10


def run(data_root: Path, recipe: str, seed: int) -> dict:
    """One seed of one recipe: train (unless cached), then the validation figures and
    whether this run trained it."""
    path = CACHE / f"{recipe.replace(' ', '_').replace('+', 'and')}_s{seed}.safetensors"
    data = prepare_data(data_root, "binary", seed=seed)
    trained = not path.exists()
    if trained:
        CACHE.mkdir(parents=True, exist_ok=True)
        config = TrainConfig(d=4, layers=2, epochs=120, patience=30, seed=seed, mismatch=0.05,
                             realisability=Realisability(i_max=20.0),  # bmru train's default
                             **RECIPES[recipe])
        train(data, config, path, dataset_name=data_root.name, progress=False)
    model = load_checkpoint(path)
    x, y = data.x["validation"], data.y["validation"]
    gen = torch.Generator().manual_seed(1)
    noisy = [evaluate(model, x, y, model.effective_parameters(SIGMA, gen)).balanced_accuracy
             for _ in range(DRAWS)]
    power = estimate_power(model, x[:50], i_unit_na=tables_from_environment().i_unit_na)
    return {"seed": seed, **provenance.checkpoint(path), "trained_here": trained,
            "validation_balanced": round(evaluate(model, x, y).balanced_accuracy, 4),
            "validation_balanced_mismatch_5pct": round(float(np.mean(noisy)), 4),
            "model_power_nw": round(power.total_nw, 1)}


def _mean_sd(values: list[float]) -> list[float]:
    return [round(float(np.mean(values)), 4), round(float(np.std(values, ddof=1)), 4)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("build/kws"))
    parser.add_argument("--seeds", type=int, default=6)
    args = parser.parse_args()
    start = time.perf_counter()
    out = {"command": provenance.command(), "data": args.data.name, "sample": "validation",
           "seeds": args.seeds,
           "i_unit_na": tables_from_environment().i_unit_na, "recipes": {}}
    for recipe, terms in RECIPES.items():
        rows = [run(args.data, recipe, s) for s in range(args.seeds)]
        summary = {k: _mean_sd([r[k] for r in rows]) for k in
                   ("validation_balanced", "validation_balanced_mismatch_5pct", "model_power_nw")}
        out["recipes"][recipe] = {"terms": terms, "runs": rows, "mean_sd": summary}
        print(f"{recipe}: validation balanced {summary['validation_balanced'][0]:.1%} "
              f"(sd {summary['validation_balanced'][1]:.1%}, best "
              f"{max(r['validation_balanced'] for r in rows):.1%}), under 5 % mismatch "
              f"{summary['validation_balanced_mismatch_5pct'][0]:.1%}, model power "
              f"{summary['model_power_nw'][0]:.0f} nW", flush=True)
    out["seconds"] = round(time.perf_counter() - start)
    out["trained_here"] = sum(r["trained_here"] for recipe in out["recipes"].values()
                              for r in recipe["runs"])
    write_text(RESULTS / "training.json", json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS / 'training.json'} ({out['seconds']} s)")


if __name__ == "__main__":
    main()
