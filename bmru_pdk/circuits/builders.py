"""Builders of the circuit library: typed parameters in, :class:`Circuit` out.

Conventions every builder follows (the layout must reproduce them as labels):

- pins ``vdd`` (1.8 V) and ``vss``; NMOS bulk on ``vss``, PMOS bulk on ``vdd``; with
  ``source_rail`` set, every NMOS mirror device's source sits on pin ``vsn`` instead (its
  bulk stays on ``vss``): the rail a hot tile holds above ground to cut leakage;
- all bias currents derive from one reference current ``i_ref`` (nA) sunk into the NMOS
  diode of :func:`bias_generator`; its gate line ``vbn`` and the PMOS gate line ``vbp``
  (a unit copy of the reference) run to every cell, whose bias transistors are the mirror
  outputs: one learned parameter <-> one transistor width;
- ratios are drawn from the unit device (:data:`bmru_pdk.circuits.sizing.UNIT`), whose
  diodes are one unit gate: whole units in parallel and series stacks of units
  (:func:`bmru_pdk.circuits.sizing.unit_ratio`); drawn ratios are nominal, the mapping
  functions of :mod:`bmru_pdk.circuits.mapping` pick them from characterised tables.
"""

from __future__ import annotations

import hashlib
import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bmru_pdk.circuits import names
from bmru_pdk.circuits.model import (
    NFET,
    PFET,
    VDD,
    VSN,
    VSS,
    Circuit,
    Device,
    Instance,
    MosKind,
    Pin,
)
from bmru_pdk.circuits.sizing import KEEPER, SWITCH, UNIT, WEAK, UnitDevice, unit_ratio


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def digest(self) -> str:
        """Six hex digits identifying these parameters (default circuit names); an option
        left unset (:data:`_OPTIONS`) is left out, so circuits drawn before it keep their
        names."""
        return hashlib.sha1(self.model_dump_json(exclude=self._unset_options()).encode()
                            ).hexdigest()[:6]

    def _unset_options(self) -> dict:
        """Pydantic's ``exclude`` for every option of :data:`_OPTIONS` left False, nested
        ones included."""
        out: dict = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if name in _OPTIONS and not value:
                out[name] = True
            elif isinstance(value, _Params) and (inner := value._unset_options()):
                out[name] = inner
        return out


# drawing options added after circuits were named: off, they leave a name as it was
_OPTIONS = ("source_rail", "keeper", "cascode", "held")


def _rail(kind: MosKind) -> str:
    return "vss" if kind == NFET else "vdd"


def _mos(name: str, kind: MosKind, d: str, g: str, ratio: float = 1.0, unit: UnitDevice = UNIT,
         param: str | None = None, source_rail: bool = False) -> Device:
    """A device of ``ratio`` units (the nearest drawing on the unit grid of ``unit``: whole
    units and series stacks, or k of a D-gate diode's gates), source and bulk on its rail; an
    NMOS's source on ``vsn`` with ``source_rail``. A diode and a unit copy are ratio 1: D
    gates."""
    r = unit_ratio(ratio, param or name, unit.diode_gates)
    rail = _rail(kind)
    source = VSN.name if source_rail and kind == NFET else rail
    return Device(name=name, kind=kind, w=unit.w, l=unit.l, fingers=r.whole, stacks=r.stacks,
                  of=r.of, d=d, g=g, s=source, b=rail, param=param)


def _diode(name: str, kind: MosKind, net: str, unit: UnitDevice = UNIT,
           source_rail: bool = False) -> Device:
    return _mos(name, kind, net, net, 1.0, unit, source_rail=source_rail)


