"""Supply power by part from ngspice on the extracted tile, and how it scales with d.

- d sweep: random checkpoints shaped as the keyword-spotting task (13 inputs, 2 layers,
  d = 2 ... 32), each tile built and extracted (no DRC), simulated on the same ``FRAMES``
  frames of random input currents with a supply per part (cells, biases, and the fc
  mirrors per weight array: fc_w0 13 x d, fc_w1 d x d, fc_wo d x 2); the log-log slope of
  each part against d, over the whole sweep and over d >= 8; the model-level estimate
  (:mod:`bmru_pdk.model.power`) on the same frames beside it. Two weight scales
  (:func:`tilesim.sweep_checkpoint`): ``fixed`` (a weight's magnitude independent of d: the
  cost of the structure) and ``init`` (the initialisation's 1 / sqrt(fan-in) scale).
- The bundled trained d = 4 checkpoint on ``BUNDLED_N`` utterances of the sealed sample (101
  frames): a measurement that chooses nothing.

Run: ``.venv/bin/python benchmarks/bench_power.py`` -> ``benchmarks/results/power.json``,
``benchmarks/results/power.png``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import provenance
from tilesim import FRAME_S, SWEEP_D, TileSim, prepare, random_frames, sweep_checkpoint

from bmru_pdk.analyses.simulation import HardwareRun, reset_frames
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.samples import HEADLINE, load_utterances

RESULTS = Path(__file__).resolve().parent / "results"
FRAMES = 25
BUNDLED_N = 3
SAMPLE = HEADLINE
PARTS = ("cells", "fc_mirrors", "biases", "total")
FITTED = (*PARTS, "fc_w1")
VARIANTS = {"fixed": True, "init": False}


def by_part(run: HardwareRun) -> dict[str, float]:
    """Simulated power by part, nW: the fine parts, the fc mirrors' sum and the total."""
    fc = sum(v for k, v in run.power_by_part_nw.items() if k.startswith("fc_"))
    return run.power_by_part_nw | {"fc_mirrors": round(fc, 3), "total": run.power_nw}


def model_estimate(sim: TileSim, x_na: np.ndarray) -> dict[str, float]:
    """The model-level power estimate by part on the same frames, nW."""
    import torch

    from bmru_pdk.circuits.mapping import tables_from_environment
    from bmru_pdk.model.checkpoint import load_checkpoint
    from bmru_pdk.model.power import estimate_power

    p = estimate_power(load_checkpoint(sim.checkpoint), torch.from_numpy(x_na[None]),
                       i_unit_na=tables_from_environment().i_unit_na)
    return {"cells": round(p.cells_nw, 3), "fc_mirrors": round(p.fc_mirrors_nw, 3),
            "biases": round(p.biases_nw, 3), "total": round(p.total_nw, 3)}


def slope(d: list[int], values: list[float]) -> float:
    """Least-squares exponent k of values ~ d^k, over the values above 0.1 nW (a weight
    array of only negative weights draws nothing from the supply)."""
    keep = [(x, v) for x, v in zip(d, values, strict=True) if v > 0.1]
    x, v = np.log(np.array(keep)).T
    return round(float(np.polyfit(x, v, 1)[0]), 3)


def plot(sweeps: dict[str, list[dict]], fits: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sweeps), figsize=(11, 4.2), sharey=True)
    for ax, (variant, rows) in zip(axes, sweeps.items(), strict=True):
        d = [r["d"] for r in rows]
        for k, part in enumerate(FITTED):
            f = fits[variant]
            # an array of negative weights only draws nothing: no point on a log axis
            ax.loglog(d, [v if (v := r["power_nw"][part]) > 0.1 else np.nan for r in rows],
                      "o-", color=f"C{k}", label=f"{part}: slope {f['all'][part]:.2f} "
                      f"(d >= 8: {f['d_ge_8'][part]:.2f})")
            if part in rows[0]["model_estimate_nw"]:
                ax.loglog(d, [r["model_estimate_nw"][part] for r in rows], ":", color=f"C{k}")
        ax.loglog([], [], "k:", label="model-level estimate")
        ax.set_xticks(d, [str(v) for v in d])
        ax.minorticks_off()
        ax.set_xlabel("units per layer d (13 inputs, 2 layers)")
        ax.set_title(f"weights: {variant}", fontsize=10)
        ax.legend(fontsize=7)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("supply power, nW (1.8 V), ngspice on the extracted tile")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def bundled(tmp: Path) -> dict:
    """Simulated power by part of the bundled checkpoint on generated utterances."""
    ckpt = bundled_checkpoint()
    sim = prepare(ckpt, tmp / "bundled")
    runs, estimates = [], []
    for u in load_utterances(ckpt, None, BUNDLED_N, SAMPLE):
        runs.append(by_part(sim.run(u.x_na)))
        estimates.append(model_estimate(sim, u.x_na))
        print(f"bundled {u.name}: {runs[-1]}", flush=True)
    return {"checkpoint": ckpt.name, "transistors": sim.transistors, "utterances": BUNDLED_N,
            "frames": 101,
            "power_nw": {k: round(float(np.mean([r[k] for r in runs])), 1) for k in runs[0]},
            "model_estimate_nw": {k: round(float(np.mean([e[k] for e in estimates])), 1)
                                  for k in estimates[0]},
            "published_nw": {"cells": 44, "fc_mirrors": 40, "total": 83}}


def sweep(tmp: Path, fixed_weights: bool) -> list[dict]:
    """Power by part of each d of the sweep, and its simulation time."""
    rows = []
    for d in SWEEP_D:
        ckpt = sweep_checkpoint(d, tmp, fixed_weights)
        sim = prepare(ckpt, tmp / ckpt.stem)
        x = random_frames(ckpt, FRAMES)
        run = sim.run(x)
        rows.append({"d": d, "transistors": sim.transistors, "frames": FRAMES,
                     "simulated_frames": FRAMES + reset_frames(len(sim.nets)),
                     "sim_s": round(run.seconds, 2), "power_nw": by_part(run),
                     "model_estimate_nw": model_estimate(sim, x)})
        print(f"d {d}: {sim.transistors} transistors, {run.seconds:.1f} s, "
              f"{rows[-1]['power_nw']}", flush=True)
    return rows


def exponents(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Fitted exponents of each part: simulated over all d and d >= 8, model estimate."""
    def fit(key: str, lo: int, parts: tuple[str, ...]) -> dict[str, float]:
        keep = [r for r in rows if r["d"] >= lo]
        return {p: slope([r["d"] for r in keep], [r[key][p] for r in keep]) for p in parts}

    return {"all": fit("power_nw", 0, FITTED), "d_ge_8": fit("power_nw", 8, FITTED),
            "model_all": fit("model_estimate_nw", 0, PARTS)}


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        sweeps = {v: sweep(tmp, fixed) for v, fixed in VARIANTS.items()}
        bundled_power = bundled(tmp)
    fits = {v: exponents(rows) for v, rows in sweeps.items()}
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(sweeps, fits, RESULTS / "power.png")
    out = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
           "sample": SAMPLE, "frame_s": FRAME_S, "vdd_v": 1.8, "frames": FRAMES, "sweeps": sweeps,
           "exponents": fits, "bundled": bundled_power}
    (RESULTS / "power.json").write_text(json.dumps(out, indent=2) + "\n")
    print("exponents (power ~ d^k):", json.dumps(fits))
    print("bundled:", json.dumps(bundled_power))


if __name__ == "__main__":
    main()
