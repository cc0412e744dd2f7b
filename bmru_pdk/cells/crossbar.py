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

On a unit with cascodes (:func:`~bmru_pdk.circuits.builders.weight_array`) the copy's
cascode ``MXC<i>C`` takes a third input column, west of the copy: its drain feeds the xp
line, the copy's drain comes down the column between them to its source, and its gate takes
metal1 west to the ``vbnc`` lane (the row's gate line is the input's). Each P row of weights
has a row of their cascodes above it, in the same columns: each cascode in an Nwell of its
own tied to its source (NW.2b from every other well, so the P block's rows stand that far
apart and the pitch holds it too), its gate on the row's ``vbpc`` line, its drain on the
column line; the weight's drain rises on metal2 to the cascode's tap. On the NMOS source
rail, the rail line of a row with a cascode starts at the copy and reaches its lane on
metal3 over the cascode (whose source it must not touch).
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
# What a site's drain does: "weight" runs to the column line, "diode" joins the gate, "copy"
# takes a via up to its xp line; cascoded, "feed" (a copy) comes down to its cascode's source
# west of it, "rise" (a PMOS weight) rises to its cascode's tap above it, and "cascode" (the
# copy's) is a copy whose gate is not raised to the row's gate line.
Role = Literal["weight", "diode", "copy", "feed", "rise", "cascode"]
CASCODE = -1  # the column key of the copy's cascode, west of the copy's (0) and diode's (1)


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
    tap: tuple[float, float]  # west and east end of the tap metal

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
        bx, by = p["b"].center
        return cls(cell, box.left, box.bottom, box.right, box.top, by,
                   (gx - p["g"].width / 2, gy), (sx, dx, dy),
                   (sx, sy - p["s"].width / 2, sy + p["s"].width / 2),
                   (bx - p["b"].width / 2, bx + p["b"].width / 2))

    def gate_via(self, copy: bool) -> float:
        """Lowest centre of the gate via above the gate metal's top: clear of the drain strap
        on metal2 (and, for a copy, of the xp line on the drain's metal3)."""
        y = max(self.gate[1] - HALF, self.drain[2] + HALF + rules.M2_SPACE.value + HALF)
        return y + (PAD + rules.M3_SPACE.value if copy else 0.0)


@gf.cell(set_name=False)
def _site(kind: str, w: float, l: float, fingers: int, role: Role,  # noqa: E741
          dx: float, dy: float, rail: float, gate: float, column: float,
          stacks: tuple[int, ...] = (), tie: bool = True,
          reach: tuple[float, ...] = ()) -> gf.Component:
    """One device on a site, moved by (``dx``, ``dy``) and wired to its lines: tap metal
    bottom at ``rail``, gate via centred at ``gate`` (not for a ``"cascode"``); a weight's
    drain reaches the column line centred at ``column``, a diode's drain joins its gate, a
    copy's drain gets a metal2-metal3 via for its xp line, a feed's drain runs west to the
    line at ``column`` (west of the site) and down it to a via at its source strap's height
    (its cascode's source, :func:`draw_crossbar` bridges the rest), a riser's drain rises at
    x = ``reach[0]`` to a via centred at y = ``reach[1]`` (its cascode's tap). Origin: the
    site's lower-left corner. The caller measured the device (``dx`` puts its bounding box at
    x = 0): no bounding box is asked for here. ``stacks``: the device's series stacks (an
    empty one is left out of the cell's name). ``tie``: the source tied to the tap; without,
    the source strap is left for the row's rail line or a cascode's feed (only then is
    ``tie`` in the cell's name)."""
    d = Device(name="M", kind=kind, w=w, l=l, fingers=fingers, stacks=stacks, d="d", g="g",
               s="s", b="b")
    m = _Device.of(device_cell(d))
    c = gf.Component(cell_name("_site", kind=kind, w=w, l=l, fingers=fingers, role=role, dx=dx,
                               dy=dy, rail=rail, gate=gate, column=column, stacks=stacks,
                               reach=reach, **({} if tie else {"tie": tie})))
    ref = c << m.cell
    ref.move((dx, dy))
    gx, gtop = rules.snap(m.gate[0] + dx + HALF), rules.snap(m.gate[1] + dy)
    if role != "cascode":
        rect(c, LAYER.metal1, (gx - HALF, gtop - HALF, gx + HALF, gate))
        via(c, (gx, gate), "metal1", "metal3")
    # a tie that would overlap the tap by less than a metal1 width (a wide cascode's source
    # strap starts west of its tap) starts at the tap: a sliver there breaks M1.1
    sx, s_lo = m.source[0], m.source[1] + dy
    if sx + COL_W - m.tap[0] < rules.M1_WIDTH.value:
        sx = m.tap[0]
    sx += dx
    if tie:
        rect(c, LAYER.metal1, (sx, rail + TAP_H / 2, sx + COL_W, s_lo + HALF))
    west, east, y = m.drain[0] + dx, m.drain[1] + dx, m.drain[2] + dy
    if role == "weight":
        rect(c, LAYER.metal2, (east - HALF, y - HALF, column + HALF, y + HALF))
    elif role == "diode":
        rect(c, LAYER.metal2, (gx - HALF, y - HALF, gx + HALF, gate))
    elif role == "feed":
        # the via's pad rises from the strap's bottom: it keeps the tap line's space
        rect(c, LAYER.metal2, (column - HALF, y - HALF, west + HALF, y + HALF))
        rect(c, LAYER.metal2, (column - HALF, s_lo, column + HALF, y + HALF))
        via(c, (column, s_lo + HALF), "metal1", "metal2")
    elif role == "rise":
        x, top = reach
        rect(c, LAYER.metal2, (x - HALF, y - HALF, x + HALF, top + HALF))
        via(c, (x, top), "metal1", "metal2")
    else:
        via(c, (west + HALF, y), "metal2", "metal3")
    return c