def _cascoded(out: Device, unit: UnitDevice, per_gate: bool = True) -> list[Device]:
    """``out`` and, on a unit with ``cascodes``, the cascode between it and its drain: an
    NMOS on :data:`~bmru_pdk.circuits.names.NMOS_CASCODE_LINE`, or a PMOS on
    :data:`~bmru_pdk.circuits.names.PMOS_CASCODE_LINE` in an n-well of its own tied to its
    source (no body effect: its source-gate voltage is its replica's).

    A mirror output whose gain the tables compose from one-gate slots (a weight, a bias, a
    copy: ``per_gate``) has a cascode gate per gate of its own, so its gates carry the same
    current density whatever the ratio: every such output's drain sits at one voltage and k
    gates carry exactly k times one gate's current (a cascode sized by the output's whole
    units put a whole unit 0.08 % under four slots). A switched output of the cell, whose
    drawings the cell tables characterise as they are, keeps a cascode of its whole units,
    rounded up: its middle node stores little charge to spill when the switch turns (a
    cascode per gate, tried ad hoc, nearly doubled the cell's switch-on peak).
    """
    if not unit.cascodes:
        return [out]
    mid = names.cascode_source(out.name)
    nmos = out.kind == NFET
    line = names.NMOS_CASCODE_LINE if nmos else names.PMOS_CASCODE_LINE
    gates = (out.fingers * out.multiplier + len(out.stacks) if per_gate
             else max(1, math.ceil(out.ratio - 1e-9)))
    return [out.model_copy(update={"d": mid}),
            Device(name=names.cascode(out.name), kind=out.kind, w=unit.w, l=unit.l,
                   fingers=gates, d=out.d, g=line, s=mid, b="vss" if nmos else mid)]


def _cascode_diode(name: str, kind: MosKind, node: str, below: str, unit: UnitDevice) -> Device:
    """A one-gate cascode diode on ``node``, stacked on the diode at ``below``: an NMOS with
    its bulk on ``vss``, a PMOS in an n-well of its own tied to its source."""
    return Device(name=name, kind=kind, w=unit.w, l=unit.l, d=node, g=node, s=below,
                  b="vss" if kind == NFET else below)


def cascode_lines(unit: UnitDevice, *kinds: MosKind) -> list[Pin]:
    """The cascodes' gate lines a circuit with cascoded outputs of ``kinds`` takes (none on
    a unit without cascodes)."""
    if not unit.cascodes:
        return []
    lines = {NFET: Pin(name=names.NMOS_CASCODE_LINE, role="bias", signal="voltage",
                       doc="gate line of the NMOS cascodes (the reference's stack)"),
             PFET: Pin(name=names.PMOS_CASCODE_LINE, role="bias", signal="voltage",
                       doc="gate line of the PMOS cascodes (their replica's)")}
    return [lines[k] for k in (NFET, PFET) if k in kinds]


def _grounds(source_rail: bool) -> list[Pin]:
    """The ground pins of a circuit with NMOS devices: ``vss``, and ``vsn`` on a rail."""
    return [VSS, VSN] if source_rail else [VSS]


def _flow(kind: MosKind) -> Literal["sink", "source"]:
    """NMOS drains sink current from their node, PMOS drains source it."""
    return "sink" if kind == NFET else "source"


def _supplies(kind: MosKind, source_rail: bool) -> list[Pin]:
    return _grounds(source_rail) if kind == NFET else [VDD]


# ---------------------------------------------------------------- current mirror

class MirrorParams(_Params):
    """An NMOS or PMOS current mirror: one diode input, one output per ratio.

    Attributes:
        kind: ``nfet_03v3`` (input and outputs sink) or ``pfet_03v3`` (they source).
        ratios: output width / diode width, one per output (the weights).
        unit: unit device; the diode is one unit finger.
        source_rail: every NMOS mirror source on pin ``vsn`` (bulks stay on ``vss``).
        cascode: each output under (over) its cascode, on a unit with ``cascodes``: what an
            NMOS copy into a PMOS diode and a PMOS output onto an NMOS diode's node have.
        name: circuit name; default ``nmirror_<digest>`` / ``pmirror_<digest>``.
    """

    kind: MosKind
    ratios: list[float] = Field(min_length=1)
    unit: UnitDevice = UNIT
    source_rail: bool = False
    cascode: bool = False
    name: str | None = None


def current_mirror(p: MirrorParams) -> Circuit:
    """Diode ``MD`` at pin ``in``; output ``MO<k>`` at pin ``out<k>`` with ratio ``ratios[k]``
    (with ``cascode``, each with its cascode ``MO<k>C``).

    Pins: ``in`` (input current), ``out0``.. (output currents), the cascodes' line (with
    ``cascode``), ``vss`` (and ``vsn``) or ``vdd``.
    """
    flow = _flow(p.kind)
    rail = p.source_rail
    cascode = p.cascode and p.unit.cascodes
    devices = [_diode("MD", p.kind, "in", p.unit, rail)]
    for k, r in enumerate(p.ratios):
        out = _mos(f"MO{k}", p.kind, f"out{k}", "in", r, p.unit, f"ratio[{k}]", rail)
        devices += _cascoded(out, p.unit) if cascode else [out]
    pins = [Pin(name="in", role="input", signal="current", flow=flow, doc="diode input")]
    pins += [Pin(name=f"out{k}", role="output", signal="current", flow=flow,
                 doc=f"{r:g} x input") for k, r in enumerate(p.ratios)]
    pins += cascode_lines(p.unit, p.kind) if cascode else []
    prefix = "nmirror" if p.kind == NFET else "pmirror"
    return Circuit(name=p.name or f"{prefix}_{p.digest()}", pins=[*pins, *_supplies(p.kind, rail)],
                   devices=devices, doc=f"{prefix}: {len(p.ratios)} outputs")


