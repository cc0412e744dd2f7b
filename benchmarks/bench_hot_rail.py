"""Choosing the NMOS source rail at 125 °C on the tuning sample (docs/corners.md).

The rail remedy of the hot leakage puts every NMOS mirror device's source on a rail above
the substrate. At 125 °C it cuts the leakage and also shifts the mirrors (the body effect,
and less drain voltage for the PMOS outputs), so the rail that keeps the tile closest to
its nominal model (the tile's own values, made at typical 27 °C on ground) is a choice.
This bench makes it: the bundled tile's extracted netlist, its NMOS sources re-wired onto
each rail, at the five corners at 125 °C, on the tuning sample (it chooses, so it never
runs on the held-out or sealed samples), against the nominal model; the chosen rail is the
one whose worst corner agrees best, and the bench records it.

With ``--generator`` the tile is drawn with the rail (pin ``vsn``) and the rail is held by
``circuits.rail_generator`` (docs/corners.md, "The rail generator"), then, beside it, by an
ideal source at the generator's own DC rail at each corner (under the tile's mean NMOS
current): the difference is what the generator's dynamics cost, since both hold the same
DC rail.

Usage: ``python benchmarks/bench_hot_rail.py [--n 4] [--rails 0 0.3 0.45 0.6]
[--generator] [--workers W]`` (0: the sources on ground, the run the rails are judged
against). Prints a row per rail and writes ``benchmarks/results/hot_rail.json``
(``hot_rail_generator.json`` with ``--generator``).
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
from bmru_pdk.analyses.testbench import Condition, generated_rail
from bmru_pdk.circuits import RailGeneratorParams, rail_bench
from bmru_pdk.executor import Executor, make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, samples
from bmru_pdk.spice import CORNERS

RESULTS = Path(__file__).parent / "results"
HOT = 125.0


def screen(build, extracted, utterances: list, conditions: dict[str, Condition],  # noqa: ANN001
           tmp: Path, ex: Executor, tag: str) -> dict:
    """Agreement with the tile's own model at each corner's condition."""
    corners = {}
    for corner, c in conditions.items():
        out = Path(tmp) / f"{corner}{tag}"
        out.mkdir()
        f = compare.compare_tile(build, extracted, utterances, out, executor=ex,
                                 sample="tuning", condition=c)
        corners[corner] = {
            "state_agreement_per_layer": f[HELD_TO]["state_agreement_per_layer"],
            "decisions_agreeing": f[HELD_TO]["decisions_agreeing"],
            "power_nw": f["power_nw"]["mean"], "failed": len(f["failed"]),
            "rail_v": c.rail_v, "rail_v_measured": f.get("rail_v")}
    return {"corners": corners, "worst_layer": min(min(r["state_agreement_per_layer"])
                                                   for r in corners.values())}


def report(name: str, row: dict) -> None:
    print(f"{name}: " + ", ".join(
        f"{k} {'/'.join(f'{a:.1%}' for a in r['state_agreement_per_layer'])}"
        for k, r in row["corners"].items()) + f"; worst {row['worst_layer']:.1%}", flush=True)


def generator_rows(build, extracted, utterances: list, tmp: Path,  # noqa: ANN001
                   ex: Executor) -> list[dict]:
    """The drawn rail held by the generator, and by an ideal source at the generator's DC
    rail (``testbench.generated_rail``): what the generator's dynamics cost."""
    generated = {k: generated_rail(k, HOT) for k in CORNERS}
    rows = []
    for name, conditions in (
            ("generator", generated),
            ("ideal source at the generator's DC rail",
             {k: Condition(k, HOT, rail_v=c.rail_v, rail_follows_temp=True)
              for k, c in generated.items()})):
        row = {"rail": name, **screen(build, extracted, utterances, conditions, tmp, ex,
                                      name[:5])}
        report(name, row)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4, help="tuning-sample utterances per point")
    parser.add_argument("--rails", type=float, nargs="+", default=[0.0, 0.3, 0.45, 0.6],
                        help="rail voltages to try, V (0: the sources on ground)")
    parser.add_argument("--generator", action="store_true",
                        help="instead: the tile drawn with the rail, held by the rail "
                             "generator and by an ideal source at its DC rail "
                             "(hot_rail_generator.json)")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    args = parser.parse_args()
    checkpoint = bundled_checkpoint()
    utterances = samples.load_utterances(checkpoint, None, args.n, sample="tuning")
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, make_executor(None, args.workers) as ex:
        build, extracted, _ = simulation.extracted_tile(
            checkpoint, Path(tmp) / "tile", source_rail=args.generator,
            rail_generator=RailGeneratorParams() if args.generator else None)
        if args.generator:
            rows = generator_rows(build, extracted, utterances, Path(tmp), ex)
        for rail in [] if args.generator else args.rails:
            row = {"rail_v": rail, **screen(
                build, extracted, utterances,
                {k: Condition(k, HOT, rail_v=rail) for k in CORNERS}, Path(tmp), ex, f"{rail:g}")}
            report(f"rail {rail:g} V", row)
            rows.append(row)
    result = {"command": provenance.command(), **provenance.checkpoint(checkpoint),
              **simulation.build_record(build), "sample": "tuning", "utterances": args.n,
              "temp_c": HOT, "rails": rows, "seconds": round(time.perf_counter() - start, 1)}
    if args.generator:
        result["generator"] = RailGeneratorParams().model_dump(mode="json")
        result["generator_load_na"] = rail_bench.TILE_LOAD_NA
        result["generator_drawn"] = True  # in the tile, its set current on pin iset
        path = RESULTS / "hot_rail_generator.json"
    else:
        result["chosen_rail_v"] = chosen = max(rows, key=lambda r: r["worst_layer"])["rail_v"]
        print(f"chosen rail at {HOT:g} °C: {chosen:g} V")
        path = RESULTS / "hot_rail.json"
    write_text(path, json.dumps(result, indent=1) + "\n")
    print(f"{result['seconds']} s; wrote {path}")


if __name__ == "__main__":
    main()
