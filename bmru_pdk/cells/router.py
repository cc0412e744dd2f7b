"""Channel routing of a placed row of transistors: every net on metal2 stubs and metal3 tracks.

Two channels run along the row: above it for gates and drains, below it for sources and
bulks. Each terminal gets a vertical metal2 stub from its device to the metal3 track of its
net in that channel (one track per net and channel, so tracks never need to share).
Metal3 carries only tracks and metal2 only stubs, drain straps and via pads, so crossings
are free; stubs stay inside their device's x-extent and never meet another net's metal2.
A net used in both channels gets a metal2 riser beyond the east end of the row.

Terminal access (device cells of :mod:`bmru_pdk.cells.devices`):

- ``g``: a metal1-metal2 via on the west end of the gate metal, lifted to clear the drain
  strap (M2.2a); stub up.
- ``d``: the drain strap is metal2 already; stub up from its east end.
- ``s``: a via on the first source column where it meets the source strap (for a narrow
  channel, on the strap run on west of the device); stub down.
- ``b``: a via on the east end of the tap metal, its metal1 pad overhanging downwards (the
  source strap above leaves no room); stub down.
"""

from __future__ import annotations

from dataclasses import dataclass

import gdsfactory as gf

from bmru_pdk import rules
from bmru_pdk.cells.placer import Placed
from bmru_pdk.cells.vias import CONTACT, VIA2, Box, add_pin, rect, via_stack
from bmru_pdk.layers import LAYER

PAD = rules.snap(VIA2.size + 2 * VIA2.enclosure)  # via pad, stub and track width (0.38 µm)
PITCH = rules.snap(PAD + max(rules.M2_SPACE.value, rules.M3_SPACE.value))
# channel edge: the first track clears every via pad of the row by one metal space
CLEARANCE = rules.snap(PAD / 2 + rules.M2_SPACE.value + PAD / 2)
_TAP_METAL_H = rules.snap(CONTACT.size + 2 * CONTACT.enclosure)
UP, DOWN = "up", "down"


@dataclass(frozen=True)
class Stub:
    """Where a terminal's metal2 stub starts (x: centre line, y: start) and which channel it
    runs to (``up`` or ``down`` in a cell; a row's channel in a tile)."""

    net: str
    x: float
    y: float
    channel: str


def via(c: gf.Component, center: tuple[float, float], bottom: str, top: str) -> None:
    """A via stack of pad size centred on ``center`` (snapped), from ``bottom`` to ``top``."""
    ref = c << via_stack(size=(PAD, PAD), layer_bottom=bottom, layer_top=top)
    ref.move((rules.snap(center[0]), rules.snap(center[1])))


def _pt(port: gf.Port) -> tuple[float, float, float]:
    (x, y), w = port.center, port.width
    return rules.snap(x), rules.snap(y), rules.snap(w)


def access(c: gf.Component, p: Placed) -> list[Stub]:
    """Draw the vias that bring the four terminals of ``p`` to metal2; return their stubs.

    Raises:
        ValueError: the gate is too short for the gate and drain stubs to clear each other
            (well below the library's lengths).
    """
    d, ports, half = p.device, p.ref.ports, PAD / 2
    gx, gy, gw = _pt(ports["g"])
    dx, dy, dw = _pt(ports["d"])
    sx, sy, sw = _pt(ports["s"])
    bx, by, bw = _pt(ports["b"])
    drain_top = rules.snap(dy + dw / 2)

    gate = (rules.snap(gx - gw / 2 + half),
            rules.snap(max(gy - half, drain_top + rules.M2_SPACE.value + half)))
    strap_lo = rules.snap(sy - sw / 2)
    # a narrow channel leaves no room between the source and drain straps: then the source
    # strap runs on west of the device to a via clear of the drain strap
    fits = strap_lo + PAD + rules.M2_SPACE.value <= dy - dw / 2
    source = (rules.snap(sx + half if fits else sx - rules.M2_SPACE.value - half),
              rules.snap(strap_lo + half))
    if not fits:
        rect(c, LAYER.metal1, (source[0], strap_lo, sx, sy + sw / 2))
    bulk = (rules.snap(bx + bw / 2 - half), rules.snap(by + _TAP_METAL_H - half))
    drain_x = rules.snap(dx - half)
    if drain_x - gate[0] < PAD + rules.M2_SPACE.value:
        raise ValueError(f"device {d.name} (l={d.l}) is too short to route: its gate and "
                         "drain vias would not clear each other")
    for center in (gate, source, bulk):
        via(c, center, "metal1", "metal2")
    return [Stub(d.g, *gate, UP), Stub(d.d, drain_x, dy, UP),
            Stub(d.s, *source, DOWN), Stub(d.b, *bulk, DOWN)]


