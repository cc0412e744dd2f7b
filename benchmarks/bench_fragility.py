"""What one cell deciding against its model costs the network, per tuning utterance, in
the model alone (:mod:`bmru_pdk.analyses.fragility`, docs/compare.md "One frame off").

Every unit of every layer is flipped at every frame of each utterance, one flip at a time;
the cell holds the flip while its candidate stays in its hold band, and the layers above run
on what it passes on. A flip *loses* a unit (of its layer or one above) when the unit then
differs from the unflipped run at every frame to the utterance's end; it is *exposed* when
the flipped unit's candidate lies within ``fragility.EXPOSED`` of a threshold, where the
tile's own thresholds decide it. Counted per utterance and flipped layer, words and noise
clips apart. It runs on the tuning sample only: it guides the choice of a remedy.

    python benchmarks/bench_fragility.py [--n 100] [--checkpoint CKPT] [--data DIR]
        [--out NAME.json]

With ``--data`` (a dataset ``bmru kws-data`` made) it also records the network's validation
balanced accuracy: with the flips, the model screen a remedy's network passes first
(docs/compare.md, "The rule for a remedy").

Writes ``benchmarks/results/fragility.json`` (about a second per utterance).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import provenance

from bmru_pdk.analyses import fragility
from bmru_pdk.fileio import write_text
from bmru_pdk.model import samples
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import load_checkpoint
from bmru_pdk.model.data import NOISE_DIR
from bmru_pdk.model.network import BMRUNet
from bmru_pdk.model.train import evaluate, prepare_data

RESULTS = Path(__file__).resolve().parent / "results"
# A flip is costly when it alone changes more of the state bits than the 99 % agreement
# target lets an utterance miss.
COSTLY = 0.01


def layer_row(flips: fragility.Flips) -> dict:
    """One utterance's figures for the flips of one layer: the most units a flip loses, at
    the first frame, at any frame, at an exposed one and at an exposed one at the first
    frame, how many flips are exposed, and how near a threshold the nearest *costly* flip
    lies (one that changes at least ``COSTLY`` of the state bits)."""
    first = flips.lost_to_end[0][flips.exposed[0]]
    costly = flips.margin[flips.bits_changed >= COSTLY]
    return {"first_frame_lost": int(flips.lost_to_end[0].max()),
            "costly_margin": round(float(costly.min()), 4) if costly.size else None,
            "any_frame_lost": int(flips.lost_to_end.max()),
            "exposed_lost": int(flips.lost_to_end[flips.exposed].max(initial=0)),
            "first_frame_exposed_lost": int(first.max(initial=0)),
            "exposed_flips": int(flips.exposed.sum())}


def summary(rows: list[dict]) -> dict:
    """Per kind (words, noise clips): utterances, those where an exposed flip in any layer
    loses a unit to the end (what the rule for a remedy counts), and per flipped layer those
    where a flip (at the first frame, at any, at an exposed one) does."""
    out = {}
    for kind, noise in (("words", False), ("noise clips", True)):
        part = [r for r in rows if r["noise"] == noise]
        out[kind] = {"utterances": len(part),
                     "exposed_lost": sum(any(x["exposed_lost"] for x in r["layers"])
                                         for r in part),
                     "layers": [
            {key: sum(r["layers"][k][key] > 0 for r in part)
             for key in ("first_frame_lost", "any_frame_lost", "exposed_lost")}
            for k in range(len(rows[0]["layers"]))]}
    return out


def validation(model: BMRUNet, data: Path | None) -> dict:
    """The network's validation balanced accuracy on ``data``, if given."""
    if data is None:
        return {}
    ds = prepare_data(data, "binary", seed=0, encoding=model.meta.input,
                      splits=("validation",))
    balanced = evaluate(model, ds.x["validation"], ds.y["validation"]).balanced_accuracy
    print(f"validation balanced accuracy {balanced:.4f}")
    return {"validation_balanced": round(balanced, 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="tuning utterances")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the network (default the bundled one)")
    parser.add_argument("--data", type=Path, default=None,
                        help="also the validation balanced accuracy on this dataset")
    parser.add_argument("--out", type=provenance.results_name, default="fragility.json",
                        help="results file name (in benchmarks/results)")
    args = parser.parse_args()
    start = time.perf_counter()
    path = args.checkpoint or bundled_checkpoint()
    model = load_checkpoint(path)
    params = model.effective_parameters()
    rows = [{"name": u.name, "label": u.label, "noise": u.name.startswith(f"{NOISE_DIR}/"),
             "layers": [layer_row(f) for f in fragility.knife_edge_flips(model, params, u.x_na)]}
            for u in samples.load_utterances(path, None, args.n, "tuning")]
    training = model.meta.training
    out = {"command": provenance.command(), **provenance.checkpoint(path),
           "training_command": training.command if training else None, "sample": "tuning",
           "utterances": args.n, "exposed_within": fragility.EXPOSED,
           "summary": summary(rows), **validation(model, args.data),
           "seconds": round(time.perf_counter() - start, 1),
           "per_utterance": rows}
    for kind, s in out["summary"].items():
        print(f"{kind:12} {s['utterances']:4d} utterances; an exposed flip loses a unit to the "
              f"end in {s['exposed_lost']}")
        for k, layer in enumerate(s["layers"]):
            print(f"{kind:12} {s['utterances']:4d} utterances; a flip in layer {k} loses a "
                  f"unit to the end: at the first frame {layer['first_frame_lost']}, at any "
                  f"frame {layer['any_frame_lost']}, at an exposed one {layer['exposed_lost']}")
    write_text(RESULTS / args.out, json.dumps(out, indent=1) + "\n")
    print(f"{out['seconds']} s; wrote {RESULTS / args.out}")


if __name__ == "__main__":
    main()
