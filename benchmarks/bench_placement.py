"""What a mirror's placement buys against a linear process gradient (issue 25, "matching
placement").

A gradient of the threshold voltage across a row shifts every gate by its position times
the gradient; in weak inversion a gate's current moves by exp(-dVt / (n U_T)), so an output
copies its diode's current off by the gradient times the distance between the output's
centroid and the diode's. The library's mirror cell draws its transistors ``grouped`` (the
diode, then each output whole) or ``interdigitated`` (every finger and series stack its own
device, dealt out in turn: D O0 O1 O2 O1 O2 ...) or ``centroid`` (the diode in the middle,
each output's units in mirrored pairs around it; :mod:`bmru_pdk.cells.placer`). This bench
places an NMOS and a PMOS mirror each way with the placer itself (each device's centre
from the drawn row), puts every device's gate behind a source of minus the gradient times
its position (a threshold shift, to any model), and simulates each output's gain at one
unit in on a summing node held at its voltage (the tables' load), with and without the
gradient. It reports each output's error under the gradient, its centroid's distance from
the diode's, and the span of the devices' centres: what the placement costs.

Usage: ``python benchmarks/bench_placement.py``. Prints the table and writes
``benchmarks/results/placement.json``. Seconds on one core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import gdsfactory as gf
import numpy as np
import provenance

import bmru_pdk
from bmru_pdk.cells.placer import Placement, place_row
from bmru_pdk.circuits import NFET, PFET, MirrorParams, current_mirror
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.model import Circuit, MosKind
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import simulate

RESULTS = Path(__file__).parent / "results"
RATIOS = [1.0, 2.0, 0.5, 4.0]  # whole units, a stack of two, a wide output
PLACEMENTS: tuple[Placement, ...] = ("grouped", "interdigitated", "centroid")
# 1 mV per 100 µm: a few times a typical wafer-scale gradient, small enough to stay linear
# (a 100 µm row moves a gate by ~3 % of n U_T), large enough to stand clear of the solver
GRADIENT_V_PER_UM = 1e-5


def centres(circuit: Circuit, placement: Placement) -> list[tuple[object, float]]:
    """Each placed device of ``circuit`` (split per finger and stack when interdigitated)
    and its centre along the row, µm."""
    placed = place_row(gf.Component(), circuit.devices, placement)
    return [(p.device, (p.box[0] + p.box[2]) / 2) for p in placed]


def gains(circuit: Circuit, kind: MosKind, placed: list[tuple[object, float]],
          gradient: float) -> np.ndarray:
    """Each output's gain at one unit in, every gate behind ``-gradient * x`` (V)."""
    src = (f"iin vdd in {ch.spice_current(ch.I_REF)}" if kind == NFET
           else f"iin in vss {ch.spice_current(ch.I_REF)}")
    # a higher threshold is a lower gate drive: NMOS gates down, PMOS gates up
    sign = -1.0 if kind == NFET else 1.0
    lines = []
    for k, (d, x) in enumerate(placed):
        lines.append(d.model_copy(update={"g": f"g{k}"}).spice())  # type: ignore[attr-defined]
        lines.append(f"vg{k} g{k} {d.g} {sign * gradient * x:.6g}")  # type: ignore[attr-defined]
    outs = [p.name for p in circuit.pins if p.name.startswith("out")]
    v_sum = ch.sum_voltage()
    loads = "".join(ch.held_load(f"o{k}", o, kind, v_sum) for k, o in enumerate(outs))
    deck = "\n".join([*lines, src, loads, f"vdd vdd 0 {ch.VDD}", "vss vss 0 0", ".op"])
    r = simulate(deck)
    return np.array([ch.to_units(r[f"i(vo{k})"][0]) for k in range(len(outs))]) / ch.I_REF


def main() -> None:
    start = time.time()
    bmru_pdk.PDK.activate()
    rows = []
    for kind in (NFET, PFET):
        circuit = current_mirror(MirrorParams(kind=kind, ratios=RATIOS))
        for placement in PLACEMENTS:
            placed = centres(circuit, placement)
            flat = gains(circuit, kind, placed, 0.0)
            graded = gains(circuit, kind, placed, GRADIENT_V_PER_UM)
            xs = [x for _d, x in placed]
            diode = float(np.mean([x for d, x in placed if d.name.startswith("MD")]))
            centroid = [float(np.mean([x for d, x in placed
                                       if d.name.split("_")[0] == f"MO{k}"]))
                        for k in range(len(RATIOS))]
            rows.append({
                "kind": kind, "placement": placement, "ratios": RATIOS,
                "row_um": round(max(xs) - min(xs), 2),
                "centroid_from_diode_um": [round(c - diode, 2) for c in centroid],
                "error_pct": [round(float(g / f - 1) * 100, 3)
                              for g, f in zip(graded, flat, strict=True)]})
            print(f"{kind} {placement:15s} errors % {rows[-1]['error_pct']} "
                  f"(centroids {rows[-1]['centroid_from_diode_um']} µm)")
    out = {"command": provenance.command(), "gradient_mv_per_100um": GRADIENT_V_PER_UM * 1e5,
           "i_unit_na": ch.I_UNIT_NA,
           "rows": rows, "seconds": round(time.time() - start, 1)}
    write_text(RESULTS / "placement.json", json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
