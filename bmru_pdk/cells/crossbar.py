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
source is tied to its tap (every mirror device has source and bulk on its rail) or, on an
NMOS source rail (``vsn``), its source strap lies on the row's rail line (metal1, just above
the tap line, running through every site, on a lane of its own east of ``vss``), its gate
rises on a via stack to the row's gate line and its drain strap runs east on metal2 to the
column line. A zero weight leaves its site empty; the lines run on through it.

The pitch is the array's widest device plus the lines' clearances (and, per block, its
tallest): a weight drawn with more fingers or series stacks widens every site of the
array. Each input's PMOS gate line ``xp<i>`` rises on metal2 west of the blocks, from the
drain of its copy ``MXC<i>`` to its row in the P block. Each site kind and size is one cell
(hierarchical GDS). No edge dummies are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import gdsfactory as gf
import klayout.db as kdb

from bmru_pdk import rules
from bmru_pdk.cells.devices import cell_name
from bmru_pdk.cells.placer import device_cell
from bmru_pdk.cells.router import PAD, PITCH, via
from bmru_pdk.cells.vias import CONTACT, Box, add_pin, rect
from bmru_pdk.circuits import names
from bmru_pdk.circuits.model import PFET, VSN, Circuit, Device
from bmru_pdk.layers import LAYER

HALF = PAD / 2
TAP_H = rules.snap(CONTACT.size + 2 * CONTACT.enclosure)  # height of a device's tap metal
COL_W = 0.38  # metal1 width of the source-to-tap tie (a source column's width)
# between neighbouring rows' outer shapes: implants (NP.2, 0.4 µm), COMP (DF.3a), metal1
ROW_GAP = 0.6
# N block to the P block's Nwell: DF.16 (0.43 µm) from n-diffusion, with margin
BLOCK_GAP = 1.0
SUB_GAP = 1.0  # between folded sub-arrays (metal3 lines end to end)
FOLD_MIN = 16  # rows of a folded sub-array, at least
BAND = 64  # rails per band by default: a wider array stacks bands of this many rails
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
    source: tuple[float, float, float]  # west end, bottom and top of the source strap

    @classmethod
    def measure(cls, devices: list[Device]) -> dict[Device, _Device]:
        """Every device's cell, made first and then measured (one layout update, see
        :class:`~bmru_pdk.cells.placer.Placed`)."""
        cells = {d: device_cell(d) for d in devices}
        return {d: cls.of(cell, cell.dbbox()) for d, cell in cells.items()}

    @classmethod
    def of(cls, cell: gf.Component, box: kdb.DBox | None = None) -> _Device:
        """``cell`` measured from its ports (and ``box``, its bounding box, if given)."""
        p = cell.ports
        box = box or kdb.DBox(0, 0, 0, 0)
        gx, gy = p["g"].center
        dx, dy = p["d"].center
        sx, sy = p["s"].center
        return cls(cell, box.left, box.bottom, box.right, box.top, p["b"].center[1],
                   (gx - p["g"].width / 2, gy), (sx, dx, dy),
                   (sx, sy - p["s"].width / 2, sy + p["s"].width / 2))

    def gate_via(self, copy: bool) -> float:
        """Lowest centre of the gate via above the gate metal's top: clear of the drain strap
        on metal2 (and, for a copy, of the xp line on the drain's metal3)."""
        y = max(self.gate[1] - HALF, self.drain[2] + HALF + rules.M2_SPACE.value + HALF)
        return y + (PAD + rules.M3_SPACE.value if copy else 0.0)


