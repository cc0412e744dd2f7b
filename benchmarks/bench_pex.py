"""Parasitic extraction figures: KLayout-PEX (2.5D engine, gf180mcuD) on drawn metal1 wires
(coupling per µm against spacing, an isolated wire against the Sakurai-Tamaru plate-plus-
fringe formula) and on tiles: run time, kpex's peak memory, total and per-net capacitance of
the bundled d = 4 tile and of random (or, with ``--dense``, dense: every weight drawn, as
``bench_tile.py`` measures) d = 16, 64 tiles (13 inputs, 2 layers, seed 0), each the way
``extract_pex`` does by default (whole up to 0.5 mm², in windows beyond, ``--workers`` at a
time). The bundled tile is extracted both whole and in windows, and each net's total
capacitance compared. Tile nets are named as in the tile's schematic (tile.spice), by
pairing it with the extracted netlist as LVS does.

Run: ``.venv/bin/python benchmarks/bench_pex.py [--d 4 16 64] [--dense] [--workers 2]``
(needs ``scripts/setup_pex.sh``) -> ``benchmarks/results/pex.json``: this run's tiles only.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import statistics
import tempfile
import time
from pathlib import Path

import klayout.db as kdb
import provenance
from bench_tile import dense

from bmru_pdk.analyses.testbench import cross_reference
from bmru_pdk.errors import BmruError
from bmru_pdk.layouts.tile import tile_files
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import random_checkpoint
from bmru_pdk.verification import pex

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "pex.json"
FF = 1e15
PEX_BUDGET_S = 1800  # a kpex run (the whole tile, or a window) longer than this: not finished
# schematic nets by role (flat names of tile.spice)
ROLES = {
    "summing": r"s\d+_\d+",
    "decision": r"u\d+_\d+\.cell\.v0",
    "candidate": r"u\d+_\d+\.c",
    "unit_output": r"h\d+_\d+",
    "input": r"x\d+",
    "output": r"y\d+",
    "supply": r"vdd|vss|iref",
}


def wires(path: Path, rects: list[tuple[float, ...]]) -> Path:
    """Metal1 wires labelled a, b, ... (µm boxes)."""
    ly = kdb.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("TOP")
    for name, r in zip("abcdefgh", rects, strict=False):
        top.shapes(ly.layer(34, 0)).insert(kdb.DBox(*r))
        top.shapes(ly.layer(34, 10)).insert(kdb.DText(name, r[0] + 0.1, (r[1] + r[3]) / 2))
    ly.write(str(path))
    return path


def sakurai_tamaru_ff(width: float, length: float) -> float:
    """A wire over a ground plane, fF: C/L = eps (1.15 W/H + 2.80 (T/H)^0.222), with the
    metal1 of KPEX's gf180mcuD stack (1.23 µm over the substrate, 0.55 µm thick, k = 4.0)."""
    eps = 4.0 * 8.854e-3  # fF/µm
    return eps * (1.15 * width / 1.23 + 2.80 * (0.55 / 1.23) ** 0.222) * length


def structures(tmp: Path) -> dict:
    """Coupling of two 0.5 µm wires (40 µm) against spacing; isolated 100 µm wires."""
    coupling = {}
    for space in (0.3, 0.5, 1.0, 2.0, 4.0, 8.0, 10.0):
        r = pex.extract_pex(wires(tmp / f"s{space}.gds", [(0, 0, 40, 0.5),
                                                           (0, 0.5 + space, 40, 1 + space)]))
        c_ab = sum(c.farads for c in r.capacitors if {c.a, c.b} == {"a", "b"})
        coupling[f"{space:g}"] = round(c_ab * FF / 40 * 1e3, 2)  # aF/µm
    isolated = []
    for width in (0.5, 1.0, 2.0, 5.0, 10.0):
        r = pex.extract_pex(wires(tmp / f"w{width}.gds", [(0, 0, 100, width)]))
        kpex, formula = r.net_capacitance_f["a"] * FF, sakurai_tamaru_ff(width, 100)
        isolated.append({"width_um": width, "kpex_fF": round(kpex, 3),
                         "sakurai_tamaru_fF": round(formula, 3),
                         "kpex_vs_formula": round(kpex / formula - 1, 3)})
    print(f"coupling (aF/µm) vs spacing (µm): {coupling}")
    for row in isolated:
        print(f"  isolated wire {row}")
    return {"coupling_aF_per_um_by_space_um": coupling, "isolated_wire_100um": isolated}


def schematic_names(devices: str, schematic: str) -> dict[str, str]:
    """Extracted net name -> schematic net name, for the nets the two netlists pair."""
    xref, _flat = cross_reference(devices, schematic)
    return {pair.first().name.lower(): pair.second().name.lower()
            for cp in xref.each_circuit_pair() for pair in xref.each_net_pair(cp)
            if pair.first() is not None and pair.second() is not None}


