"""Channel routing of placed rows of transistors: every net on metal2 stubs and metal3 tracks.

Two channels run along each row: above it for gates and drains, below it for sources and
bulks; rows stack with the channel below one above the channel over the previous. Each
terminal gets a vertical metal2 stub from its device to the metal3 track of its net in that
channel (one track per net and channel, so tracks never need to share).
Metal3 carries only tracks and metal2 only stubs, drain straps and via pads, so crossings
are free; stubs stay inside their device's x-extent and never meet another net's metal2.
A net used in several channels gets a metal2 riser beyond the east end of the rows. A
guarded net (a clock) runs between its two guards' tracks (ground, supply) at its channel's
outer edge, each spanning at least as far, so no other track runs next to it.

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
from bmru_pdk.cells.placer import KIND_CHANGE_GAP, Placed
from bmru_pdk.cells.vias import CONTACT, VIA2, Box, add_pin, rect, via_stack
from bmru_pdk.circuits.model import Device
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


def _terminals(p: Placed) -> tuple[list[Stub], Box | None]:
    """The stubs of the four terminals of ``p`` and, for a narrow channel, the metal1 run of
    its source strap (nothing drawn).

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
    strap = None if fits else _box(source[0], strap_lo, sx, sy + sw / 2)
    bulk = (rules.snap(bx + bw / 2 - half), rules.snap(by + _TAP_METAL_H - half))
    drain_x = rules.snap(dx - half)
    if drain_x - gate[0] < PAD + rules.M2_SPACE.value:
        raise ValueError(f"device {d.name} (l={d.l}) is too short to route: its gate and "
                         "drain vias would not clear each other")
    return [Stub(d.g, *gate, UP), Stub(d.d, drain_x, dy, UP),
            Stub(d.s, *source, DOWN), Stub(d.b, *bulk, DOWN)], strap


def access(c: gf.Component, p: Placed) -> list[Stub]:
    """Draw the vias that bring the four terminals of ``p`` to metal2; return their stubs."""
    stubs, strap = _terminals(p)
    if strap:
        rect(c, LAYER.metal1, strap)
    gate, _, source, bulk = stubs  # the drain strap is metal2 already
    for s in (gate, source, bulk):
        via(c, (s.x, s.y), "metal1", "metal2")
    return stubs


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
    for s in legs:
        y = track_y[s.net, s.channel]
        rect(c, LAYER.metal2, _box(s.x - half, min(s.y, y) - half, s.x + half,
                                    max(s.y, y) + half))
        via(c, (s.x, y), "metal2", "metal3")
    boxes = {}
    for key, y in track_y.items():
        x0, x1 = spans.get(key) or leg_span(legs, key)
        boxes[key] = _box(x0, y - half, x1, y + half)
        rect(c, LAYER.metal3, boxes[key])
    return boxes


def leg_span(legs: list[Stub], key: Track) -> tuple[float, float]:
    """x-extent of the track ``key`` (net, channel) that just reaches its legs."""
    xs = [s.x for s in legs if (s.net, s.channel) == key]
    return min(xs) - PAD / 2, max(xs) + PAD / 2


def guarded(nets: list[str], guards: dict[str, tuple[str, str]]) -> list[str]:
    """A channel's nets in track order (innermost first) ending with each guarded net between
    its guards (inner, outer), added where the channel has none of their own."""
    noisy = [n for n in nets if n in guards]
    tail = [m for n in noisy for m in (guards[n][0], n, guards[n][1])]
    return [n for n in nets if n not in tail] + list(dict.fromkeys(tail))


def _channel_nets(stubs: list[Stub], channel: str, order: list[str]) -> list[str]:
    return [n for n in order if any(s.net == n and s.channel == channel for s in stubs)]


def next_row_y(below: list[Placed], above: list[Device],
               guards: dict[str, tuple[str, str]] | None = None) -> float:
    """Bottom of the row of ``above`` stacked on ``below``: its channel below clears the
    channel above ``below`` by a track pitch, and its cells clear ``below``'s by an Nwell
    spacing (any device kinds may face each other). ``guards`` as :func:`route` takes it."""
    guards = guards or {}
    stubs = [s for p in below for s in _terminals(p)[0]]
    up = guarded(list({s.net for s in stubs if s.channel == UP}), guards)
    top = max(s.y for s in stubs if s.channel == UP) + CLEARANCE + (len(up) - 1) * PITCH
    down = guarded(list({n for d in above for n in (d.s, d.b)}), guards)
    # source and bulk stubs start inside their cells, so a channel below the row's bottom
    # y by CLEARANCE + its tracks is always deep enough (route checks it)
    return rules.snap(max(top + len(down) * PITCH + CLEARANCE,
                          max(p.box[3] for p in below) + KIND_CHANGE_GAP))


