"""The NMOS source rail's generator on its own, at the 17 conditions (issue 25).

``circuits.rail_generator`` (a leakage servo: docs/corners.md, "The rail generator") on
the bench of ``circuits.rail_bench`` (set current and load ideal). Measured at each of
``bench_corners.CONDITIONS``, for each load current:

- the rail's voltage, and the servo's node ``x``, the follower's gate (near ground: the rail
  held at ground; at VDD: the follower open, the rail on the sink as a diode);
- the leakage of one OFF unit NMOS output on the rail (gate and source on ``vsn``, bulk on
  ground, drain held at ``rail_bench.DRAIN_V``, a summing node's voltage): the floor each
  OFF output of the tile leaves, to set against the smallest threshold;
- the generator's own supply current.

And at 125 °C, typical and ff, a step of the load from ``LOADS_NA[1]`` to ``LOADS_NA[2]``
and back: the rail's excursion and how long it takes to come back within ``SETTLED_V``.

GMIN is the project's (``bmru_pdk.spice.GMIN_S``, below the devices' own leakage), as in
every tile simulation; the probe's leakage is reported net of GMIN's current across its
drain junction.

Usage: ``python benchmarks/bench_rail_generator.py``. Prints a row per condition and writes
``benchmarks/results/rail_generator.json``. About a minute on one core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import provenance
from bench_corners import CONDITIONS

from bmru_pdk.analyses.testbench import Condition
from bmru_pdk.circuits import RailGeneratorParams, rail_bench, rail_generator
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import GMIN_S, simulate

RESULTS = Path(__file__).parent / "results"
PARAMS = RailGeneratorParams()
LOADS_NA = (20.0, 40.0, 80.0)  # the tile draws ~40 nA through its NMOS devices at 0.2 nA/unit
STEP_S = (20e-3, 40e-3, 60e-3)  # load up at the first, down at the second, end
EDGE_S = 100e-6  # the tile's input edges (the testbench's: 1 % of a 10 ms frame)
SETTLED_V = 5e-3


def point(c: Condition, load_na: float) -> dict:
    p = rail_bench.operating_point(PARAMS, load_na, c.corner, c.temp_c, c.vdd_v)
    return {"load_na": load_na, "rail_v": round(p.rail_v, 4), "x_v": round(p.x_v, 4),
            "off_unit_leak_pa": round(p.off_unit_leak_pa, 3),
            "supply_na": round(p.supply_na, 4)}


def step(corner: str, temp_c: float) -> dict:
    """The rail through a step of the load up and back down."""
    lo, hi = LOADS_NA[1], LOADS_NA[2]
    up, down, end = STEP_S
    pulse = f"pulse({lo:g}n {hi:g}n {up:g} {EDGE_S:g} {EDGE_S:g} {down - up:g} {2 * end:g})"
    r = simulate(rail_bench.deck(PARAMS, f"dc {lo:g}n {pulse}") + f"\n.tran 0.05m {end:g}",
                 corner=corner, temp_c=temp_c).vectors
    t, v = r["time"], r["vsn"]
    out = {"corner": corner, "temp_c": temp_c, "load_na": [lo, hi]}
    for name, (a, b) in {"up": (up, down), "down": (down, end)}.items():
        rest = np.interp(b - 1e-4, t, v)  # settled value before the next edge
        span = (t >= a) & (t < b)
        dev = np.abs(v[span] - rest)
        late = t[span][dev > SETTLED_V]
        out[name] = {"rail_before_v": round(float(np.interp(a - 1e-4, t, v)), 4),
                     "rail_after_v": round(float(rest), 4),
                     "excursion_v": round(float(dev.max()), 4),
                     "settle_ms": round(float((late.max() - a) * 1e3), 2) if len(late) else 0.0}
    return out


def main() -> None:
    start = time.perf_counter()
    rows = []
    for c in CONDITIONS:
        points = [point(c, i) for i in LOADS_NA]
        rows.append({"condition": c.name, "corner": c.corner, "temp_c": c.temp_c,
                     "vdd_v": c.vdd_v, "points": points})
        print(f"{c.name:20s} " + "  ".join(
            f"{p['load_na']:g} nA: rail {p['rail_v']:.3f} V, x {p['x_v']:.2f} V, "
            f"OFF unit {p['off_unit_leak_pa']:.2f} pA" for p in points), flush=True)
    steps = [step(corner, 125.0) for corner in ("typical", "ff")]
    for s in steps:
        print(f"step {s['corner']} 125C: " + ", ".join(
            f"{k} {s[k]['rail_before_v']:.3f} -> {s[k]['rail_after_v']:.3f} V, excursion "
            f"{s[k]['excursion_v'] * 1e3:.0f} mV, settled in {s[k]['settle_ms']:.1f} ms"
            for k in ("up", "down")))
    gen = rail_generator(PARAMS)
    result = {"command": provenance.command(), "circuit": gen.name,
              "params": PARAMS.model_dump(mode="json"),
              "devices": {d.name: d.drawing for d in gen.devices},
              "gate_area_um2": round(sum(d.area for d in gen.devices), 1),
              "set_current_pa": PARAMS.i_set_pa, "drain_v": rail_bench.DRAIN_V,
              "loads_na": list(LOADS_NA), "gmin": GMIN_S,
              "conditions": rows, "steps": steps,
              "seconds": round(time.perf_counter() - start, 1)}
    write_text(RESULTS / "rail_generator.json", json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS / 'rail_generator.json'} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
