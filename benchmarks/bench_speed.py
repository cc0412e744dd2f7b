"""Speed of the software model against ngspice, and ngspice time against tile size.

(a) The bundled checkpoint on ``N`` generated utterances (101 frames of
    ``testbench.FRAME_S``, plus the reset frames): the torch model (one thread, best of
    ``REPEATS``; one utterance per call, ``compare.model_run``, and the same utterances in
    one batch of ``BATCH``) against ngspice on the extracted tile (the transient run only:
    tile build and extraction are once per tile), time per utterance and their ratio.
(b) ngspice time per simulated frame against the transistor count of the extracted tile: the
    d-sweep simulations of ``bench_power.py`` (its ``results/power.json``: run it first; 26
    frames each), and their log-log slope; (a)'s bundled tile beside them.

Run: ``.venv/bin/python benchmarks/bench_speed.py`` -> ``benchmarks/results/speed.json``,
``benchmarks/results/speed.png``.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import provenance
from tilesim import FRAME_S, prepare

from bmru_pdk.analyses.simulation import model_run, with_reset
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import load_checkpoint
from bmru_pdk.model.samples import load_utterances

RESULTS = Path(__file__).resolve().parent / "results"
N = 5
REPEATS = 20
SAMPLE = "tuning"  # a timing, not a figure of agreement: any utterances do
BATCH = 50  # the N utterances repeated, as bench_model.py measures throughput


def best_of(call: Callable[[], object]) -> float:
    """Best-of-``REPEATS`` time of ``call`` after a warm-up call, s."""
    call()
    best = np.inf
    for _ in range(REPEATS):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def model_seconds(x: list[np.ndarray]) -> tuple[list[float], float]:
    """Torch model time per input, one per call, and per input in a batch of ``BATCH``, s."""
    import torch

    torch.set_num_threads(1)  # as ngspice: one solver thread
    model = load_checkpoint(bundled_checkpoint())
    with torch.no_grad():
        params = model.effective_parameters()
    single = [best_of(lambda x_in=x_in: model_run(model, params, x_in)) for x_in in x]
    batch = torch.from_numpy(np.stack([x[k % len(x)] for k in range(BATCH)]).astype(np.float32))
    with torch.no_grad():
        batched = best_of(lambda: model(batch, params=params)) / BATCH
    return single, batched


def software_vs_ngspice() -> dict:
    ckpt = bundled_checkpoint()
    utterances = load_utterances(ckpt, None, N, SAMPLE)
    # the model gets the reset frames ngspice simulates too
    layers = load_checkpoint(ckpt).meta.architecture.layers
    x = [with_reset(u.x_na, layers) for u in utterances]
    model_s, batched_s = model_seconds(x)
    with tempfile.TemporaryDirectory() as t:
        sim = prepare(ckpt, Path(t))
        spice_s = [sim.run(u.x_na).seconds for u in utterances]
    ratio = [s / m for s, m in zip(spice_s, model_s, strict=True)]
    return {"checkpoint": ckpt.name, "transistors": sim.transistors, "utterances": N,
            "frames": len(x[0]), "model_s_per_utterance": round(float(np.mean(model_s)), 6),
            "model_batched_s_per_utterance": round(batched_s, 7), "batch": BATCH,
            "ngspice_s_per_utterance": round(float(np.mean(spice_s)), 2),
            "ratio_mean": round(float(np.mean(ratio))), "ratio_min": round(float(np.min(ratio))),
            "ratio_batched": round(float(np.mean(spice_s)) / batched_s)}


def size_scaling(bundled: dict) -> dict:
    """ngspice s per frame against transistors: the sweep's points and their fitted slope."""
    sweeps = json.loads((RESULTS / "power.json").read_text())["sweeps"]
    points = [{"source": f"bench_power {variant} d={r['d']}", "transistors": r["transistors"],
               # files from before reset_frames record no simulated_frames: one reset frame
               "s_per_frame": round(r["sim_s"] / r.get("simulated_frames", r["frames"] + 1), 4)}
              for variant, rows in sweeps.items() for r in rows]
    n = [p["transistors"] for p in points]
    s = [p["s_per_frame"] for p in points]
    return {"points": points,
            "exponent": round(float(np.polyfit(np.log(n), np.log(s), 1)[0]), 2),
            "bundled": {"transistors": bundled["transistors"], "s_per_frame": round(
                bundled["ngspice_s_per_utterance"] / bundled["frames"], 4)}}


def plot(a: dict, b: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax0.bar(["torch, 1 per call", f"torch, batch {a['batch']}", "ngspice (extracted)"],
            [a["model_s_per_utterance"], a["model_batched_s_per_utterance"],
             a["ngspice_s_per_utterance"]], color=["C0", "C2", "C3"])
    ax0.set_yscale("log")
    ax0.set_ylabel(f"s per utterance ({a['frames']} frames)")
    ax0.set_title(f"bundled d = 4: ngspice / model = {a['ratio_mean']:.0f} (1 per call), "
                  f"{a['ratio_batched']:.0f} (batched)", fontsize=9)
    n = np.array([p["transistors"] for p in b["points"]])
    s = np.array([p["s_per_frame"] for p in b["points"]])
    ax1.loglog(n, s, "o", color="C3", label="d sweep (26 frames a run)")
    ax1.loglog(b["bundled"]["transistors"], b["bundled"]["s_per_frame"], "s", color="C0",
               label=f"bundled ({a['frames']} frames a run)")
    fit = np.poly1d(np.polyfit(np.log(n), np.log(s), 1))
    grid = np.geomspace(n.min(), n.max(), 50)
    ax1.loglog(grid, np.exp(fit(np.log(grid))), "k--", label=f"slope {b['exponent']:.2f}")
    ax1.minorticks_off()
    ax1.set_xlabel("transistors (extracted tile)")
    ax1.set_ylabel(f"ngspice s per {FRAME_S * 1e3:g} ms frame")
    ax1.legend()
    ax1.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> None:
    a = software_vs_ngspice()
    print("software vs ngspice:", json.dumps(a))
    b = size_scaling(a)
    print(f"ngspice time per frame ~ transistors^{b['exponent']}")
    for p in b["points"]:
        print(p)
    RESULTS.mkdir(parents=True, exist_ok=True)
    plot(a, b, RESULTS / "speed.png")
    out = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
           "sample": SAMPLE, "software_vs_ngspice": a, "ngspice_vs_size": b}
    (RESULTS / "speed.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
