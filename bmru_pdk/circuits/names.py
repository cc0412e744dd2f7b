"""Every name the circuit gives its pins, nets, instances, devices and learned parameters.

The schematic builders, the layout, the mapping table and the analyses all ask this module
instead of formatting or parsing names of their own, so a name changes in one place.

Tile nets: inputs ``x<i>`` (layer 0), rails ``s<l>_<j>`` and unit outputs ``h<l>_<j>``
(layer l, unit j), outputs ``y<k>`` (readout rails), ``iref``, ``vbp``, ``vdd``, ``vss``
(and ``vsn``, and the rail generator's set current ``iset``).
Instances: ``bias``, the weight arrays ``w<l>`` and ``wo``, the units ``u<l>_<j>`` (and
``railgen``, the NMOS source rail's generator).
Parameters as the checkpoint names them: ``layers.<l>.<tensor>[j]([i])``, ``readout.W[k][j]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

REF = "iref"
CLOCK = "clk"  # the frame clock of a tile whose layers hold their outputs
READOUT_ARRAY = "wo"
BIAS = "bias"
RAIL_GENERATOR = "railgen"
RAIL_SET = "iset"  # the tile pin the rail generator's set current comes in at


def input_pin(i: int) -> str:
    """Input current ``i`` of the tile (layer 0's weight-array input)."""
    return f"x{i}"


def output_pin(k: int) -> str:
    """Class score ``k`` (a readout rail)."""
    return f"y{k}"


def rail(layer: int, j: int) -> str:
    """Summing node of unit ``j`` of ``layer``."""
    return f"s{layer}_{j}"


def unit_output(layer: int, j: int) -> str:
    """Output current of unit ``j`` of ``layer``."""
    return f"h{layer}_{j}"


def unit(layer: int, j: int) -> str:
    """Instance of unit ``j`` of ``layer`` (its ReLU, bias and BMRU cell)."""
    return f"u{layer}_{j}"


def weight_array(layer: int | None) -> str:
    """Instance of ``layer``'s weight array (``None``: the readout's)."""
    return READOUT_ARRAY if layer is None else f"w{layer}"


def weight_device(i: int, j: int) -> str:
    """The device of a weight array realising the weight from input ``i`` to rail ``j``."""
    return f"MW{i}_{j}"


# the cascodes' gate lines the bias generator makes (a unit option)
NMOS_CASCODE_LINE = "vbnc"
PMOS_CASCODE_LINE = "vbpc"


def cascode(device: str) -> str:
    """The cascode of a mirror output ``device``."""
    return f"{device}C"


def cascode_source(device: str) -> str:
    """The net between a cascoded output ``device`` and its cascode: its drain."""
    return f"{device}_c"


_WEIGHT_DEVICE = re.compile(r"^MW(\d+)_(\d+)$")


def weight_indices(device: str) -> tuple[int, int] | None:
    """``(i, j)`` of a :func:`weight_device` name; ``None`` for any other device."""
    m = _WEIGHT_DEVICE.match(device)
    return None if m is None else (int(m.group(1)), int(m.group(2)))


def path(*parts: str) -> str:
    """A flat hierarchical name: instance path, then device or net (``u0_1.cell.M2``)."""
    return ".".join(parts)


def unit_bias(layer: int, j: int) -> str:
    """The bias mirror output of unit ``j`` of ``layer`` (a device of the flat schematic)."""
    return path(unit(layer, j), "MB")


def bias_output(k: int) -> str:
    """The bias generator's output device onto class rail ``k`` (flat schematic)."""
    return path(BIAS, f"MO_{output_pin(k)}")


def stack_gate(device: str, k: int, j: int) -> str:
    """The SPICE name (and the inner net above it) of gate ``j``, counted from the drain,
    of series stack ``k`` of ``device``."""
    return f"{device}_st{k}g{j}"


_STACK_GATE = re.compile(r"^(.*)_st(\d+)g(\d+)$", re.IGNORECASE)


def stacked_in(device: str) -> tuple[str, int | None]:
    """The device a SPICE device name (or flat path) belongs to, and its gate's position from
    the drain in a series stack (``None``: not a stacked gate, the device's own card)."""
    m = _STACK_GATE.match(device)
    return (device, None) if m is None else (m.group(1), int(m.group(3)))


Role = Literal["unit", "unit_bias", "weights", "bias"]
_ROLES: tuple[tuple[re.Pattern[str], Role], ...] = (
    (re.compile(r"^u\d+_\d+\.mbc?$"), "unit_bias"),  # and its cascode
    (re.compile(r"^u\d+_\d+\.(cell|relu)\."), "unit"),
    (re.compile(rf"^(w\d+|{READOUT_ARRAY})\."), "weights"),
    (re.compile(rf"^({BIAS}|{RAIL_GENERATOR})\."), "bias"),
)


def role_of(device: str) -> Role | None:
    """What a device of the flat schematic (``u0_1.cell.M2``) belongs to: a unit's cell or
    ReLU, a unit's bias, a weight array, the bias or rail generator; ``None`` for no tile
    part."""
    lower = stacked_in(device)[0].lower()
    return next((role for pattern, role in _ROLES if pattern.match(lower)), None)


def decision_node(layer: int, j: int) -> str:
    """The decision node ``v0`` of unit ``j``'s BMRU cell, a net of the flat schematic."""
    return path(unit(layer, j), "cell", "v0")


def held_node(layer: int, j: int) -> str:
    """The sampled state ``st`` of unit ``j``'s held cell, a net of the flat schematic."""
    return path(unit(layer, j), "cell", "st")


def relu_copy(layer: int, j: int) -> str:
    """The ReLU copy transistor feeding unit ``j``'s cell, a device of the flat schematic
    (lower case, as flat device paths are compared)."""
    return path(unit(layer, j), "relu", "mc")


def cell_input_sense(layer: int, j: int) -> str:
    """The 0 V source a testbench puts on :func:`relu_copy`'s drain."""
    return f"c{layer}_{j}"


_PIN = re.compile(r"^([xy])(\d+)$")


def pin_index(pin: str, kind: str) -> int | None:
    """The index of an input (``kind`` ``x``) or output (``y``) pin name; ``None`` else."""
    m = _PIN.match(pin)
    return int(m.group(2)) if m and m.group(1) == kind else None


@dataclass(frozen=True)
class Parameter:
    """One learned parameter: its layer (``None``: the readout), tensor and index."""

    layer: int | None
    tensor: str
    index: tuple[int, ...]

    def __str__(self) -> str:
        head = "readout" if self.layer is None else f"layers.{self.layer}"
        return f"{head}.{self.tensor}" + "".join(f"[{i}]" for i in self.index)


_PARAMETER = re.compile(r"^(?:layers\.(\d+)|readout)\.(\w+)((?:\[\d+\])+)$")


def parameter(layer: int | None, tensor: str, *index: int) -> str:
    """A parameter's name as the mapping table and error messages print it."""
    return str(Parameter(layer, tensor, index))


def parse_parameter(name: str) -> Parameter:
    """The :class:`Parameter` a :func:`parameter` name stands for.

    Raises:
        ValueError: ``name`` is not a parameter name.
    """
    m = _PARAMETER.match(name)
    if m is None:
        raise ValueError(f"not a parameter name: {name!r}")
    index = tuple(int(i) for i in re.findall(r"\d+", m.group(3)))
    return Parameter(None if m.group(1) is None else int(m.group(1)), m.group(2), index)


def bias_line_nets(cascodes: bool) -> dict[str, str]:
    """The tile nets of the bias generator's gate lines, by its pin names: ``vbn`` is the
    reference's net (``iref``), unless the unit has cascodes, whose reference comes in at the
    top of its stack, the NMOS cascodes' line."""
    lines = ({"vbn": "vbn", NMOS_CASCODE_LINE: REF, PMOS_CASCODE_LINE: PMOS_CASCODE_LINE}
             if cascodes else {"vbn": REF})
    return lines | {"vbp": "vbp"}


def rail_start_nodes(cascodes: bool) -> dict[str, str]:
    """The inner nets a run starts a drawn rail generator and the reference at, nets of the
    flat schematic: by the generator's node names its servo node ``x``, follower node ``y``,
    PMOS diodes ``p`` and ``b``; by their own the bias generator's gate lines other than the
    reference's (:func:`bias_line_nets`; the pins ``vsn``, ``iset`` and ``iref`` keep their
    names)."""
    lines = [net for net in bias_line_nets(cascodes).values() if net != REF]
    return {k: path(RAIL_GENERATOR, k) for k in ("x", "y", "p", "b")} | {n: n for n in lines}
