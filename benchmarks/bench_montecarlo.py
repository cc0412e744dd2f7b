"""Mismatch Monte Carlo of the bundled checkpoint's extracted tile: state agreement with the
nominal model (the values the drawing realises) and with the nominal tile, and each die's
accuracy against the model's, over dies of the gf180 models' statistical mismatch (one
ngspice seed per die, the same die in every bench).

Usage: ``python benchmarks/bench_montecarlo.py [--seeds 32] [--n 20] [--sample sealed2]
[--workers W | --scheduler ADDR] [--checkpoint CKPT --tables DIR] [--draw-rail
[--rail-generator]] [--out NAME]`` (the rail flags as ``bmru compare``'s). Prints
the distribution and writes ``benchmarks/results/montecarlo.json`` and ``montecarlo.png``
(or ``NAME.json`` / ``.png``; ``--checkpoint`` / ``--tables``: another network mapped with
other tables, a grid of D-gate diodes for one trained for it): (seeds + 1) x n simulations of
the device-only netlist, spread over the executor's workers; the file records the command,
the checkpoint's SHA-256, the tile, the run time and every simulation's own time.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

import provenance

from bmru_pdk.analyses import montecarlo
from bmru_pdk.circuits.mapping import load_tables
from bmru_pdk.executor import make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, samples

RESULTS = Path(__file__).parent / "results"


def run_dies(doc: str, engine: Callable[..., dict]) -> tuple[argparse.Namespace, dict]:
    """Parse the dies' command line and run ``engine`` (``montecarlo.run`` or ``twin.run``)
    on the checkpoint's utterances (the bundled one's by default) through the chosen
    executor, the tile drawn with the rail and its generator if asked."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=32, help="dies (seeds 1..N)")
    parser.add_argument("--n", type=int, default=20, help="utterances (>= 20: one "
                        "decision is then 5 points of a die's accuracy)")
    parser.add_argument("--sample", default=samples.HEADLINE, choices=sorted(samples.SAMPLES))
    parser.add_argument("--workers", type=int, default=None, help="local processes")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address")
    provenance.network_options(parser)
    parser.add_argument("--out", type=provenance.results_name, default=None,
                        help="results file name without extension")
    provenance.rail_options(parser)
    args = parser.parse_args()
    rail = provenance.nominal_rail(parser, args)
    checkpoint = args.checkpoint or bundled_checkpoint()
    utterances = samples.load_utterances(checkpoint, None, args.n, args.sample)
    start = time.perf_counter()
    with make_executor(args.scheduler, args.workers) as executor:
        result = engine(checkpoint, utterances, list(range(1, args.seeds + 1)),
                        progress=lambda done, total: print(f"{done}/{total}", end="\r"),
                        executor=executor,
                        tables=load_tables(args.tables) if args.tables else None, **rail)
    seconds = round(time.perf_counter() - start, 1)
    return args, ({"command": provenance.command()} | result
                  | {"sample": args.sample, "seconds": seconds})


def main() -> None:
    args, result = run_dies(__doc__, montecarlo.run)
    s = result["summary"]
    print(f"{args.seeds} seeds x {len(result['utterances'])} utterances ({s['samples']} samples), "
          f"{result['seconds']} s")
    for i, (a, seed, nom, ref) in enumerate(zip(
            s["state_agreement_per_layer"], s["state_agreement_per_seed_per_layer"],
            s["agreement_with_nominal_per_layer"], s["nominal_state_agreement_per_layer"],
            strict=True)):
        print(f"layer {i}: state agreement with the model mean {a['mean']:.1%} "
              f"(min {a['min']:.1%}, p5 {a['p5']:.1%}, p50 {a['p50']:.1%}, p95 {a['p95']:.1%}, "
              f"max {a['max']:.1%}); per seed {seed['min']:.1%}..{seed['max']:.1%}; "
              f"mismatch off {ref:.1%}; with the mismatch-free tile {nom['mean']:.1%}")
    print(f"dies: accuracy {s['die_accuracy']['min']:.1%}..{s['die_accuracy']['max']:.1%} "
          f"(model {s['model_accuracy']:.1%}, always the commonest class "
          f"{s['commonest_class_accuracy']:.1%}); within 1 point of the model "
          f"{s['dies_within_1_point']} (95 % CI {s['dies_within_1_point_ci95'][0]:.1%}-"
          f"{s['dies_within_1_point_ci95'][1]:.1%}); agreement with the nominal tile per die "
          f"mean {s['die_agreement_with_nominal']['mean']:.1%} "
          f"(min {s['die_agreement_with_nominal']['min']:.1%})")
    print(f"decisions agreeing with the model: {s['decisions_agreeing']}; "
          f"power {s['power_nw']['mean']:.0f} nW ({s['power_nw']['min']:.0f}.."
          f"{s['power_nw']['max']:.0f})")
    name = args.out or "montecarlo"
    write_text(RESULTS / f"{name}.json", json.dumps(result, indent=1) + "\n")
    montecarlo.plot(result, RESULTS / f"{name}.png")
    print(f"wrote {RESULTS / name}.json and {name}.png")


if __name__ == "__main__":
    main()
