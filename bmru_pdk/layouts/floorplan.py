"""Tile floorplan: library cells placed as instances in rows, routed with the cell router's
channels (:func:`bmru_pdk.cells.router.draw_legs`).

Rows stack bottom-up with a routing channel below each. Every cell port (metal3, west edge)
jogs west on metal3 into the gap before its cell, drops a via, and runs down on metal2 to
its net's metal3 track in the channel below the row. A net in several channels gets a metal2
riser in a spine west of all rows. Each tile pin's track runs on west to the boundary, where
its port and its label (just inside the port) sit. Metal2 is only ever vertical and metal3
horizontal outside the cells, so crossings are free; gaps and channels keep every shape a
metal space from the cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import gdsfactory as gf

from bmru_pdk import rules
from bmru_pdk.cells.router import PAD, PITCH, Stub, Track, draw_legs, via
from bmru_pdk.cells.vias import Box, add_pin, rect
from bmru_pdk.layers import LABELS, LAYER

HALF = PAD / 2
EDGE = 1.0  # µm from the boundary to the outermost shapes
LABEL_INSET = 0.1  # µm: a pin's label sits this far inside its port (ports from labels)
ROW_CLEAR = 1.0  # µm between a channel's outer track and a cell (clears metal, Nwell)
# first stub of a cell: its metal2 a metal space plus margin west of the cell
STUB_IN = rules.snap(HALF + rules.M2_SPACE.value + 0.5)


@dataclass(frozen=True)
class Placement:
    """A cell to place and the tile net of each of its ports."""

    name: str
    cell: gf.Component
    nets: dict[str, str]


def _gap(ports: int) -> float:
    """Room west of a cell for its stubs, clear of the previous cell."""
    return rules.snap(STUB_IN + (ports - 1) * PITCH + HALF + rules.M2_SPACE.value + 0.5)


def place_and_route(c: gf.Component, rows: list[list[Placement]], pins: list[str]) -> Box:
    """Place ``rows`` bottom-up, route every net, add a port and label per pin.

    Args:
        c: the empty tile component.
        rows: the cells of each row, west to east.
        pins: tile pin names (nets) in port order.

    Returns:
        The boundary (x0, y0, x1, y1) with the lower-left corner at the origin.
    """
    channel_nets = [list(dict.fromkeys(n for p in row for n in p.nets.values())) for row in rows]
    channels: dict[str, list[int]] = {}
    for r, nets in enumerate(channel_nets):
        for n in nets:
            channels.setdefault(n, []).append(r)
    spine = [n for n, chs in channels.items() if len(chs) > 1]
    riser_x = {n: rules.snap(EDGE + HALF + k * PITCH) for k, n in enumerate(spine)}
    row_x = rules.snap(EDGE + len(spine) * PITCH + rules.M2_SPACE.value + 0.5)

    legs: list[Stub] = []
    track_y: dict[Track, float] = {}
    y = EDGE
    for r, row in enumerate(rows):
        for k, n in enumerate(channel_nets[r]):
            track_y[n, str(r)] = rules.snap(y + HALF + k * PITCH)
        base = rules.snap(y + len(channel_nets[r]) * PITCH - PITCH + PAD + ROW_CLEAR)
        x, top = row_x, base
        for p in row:
            ref = c << p.cell
            ref.name = p.name
            ref.xmin = rules.snap(x + _gap(len(p.nets)))
            ref.ymin = base
            for k, port in enumerate(ref.ports):
                px, py = (rules.snap(v) for v in port.center)
                sx = rules.snap(px - STUB_IN - k * PITCH)
                rect(c, LAYER.metal3, (sx - HALF, py - HALF, px, py + HALF))
                via(c, (sx, py), "metal2", "metal3")
                legs.append(Stub(p.nets[port.name], sx, py, str(r)))
            x, top = rules.snap(ref.xmax), max(top, rules.snap(ref.ymax))
        y = rules.snap(top + ROW_CLEAR)
    for n, x in riser_x.items():
        low = min(track_y[n, str(r)] for r in channels[n])
        legs += [Stub(n, x, low, str(r)) for r in channels[n]]

    east = max(s.x for s in legs) + HALF
    spans = {}
    for n in pins:
        key = (n, str(channels[n][0]))
        spans[key] = (0.0, max(s.x for s in legs if (s.net, s.channel) == key) + HALF)
    boxes = draw_legs(c, legs, track_y, spans)
    for n in pins:
        box = boxes[n, str(channels[n][0])]
        add_pin(c, n, LAYER.metal3, box, 180)
        c.add_label(n, position=(LABEL_INSET, (box[1] + box[3]) / 2), layer=LABELS[LAYER.metal3])
    boundary = (0.0, 0.0, rules.snap(max(east, c.xmax) + EDGE), rules.snap(y - ROW_CLEAR + EDGE))
    rect(c, LAYER.pr_bndry, boundary)
    return boundary
