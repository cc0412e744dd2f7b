"""The cell's switching currents as a ramp reads them and as a frame-stepped input meets them.

The characterisation tables read a cell's thresholds on a slow triangle (``RAMP_MS``). A
cell switches in a time set by its overdrive (its decision node's charge over the current
past the threshold: milliseconds at 0.2 nA per unit), and a ramp travels on while it does,
so the faster the ramp, the wider the hysteresis it reads. The tile's inputs step once a
frame and hold. For every cell of the cell table's grid, drawn from the unit of the
package's tables of ``--grid`` (default: the 4-gate diodes with the drain-matching
cascodes), this measures the switching currents on the tables' ramp and as met within one
frame after a step (``characterize.frame_thresholds``); and for one cell (r_thresh 1.25,
r_width 0.25: the threshold drawing of most of the cascoded tile's cells) on ramps ten times
slower and faster, which converge on the static thresholds.

Usage: ``python benchmarks/bench_cell_thresholds.py [--grid 0|1|2]``. Writes
``benchmarks/results/cell_thresholds.json``. About a minute on one core.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import provenance

from bmru_pdk.circuits import CellParams, bmru_cell, mapping
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.fileio import write_text

RESULTS = Path(__file__).resolve().parent / "results"
RAMPS_MS = (51.2, ch.RAMP_MS, 5120.0, 51200.0)
ONE_CELL = (1.25, 0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", type=int, default=2,
                        help="package tables: 0 one-gate, 1 4-gate, 2 4-gate with cascodes, "
                             "3 with the cells' keepers too")
    args = parser.parse_args()
    start = time.perf_counter()
    tables = mapping.load_tables(mapping.GRID_DIRS[args.grid])
    unit, grid = tables.unit, tables.cell
    cells = []
    for r_thresh, widths in zip(grid.r_thresh, grid.r_width, strict=True):
        for r_width in widths:
            cell = bmru_cell(CellParams(r_thresh=r_thresh, r_width=r_width, r_gain=1.0,
                                        unit=unit))
            ramp = ch.measure_cell(cell, 2 * r_thresh, unit=unit)
            met = None if ramp is None else ch.frame_thresholds(cell, ramp, unit=unit)
            if ramp is None or met is None:
                continue
            cells.append({"r_thresh": r_thresh, "r_width": r_width,
                          "ramp": [round(ramp.beta_hi, 5), round(ramp.beta_lo, 5)],
                          "frame": [round(met[0], 5), round(met[1], 5)]})
            print(f"r_thresh {r_thresh:g} r_width {r_width:g}: ramp {ramp.beta_hi:.4f} / "
                  f"{ramp.beta_lo:.4f}, in a frame {met[0]:.4f} / {met[1]:.4f} nA")
    cell = bmru_cell(CellParams(r_thresh=ONE_CELL[0], r_width=ONE_CELL[1], r_gain=1.0,
                                unit=unit))
    rates = []
    for ramp_ms in RAMPS_MS:
        p = ch.measure_cell(cell, 2 * ONE_CELL[0], ramp_ms, unit=unit)
        assert p is not None, f"the cell showed no clean loop on a {ramp_ms:g} ms ramp"
        rates.append({"ramp_ms": ramp_ms, "beta_hi": round(p.beta_hi, 5),
                      "beta_lo": round(p.beta_lo, 5)})
        print(f"{ramp_ms:g} ms ramp: {p.beta_hi:.4f} / {p.beta_lo:.4f} nA")
    figures = {"command": provenance.command(), "grid": args.grid,
               "unit": unit.model_dump(), "frame_ms": ch.FRAME_MS, "ramp_ms": ch.RAMP_MS,
               "cells": cells, "one_cell": list(ONE_CELL), "ramps": rates,
               "seconds": round(time.perf_counter() - start, 1)}
    write_text(RESULTS / "cell_thresholds.json", json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
