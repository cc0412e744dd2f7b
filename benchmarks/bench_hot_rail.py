"""Choosing the NMOS source rail at 125 °C on the tuning sample (docs/corners.md).

The rail remedy of the hot leakage puts every NMOS mirror device's source on a rail above
the substrate. At 125 °C it cuts the leakage and also shifts the mirrors (the body effect,
and less drain voltage for the PMOS outputs), so the rail that keeps the tile closest to
its nominal model (the tile's own values, made at typical 27 °C on ground) is a choice.
This bench makes it: the bundled tile's extracted netlist, its NMOS sources re-wired onto
each rail, at the five corners at 125 °C, on the tuning sample (it chooses, so it never
runs on the held-out or sealed samples), against the nominal model; the chosen rail is the
one whose worst corner agrees best, and the bench records it.

Usage: ``python benchmarks/bench_hot_rail.py [--n 4] [--rails 0 0.3 0.45 0.6]
[--workers W]`` (0: the sources on ground, the run the rails are judged against). Prints a
row per rail and writes ``benchmarks/results/hot_rail.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import provenance

from bmru_pdk.analyses import compare, simulation
from bmru_pdk.analyses.agreement import HELD_TO
from bmru_pdk.analyses.testbench import Condition
from bmru_pdk.executor import make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, samples
from bmru_pdk.spice import CORNERS

RESULTS = Path(__file__).parent / "results"
HOT = 125.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="tuning-sample utterances per point")
    parser.add_argument("--rails", type=float, nargs="+", default=[0.0, 0.3, 0.45, 0.6],
                        help="rail voltages to try, V (0: the sources on ground)")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    args = parser.parse_args()
    checkpoint = bundled_checkpoint()
    utterances = samples.load_utterances(checkpoint, None, args.n, sample="tuning")
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, make_executor(None, args.workers) as ex:
        build, extracted, _ = simulation.extracted_tile(checkpoint, Path(tmp) / "tile")
        for rail in args.rails:
            row = {"rail_v": rail, "corners": {}}
            for corner in CORNERS:
                c = Condition(corner, HOT, rail_v=rail)
                out = Path(tmp) / f"{corner}{rail:g}"
                out.mkdir()
                f = compare.compare_tile(build, extracted, utterances, out, executor=ex,
                                         sample="tuning", condition=c)
                row["corners"][corner] = {
                    "state_agreement_per_layer": f[HELD_TO]["state_agreement_per_layer"],
                    "decisions_agreeing": f[HELD_TO]["decisions_agreeing"],
                    "power_nw": f["power_nw"]["mean"], "failed": len(f["failed"])}
            row["worst_layer"] = min(min(r["state_agreement_per_layer"])
                                     for r in row["corners"].values())
            rows.append(row)
            print(f"rail {rail:g} V: " + ", ".join(
                f"{k} {'/'.join(f'{a:.1%}' for a in r['state_agreement_per_layer'])}"
                for k, r in row["corners"].items()) + f"; worst {row['worst_layer']:.1%}",
                flush=True)
    chosen = max(rows, key=lambda r: r["worst_layer"])["rail_v"]
    result = {"command": provenance.command(), **provenance.checkpoint(checkpoint),
              **simulation.build_record(build), "sample": "tuning", "utterances": args.n,
              "temp_c": HOT, "rails": rows, "chosen_rail_v": chosen,
              "seconds": round(time.perf_counter() - start, 1)}
    write_text(RESULTS / "hot_rail.json", json.dumps(result, indent=1) + "\n")
    print(f"chosen rail at {HOT:g} °C: {chosen:g} V; {result['seconds']} s; wrote "
          f"{RESULTS / 'hot_rail.json'}")


if __name__ == "__main__":
    main()
