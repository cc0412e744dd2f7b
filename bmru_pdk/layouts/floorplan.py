"""Tile floorplan: library cells placed as instances in rows, routed with the cell router's
legs (:func:`bmru_pdk.cells.router.draw_legs`).

Rows stack bottom-up. A row of one cell (a weight array, the bias generator) is *direct*:
each of its ports (metal3, west edge) runs straight west on metal3 to its net's riser. A row
of several cells (units) has a routing channel below it: every port jogs west on metal3
into the gap before its cell, drops a via and runs down on metal2 to its net's track in the
channel. A row wider than the widest direct row wraps onto the next.

Every net with more than one such tap (a direct port or a channel track) gets a metal2
riser in a spine west of all rows, from its lowest tap to its highest; risers whose spans
do not overlap share a lane (interval packing), so the spine is as wide as the most nets
crossing any one height, not as the number of nets. The clock's channel track runs between
ground's and the supply's (:func:`~bmru_pdk.cells.router.guarded`), and its riser between
theirs in the spine's first lanes. Each tile pin's lowest tap runs on west to the
boundary, where its port and its label (just inside the port) sit; an output pin leaves on
the east edge instead, from the readout crossbar's fan-out track, which is clear of metal3
to the array's east edge. On the way each pin jogs onto a metal3 routing track in a band
of columns west of the spine (east of the cells) (:mod:`.tracks`), and the boundary is a
whole number of tracks. Metal2 is only ever vertical and metal3 horizontal outside the
cells (but for a pin's jog shorter than two pitches, which no run crosses), so crossings
are free.

The arrays are banded to a row width chosen for the tile's aspect ratio (:func:`row_width`),
and the unit rows wrap at the widest array.

Power rings: the supply nets get a closed ring each on metal4, the level above every shape of
the tile, between the boundary and the cells (grounds outside, supply inside; a tile with an
NMOS source rail has three, and its cells start a ring further in), the rings an
integrator's power grid connects to. A supply pin's metal3 track runs west under the rings
to its port and drops a via3 array to its own ring where it crosses it.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

import gdsfactory as gf
import klayout.db as kdb

from bmru_pdk import rules
from bmru_pdk.cells.crossbar import Shape
from bmru_pdk.cells.placer import place
from bmru_pdk.cells.router import PAD, PITCH, Stub, Track, draw_legs, guarded, via
from bmru_pdk.cells.vias import VIA3, Box, add_pin, cut_array, rect
from bmru_pdk.layers import LABELS, LAYER
from bmru_pdk.layouts.tracks import escape, size_up

HALF = PAD / 2
# Power rings on metal4, from the boundary in: an offset that keeps abutted tiles' rings a
# metal4 space apart (M4.2a), then each ring and a gap; the cells start a micron inside them.
RING_OFFSET = rules.snap_up(rules.M4_SPACE.value / 2)
RING_WIDTH = 1.0  # µm: wide enough for a via3 pair across, and for an integrator's strap
RING_GAP = 0.5  # µm between the two rings


def edge(rings: int = 2) -> float:
    """Boundary to the cells with ``rings`` power rings (at least room for two)."""
    rings = max(rings, 2)
    return rules.snap(RING_OFFSET + rings * RING_WIDTH + (rings - 1) * RING_GAP + 1.0)


EDGE = edge()  # the floorplan estimate's (row_width): a third ring moves it by 1.5 µm a side
LABEL_INSET = 0.1  # µm: a pin's label sits this far inside its port (ports from labels)
ROW_CLEAR = 1.0  # µm between a channel's outer track and a cell (clears metal, Nwell)
# first stub of a cell: its metal2 a metal space plus margin west of the cell
STUB_IN = rules.snap(HALF + rules.M2_SPACE.value + 0.5)
SPINE_CLEAR = rules.snap(rules.M2_SPACE.value + 0.5)  # spine's last lane to the cells
# row_width tries this many widths plus one, geometrically spaced between the narrowest and
# the widest floorplan: 8 % apart even over a 100 : 1 range, below the estimate's own error
WIDTH_STEPS = 60


@dataclass(frozen=True)
class Placement:
    """A cell to place and the tile net of each of its ports."""

    name: str
    cell: gf.Component
    nets: dict[str, str]


def _gap(ports: int) -> float:
    """Room west of a cell for its stubs, clear of the previous cell."""
    return rules.snap(STUB_IN + (ports - 1) * PITCH + HALF + rules.M2_SPACE.value + 0.5)


def _direct(row: list[Placement]) -> bool:
    nets = [row[0].nets[p.name] for p in row[0].cell.ports] if len(row) == 1 else []
    return bool(nets) and len(set(nets)) == len(nets)


def _wrap(rows: list[list[Placement]], box: dict[str, kdb.DBox], width: float
          ) -> list[list[Placement]]:
    """Split every channel row wider than ``width`` (or its own widest cell)."""
    out: list[list[Placement]] = []
    for row in rows:
        if _direct(row):
            out.append(row)
            continue
        line: list[Placement] = []
        x = 0.0
        for p in row:
            w = _gap(len(p.cell.ports)) + box[p.cell.name].width()
            if line and x + w > width:
                out.append(line)
                line, x = [], 0.0
            line.append(p)
            x += w
        out.append(line)
    return out


def row_width(arrays: list[Shape], rows: list[list[Placement]], aspect: float) -> float:
    """Width to draw the weight arrays about (each banded to it, :meth:`Shape.band`) for a
    tile of about ``aspect`` (height : width).

    Tried on a geometric series of widths from the widest cell to every array in one band
    and every channel row unwrapped: each array's outline (:meth:`Shape.outline`), the other
    rows wrapped at the widest row as :func:`place_and_route` wraps them, the spine as wide
    as a lane per channel-row net (their risers overlap), the edges; the closest wins.
    """
    bbox = {p.cell.name: p.cell.dbbox() for row in rows for p in row}
    widest = max(b.width() for b in bbox.values())
    unwrapped = max([sum(_gap(len(p.cell.ports)) + bbox[p.cell.name].width() for p in row)
                     for row in rows] + [a.outline(max(a.rails, 1))[0] for a in arrays])
    spine = PITCH * len({p.nets[port.name] for row in rows if not _direct(row)
                         for p in row for port in p.cell.ports}) + SPINE_CLEAR

    def error(width: float) -> float:
        outlines = [a.outline(a.band(width)) for a in arrays]
        wrap = max([widest, *(w for w, _ in outlines)])
        wrapped = _wrap(rows, bbox, wrap)
        height = (sum(h + ROW_CLEAR for _, h in outlines) + 2 * EDGE
                  + sum(_row_height(row, bbox) for row in wrapped))
        return abs(math.log(height / (wrap + spine + 2 * EDGE) / aspect))

    widths = [widest * (unwrapped / widest) ** (k / WIDTH_STEPS) for k in range(WIDTH_STEPS + 1)]
    return min(widths, key=error)


def _row_height(row: list[Placement], bbox: dict[str, kdb.DBox]) -> float:
    """How far a row moves the next one up: its channel (one track per net, below it, a
    row of several cells only) and its tallest cell, each with a clearance."""
    cells = max(bbox[p.cell.name].height() for p in row) + ROW_CLEAR
    return cells if _direct(row) else _channel(row) + cells


def _channel(row: list[Placement]) -> float:
    """Height of a channel row's tracks below its cells, clearance included."""
    nets = {p.nets[port.name] for p in row for port in p.cell.ports}
    return len(nets) * PITCH - PITCH + PAD + ROW_CLEAR


