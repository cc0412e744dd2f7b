"""Where a tile's area goes: for the bundled d = 4 network, the d = 4 network drawn with the
drain-matching cascodes and the dense networks ``bench_tile.py`` measures, each with its
units in one row and in two (``unit_rows``), the tile's size and the share of it inside its
weight arrays, inside its units, between its cells (routing channels, row ends) and in the
margins round them (west: the spine, the pin columns and the power rings; the other sides:
pin columns and rings), and the area per transistor of the arrays and of the units alone;
and the build's own peak memory. Each tile is built in a fresh interpreter (build only: no
DRC, LVS or files).

Run: ``.venv/bin/python benchmarks/bench_floorplan.py [--d 16,64,128,256] [--unit-rows 1,2]``
-> ``benchmarks/results/floorplan.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import provenance
from bench_tile import DENSE_D, MAX_DEVICES, dense
from memory import own_peak_mb

from bmru_pdk.fileio import write_text
from bmru_pdk.model.bundled import bundled_checkpoint

RESULTS = Path(__file__).resolve().parent / "results" / "floorplan.json"
# a network trained on the cascoded 4-gate tables' levels: drawn with the cascodes
CASCODED = Path(__file__).resolve().parent / "checkpoints" / "kws_yes_d4_l2_4gate_cc.safetensors"
# a part's kind by its name in the tile (bmru_pdk.circuits.names): w<layer> / wo arrays,
# u<layer>_<k> units, bias the bias generator
KINDS = {"w": "arrays", "u": "units", "b": "bias"}


def breakdown(ckpt: Path, unit_rows: int) -> dict:
    """Build the tile of ``ckpt`` with its units in ``unit_rows`` rows and measure its areas
    (run in a fresh process)."""
    import bmru_pdk
    from bmru_pdk.layouts.tile import build_tile
    from bmru_pdk.model.checkpoint import open_checkpoint

    bmru_pdk.PDK.activate()  # a spawned process starts without the active PDK
    build = build_tile(open_checkpoint(ckpt), max_devices=MAX_DEVICES, unit_rows=unit_rows)
    transistors = {part.name: sum(d.transistors for d in part.circuit.flat_devices())
                   for row in build.design.rows for part in row}
    area: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    cells = None
    for inst in build.component.insts:
        if inst.name not in transistors:  # the router's vias
            continue
        kind = KINDS[inst.name[0]]
        box = inst.dbbox()
        area[kind] += box.width() * box.height()
        count[kind] += transistors[inst.name]
        cells = box if cells is None else cells + box
    x0, y0, width, height = build.boundary
    tile = width * height
    inside = cells.width() * cells.height()
    west = (cells.left - x0) * height
    share = {kind: round(area[kind] / tile, 4) for kind in ("arrays", "units", "bias")}
    return {"unit_rows": unit_rows, "devices": build.devices, "area_um2": build.area_um2,
            "size_um": [round(width, 1), round(height, 1)],
            "aspect": round(height / width, 3),
            "build_peak_mb": round(own_peak_mb()),
            "area_per_transistor_um2": round(tile / build.devices, 1),
            "share": {**share, "between_cells": round((inside - sum(area.values())) / tile, 4),
                      "west_margin": round(west / tile, 4),
                      "other_margins": round((tile - inside - west) / tile, 4)},
            "west_margin_um": round(cells.left - x0, 1),
            "arrays_um2_per_transistor": round(area["arrays"] / count["arrays"], 1),
            "units_um2_per_transistor": round(area["units"] / count["units"], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", default=",".join(map(str, DENSE_D)),
                        help="dense networks' sizes, comma-separated")
    parser.add_argument("--unit-rows", default="1,2",
                        help="rows each unit is drawn in, comma-separated (each tile each way)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as t:
        networks = {"d4_bundled": bundled_checkpoint(), "d4_cascodes": CASCODED}
        for d in (int(d) for d in args.d.split(",")):
            networks[f"d{d}_dense"] = dense(d, Path(t) / f"d{d}.safetensors")
        for name, ckpt in networks.items():
            for unit_rows in (int(k) for k in args.unit_rows.split(",")):
                with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                    rows.append({"name": name,
                                 **pool.submit(breakdown, ckpt, unit_rows).result()})
                print(rows[-1], flush=True)
    result = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
              "networks": "d4: the bundled checkpoint, and the network trained for the "
                          f"drain-matching cascodes ({CASCODED.name}, drawn with them); "
                          "dense: every weight drawn, |w| uniform in 0.3-3, 13 inputs, 2 "
                          "layers, seed 0; none with the NMOS source rail", "tiles": rows}
    write_text(RESULTS, json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
