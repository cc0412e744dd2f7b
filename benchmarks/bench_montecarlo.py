"""Mismatch Monte Carlo of the bundled checkpoint's extracted tile: state agreement with the
model over samples of the gf180 models' statistical mismatch.

Usage: ``python benchmarks/bench_montecarlo.py [--seeds 16] [--n 3]``. Prints the
distribution and writes ``benchmarks/results/montecarlo.json`` and ``montecarlo.png``
(about 3 s per simulation on the d = 4 tile: (seeds + 1) x n simulations).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from bmru_pdk.analyses import compare, montecarlo
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16, help="mismatch samples (1..N)")
    parser.add_argument("--n", type=int, default=3, help="utterances")
    args = parser.parse_args()
    checkpoint = bundled_checkpoint()
    utterances = compare.load_utterances(checkpoint, None, args.n)
    start = time.perf_counter()
    result = montecarlo.run(checkpoint, utterances, list(range(1, args.seeds + 1)),
                            progress=lambda done, total: print(f"{done}/{total}", end="\r"))
    result["seconds"] = round(time.perf_counter() - start, 1)
    s = result["summary"]
    print(f"{args.seeds} seeds x {len(utterances)} utterances ({s['samples']} samples), "
          f"{result['seconds']} s")
    for i, (a, seed, nom, ref) in enumerate(zip(
            s["state_agreement_per_layer"], s["state_agreement_per_seed_per_layer"],
            s["agreement_with_nominal_per_layer"], s["nominal_state_agreement_per_layer"],
            strict=True)):
        print(f"layer {i}: state agreement with the model mean {a['mean']:.1%} "
              f"(min {a['min']:.1%}, p5 {a['p5']:.1%}, p50 {a['p50']:.1%}, p95 {a['p95']:.1%}, "
              f"max {a['max']:.1%}); per seed {seed['min']:.1%}..{seed['max']:.1%}; "
              f"mismatch off {ref:.1%}; with the mismatch-free tile {nom['mean']:.1%}")
    print(f"decisions agreeing with the model: {s['decisions_agreeing']}; "
          f"power {s['power_nw']['mean']:.0f} nW ({s['power_nw']['min']:.0f}.."
          f"{s['power_nw']['max']:.0f})")
    write_text(RESULTS / "montecarlo.json", json.dumps(result, indent=1) + "\n")
    montecarlo.plot(result, RESULTS / "montecarlo.png")
    print(f"wrote {RESULTS / 'montecarlo.json'} and montecarlo.png")


if __name__ == "__main__":
    main()
