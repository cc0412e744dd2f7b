"""Leakage of an OFF unit output at 125 °C: what it is made of, and what removes it from a
summing node (issue 25). An element-level study: the tile's circuits are not changed; the
remedies' netlists live here.

Decomposition, per polarity and condition: a unit device OFF (gate at its rail) with its
drain at the summing-node voltage; the same device with its gate driven ``GATE_PAST_V`` past
its rail (the channel cut off: what is left is junction and GIDL); a bare junction of the
same drain area (drain and source tied, so the channel carries nothing; half of what the
two equal diffusions leak); and BSIM4's own GIDL current of the OFF device. The channel is
what the OFF device leaks beyond its junction.

Remedies, on summing nodes held at the voltage their ReLU diode has at the reference
current: N OFF NMOS unit outputs (a mirror at zero input) beside a threshold mirror output
of the reference, drawn as a tile draws the smallest realisable beta_hi and one unit. Each
node's net leakage is its current less that of the same threshold output alone; the
threshold shift is that against the threshold (+: the node sinks more, the threshold seen
from the rail rises). Measured:

- none;
- ``pmos_dummies``: PMOS unit devices OFF on the node, as many as cancel the N outputs at
  ``DESIGN`` (from the decomposition there);
- ``replica``: N NMOS unit devices OFF into a PMOS unit diode, copied 1:1 onto the node;
- ``rail_<v>``: every NMOS source (mirrors, reference, ReLU diode) on a rail ``v`` above
  ground, the bulk on ground: a reverse body bias that raises the OFF devices' threshold;
  the node sits ``v`` higher.

With the N inputs ON at one unit, the node's error against N units shows what each remedy
does to a rail whose inputs carry signal. Derived: the unit current at which the OFF
outputs' leakage is ``TARGET`` of the smallest threshold (a reference that rises with
temperature), and how many OFF units a rail may hold at the package's unit current (fewer
OFF devices per rail). GMIN is lowered to the devices' own leakage throughout.

Usage: ``python benchmarks/bench_leakage.py``. Prints the tables and writes
``benchmarks/results/leakage.json``. Under a minute on one core.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

from bench_corners import CONDITIONS, _kw, _supplies

from bmru_pdk.analyses.testbench import Condition
from bmru_pdk.circuits import (
    NFET,
    PFET,
    UNIT,
    Circuit,
    Device,
    MirrorParams,
    Pin,
    current_mirror,
    mapping,
)
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.model import MosKind
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import GMIN_S, SimResult, simulate

RESULTS = Path(__file__).parent / "results"
COMMAND = "python benchmarks/bench_leakage.py"
THRESHOLDS = [0.66, 1.0]  # software units: the smallest realisable beta_hi, and one unit
N_OFF = [1, 4, 8]  # OFF unit outputs on a node
GATE_PAST_V = 0.3  # how far past its rail an OFF gate is driven to cut its channel
SOURCE_RAILS_V = [0.3, 0.6]  # NMOS source rails of the body-bias remedy
TARGET = 0.05  # the floor wanted, a fraction of the smallest threshold
DESIGN = Condition("typical", 125.0)  # where the opposite-polarity dummies are sized
# Each remedy's NMOS source rail, V (ground but for the body-bias remedy)
REMEDY_RAILS = {"none": 0.0, "pmos_dummies": 0.0, "replica": 0.0,
                **{f"rail_{v:g}": v for v in SOURCE_RAILS_V}}
POLARITY = {"nmos": NFET, "pmos": PFET}


def _unit(name: str, kind: MosKind, d: str, g: str, s: str, b: str, copies: int = 1) -> str:
    return Device(name=name, kind=kind, w=UNIT.w, l=UNIT.l, d=d, g=g, s=s, b=b,
                  multiplier=copies).spice() + "\n"


def _pa(r: SimResult, source: str) -> float:
    return float(r[f"i({source})"][0] * 1e12)


def decomposition(c: Condition) -> dict[str, dict[str, float]]:
    """What an OFF unit output leaks into a summing node, and of what, per polarity (pA).

    Args:
        c: The condition.

    Returns:
        Per ``nmos`` / ``pmos``: ``off`` (gate at its rail), ``gate_past`` (gate
        ``GATE_PAST_V`` past it), ``junction`` (the bare drain junction), ``gidl`` (BSIM4's
        GIDL current of the OFF device), ``channel`` (``off`` less ``junction``), all as the
        current an output of that polarity drives (NMOS sinks, PMOS sources).
    """
    v_sum = ch.sum_voltage(**_kw(c))
    past = {"nmos": -GATE_PAST_V, "pmos": c.vdd_v + GATE_PAST_V}
    lines, saves = [], []
    for p, kind in POLARITY.items():
        rail = "vdd" if kind == PFET else "vss"
        for tag, d, g, s in ((f"{p}off", f"{p}off", rail, rail),
                             (f"{p}past", f"{p}past", f"g{p}", rail),
                             (f"{p}junc", f"{p}junc", rail, f"{p}junc")):
            lines += [_unit(f"M{tag}", kind, d, g, s, rail), ch.held_load(tag, tag, kind, v_sum)]
        lines.append(f"vg{p} g{p} 0 {past[p]}\n")
        saves.append(f"@m.xm{p}off.m0[igidl]")
    r = simulate("".join(lines) + _supplies(c) + f".save all {' '.join(saves)}\n"
                 ".op\n", corner=c.corner, temp_c=c.temp_c)
    out = {}
    for p in POLARITY:
        off, junction = _pa(r, f"v{p}off"), _pa(r, f"v{p}junc") / 2
        out[p] = {"off": off, "gate_past": _pa(r, f"v{p}past"), "junction": junction,
                  "gidl": abs(float(r[f"@m.xm{p}off.m0[igidl]"][0])) * 1e12,
                  "channel": off - junction}
    return out


def pmos_dummies(design: dict[str, dict[str, float]]) -> dict[int, int]:
    """PMOS unit devices OFF that cancel N OFF NMOS unit outputs at the design condition.

    Args:
        design: :func:`decomposition` at ``DESIGN``.
    """
    k = design["nmos"]["off"] / design["pmos"]["off"]
    return {n: round(n * k) for n in N_OFF}


def bulk_apart(circuit: Circuit) -> Circuit:
    """``circuit`` with every bulk on a pin ``sub`` of its own: with its ``vss`` pin on a
    raised source rail and ``sub`` on ground, its NMOS run with a reverse body bias.

    Args:
        circuit: An NMOS circuit without instances.
    """
    sub = Pin(name="sub", role="ground", signal="power", doc="bulk")
    return circuit.model_copy(update={
        "name": f"{circuit.name}_sub", "pins": [*circuit.pins, sub],
        "devices": [d.model_copy(update={"b": "sub"}) for d in circuit.devices]})


def remedies(c: Condition, drawn: list[float], dummies: dict[int, int]) -> dict:
    """Every remedy's summing nodes at one condition, in one operating point.

    Args:
        c: The condition.
        drawn: The threshold outputs' drawn ratios, one per ``THRESHOLDS``.
        dummies: PMOS dummies per N (:func:`pmos_dummies`).

    Returns:
        Per remedy: ``v_node`` (the voltage its nodes are held at), ``threshold_pa`` (each
        threshold output alone) and ``by_n``, per N (a string key): ``net_pa`` and ``shift``
        (per threshold) with the inputs at zero, and ``on_error_pa`` (per threshold): the
        node's current less the threshold alone and N units, with the inputs at one unit.
    """
    lines: list[str] = []
    blocks: dict[str, str] = {}

    def add(block: Circuit) -> str:
        blocks[block.name] = block.to_spice()
        return block.name

    pmirror = add(current_mirror(MirrorParams(kind=PFET, ratios=[1.0])))
    for j, (name, v) in enumerate(REMEDY_RAILS.items()):
        rail = f"rail{j}" if v else "vss"
        if v:
            lines.append(f"v{rail} {rail} 0 {v}\n")
        nodes = [(f"b{j}_{k}", k) for k in range(len(THRESHOLDS))]  # a threshold alone
        for n in N_OFF:
            off = add(bulk_apart(current_mirror(MirrorParams(kind=NFET, ratios=[1.0] * n))))
            for k in range(len(THRESHOLDS)):
                for state in ("off", "on"):
                    t = f"n{j}_{n}_{k}_{state}"
                    nodes.append((t, k))
                    lines.append(f"xo{t} i{t} {' '.join([t] * n)} {rail} vss {off}\n")
                    if state == "on":
                        lines.append(f"ii{t} vdd i{t} {ch.spice_current(ch.I_REF)}\n")
                    if name == "pmos_dummies":
                        lines.append(_unit(f"MD{t}", PFET, t, "vdd", "vdd", "vdd", dummies[n]))
                    elif name == "replica":
                        lines += [_unit(f"MR{t}", NFET, f"rp{t}", "vss", "vss", "vss", n),
                                  f"xp{t} rp{t} {t} vdd {pmirror}\n"]
        ref = add(bulk_apart(current_mirror(MirrorParams(
            kind=NFET, ratios=[drawn[k] for _, k in nodes], name=f"reference{j}"))))
        lines += [f"xr{j} r{j} {' '.join(t for t, _ in nodes)} {rail} vss {ref}\n",
                  f"ir{j} vdd r{j} {ch.spice_current(ch.I_REF)}\n"]
        # every node held at the reference diode's voltage: a ReLU diode's at the reference
        lines += [f"e{t} 0 {t} r{j} 0 -1\n" for t, _ in nodes]
    res = simulate("".join(blocks.values()) + "".join(lines) + _supplies(c)
                   + ".op\n", corner=c.corner, temp_c=c.temp_c)
    unit_pa = ch.I_REF * ch.I_UNIT_NA * 1e3
    out = {}
    for j, name in enumerate(REMEDY_RAILS):
        base = [_pa(res, f"eb{j}_{k}") for k in range(len(THRESHOLDS))]
        by_n = {}
        for n in N_OFF:
            net = [_pa(res, f"en{j}_{n}_{k}_off") - b for k, b in enumerate(base)]
            by_n[str(n)] = {"net_pa": net, "shift": [x / b for x, b in zip(net, base, strict=True)],
                            "on_error_pa": [_pa(res, f"en{j}_{n}_{k}_on") - b - n * unit_pa
                                            for k, b in enumerate(base)]}
        out[name] = {"v_node": float(res[f"v(r{j})"][0]), "threshold_pa": base, "by_n": by_n}
    return out


def floor_budget(row: dict) -> dict:
    """What the OFF outputs' leakage asks of the other two remedies at one condition.

    Args:
        row: A condition's row with its ``remedies``.

    Returns:
        ``unit_current_na``: per N, the unit current at which the node's leakage is
        ``TARGET`` of the smallest threshold (the leakage does not depend on it; the
        threshold scales with it), the package's unit current when that is already met;
        ``max_off_units``: per remedy whose leakage grows with N (none, source rails), how
        many OFF units a node may hold at the package's unit current (None: no leakage).
    """
    none = row["remedies"]["none"]["by_n"]
    unit = {n: ch.I_UNIT_NA * max(1.0, x["shift"][0] / TARGET) for n, x in none.items()}
    most = {}
    for name in ("none", *(f"rail_{v:g}" for v in SOURCE_RAILS_V)):
        r = row["remedies"][name]
        net = r["by_n"]["1"]["net_pa"][0]
        most[name] = math.floor(TARGET * r["threshold_pa"][0] / net) if net > 0 else None
    return {"unit_current_na": unit, "max_off_units": most}


def report(rows: list[dict], dummies: dict[int, int]) -> None:
    """Print the tables."""
    print(f"\nOFF unit output into the summing node, pA (GMIN {GMIN_S:g} S): total, gate "
          f"{GATE_PAST_V:g} V past its rail, bare drain junction, GIDL, channel share")
    for row in rows:
        parts = []
        for p, d in row["decomposition"].items():
            parts.append(f"{p.upper()} {d['off']:8.3f} {d['gate_past']:7.3f} "
                         f"{d['junction']:6.3f} {d['gidl']:8.2g} "
                         f"{100 * d['channel'] / d['off']:5.1f} %")
        print(f"{row['condition']:>20} | v_sum {row['v_sum']:.3f} | " + " | ".join(parts))
    names = list(rows[0]["remedies"])
    print(f"\nnet leakage into the node, pA, and shift of the {' / '.join(map(str, THRESHOLDS))} "
          f"unit thresholds, %; PMOS dummies per N: {dummies}")
    print(f"{'':>20} | N | " + " | ".join(f"{n:>22}" for n in names))
    for row in rows:
        for n in N_OFF:
            cells = []
            for name in names:
                x = row["remedies"][name]["by_n"][str(n)]
                cells.append(f"{x['net_pa'][0]:8.2f} " + "/".join(f"{100 * s:+.1f}"
                                                              for s in x["shift"]))
            print(f"{row['condition']:>20} | {n} | " + " | ".join(f"{x:>22}" for x in cells))
    n = N_OFF[-1]
    print(f"\nper remedy, with the {n} inputs ON at one unit: node error against {n} units, pA "
          f"(threshold {THRESHOLDS[0]:g}) | unit current for {100 * TARGET:g} % of that threshold "
          f"with {'/'.join(map(str, N_OFF))} OFF outputs, nA | OFF units a node may hold (none, "
          "source rails) | per remedy, the nodes' voltage, V")
    for row in rows:
        on = " ".join(f"{row['remedies'][name]['by_n'][str(n)]['on_error_pa'][0]:+8.2f}"
                      for name in names)
        b = row["floor_budget"]
        units = "/".join(f"{x:.3g}" for x in b["unit_current_na"].values())
        most = "/".join(str(x) for x in b["max_off_units"].values())
        held = " ".join(f"{x['v_node']:.3f}" for x in row["remedies"].values())
        print(f"{row['condition']:>20} | {on} | {units} | {most} | {held}")


def main() -> None:
    start = time.perf_counter()
    dummies = pmos_dummies(decomposition(DESIGN))
    # drawn as a tile draws a threshold of that value: an NMOS output of the reference
    drawn = [abs(mapping.signed_ratio(-t, f"threshold {t:g}")) for t in THRESHOLDS]
    rows = []
    for c in CONDITIONS:
        t0 = time.perf_counter()
        row = {"condition": c.name, "corner": c.corner, "temp_c": c.temp_c, "vdd_v": c.vdd_v,
               "v_sum": ch.sum_voltage(**_kw(c)), "decomposition": decomposition(c)}
        row["remedies"] = remedies(c, drawn, dummies)
        row["floor_budget"] = floor_budget(row)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        print(f"{c.name:>20}: {row['seconds']} s", flush=True)
    report(rows, dummies)
    result = {"command": COMMAND, "i_unit_na": ch.I_UNIT_NA, "gmin": GMIN_S,
              "thresholds_units": THRESHOLDS,
              "thresholds_drawn": drawn,
              "n_off": N_OFF, "gate_past_v": GATE_PAST_V, "source_rails_v": SOURCE_RAILS_V,
              "target": TARGET, "design_condition": DESIGN.name,
              "pmos_dummies": {str(n): m for n, m in dummies.items()},
              "unit": {"w_um": UNIT.w, "l_um": UNIT.l},
              "seconds": round(time.perf_counter() - start, 1), "conditions": rows}
    write_text(RESULTS / "leakage.json", json.dumps(result, indent=1) + "\n")
    print(f"{result['seconds']} s; wrote {RESULTS / 'leakage.json'}")


if __name__ == "__main__":
    main()