@dataclass(frozen=True)
class _Row:
    """One row of a block: its input and the device of each column; in the P block, with
    ``cascodes``, the row of the cascodes of input's weights (gate line ``vbpc``)."""

    input: int
    sites: dict[int, tuple[Device, Role]]
    cascodes: bool = False


def _rows(circuit: Circuit, n_in: int) -> tuple[list[_Row], list[_Row]]:
    """The N block's and the P block's rows; column :data:`CASCODE`, 0 and 1 are the input
    columns, a weight to rail j (and its cascode) sits in column 2 + j. The P block holds
    each input's row of weights and above it, cascoded, the row of their cascodes."""
    n_sites: list[dict[int, tuple[Device, Role]]] = [{} for _ in range(n_in)]
    p_sites: list[dict[int, tuple[Device, Role]]] = [{} for _ in range(n_in)]
    c_sites: list[dict[int, tuple[Device, Role]]] = [{} for _ in range(n_in)]
    lines = (names.NMOS_CASCODE_LINE, names.PMOS_CASCODE_LINE)
    below = {d.d: d for d in circuit.devices}  # a cascode's source: its output's drain
    fed = {d.s for d in circuit.devices if d.g in lines}
    for d in circuit.devices:  # names as builders.weight_array gives them
        if d.g == names.PMOS_CASCODE_LINE:
            weight = names.weight_indices(below[d.s].name)
            if weight is None:
                raise ValueError(f"{d.name} cascodes {below[d.s].name}, not a weight")
            c_sites[weight[0]][2 + weight[1]] = (d, "weight")
        elif d.g == names.NMOS_CASCODE_LINE:
            n_sites[int(below[d.s].name[3:])][CASCODE] = (d, "cascode")
        elif (weight := names.weight_indices(d.name)) is not None:
            i, j = weight
            if d.kind == PFET:
                p_sites[i][2 + j] = (d, "rise" if d.d in fed else "weight")
            else:
                n_sites[i][2 + j] = (d, "weight")
        else:
            i = int(d.name[3:])
            sites, col, role = {"MXC": (n_sites, 0, "feed" if d.d in fed else "copy"),
                                "MXN": (n_sites, 1, "diode"),
                                "MXP": (p_sites, 0, "diode")}[d.name[:3]]
            sites[i][col] = (d, role)
    p_rows = [[_Row(i, p_sites[i])] + ([_Row(i, c_sites[i], True)] if c_sites[i] else [])
              for i in range(n_in) if p_sites[i]]
    return [_Row(i, n_sites[i]) for i in range(n_in)], [r for rows in p_rows for r in rows]


@dataclass(frozen=True)
class _Block:
    """Row geometry of one block, relative to a row's bottom."""

    rail: float
    gate: float
    height: float


