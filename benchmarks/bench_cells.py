"""Area, device count and generation time of the circuit cell library's layouts.

Usage: ``python benchmarks/bench_cells.py``. Prints a table and writes
``benchmarks/results/cells.json``. Every layout measured is LVS-checked against its own
schematic first (the DRC sweep of the same generator runs in ``tests/test_cell_library.py``).
"""

from __future__ import annotations

import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path

import gdsfactory as gf

import bmru_pdk
from bmru_pdk.cells import library
from bmru_pdk.circuits import builders
from bmru_pdk.fileio import write_text
from bmru_pdk.verification import lvs

RESULTS = Path(__file__).parent / "results" / "cells.json"
WEIGHT_SIZES = (1, 2, 4, 8)  # d x d weight arrays
SEED = 1


def signed_ratios(d: int, rng: random.Random) -> tuple[tuple[float, ...], ...]:
    """A d x d matrix of drawn ratios, magnitudes 0.25..4 (log-uniform), random signs."""
    return tuple(tuple(round(rng.choice((-1, 1)) * 4 ** rng.uniform(-1, 1), 2)
                       for _ in range(d)) for _ in range(d))


def measure(c_factory: object, circuit: builders.Circuit, workdir: Path) -> dict:
    """Generate (cold cache), LVS and measure one cell."""
    gf.clear_cache()
    start = time.perf_counter()
    c = c_factory()
    seconds = time.perf_counter() - start
    gds = workdir / f"{c.name}.gds"
    c.write_gds(gds, with_metadata=False)
    result = lvs.run(gds, library.schematic(c))
    if not result.match:
        raise SystemExit(result.summary())
    devices = circuit.flat_devices()
    return {"cell": c.name, "devices": len(devices),
            "area_um2": round(c.xsize * c.ysize, 1), "width_um": round(c.xsize, 2),
            "height_um": round(c.ysize, 2),
            "gate_area_um2": round(sum(d.area for d in devices), 1),
            "generate_s": round(seconds, 3), "lvs_match": result.match}


def main() -> None:
    bmru_pdk.PDK.activate()
    rng = random.Random(SEED)
    cell = builders.CellParams(r_thresh=2.0, r_width=0.8, r_gain=1.0)
    cases = {
        "bmru_cell": (library.bmru_cell, builders.bmru_cell(cell)),
        "bmru_unit": (library.bmru_unit, builders.bmru_unit(builders.UnitParams(cell=cell))),
        "relu_node": (library.relu_node, builders.relu_node(builders.ReluParams())),
        "bias_generator": (library.bias_generator, builders.bias_generator(builders.BiasParams())),
        "rail_generator": (library.rail_generator,
                           builders.rail_generator(builders.RailGeneratorParams())),
        "nmirror_1x4": (lambda: library.current_mirror("nfet", (1.0,) * 4),
                        builders.current_mirror(builders.MirrorParams(kind="nfet_03v3",
                                                                      ratios=[1.0] * 4))),
    }
    for d in WEIGHT_SIZES:
        ratios = signed_ratios(d, rng)
        cases[f"weights_{d}x{d}"] = (
            lambda r=ratios: library.weight_array(r),
            builders.weight_array(builders.WeightArrayParams(ratios=[list(r) for r in ratios])))
    with tempfile.TemporaryDirectory() as tmp:
        rows = {name: measure(f, circuit, Path(tmp)) for name, (f, circuit) in cases.items()}
    for d in WEIGHT_SIZES:
        rows[f"weights_{d}x{d}"]["area_per_weight_um2"] = round(
            rows[f"weights_{d}x{d}"]["area_um2"] / d**2, 1)
    print(f"{'cell':16} {'devices':>7} {'area um2':>9} {'w x h um':>15} {'gate um2':>9} "
          f"{'per weight':>10} {'gen s':>6}")
    for name, r in rows.items():
        per = r.get("area_per_weight_um2", "")
        print(f"{name:16} {r['devices']:7d} {r['area_um2']:9.1f} "
              f"{r['width_um']:7.1f} x {r['height_um']:5.1f} {r['gate_area_um2']:9.1f} "
              f"{per:>10} {r['generate_s']:6.3f}")
    write_text(RESULTS, json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "seed": SEED, "cells": rows}, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
