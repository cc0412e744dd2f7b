"""Drain matching along a positive weight's whole path: input diode, its NMOS copy into the
PMOS diode, and the PMOS output onto the summing node.

``bench_drain_matching.py`` measures each mirror alone, its input a current source. A positive
weight of the tile is two mirrors in a row (``weight_array``): the input's NMOS diode
``MXN<i>``, its unit copy ``MXC<i>`` sunk from the PMOS diode ``MXP<i>``, and the PMOS output
``MW<i>_<j>`` onto the summing node. The copy's drain sits at the PMOS diode's voltage, VDD
less a source-gate voltage, while its diode's drain sits at one gate-source voltage: about
0.4 V apart, a drain mismatch the mirror studies did not look at. The cell's ReLU copy
``MC`` into the PMOS diode ``MIN`` is the same pair of mirrors.

This bench measures that path's gain (rail current over input current), one unit gate
drawing of a unit weight on the 4-gate grid, at the 17 conditions of
``bench_corners.CONDITIONS``, for input currents of 1/4, 1 and 4 units, the rail held at the
condition's summing-node voltage, as its drift from typical 27 °C 1.8 V, for each variant of
``VARIANTS``:

- ``before``: the weight array as drawn (:func:`bmru_pdk.circuits.weight_array`);
- ``PMOS cascode (self-biased)``: the drain-matching study's pick, a one-gate cascode on the
  output and a one-gate cascode diode in the PMOS diode's branch, both in n-wells of their
  own; the PMOS diode's input node drops a second source-gate voltage, and the copy's drain
  with it;
- ``NMOS copy cascode (replica)``: a one-gate NMOS cascode on the copy, its gate on a line
  made by a replica (a unit reference current into a one-gate cascode diode over a 4-gate
  diode, shared by the tile): the copy's drain sits at its diode's at one unit in;
- ``both replica cascodes``: that, and a one-gate PMOS cascode on the output, in an n-well of
  its own, its gate on a PMOS replica line (a unit current out of a one-gate cascode diode,
  in a well of its own, under a 4-gate diode);
- ``both, replicas at 4 units``: the same with each replica's cascode diode carrying four
  units: its line sits about n U_T ln 4 further from the rail, so a copy at four units in
  stays saturated where the hot fast corner leaves little room.

Everything is simulated on ground (no NMOS source rail), with the project's GMIN. Also
reported per variant: the smallest drain-source voltage of the copy (and of its cascode) and
of the PMOS output (and its cascode) over the conditions, against the 4 U_T a device in weak
inversion needs to stay saturated.

Usage: ``python benchmarks/bench_weight_path.py``. Prints a line per variant and input
current and writes ``benchmarks/results/weight_path.json``. Under a minute on one core.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import provenance
from bench_corners import CONDITIONS, DRIFT_TARGET, NOMINAL

from bmru_pdk.analyses.testbench import Condition
from bmru_pdk.circuits import NFET, PFET, WeightArrayParams, weight_array
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.sizing import UnitDevice
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import simulate

RESULTS = Path(__file__).parent / "results"
UNIT = UnitDevice(w=4.0, l=4.0, diode_gates=4)
INPUTS = (0.25, 1.0, 4.0)  # input currents, software units
SATURATION_UT = 4  # thermal voltages a weak-inversion device needs across it
DIODE = f"w={UNIT.w * UNIT.diode_gates:g}u l={UNIT.l:g}u nf={UNIT.diode_gates}"
GATE = f"w={UNIT.w:g}u l={UNIT.l:g}u nf=1"

# Each variant: the path from input node ``x`` to the rail ``s`` (beyond the drawn input
# diode), given the replicas' current in units. Nets ``xp`` (the PMOS diode's node), ``cc`` /
# ``oc`` (a cascoded copy's or output's drain under its cascode) are probed for headroom.
Path_ = Callable[[float], list[str]]


def _copy(cascode: bool) -> list[str]:
    if not cascode:
        return [f"xc xp x vss vss {NFET} {DIODE}"]
    return [f"xc cc x vss vss {NFET} {DIODE}", f"xcc xp nc cc vss {NFET} {GATE}"]


def _nmos_replica(units: float) -> list[str]:
    return [f"irn vdd nc {ch.spice_current(units)}", f"xrnc nc nc ng vss {NFET} {GATE}",
            f"xrn ng ng vss vss {NFET} {DIODE}"]


def _pmos_replica(units: float) -> list[str]:
    return [f"irp pc vss {ch.spice_current(units)}", f"xrpc pc pc pg pg {PFET} {GATE}",
            f"xrp pg pg vdd vdd {PFET} {DIODE}"]


def _output(line: str, cascode_gate: str | None) -> list[str]:
    if cascode_gate is None:
        return [f"xo s {line} vdd vdd {PFET} {DIODE}"]
    return [f"xo oc {line} vdd vdd {PFET} {DIODE}", f"xoc s {cascode_gate} oc oc {PFET} {GATE}"]


def _self_biased(_: float) -> list[str]:
    return [*_copy(False), f"xpc xp xp pd pd {PFET} {GATE}", f"xp pd pd vdd vdd {PFET} {DIODE}",
            *_output("pd", "xp")]


VARIANTS: dict[str, Path_ | None] = {
    "before": None,  # the drawn weight array
    "PMOS cascode (self-biased)": _self_biased,
    "NMOS copy cascode (replica)": lambda u: [
        *_copy(True), *_nmos_replica(u), f"xp xp xp vdd vdd {PFET} {DIODE}",
        *_output("xp", None)],
    "both replica cascodes": lambda u: [
        *_copy(True), *_nmos_replica(u), f"xp xp xp vdd vdd {PFET} {DIODE}",
        *_output("xp", "pc"), *_pmos_replica(u)],
    "both, replicas at 4 units": lambda u: [
        *_copy(True), *_nmos_replica(4 * u), f"xp xp xp vdd vdd {PFET} {DIODE}",
        *_output("xp", "pc"), *_pmos_replica(4 * u)],
}


def deck(variant: str, i_in: float, c: Condition) -> str:
    """An ``.op`` deck: ``i_in`` units into the input, the rail ``s`` held at the summing
    node's voltage of ``c`` through the sense source ``vs``."""
    v_sum = ch.sum_voltage(ch.I_REF, UNIT, corner=c.corner, temp_c=c.temp_c, vdd_v=c.vdd_v)
    path = VARIANTS[variant]
    if path is None:
        arr = weight_array(WeightArrayParams(ratios=[[1.0]], unit=UNIT))
        body = [arr.to_spice(), f"xw x s vdd vss {arr.name}"]
    else:
        body = [f"xd x x vss vss {NFET} {DIODE}", *path(1.0)]
    return "\n".join([*body, f"iin vdd x {ch.spice_current(i_in)}", f"vs s 0 {v_sum}",
                      f"vdd vdd 0 {c.vdd_v}", "vss vss 0 0", ".op"]) + "\n"