@gf.cell(set_name=False)
def _site(kind: str, w: float, l: float, fingers: int, role: Role,  # noqa: E741
          dx: float, dy: float, rail: float, gate: float, column: float,
          stacks: tuple[int, ...] = (), tie: bool = True) -> gf.Component:
    """One device on a site, moved by (``dx``, ``dy``) and wired to its lines: tap metal
    bottom at ``rail``, gate via centred at ``gate``; a weight's drain reaches the column
    line centred at ``column``, a diode's drain joins its gate, a copy's drain gets a
    metal2-metal3 via for its xp line. Origin: the site's lower-left corner. The caller
    measured the device (``dx`` puts its bounding box at x = 0): no bounding box is asked
    for here. ``stacks``: the device's series stacks (an empty one is left out of the
    cell's name). ``tie``: the source tied to the tap; without, the source strap is left
    for the row's rail line (only then is ``tie`` in the cell's name)."""
    d = Device(name="M", kind=kind, w=w, l=l, fingers=fingers, stacks=stacks, d="d", g="g",
               s="s", b="b")
    m = _Device.of(device_cell(d))
    c = gf.Component(cell_name("_site", kind=kind, w=w, l=l, fingers=fingers, role=role, dx=dx,
                               dy=dy, rail=rail, gate=gate, column=column, stacks=stacks,
                               **({} if tie else {"tie": tie})))
    ref = c << m.cell
    ref.move((dx, dy))
    gx, gtop = rules.snap(m.gate[0] + dx + HALF), rules.snap(m.gate[1] + dy)
    rect(c, LAYER.metal1, (gx - HALF, gtop - HALF, gx + HALF, gate))
    via(c, (gx, gate), "metal1", "metal3")
    if tie:
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
    """The N block's and the P block's rows; column 0 and 1 are the input columns, a
    weight to rail j sits in column 2 + j."""
    n_sites: list[dict[int, tuple[Device, Role]]] = [{} for _ in range(n_in)]
    p_sites: list[dict[int, tuple[Device, Role]]] = [{} for _ in range(n_in)]
    for d in circuit.devices:  # names as builders.weight_array gives them
        weight = names.weight_indices(d.name)
        if weight is not None:
            i, j = weight
            (p_sites if d.kind == PFET else n_sites)[i][2 + j] = (d, "weight")
        else:
            i = int(d.name[3:])
            sites, col, role = {"MXC": (n_sites, 0, "copy"), "MXN": (n_sites, 1, "diode"),
                                "MXP": (p_sites, 0, "diode")}[d.name[:3]]
            sites[i][col] = (d, role)
    return ([_Row(i, n_sites[i]) for i in range(n_in)],
            [_Row(i, p_sites[i]) for i in range(n_in) if p_sites[i]])


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


@dataclass(frozen=True)
class _Sub:
    """One sub-array: its rows, its rails (columns 2 + j) and where it sits."""

    n: list[_Row]
    p: list[_Row]
    rails: list[int]
    group: int  # side-by-side position (folds); bands stack in group 0


