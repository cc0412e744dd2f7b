"""Which elements' drift costs the nominal model its agreement at each PVT condition.

The PVT bench finds the tile far from its nominal model (the values the drawing realises at
typical 27 °C) at the cold and the hot fast conditions, while the condition's twin (the
values the same drawing realises there) stays close to it. This bench splits that gap by
element, in the model alone: at each condition the model runs the nominal values with one
group of elements moved to the values they realise at the condition, and again with every
element moved but that group's, each held against the nominal model. The first says what
a group's drift costs by itself, the second what holding that group alone would win back.

Groups, each element of the mapping in one group of each cut:

- by function: weights, biases, the cell's values (beta_lo, delta, alpha), the readout;
- by the output's polarity: PMOS outputs (positive weights and biases: the PMOS path) and
  NMOS outputs (negative ones, and the cell's mirrors);
- by drawing: ratios drawn with a series stack of unit gates, and ratios drawn from whole
  unit gates only (docs/corners.md, "Sub-unit ratios: stacks against a wider diode").

The tables are characterised at each condition on ground (no source rail), as the tile is
drawn by default, or with ``--rail-generator`` on the NMOS source rail the tile's drawn
generator holds there (as ``make run`` draws the tile); nothing is simulated in ngspice
beyond them. The tile follows its
condition's twin to within the PVT bench's twin figure, so the gap measured here is the tile's
nominal gap less that. Runs on the tuning sample: it informs what the circuit changes next.

With ``--checkpoint`` another network, with ``--tables`` mapped with those tables (a grid of
D-gate diodes: ``bmru characterize --diode-gates D``; each condition's tables are made on the
same grid), written to ``--out``. With ``--realise-with DIR`` the network is drawn as its own
tables draw it, and that drawing is realised with the tables in DIR, at typical 27 °C (the
reference) and at each condition (made on DIR's unit): what the same ratios realise in
another circuit (``bmru characterize --cascodes``), before a network is trained for it.

Usage: ``python benchmarks/bench_drift_attribution.py [--n 100] [--checkpoint CKPT]
[--tables DIR] [--realise-with DIR] [--rail-generator] [--out NAME.json]``. Prints a line per
condition and writes ``benchmarks/results/drift_attribution.json``. About 20 s of
characterisation per condition.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import provenance
import torch
from bench_corners import CONDITIONS

from bmru_pdk.analyses import compare, simulation
from bmru_pdk.analyses.testbench import generated_rail
from bmru_pdk.circuits import design, names
from bmru_pdk.circuits.mapping import load_tables, tables_for
from bmru_pdk.circuits.model import PFET, Device
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, samples
from bmru_pdk.model.checkpoint import open_checkpoint
from bmru_pdk.model.samples import Utterance

RESULTS = Path(__file__).parent / "results"
SAMPLE = "tuning"

Row = dict
Group = Callable[[Row, Device], bool]  # (mapping row, its element's device) -> in the group


def _tensor(row: Row) -> str:
    return names.parse_parameter(row["parameter"]).tensor


def _is_readout(row: Row) -> bool:
    return names.parse_parameter(row["parameter"]).layer is None


GROUPS: dict[str, Group] = {
    "weights": lambda r, _: _tensor(r) == "W" and not _is_readout(r),
    "biases": lambda r, _: _tensor(r) == "b" and not _is_readout(r),
    "cell values": lambda r, _: _tensor(r) in ("beta1", "delta", "alpha"),
    "readout": lambda r, _: _is_readout(r),
    "PMOS outputs": lambda _, d: d.kind == PFET,
    "NMOS outputs": lambda _, d: d.kind != PFET,
    "series stacks": lambda _, d: bool(d.stacks),
    "whole gates only": lambda _, d: not d.stacks,
}


def selected(nominal: list[Row], devices: dict[str, Device], take: Group) -> tuple[bool, ...]:
    """Which drawn rows of ``nominal`` ``take`` selects."""
    return tuple(r["element"] != "-" and take(r, devices[r["element"]]) for r in nominal)


def mixed(nominal: list[Row], moved: list[Row], which: tuple[bool, ...]) -> list[Row]:
    """``nominal`` with the rows ``which`` marks replaced by their ``moved`` values."""
    return [m if w else r for r, m, w in zip(nominal, moved, which, strict=True)]


def runs(model, rows: list[Row], utterances: list[Utterance]  # noqa: ANN001 (torch lazy)
         ) -> list[tuple[list[np.ndarray], int]]:
    """Each utterance's states per layer and decision under the realised ``rows``."""
    with torch.no_grad():
        params = simulation.realised_parameters(model, rows)
    out = []
    for u in utterances:
        states, scores = simulation.model_utterance(model, params, u.x_na)
        out.append((states, simulation.majority_vote(scores)))
    return out