def _block(rows: list[_Row], measured: dict[Device, _Device]) -> _Block:
    sites = [(measured[d], role) for r in rows for d, role in r.sites.values()]
    rail = rules.snap_up(max(m.rail - m.y0 for m, _ in sites))
    gate = rules.snap_up(max(m.gate_via(role in ("copy", "cascode")) + rail - m.rail
                             for m, role in sites))
    top = max([gate + HALF, *(m.y1 + rail - m.rail for m, _ in sites)])
    return _Block(rail, gate, rules.snap_up(top + ROW_GAP))


def _p_blocks(rows: list[_Row], measured: dict[Device, _Device]
              ) -> dict[bool, tuple[_Block, float]]:
    """The P block's row geometry: the weights' rows (``False``) share one block, the
    cascodes' rows (``True``) another; each with the distance from a row's bottom to the
    next's: with cascodes, the rows' Nwells (the weights' shared one, each cascode's own)
    stand NW.2b apart."""
    kinds = {r.cascodes for r in rows}
    apart = rules.NW_SPACE_DIFF_NET.value - ROW_GAP if True in kinds else 0.0
    blocks = {k: _block([r for r in rows if r.cascodes == k], measured) for k in kinds}
    return {k: (b, rules.snap_up(b.height + apart)) for k, b in blocks.items()}


def _riser(weight: _Device, cascode: _Device, up: float, rail: float) -> tuple[float, float]:
    """Where a PMOS weight's drain rises to its cascode's tap, ``up`` above it on a row whose
    tap metal starts ``rail`` above its bottom (site coordinates): x inside the drain strap
    and the tap metal, clear of the weight's gate via; y the via's centre, its pad's top on
    the tap metal's (a pad reaching above would come within M1 space of the source strap)."""
    x = rules.snap(min(weight.drain[1] - weight.x0, cascode.tap[1] - cascode.x0) - HALF)
    clear = max(weight.gate[0] - weight.x0 + PAD + rules.M2_SPACE.value,
                weight.drain[0] - weight.x0, cascode.tap[0] - cascode.x0)
    if x - HALF < clear - 1e-9:
        raise ValueError("a PMOS weight is too narrow for its drain to rise to its cascode "
                         "clear of its gate via")
    return x, rules.snap(up + rail + TAP_H - HALF)


def _tracked(circuit: Circuit) -> list[str]:
    """The lines on lanes and tracks besides the rows' and the rails': the supplies (with
    the NMOS source rail), then the cascodes' gate lines."""
    pins = {p.name for p in circuit.pins}
    return ["vdd", "vss", *(n for n in (VSN.name, names.NMOS_CASCODE_LINE,
                                        names.PMOS_CASCODE_LINE) if n in pins)]