# ---------------------------------------------------------------- bias generator

class BiasOutput(_Params):
    """One output of the bias generator: ``ratio`` x the reference, sunk or sourced at pin
    ``name``."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    ratio: float = Field(gt=0)
    flow: Literal["sink", "source"]


class BiasParams(_Params):
    """The reference of a tile and optional current outputs.

    Attributes:
        i_ref: the reference current sunk into pin ``iref``, nA (documentation of the
            operating point the tables were made at; the circuit scales with it).
        outputs: extra current outputs by width ratio.
        unit: unit device.
        source_rail: every NMOS mirror source on pin ``vsn`` (bulks stay on ``vss``).
        name: circuit name; default ``bias_<digest>``.
    """

    i_ref: float = Field(default=1.0, gt=0)
    outputs: list[BiasOutput] = []
    unit: UnitDevice = UNIT
    source_rail: bool = False
    name: str | None = None


def bias_generator(p: BiasParams) -> Circuit:
    """Reference diode ``MREF`` on the NMOS gate line ``vbn``; unit copy ``MPC`` into PMOS
    diode ``MPD`` (PMOS gate line ``vbp``); output ``MO_<name>`` per output (PMOS on ``vbp``
    if it sources, NMOS on ``vbn`` if it sinks).

    On a unit with ``cascodes`` the reference comes in at the top of a stack, a one-gate
    cascode diode ``MREFC`` over ``MREF``: its node is the NMOS cascodes' line ``vbnc``, and
    ``vbn`` is the node between. The PMOS cascodes' line ``vbpc`` is a replica: a unit copy
    ``MRN`` of the reference sunk from a one-gate PMOS cascode diode ``MRPC`` (in a well of
    its own) under a PMOS diode ``MRP``. ``MPC`` and the PMOS outputs are cascoded on them.

    Pins: ``vbn`` (the reference current goes in here, or at ``vbnc``; the line runs on to
    every cell), ``vbp``, the cascodes' lines, the outputs, ``vdd``, ``vss`` (and ``vsn``).
    """
    rail, u = p.source_rail, p.unit
    devices = [_diode("MREF", NFET, "vbn", u, rail),
               *_cascoded(_mos("MPC", NFET, "vbp", "vbn", 1.0, u, source_rail=rail), u),
               _diode("MPD", PFET, "vbp", u)]
    vbp = Pin(name="vbp", role="bias", signal="voltage", doc="PMOS bias gate line")
    if not u.cascodes:
        pins = [Pin(name="vbn", role="bias", signal="current", flow="sink",
                    doc=f"reference current in ({p.i_ref:g} nA) and NMOS bias gate line"), vbp]
    else:
        nc, pc = names.NMOS_CASCODE_LINE, names.PMOS_CASCODE_LINE
        devices += [_cascode_diode("MREFC", NFET, nc, "vbn", u),
                    _mos("MRN", NFET, pc, "vbn", 1.0, u, source_rail=rail),
                    _cascode_diode("MRPC", PFET, pc, "prep", u),
                    _diode("MRP", PFET, "prep", u)]
        pins = [Pin(name="vbn", role="bias", signal="voltage", doc="NMOS bias gate line"), vbp,
                Pin(name=nc, role="bias", signal="current", flow="sink",
                    doc=f"reference current in ({p.i_ref:g} nA) and the NMOS cascodes' "
                        "gate line"),
                *cascode_lines(u, PFET)]
    for o in p.outputs:
        if o.flow == "source":
            devices += _cascoded(_mos(f"MO_{o.name}", PFET, o.name, "vbp", o.ratio, u, o.name),
                                 u)
        else:
            devices.append(_mos(f"MO_{o.name}", NFET, o.name, "vbn", o.ratio, u, o.name, rail))
        pins.append(Pin(name=o.name, role="output", signal="current", flow=o.flow,
                        doc=f"{o.ratio:g} x reference"))
    return Circuit(name=p.name or f"bias_{p.digest()}", pins=[*pins, VDD, *_grounds(rail)],
                   devices=devices, doc="bias generator")


# ---------------------------------------------------------------- NMOS source rail generator

class RailGeneratorParams(_Params):
    """The generator of the NMOS source rail ``vsn``: a leakage servo that lifts the rail
    only as far as the tile's OFF devices need, through a flipped voltage follower that
    holds it against the tile's changing current (docs/corners.md, "The rail generator").

    Attributes:
        replicas: OFF unit NMOS devices in parallel whose leakage is servoed: gate and
            source on ``vsn``, bulk on ``vss``, as the tile's OFF mirror outputs.
        replica_block: replica gates per device (``MR0``, ``MR1``..): a drawing folds the
            devices into rows. LVS sees them in parallel as one (the extraction of a
            drawing gives one device per gate).
        follower_bias: the follower's bias current, as a ratio to the set current: what
            keeps the rail stiff (its loop gain and speed), and the generator's main draw.
        sink: ratio of the sink ``MS`` that carries the tile's NMOS current; it caps the
            rail (as a diode) where the leakage target is out of reach.
        cap: unit gates of the PMOS capacitor ``MCX`` on the servo's node ``x``.
        leak_target_pa: each replica's leakage the servo holds, pA; the set current taken
            in at pin ``iset`` is ``replicas`` x this (:attr:`i_set_pa`).
        unit: unit device.
        name: circuit name; default ``railgen_<digest>``.
    """

    replicas: int = Field(default=128, ge=1)
    replica_block: int = Field(default=16, ge=1)
    follower_bias: int = Field(default=16, ge=1)
    sink: float = Field(default=0.125, gt=0)
    cap: int = Field(default=12, ge=1)
    # 1 pA: eight OFF unit outputs on a rail then leak ~6 % of the smallest threshold drawn
    # at 0.2 nA per unit (132 pA, docs/corners.md's leakage floor)
    leak_target_pa: float = Field(default=1.0, gt=0)
    unit: UnitDevice = UNIT
    name: str | None = None

    @property
    def i_set_pa(self) -> float:
        """The set current the generator's pin ``iset`` takes, pA."""
        return self.replicas * self.leak_target_pa