def route(c: gf.Component, rows: list[list[Placed]], pins: list[str],
          guards: dict[str, tuple[str, str]] | None = None) -> dict[str, Box]:
    """Route every net of the placed rows; pins get ports and labels on their metal3 track.

    Each row has its channels above and below; a net in several channels gets a metal2
    riser east of all rows. A pin's port sits on its first track (lowest row, upper
    channel first), which runs the full width.

    Args:
        c: the component holding the placed devices.
        rows: the rows bottom-up, from :func:`bmru_pdk.cells.placer.place_row` at the
            heights :func:`next_row_y` gives.
        pins: pin names (nets) in port order; a pin that no device uses still gets a track
            (above the top row).
        guards: a noisy net (a clock) -> the nets (ground, supply) whose tracks run on
            either side of it in each of its channels, at least as long
            (:func:`~bmru_pdk.circuits.model.clock_guards`).

    Returns:
        The metal3 track of each pin.

    Raises:
        ValueError: a row's lower channel would overlap the channel above the row below.
    """
    guards = guards or {}
    per_row = [[s for p in row for s in access(c, p)] for row in rows]
    stubs = [s for row in per_row for s in row]
    half = PAD / 2
    west = min([*(p.box[0] for row in rows for p in row), *(s.x - half for s in stubs)])
    row_hi = max(p.box[2] for row in rows for p in row)
    order = list(dict.fromkeys([*pins, *(s.net for s in stubs)]))
    unused = [n for n in pins if not any(s.net == n for s in stubs)]

    # one track per net and channel
    track_y: dict[Track, float] = {}
    legs: list[Stub] = []
    below = None
    for r, row_stubs in enumerate(per_row):
        up = guarded(_channel_nets(row_stubs, UP, order)
                     + (unused if r == len(rows) - 1 else []), guards)
        down = guarded(_channel_nets(row_stubs, DOWN, order), guards)
        top = max(s.y for s in row_stubs if s.channel == UP) + CLEARANCE
        bottom = min(s.y for s in row_stubs if s.channel == DOWN) - CLEARANCE
        if below is not None and bottom - (len(down) - 1) * PITCH < below + PITCH - 1e-6:
            raise ValueError(f"row {r} sits too low: its channel below overlaps row {r - 1}'s")
        track_y |= {(n, f"{UP}{r}"): rules.snap(top + k * PITCH) for k, n in enumerate(up)}
        track_y |= {(n, f"{DOWN}{r}"): rules.snap(bottom - k * PITCH)
                    for k, n in enumerate(down)}
        legs += [Stub(s.net, s.x, s.y, f"{s.channel}{r}") for s in row_stubs]
        below = top + (len(up) - 1) * PITCH

    own = {(s.net, s.channel) for s in legs}  # the tracks a net's own terminals reach
    channels: dict[str, list[str]] = {}
    for n, ch in track_y:
        channels.setdefault(n, []).append(ch)
    # nets in several channels: risers east of the rows, from the net's lowest track up to
    # each of its others, with a via at each
    risers = {n: rules.snap(row_hi + rules.M2_SPACE.value + half + k * PITCH)
              for k, n in enumerate(n for n in order if len(channels.get(n, ())) > 1)}
    east = max([row_hi, *(x + half for x in risers.values())])
    for n, x in risers.items():
        low = min(track_y[n, ch] for ch in channels[n])
        legs += [Stub(n, x, low, ch) for ch in channels[n]]

    # a pin's port is on its first track of its own (a guard track carries no port)
    port = {n: (n, next((ch for ch in channels[n] if (n, ch) in own), channels[n][0]))
            for n in pins}
    spans = {port[n]: (west, east) for n in pins}
    for (n, ch) in list(track_y):
        for g in guards.get(n, ()):  # each guard's track at least as long as the guarded's
            lo, hi = spans.get((n, ch)) or leg_span(legs, (n, ch))
            glo, ghi = spans.get((g, ch)) or leg_span(legs, (g, ch))
            spans[g, ch] = (min(lo, glo), max(hi, ghi))
    boxes = draw_legs(c, legs, track_y, spans)
    for name in pins:
        add_pin(c, name, LAYER.metal3, boxes[port[name]], 180, label=True)
    return {n: boxes[port[n]] for n in pins}
