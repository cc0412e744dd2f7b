"""One typed description of transistor circuits, shared by the schematic and layout generators.

A :class:`Circuit` is a list of :class:`Device` (3.3 V gf180 MOSFETs) and :class:`Instance`
(sub-circuits), wired by net name. Net names are the labels a layout must carry for LVS.
:meth:`Circuit.to_spice` writes ``.subckt`` blocks whose transistors are calls of the gf180
model subcircuits (``X... nfet_03v3 w=... l=... nf=... m=...``), the form the extractor
writes, so schematic and extracted netlists simulate alike (statistical mismatch included).
``to_spice(form="lvs")`` writes the same devices as ``M`` cards, the only transistors the
official gf180mcu LVS deck reads.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bmru_pdk import rules
from bmru_pdk.circuits import names
from bmru_pdk.errors import BmruError
from bmru_pdk.spice import SOURCE_RAIL

MosKind = Literal["nfet_03v3", "pfet_03v3"]
NFET: MosKind = "nfet_03v3"
PFET: MosKind = "pfet_03v3"

# "sim": transistors as calls of the model subcircuits; "lvs": as M cards
SpiceForm = Literal["sim", "lvs"]

# analog: a node the circuit holds itself, brought out as a test point
PinRole = Literal["supply", "ground", "input", "output", "bias", "clock", "analog"]
PinSignal = Literal["power", "current", "voltage"]
Flow = Literal["sink", "source"]

_NAME = r"^[A-Za-z][A-Za-z0-9_]*$"

# Source/drain strip lengths (µm) along the channel for the AS/AD/PS/PD estimates:
# an end strip holds one contact row and its COMP enclosure, an inner one a contact
# between two gates.
_END_STRIP = rules.COMP_ENC_CONTACT.value + rules.CONTACT_SIZE.value + rules.CONTACT_TO_GATE.value
_INNER_STRIP = rules.CONTACT_SIZE.value + 2 * rules.CONTACT_TO_GATE.value


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Device(_Frozen):
    """One MOSFET: ``fingers`` gates of width ``w`` in one device, ``multiplier`` copies;
    with ``stacks``, series stacks of the same gate beside them (unit-element ratios).

    A stack of n gates in series carries about 1/n of one gate's current: a ratio below one
    unit is drawn with unit gates, never with a narrower finger, whose narrow-width effect
    moves with temperature.

    Attributes:
        name: instance name, unique in its circuit (``M1``); SPICE writes it as ``X<name>``.
        kind: gf180 model, ``nfet_03v3`` or ``pfet_03v3``.
        w: width of one finger, µm (on the 0.005 µm grid).
        l: gate length, µm.
        fingers: gates sharing diffusion (SPICE ``nf``); 0 when only stacks are drawn.
        stacks: gates in series of each series stack, in parallel with the fingers (each
            at least 2); SPICE writes stack k's gate j, counted from the drain, as
            ``X`` + :func:`~bmru_pdk.circuits.names.stack_gate`, its source net the next
            gate's name (the last gate's source is ``s``).
        multiplier: parallel copies (SPICE ``m``).
        of: the gates of the diode it copies, when more than one: its ratio is its gates
            over them (:class:`~bmru_pdk.circuits.sizing.UnitDevice` ``diode_gates``).
        d: drain net.
        g: gate net.
        s: source net.
        b: bulk net.
        param: the learned parameter this device realises (``weight[2][0]``, ``alpha``), if any.
    """

    name: str = Field(pattern=_NAME)
    kind: MosKind
    w: float = Field(ge=rules.CHANNEL_WIDTH_MIN.value, le=rules.CHANNEL_WIDTH_MAX.value)
    l: float = Field(ge=rules.GATE_LENGTH_MIN.value)  # noqa: E741  (the device's L)
    fingers: int = Field(default=1, ge=0)
    stacks: tuple[int, ...] = ()
    multiplier: int = Field(default=1, ge=1)
    of: int = Field(default=1, ge=1)
    d: str = Field(pattern=_NAME)
    g: str = Field(pattern=_NAME)
    s: str = Field(pattern=_NAME)
    b: str = Field(pattern=_NAME)
    param: str | None = None

    @field_validator("w", "l")
    @classmethod
    def _on_grid(cls, v: float) -> float:
        if abs(rules.snap(v) - v) > 1e-9:
            raise ValueError(f"{v} µm is not on the {rules.GRID.value} µm grid")
        return rules.snap(v)

    @model_validator(mode="after")
    def _drawn(self) -> Device:
        if self.fingers + len(self.stacks) < 1:
            raise ValueError(f"device {self.name} has no gate: fingers or stacks needed")
        if any(n < 2 for n in self.stacks):
            raise ValueError(f"device {self.name}: a series stack has at least 2 gates")
        if self.stacks and self.multiplier > 1:
            # the layout draws a chain per copy: m copies would share inner nets in SPICE
            raise ValueError(f"device {self.name}: series stacks cannot be copied (m > 1)")
        return self

    @property
    def total_width(self) -> float:
        """Channel width of all fingers and copies, µm (stacks not counted: their width is
        that of one gate)."""
        return rules.snap(self.w * self.fingers * self.multiplier)

    @property
    def ratio(self) -> float:
        """Current ratio to its diode: fingers, plus 1/n per stack of n, times the copies,
        over the diode's gates (nominal: the tables give a stack's characterised share)."""
        return (self.fingers + sum(1 / n for n in self.stacks)) * self.multiplier / self.of

    @property
    def drawing(self) -> str:
        """How the device is drawn, in units of one gate: ``2 + 1/3 (4 x 4 µm)``, or of its
        diode's gates: ``3 of 4 (4 x 4 µm)``."""
        parts = ([str(self.fingers)] if self.fingers else []) + [f"1/{n}" for n in self.stacks]
        copies = f"{self.multiplier} x ({' + '.join(parts)})" if self.multiplier > 1 else (
            " + ".join(parts))
        of = f" of {self.of}" if self.of > 1 else ""
        return f"{copies}{of} ({self.w:g} x {self.l:g} µm)"

    @property
    def transistors(self) -> int:
        """SPICE transistors of one copy: the fingers' card and one per stacked gate."""
        return (1 if self.fingers else 0) + sum(self.stacks)

    @property
    def gates(self) -> int:
        """Gates of one copy, fingers and stacked ones."""
        return self.fingers + sum(self.stacks)

    @property
    def area(self) -> float:
        """Gate area of all gates and copies, µm²."""
        return rules.snap(self.w * self.gates * self.multiplier) * self.l

    def nets(self) -> dict[str, str]:
        """Terminal name -> net, in SPICE order d g s b."""
        return {"d": self.d, "g": self.g, "s": self.s, "b": self.b}

    def diffusion(self) -> tuple[float, float, float, float]:
        """Estimated (AS, AD, PS, PD) of one copy in µm², µm (gate edges excluded).

        Strips alternate source, drain, source...; the two end strips are shorter than the
        inner ones, which sit between two gates.
        """
        strips = [_END_STRIP] + [_INNER_STRIP] * (self.fingers - 1) + [_END_STRIP]
        src, drn = strips[0::2], strips[1::2]

        def perimeter(side: list[float], ends: int) -> float:
            return sum(2 * x for x in side) + ends * self.w

        ends_s = 1 + (len(strips) % 2)  # both end strips are sources when fingers is even
        return (self.w * sum(src), self.w * sum(drn),
                perimeter(src, ends_s), perimeter(drn, 2 - ends_s))

    def stack_gates(self) -> list[Device]:
        """Every gate of the series stacks as a one-finger device, named and wired as
        :meth:`spice` writes them."""
        gates = []
        for k, n in enumerate(self.stacks):
            node = [self.d, *(names.stack_gate(self.name, k, j) for j in range(1, n)), self.s]
            gates += [self.model_copy(update={
                "name": names.stack_gate(self.name, k, j), "fingers": 1, "stacks": (), "d": node[j],
                "s": node[j + 1], "param": None}) for j in range(n)]
        return gates

    def spice(self, form: SpiceForm = "sim") -> str:
        """The device as SPICE lines (SI suffixes): one for the fingers, one per stacked gate.

        Both forms carry the same parameters: ``w`` is the width of one copy (all fingers),
        ``m`` the copies, AS/AD/PS/PD those of one copy.

        Args:
            form: ``sim``, a call of the gf180 model subcircuit (``X<name>``); ``lvs``, an
                ``M<name>`` card, which readers take as a MOSFET of total width ``w * m``.
        """
        lines = [g.spice(form) for g in self.stack_gates()]
        if self.fingers:
            a_s, a_d, p_s, p_d = self.diffusion()
            nets = " ".join(self.nets().values())
            card = "X" if form == "sim" else "M"
            lines.insert(0, f"{card}{self.name} {nets} {self.kind} "
                            f"w={_u(self.w * self.fingers)} l={_u(self.l)} nf={self.fingers} "
                            f"m={self.multiplier} as={a_s:.4g}p ad={a_d:.4g}p ps={_u(p_s)} "
                            f"pd={_u(p_d)}")
        return "\n".join(lines)