def riser_lanes(spans: dict[str, tuple[float, float]], fixed: list[str] | None = None
                ) -> dict[str, int]:
    """Lane of each riser: ``fixed`` risers the first lanes in their order (the clock between
    its guards), then the others bottom-up in the lowest lane beyond those whose last riser
    ends at least a pitch below this one's start, else a new lane (optimal for intervals:
    as many lanes as the most spans overlapping at one height)."""
    lane = {n: k for k, n in enumerate(fixed or [])}
    free: list[int] = []  # lanes free at the current height
    busy: list[tuple[float, int]] = []  # (top of its riser, lane)
    for net, (lo, hi) in sorted(spans.items(), key=lambda kv: kv[1]):
        if net in lane:
            continue
        while busy and busy[0][0] + PITCH <= lo + 1e-9:
            heapq.heappush(free, heapq.heappop(busy)[1])
        lane[net] = heapq.heappop(free) if free else len(fixed or []) + len(busy)
        heapq.heappush(busy, (hi, lane[net]))
    return lane


def _ring_rects(boundary: Box, k: int) -> list[Box]:
    """The four sides (west, east, south, north) of power ring ``k`` (0 outermost) inside
    ``boundary``."""
    x0, y0, x1, y1 = boundary
    a = rules.snap(RING_OFFSET + k * (RING_WIDTH + RING_GAP))
    b = rules.snap(a + RING_WIDTH)
    return [(x0 + a, y0 + a, x0 + b, y1 - a), (x1 - b, y0 + a, x1 - a, y1 - a),
            (x0 + b, y0 + a, x1 - b, y0 + b), (x0 + b, y1 - b, x1 - b, y1 - a)]