def rail_generator(p: RailGeneratorParams) -> Circuit:
    """Leakage servo on ``vsn``. The replicas' leakage, copied by ``MPD``/``MPC``, sources
    into node ``x`` against the set current that ``MNR``/``MNS`` sink from it: cold, the
    replicas leak less, ``x`` falls to ground and the rail with it; hot, ``x`` rises until
    the rail's reverse body bias brings each replica's leakage down to ``iset / replicas``.
    ``x`` drives a flipped voltage follower: ``MF`` (gate ``x``, source on the rail) carries
    the bias ``MPY`` sources into node ``y``, and ``MS`` (gate ``y``) sinks the rest of the
    tile's current, so the rail sits a Vgs below ``x`` with the follower's loop gain
    against changes of the tile's current. ``MNB``/``MPB`` make the bias from the set
    current.

    Pins: ``vsn`` (the rail: the tile's NMOS current in), ``iset`` (set current in:
    ``replicas`` x the leakage target), ``vdd``, ``vss``.
    """
    u = p.unit
    unit = {"w": u.w, "l": u.l}
    rail = VSN.name
    step = p.replica_block
    blocks = [min(step, p.replicas - k) for k in range(0, p.replicas, step)]
    devices = [
        *(Device(name=f"MR{k}", kind=NFET, **unit, fingers=n, d="p", g=rail, s=rail, b="vss",
                 param="replicas") for k, n in enumerate(blocks)),
        _diode("MPD", PFET, "p", u), _mos("MPC", PFET, "x", "p", 1.0, u),
        _diode("MNR", NFET, "iset", u), _mos("MNS", NFET, "x", "iset", 1.0, u),
        _mos("MNB", NFET, "b", "iset", 1.0, u), _diode("MPB", PFET, "b", u),
        _mos("MPY", PFET, "y", "b", p.follower_bias, u, "follower_bias"),
        Device(name="MF", kind=NFET, **unit, d="y", g="x", s=rail, b="vss"),
        _mos("MS", NFET, rail, "y", p.sink, u, "sink"),
        Device(name="MCX", kind=PFET, **unit, fingers=p.cap, d="vdd", g="x", s="vdd",
               b="vdd", param="cap"),
    ]
    pins = [Pin(name=rail, role="output", signal="current", flow="sink",
                doc="the NMOS source rail: the tile's NMOS current in"),
            Pin(name="iset", role="bias", signal="current", flow="sink",
                doc="set current in: replicas x the leakage target"),
            VDD, VSS]
    return Circuit(name=p.name or f"railgen_{p.digest()}", pins=pins, devices=devices,
                   doc="NMOS source rail generator (leakage servo, flipped voltage follower)")


