"""Mismatch Monte Carlo of a checkpoint's extracted tile: the distribution of state agreement
with the torch model over samples of the gf180 models' statistical mismatch.

The tile is built and extracted once, as in :func:`bmru_pdk.analyses.compare.compare`, and
the model runs the values the drawing realises (its mapping), as the nominal model of the
PVT bench does: what is left between a die and the model is the die's mismatch.
Each seed is one sample of the tile: ngspice's random numbers are drawn while the netlist is
read, so with ``.options seed`` the same seed gives every device the same mismatch whatever
the inputs, i.e. the same die on every utterance. Every (seed, utterance) simulation is
scored against the model (the checkpoint's parameters) and against the nominal tile
(mismatch off), state bits per layer at the end of each frame, and each die's accuracy
(its decisions against the labels) against the model's. The simulations go through an
:class:`~bmru_pdk.executor.Executor`: local worker processes or a Dask cluster.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.analyses import simulation as sim_
from bmru_pdk.analyses import testbench as tb
from bmru_pdk.analyses.stats import wilson
from bmru_pdk.executor import Executor

if TYPE_CHECKING:
    from bmru_pdk.circuits.characterize import Tables
    from bmru_pdk.model.checkpoint import Checkpoint
    from bmru_pdk.model.samples import Utterance

PERCENTILES = (5, 25, 50, 75, 95)


def _agreement(a: list[np.ndarray], b: list[np.ndarray]) -> list[float]:
    return [float((x == y).mean()) for x, y in zip(a, b, strict=True)]


def _simulate(tile: tb.TileNetlist, nets: list[list[str]], s0: list[np.ndarray],
              frame_s: float, condition: tb.Condition, job: tuple[np.ndarray, int | None]
              ) -> sim_.HardwareRun:
    """One job: an utterance's input currents and a seed (``None``: mismatch off)."""
    x_na, seed = job
    return sim_.simulate_utterance(tile, nets, s0, x_na, frame_s, mismatch=seed is not None,
                                  seed=seed, condition=condition)


def run(
    checkpoint: str | os.PathLike[str] | Checkpoint,
    utterances: list[Utterance],
    seeds: list[int],
    frame_s: float = tb.FRAME_S,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    tables: Tables | None = None,
    source_rail: bool = False,
    condition: tb.Condition = tb.NOMINAL,
) -> dict:
    """Simulate the extracted tile with mismatch on, once per seed and utterance.

    Args:
        checkpoint: The checkpoint (a path is read once).
        utterances: Input sequences.
        seeds: ngspice seeds, one die each.
        frame_s: Frame period, s.
        progress: Called with (done, total) as simulations finish.
        executor: Where the simulations run (default: one after another in this process).
        tables: Characterisation tables to map with (``None``: the package's).
        source_rail: Draw the NMOS source rail (pin ``vsn``), held at the condition's rail
            voltage or by the condition's rail generator, drawn in the tile.
        condition: Corner, temperature, supply and rail of the simulations.

    Returns:
        ``nominal`` (mismatch off: per utterance, agreement per layer with the model),
        ``samples`` (per seed and utterance: agreement per layer with the model and with the
        nominal tile, decisions) and ``summary`` (see :func:`summary`).
    """
    import torch

    from bmru_pdk.model.checkpoint import open_checkpoint

    checkpoint = open_checkpoint(checkpoint)
    model = checkpoint.model()
    with tempfile.TemporaryDirectory() as tmp:
        build, _x, sim = sim_.extracted_tile(checkpoint, Path(tmp), tables=tables,
                                             source_rail=source_rail,
                                             rail_generator=condition.rail_generator)
    with torch.no_grad():
        params = sim_.realised_parameters(model, build.mapping)
        s0 = sim_.rest_states(model, params)
    jobs = [(u.x_na, seed) for u in utterances for seed in (None, *seeds)]
    runs = iter((executor or Executor()).map(
        partial(_simulate, sim.netlist, sim.decision_nets, s0, frame_s, condition), jobs,
        progress))
    nominal: list[dict] = []
    samples: list[dict] = []
    for k, u in enumerate(utterances):
        states, scores = sim_.model_utterance(model, params, u.x_na)
        decision = sim_.majority_vote(scores)
        ref = next(runs)
        nominal.append({"utterance": k, "name": u.name, "label": u.label, "decision": decision,
                        "state_agreement": _agreement(ref.states, states),
                        "decision_agrees": sim_.majority_vote(ref.scores) == decision})
        for seed in seeds:
            hw = next(runs)
            die = sim_.majority_vote(hw.scores)
            samples.append({"seed": seed, "utterance": k,
                            "state_agreement": _agreement(hw.states, states),
                            "agreement_with_nominal": _agreement(hw.states, ref.states),
                            "decision": die, "decision_agrees": die == decision,
                            "correct": die == u.label,
                            "power_nw": hw.power_nw, "sim_s": round(hw.seconds, 2)})
    return {"checkpoint": checkpoint.name, **sim_.build_record(build), "frame_s": frame_s,
            "drawn_rail": source_rail, "rail_generator": condition.rail_generator is not None,
            "seeds": seeds, "utterances": [u.name for u in utterances], "nominal": nominal,
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
    seeds = sorted({s["seed"] for s in samples})  # the dies
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
        **_dies(nominal, samples, seeds),
    }


def within_one_point(accuracy: np.ndarray, model: float) -> tuple[int, list[float]]:
    """How many dies' accuracies lie within one point of the model's, and the Wilson 95 %
    interval of that share."""
    close = int(np.sum(np.abs(accuracy - model) <= 0.01 + 1e-9))
    return close, [round(v, 4) for v in wilson(close, len(accuracy))]


def _dies(nominal: list[dict], samples: list[dict], seeds: list[int]) -> dict:
    """Each die's accuracy over the utterances against the model's; the share of dies within
    one point of it (Wilson interval over dies); each die's mean agreement with the nominal
    tile, all layers pooled."""
    model = float(np.mean([n["decision"] == n["label"] for n in nominal]))
    labels = [n["label"] for n in nominal]
    baseline = max(labels.count(k) for k in set(labels)) / len(labels)  # always the commonest
    dies = {q: [s for s in samples if s["seed"] == q] for q in seeds}
    accuracy = np.array([np.mean([s["correct"] for s in d]) for d in dies.values()])
    close, ci = within_one_point(accuracy, model)
    agree = np.array([np.mean([s["agreement_with_nominal"] for s in d]) for d in dies.values()])
    return {"model_accuracy": round(model, 5), "model_values": "checkpoint",
            "commonest_class_accuracy": round(baseline, 5),
            "die_accuracy": _stats(accuracy),
            "dies_within_1_point": f"{close}/{len(dies)}",
            "dies_within_1_point_ci95": ci,
            "die_agreement_with_nominal": _stats(agree)}


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
