"""FQ-BMRU model figures: keyword-spotting metrics vs d (every d trained alike, several
seeds), training time, inference speed, mismatch robustness, the detection error trade-off, power.

Usage (after ``bmru kws-data build/kws --per-word 800 --seed 0``):

    python benchmarks/bench_model.py --data build/kws --sizes 4,8,16 --seeds 0,1,2

Every d in ``--sizes`` is trained with the same settings (the bundled checkpoint's: Adam,
``--epochs``/``--patience``, element mismatch ``--mismatch`` drawn every step, candidate
noise ``--candidate-noise`` and the current term ``--current-weight``) once per seed of
``--seeds`` (d >= ``--one-seed-from`` with the first seed only: the time grows with d),
each chosen on the validation split; every figure is on the test split, whose speakers no
training or choice heard. The sweep holds every seed's figures; the per-d table, the
mismatch draws and the power estimate are the first seed's network, beside the bundled
d = 4 checkpoint. Beside each accuracy: always answering "other"; beside the sweep, the
published curve (:data:`PUBLISHED`). Prints the figures and writes them to
``benchmarks/results/model.json`` with PNG plots beside.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import provenance
import torch

from bmru_pdk.analyses.stats import wilson
from bmru_pdk.fileio import atomic_path, write_text
from bmru_pdk.model import bundled_checkpoint, load_checkpoint
from bmru_pdk.model.power import estimate_power
from bmru_pdk.model.train import TrainConfig, evaluate, prepare_data, train

RESULTS = Path(__file__).parent / "results"
# the published robustness study's sigmas; the last, 5 %, is the 4 x 4 µm mirrors' measured one
SIGMAS = (5 / 300, 10 / 300, 15 / 300)
# the published keyword-spotting accuracy against d (5 seeds, real speech), to stand beside
PUBLISHED = {4: 0.942, 8: 0.972, 16: 0.979, 32: 0.979, 64: 0.977, 128: 0.976, 256: 0.976,
             512: 0.978}
SWEPT = ("accuracy", "balanced_accuracy", "false_reject_at_5pct_fa", "training_s")


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


def metrics(model, x: torch.Tensor, y: torch.Tensor) -> dict:  # noqa: ANN001
    """Test figures of one model: accuracy (95 % interval), balanced accuracy, false rejects
    at 5 % false accepts, the always-"other" baseline."""
    m = evaluate(model, x, y)
    rec = model.meta.training
    keywords = int((y == 1).sum())
    return {"accuracy": m.accuracy,
            "accuracy_ci95": wilson(round(m.accuracy * len(y)), len(y)),
            "balanced_accuracy": m.balanced_accuracy,
            "false_reject_at_5pct_fa": m.false_reject_at_5pct_fa,
            "false_reject_ci95": wilson(round(m.false_reject_at_5pct_fa * keywords), keywords),
            "det": m.det,
            "baseline_accuracy": m.baseline_accuracy, "frame_accuracy": m.frame_accuracy,
            "confusion": m.confusion, "training_s": rec.duration_s if rec else None,
            "epochs_run": rec.epochs_run if rec else None,
            "best_epoch": rec.best_epoch if rec else None}


def robustness(model, x: torch.Tensor, y: torch.Tensor, draws: int) -> dict:  # noqa: ANN001
    """Accuracy and balanced accuracy over ``draws`` model-level mismatch draws per sigma."""
    gen = torch.Generator().manual_seed(1)
    out = {}
    for sigma in SIGMAS:
        runs = [evaluate(model, x, y, model.effective_parameters(sigma, gen))
                for _ in range(draws)]
        acc = np.array([r.accuracy for r in runs])
        bal = np.array([r.balanced_accuracy for r in runs])
        out[f"{100 * sigma:.2f}%"] = {"mean": float(acc.mean()), "std": float(acc.std()),
                                      "min": float(acc.min()),
                                      "balanced_mean": float(bal.mean()),
                                      "balanced_min": float(bal.min()), "draws": draws}
    return out


def training_recipe(args: argparse.Namespace, d: int, seed: int) -> str:
    """What a sweep checkpoint was trained with, recorded in it as its training command."""
    return (f"bench_model.py: data {args.data.name}, d {d}, seed {seed}, epochs {args.epochs}, "
            f"patience {args.patience}, mismatch {args.mismatch:g}, candidate noise "
            f"{args.candidate_noise:g}, current weight {args.current_weight:g}")


def reusable(path: Path, recipe: str, d: int, seed: int, data_seed: int | None):  # noqa: ANN201
    """The checkpoint at ``path`` if an earlier run of this bench trained it: its size, seed
    and the dataset's seed (``data_seed``) match, and its recorded recipe is ``recipe`` (a
    checkpoint of a run from before recipes were recorded, whose record says nothing, is taken
    on its size and seeds: the results file lists every reused file with its hash)."""
    if not path.is_file():
        return None
    model = load_checkpoint(path)
    rec = model.meta.training
    if (rec is None or model.meta.architecture.d != d or rec.seed != seed
            or rec.data_seed != data_seed or rec.command not in (recipe, "")):
        return None
    return model


def label(name: str) -> str:
    """A network's label in the plots: the bundled checkpoint or the bench's d."""
    return "bundled d = 4" if name == "bundled" else f"d = {name}"


def sweep_plot(ax, out: dict) -> None:  # noqa: ANN001
    """Test accuracy against d: every seed, their mean, the baseline, the published curve."""
    rows = out["sweep"]["rows"]
    ds = sorted(int(d) for d in rows)
    for key, marker, name in (("balanced_accuracy", "o", "balanced"),
                              ("accuracy", "s", "accuracy")):
        means = [100 * np.mean(rows[str(d)][key]) for d in ds]
        line, = ax.plot(ds, means, marker + "-", label=f"{name}, mean over seeds")
        for d in ds:
            vals = [100 * v for v in rows[str(d)][key]]
            ax.plot([d] * len(vals), vals, marker, color=line.get_color(), alpha=0.35, ms=4)
    pub = sorted(out["sweep"]["published_accuracy"].items())
    ax.plot([int(d) for d, _ in pub], [100 * v for _, v in pub], "k^:",
            label="published accuracy (real speech)")
    base = out["accuracy"]["bundled"]["baseline_accuracy"]
    ax.axhline(100 * base, color="k", ls="--", lw=1, label='always "other"')
    ax.set_xscale("log", base=2)
    ticks = sorted({*ds, *(int(d) for d, _ in pub)})
    ax.set_xticks(ticks, labels=[str(d) for d in ticks])
    ax.set(xlabel="units per layer d (L = 2)", ylabel="test (%)")
    ax.legend(fontsize=7)


def main() -> None:
    """Run every analysis and write the results."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("build/kws"))
    ap.add_argument("--sizes", default="16",
                    help="d values to train, every one alike (beside the bundled d = 4)")
    ap.add_argument("--seeds", default="0", help="initialisation seeds per d, comma-separated")
    ap.add_argument("--one-seed-from", type=int, default=None,
                    help="train every d from this one up with the first seed only")
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--patience", type=int, default=30)
    ap.add_argument("--mismatch", type=float, default=0.05, help="training element mismatch")
    ap.add_argument("--candidate-noise", type=float, default=0.0, help="training candidate noise")
    ap.add_argument("--current-weight", type=float, default=0.0,
                    help="weight of the training loss's summing-node current term")
    ap.add_argument("--reuse", action="store_true",
                    help="evaluate build/bench_d<d>_s<seed>.safetensors where an earlier run "
                         "of this bench trained it (see reusable) instead of training again")
    ap.add_argument("--draws", type=int, default=20, help="mismatch draws per sigma")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    RESULTS.mkdir(parents=True, exist_ok=True)

    bundled = load_checkpoint(bundled_checkpoint())
    data = prepare_data(args.data, "binary", seed=0, encoding=bundled.meta.input)
    xt, yt = data.x["test"], data.y["test"]
    out: dict = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
                 "data": str(args.data.name), "sample": "test", "test_utterances": len(yt),
                 "training": {"epochs": args.epochs, "patience": args.patience,
                              "mismatch": args.mismatch,
                              "candidate_noise": args.candidate_noise,
                              "current_weight": args.current_weight}}

    seeds = [int(v) for v in args.seeds.split(",") if v]
    # the networks the bench trains read the dataset in their own encoding, the bundled one
    # in its checkpoint's: the same utterances, other currents
    fresh = prepare_data(args.data, "binary", seed=0)

    def test_of(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return (xt, yt) if name == "bundled" else (fresh.x["test"], fresh.y["test"])

    models = {"bundled": bundled}
    out["accuracy"] = {"bundled": metrics(bundled, xt, yt)}
    sweep: dict[str, dict] = {}
    reused: list[dict] = []
    for d in (int(v) for v in args.sizes.split(",") if v):
        runs = []
        for seed in seeds if args.one_seed_from is None or d < args.one_seed_from else seeds[:1]:
            path = Path("build") / f"bench_d{d}_s{seed}.safetensors"
            config = TrainConfig(d=d, epochs=args.epochs, patience=args.patience,
                                 mismatch=args.mismatch, candidate_noise=args.candidate_noise,
                                 current_weight=args.current_weight, threads=args.threads,
                                 seed=seed)
            recipe = training_recipe(args, d, seed)
            model = reusable(path, recipe, d, seed, fresh.data_seed) if args.reuse else None
            if model is None:
                model, _ = train(fresh, config, path, progress=False, command=recipe)
            else:
                reused.append({"d": d, "seed": seed, "recipe": model.meta.training.command,
                               **provenance.checkpoint(path)})
            runs.append((seed, metrics(model, *test_of(str(d)))))
            print(f"d = {d}, seed {seed}: balanced {runs[-1][1]['balanced_accuracy']:.4f}",
                  flush=True)
            if len(runs) == 1:  # the first seed's network stands for its d below
                models[str(d)] = model
                out["accuracy"][str(d)] = runs[0][1]
        sweep[str(d)] = {"seeds": [s for s, _ in runs],
                         **{k: [m[k] for _, m in runs] for k in SWEPT}}
    out["sweep"] = {"rows": sweep, "published_accuracy": PUBLISHED, "reused": reused,
                    "one_seed_from": args.one_seed_from}

    x50 = xt[:50]
    out["inference_fps_batch50"] = {
        mode: _fps(bundled, x50, mode) for mode in ("scan", "loop")
    }
    out["mismatch"] = {d: robustness(model, *test_of(d), args.draws)
                       for d, model in models.items()}
    out["power_nw"] = {}
    for d, model in models.items():
        p = estimate_power(model, test_of(d)[0])
        out["power_nw"][d] = {
            "cells": p.cells_nw,
            "fc_mirrors": p.fc_mirrors_nw,
            "biases": p.biases_nw,
            "total": p.total_nw,
        }

    write_text(RESULTS / "model.json", json.dumps(out, indent=2) + "\n")
    _plot(RESULTS / "model_accuracy_vs_d.png", lambda ax: sweep_plot(ax, out))
    names = list(models)
    sig = [100 * s for s in SIGMAS]

    def mismatch(ax) -> None:  # noqa: ANN001
        for name in names:
            clean = 100 * out["accuracy"][name]["balanced_accuracy"]
            vals = list(out["mismatch"][name].values())
            ax.errorbar([0, *sig], [clean, *(100 * v["balanced_mean"] for v in vals)],
                        fmt="o-", capsize=3, label=label(name))
        ax.set(xlabel="mismatch sigma (%)", ylabel="test balanced accuracy (%)")
        ax.legend(fontsize=7)

    _plot(RESULTS / "model_mismatch.png", mismatch)

    def det(ax) -> None:  # noqa: ANN001
        for name in names:
            # in threshold order false accepts fall and false rejects rise: reversed, a curve
            fa, fr = zip(*reversed(out["accuracy"][name]["det"]), strict=True)
            ax.plot([100 * v for v in fa], [100 * v for v in fr], label=label(name))
        ax.plot([0, 100], [100, 0], "k:", lw=1, label="chance")
        ax.plot([0], [100], "kx", label='always "other"')
        ax.axvline(5, color="k", ls="--", lw=0.8)
        ax.set(xlabel="false accepts (%)", ylabel="false rejects (%)", xlim=(0, 40),
               ylim=(0, 100))
        ax.legend(fontsize=7)

    _plot(RESULTS / "model_det.png", det)
    def power(ax) -> None:  # noqa: ANN001
        bottom = [0.0] * len(names)
        for part in ("cells", "fc_mirrors", "biases"):
            vals = [out["power_nw"][name][part] for name in names]
            ax.bar([label(name) for name in names], vals, bottom=bottom, label=part)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
        ax.set(xlabel="network (L = 2)", ylabel="power at 1.8 V (nW)")
        ax.tick_params(axis="x", labelsize=7)
        ax.legend()

    _plot(RESULTS / "model_power.png", power)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
