"""FQ-BMRU model figures: accuracy vs d, training time, inference speed, mismatch, power.

Usage (after ``bmru kws-data build/kws --per-word 400 --seed 0``):

    python benchmarks/bench_model.py --data build/kws

Prints the figures and writes them to ``benchmarks/results/model.json`` with PNG plots beside.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from bmru_pdk.fileio import atomic_path, write_text
from bmru_pdk.model import bundled_checkpoint, load_checkpoint
from bmru_pdk.model.power import estimate_power
from bmru_pdk.model.train import (
    TrainConfig,
    evaluate,
    mismatch_accuracy,
    prepare_data,
    train,
)

RESULTS = Path(__file__).parent / "results"
SIGMAS = (5 / 300, 10 / 300, 15 / 300)


def _fps(model, x: torch.Tensor, mode: str, repeats: int = 5) -> float:  # noqa: ANN001
    with torch.no_grad():
        model(x, mode=mode)
        start = time.perf_counter()
        for _ in range(repeats):
            model(x, mode=mode)
    return repeats * x.shape[0] * x.shape[1] / (time.perf_counter() - start)


def _plot(path: Path, draw) -> None:  # noqa: ANN001
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    draw(ax)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120)
    plt.close(fig)


def main() -> None:
    """Run every analysis and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("build/kws"))
    ap.add_argument("--sizes", default="8,16", help="extra d values to train (comma list)")
    ap.add_argument("--draws", type=int, default=20, help="mismatch draws per sigma")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)

    bundled = load_checkpoint(bundled_checkpoint())
    data = prepare_data(args.data, "binary", seed=0, encoding=bundled.meta.input)
    xt, yt = data.x["test"], data.y["test"]
    out: dict = {"data": str(args.data.name), "test_utterances": len(yt)}

    models = {4: bundled}
    for d in (int(v) for v in args.sizes.split(",") if v):
        path = Path("build") / f"bench_d{d}.safetensors"
        fresh = prepare_data(args.data, "binary", seed=0)
        models[d], _ = train(fresh, TrainConfig(d=d, threads=args.threads), path, progress=False)
    out["accuracy"] = {}
    for d, model in models.items():
        m = evaluate(model, xt, yt)
        rec = model.meta.training
        out["accuracy"][d] = {
            "test_accuracy": m.accuracy,
            "balanced_accuracy": m.balanced_accuracy,
            "frame_accuracy": m.frame_accuracy,
            "confusion": m.confusion,
            "training_s": rec.duration_s if rec else None,
            "epochs_run": rec.epochs_run if rec else None,
        }

    x50 = xt[:50]
    out["inference_fps_batch50"] = {
        mode: _fps(bundled, x50, mode) for mode in ("scan", "loop")
    }
    out["mismatch"] = {}
    for sigma in SIGMAS:
        acc = mismatch_accuracy(bundled, xt, yt, sigma, args.draws, seed=1)
        out["mismatch"][f"{100 * sigma:.2f}%"] = {
            "mean": float(acc.mean()),
            "std": float(acc.std()),
            "min": float(acc.min()),
            "draws": args.draws,
        }
    out["power_nw"] = {}
    for d, model in models.items():
        p = estimate_power(model, xt)
        out["power_nw"][d] = {
            "cells": p.cells_nw,
            "fc_mirrors": p.fc_mirrors_nw,
            "biases": p.biases_nw,
            "total": p.total_nw,
        }

    write_text(RESULTS / "model.json", json.dumps(out, indent=2) + "\n")
    ds = sorted(models)
    _plot(
        RESULTS / "model_accuracy_vs_d.png",
        lambda ax: (
            ax.plot(ds, [100 * out["accuracy"][d]["test_accuracy"] for d in ds], "o-"),
            ax.set(xlabel="units per layer d (L = 2)", ylabel="test accuracy (%)"),
        ),
    )
    sig = [100 * s for s in SIGMAS]
    means = [100 * v["mean"] for v in out["mismatch"].values()]
    stds = [100 * v["std"] for v in out["mismatch"].values()]
    clean = 100 * out["accuracy"][4]["test_accuracy"]
    _plot(
        RESULTS / "model_mismatch.png",
        lambda ax: (
            ax.errorbar([0, *sig], [clean, *means], yerr=[0, *stds], fmt="o-", capsize=3),
            ax.set(xlabel="mismatch sigma (%)", ylabel="test accuracy (%)", title="d = 4"),
        ),
    )

    def power(ax) -> None:  # noqa: ANN001
        bottom = [0.0] * len(ds)
        for part in ("cells", "fc_mirrors", "biases"):
            vals = [out["power_nw"][d][part] for d in ds]
            ax.bar([str(d) for d in ds], vals, bottom=bottom, label=part)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set(xlabel="units per layer d (L = 2)", ylabel="power at 1.8 V (nW)")
        ax.legend()

    _plot(RESULTS / "model_power.png", power)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
