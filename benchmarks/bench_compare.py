"""The post-layout compare of the bundled tile on the sealed sample (or ``--sample``), with
parasitics and device-only, with 95 % intervals.

Usage: ``python benchmarks/bench_compare.py [--n 200] [--sample sealed2] [--workers W |
--scheduler ADDR] [--draw-rail [--rail-generator]] [--checkpoint CKPT --tables DIR]
[--out NAME]`` (the rail flags as ``bmru compare``'s: ``make run`` draws the tile with both;
``--checkpoint`` and ``--tables``: another network mapped with other tables). Prints the
figures and writes ``benchmarks/results/compare_<sample>.json`` (or ``--out``; the compare's
``compare.json`` without the per-utterance rows). About 5.4 s per simulation with
parasitics, two simulations per utterance (with and without them).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import provenance

import bmru_pdk
from bmru_pdk.analyses import compare
from bmru_pdk.executor import make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, samples

RESULTS = Path(__file__).parent / "results"


def _line(name: str, r: dict, n: int) -> str:
    bits = ", ".join(f"{a:.2%} ({lo:.2%}-{hi:.2%})" for a, (lo, hi) in zip(
        r["state_agreement_per_layer"], r["ci95"]["state_agreement_per_layer"], strict=True))
    lo, hi = r["ci95"]["decision_agreement"]
    return (f"{name}: state bits per layer {bits}; decisions {r['decisions_agreeing']}/{n} "
            f"({lo:.1%}-{hi:.1%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="utterances")
    parser.add_argument("--sample", default=samples.HEADLINE, choices=sorted(samples.SAMPLES),
                        help=f"the headline figures come from {samples.HEADLINE}")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address")
    provenance.rail_options(parser)
    provenance.network_options(parser)
    parser.add_argument("--out", type=provenance.results_name, default=None,
                        help="results file name (default compare_<sample>.json)")
    args = parser.parse_args()
    rail = provenance.nominal_rail(parser, args)
    bmru_pdk.PDK.activate()
    checkpoint = args.checkpoint or bundled_checkpoint()
    start = time.perf_counter()
    with make_executor(args.scheduler, args.workers) as ex, tempfile.TemporaryDirectory() as tmp:
        utterances = samples.load_utterances(checkpoint, None, args.n, sample=args.sample)
        f = compare.compare(checkpoint, utterances, Path(tmp) / "out", executor=ex,
                            sample=args.sample, pex=True, tables=provenance.tables(args), **rail,
                            progress=lambda k, total: print(f"{k}/{total}", end="\r"))
    f = {"command": provenance.command(), **provenance.checkpoint(checkpoint),
         "drawn_rail": args.draw_rail, "rail_generator": args.rail_generator,
         **{k: v for k, v in f.items() if k != "per_utterance"}}
    f["seconds"] = round(time.perf_counter() - start, 1)
    print(_line("with parasitics, model on the realised values", f["realised"],
                f["utterances"]))
    print(_line("with parasitics, model on the checkpoint's own values", f["ideal"],
                f["utterances"]))
    print(_line("device-only, realised values", f["device_only"]["realised"],
                f["device_only"]["utterances"]))
    print(f"accuracy: model {f['ideal']['model_accuracy']:.1%}, tile {f['hardware_accuracy']:.1%},"
          f" always the commonest class {f['baseline_accuracy']:.1%}; failed {len(f['failed'])};"
          f" {f['seconds']} s")
    out = RESULTS / (args.out or f"compare_{args.sample}.json")
    write_text(out, json.dumps(f, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
