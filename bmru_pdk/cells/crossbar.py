"""Weight arrays drawn as crossbars, the way analog in-memory-compute arrays are drawn.

One site per (input, rail) position, every site on one pitch: input gate lines run the rows
on metal3 and summing rails run the columns on metal2, so the array routes itself and its
area is rows x columns x pitch, plus a fan-out channel of one metal3 track per rail::

    y  P block: a row per input with a positive weight, one Nwell:  MXP | .   | weights
    ^  N block: a row per input:                                    MXC | MXN | weights
    |  fan-out channel: vdd, vss and each rail on a track to the west edge
    +-> x: xp risers | vdd strap | vss strap | the two input columns | a column per rail

A site holds one device cell of :mod:`bmru_pdk.cells.devices`, drawn at the circuit's
size: its tap metal lies on the row's supply rail (metal1, running through every site), its
source is tied to its tap (every mirror device has source and bulk on its rail), its gate
rises on a via stack to the row's gate line and its drain strap runs east on metal2 to the
column line. A zero weight leaves its site empty; the lines run on through it.

The pitch is the array's widest device plus the lines' clearances (and, per block, its
tallest): a weight drawn with more fingers widens every site of the array. Each input's
PMOS gate line ``xp<i>`` rises on metal2 west of the blocks, from the drain of its copy
``MXC<i>`` to its row in the P block. Each site kind and size is one cell (hierarchical
GDS). No edge dummies are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gdsfactory as gf

from bmru_pdk import rules
from bmru_pdk.cells.placer import device_cell
from bmru_pdk.cells.router import PAD, PITCH, via
from bmru_pdk.cells.vias import CONTACT, Box, add_pin, rect
from bmru_pdk.circuits import builders
from bmru_pdk.circuits.model import PFET, Circuit, Device
from bmru_pdk.layers import LAYER

HALF = PAD / 2
TAP_H = rules.snap(CONTACT.size + 2 * CONTACT.enclosure)  # height of a device's tap metal
COL_W = 0.38  # metal1 width of the source-to-tap tie (a source column's width)
# between neighbouring rows' outer shapes: implants (NP.2, 0.4 µm), COMP (DF.3a), metal1
ROW_GAP = 0.6
# N block to the P block's Nwell: DF.16 (0.43 µm) from n-diffusion, with margin
BLOCK_GAP = 1.0
Role = Literal["weight", "diode", "copy"]


@dataclass(frozen=True)
class _Device:
    """A device cell measured in its own coordinates (its ports, see devices.py)."""

    cell: gf.Component
    x0: float
    y0: float
    x1: float
    y1: float
    rail: float  # bottom of the tap metal
    gate: tuple[float, float]  # west end of the gate metal, its top
    drain: tuple[float, float, float]  # west end, east end, centre line of the drain strap
    source: tuple[float, float]  # west end and bottom of the source strap

    @classmethod
    def of(cls, d: Device) -> _Device:
        cell = device_cell(d)
        p = cell.ports
        box = cell.dbbox()
        gx, gy = p["g"].center
        dx, dy = p["d"].center
        sx, sy = p["s"].center
        return cls(cell, box.left, box.bottom, box.right, box.top, p["b"].center[1],
                   (gx - p["g"].width / 2, gy), (sx, dx, dy), (sx, sy - p["s"].width / 2))

    def gate_via(self, copy: bool) -> float:
        """Lowest centre of the gate via above the gate metal's top: clear of the drain strap
        on metal2 (and, for a copy, of the xp line on the drain's metal3)."""
        y = max(self.gate[1] - HALF, self.drain[2] + HALF + rules.M2_SPACE.value + HALF)
        return y + (PAD + rules.M3_SPACE.value if copy else 0.0)


@gf.cell
def _site(kind: str, w: float, l: float, fingers: int, role: Role,  # noqa: E741
          rail: float, gate: float, column: float) -> gf.Component:
    """One device on a site, wired to its lines: tap metal bottom at ``rail``, gate via
    centred at ``gate``; a weight's drain reaches the column line centred at ``column``, a
    diode's drain joins its gate, a copy's drain gets a metal2-metal3 via for its xp line.
    Origin: the site's lower-left corner (the device's bounding box starts at x = 0)."""
    d = Device(name="M", kind=kind, w=w, l=l, fingers=fingers, d="d", g="g", s="s", b="b")
    m = _Device.of(d)
    c = gf.Component()
    dx, dy = -m.x0, rail - m.rail
    ref = c << m.cell
    ref.move((rules.snap(dx), rules.snap(dy)))
    gx, gtop = rules.snap(m.gate[0] + dx + HALF), rules.snap(m.gate[1] + dy)
    rect(c, LAYER.metal1, (gx - HALF, gtop - HALF, gx + HALF, gate))
    via(c, (gx, gate), "metal1", "metal3")
    sx, s_lo = m.source[0] + dx, m.source[1] + dy
    rect(c, LAYER.metal1, (sx, rail + TAP_H / 2, sx + COL_W, s_lo + HALF))
    west, east, y = m.drain[0] + dx, m.drain[1] + dx, m.drain[2] + dy
    if role == "weight":
        rect(c, LAYER.metal2, (east - HALF, y - HALF, column + HALF, y + HALF))
    elif role == "diode":
        rect(c, LAYER.metal2, (gx - HALF, y - HALF, gx + HALF, gate))
    else:
        via(c, (west + HALF, y), "metal2", "metal3")
    return c


@dataclass(frozen=True)
class _Row:
    """One row of a block: its input, gate-line net and the device of each column."""

    input: int
    sites: dict[int, tuple[Device, Role]]


def _rows(circuit: Circuit, n_in: int) -> tuple[list[_Row], list[_Row]]:
    """The N block's and the P block's rows, columns counted with the two input columns."""
    by = {d.name: d for d in circuit.devices}
    n_rows, p_rows = [], []
    for i in range(n_in):
        n = {0: (by[f"MXC{i}"], "copy")} if f"MXC{i}" in by else {}
        n[1] = (by[f"MXN{i}"], "diode")
        p = {0: (by[f"MXP{i}"], "diode")} if f"MXP{i}" in by else {}
        for d in circuit.devices:
            if d.name.startswith(f"MW{i}_"):
                j = int(d.name.split("_")[1])
                (p if d.kind == PFET else n)[2 + j] = (d, "weight")
        n_rows.append(_Row(i, n))
        if p:
            p_rows.append(_Row(i, p))
    return n_rows, p_rows


@dataclass(frozen=True)
class _Block:
    """Row geometry of one block, relative to a row's bottom."""

    rail: float
    gate: float
    height: float


def _block(rows: list[_Row], measured: dict[Device, _Device]) -> _Block:
    sites = [(measured[d], role) for r in rows for d, role in r.sites.values()]
    rail = rules.snap_up(max(m.rail - m.y0 for m, _ in sites))
    gate = rules.snap_up(max(m.gate_via(role == "copy") + rail - m.rail for m, role in sites))
    top = max([gate + HALF, *(m.y1 + rail - m.rail for m, _ in sites)])
    return _Block(rail, gate, rules.snap_up(top + ROW_GAP))


def draw_crossbar(circuit: Circuit, n_in: int, n_out: int) -> gf.Component:
    """Draw ``circuit`` (a :func:`~bmru_pdk.circuits.builders.weight_array`) as a crossbar.

    Ports (metal3, west edge, labelled): ``x<i>`` on the N rows' gate lines, ``s<j>``,
    ``vdd`` and ``vss`` on the fan-out channel's tracks.
    """
    c = gf.Component()
    n_rows, p_rows = _rows(circuit, n_in)
    measured = {d: _Device.of(d) for r in n_rows + p_rows for d, _ in r.sites.values()}
    pitch = rules.snap_up(max(m.x1 - m.x0 for m in measured.values())
                          + 2 * rules.M2_SPACE.value + PAD)
    column = rules.snap(pitch - rules.M2_SPACE.value - HALF)  # column line, site-relative
    risers = [r.input for r in p_rows]
    lane = {n: rules.snap(HALF + k * PITCH) for k, n in enumerate([*risers, "vdd", "vss"])}
    x_sites = rules.snap(lane["vss"] + HALF + rules.M2_SPACE.value + 0.3)
    east = rules.snap(x_sites + (2 + n_out) * pitch)

    def draw_rows(rows: list[_Row], b: _Block, y0: float, supply: str) -> list[float]:
        bottoms = [rules.snap(y0 + k * b.height) for k in range(len(rows))]
        for row, y in zip(rows, bottoms, strict=True):
            for col, (d, role) in row.sites.items():
                ref = c << _site(d.kind, d.w, d.l, d.fingers, role, b.rail, b.gate, column)
                ref.move((rules.snap(x_sites + col * pitch), y))
            rail = rules.snap(y + b.rail)
            rect(c, LAYER.metal1, (lane[supply] - HALF, rail, east, rail + TAP_H))
            via(c, (lane[supply], rail + TAP_H / 2), "metal1", "metal2")
        return bottoms

    nb = _block(n_rows, measured)
    n_y = draw_rows(n_rows, nb, 0.0, "vss")
    top = n_y[-1] + nb.height
    tops = {"vss": rules.snap(n_y[-1] + nb.rail + TAP_H)}  # where each supply strap ends
    p_gate: dict[int, float] = {}
    if p_rows:
        pb = _block(p_rows, measured)
        p_y = draw_rows(p_rows, pb, rules.snap(top + BLOCK_GAP), "vdd")
        top = p_y[-1] + pb.height
        tops["vdd"] = rules.snap(p_y[-1] + pb.rail + TAP_H)
        p_gate = {r.input: rules.snap(y + pb.gate) for r, y in zip(p_rows, p_y, strict=True)}
        width = max(m.x1 - m.x0 for d, m in measured.items() if d.kind == PFET)
        rect(c, LAYER.nwell, (x_sites, p_y[0], rules.snap(east - pitch + width), top - ROW_GAP))

    # gate lines; the copies' drains rise to their P rows' gate lines
    for r, y in zip(n_rows, n_y, strict=True):
        g = rules.snap(y + nb.gate)
        line = (0.0, g - HALF, east, g + HALF)
        rect(c, LAYER.metal3, line)
        add_pin(c, f"x{r.input}", LAYER.metal3, line, 180, label=True)
        if r.input in p_gate:
            d, _ = r.sites[0]
            m = measured[d]
            drain = rules.snap(y + nb.rail - m.rail + m.drain[2])
            x, to = lane[r.input], p_gate[r.input]
            rect(c, LAYER.metal3, (x - HALF, drain - HALF,
                                   rules.snap(x_sites - m.x0 + m.drain[0] + PAD), drain + HALF))
            rect(c, LAYER.metal2, (x - HALF, drain - HALF, x + HALF, to + HALF))
            via(c, (x, drain), "metal2", "metal3")
            via(c, (x, to), "metal2", "metal3")
            rect(c, LAYER.metal3, (x - HALF, to - HALF, east, to + HALF))

    # fan-out channel: supplies, then a track per rail, each from its line to the west edge
    lines = {"vdd": lane["vdd"], "vss": lane["vss"]}
    lines |= {f"s{j}": rules.snap(x_sites + (2 + j) * pitch + column) for j in range(n_out)}
    for k, (name, x) in enumerate(lines.items()):
        y = rules.snap(-PITCH - k * PITCH)
        if name != "vdd" or p_rows:  # without a P block, vdd is only a pin
            hi = tops.get(name, rules.snap(top - ROW_GAP))
            rect(c, LAYER.metal2, (x - HALF, y - HALF, x + HALF, hi))
            via(c, (x, y), "metal2", "metal3")
        track: Box = (0.0, y - HALF, rules.snap(x + HALF), y + HALF)
        rect(c, LAYER.metal3, track)
        add_pin(c, name, LAYER.metal3, track, 180, label=True)
    return c


def weight_crossbar(ratios: tuple[tuple[float, ...], ...]) -> gf.Component:
    """The crossbar of the signed weight matrix ``ratios[i][j]`` (input i -> rail j).

    ``info``: schematic, circuit name, device count, area (µm²), site pitch (µm).
    """
    circuit = builders.weight_array(builders.WeightArrayParams(ratios=[list(r) for r in ratios]))
    c = draw_crossbar(circuit, len(ratios), len(ratios[0]))
    c.info.update({"circuit": circuit.name, "spice": circuit.to_spice(),
                   "devices": len(circuit.devices), "area_um2": round(c.xsize * c.ysize, 2)})
    return c

