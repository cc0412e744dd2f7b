"""Placement of a circuit's transistors in rows, each NMOS first, then PMOS in one merged Nwell.

``grouped`` keeps each transistor whole; ``interdigitated`` draws every finger and every
series stack of every transistor as its own device (one finger, or one stack) and deals them
out round-robin (ABCABC...); ``centroid`` draws them so too and puts the row's first device
(a mirror's diode) in the middle, every other device's units in mirrored pairs around it,
so a linear gradient across the row moves each output's pairs equally up and down and
cancels at the diode (an odd unit left over, a single finger or a stack, goes next to the
middle, the sides taking turns). LVS sees the parallel fingers combined back into the
schematic's device, and each stack's gates in series as the schematic's stacked gates.

All bottoms of a row sit on one y, so the routing channels above and below it (see
:mod:`bmru_pdk.cells.router`, which also stacks the rows) are straight. The PMOS devices
whose bulk is ``vdd`` (a builder convention) share one Nwell: no NW.2b spacing between them.
A PMOS whose bulk is another net (a cascode tied to its own source) follows them in an
Nwell of its own, NW.2b from every other well.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, zip_longest
from typing import Literal

import gdsfactory as gf
import klayout.db as kdb

from bmru_pdk import rules
from bmru_pdk.cells.devices import nfet, pfet
from bmru_pdk.cells.vias import Box, rect
from bmru_pdk.circuits.model import NFET, VDD, Device
from bmru_pdk.layers import LAYER

# Gap between neighbouring device cells (µm). Same type: clears implants (NP.2) and keeps
# the M2 stubs of neighbours apart, even the source via a narrow device has 0.44 µm west of
# its cell (router). NMOS to PMOS: the Nwell keeps NW.2b away from the p-taps and DF.16 from
# the n-diffusion, with margin.
SAME_KIND_GAP = 0.6
KIND_CHANGE_GAP = rules.NW_SPACE_DIFF_NET.value + SAME_KIND_GAP


@dataclass(frozen=True)
class Placed:
    """A device of the circuit, its reference in the layout and its bounding box there.

    The box is computed, not asked of the reference: KLayout answers a bounding-box query
    after a change by updating the whole layout, which made each query cost time in
    proportion to every cell built before (builds grew quadratic in the tile's size).
    """

    device: Device
    ref: gf.ComponentReference
    box: Box


def place(c: gf.Component, cell: gf.Component, box: kdb.DBox, x: float, y: float
          ) -> tuple[gf.ComponentReference, Box]:
    """Instantiate ``cell`` (bounding box ``box``, measured beforehand) in ``c`` with its
    lower-left corner at (``x``, ``y``); return the reference and its box."""
    ref = c << cell
    dx, dy = rules.snap(x - box.left), rules.snap(y - box.bottom)
    ref.move((dx, dy))
    return ref, (rules.snap(box.left + dx), rules.snap(box.bottom + dy),
                 rules.snap(box.right + dx), rules.snap(box.top + dy))


Placement = Literal["grouped", "interdigitated", "centroid"]


def device_cell(d: Device, dummies: bool = False) -> gf.Component:
    """The drawn transistor for ``d`` (its bulk tap included; its series stacks beside its
    fingers)."""
    draw = nfet if d.kind == NFET else pfet
    return draw(w=d.w, l=d.l, fingers=d.fingers, multiplier=d.multiplier, dummies=dummies,
                stacks=d.stacks)


def _fingers(d: Device) -> list[Device]:
    """``d`` split into one device per finger (``fingers=1``) and per series stack
    (``fingers=0``, that stack alone), of every copy."""
    n = d.fingers * d.multiplier
    one = {"fingers": 1, "multiplier": 1, "stacks": ()}
    stacks = [s for _ in range(d.multiplier) for s in d.stacks]
    return ([d.model_copy(update={"name": f"{d.name}_f{k}", **one}) for k in range(n)]
            + [d.model_copy(update={"name": f"{d.name}_s{k}", "fingers": 0, "multiplier": 1,
                                    "stacks": (s,)}) for k, s in enumerate(stacks)])


def _centroid(devices: list[Device]) -> list[Device]:
    """The first device's units in the middle, the others' odd units beside it (the sides
    taking turns), then their pairs, one unit of each on either side at the same step."""
    if not devices:
        return []
    left: list[Device] = []  # outward from the middle
    right: list[Device] = []
    pairs: list[tuple[Device, Device]] = []
    for d in devices[1:]:
        units = _fingers(d)
        if len(units) % 2:  # the odd one: a stack if the device has one (stacks come last)
            (right if len(right) <= len(left) else left).append(units.pop())
        pairs += list(zip(units[::2], units[1::2], strict=True))
    for a, b in pairs:
        left.append(a)
        right.append(b)
    return [*reversed(left), *_fingers(devices[0]), *right]


def _order(devices: list[Device], placement: Placement) -> list[Device]:
    if placement == "grouped":
        return devices
    if placement == "centroid":
        return _centroid(devices)
    dealt = zip_longest(*(_fingers(d) for d in devices))
    return [f for f in chain.from_iterable(dealt) if f is not None]


def _one_well(a: Device, b: Device) -> bool:
    """Whether two neighbours are NMOS both, or PMOS both in the shared ``vdd`` Nwell."""
    return a.kind == b.kind and (a.kind == NFET or a.b == b.b == VDD.name)


def place_row(c: gf.Component, devices: list[Device], placement: Placement = "grouped",
              dummies: bool = False, y: float = 0.0) -> list[Placed]:
    """Instantiate ``devices`` in ``c`` along x from 0, NMOS first, bottoms on ``y``.

    Args:
        c: the component to place into.
        devices: the row's transistors.
        placement: ``grouped`` (one cell per transistor), ``interdigitated`` (fingers
            dealt out round-robin within each device type) or ``centroid`` (each type's
            first device in the middle, the others' fingers in mirrored pairs around it).
        dummies: draw dummy poly gates at both ends of every device.
        y: bottom of the row (µm).

    Returns the placements in row order. Draws the shared Nwell over the PMOS group whose
    bulk is ``vdd``; a PMOS with another bulk keeps its cell's own Nwell.
    """
    shared = [d for d in devices if d.kind != NFET and d.b == VDD.name]
    own = [d for d in devices if d.kind != NFET and d.b != VDD.name]
    row = (_order([d for d in devices if d.kind == NFET], placement)
           + _order(shared, placement) + own)
    cells = [device_cell(d, dummies) for d in row]
    boxes = [cell.dbbox() for cell in cells]  # all cells made first: one layout update
    placed: list[Placed] = []
    x = 0.0
    for d, cell, box in zip(row, cells, boxes, strict=True):
        if placed:
            x += SAME_KIND_GAP if _one_well(placed[-1].device, d) else KIND_CHANGE_GAP
        ref, b = place(c, cell, box, x, y)
        x = b[2]
        placed.append(Placed(d, ref, b))
    pmos = [p.box for p in placed if p.device.kind != NFET and p.device.b == VDD.name]
    if pmos:
        rect(c, LAYER.nwell, (pmos[0][0], y, pmos[-1][2], max(b[3] for b in pmos)))
    return placed
