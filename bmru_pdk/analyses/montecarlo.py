"""Mismatch Monte Carlo of a checkpoint's extracted tile: the distribution of state agreement
with the torch model over samples of the gf180 models' statistical mismatch.

The tile is built and extracted once, as in :func:`bmru_pdk.analyses.compare.compare`.
Each seed is one sample of the tile: ngspice's random numbers are drawn while the netlist is
read, so with ``.options seed`` the same seed gives every device the same mismatch whatever
the inputs, i.e. the same die on every utterance. Every (seed, utterance) simulation is
scored against the model (the checkpoint's parameters) and against the nominal tile
(mismatch off), state bits per layer at the end of each frame.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bmru_pdk.analyses import compare as cmp
from bmru_pdk.analyses import testbench as tb

PERCENTILES = (5, 25, 50, 75, 95)


def _agreement(a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
    return [float((x == y).mean()) for x, y in zip(a, b, strict=True)]


def run(
    checkpoint: str | os.PathLike[str],
    utterances: list[cmp.Utterance],
    seeds: list[int],
    frame_s: float = tb.FRAME_S,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Simulate the extracted tile with mismatch on, once per seed and utterance.

    Args:
        checkpoint: The ``.safetensors`` checkpoint.
        utterances: Input sequences.
        seeds: ngspice seeds, one tile sample each.
        frame_s: Frame period, s.
        progress: Called with (done, total) after each simulation.

    Returns:
        ``nominal`` (mismatch off: per utterance, agreement per layer with the model),
        ``samples`` (per seed and utterance: agreement per layer with the model and with the
        nominal tile, decisions) and ``summary`` (see :func:`summary`).
    """
    import torch

    from bmru_pdk.model.checkpoint import load_checkpoint

    model = load_checkpoint(checkpoint)
    with torch.no_grad():
        params = model.effective_parameters()
    s0 = [p["s0"].numpy() for p in params[:-1]]
    with tempfile.TemporaryDirectory() as tmp:
        _files, _x, sim = cmp.extracted_tile(checkpoint, Path(tmp))
    tile, nets = sim.netlist, sim.decision_nets
    total = len(utterances) * (len(seeds) + 1)
    done = 0
    nominal: list[dict] = []
    samples: list[dict] = []
    for k, u in enumerate(utterances):
        x_in = np.vstack([np.zeros((1, u.x_na.shape[1])), u.x_na])
        states, scores = cmp.model_run(model, params, x_in)
        states, decision = [s[1:] for s in states], cmp.majority_vote(scores[1:])
        ref = cmp.simulate_utterance(tile, nets, s0, u.x_na, frame_s)
        nominal.append({"utterance": k, "name": u.name,
                        "state_agreement": _agreement(ref.states, states),
                        "decision_agrees": cmp.majority_vote(ref.scores) == decision})
        done += 1
        for seed in seeds:
            hw = cmp.simulate_utterance(tile, nets, s0, u.x_na, frame_s, mismatch=True,
                                        seed=seed)
            samples.append({"seed": seed, "utterance": k,
                            "state_agreement": _agreement(hw.states, states),
                            "agreement_with_nominal": _agreement(hw.states, ref.states),
                            "decision_agrees": cmp.majority_vote(hw.scores) == decision,
                            "power_nw": hw.power_nw, "sim_s": round(hw.seconds, 2)})
            done += 1
            if progress:
                progress(done, total)
    return {"checkpoint": Path(checkpoint).name, "frame_s": frame_s, "seeds": seeds,
            "utterances": [u.name for u in utterances], "nominal": nominal,
            "samples": samples, "summary": summary(nominal, samples)}


def _stats(values: np.ndarray) -> dict:
    out = {"mean": float(values.mean()), "std": float(values.std()),
           "min": float(values.min()), "max": float(values.max())}
    out |= {f"p{q}": float(np.percentile(values, q)) for q in PERCENTILES}
    return {k: round(v, 5) for k, v in out.items()}


def summary(nominal: list[dict], samples: list[dict]) -> dict:
    """Distribution of the state agreement per layer over all (seed, utterance) samples and
    over seeds (each seed's mean over the utterances); decisions agreeing; the nominal tile's
    agreement for reference."""
    agree = np.array([s["state_agreement"] for s in samples])
    vs_nominal = np.array([s["agreement_with_nominal"] for s in samples])
    seeds = sorted({s["seed"] for s in samples})
    per_seed = np.array([np.mean([s["state_agreement"] for s in samples if s["seed"] == q], 0)
                         for q in seeds])
    return {
        "samples": len(samples),
        "state_agreement_per_layer": [_stats(a) for a in agree.T],
        "state_agreement_per_seed_per_layer": [_stats(a) for a in per_seed.T],
        "agreement_with_nominal_per_layer": [_stats(a) for a in vs_nominal.T],
        "decisions_agreeing": f"{sum(s['decision_agrees'] for s in samples)}/{len(samples)}",
        "nominal_state_agreement_per_layer": [
            round(float(a), 5) for a in np.mean([n["state_agreement"] for n in nominal], 0)],
        "power_nw": _stats(np.array([s["power_nw"] for s in samples])),
    }


def plot(result: dict, path: Path) -> Path:
    """Histogram of the state agreement per layer (all samples), nominal tile marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    agree = np.array([s["state_agreement"] for s in result["samples"]]) * 100
    nominal = result["summary"]["nominal_state_agreement_per_layer"]
    fig, axes = plt.subplots(1, agree.shape[1], figsize=(4.5 * agree.shape[1], 3.5),
                             sharey=True, squeeze=False)
    bins = np.linspace(agree.min() - 1, 100, 25)
    for i, ax in enumerate(axes[0]):
        ax.hist(agree[:, i], bins=bins, color="C0", alpha=0.8)
        ax.axvline(nominal[i] * 100, color="C3", linestyle="--", label="mismatch off (mean)")
        ax.set(title=f"layer {i}", xlabel="state bits agreeing with the model, %")
    axes[0][0].set_ylabel("(seed, utterance) samples")
    axes[0][0].legend(fontsize=7)
    fig.suptitle(f"{result['checkpoint']}: {len(result['seeds'])} mismatch seeds x "
                 f"{len(result['utterances'])} utterances", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
