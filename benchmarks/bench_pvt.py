"""PVT of the bundled checkpoint's extracted tile: state agreement, decisions and power at the
five process corners x -40 / 27 / 125 °C, and VDD 1.62 / 1.98 V at typical 27 °C (17
conditions), on the sealed sample.

At each condition the tile is held to two models: the nominal one (the values the drawing
realises at typical 27 °C, the model a designer is given) and the condition's twin (the
values the same drawing realises at that condition, from tables characterised there, about
20 s per condition). The checkpoint's own values stand beside them.

With ``--source-rail V`` every condition runs with the NMOS sources on a rail V above the
substrate (docs/corners.md, "Leakage remedies"), and the nominal model is the values the
drawing realises on that rail at typical 27 °C 1.8 V. With ``--hot-rail V`` the rail follows
temperature: on ground up to 27 °C, rising linearly to V at 125 °C, and the nominal model
stays the tile's own. Either way the run is the default tile's extracted netlist with its
NMOS sources re-wired, or with ``--draw-rail`` the tile drawn with the rail (pin ``vsn``, held
at the condition's rail), and each twin's tables are made on the condition's rail. With
``--draw-rail --rail-generator`` the drawn rail is held by the rail generator
(docs/corners.md, "The rail generator"): the nominal model stays the tile's own and each
twin's tables are made on the generator's DC rail there.

With ``--checkpoint`` and ``--tables`` another network mapped with other tables (a grid of
D-gate diodes: ``bmru characterize --diode-gates D``; each twin's tables are made on that
grid), written to ``--out``. With ``--model-tables`` the same drawing is held to models of
the values it realises under other tables of its cells (the thresholds read as the tile
meets them, ``bmru characterize --frame-thresholds``), each twin's characterised the same
way.

Usage: ``python benchmarks/bench_pvt.py [--n 10] [--pex] [--source-rail V | --hot-rail V |
--rail-generator] [--draw-rail] [--temp T] [--workers W] [--checkpoint CKPT] [--tables DIR]
[--model-tables DIR] [--out NAME]`` (``--temp``: only the conditions at T °C). Prints one
table and writes ``benchmarks/results/pvt.json``
(``pvt_pex.json`` with ``--pex``; ``..._rail`` / ``..._hotrail`` / ``..._generator`` with a
rail, which the file records, ``..._drawn`` with a drawn one, ``..._<T>C`` with ``--temp``)
and a heat map beside it. 17 x n simulations.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import provenance
from bench_corners import CONDITIONS

from bmru_pdk.analyses import compare, simulation
from bmru_pdk.analyses.agreement import CONDITION_TWIN, HELD_TO
from bmru_pdk.analyses.testbench import FRAME_S, Condition, generated_rail, hot_rail
from bmru_pdk.circuits import RailGeneratorParams
from bmru_pdk.circuits.mapping import load_tables
from bmru_pdk.errors import BmruError
from bmru_pdk.executor import make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, samples

RESULTS = Path(__file__).parent / "results"


def _agreement(r: dict) -> dict:
    return {"state_agreement_per_layer": r["state_agreement_per_layer"],
            "state_ci95_per_layer": r["ci95"]["state_agreement_per_layer"],
            "decisions_agreeing": r["decisions_agreeing"],
            "decision_ci95": r["ci95"]["decision_agreement"],
            "model_accuracy": r["model_accuracy"]}


def _row(c: Condition, f: dict, twin_error: str | None) -> dict:
    # the simulator's own words for the first failure, if any
    why = f["failed"][0]["error"] if f["failed"] else None
    if not f["utterances"]:
        return {"condition": c.name, "failed": len(f["failed"]), "first_failure": why}
    # at the nominal condition the twin is the nominal model itself
    twin = None if twin_error else f.get(CONDITION_TWIN, f[HELD_TO])
    return {"condition": c.name, "corner": c.corner, "temp_c": c.temp_c, "vdd_v": c.vdd_v,
            "rail_v": c.rail_v,
            "utterances": f["utterances"], "nominal": _agreement(f[HELD_TO]),
            "twin": twin and _agreement(twin), "twin_error": twin_error,
            "checkpoint_values": _agreement(f["ideal"]),
            "hardware_accuracy": f["hardware_accuracy"],
            "baseline_accuracy": f["baseline_accuracy"], "power_nw": f["power_nw"],
            # the drawn rail as measured in the run (its generator's, or the source's)
            "rail_v_measured": f.get("rail_v"),
            "failed": len(f["failed"]), "first_failure": why}


def plot(rows: list[dict], path: Path) -> None:
    """Heat map: conditions down, state agreement per layer / decisions / power across."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in rows if "power_nw" in r]
    no_twin = {"state_agreement_per_layer": [np.nan, np.nan]}
    cols = ["layer 0 bits", "layer 1 bits", "decisions", "twin: layer 0", "twin: layer 1"]
    data = np.array([[*r["nominal"]["state_agreement_per_layer"][:2],
                      r["nominal"]["decisions_agreeing"] / r["utterances"],
                      *(r["twin"] or no_twin)["state_agreement_per_layer"][:2]]
                     for r in ok]) * 100
    power = np.array([[r["power_nw"]["mean"]] for r in ok])
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 0.32 * len(ok) + 1.5),
                               gridspec_kw={"width_ratios": [3, 1]})
    im = a.imshow(data, cmap="RdYlGn", vmin=90, vmax=100, aspect="auto")
    for (i, j), v in np.ndenumerate(data):
        a.text(j, i, "-" if np.isnan(v) else f"{v:.1f}", ha="center", va="center", fontsize=7)
    a.set_xticks(range(len(cols)), cols, fontsize=7)
    a.set_yticks(range(len(ok)), [r["condition"] for r in ok], fontsize=7)
    fig.colorbar(im, ax=a, label="agreement with the model, %")
    b.imshow(power, cmap="viridis", aspect="auto")
    for i, v in enumerate(power[:, 0]):
        b.text(0, i, f"{v:.0f}", ha="center", va="center", fontsize=7, color="w")
    b.set_xticks([0], ["power, nW"], fontsize=8)
    b.set_yticks([])
    fig.suptitle("bundled d = 4 tile across PVT: against the nominal model and the "
                 "condition's twin", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="utterances per condition")
    parser.add_argument("--sample", default=samples.HEADLINE, choices=sorted(samples.SAMPLES),
                        help=f"the headline figures come from {samples.HEADLINE}")
    parser.add_argument("--pex", action="store_true", help="with extracted parasitics")
    rail = parser.add_mutually_exclusive_group()
    rail.add_argument("--source-rail", type=float, default=0.0, metavar="V",
                      help="NMOS sources on a rail V above the substrate (a re-wired netlist)")
    rail.add_argument("--hot-rail", type=float, default=0.0, metavar="V",
                      help="the rail on ground up to 27 °C, rising linearly to V at 125 °C")
    rail.add_argument("--rail-generator", action="store_true",
                      help="the drawn rail held by the rail generator drawn in the tile "
                           "(needs --draw-rail)")
    parser.add_argument("--draw-rail", action="store_true",
                        help="the tile drawn with the rail (pin vsn), not re-wired")
    parser.add_argument("--temp", type=float, default=None,
                        help="only the conditions at this temperature, °C")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    provenance.network_options(parser)
    parser.add_argument("--model-tables", default=None,
                        help="models of the values the drawing realises under these tables "
                             "(the cells' thresholds read in frames: bmru characterize "
                             "--frame-thresholds); each twin's are characterised as they were")
    parser.add_argument("--out", type=provenance.results_name, default=None,
                        help="results file name without extension (default from the options)")
    args = parser.parse_args()
    if args.rail_generator and not args.draw_rail:
        parser.error("--rail-generator holds the drawn rail: add --draw-rail")
    conditions = [
        generated_rail(c.corner, c.temp_c, c.vdd_v) if args.rail_generator else
        dataclasses.replace(c, rail_v=args.source_rail or hot_rail(c.temp_c, args.hot_rail),
                            rail_follows_temp=bool(args.hot_rail))
        for c in CONDITIONS if args.temp is None or c.temp_c == args.temp]
    checkpoint = args.checkpoint or bundled_checkpoint()
    tables = load_tables(args.tables) if args.tables else None
    utterances = samples.load_utterances(checkpoint, None, args.n, sample=args.sample)
    rows, start = [], time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, make_executor(None, args.workers) as ex:
        build, extracted, _ = simulation.extracted_tile(
            checkpoint, Path(tmp) / "tile", tables=tables, source_rail=args.draw_rail,
            rail_generator=RailGeneratorParams() if args.rail_generator else None)
        parasitics = None
        if args.pex:
            from bmru_pdk.verification import pex

            parasitics = pex.extract_pex(build.outdir / "tile.gds")
        # every condition shares its nominal (a fixed rail's, or ground for one that follows)
        base = load_tables(args.model_tables) if args.model_tables else build.tables
        nominal = compare.nominal_tables(base, conditions[0])
        for k, c in enumerate(conditions):
            out = Path(tmp) / f"c{k}"
            out.mkdir()
            try:  # tables whose benches fail at this condition leave it without a twin
                tables, twin_error = compare.condition_tables(base, c), None
            except BmruError as exc:
                tables, twin_error = None, str(exc)
            f = compare.compare_tile(build, extracted, utterances, out,
                                     executor=ex, sample=args.sample, condition=c,
                                     pex=parasitics, condition_tables=tables,
                                     nominal_tables=nominal)
            rows.append(_row(c, f, twin_error))
            r = rows[-1]
            if "power_nw" in r:
                bits = ", ".join(f"{a:.1%}" for a in r["nominal"]["state_agreement_per_layer"])
                twin = twin_error or ", ".join(
                    f"{a:.1%}" for a in r["twin"]["state_agreement_per_layer"])
                print(f"{c.name:>20}: bits {bits} (twin {twin}), decisions "
                      f"{r['nominal']['decisions_agreeing']}/{r['utterances']}, "
                      f"power {r['power_nw']['mean']:.0f} nW, failed {r['failed']}", flush=True)
            else:
                print(f"{c.name:>20}: every simulation failed: {r['first_failure']}", flush=True)
    result = {"command": provenance.command(), **provenance.checkpoint(checkpoint),
              "tile": build.name, "transistors": build.devices,
              "i_unit_na": build.tables.i_unit_na, "diode_gates": build.tables.unit.diode_gates,
              "cascodes": build.tables.unit.cascodes,
              "keepers": build.tables.unit.keepers, "frame_s": FRAME_S,
              # the models' cell thresholds: read within a frame of this many ms, or on the
              # ramp (None; files before this was recorded: on the ramp)
              "model_frame_ms": base.frame_ms,
              "utterances": args.n, "sample": args.sample, "pex": args.pex,
              "source_rail_v": args.source_rail, "hot_rail_v": args.hot_rail,
              "drawn_rail": args.draw_rail, "rail_generator": args.rail_generator,
              # drawn in the tile, its set current on pin iset (earlier files: its schematic
              # beside the tile)
              "generator_drawn": args.rail_generator,
              "temp_c": args.temp,
              "seconds": round(time.perf_counter() - start, 1), "conditions": rows}
    name = ("pvt_pex" if args.pex else "pvt") + (
        "_rail" if args.source_rail else "") + ("_hotrail" if args.hot_rail else "") + (
        "_generator" if args.rail_generator else "") + (
        "_drawn" if args.draw_rail else "") + (
        "" if args.temp is None else f"_{args.temp:g}C")
    name = args.out or name
    write_text(RESULTS / f"{name}.json", json.dumps(result, indent=1) + "\n")
    plot(rows, RESULTS / f"{name}.png")
    print(f"{result['seconds']} s; wrote {RESULTS / name}.json and {name}.png")


if __name__ == "__main__":
    main()