def stats(values: list[float]) -> dict:
    return {"n": len(values), "min_fF": round(min(values), 3),
            "median_fF": round(statistics.median(values), 3), "max_fF": round(max(values), 3)}


def agreement(whole: pex.PexResult, windowed: pex.PexResult) -> dict:
    """How a windowed extraction's per-net totals compare with the whole one's."""
    nets = [n for n, c in whole.net_capacitance_f.items() if c > 1 * 1e-15]
    rel = [abs(windowed.net_capacitance_f.get(n, 0.0) / whole.net_capacitance_f[n] - 1)
           for n in nets]
    return {"windows": windowed.windows, "whole_pex_s": round(whole.runtime_s, 1),
            "windowed_pex_s": round(windowed.runtime_s, 1), "nets_over_1fF": len(nets),
            "max_rel_diff": round(max(rel), 5), "median_rel_diff": round(statistics.median(rel), 6),
            "total_rel_diff": round(windowed.total_f / whole.total_f - 1, 6)}


def bench(name: str, ckpt: Path, tmp: Path, workers: int) -> dict:
    start = time.perf_counter()
    files = tile_files(ckpt, tmp / name)
    build_s = time.perf_counter() - start
    try:
        result = pex.extract_pex(files.outdir / "tile.gds", timeout=PEX_BUDGET_S,
                                 workers=workers)
        # the largest child so far: the tiles run smallest first, so this one's kpex. An
        # upper bound: a child's ru_maxrss is at least this process's peak when it started
        peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        own_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    except BmruError as exc:  # over budget on this machine
        print(f"{name}: {exc}")
        return {"name": name, "devices": files.devices, "pex_s": None, "error": str(exc)}
    names = schematic_names(result.devices, (files.outdir / "tile.spice").read_text())
    per_net = {names.get(n.lower(), n): c * FF for n, c in result.net_capacitance_f.items()}
    roles = {role: {n: round(c, 3) for n, c in sorted(per_net.items()) if re.fullmatch(rx, n)}
             for role, rx in ROLES.items()}
    largest = sorted(per_net.items(), key=lambda kv: -kv[1])[:5]
    row = {
        "name": name, "devices": files.devices, "build_s": round(build_s, 2),
        "kpex_version": result.kpex_version,
        "pex_s": round(result.runtime_s, 1), "kpex_s": round(result.kpex_s, 1),
        "windows": result.windows, "kpex_runs": result.kpex_runs, "workers": workers,
        "kpex_peak_mb": round(peak_mb), "bench_peak_mb": round(own_mb),
        "capacitors": len(result.capacitors), "nets": len(per_net),
        "total_fF": round(result.total_f * FF, 1),
        "between_nets_fF": round((result.total_f - result.substrate_f) * FF, 1),
        "to_substrate_net_fF": round(result.substrate_f * FF, 1),
        "substrate_net": names.get(result.substrate.lower(), result.substrate),
        "largest_nets_fF": {n: round(c, 1) for n, c in largest},
        "by_role": {role: stats(list(v.values())) for role, v in roles.items() if v},
        "per_net_fF": {role: v for role, v in roles.items() if role != "input"},
        "warnings": result.warnings,
    }
    print(f"{name}: {result.summary()} ({result.windows} windows)")
    for role, s in row["by_role"].items():
        print(f"  {role:12s} {s}")
    if result.windows == 1:  # small enough to check the windows against
        windowed = pex.extract_pex(files.outdir / "tile.gds", timeout=PEX_BUDGET_S,
                                   windows=True, workers=workers)
        row["windowed_vs_whole"] = agreement(result, windowed)
        print(f"  windowed vs whole: {row['windowed_vs_whole']}")
    return row


def main() -> None:
    import bmru_pdk

    bmru_pdk.PDK.activate()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="*", default=[4, 16, 64],
                        help="tiles: 4 is the bundled checkpoint, others random (seed 0)")
    parser.add_argument("--dense", action="store_true",
                        help="the d > 4 tiles dense (every weight drawn), as bench_tile.py")
    parser.add_argument("--workers", type=int, default=2, help="kpex runs at a time")
    args = parser.parse_args()
    tiles = []
    results = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
               "engine": f"KLayout-PEX 2.5D ({pex.PDK})"}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        results["structures"] = structures(tmp)
        for d in sorted(args.d):
            if d == 4:
                name, ckpt = "d4_bundled", bundled_checkpoint()
            elif args.dense:
                name, ckpt = f"d{d}_dense", dense(d, tmp / f"d{d}.safetensors")
            else:
                name = f"d{d}_random"
                ckpt = random_checkpoint(n_in=13, d=d, layers=2, seed=0,
                                         path=tmp / f"d{d}.safetensors")
            tiles.append(bench(name, ckpt, tmp, args.workers))
    results["tiles"] = tiles
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