# ---------------------------------------------------------------- hysteretic cell

class CellParams(_Params):
    """The hysteretic FQ-BMRU cell, its bias currents as drawn ratios to the reference.

    Nominally beta_hi = r_thresh, delta = r_width, beta_lo = r_thresh - r_width and
    alpha = r_gain, each x i_ref; :func:`bmru_pdk.circuits.mapping.cell_ratios` picks
    calibrated ratios for learned values.

    Attributes:
        r_thresh: width ratio of ``M2`` (I_thresh).
        r_width: width ratio of ``M8`` (I_width).
        r_gain: width ratio of ``M5`` (I_gain).
        unit: unit device of the mirrors.
        switch: size of the switches ``M3``, ``M6`` (gate on the decision node).
        source_rail: every NMOS mirror source on pin ``vsn`` (bulks stay on ``vss``).
        keeper: hold the output switch's tail node ``tg`` up while the cell is OFF: PMOS
            ``MK`` (switch size, gate ``v0``) then sources I_gain, so switching on draws no
            charge to lift ``tg`` through the output's diode ``M4`` (the output's overshoot
            at switch-on); it costs I_gain's current while OFF.
        held: the output holds the state sampled at the last rising edge of pin ``clk``
            (:func:`sampler`): the output switch ``M3`` (and the keeper) take their gate
            from the sampled state ``st`` instead of ``v0``.
        name: circuit name; default ``bmru_cell_<digest>``.
    """

    r_thresh: float = Field(gt=0)
    r_width: float = Field(gt=0)
    r_gain: float = Field(gt=0)
    unit: UnitDevice = UNIT
    switch: UnitDevice = SWITCH
    source_rail: bool = False
    keeper: bool = False
    held: bool = False
    name: str | None = None

    @model_validator(mode="after")
    def _width_below_threshold(self) -> CellParams:
        if self.r_width >= self.r_thresh:
            raise ValueError(f"r_width={self.r_width} must be below r_thresh={self.r_thresh}: "
                             "the cell would never switch off")
        return self


CELL_PINS = [
    Pin(name="in", role="input", signal="current", flow="source",
        doc="candidate current c: the cell's PMOS diode MIN sources it into an NMOS sink"),
    Pin(name="vbn", role="bias", signal="voltage", doc="NMOS bias line of the reference"),
    Pin(name="out", role="output", signal="current", flow="source",
        doc="h = alpha when ON, ~0 when OFF"),
    VDD, VSS,
]


CLOCK_PIN = Pin(name=names.CLOCK, role="clock", signal="voltage",
                doc="frame clock: held outputs take the states at its rising edge (frame end)")


def _inverter(name: str, a: str, y: str, sw: UnitDevice, tail: str | None = None) -> list[Device]:
    """A CMOS inverter ``a`` -> ``y`` of switch devices; with ``tail`` its NMOS source is that
    net (a current-starved pull-down)."""
    return [Device(name=f"{name}P", kind=PFET, w=sw.w, l=sw.l, d=y, g=a, s="vdd", b="vdd"),
            Device(name=f"{name}N", kind=NFET, w=sw.w, l=sw.l, d=y, g=a, s=tail or "vss",
                   b="vss")]


def _pass_gate(name: str, a: str, b: str, on: str, off: str, sw: UnitDevice) -> list[Device]:
    """A transmission gate between ``a`` and ``b``, conducting while ``on`` is high (its NMOS
    gate) and ``off`` low (its PMOS gate)."""
    return [Device(name=f"{name}N", kind=NFET, w=sw.w, l=sw.l, d=b, g=on, s=a, b="vss"),
            Device(name=f"{name}P", kind=PFET, w=sw.w, l=sw.l, d=b, g=off, s=a, b="vdd")]