def _rings(c: gf.Component, boundary: Box, rings: list[str], pin_track: dict[str, Box]) -> None:
    """Draw the metal4 ring of each of ``rings`` (outermost first), its label, and the via3
    array joining it to its pin's metal3 track."""
    for k, net in enumerate(rings):
        sides = _ring_rects(boundary, k)
        for side in sides:
            rect(c, LAYER.metal4, side)
        west = sides[0]
        c.add_label(net, position=((west[0] + west[2]) / 2, (west[1] + west[3]) / 2),
                    layer=LABELS[LAYER.metal4])
        _, ty0, _, ty1 = pin_track[net]
        cut_array(c, VIA3, (west[0], ty0, west[2], ty1), VIA3.enclosure)
    c.info["power_rings"] = {net: [list(r) for r in _ring_rects(boundary, k)]
                             for k, net in enumerate(rings)}


def _jog(c: gf.Component, y: float, g: float, x: float, edge_x: float) -> Box:
    """Draw a pin's jog in its column at ``x``, from its height ``y`` to its grid track ``g``,
    and the track on to the edge at ``edge_x``; returns the track (the pin's metal3 box).

    A jog shorter than two pitches stays on metal3 (no other pin's run can lie between its
    ends, each a pitch from both; two vias that close would overlap); a longer one crosses
    the runs between on metal2."""
    lo, hi = min(y, g) - HALF, max(y, g) + HALF
    if abs(g - y) < 2 * PITCH:
        rect(c, LAYER.metal3, (x - HALF, lo, x + HALF, hi))
    else:
        via(c, (x, y), "metal2", "metal3")
        via(c, (x, g), "metal2", "metal3")
        rect(c, LAYER.metal2, (x - HALF, lo, x + HALF, hi))
    box = (min(edge_x, x - HALF), g - HALF, max(edge_x, x + HALF), g + HALF)
    rect(c, LAYER.metal3, box)
    return box


