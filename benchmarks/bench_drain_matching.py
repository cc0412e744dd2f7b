"""Drain matching of unit-element mirrors: how far each output's gain moves over the PVT
conditions with its drain on the summing node (the circuit) and with remedies that hold it at
its diode's drain voltage.

An NMOS mirror output's drain sits at the summing node, which its ReLU's unit NMOS diode holds
at that diode's gate voltage: at one unit in, the mirror's diode has the same drain voltage.
A PMOS output sees VDD - v_sum from source to drain, its diode only its own source-gate
voltage. This measures, for an NMOS and a PMOS mirror at one software unit in with the
circuit's drawings of ``bench_corners.DRAWINGS`` (whole unit gates and series stacks of unit
gates), each output's gain at the 17 conditions of ``bench_corners.CONDITIONS``, outputs held
at the condition's summing-node voltage, as its drift from typical 27 °C 1.8 V, for the
circuit (``before``) and for each remedy of ``REMEDIES``: a cascode on every output whose gate
line puts the output's drain at the diode's drain voltage. Every added device is a unit gate
(4 x 4 µm). Each run is made with ngspice's default GMIN and with GMIN lowered to the
devices' own junction leakage (the project's ``GMIN_S``, in every other simulation):
at 0.2 nA a unit, GMIN's 1 pA a volt across each junction is a share of a percent of the
signal, and it moves with the drain voltages. Also reported: the devices each remedy adds,
each output's drain-voltage difference to its diode, and the headroom: the input node's and
the highest bias node's voltage from the mirror's rail, the voltage from the rail an output
needs to stay saturated (``SATURATION_UT`` thermal voltages across its cascode, or across
itself), the summing node's, and the supply the mirror needs.

Usage: ``python benchmarks/bench_drain_matching.py``. Prints a table per remedy and writes
``benchmarks/results/drain_matching.json``. Under a minute on one core.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench_corners import (
    CONDITIONS,
    DRAWINGS,
    DRIFT_TARGET,
    NOMINAL,
    UNIT_OUTPUT,
    drawing_class,
    drawing_text,
)

from bmru_pdk.analyses.testbench import Condition
from bmru_pdk.circuits import (
    NFET,
    PFET,
    BiasParams,
    Circuit,
    Device,
    MirrorParams,
    Pin,
    bias_generator,
    current_mirror,
)
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.model import VDD, VSS, MosKind
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import GMIN_S, NGSPICE_GMIN_S, simulate

RESULTS = Path(__file__).parent / "results"
COMMAND = "python benchmarks/bench_drain_matching.py"
# the circuit's drawings: whole unit gates and series stacks (not the narrow fingers)
NAMES = [name for name, (_, narrow) in DRAWINGS.items() if not narrow]
GMINS = {"default": NGSPICE_GMIN_S, "physical": GMIN_S}  # S
BOLTZMANN_V_PER_K = 8.617333e-5
# Thermal voltages across a weak-inversion device for it to pass 98 % (1 - e^-4) of its
# saturated current: what a cascode (or an output without one) needs from its drain
SATURATION_UT = 4
REPLICA = "MR"  # name prefix of a replica's devices (shared by the polarity's mirrors)
CASCODE = "MC"  # name prefix of the outputs' cascodes


@dataclass(frozen=True)
class Remedy:
    """How a mirror's output drains are held.

    Attributes:
        text: The remedy in words.
        cascode: Each output drives the summing node through a cascode.
        replica: The cascodes' gate line comes from a replica (a unit diode under a unit
            cascode diode) carrying a unit copy of the reference, shared by every mirror of
            the polarity; else the gate line is the input, with a unit cascode diode between
            it and the diode.
        like_output: Each cascode is drawn as its output (the same unit gates, so it runs at
            the cascode diode's current density); else it is one unit gate.
        own_well: Each PMOS cascode sits in an n-well of its own, tied to its source (no body
            effect); NMOS cascodes stay on the substrate.
    """

    text: str
    cascode: bool = False
    replica: bool = False
    like_output: bool = False
    own_well: bool = False


REMEDIES = {
    "before": Remedy("the circuit: each output's drain on the summing node"),
    "cascode": Remedy("a unit cascode on each output; its gate line is the input, above a unit "
                      "cascode diode in the input branch", cascode=True),
    "cascode, own well": Remedy("as cascode, each PMOS cascode in an n-well of its own tied to "
                                "its source", cascode=True, own_well=True),
    "replica cascode": Remedy("a unit cascode on each output; its gate line from a replica (unit "
                              "diode under a unit cascode diode) on a unit copy of the "
                              "reference", cascode=True, replica=True),
    "cascode as output": Remedy("as cascode, each cascode drawn as its output (the same unit "
                                "gates)", cascode=True, like_output=True),
}


def saturation_v(c: Condition) -> float:
    """``SATURATION_UT`` thermal voltages at the condition's temperature, V."""
    return SATURATION_UT * BOLTZMANN_V_PER_K * (c.temp_c + 273.15)


def _reference_line(kind: MosKind) -> str:
    """The bias generator's gate line whose unit copy feeds a ``kind`` replica: an NMOS
    replica is fed from vdd (``vbp``), a PMOS one sunk to vss (``vbn``)."""
    return "vbp" if kind == NFET else "vbn"


def replica(unit: Device) -> list[Device]:
    """The cascode line ``vc`` of a replica-biased mirror of ``unit`` devices: a unit diode
    under a unit cascode diode, carrying a unit copy of the reference.

    Args:
        unit: The mirror's diode (one unit gate, source and bulk on the rail).
    """
    other, rail = (PFET, "vdd") if unit.kind == NFET else (NFET, "vss")
    return [unit.model_copy(update={"name": f"{REPLICA}D", "d": "r", "g": "r"}),
            unit.model_copy(update={"name": f"{REPLICA}C", "d": "vc", "g": "vc", "s": "r"}),
            unit.model_copy(update={"name": f"{REPLICA}S", "kind": other, "d": "vc",
                                    "g": _reference_line(unit.kind), "s": rail, "b": rail})]


def mirror(kind: MosKind, remedy: Remedy) -> Circuit:
    """The mirror with one output ``MO<k>`` per drawing of ``NAMES`` (pins ``in``,
    ``out<k>``), drawn for ``remedy``: the circuit's ``current_mirror``, or with a cascode
    ``MC<k>`` between ``MO<k>`` (drain ``x<k>``) and ``out<k>``.

    Args:
        kind: Mirror type.
        remedy: How the outputs' drains are held.
    """
    plain = current_mirror(MirrorParams(kind=kind, ratios=[DRAWINGS[n][0] for n in NAMES]))
    if not remedy.cascode:
        return plain
    devices = {d.name: d for d in plain.devices}
    diode = devices.pop("MD")
    # gate line of the diode and outputs, and of the cascodes: with a replica the input is
    # the diode as before; else the input sits on a cascode diode above the diode (net g)
    gate, line = ("in", "vc") if remedy.replica else ("g", "in")

    def cascode(shape: Device, name: str, d: str, s: str) -> Device:
        bulk = s if remedy.own_well and kind == PFET else shape.b
        return shape.model_copy(update={"name": name, "d": d, "g": line, "s": s, "b": bulk,
                                        "param": None})

    bias = replica(diode) if remedy.replica else [cascode(diode, "MDC", "in", "g")]
    outputs = []
    for k, out in enumerate(devices.values()):
        outputs += [out.model_copy(update={"d": f"x{k}", "g": gate}),
                    cascode(out if remedy.like_output else diode, f"{CASCODE}{k}", f"out{k}",
                            f"x{k}")]
    pins = plain.pins[:-1]
    if remedy.replica:
        pins += [Pin(name=_reference_line(kind), role="bias", signal="voltage",
                     doc="the reference's gate line (bias generator)"), VDD, VSS]
    else:
        pins += plain.pins[-1:]
    return Circuit(name=f"{plain.name}_cascoded", pins=pins, doc=f"{plain.doc}, cascoded",
                   devices=[diode.model_copy(update={"d": gate, "g": gate}), *bias, *outputs])


def deck(circuit: Circuit, kind: MosKind, c: Condition, gmin: float) -> str:
    """An ``.op`` deck as ``characterize.mirror_bench`` writes it for a ``sum`` load: one
    unit into the mirror's input, every output held at the condition's summing-node voltage;
    beside it the bias generator with its reference, whose gate lines a replica copies.

    Args:
        circuit: The mirror (pins named as the deck's nets).
        kind: Mirror type.
        c: The condition.
        gmin: ngspice's GMIN, S.
    """
    v_sum = ch.sum_voltage(**asdict(c))
    outs = [p.name for p in circuit.pins if p.name.startswith("out")]
    current = ch.spice_current(ch.I_REF)
    src = f"iin vdd in {current}" if kind == NFET else f"iin in vss {current}"
    bias = bias_generator(BiasParams())
    options = f".options gmin={gmin:g}\n"
    return (f"{bias.to_spice()}{circuit.to_spice()}xb vbn vbp vdd vss {bias.name}\n"
            f"iref vdd vbn {current}\nxm {' '.join(p.name for p in circuit.pins)} "
            f"{circuit.name}\n{src}\n"
            + "".join(ch.held_load(f"o{k}", o, kind, v_sum) for k, o in enumerate(outs))
            + f"vdd vdd 0 {c.vdd_v}\nvss vss 0 0\n{options}.op\n")


def measure(circuit: Circuit, kind: MosKind, remedy: Remedy, c: Condition,
            gmin: float) -> dict:
    """Each output's gain and drain-voltage difference to the diode, and the headroom figures,
    at one condition.

    Args:
        circuit: The mirror, from :func:`mirror`.
        kind: Mirror type.
        remedy: How ``circuit`` holds its drains.
        c: The condition.
        gmin: ngspice's GMIN, S.

    Returns:
        ``gain`` (I_out / I_in) and ``drain_mv`` (the output's drain-source voltage minus the
        diode's, mV) per drawing; ``input_v`` (the input node), ``bias_v`` (the highest node
        of the mirror's bias branches: its input, or a replica's cascode line), ``needs_v``
        (what the unit output needs) and ``sum_v`` (the summing node), each in V from the
        mirror's rail.
    """
    r = simulate(deck(circuit, kind, c, gmin), corner=c.corner, temp_c=c.temp_c)
    rail = 0.0 if kind == NFET else c.vdd_v

    def from_rail(node: str) -> float:
        return abs(float(r[f"v({node})"][0]) - rail)

    diode = from_rail("xm.g" if remedy.cascode and not remedy.replica else "in")
    drains = {n: from_rail(f"xm.x{k}" if remedy.cascode else f"out{k}")
              for k, n in enumerate(NAMES)}
    return {"gain": {n: float(ch.to_units(r[f"i(vo{k})"][0])) / ch.I_REF
                     for k, n in enumerate(NAMES)},
            "drain_mv": {n: 1e3 * (v - diode) for n, v in drains.items()},
            "input_v": from_rail("in"),
            "bias_v": max(from_rail("in"), from_rail("xm.vc") if remedy.replica else 0.0),
            "needs_v": (drains[UNIT_OUTPUT] if remedy.cascode else 0.0) + saturation_v(c),
            "sum_v": abs(ch.sum_voltage(**asdict(c)) - rail)}


def added_devices(kind: MosKind, remedy: Remedy) -> dict:
    """Unit gates a remedy adds: per output (per drawing), per mirror, and shared by every
    mirror of the polarity (the replica); and the n-wells of their own it draws.

    Args:
        kind: Mirror type.
        remedy: The remedy.
    """
    plain = {d.name for d in mirror(kind, REMEDIES["before"]).devices}
    new = [d for d in mirror(kind, remedy).devices if d.name not in plain]
    wells = {d.name for d in new if d.b not in ("vdd", "vss")}  # n-wells of their own
    return {"per_output": {n: sum(d.gates for d in new if d.name == f"{CASCODE}{k}")
                           for k, n in enumerate(NAMES)},
            "per_mirror": sum(d.gates for d in new if d.name[:2] not in (CASCODE, REPLICA)),
            "shared": sum(d.gates for d in new if d.name.startswith(REPLICA)),
            "own_wells_per_output": int(f"{CASCODE}0" in wells),
            "own_wells_per_mirror": int("MDC" in wells)}


def drift(rows: list[dict]) -> dict:
    """Per drawing the gain drift range over the conditions (%), whether it is within its
    target, and the worst drain-voltage difference to the diode (mV).

    Args:
        rows: Each condition's :func:`measure`, in the order of ``CONDITIONS``.
    """
    nominal = rows[CONDITIONS.index(NOMINAL)]
    out = {}
    for n in NAMES:
        values = [row["gain"][n] / nominal["gain"][n] - 1 for row in rows]
        out[n] = {"min_pct": 100 * min(values), "max_pct": 100 * max(values),
                  "within": max(map(abs, values)) <= DRIFT_TARGET[drawing_class(n)],
                  "drain_mv_worst": max((row["drain_mv"][n] for row in rows), key=abs)}
    return out


def headroom(kind: MosKind, rows: list[dict]) -> dict:
    """The mirror's nodes over the conditions, the conditions where the summing node leaves an
    output less than it needs or the supply is less than the mirror needs, and the largest
    supply it needs.

    Args:
        kind: Mirror type.
        rows: Each condition's :func:`measure`, in the order of ``CONDITIONS``.
    """
    pairs = list(zip(rows, CONDITIONS, strict=True))
    # the bias branches with a saturated source of the other type feeding them, and a PMOS
    # output from vdd down to the summing node
    supply = [max(row["bias_v"] + saturation_v(c),
                  row["needs_v"] + ch.sum_voltage(**asdict(c)) if kind == PFET else 0.0)
              for row, c in pairs]
    return {"input_v_max": max(r["input_v"] for r in rows),
            "bias_v_max": max(r["bias_v"] for r in rows),
            "needs_v_max": max(r["needs_v"] for r in rows),
            "sum_v_min": min(r["sum_v"] for r in rows),
            "short_conditions": [c.name for row, c in pairs if row["needs_v"] > row["sum_v"]],
            "vdd_needed_v": max(supply),
            "supply_short_conditions": [c.name for v, c in zip(supply, CONDITIONS, strict=True)
                                        if v > c.vdd_v]}


def report(name: str, remedy: Remedy, result: dict) -> None:
    """Print one remedy's table."""
    print(f"\n{name}: {remedy.text}")
    for kind, k in result["kinds"].items():
        added, h = result["added"][kind], k["headroom"]
        per_out = ", ".join(f"{n} {g}" for n, g in added["per_output"].items())
        print(f"  {kind.upper()}: unit gates added per output {per_out}; per mirror "
              f"{added['per_mirror']}; shared {added['shared']}. From the rail: input "
              f"{h['input_v_max']:.2f} V, bias {h['bias_v_max']:.2f} V (max), output needs "
              f"{h['needs_v_max']:.2f} V, summing node {h['sum_v_min']:.2f} V (min): short at "
              f"{len(h['short_conditions'])} of {len(CONDITIONS)}; needs VDD up to "
              f"{h['vdd_needed_v']:.2f} V, more than it has at "
              f"{', '.join(h['supply_short_conditions']) or 'no condition'}")
        print(f"    {'output':>10} | {'gain drift %':>14} | GMIN {GMIN_S:g} | target | "
              "drain - diode's (worst)")
        for n in NAMES:
            d, p = k["drift"]["default"][n], k["drift"]["physical"][n]
            target = 100 * DRIFT_TARGET[drawing_class(n)]
            print(f"    {n:>10} | {d['min_pct']:+6.2f}..{d['max_pct']:+6.2f} | "
                  f"{p['min_pct']:+6.2f}..{p['max_pct']:+6.2f} | +-{target:g} "
                  f"{'yes' if d['within'] else 'no'} / {'yes' if p['within'] else 'no'} | "
                  f"{d['drain_mv_worst']:+7.1f} mV")


def main() -> None:
    start = time.perf_counter()
    remedies = {}
    for name, remedy in REMEDIES.items():
        kinds = {}
        for kind in (NFET, PFET):
            circuit = mirror(kind, remedy)
            runs = {g: [measure(circuit, kind, remedy, c, gmin) for c in CONDITIONS]
                    for g, gmin in GMINS.items()}
            kinds[f"{kind[0]}mos"] = {
                "drift": {g: drift(rows) for g, rows in runs.items()},
                "headroom": headroom(kind, runs["default"]),
                "conditions": {g: [{"condition": c.name, **row}
                                   for c, row in zip(CONDITIONS, rows, strict=True)]
                               for g, rows in runs.items()}}
        remedies[name] = {"text": remedy.text,
                          "added": {f"{k[0]}mos": added_devices(k, remedy) for k in (NFET, PFET)},
                          "kinds": kinds}
        report(name, remedy, remedies[name])
    result = {"command": COMMAND, "i_unit_na": ch.I_UNIT_NA, "i_in_units": ch.I_REF,
              "gmin": GMINS, "saturation_ut": SATURATION_UT,
              "conditions": [{**asdict(c), "condition": c.name,
                              "v_sum": ch.sum_voltage(**asdict(c))} for c in CONDITIONS],
              "drawings": {n: {"ratio": DRAWINGS[n][0], "drawing": drawing_text(n),
                               "target": DRIFT_TARGET[drawing_class(n)]} for n in NAMES},
              "remedies": remedies, "seconds": round(time.perf_counter() - start, 1)}
    write_text(RESULTS / "drain_matching.json", json.dumps(result, indent=1) + "\n")
    print(f"\n{result['seconds']} s; wrote {RESULTS / 'drain_matching.json'}")


if __name__ == "__main__":
    main()