def sampler(sw: UnitDevice, u: UnitDevice, rail: bool) -> list[Device]:
    """The sample-and-hold of a held cell: the decision node ``v0`` sampled at each rising
    edge of ``clk`` into net ``st`` (high while the sampled state is ON), held until the next.

    ``v0`` swings rail to rail, but slowly near a threshold: the first inverter ``MS``
    (``v0`` -> ``nb``) has its pull-down starved by a switch-size tail ``MT`` on ``vbn``, so
    a decision node resting between the rails draws a fraction of a nA through it, not a
    logic inverter's µA. Then a static master-slave flip-flop of transmission gates (``MA``,
    ``MB``, ``MD``, ``ME``) and inverters (``MJ``, ``MQ``, ``ML``, ``MM``), its master
    transparent while ``clk`` is low, with its own clock inverter ``MC`` (net ``clkb``):
    static, so a held state does not leak away over a frame at 125 °C, and drawing current
    only when it switches. ``nb`` falls slowly (starved), so the master's forward inverter
    ``MJ`` that sees it is :data:`~bmru_pdk.circuits.sizing.WEAK` (drawn at switch size, its
    crowbar current while ``nb`` crossed the middle was most of the held tile's cell power);
    the latches' feedback inverters ``MQ``, ``MM`` are weaker still
    (:data:`~bmru_pdk.circuits.sizing.KEEPER`), so the forward path overwrites them where
    the clock's two phases overlap.
    """
    return [
        *_inverter("MS", "v0", "nb", sw, tail="ti"),
        Device(name="MT", kind=NFET, w=sw.w, l=sw.l, d="ti", g="vbn", s=VSN.name if rail
               else "vss", b="vss"),
        *_inverter("MC", names.CLOCK, "clkb", sw),
        *_pass_gate("MA", "nb", "m1", "clkb", names.CLOCK, sw),  # master: open while clk low
        *_inverter("MJ", "m1", "m2", WEAK),
        *_inverter("MQ", "m2", "m3", KEEPER),
        *_pass_gate("MB", "m3", "m1", names.CLOCK, "clkb", sw),  # master keeps while high
        *_pass_gate("MD", "m2", "st", names.CLOCK, "clkb", sw),  # slave: open while clk high
        *_inverter("ML", "st", "stb", sw),
        *_inverter("MM", "stb", "s2", KEEPER),
        *_pass_gate("ME", "s2", "st", "clkb", names.CLOCK, sw),  # slave keeps while low
    ]


def bmru_cell(p: CellParams) -> Circuit:
    """The 9-transistor hysteretic cell of the design brief, with its input diode and output.

    Decision node ``v0``: ``M1`` (PMOS, mirrors ``MIN``) sources c, ``M2`` (NMOS on ``vbn``)
    sinks I_thresh, ``M9`` (PMOS) sources the feedback. ``M3`` (gate ``v0``, tail ``M5`` =
    I_gain at net ``tg``) drives PMOS diode ``M4`` (net ``vpo``), copied to pin ``out`` by
    ``MOUT``. ``M6`` (gate ``v0``, tail ``M8`` = I_width at net ``tw``) drives PMOS diode
    ``M7`` (net ``vfb``), mirrored into ``v0`` by ``M9``. ON when c > I_thresh, OFF when
    c < I_thresh - I_width. With ``source_rail`` the mirror outputs ``M2``, ``M5``, ``M8``
    have their sources on ``vsn``. On a unit with ``cascodes`` the tails ``M5``, ``M8`` (whose
    drains sit near VDD while the switch is on) and ``MOUT`` have theirs (``M5C``..), and
    the cell takes the cascodes' lines.
    """
    u, sw, rail = p.unit, p.switch, p.source_rail
    switch = "st" if p.held else "v0"  # what the output switch follows
    devices = [
        _diode("MIN", PFET, "in", u),
        _mos("M1", PFET, "v0", "in", 1.0, u),
        _mos("M2", NFET, "v0", "vbn", p.r_thresh, u, "beta_hi", rail),
        Device(name="M3", kind=NFET, w=sw.w, l=sw.l, d="vpo", g=switch, s="tg", b="vss"),
        _diode("M4", PFET, "vpo", u),
        *_cascoded(_mos("M5", NFET, "tg", "vbn", p.r_gain, u, "alpha", rail), u, False),
        Device(name="M6", kind=NFET, w=sw.w, l=sw.l, d="vfb", g="v0", s="tw", b="vss"),
        _diode("M7", PFET, "vfb", u),
        *_cascoded(_mos("M8", NFET, "tw", "vbn", p.r_width, u, "delta", rail), u, False),
        _mos("M9", PFET, "v0", "vfb", 1.0, u),
        *_cascoded(_mos("MOUT", PFET, "out", "vpo", 1.0, u), u, False),
    ]
    if p.keeper:
        devices.append(Device(name="MK", kind=PFET, w=sw.w, l=sw.l, d="tg", g=switch,
                              s="vdd", b="vdd"))
    if p.held:
        devices += sampler(sw, u, rail)
    pins = [*CELL_PINS, *cascode_lines(u, NFET, PFET), *([VSN] if rail else []),
            *([CLOCK_PIN] if p.held else [])]
    return Circuit(name=p.name or f"bmru_cell_{p.digest()}", pins=pins, devices=devices,
                   doc="hysteretic FQ-BMRU cell")


