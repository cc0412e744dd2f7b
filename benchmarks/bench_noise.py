"""Noise immunity of a BMRU unit, in ngspice and in the model, with a comparator control.

Usage: ``python benchmarks/bench_noise.py``. Prints the suppression (input over output
relative deviation) per noise level and writes ``benchmarks/results/noise.json`` and
``noise.png``. Method: :mod:`bmru_pdk.analyses.noise` and ``docs/noise.md``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bmru_pdk.analyses import noise
from bmru_pdk.fileio import write_text

RESULTS = Path(__file__).parent / "results"


def _suppression(r: dict) -> str:
    return f"{r['suppression']:.3g}" if r["suppression"] is not None else \
        f">{r['suppression_at_least']:.3g}"


def main() -> None:
    start = time.perf_counter()
    figures = noise.measure()
    figures["seconds"] = round(time.perf_counter() - start, 1)
    for name, p in figures["duts"].items():
        print(f"{name:10} beta_lo {p['beta_lo']:.3f}  beta_hi {p['beta_hi']:.3f}  "
              f"alpha {p['alpha']:.3f} nA")
    for per_frame, duts in figures["sweeps"].items():
        print(f"\n{per_frame} noise sample(s) per frame; ngspice and model on the same "
              f"{figures['frames']} frames, model_long on {figures['model_frames']}")
        print(f"{'circuit':10} {'sigma':>5} {'in dev':>7} {'spice out':>9} {'spice sup':>9} "
              f"{'flips':>5} {'model sup':>9} {'flips':>5} {'long sup':>9} {'flips':>7}")
        for name, runs in duts.items():
            for s, m, ml in zip(runs["spice"], runs["model"], runs["model_long"], strict=True):
                print(f"{name:10} {s['rel_sigma']:5.2f} {s['input_deviation']:7.3f} "
                      f"{s['output_deviation']:9.4f} {_suppression(s):>9} "
                      f"{s['flipped_frames']:5d} {_suppression(m):>9} {m['flipped_frames']:5d} "
                      f"{_suppression(ml):>9} {ml['flipped_frames']:7d}")
    write_text(RESULTS / "noise.json", json.dumps(figures, indent=1) + "\n")
    noise.plot(figures, RESULTS / "noise.png")
    print(f"\n{figures['seconds']} s; wrote {RESULTS / 'noise.json'} and noise.png")


if __name__ == "__main__":
    main()