def agreement(got: list[tuple[list[np.ndarray], int]], ref: list[tuple[list[np.ndarray], int]]
              ) -> dict:
    """State agreement per layer (mean over utterances) and the share of decisions that
    agree, of ``got`` against ``ref``."""
    layers = len(ref[0][0])
    return {"state_agreement": [round(float(np.mean([(g[0][k] == r[0][k]).mean()
                                                     for g, r in zip(got, ref, strict=True)])), 5)
                                for k in range(layers)],
            "decisions_agree": round(float(np.mean([g[1] == r[1]
                                                    for g, r in zip(got, ref, strict=True)])), 5)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100, help="utterances of the tuning sample")
    provenance.network_options(parser)
    parser.add_argument("--realise-with", type=Path, default=None,
                        help="realise the network's drawing with these tables (another "
                             "circuit's), at typical 27 °C and at each condition")
    parser.add_argument("--rail-generator", action="store_true",
                        help="make each condition's tables on the rail the tile's drawn "
                             "generator holds there")
    parser.add_argument("--out", type=provenance.results_name, default="drift_attribution.json",
                        help="results file name (in benchmarks/results)")
    args = parser.parse_args()
    start = time.perf_counter()
    path = args.checkpoint or bundled_checkpoint()
    checkpoint = open_checkpoint(path)
    model = checkpoint.model()
    utterances = samples.load_utterances(checkpoint, None, args.n, sample=SAMPLE)
    drawn_with = tables_for(checkpoint.meta.realisability, provenance.tables(args))
    tile = design.design(checkpoint, drawn_with)
    params = checkpoint.circuit_parameters()
    devices = {d.name: d for d in tile.circuit.flat_devices()}
    # with --realise-with, the same drawing in another circuit: its own nominal values
    tables = load_tables(args.realise_with) if args.realise_with else drawn_with
    nominal = [asdict(m) for m in (design.realise(tile, params, tables) if args.realise_with
                                   else tile.mapping)]
    reference = runs(model, nominal, utterances)
    drawn = tuple(r["element"] != "-" for r in nominal)
    rows = []
    for base in CONDITIONS:
        c = generated_rail(base.corner, base.temp_c, base.vdd_v) if args.rail_generator else base
        try:  # a condition whose tables cannot be made there is left without figures
            there = compare.condition_tables(tables, c)
        except BmruError as exc:
            rows.append({"condition": base.name, "error": str(exc)})
            print(f"{c.name:>18}: {exc}", flush=True)
            continue
        if there is None:  # typical 27 °C 1.8 V: the nominal itself
            continue
        moved = [asdict(m) for m in design.realise(tile, params, there)]
        row = {"condition": base.name, "rail_v": c.rail_v,
               "all": agreement(runs(model, moved, utterances), reference),
               "only": {}, "all_but": {}}
        # a group's complement within a two-way cut is the other group: each set runs once
        done: dict[tuple[bool, ...], dict] = {}
        for name, group in GROUPS.items():
            which = selected(nominal, devices, group)
            others = tuple(d and not w for d, w in zip(drawn, which, strict=True))
            for key, sel in (("only", which), ("all_but", others)):
                if sel not in done:
                    done[sel] = agreement(runs(model, mixed(nominal, moved, sel), utterances),
                                          reference)
                row[key][name] = done[sel]
        rows.append(row)
        worst = min(row["only"], key=lambda g: min(row["only"][g]["state_agreement"]))
        print(f"{c.name:>18}: all moved {row['all']['state_agreement']}, costliest alone "
              f"{worst} {row['only'][worst]['state_agreement']}", flush=True)
    result = {"command": provenance.command(), **provenance.checkpoint(path),
              "sample": SAMPLE, "utterances": args.n, "i_unit_na": tables.i_unit_na,
              "diode_gates": tables.unit.diode_gates, "cascodes": tables.unit.cascodes,
              "rail_generator": args.rail_generator,
              "groups": list(GROUPS),
              "elements": {name: sum(selected(nominal, devices, group))
                           for name, group in GROUPS.items()},
              "seconds": round(time.perf_counter() - start, 1),
              "conditions": rows}
    write_text(RESULTS / args.out, json.dumps(result, indent=1) + "\n")
    print(f"{result['seconds']} s; wrote {RESULTS / args.out}")


if __name__ == "__main__":
    main()