# ---------------------------------------------------------------- summing node + ReLU

class ReluParams(_Params):
    """Summing node with ReLU: NMOS diode ``MRELU`` and its unit copy ``MC`` (their sources
    on ``vsn`` with ``source_rail``)."""

    unit: UnitDevice = UNIT
    source_rail: bool = False
    name: str | None = None


def relu_node(p: ReluParams) -> Circuit:
    """NMOS diode ``MRELU`` at pin ``sum`` absorbs max(net current into ``sum``, 0); ``MC``
    sinks a copy of it from pin ``c`` (wire ``c`` to a cell's ``in``), under its cascode on a
    unit with ``cascodes`` (its drain sits at the cell's PMOS input diode).

    Pins: ``sum`` (summing rail), ``c`` (candidate current out, sunk), the NMOS cascodes'
    line (with ``cascodes``), ``vss`` (and ``vsn``).
    """
    rail = p.source_rail
    devices = [_diode("MRELU", NFET, "sum", p.unit, rail),
               *_cascoded(_mos("MC", NFET, "c", "sum", 1.0, p.unit, source_rail=rail), p.unit)]
    pins = [Pin(name="sum", role="input", signal="current", flow="sink",
                doc="summing rail: weights source/sink here"),
            Pin(name="c", role="output", signal="current", flow="sink",
                doc="candidate current max(sum, 0), sunk"), *cascode_lines(p.unit, NFET),
            *_grounds(rail)]
    return Circuit(name=p.name or f"relu_{p.digest()}", pins=pins, devices=devices,
                   doc="summing node with ReLU")


# ---------------------------------------------------------------- weight array

class WeightArrayParams(_Params):
    """A d_in x d_out signed weight matrix on d_out summing rails.

    Attributes:
        ratios: drawn ratio per weight, ``ratios[i][j]`` from input i to rail j; the sign
            picks PMOS (sources, > 0) or NMOS (sinks, < 0); 0 draws nothing.
        unit: unit device.
        source_rail: every NMOS mirror source on pin ``vsn`` (bulks stay on ``vss``).
        name: circuit name; default ``weights_<digest>``.
    """

    ratios: list[list[float]] = Field(min_length=1)
    unit: UnitDevice = UNIT
    source_rail: bool = False
    name: str | None = None

    @model_validator(mode="after")
    def _rectangular(self) -> WeightArrayParams:
        if len({len(r) for r in self.ratios}) != 1 or not self.ratios[0]:
            raise ValueError("ratios must be a non-empty rectangular d_in x d_out matrix")
        return self


