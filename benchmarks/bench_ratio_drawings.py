"""Sub-unit mirror ratios drawn two ways from unit gates, and how far each drifts over PVT.

A mirror's ratio below one unit can be drawn from identical unit gates (4 x 4 µm) in two
ways: as series stacks of unit gates from a one-gate diode (the circuit's drawing: 1/2 a stack
of 2, 1/4 a stack of 4), or with whole gates on both sides, k output gates in parallel from a
diode of D gates in parallel (1/2 = 1 of 2, 1/4 = 1 of 4, 3/4 = 3 of 4). This measures, for
an NMOS and a PMOS mirror at one software unit in, each output's gain at the 17 conditions of
``bench_corners.CONDITIONS`` with its output held at the condition's summing-node voltage (the
unit-ratio measurement of ``bench_corners``), as its drift from typical 27 °C 1.8 V, with
ngspice's default GMIN and with GMIN lowered to the devices' own junction leakage (as
``bench_drain_matching``). The drawings of ``DRAWINGS``: the series stacks, the k-of-D
outputs, a mixed one (a stack from a 4-gate diode) and whole ratios from the one-, two- and
four-gate diodes, since a grid built on a D-gate diode draws every ratio that way. Two
summing nodes (``NODES``): the tile's, held by its ReLU's one-gate diode at one unit, and a
grid's on D-gate diodes, whose ReLU diode is D gates too (held at a one-gate diode's voltage
at 1/D of a unit, the same current per gate). A D-gate diode at one unit in runs each gate at
1/D of a unit: each diode's voltage is reported, and at 125 °C, with GMIN at the devices' own
leakage, each output's current with zero input (its gates OFF) against its current at one
unit in, on the grid's node. Also computed, not simulated: the output gates a grid on a
D-gate diode needs per weight (``GRID_WEIGHTS``), against the circuit's grid.

Usage: ``python benchmarks/bench_ratio_drawings.py``. Prints the tables and writes
``benchmarks/results/ratio_drawings.json``. About a minute on one core.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from bench_corners import (
    CONDITIONS,
    DRIFT_TARGET,
    NOMINAL,
    _kw,
    drift_range,
    unit_ratio_drift,
)
from bench_drain_matching import GMINS, SATURATION_UT, saturation_v

from bmru_pdk.analyses.testbench import Condition
from bmru_pdk.circuits import NFET, PFET, Circuit, MirrorParams, current_mirror
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.model import Device, MosKind
from bmru_pdk.circuits.sizing import unit_ratio
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import GMIN_S, simulate

RESULTS = Path(__file__).parent / "results"
COMMAND = "python benchmarks/bench_ratio_drawings.py"
HOT_C = 125.0  # where the leakage at each gate's current density is looked at
# Summing nodes the outputs are held at: name -> its ReLU diode is as wide as the mirror's
# (D gates, at one unit on the node) rather than one unit gate (the tile's)
NODES = {"tile": False, "grid": True}


@dataclass(frozen=True)
class Drawing:
    """One mirror output drawn from unit gates.

    Attributes:
        group: Which way it is drawn: ``stacks`` (series stacks from a one-gate diode, the
            circuit's), ``parallel`` (k unit gates in parallel from a D-gate diode), ``mixed``
            (a series stack from a D-gate diode) or ``whole`` (a whole ratio of the input).
        diode: Unit gates of the mirror's diode, in parallel.
        output: The output in unit gates, drawn on the circuit's unit grid (whole gates in
            parallel, 1/n a series stack of n).
    """

    group: str
    diode: int
    output: float

    @property
    def ratio(self) -> float:
        """The output's nominal ratio to the mirror's input."""
        return self.output / self.diode

    @property
    def target(self) -> float:
        """The drift target: ``bench_corners``'s for whole ratios (>= 1 of the input) and for
        sub-unit ones."""
        return DRIFT_TARGET["whole" if self.ratio >= 1 else "series"]


DRAWINGS = {
    "1": Drawing("whole", 1, 1.0),
    "2": Drawing("whole", 1, 2.0),
    "1/2 stack": Drawing("stacks", 1, 0.5),
    "1/4 stack": Drawing("stacks", 1, 0.25),
    "3/4 stacks": Drawing("stacks", 1, 0.75),
    "1/2 = 1 of 2": Drawing("parallel", 2, 1.0),
    "1 = 2 of 2": Drawing("whole", 2, 2.0),
    "1/4 = 1 of 4": Drawing("parallel", 4, 1.0),
    "1/2 = 2 of 4": Drawing("parallel", 4, 2.0),
    "3/4 = 3 of 4": Drawing("parallel", 4, 3.0),
    "1 = 4 of 4": Drawing("whole", 4, 4.0),
    "5/4 = 5 of 4": Drawing("whole", 4, 5.0),
    "1/8 = stack of 2 of 4": Drawing("mixed", 4, 0.5),
}
DIODES = sorted({d.diode for d in DRAWINGS.values()})
# Weights (software units) whose output gates each grid needs: a grid on a D-gate diode
# draws weight w as D * w gates' worth of current
GRID_WEIGHTS = [0.125, 0.25, 0.5, 0.75, 1.0, 2.0, 4.0]
# name -> (diode gates, whole gates in parallel only); else whole gates and series stacks
GRIDS = {"1-gate diode, whole gates and stacks (the circuit)": (1, False),
         "2-gate diode, whole gates only": (2, True),
         "4-gate diode, whole gates only": (4, True),
         "4-gate diode, whole gates and stacks": (4, False)}


def mirror(kind: MosKind, diode: int) -> tuple[Circuit, list[str]]:
    """The circuit's mirror with a diode of ``diode`` unit gates in parallel and one output
    ``MO<k>`` per drawing of ``DRAWINGS`` on that diode, and those drawings' names in order.

    Args:
        kind: Mirror type.
        diode: Unit gates of the diode.
    """
    names = [n for n, d in DRAWINGS.items() if d.diode == diode]
    plain = current_mirror(MirrorParams(kind=kind, ratios=[DRAWINGS[n].output for n in names],
                                        name=f"{kind[0]}mirror_d{diode}"))
    devices = [d.model_copy(update={"fingers": diode}) if d.name == "MD" else d
               for d in plain.devices]
    return plain.model_copy(update={"devices": devices}), names


def currents(kind: MosKind, c: Condition, gmin: float, i_in: float,
             wide_node: bool) -> tuple[dict[str, float], dict[str, float]]:
    """Each drawing's output current, ``i_in`` units into its mirror's diode, outputs held at
    the condition's summing-node voltage; and each diode's voltage from its rail.

    Args:
        kind: Mirror type.
        c: The condition.
        gmin: ngspice's GMIN, S.
        i_in: Input current, software units.
        wide_node: The summing node's ReLU diode is as wide as the mirror's (its voltage at
            one unit is a one-gate diode's at 1/D of a unit); else one unit gate.

    Returns:
        Per drawing its output current (software units); per diode (its unit gates, as
        text) its gate and drain voltage from the mirror's rail, V.
    """
    options = f".options gmin={gmin:g}\n"
    rail = 0.0 if kind == NFET else c.vdd_v
    out, diode_v = {}, {}
    for diode in DIODES:
        circuit, names = mirror(kind, diode)
        i_node = ch.I_REF / diode if wide_node else ch.I_REF
        r = simulate(ch.mirror_bench(circuit, kind, i_in, load="sum", i_node=i_node, **_kw(c))
                     + options, corner=c.corner, temp_c=c.temp_c)
        out.update({n: float(ch.to_units(r[f"i(vo{k})"][0])) for k, n in enumerate(names)})
        diode_v[str(diode)] = abs(float(r["v(in)"][0]) - rail)
    return out, diode_v


def unit_output(diode: int) -> str:
    """The drawing that is one unit gate on a ``diode``-gate diode: the share's reference."""
    return next(n for n, d in DRAWINGS.items() if d.diode == diode and d.output == 1.0)


def run(c: Condition, gmin: float, wide_node: bool) -> dict:
    """One condition's row in ``bench_corners``'s ``unit_ratios`` form: per kind and drawing
    the ``gain`` (I_out / I_in) at one unit in, and the ``share`` (I_out / its mirror's
    one-gate output), which cancels what all outputs of a mirror share (the diode); per kind
    and diode, the diode's voltage from its rail (``diode_v``, V).

    Args:
        c: The condition.
        gmin: ngspice's GMIN, S.
        wide_node: The summing node's ReLU diode is as wide as the mirror's (``NODES``).
    """
    ratios, diode_v = {}, {}
    for kind in (NFET, PFET):
        i, diode_v[f"{kind[0]}mos"] = currents(kind, c, gmin, ch.I_REF, wide_node)
        ratios[f"{kind[0]}mos"] = {n: {"gain": x / ch.I_REF,
                                       "share": x / i[unit_output(DRAWINGS[n].diode)]}
                                   for n, x in i.items()}
    return {"condition": c.name, "corner": c.corner, "temp_c": c.temp_c, "vdd_v": c.vdd_v,
            "unit_ratios": ratios, "diode_v": diode_v}


def off_share(rows: list[dict]) -> dict[str, dict[str, dict[str, float]]]:
    """Each output's current with zero input (its gates OFF) as a share of its current at one
    unit in, at the ``HOT_C`` conditions with GMIN at the devices' own leakage, on the grid's
    summing node.

    Args:
        rows: The grid node's ``GMIN_S`` rows (:func:`run`), in the order of
            ``CONDITIONS``.

    Returns:
        Per kind, per drawing, per hot condition: the share.
    """
    out: dict[str, dict[str, dict[str, float]]] = {}
    for c, row in zip(CONDITIONS, rows, strict=True):
        if c.temp_c != HOT_C:
            continue
        for kind in (NFET, PFET):
            on = row["unit_ratios"][f"{kind[0]}mos"]
            for n, x in currents(kind, c, GMIN_S, 0.0, NODES["grid"])[0].items():
                share = x / (on[n]["gain"] * ch.I_REF)
                out.setdefault(f"{kind[0]}mos", {}).setdefault(n, {})[c.name] = share
    return out


def diodes(rows: list[dict]) -> dict[str, dict[str, dict]]:
    """Per kind and diode: its voltage from its rail at one unit in, lowest over the
    conditions, and the conditions where it is below ``SATURATION_UT`` thermal voltages (a
    diode's drain is its gate: there its channel is not saturated).

    Args:
        rows: One GMIN's rows (:func:`run`), in the order of ``CONDITIONS``.
    """
    out: dict[str, dict[str, dict]] = {}
    for kind in ("nmos", "pmos"):
        for diode in map(str, DIODES):
            v = [row["diode_v"][kind][diode] for row in rows]
            low = min(range(len(v)), key=v.__getitem__)
            out.setdefault(kind, {})[diode] = {
                "min_v": v[low], "min_at": CONDITIONS[low].name,
                "unsaturated": [c.name for c, x in zip(CONDITIONS, v, strict=True)
                                if x < saturation_v(c)]}
    return out


def drawn_text(device: Device) -> str:
    """A device's gates in words: ``3 unit gates in parallel``, ``a series stack of 2``."""
    parts = ([f"{device.fingers} unit gate" + ("s in parallel" if device.fingers > 1 else "")]
             if device.fingers else [])
    return " + ".join(parts + [f"a series stack of {n}" for n in device.stacks])


def describe() -> dict[str, dict]:
    """Each drawing: its group, ratio (and as a fraction), target, the diode's and output's unit
    gates and how the output is drawn, and each diode gate's current at one unit in (units)."""
    out = {}
    for diode in DIODES:
        circuit, names = mirror(NFET, diode)
        for k, n in enumerate(names):
            d, device = DRAWINGS[n], circuit.device(f"MO{k}")
            out[n] = {"group": d.group, "ratio": d.ratio, "ratio_text": str(Fraction(d.ratio)),
                      "target": d.target, "diode_gates": diode, "output_gates": device.gates,
                      "output": drawn_text(device), "diode_gate_current_units": 1 / diode}
    return out


def grid_gates(weight: float, diode: int, whole_only: bool) -> int | None:
    """Output gates a grid on a ``diode``-gate diode draws ``weight`` with (None: not on it).

    Args:
        weight: The weight, software units (the output's ratio to the input).
        diode: Unit gates of the grid's diodes.
        whole_only: Whole gates in parallel only; else the circuit's unit grid (whole gates
            and series stacks) on ``diode * weight``.
    """
    gates = Fraction(weight).limit_denominator(64) * diode
    if whole_only:
        return int(gates) if gates.denominator == 1 else None
    return unit_ratio(float(gates)).units


def summarise(runs: dict[str, list[dict]]) -> dict:
    """Per kind and drawing, on one summing node: the gain drift range over the conditions per
    GMIN, whether it is within target and the conditions where it is not, and the drift range
    at ``HOT_C`` with GMIN at the devices' own leakage (fractions).

    Args:
        runs: Each GMIN's rows, after :func:`bench_corners.unit_ratio_drift`.
    """
    out: dict[str, dict] = {}
    for kind in ("nmos", "pmos"):
        for n, d in DRAWINGS.items():
            entry = {}
            for g, rows in runs.items():
                lo, hi = drift_range(rows, kind, n)
                s_lo, s_hi = drift_range(rows, kind, n, "share_drift")
                over = [r["condition"] for r in rows
                        if abs(r["unit_ratios"][kind][n]["drift"]) > d.target]
                entry[g] = {"min": lo, "max": hi, "within": not over, "over_at": over,
                            "share_min": s_lo, "share_max": s_hi}
            lo, hi = drift_range([r for r in runs["physical"] if r["temp_c"] == HOT_C], kind, n)
            entry["hot_physical"] = {"min": lo, "max": hi}
            out.setdefault(kind, {})[n] = entry
    return out


def _span(x: dict) -> str:
    return f"{100 * x['min']:+6.2f}..{100 * x['max']:+6.2f}"


def report(drawings: dict, summary: dict, hot: dict, diode_v: dict, grids: dict) -> None:
    """Print the tables."""
    for node, by_kind in summary.items():
        print(f"\n{node} summing node: gain drift over the {len(CONDITIONS)} conditions, 1 unit "
              f"in, % (min..max), within target: default GMIN | GMIN {GMIN_S:g} S "
              f"(conditions over target) | at {HOT_C:g} C, GMIN {GMIN_S:g} S"
              + (f" | OFF current at zero input, {HOT_C:g} C, % of the output's current at one "
                 "unit (max)" if node == "grid" else ""))
        for kind, entries in by_kind.items():
            for n, e in entries.items():
                d, run_ = drawings[n], e["physical"]
                off = f" | {100 * max(hot[kind][n].values()):5.1f}" if node == "grid" else ""
                print(f"{kind.upper()} {n:>21} {d['ratio']:6.3f} gates {d['diode_gates']}+"
                      f"{d['output_gates']:<2} +-{100 * d['target']:g} | {_span(e['default'])} "
                      f"{'yes' if e['default']['within'] else 'no':>3} | {_span(run_)} "
                      f"{'yes' if run_['within'] else 'no':>3} ({len(run_['over_at']):2}) | "
                      f"{_span(e['hot_physical'])}{off}")
    print(f"\ndiode voltage from its rail at one unit in, GMIN {GMIN_S:g} S: lowest, and "
          f"where below {SATURATION_UT} U_T")
    for kind, by_diode in diode_v.items():
        for d, x in by_diode.items():
            print(f"{kind.upper()} {d}-gate diode: {x['min_v']:.3f} V at {x['min_at']}; below at "
                  f"{', '.join(x['unsaturated']) or 'no condition'}")
    print("\noutput gates per weight " + " / ".join(f"{w:g}" for w in GRID_WEIGHTS))
    for name, g in grids.items():
        print(f"{name:>52}: " + " / ".join("-" if x is None else str(x)
                                           for x in g["output_gates"].values()))


def main() -> None:
    start = time.perf_counter()
    runs = {node: {g: [run(c, gmin, wide) for c in CONDITIONS] for g, gmin in GMINS.items()}
            for node, wide in NODES.items()}
    for by_gmin in runs.values():
        for rows in by_gmin.values():
            unit_ratio_drift(rows)
    hot = off_share(runs["grid"]["physical"])
    drawings = describe()
    summary = {node: summarise(by_gmin) for node, by_gmin in runs.items()}
    diode_v = diodes(runs["tile"]["physical"])
    grids = {name: {"diode_gates": diode, "whole_only": whole_only,
                    "output_gates": {f"{w:g}": grid_gates(w, diode, whole_only)
                                     for w in GRID_WEIGHTS}}
             for name, (diode, whole_only) in GRIDS.items()}
    report(drawings, summary, hot, diode_v, grids)
    result = {"command": COMMAND, "i_unit_na": ch.I_UNIT_NA, "i_in_units": ch.I_REF,
              "gmin": GMINS, "hot_c": HOT_C, "nominal": NOMINAL.name,
              "conditions": [{"condition": c.name, "corner": c.corner, "temp_c": c.temp_c,
                              "vdd_v": c.vdd_v, "v_sum": ch.sum_voltage(**_kw(c))}
                             for c in CONDITIONS],
              "saturation_ut": SATURATION_UT, "drawings": drawings, "summary": summary,
              "diodes": diode_v, "off_share_hot": hot, "grids": grids,
              "runs": runs, "seconds": round(time.perf_counter() - start, 1)}
    write_text(RESULTS / "ratio_drawings.json", json.dumps(result, indent=1) + "\n")
    print(f"\n{result['seconds']} s; wrote {RESULTS / 'ratio_drawings.json'}")


if __name__ == "__main__":
    main()