def place_and_route(c: gf.Component, rows: list[list[Placement]], pins: list[str],
                    rings: list[str] | None = None, east: list[str] | None = None,
                    guards: dict[str, tuple[str, str]] | None = None) -> Box:
    """Place ``rows`` bottom-up, route every net, add a port and label per pin.

    Args:
        c: the empty tile component.
        rows: the cells of each row, west to east (a row too wide wraps).
        pins: tile pin names (nets) in port order.
        rings: supply pins (of ``pins``) that get a metal4 power ring, outermost first; the
            rings' sides are in ``c.info["power_rings"]``.
        east: pins (of ``pins``) to leave on the east edge: from their highest port whose
            track its cell keeps clear of metal3 to its east edge (``info["clear_east"]``,
            a crossbar's fan-out tracks), straight on east. Without such a port, west.
        guards: a noisy net (the clock) -> the nets (ground, supply) whose channel tracks
            run on either side of its own, nearest the cells, and whose risers run on either
            side of its riser (:func:`~bmru_pdk.circuits.model.clock_guards`).

    Returns:
        The boundary (x0, y0, x1, y1) with the lower-left corner at the origin.
    """
    # every cell measured before anything is placed: one layout update (placer.Placed)
    bbox = {p.cell.name: p.cell.dbbox() for row in rows for p in row}
    rows = _wrap(rows, bbox, max([bbox[r[0].cell.name].width() for r in rows if _direct(r)],
                                 default=0.0))
    # vertical placement first: the taps' heights decide the spine, the spine the x origin
    margin = edge(len(rings or []))
    track_y: dict[Track, float] = {}
    bases: list[float] = []
    y = margin
    for r, row in enumerate(rows):
        if _direct(row):
            base = y
            cell = row[0].cell
            for port in cell.ports:
                track_y[row[0].nets[port.name], str(r)] = rules.snap(
                    base + port.center[1] - bbox[cell.name].bottom)
        else:
            nets = guarded(list(dict.fromkeys(p.nets[port.name] for p in row
                                              for port in p.cell.ports)), guards or {})
            for k, n in enumerate(nets):
                track_y[n, str(r)] = rules.snap(y + HALF + k * PITCH)
            base = rules.snap(y + _channel(row))
        bases.append(base)
        y = rules.snap(y + _row_height(row, bbox))
    taps: dict[str, list[Track]] = {}
    for key in track_y:
        taps.setdefault(key[0], []).append(key)
    # an east pin leaves from its highest port with a clear run east; every other pin from
    # its lowest tap, west, through the escape band between the rings and the spine
    clear_east = {(row[0].nets[port.name], str(r)) for r, row in enumerate(rows) if _direct(row)
                  for port in row[0].cell.ports
                  if port.name in row[0].cell.info.get("clear_east", ())}
    exits = {n: max((k for k in taps[n] if k in clear_east), key=track_y.__getitem__)
             for n in east or [] if any(k in clear_east for k in taps[n])}
    first = {n: min(taps[n], key=track_y.__getitem__) for n in pins if n not in exits}
    west = escape({n: track_y[k] for n, k in first.items()}, PITCH)
    risers = {n: (min(track_y[k] for k in keys), max(track_y[k] for k in keys))
              for n, keys in taps.items() if len(keys) > 1}
    # the clock's riser between its guards' in the spine's first lanes, as in its channels
    lane = riser_lanes(risers, [m for n, (inner, outer) in (guards or {}).items()
                                if n in risers for m in (inner, n, outer) if m in risers])
    spine_x = rules.snap(margin + west.columns * PITCH)
    riser_x = {n: rules.snap(spine_x + HALF + k * PITCH) for n, k in lane.items()}
    row_x = rules.snap(spine_x + (max(lane.values()) + 1 if lane else 0) * PITCH + SPINE_CLEAR)

    legs: list[Stub] = []
    spans: dict[Track, tuple[float, float]] = {}
    east_x: dict[Track, float] = {}  # where the east pins' ports are
    boxes_placed: list[Box] = []
    for r, row in enumerate(rows):
        direct = _direct(row)
        x = row_x
        for p in row:
            ref, placed = place(c, p.cell, bbox[p.cell.name],
                                x if direct else x + _gap(len(p.cell.ports)), bases[r])
            ref.name = p.name
            for k, port in enumerate(ref.ports):
                key = (p.nets[port.name], str(r))
                px, py = (rules.snap(v) for v in port.center)
                if direct:  # the track is the port's own line, run on west to the spine
                    spans[key] = (px, px + HALF)
                    if key in clear_east:
                        east_x[key] = px
                    continue
                sx = rules.snap(px - STUB_IN - k * PITCH)
                rect(c, LAYER.metal3, (sx - HALF, py - HALF, px, py + HALF))
                via(c, (sx, py), "metal2", "metal3")
                legs.append(Stub(key[0], sx, py, key[1]))
                lo, hi = spans.get(key, (sx, sx))
                spans[key] = (min(lo, sx - HALF), max(hi, sx + HALF))
            x = placed[2]
            boxes_placed.append(placed)
    for n, x in riser_x.items():
        low = min(track_y[k] for k in taps[n])
        for key in taps[n]:
            legs.append(Stub(n, x, low, key[1]))
            spans[key] = (min(spans[key][0], x - HALF), spans[key][1])
    pin_box: dict[str, Box] = {}
    for n, key in first.items():
        if n in west.column:
            x = rules.snap(spine_x + HALF - (west.column[n] + 1) * PITCH)
            spans[key] = (x - HALF, spans[key][1])
            pin_box[n] = _jog(c, track_y[key], west.track[n], x, 0.0)
        else:
            spans[key] = (0.0, spans[key][1])
    boxes = draw_legs(c, legs, track_y, spans)
    pin_box.update({n: boxes[k] for n, k in first.items() if n not in west.column})
    cells_east = max([*(s[1] for s in spans.values()), *(p[2] for p in boxes_placed)])
    east_out = escape({n: track_y[k] for n, k in exits.items()}, PITCH)
    column_x = {n: rules.snap(cells_east + STUB_IN + j * PITCH) for n, j in east_out.column.items()}
    x1 = size_up(max([cells_east, *(x + HALF for x in column_x.values())]) + margin)
    boundary = (0.0, 0.0, x1, size_up(y - ROW_CLEAR + margin))
    for n, key in exits.items():
        px, py = east_x[key], track_y[key]
        if n in column_x:
            x = column_x[n]
            rect(c, LAYER.metal3, (px, py - HALF, x + HALF, py + HALF))
            pin_box[n] = _jog(c, py, east_out.track[n], x, x1)
        else:
            pin_box[n] = (px, py - HALF, x1, py + HALF)
            rect(c, LAYER.metal3, pin_box[n])
    for n in pins:
        box = pin_box[n]
        ym = (box[1] + box[3]) / 2
        if n in exits:
            add_pin(c, n, LAYER.metal3, box, 0)
            c.add_label(n, position=(x1 - LABEL_INSET, ym), layer=LABELS[LAYER.metal3])
        else:
            add_pin(c, n, LAYER.metal3, box, 180)
            c.add_label(n, position=(LABEL_INSET, ym), layer=LABELS[LAYER.metal3])
    rect(c, LAYER.pr_bndry, boundary)
    _rings(c, boundary, rings or [], pin_box)
    return boundary