def _inputs(rows: list[_Row]) -> list[int]:
    """The input columns' keys, west to east: the copy's cascode's where any row has one."""
    return ([CASCODE] if any(CASCODE in r.sites for r in rows) else []) + [0, 1]


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
    p_of: dict[int, list[_Row]] = {}
    for r in p_rows:
        p_of.setdefault(r.input, []).append(r)
    bands = [rails[k:k + band] for k in range(0, len(rails), band)]
    if len(bands) > 1:
        def only(rows: list[_Row], band: list[int], first: bool) -> list[_Row]:
            kept = [_Row(r.input, {k: v for k, v in r.sites.items()
                                   if k in band or (first and k < 2)}, r.cascodes)
                    for r in rows]
            return [r for r in kept if r.sites]
        return [_Sub(only(n_rows, b, k == 0), only(p_rows, b, k == 0), b, 0)
                for k, b in enumerate(bands)]
    size = fold(len(n_rows), len(rails), band)
    return [_Sub(n_rows[g:g + size], [p for r in n_rows[g:g + size]
                                      for p in p_of.get(r.input, [])], rails, g // size)
            for g in range(0, len(n_rows), size)]


def _pitch(measured: dict[Device, _Device], p_rows: list[_Row]) -> float:
    """Site pitch: the widest device, a metal2 space each side and the column line; and the
    widest cascode of a row of cascodes NW.2b from its neighbour's Nwell."""
    cascodes = [measured[d] for r in p_rows if r.cascodes for d, _ in r.sites.values()]
    return rules.snap_up(max([max(m.x1 - m.x0 for m in measured.values())
                              + 2 * rules.M2_SPACE.value + PAD,
                              *(m.x1 - m.x0 + rules.NW_SPACE_DIFF_NET.value for m in cascodes)]))


@dataclass(frozen=True)
class Shape:
    """What a crossbar's size follows from, before it is drawn: its area hardly depends on
    how its rails are banded or its rows folded, only its outline does.

    Attributes:
        pitch: Site pitch (one column), µm.
        rails: Columns with a weight (each band adds the input columns).
        inputs: Rows of the N block (one per input).
        height: Height of all its rows stacked (N block, P block), µm.
        columns: Input columns (three with the copies' cascodes).
        lines: Lanes and tracks besides the rows' and rails': supplies and cascode lines.
    """

    pitch: float
    rails: int
    inputs: int
    height: float
    columns: int = 2
    lines: int = 2

    def band(self, width: float) -> int:
        """Rails per band for an array about ``width`` µm wide (at least one), the rails
        shared evenly among as many bands as that takes (no last band of a few rails)."""
        most = max(1, int(width / self.pitch) - self.columns)
        if most >= self.rails:
            return most
        return -(-self.rails // -(-self.rails // most))

    def outline(self, band: int) -> tuple[float, float]:
        """About how wide and high the array is drawn with ``band`` (µm): its sites, their
        lanes (up to two per row and the supplies' each) and its fan-out channels."""
        if self.rails > band:  # bands stacked, each with all rows and a channel of its own
            bands = -(-self.rails // band)
            lanes = 2 * self.inputs + self.lines
            return ((band + self.columns) * self.pitch + lanes * PITCH,
                    bands * self.height + (self.rails + self.lines + bands) * PITCH)
        rows = fold(self.inputs, self.rails, band)
        folds = -(-self.inputs // rows)
        lanes = 2 * min(rows, self.inputs) + self.lines
        width = (folds * ((self.rails + self.columns) * self.pitch + lanes * PITCH)
                 + (folds - 1) * SUB_GAP)
        tracks = self.rails + self.lines + (self.inputs if folds > 1 else 0)
        return width, self.height * min(rows, self.inputs) / self.inputs + tracks * PITCH


def shape(circuit: Circuit, n_in: int) -> Shape:
    """The :class:`Shape` of ``circuit`` drawn as a crossbar (its device cells measured)."""
    n_rows, p_rows = _rows(circuit, n_in)
    measured = _Device.measure([d for r in n_rows + p_rows for d, _ in r.sites.values()])
    rails = {col for r in n_rows + p_rows for col in r.sites if col >= 2}
    height = len(n_rows) * _block(n_rows, measured).height
    if p_rows:
        blocks = _p_blocks(p_rows, measured)
        height += BLOCK_GAP + sum(blocks[r.cascodes][1] for r in p_rows)
    return Shape(_pitch(measured, p_rows), len(rails), len(n_rows), height,
                 len(_inputs(n_rows)), len(_tracked(circuit)))


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
    pitch = _pitch(measured, p_rows)
    column = rules.snap(pitch - rules.M2_SPACE.value - HALF)  # column line, site-relative
    rails = sorted({col for r in n_rows + p_rows for col in r.sites if col >= 2})
    subs = _subarrays(n_rows, p_rows, rails, band)
    banded = len({s.group for s in subs}) < len(subs)
    inputs = _inputs(n_rows)
    nb = _block(n_rows, measured)
    p_blocks = _p_blocks(p_rows, measured) if p_rows else {}
    p_width = max([m.x1 - m.x0 for d, m in measured.items() if d.kind == PFET], default=0.0)
    reach: dict[str, float] = {}  # the easternmost via on each track
    pins: dict[str, Box] = {}
    lines: dict[str, list[float]] = {}  # lane -> heights it must join
    tracked = _tracked(circuit)
    nmos = [m for d, m in measured.items() if d.kind != PFET]
    strap = _strap(nmos) if VSN.name in tracked else None

    def line(layer: gf.typings.LayerSpec, x: float, y0: float, y1: float) -> None:
        rect(c, layer, (x - HALF, y0 - HALF, x + HALF, y1 + HALF))

    def drop(name: str, x: float, y: float) -> None:
        """A metal2 line at ``x`` from ``y`` down onto its track, with the via there."""
        line(LAYER.metal2, x, track_y[name], y)
        via(c, (x, track_y[name]), "metal2", "metal3")
        reach[name] = max(reach.get(name, x), x)

    def draw_row(row: _Row, b: _Block, x_sites: float, slot: dict[int, int], y: float,
                 lane: dict[str, float], east: float, supply: str | None,
                 up: tuple[_Row, float] | None = None) -> None:
        """A row's sites, and its tap line on the ``supply`` lane (none on a row of cascodes,
        each tied to its own source); on the NMOS source rail, an N row's sources' rail line
        (:data:`strap`). ``up``: the row of its cascodes and how far above it that stands."""
        rail_line = strap is not None and supply == "vss"
        for col, (d, role) in row.sites.items():
            m = measured[d]
            riser = () if up is None or role != "rise" else _riser(
                m, measured[up[0].sites[col][0]], up[1], p_blocks[True][0].rail)
            ref = c << _site(d.kind, d.w, d.l, d.fingers, role, rules.snap(-m.x0),
                             rules.snap(b.rail - m.rail), b.rail, b.gate,
                             rules.snap(column - pitch) if role == "feed" else column,
                             d.stacks, tie=not rail_line and role != "cascode", reach=riser)
            ref.move((rules.snap(x_sites + slot[col] * pitch), y))
        rail = rules.snap(y + b.rail)
        if supply is not None:
            rect(c, LAYER.metal1, (lane[supply] - HALF, rail, east, rail + TAP_H))
            via(c, (lane[supply], rail + TAP_H / 2), "metal1", "metal2")
            lines.setdefault(supply, []).append(rail + TAP_H / 2)
        if CASCODE in row.sites:
            copy_cascode(row, b, x_sites, slot, y, lane)
        if strap is not None and rail_line:
            lo, hi = rules.snap(rail + strap[0]), rules.snap(rail + strap[1])
            start = lane[VSN.name] - HALF
            if CASCODE in row.sites:  # the line starts at the copy, clear of its cascode
                m = measured[row.sites[0][0]]
                start = rules.snap(x_sites + slot[0] * pitch + m.source[0] - m.x0)
                x = rules.snap(start + COL_W / 2)
                rect(c, LAYER.metal3, (lane[VSN.name] - HALF, lo, x + HALF, lo + PAD))
                via(c, (x, lo + HALF), "metal1", "metal3")
                via(c, (lane[VSN.name], lo + HALF), "metal2", "metal3")
            else:  # the via's pad rises from the line's bottom: it keeps the tap line's space
                via(c, (lane[VSN.name], lo + HALF), "metal1", "metal2")
            rect(c, LAYER.metal1, (start, lo, east, hi))
            lines.setdefault(VSN.name, []).append(lo + HALF)

    def copy_cascode(row: _Row, b: _Block, x_sites: float, slot: dict[int, int], y: float,
                     lane: dict[str, float]) -> None:
        """The copy's cascode's gate on metal1 west to its lane, and its source strap on
        metal1 east to the via its copy's drain comes down to."""
        m = measured[row.sites[CASCODE][0]]
        x0, dy = rules.snap(x_sites + slot[CASCODE] * pitch - m.x0), rules.snap(y + b.rail - m.rail)
        top = rules.snap(m.gate[1] + dy)
        x = lane[names.NMOS_CASCODE_LINE]
        rect(c, LAYER.metal1, (x - HALF, top - TAP_H, x0 + m.gate[0] + TAP_H, top))
        via(c, (x, top - TAP_H / 2), "metal1", "metal2")
        lines.setdefault(names.NMOS_CASCODE_LINE, []).append(top - TAP_H / 2)
        rect(c, LAYER.metal1, (x0 + m.drain[1] - COL_W, m.source[1] + dy,
                               x_sites + slot[CASCODE] * pitch + column + HALF,
                               m.source[2] + dy))

    x0, y0, top, group = 0.0, 0.0, 0.0, -1
    track_y: dict[str, float] = {}
    for sub_k, sub in enumerate(subs):
        slot = {k: n for n, k in enumerate(inputs)} | {
            col: len(inputs) + k for k, col in enumerate(sub.rails)}
        if sub.group != group:  # a new side-by-side position: its lanes
            group = sub.group
            in_group = [s for s in subs if s.group == group]
            risen = sorted({r.input for s in in_group[1:] for r in s.n}) if banded else (
                [r.input for r in sub.n] if group else [])
            p_in = sorted({r.input for s in in_group for r in s.p})
            lane_names = [*(f"x{i}" for i in risen), *(f"xp{i}" for i in p_in), *tracked]
            lane = {n: rules.snap(x0 + HALF + k * PITCH) for k, n in enumerate(lane_names)}
            x_sites = rules.snap(lane[lane_names[-1]] + HALF + rules.M2_SPACE.value + 0.3)
            east = rules.snap(x_sites + (len(inputs) + max(len(s.rails) for s in in_group))
                              * pitch)
            lines.clear()
        if sub_k == 0:  # the bottom channel: supplies and lines, the first band's rails, folds' x
            track_names = [*tracked, *(f"s{col - 2}" for col in sub.rails)] + [
                f"x{r.input}" for s in subs if s.group for r in s.n]
            track_y = {n: rules.snap(-(k + 1) * PITCH) for k, n in enumerate(track_names)}
        elif banded:  # a band's own channel, below it
            y0 = rules.snap(top + (len(sub.rails) + 1) * PITCH)
            track_y |= {f"s{col - 2}": rules.snap(y0 - (k + 1) * PITCH)
                        for k, col in enumerate(sub.rails)}
        n_y = [rules.snap(y0 + k * nb.height) for k in range(len(sub.n))]
        for row, y in zip(sub.n, n_y, strict=True):
            draw_row(row, nb, x_sites, slot, y, lane, east, "vss")
        top = (n_y[-1] + nb.height) if n_y else y0
        if sub.p:
            y, p_lo = rules.snap(top + BLOCK_GAP), rules.snap(top + BLOCK_GAP)
            for k, row in enumerate(sub.p):
                b, advance = p_blocks[row.cascodes]
                above = sub.p[k + 1] if k + 1 < len(sub.p) else None
                draw_row(row, b, x_sites, slot, y, lane, east, None if row.cascodes else "vdd",
                         (above, advance) if above is not None and above.cascodes else None)
                gate = rules.snap(y + b.gate)
                net = names.PMOS_CASCODE_LINE if row.cascodes else f"xp{row.input}"
                rect(c, LAYER.metal3, (lane[net] - HALF, gate - HALF, east, gate + HALF))
                via(c, (lane[net], gate), "metal2", "metal3")
                lines.setdefault(net, []).append(gate)
                if True in p_blocks and not row.cascodes:  # a well of the row's own
                    rect(c, LAYER.nwell, (x_sites, y, rules.snap(east - pitch + p_width),
                                          y + b.height - ROW_GAP))
                top, y = rules.snap(y + b.height), rules.snap(y + advance)
            if True not in p_blocks:  # one well for the block
                rect(c, LAYER.nwell, (x_sites, p_lo, rules.snap(east - pitch + p_width),
                                      top - ROW_GAP))
        for r, y in zip(sub.n, n_y, strict=True):
            gate, name = rules.snap(y + nb.gate), f"x{r.input}"
            port = group == 0 and sub_k == 0  # the first sub-array's gate lines are the ports
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
            copy = next((k for k in (CASCODE, 0) if r.sites.get(k, (None, ""))[1]
                         in ("copy", "cascode")), None)
            if copy is not None:  # its drain feeds the xp lane
                m = measured[r.sites[copy][0]]
                drain = rules.snap(y + nb.rail - m.rail + m.drain[2])
                x = lane[f"xp{r.input}"]
                rect(c, LAYER.metal3, (x - HALF, drain - HALF,
                                       rules.snap(x_sites + slot[copy] * pitch - m.x0
                                                  + m.drain[0] + PAD), drain + HALF))
                via(c, (x, drain), "metal2", "metal3")
                lines.setdefault(f"xp{r.input}", []).append(drain)
        for col in sub.rails:
            drop(f"s{col - 2}", rules.snap(x_sites + slot[col] * pitch + column),
                 rules.snap(top - ROW_GAP - HALF))
        last = sub_k + 1 == len(subs) or subs[sub_k + 1].group != group
        if last:  # the group's lanes: risers, supply straps and cascode lines
            for name, ys in lines.items():
                if name in tracked:
                    drop(name, lane[name], max(ys))
                elif len(ys) > 1:
                    line(LAYER.metal2, lane[name], min(ys), max(ys))
            x0 = rules.snap(east + SUB_GAP)

    for name in tracked:
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