def _box(x0: float, y0: float, x1: float, y1: float) -> Box:
    return (rules.snap(x0), rules.snap(y0), rules.snap(x1), rules.snap(y1))


Track = tuple[str, str]  # (net, channel)


def draw_legs(c: gf.Component, legs: list[Stub], track_y: dict[Track, float],
              spans: dict[Track, tuple[float, float]]) -> dict[Track, Box]:
    """Draw every leg as a metal2 stub from its start to its net's track in its channel, with
    a via onto the track, then every track on metal3.

    Args:
        c: the component to draw in.
        legs: the stubs (a riser between tracks is a leg per track, all from the lowest one).
        track_y: centre line of each (net, channel) track.
        spans: x-extent of tracks that must run beyond their legs (pins); the others span
            their legs.

    Returns:
        The metal3 box of each track, in the order of ``track_y``.
    """
    half = PAD / 2
    xs: dict[Track, list[float]] = {}
    for s in legs:
        y = track_y[s.net, s.channel]
        rect(c, LAYER.metal2, _box(s.x - half, min(s.y, y) - half, s.x + half,
                                    max(s.y, y) + half))
        via(c, (s.x, y), "metal2", "metal3")
        xs.setdefault((s.net, s.channel), []).append(s.x)
    boxes = {}
    for key, y in track_y.items():
        x0, x1 = spans.get(key) or (min(xs[key]) - half, max(xs[key]) + half)
        boxes[key] = _box(x0, y - half, x1, y + half)
        rect(c, LAYER.metal3, boxes[key])
    return boxes


def route(c: gf.Component, placed: list[Placed], pins: list[str]) -> dict[str, Box]:
    """Route every net of the placed row; pins get ports and labels on their metal3 track.

    Args:
        c: the component holding the placed devices.
        placed: the row, from :func:`bmru_pdk.cells.placer.place_row`.
        pins: pin names (nets) in port order; a pin that no device uses still gets a track.

    Returns:
        The metal3 track of each pin.
    """
    stubs = [s for p in placed for s in access(c, p)]
    half = PAD / 2
    west = min([*(p.ref.xmin for p in placed), *(s.x - half for s in stubs)])
    row_hi = max(p.ref.xmax for p in placed)
    order = list(dict.fromkeys([*pins, *(s.net for s in stubs)]))

    # one track per net and channel; pins nobody uses get a track above
    used = {ch: [n for n in order if any(s.net == n and s.channel == ch for s in stubs)]
            for ch in (UP, DOWN)}
    used[UP] += [n for n in pins if not any(s.net == n for s in stubs)]
    top = max(s.y for s in stubs if s.channel == UP) + CLEARANCE
    bottom = min(s.y for s in stubs if s.channel == DOWN) - CLEARANCE
    track_y = {(n, UP): rules.snap(top + k * PITCH) for k, n in enumerate(used[UP])}
    track_y |= {(n, DOWN): rules.snap(bottom - k * PITCH) for k, n in enumerate(used[DOWN])}

    # nets in both channels: risers east of the row, joining their two tracks
    both = [n for n in used[UP] if n in used[DOWN]]
    risers = {n: rules.snap(row_hi + rules.M2_SPACE.value + half + k * PITCH)
              for k, n in enumerate(both)}
    east = max([row_hi, *(x + half for x in risers.values())])
    # a riser is a stub from the net's lower track up to its upper one, with a via at each
    legs = [*stubs, *(Stub(n, x, track_y[n, DOWN], UP) for n, x in risers.items()),
            *(Stub(n, x, track_y[n, DOWN], DOWN) for n, x in risers.items())]

    boxes = draw_legs(c, legs, track_y, {k: (west, east) for k in track_y if k[0] in pins})
    tracks: dict[str, Box] = {}
    for (net, _), box in boxes.items():
        if net in pins and net not in tracks:
            tracks[net] = box
    for name in pins:
        add_pin(c, name, LAYER.metal3, tracks[name], 180, label=True)
    return tracks