def _u(x: float) -> str:
    return f"{round(x, 6):g}u"


class Pin(_Frozen):
    """A port of a circuit.

    Attributes:
        name: net name of the pin (the layout label).
        role: supply, ground, input, output, bias, clock or analog (a test point).
        signal: what the pin carries: power, a current or a (gate) voltage.
        flow: for current pins, ``sink`` if the circuit takes conventional current in at the
            pin, ``source`` if it pushes current out of it.
        doc: one line for the layout engineer.
    """

    name: str = Field(pattern=_NAME)
    role: PinRole
    signal: PinSignal
    flow: Flow | None = None
    doc: str = ""

    @model_validator(mode="after")
    def _flow_for_currents(self) -> Pin:
        if (self.signal == "current") != (self.flow is not None):
            raise ValueError(f"pin {self.name}: current pins, and only they, have a flow")
        return self


VDD = Pin(name="vdd", role="supply", signal="power", doc="1.8 V supply, PMOS bulk")
VSS = Pin(name="vss", role="ground", signal="power", doc="ground, NMOS bulk")
# The NMOS source rail a tile may draw (docs/corners.md, "The rail in the tile"): every NMOS
# mirror device's source, its bulk staying on vss; tied to vss, or held above it when hot.
VSN = Pin(name=SOURCE_RAIL, role="ground", signal="power",
          doc="NMOS source rail: tie to vss, or hold it up to 1 V above vss when hot")


