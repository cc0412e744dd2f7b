"""Device generation, official-deck DRC and KLayout LVS times for transistor arrays.

Usage: ``python benchmarks/bench_devices.py [--sizes 10 100 1000]``. Prints a table and
writes ``benchmarks/results/devices.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import gdsfactory as gf

import bmru_pdk
from bmru_pdk.fileio import write_text
from bmru_pdk.layouts.device_array import array_circuit, device_array
from bmru_pdk.verification import drc, lvs

RESULTS = Path(__file__).parent / "results" / "devices.json"


def generation_time(n: int = 200) -> float:
    """Seconds per device for ``n`` devices of distinct sizes (warm: imports and PDK done)."""
    gf.get_component("nfet", w=1.005, l=0.3)  # warm-up
    start = time.perf_counter()
    for i in range(n):
        kind = "nfet" if i % 2 else "pfet"
        gf.get_component(kind, w=round(0.5 + 0.005 * i, 3), l=0.5, fingers=1 + i % 4)
    return (time.perf_counter() - start) / n


def array_times(count: int, workdir: Path) -> dict[str, float]:
    """Build, DRC and LVS one array of ``count`` transistors."""
    start = time.perf_counter()
    component = device_array(count=count)
    gds = workdir / f"array_{count}.gds"
    component.write_gds(gds, with_metadata=False)
    build = time.perf_counter() - start
    spice = workdir / f"array_{count}.spice"
    spice.write_text(array_circuit(count).to_spice())
    d = drc.run(gds, workdir / f"array_{count}.lyrdb")
    start = time.perf_counter()
    v = lvs.run(gds, spice)
    lvs_s = time.perf_counter() - start
    if not (d.clean and v.match):
        raise SystemExit(f"array of {count}: DRC {d.counts}, LVS {v.summary()}")
    box = component.dbbox()
    return {"transistors": count, "build_s": round(build, 3), "drc_s": round(d.runtime_s, 2),
            "lvs_s": round(lvs_s, 3), "area_um2": round(box.width() * box.height(), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 100, 1000])
    args = parser.parse_args()
    bmru_pdk.PDK.activate()
    per_device = generation_time()
    print(f"device generation (warm): {per_device * 1000:.1f} ms per device")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            rows.append(array_times(n, Path(tmp)))
            r = rows[-1]
            print(f"{n:5d} transistors: build {r['build_s']:.2f} s, DRC {r['drc_s']:.1f} s, "
                  f"LVS {r['lvs_s']:.2f} s, area {r['area_um2']:.0f} µm²")
    write_text(RESULTS, json.dumps({
        "command": "python benchmarks/bench_devices.py",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "generation_s_per_device": round(per_device, 4),
        "arrays": rows,
    }, indent=2) + "\n")
    print(f"written {RESULTS}")


if __name__ == "__main__":
    main()