def measure(variant: str, i_in: float, c: Condition) -> dict:
    """The path's gain and its devices' drain-source voltages at ``c``."""
    r = simulate(deck(variant, i_in, c), corner=c.corner, temp_c=c.temp_c)

    def v(net: str) -> float:
        return float(r[f"v({net})"][0])

    xp = v("xw.xp0") if VARIANTS[variant] is None else v("xp")
    cascoded_copy, cascoded_out = "cc" in r.vectors, "oc" in r.vectors
    return {"gain": ch.to_units(float(r["i(vs)"][0])) / i_in,
            "copy_vds": v("cc") if cascoded_copy else xp,
            "copy_cascode_vds": xp - v("cc") if cascoded_copy else None,
            "output_vsd": c.vdd_v - (v("oc") if cascoded_out else v("s")),
            "output_cascode_vsd": v("oc") - v("s") if cascoded_out else None}


def main() -> None:
    start = time.perf_counter()
    nominal = CONDITIONS.index(NOMINAL)
    target = DRIFT_TARGET["whole"]
    out: dict = {}
    for variant in VARIANTS:
        out[variant] = {}
        for i_in in INPUTS:
            rows = [measure(variant, i_in, c) for c in CONDITIONS]
            base = rows[nominal]["gain"]
            drift = [r["gain"] / base - 1 for r in rows]
            worst = {k: min((r[k] for r in rows if r[k] is not None), default=None)
                     for k in ("copy_vds", "copy_cascode_vds", "output_vsd", "output_cascode_vsd")}
            cool = [d for d, c in zip(drift, CONDITIONS, strict=True) if c.temp_c < 100]
            out[variant][str(i_in)] = {
                "nominal_gain": round(base, 5),
                "drift_pct": [round(100 * d, 3) for d in drift],
                "within_below_100C": all(abs(d) <= target for d in cool),
                "min_v": {k: None if x is None else round(x, 4) for k, x in worst.items()}}
            print(f"{variant:>28} {i_in:>4} units: gain {base:.4f}, drift "
                  f"{100 * min(drift):+.2f}..{100 * max(drift):+.2f} % (below 100 °C "
                  f"{100 * min(cool):+.2f}..{100 * max(cool):+.2f} %), copy V_DS >= "
                  f"{worst['copy_vds']:.3f} V", flush=True)
    result = {"command": provenance.command(), "unit": UNIT.model_dump(),
              "inputs_units": list(INPUTS), "target_pct": 100 * target,
              "saturation_ut": SATURATION_UT,
              "saturation_v": {c.name: round(SATURATION_UT * 8.617e-5 * (c.temp_c + 273.15), 4)
                               for c in CONDITIONS},
              "conditions": [c.name for c in CONDITIONS],
              "seconds": round(time.perf_counter() - start, 1), "variants": out}
    write_text(RESULTS / "weight_path.json", json.dumps(result, indent=1) + "\n")
    print(f"{result['seconds']} s; wrote {RESULTS / 'weight_path.json'}")


if __name__ == "__main__":
    main()