def weight_array(p: WeightArrayParams) -> Circuit:
    """Per input i: NMOS diode ``MXN<i>`` at pin ``x<i>``; if a weight of row i is positive,
    unit copy ``MXC<i>`` into PMOS diode ``MXP<i>`` (net ``xp<i>``). Weight (i, j): ``MW<i>_<j>``
    from ``xp<i>`` (PMOS, sources) or ``x<i>`` (NMOS, sinks) onto rail pin ``s<j>``. On a unit
    with ``cascodes`` each copy ``MXC<i>`` and each PMOS weight has its cascode.

    Pins: ``x0``.. (input currents, sunk), ``s0``.. (summing rails), the cascodes' lines
    (with ``cascodes`` and a positive weight), ``vdd``, ``vss`` (and ``vsn``).
    """
    u, rail = p.unit, p.source_rail
    d_out = len(p.ratios[0])
    devices: list[Device] = []
    for i, row in enumerate(p.ratios):
        devices.append(_diode(f"MXN{i}", NFET, f"x{i}", u, rail))
        if any(r > 0 for r in row):
            devices += [*_cascoded(_mos(f"MXC{i}", NFET, f"xp{i}", f"x{i}", 1.0, u,
                                        source_rail=rail), u),
                        _diode(f"MXP{i}", PFET, f"xp{i}", u)]
        for j, r in enumerate(row):
            name, param = names.weight_device(i, j), f"weight[{i}][{j}]"
            if r > 0:
                devices += _cascoded(_mos(name, PFET, f"s{j}", f"xp{i}", r, u, param), u)
            elif r < 0:
                devices.append(_mos(name, NFET, f"s{j}", f"x{i}", -r, u, param, rail))
    pins = [Pin(name=f"x{i}", role="input", signal="current", flow="sink", doc=f"input {i}")
            for i in range(len(p.ratios))]
    pins += [Pin(name=f"s{j}", role="output", signal="current", flow="source",
                 doc=f"summing rail {j} (net current sourced)") for j in range(d_out)]
    pins += cascode_lines(u, NFET, PFET) if any(r > 0 for row in p.ratios for r in row) else []
    return Circuit(name=p.name or f"weights_{p.digest()}", pins=[*pins, VDD, *_grounds(rail)],
                   devices=devices, doc=f"{len(p.ratios)} x {d_out} weight array")


# ---------------------------------------------------------------- BMRU unit

class UnitParams(_Params):
    """A BMRU unit: summing node + ReLU + bias b + cell (with its output mirror).

    Attributes:
        cell: the cell's ratios.
        r_bias: drawn ratio of the bias transistor ``MB`` on the summing rail: > 0 sources
            (PMOS on ``vbp``), < 0 sinks (NMOS on ``vbn``), 0 draws none.
        name: circuit name; default ``bmru_unit_<digest>``.
    """

    cell: CellParams
    r_bias: float = 0.0
    name: str | None = None


def bmru_unit(p: UnitParams) -> Circuit:
    """Instances ``relu`` (:func:`relu_node`) and ``cell`` (:func:`bmru_cell`), net ``c``
    between them, and the bias transistor ``MB`` on the rail ``sum``.

    Pins: ``sum`` (summing rail), ``vbn``, ``vbp``, the cascodes' lines (on a unit with
    ``cascodes``), ``out``, ``vdd``, ``vss`` (and ``vsn``, the cell's ``source_rail`` drawing
    the whole unit's; ``clk`` for a held cell).
    """
    u, rail = p.cell.unit, p.cell.source_rail
    relu = relu_node(ReluParams(unit=u, source_rail=rail))
    cell = bmru_cell(p.cell)
    devices = []
    if p.r_bias > 0:
        devices += _cascoded(_mos("MB", PFET, "sum", "vbp", p.r_bias, u, "b"), u)
    elif p.r_bias < 0:
        devices.append(_mos("MB", NFET, "sum", "vbn", -p.r_bias, u, "b", rail))
    grounds = {g.name: g.name for g in _grounds(rail)}
    lines = cascode_lines(u, NFET, PFET)
    own = {line.name: line.name for line in lines}
    clock = [CLOCK_PIN] if p.cell.held else []
    instances = [
        Instance(name="relu", circuit=relu, nets={"sum": "sum", "c": "c"} | grounds
                 | {k: v for k, v in own.items() if k == names.NMOS_CASCODE_LINE}),
        Instance(name="cell", circuit=cell, nets={"in": "c", "vbn": "vbn", "out": "out",
                                                  "vdd": "vdd"} | own | grounds
                 | {pin.name: pin.name for pin in clock}),
    ]
    pins = [relu.pin("sum"), cell.pin("vbn"),
            Pin(name="vbp", role="bias", signal="voltage", doc="PMOS bias line"), *lines,
            cell.pin("out"), VDD, *_grounds(rail), *clock]
    return Circuit(name=p.name or f"bmru_unit_{p.digest()}", pins=pins, devices=devices,
                   instances=instances, doc="BMRU unit")
