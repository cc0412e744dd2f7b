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

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bmru_pdk import rules
from bmru_pdk.errors import BmruError

MosKind = Literal["nfet_03v3", "pfet_03v3"]
NFET: MosKind = "nfet_03v3"
PFET: MosKind = "pfet_03v3"

# "sim": transistors as calls of the model subcircuits; "lvs": as M cards
SpiceForm = Literal["sim", "lvs"]

PinRole = Literal["supply", "ground", "input", "output", "bias"]
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
    """One MOSFET: ``fingers`` gates of width ``w`` in one device, ``multiplier`` copies.

    Attributes:
        name: instance name, unique in its circuit (``M1``); SPICE writes it as ``X<name>``.
        kind: gf180 model, ``nfet_03v3`` or ``pfet_03v3``.
        w: width of one finger, µm (on the 0.005 µm grid).
        l: gate length, µm.
        fingers: gates sharing diffusion (SPICE ``nf``).
        multiplier: parallel copies (SPICE ``m``).
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
    fingers: int = Field(default=1, ge=1)
    multiplier: int = Field(default=1, ge=1)
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

    @property
    def total_width(self) -> float:
        """Channel width of all fingers and copies, µm."""
        return rules.snap(self.w * self.fingers * self.multiplier)

    @property
    def area(self) -> float:
        """Gate area of all fingers and copies, µm²."""
        return self.total_width * self.l

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

    def spice(self, form: SpiceForm = "sim") -> str:
        """The device as one SPICE line (SI suffixes).

        Both forms carry the same parameters: ``w`` is the width of one copy (all fingers),
        ``m`` the copies, AS/AD/PS/PD those of one copy.

        Args:
            form: ``sim``, a call of the gf180 model subcircuit (``X<name>``); ``lvs``, an
                ``M<name>`` card, which readers take as a MOSFET of total width ``w * m``.
        """
        a_s, a_d, p_s, p_d = self.diffusion()
        nets = " ".join(self.nets().values())
        card = "X" if form == "sim" else "M"
        return (f"{card}{self.name} {nets} {self.kind} w={_u(self.w * self.fingers)} "
                f"l={_u(self.l)} nf={self.fingers} m={self.multiplier} as={a_s:.4g}p "
                f"ad={a_d:.4g}p ps={_u(p_s)} pd={_u(p_d)}")


def _u(x: float) -> str:
    return f"{round(x, 6):g}u"


class Pin(_Frozen):
    """A port of a circuit.

    Attributes:
        name: net name of the pin (the layout label).
        role: supply, ground, input, output or bias.
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
        for what, names in (("pin", [p.name for p in self.pins]),
                            ("device/instance", [d.name for d in self.devices]
                             + [i.name for i in self.instances])):
            dup = {n for n in names if names.count(n) > 1}
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
