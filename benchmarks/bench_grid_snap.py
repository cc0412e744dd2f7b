"""What a coarser ratio grid would cost the model (issue 25, "what grid to draw").

The tile draws every ratio from one unit gate: whole gates in parallel and series stacks of
gates from a one-gate diode (:func:`bmru_pdk.circuits.sizing.unit_grid`). The corner study
(docs/corners.md, "Sub-unit ratios: stacks against a wider diode") found that only whole
gates on both sides, every diode D gates wide, hold the sub-unit ratios across
temperature; such a grid draws k / D of a unit and nothing between. This bench asks, before
anything is drawn, what that resolution costs the bundled checkpoint as it was trained:
each learned value (weights, biases, beta_hi, delta, alpha) snapped to the nearest multiple
of 1 / D, the smallest non-zero magnitude one gate (the checkpoint's realisability with
``w_step = i_step = w_min = i_min = 1 / D``), against the checkpoint's own values. The
tile's grid as mapped (the realised values of ``make run``) is the first row, for scale.
A snap is a nominal k / D: the characterised gain of a k-of-D drawing is k / D within the
drift the corner study measured, far below the grid's half step.

Runs on the tuning sample (it informs a choice). Per grid: each layer's state agreement
with the checkpoint (mean over utterances), the share of decisions that agree, and the
accuracy against the labels with its Wilson interval, beside always answering the commonest
class.

Usage: ``python benchmarks/bench_grid_snap.py [--n 400] [--grids 2,4,8]``. Prints a row per
grid and writes ``benchmarks/results/grid_snap.json``. About two minutes on one core (most
of it speaking the utterances).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import numpy as np
import provenance
import torch

from bmru_pdk.analyses import simulation
from bmru_pdk.analyses.stats import wilson
from bmru_pdk.circuits import design
from bmru_pdk.fileio import write_text
from bmru_pdk.model import samples
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import load_checkpoint, open_checkpoint
from bmru_pdk.model.network import BMRUNet

RESULTS = Path(__file__).parent / "results"
SAMPLE = "tuning"


def on_grid(model: BMRUNet, gates: int) -> list[dict]:
    """``model``'s parameters snapped to k / ``gates`` of a unit, one gate the smallest."""
    step = 1.0 / gates
    snapped = model.within(model.meta.realisability.model_copy(
        update={"w_step": step, "i_step": step, "w_min": step, "i_min": step}))
    with torch.no_grad():
        return snapped.effective_parameters()


def score(model: BMRUNet, params: list[dict], reference: list[tuple],
          utterances: list[samples.Utterance]) -> dict:
    """Agreement of ``params`` with the ``reference`` runs (states and decision per
    utterance, made once) and accuracy on ``utterances``."""
    agree, same, right = [], 0, 0
    for u, (ref_states, ref_vote) in zip(utterances, reference, strict=True):
        states, scores = simulation.model_run(model, params, u.x_na)
        agree.append([float((a == b).mean()) for a, b in zip(states, ref_states, strict=True)])
        vote = simulation.majority_vote(scores)
        same += vote == ref_vote
        right += vote == u.label
    n = len(utterances)
    return {"state_agreement": [round(float(v), 5) for v in np.mean(agree, axis=0)],
            "decisions_agree": round(same / n, 5), "accuracy": round(right / n, 5),
            "accuracy_interval": [round(v, 5) for v in wilson(right, n)]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=400, help="utterances of the tuning sample")
    ap.add_argument("--grids", default="2,4,8", help="diode widths D, gates")
    ap.add_argument("--out", type=Path, default=RESULTS / "grid_snap.json")
    args = ap.parse_args()
    start = time.time()
    path = bundled_checkpoint()
    model = load_checkpoint(path)
    utterances = samples.load_utterances(path, None, args.n, SAMPLE)
    with torch.no_grad():
        learned = model.effective_parameters()
        tile = design.design(open_checkpoint(path))
        realised = simulation.realised_parameters(
            model, [dataclasses.asdict(m) for m in tile.mapping])
    labels = [u.label for u in utterances]
    runs = [simulation.model_run(model, learned, u.x_na) for u in utterances]
    reference = [(states, simulation.majority_vote(scores)) for states, scores in runs]
    rows = [{"grid": "tile", "gates": None, **score(model, realised, reference, utterances)}]
    rows += [{"grid": "k_of_d", "gates": d,
              **score(model, on_grid(model, d), reference, utterances)}
             for d in map(int, args.grids.split(","))]
    learned_row = score(model, learned, reference, utterances)
    out = {"command": provenance.command(), **provenance.checkpoint(path), "sample": SAMPLE,
           "utterances": len(utterances),
           "commonest_class_accuracy": round(max(map(labels.count, set(labels))) / len(labels), 5),
           "learned": {k: learned_row[k] for k in ("accuracy", "accuracy_interval")},
           "rows": rows, "seconds": round(time.time() - start, 1)}
    for r in rows:
        print(f"{r['grid']:7s} D={r['gates']!s:4s} states {r['state_agreement']} "
              f"decisions {r['decisions_agree']:.3f} accuracy {r['accuracy']:.3f}")
    print(f"learned accuracy {learned_row['accuracy']:.3f}, commonest class "
          f"{out['commonest_class_accuracy']:.3f}")
    write_text(args.out, json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