def clock_guards(pins: list[Pin]) -> dict[str, tuple[str, str]]:
    """The nets whose tracks a router runs on either side of each clock pin's, between it and
    every other track: ground inside, supply outside. A clock swings rail to rail twice a
    frame; beside a current net held at a few hundred mV by a nA source it couples tens of
    fF over a long cell (a held unit's output, docs/compare.md), where the rails absorb the
    kick."""
    return {p.name: (VSS.name, VDD.name) for p in pins if p.role == "clock"}


class Instance(_Frozen):
    """A sub-circuit placed in a circuit: pin name of ``circuit`` -> net of the parent."""

    name: str = Field(pattern=_NAME)
    circuit: Circuit
    nets: dict[str, str]

    @model_validator(mode="after")
    def _all_pins_wired(self) -> Instance:
        pins = [p.name for p in self.circuit.pins]
        if sorted(pins) != sorted(self.nets):
            raise ValueError(f"instance {self.name} of {self.circuit.name} must wire pins "
                             f"{pins}, got {sorted(self.nets)}")
        return self


class Circuit(_Frozen):
    """A named circuit with ordered pins, devices and sub-circuit instances.

    Attributes:
        name: ``.subckt`` name and layout cell name.
        pins: ports in ``.subckt`` order.
        devices: transistors drawn in this circuit.
        instances: sub-circuits placed in this circuit.
        doc: one line on what the circuit does.
    """

    name: str = Field(pattern=_NAME)
    pins: list[Pin]
    devices: list[Device] = []
    instances: list[Instance] = []
    doc: str = ""

    @model_validator(mode="after")
    def _names_unique(self) -> Circuit:
        for what, seen in (("pin", [p.name for p in self.pins]),
                           ("device/instance", [d.name for d in self.devices]
                            + [i.name for i in self.instances])):
            dup = {n for n, k in Counter(seen).items() if k > 1}  # list.count: quadratic
            if dup:
                raise ValueError(f"circuit {self.name}: duplicate {what} names {sorted(dup)}")
        return self

    def pin(self, name: str) -> Pin:
        """The pin called ``name``."""
        for p in self.pins:
            if p.name == name:
                return p
        raise BmruError(f"circuit {self.name} has no pin {name!r}: "
                        f"pins are {', '.join(p.name for p in self.pins)}")

    def device(self, name: str) -> Device:
        """The device called ``name`` (hierarchical ``inst.M1`` names reach into instances)."""
        for d in self.flat_devices():
            if d.name == name:
                return d
        raise BmruError(f"circuit {self.name} has no device {name!r}")

    def nets(self) -> list[str]:
        """All nets of this level, pins first, in order of appearance."""
        seen = [p.name for p in self.pins]
        seen += [n for d in self.devices for n in d.nets().values()]
        seen += [n for i in self.instances for n in i.nets.values()]
        return list(dict.fromkeys(seen))

    def flat_devices(self) -> list[Device]:
        """Every transistor of the hierarchy; inside instance ``u`` names and internal nets
        become ``u.M1`` and ``u.net`` (pins take the parent's net)."""
        out = list(self.devices)
        for inst in self.instances:
            for d in inst.circuit.flat_devices():
                nets = {t: inst.nets.get(n, f"{inst.name}.{n}") for t, n in d.nets().items()}
                out.append(d.model_construct(**{**dict(d), **nets,
                                                "name": f"{inst.name}.{d.name}"}))
        return out

    def subcircuits(self) -> list[Circuit]:
        """This circuit and every circuit it instantiates, children first, one per name."""
        found: dict[str, Circuit] = {}

        def visit(c: Circuit) -> None:
            for inst in c.instances:
                visit(inst.circuit)
            if c.name in found and found[c.name] != c:
                raise BmruError(f"two different circuits are both named {c.name}: "
                                "give one of them another name")
            found[c.name] = c

        visit(self)
        return list(found.values())

    def subckt(self, form: SpiceForm = "sim") -> str:
        """This level alone as a ``.subckt`` block.

        Args:
            form: how transistors are written (:meth:`Device.spice`).
        """
        lines = [f".subckt {self.name} {' '.join(p.name for p in self.pins)}"]
        if self.doc:
            lines.insert(0, f"* {self.doc}")
        lines += [d.spice(form) for d in self.devices]
        for inst in self.instances:
            nets = " ".join(inst.nets[p.name] for p in inst.circuit.pins)
            lines.append(f"X{inst.name} {nets} {inst.circuit.name}")
        lines.append(f".ends {self.name}")
        return "\n".join(lines)

    def to_spice(self, form: SpiceForm = "sim") -> str:
        """The whole hierarchy as ``.subckt`` blocks, children first (no models, no ``.end``).

        Args:
            form: ``sim`` to simulate with the gf180 models, ``lvs`` for the official LVS
                deck (:meth:`Device.spice`).
        """
        return "\n\n".join(c.subckt(form) for c in self.subcircuits()) + "\n"


Instance.model_rebuild()