def _subarrays(n_rows: list[_Row], p_rows: list[_Row], rails: list[int], band: int
               ) -> list[_Sub]:
    """Bands of ``band`` rails stacked bottom-up, the first with the input columns; or, an
    array of at most ``band`` rails, side-by-side folds of :func:`fold` rows."""
    p_of = {r.input: r for r in p_rows}
    bands = [rails[k:k + band] for k in range(0, len(rails), band)]
    if len(bands) > 1:
        def only(rows: list[_Row], band: list[int], first: bool) -> list[_Row]:
            kept = [_Row(r.input, {k: v for k, v in r.sites.items()
                                   if k in band or (first and k < 2)}) for r in rows]
            return [r for r in kept if r.sites]
        return [_Sub(only(n_rows, b, k == 0), only(p_rows, b, k == 0), b, 0)
                for k, b in enumerate(bands)]
    size = fold(len(n_rows), len(rails), band)
    return [_Sub(n_rows[g:g + size], [p_of[r.input] for r in n_rows[g:g + size]
                                      if r.input in p_of], rails, g // size)
            for g in range(0, len(n_rows), size)]


def _pitch(measured: dict[Device, _Device]) -> float:
    """Site pitch: the widest device, a metal2 space each side and the column line."""
    return rules.snap_up(max(m.x1 - m.x0 for m in measured.values())
                         + 2 * rules.M2_SPACE.value + PAD)


@dataclass(frozen=True)
class Shape:
    """What a crossbar's size follows from, before it is drawn: its area hardly depends on
    how its rails are banded or its rows folded, only its outline does.

    Attributes:
        pitch: Site pitch (one column), µm.
        rails: Columns with a weight (each band adds the two input columns).
        height: Height of all its rows stacked (N block, P block), µm.
    """

    pitch: float
    rails: int
    inputs: int
    height: float

    def band(self, width: float) -> int:
        """Rails per band for an array about ``width`` µm wide (at least one), the rails
        shared evenly among as many bands as that takes (no last band of a few rails)."""
        most = max(1, int(width / self.pitch) - 2)
        if most >= self.rails:
            return most
        return -(-self.rails // -(-self.rails // most))

    def outline(self, band: int) -> tuple[float, float]:
        """About how wide and high the array is drawn with ``band`` (µm): its sites, their
        lanes (up to two per row and the supplies' each) and its fan-out channels."""
        if self.rails > band:  # bands stacked, each with all rows and a channel of its own
            bands = -(-self.rails // band)
            lanes = 2 * self.inputs + 2
            return ((band + 2) * self.pitch + lanes * PITCH,
                    bands * self.height + (self.rails + 2 + bands) * PITCH)
        rows = fold(self.inputs, self.rails, band)
        folds = -(-self.inputs // rows)
        lanes = 2 * min(rows, self.inputs) + 2
        width = folds * ((self.rails + 2) * self.pitch + lanes * PITCH) + (folds - 1) * SUB_GAP
        tracks = self.rails + 2 + (self.inputs if folds > 1 else 0)
        return width, self.height * min(rows, self.inputs) / self.inputs + tracks * PITCH


def shape(circuit: Circuit, n_in: int) -> Shape:
    """The :class:`Shape` of ``circuit`` drawn as a crossbar (its device cells measured)."""
    n_rows, p_rows = _rows(circuit, n_in)
    measured = _Device.measure([d for r in n_rows + p_rows for d, _ in r.sites.values()])
    rails = {col for r in n_rows + p_rows for col in r.sites if col >= 2}
    height = len(n_rows) * _block(n_rows, measured).height
    if p_rows:
        height += BLOCK_GAP + len(p_rows) * _block(p_rows, measured).height
    return Shape(_pitch(measured), len(rails), len(n_rows), height)


def draw_crossbar(circuit: Circuit, n_in: int, band: int = BAND) -> gf.Component:
    """Draw ``circuit`` (a :func:`~bmru_pdk.circuits.builders.weight_array`) as a crossbar.

    Rails without any weight get no column. An array of more than ``band`` rails is drawn
    as bands of ``band`` rails stacked bottom-up, each with its own fan-out channel below
    it; the first holds the input columns and the gate lines of the others hang on metal2
    risers west of the bands. An array of many more inputs than columns is folded into
    side-by-side sub-arrays of :func:`fold` rows that share the fan-out channel: the gate
    lines of all but the first rise to tracks of their own there.

    Ports (metal3, west edge, labelled, in the circuit's pin order): ``x<i>`` on the first
    sub-array's gate lines or on tracks, ``s<j>`` (rails with a weight), ``vdd`` and ``vss``
    on tracks.
    """
    c = gf.Component()
    n_rows, p_rows = _rows(circuit, n_in)
    measured = _Device.measure([d for r in n_rows + p_rows for d, _ in r.sites.values()])
    pitch = _pitch(measured)
    column = rules.snap(pitch - rules.M2_SPACE.value - HALF)  # column line, site-relative
    rails = sorted({col for r in n_rows + p_rows for col in r.sites if col >= 2})
    subs = _subarrays(n_rows, p_rows, rails, band)
    banded = len({s.group for s in subs}) < len(subs)
    nb = _block(n_rows, measured)
    pb = _block(p_rows, measured) if p_rows else None
    p_width = max([m.x1 - m.x0 for d, m in measured.items() if d.kind == PFET], default=0.0)
    reach: dict[str, float] = {}  # the easternmost via on each track
    pins: dict[str, Box] = {}
    lines: dict[str, list[float]] = {}  # lane -> heights it must join
    supplies = ["vdd", "vss", *(p.name for p in circuit.pins if p.name == VSN.name)]
    nmos = [m for d, m in measured.items() if d.kind != PFET]
    strap = _strap(nmos) if VSN.name in supplies else None

    def line(layer: gf.typings.LayerSpec, x: float, y0: float, y1: float) -> None:
        rect(c, layer, (x - HALF, y0 - HALF, x + HALF, y1 + HALF))

    def drop(name: str, x: float, y: float) -> None:
        """A metal2 line at ``x`` from ``y`` down onto its track, with the via there."""
        line(LAYER.metal2, x, track_y[name], y)
        via(c, (x, track_y[name]), "metal2", "metal3")
        reach[name] = max(reach.get(name, x), x)

    def draw_rows(rows: list[_Row], b: _Block, x_sites: float, slot: dict[int, int],
                  y0: float, supply: str, lane: float, east: float,
                  strap_lane: float | None = None) -> list[float]:
        """The rows of a block, each with its tap line on ``lane``; with ``strap_lane``, the
        sources' rail line too (:data:`strap`), on that lane."""
        bottoms = [rules.snap(y0 + k * b.height) for k in range(len(rows))]
        for row, y in zip(rows, bottoms, strict=True):
            for col, (d, role) in row.sites.items():
                m = measured[d]
                ref = c << _site(d.kind, d.w, d.l, d.fingers, role, rules.snap(-m.x0),
                                 rules.snap(b.rail - m.rail), b.rail, b.gate, column, d.stacks,
                                 tie=strap_lane is None)
                ref.move((rules.snap(x_sites + slot[col] * pitch), y))
            rail = rules.snap(y + b.rail)
            rect(c, LAYER.metal1, (lane - HALF, rail, east, rail + TAP_H))
            via(c, (lane, rail + TAP_H / 2), "metal1", "metal2")
            lines.setdefault(supply, []).append(rail + TAP_H / 2)
            if strap_lane is not None and strap is not None:
                lo, hi = rules.snap(rail + strap[0]), rules.snap(rail + strap[1])
                rect(c, LAYER.metal1, (strap_lane - HALF, lo, east, hi))
                # the via's pad rises from the line's bottom: it keeps the tap line's space
                via(c, (strap_lane, lo + HALF), "metal1", "metal2")
                lines.setdefault(VSN.name, []).append(lo + HALF)
        return bottoms

    x0, y0, top, group = 0.0, 0.0, 0.0, -1
    track_y: dict[str, float] = {}
    for b, sub in enumerate(subs):
        slot = {0: 0, 1: 1} | {col: 2 + k for k, col in enumerate(sub.rails)}
        if sub.group != group:  # a new side-by-side position: its lanes
            group = sub.group
            in_group = [s for s in subs if s.group == group]
            risen = sorted({r.input for s in in_group[1:] for r in s.n}) if banded else (
                [r.input for r in sub.n] if group else [])
            p_in = sorted({r.input for s in in_group for r in s.p})
            names = [*(f"x{i}" for i in risen), *(f"xp{i}" for i in p_in), *supplies]
            lane = {n: rules.snap(x0 + HALF + k * PITCH) for k, n in enumerate(names)}
            x_sites = rules.snap(lane[names[-1]] + HALF + rules.M2_SPACE.value + 0.3)
            east = rules.snap(x_sites + (2 + max(len(s.rails) for s in in_group)) * pitch)
            lines.clear()
        if b == 0:  # the bottom channel: supplies, the first band's (or all) rails, folds' inputs
            names = [*supplies, *(f"s{col - 2}" for col in sub.rails)] + [
                f"x{r.input}" for s in subs if s.group for r in s.n]
            track_y = {n: rules.snap(-(k + 1) * PITCH) for k, n in enumerate(names)}
        elif banded:  # a band's own channel, below it
            y0 = rules.snap(top + (len(sub.rails) + 1) * PITCH)
            track_y |= {f"s{col - 2}": rules.snap(y0 - (k + 1) * PITCH)
                        for k, col in enumerate(sub.rails)}
        n_y = draw_rows(sub.n, nb, x_sites, slot, y0, "vss", lane["vss"], east,
                        lane.get(VSN.name)) if sub.n else []
        top = (n_y[-1] + nb.height) if n_y else y0
        p_gate: dict[int, float] = {}
        if sub.p:
            p_y = draw_rows(sub.p, pb, x_sites, slot, rules.snap(top + BLOCK_GAP), "vdd",
                            lane["vdd"], east)
            top = p_y[-1] + pb.height
            p_gate = {r.input: rules.snap(y + pb.gate) for r, y in zip(sub.p, p_y, strict=True)}
            rect(c, LAYER.nwell, (x_sites, p_y[0], rules.snap(east - pitch + p_width),
                                  top - ROW_GAP))
        for i, gate in p_gate.items():  # P gate lines hang on their xp lanes
            x = lane[f"xp{i}"]
            rect(c, LAYER.metal3, (x - HALF, gate - HALF, east, gate + HALF))
            via(c, (x, gate), "metal2", "metal3")
            lines.setdefault(f"xp{i}", []).append(gate)
        for r, y in zip(sub.n, n_y, strict=True):
            gate, name = rules.snap(y + nb.gate), f"x{r.input}"
            port = group == 0 and b == 0  # the first sub-array's gate lines are the ports
            box = (0.0 if port else lane[name] - HALF, gate - HALF, east, gate + HALF)
            rect(c, LAYER.metal3, box)
            if port:
                pins[name] = box
            if name in lane:  # the line hangs on a lane: to other bands, or to its track
                via(c, (lane[name], gate), "metal2", "metal3")
                if banded:
                    lines.setdefault(name, []).append(gate)
                else:
                    drop(name, lane[name], gate)
            if r.sites.get(0, (None, ""))[1] == "copy":  # its drain feeds the xp lane
                m = measured[r.sites[0][0]]
                drain = rules.snap(y + nb.rail - m.rail + m.drain[2])
                x = lane[f"xp{r.input}"]
                rect(c, LAYER.metal3, (x - HALF, drain - HALF,
                                       rules.snap(x_sites - m.x0 + m.drain[0] + PAD),
                                       drain + HALF))
                via(c, (x, drain), "metal2", "metal3")
                lines.setdefault(f"xp{r.input}", []).append(drain)
        for col in sub.rails:
            drop(f"s{col - 2}", rules.snap(x_sites + slot[col] * pitch + column),
                 rules.snap(top - ROW_GAP - HALF))
        last = b + 1 == len(subs) or subs[b + 1].group != group
        if last:  # the group's lanes: risers and supply straps
            for name, ys in lines.items():
                if name in supplies:
                    drop(name, lane[name], max(ys))
                elif len(ys) > 1:
                    line(LAYER.metal2, lane[name], min(ys), max(ys))
            x0 = rules.snap(east + SUB_GAP)

    for name in supplies:
        reach.setdefault(name, PAD)  # without a P block, vdd is only a pin: a stub of track
    for name, y in track_y.items():
        pins[name] = (0.0, y - HALF, rules.snap(reach[name] + HALF), y + HALF)
        rect(c, LAYER.metal3, pins[name])
    c.info["pitch_um"] = pitch
    # the fan-out channels hold only these tracks and metal2 drops: each track's line is
    # free of metal3 from its last via to the cell's east edge (a tile's output leaves there)
    c.info["clear_east"] = sorted(track_y)
    for pin in circuit.pins:  # in the circuit's order; a rail without weights has none
        if pin.name in pins:
            add_pin(c, pin.name, LAYER.metal3, pins[pin.name], 180, label=True)
    return c


def _strap(nmos: list[_Device]) -> tuple[float, float]:
    """Bottom and top of the NMOS devices' source strap above their tap metal's bottom: one
    rail line runs through a row on it, so every device must have it at the same height
    (every mirror device is drawn from the unit: they do)."""
    heights = {(rules.snap(m.source[1] - m.rail), rules.snap(m.source[2] - m.rail))
               for m in nmos}
    if len(heights) != 1:
        raise ValueError(f"the NMOS devices' source straps sit at {len(heights)} heights above "
                         "their taps: one source rail line cannot join them")
    return heights.pop()


def fold(inputs: int, rails: int, band: int = BAND) -> int:
    """Rows per sub-array of ``inputs`` rows on ``rails`` rails: as many as it has columns
    (the rails plus the two input columns) and at least ``FOLD_MIN``, but enough that the
    sub-arrays side by side span no more columns than a band of ``band`` rails (each fold's
    lanes, up to two per row at a tenth of a column's pitch each, counted as columns)."""
    rows = max(FOLD_MIN, rails + 2)
    while rows < inputs and -(-inputs // rows) * (rails + 2 + rows // 5) > band + 2:
        rows += FOLD_MIN
    return rows
