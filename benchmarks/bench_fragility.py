"""What one frame of a layer-0 unit off its model costs layer 1, per tuning utterance, in the
model alone (:mod:`bmru_pdk.analyses.fragility`, docs/compare.md "One frame off").

Every layer-0 unit is flipped for one frame at a time, at every frame of each utterance, in
the outputs layer 1 receives. A flip *loses* a layer-1 unit when the unit then differs from
the unflipped run at every frame to the utterance's end; it is *exposed* when the flipped
unit's candidate lies within ``fragility.EXPOSED`` of a threshold, where the tile's own
thresholds decide it. Counted per utterance, words and noise clips apart. It runs on the
tuning sample only: it guides the choice of a remedy.

    python benchmarks/bench_fragility.py [--n 100] [--checkpoint CKPT] [--out NAME.json]

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

RESULTS = Path(__file__).resolve().parent / "results"


def utterance_row(u: samples.Utterance, flips: fragility.Flips) -> dict:
    """One utterance's figures: the most layer-1 units a flip loses, at the first frame, at
    any frame, at an exposed one and at an exposed one at the first frame, and how many
    flips are exposed."""
    exposed = flips.lost_to_end[flips.exposed]
    first = flips.lost_to_end[0][flips.exposed[0]]
    return {"name": u.name, "label": u.label, "noise": u.name.startswith(f"{NOISE_DIR}/"),
            "first_frame_lost": int(flips.lost_to_end[0].max()),
            "any_frame_lost": int(flips.lost_to_end.max()),
            "exposed_lost": int(exposed.max(initial=0)),
            "first_frame_exposed_lost": int(first.max(initial=0)),
            "exposed_flips": int(flips.exposed.sum()),
            "first_frame_bits_changed": round(float(flips.bits_changed[0].max()), 4)}


def summary(rows: list[dict]) -> dict:
    """Per kind (words, noise clips): utterances, and those where a flip (at the first
    frame, at any, at an exposed one) loses a layer-1 unit to the end."""
    out = {}
    for kind, noise in (("words", False), ("noise clips", True)):
        part = [r for r in rows if r["noise"] == noise]
        out[kind] = {"utterances": len(part),
                     **{key: sum(r[key] > 0 for r in part)
                        for key in ("first_frame_lost", "any_frame_lost", "exposed_lost")}}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="tuning utterances")
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the network (default the bundled one)")
    parser.add_argument("--out", type=provenance.results_name, default="fragility.json",
                        help="results file name (in benchmarks/results)")
    args = parser.parse_args()
    start = time.perf_counter()
    path = args.checkpoint or bundled_checkpoint()
    model = load_checkpoint(path)
    params = model.effective_parameters()
    rows = [utterance_row(u, fragility.one_frame_flips(model, params, u.x_na))
            for u in samples.load_utterances(path, None, args.n, "tuning")]
    out = {"command": provenance.command(), **provenance.checkpoint(path), "sample": "tuning",
           "utterances": args.n, "exposed_within": fragility.EXPOSED,
           "summary": summary(rows), "seconds": round(time.perf_counter() - start, 1),
           "per_utterance": rows}
    for kind, s in out["summary"].items():
        print(f"{kind:12} {s['utterances']:4d} utterances; a one-frame flip loses a layer-1 "
              f"unit to the end: at the first frame {s['first_frame_lost']}, at any frame "
              f"{s['any_frame_lost']}, at an exposed one {s['exposed_lost']}")
    write_text(RESULTS / args.out, json.dumps(out, indent=1) + "\n")
    print(f"{out['seconds']} s; wrote {RESULTS / args.out}")


if __name__ == "__main__":
    main()
