"""The routing tracks a tile's pins sit on, and the jogs that bring them there.

An integrator's router reaches a macro pin without an off-grid access only when the pin's
centre lies on a track of its layer. The tile's pins are on metal3 on its west and east edges;
gf180mcu's metal3 tracks in the OpenROAD platform run every 0.56 µm from 0.28 µm. With the
tile's lower-left corner at the origin and its width and height whole numbers of pitches,
the pins stay on tracks wherever the tile is placed on a pitch, mirrored or not.

A pin's track inside the tile sits where its cell put it, so each pin leaves through a band
of metal2 columns between the cells and the edge: it runs on metal3 at its own height to a
column, drops to metal2, runs to its grid track and leaves on metal3 from there
(:func:`escape`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bmru_pdk import rules

TRACK_PITCH = 0.56  # µm, gf180mcu metal3 (horizontal) tracks
TRACK_OFFSET = 0.28  # µm, the first track above the origin
_EPS = 1e-6


def track_index(y: float) -> float:
    """``y`` in tracks from the first (an integer on a track)."""
    return (y - TRACK_OFFSET) / TRACK_PITCH


def size_up(length: float) -> float:
    """``length`` rounded up to a whole number of track pitches."""
    return rules.snap(math.ceil(length / TRACK_PITCH - _EPS) * TRACK_PITCH)


@dataclass(frozen=True)
class Escape:
    """Where each pin leaves the tile.

    Attributes:
        track: each pin's grid track (y, µm).
        column: for each pin not already on its track, the column it jogs in,
            counted outward from the cells.
        columns: number of columns (0: every pin is already on a track).
    """

    track: dict[str, float]
    column: dict[str, int]
    columns: int


def escape(heights: dict[str, float], pitch: float) -> Escape:
    """The grid track and jog column of each pin.

    Each pin takes the track nearest its height, pushed up where needed to stay ``pitch``
    (the tile's own metal3 pitch) above the pin below it, so the pins keep their order. The
    jogs run outward from the cells in an order that keeps every pair of metal3 runs a pitch
    apart at every x: first the pins that move up, top one first (each moves only once every
    pin above it has, and lands below them), then those that move down, bottom one first.
    Consecutive jogs share a column when their runs clear each other by a pitch.

    Args:
        heights: each pin's metal3 height where it reaches the band, at least ``pitch``
            apart (they are tracks of one routed tile).
        pitch: the centre-to-centre distance two metal3 or metal2 runs keep.

    Raises:
        ValueError: two pins closer than ``pitch`` (not a routed tile's tracks).
    """
    order = sorted(heights, key=heights.__getitem__)
    for a, b in zip(order, order[1:], strict=False):
        if heights[b] - heights[a] < pitch - _EPS:
            raise ValueError(f"pins {a!r} and {b!r} are {heights[b] - heights[a]:.3f} µm apart, "
                             f"closer than the {pitch} µm pitch")
    track: dict[str, float] = {}
    below = -math.inf
    for pin in order:
        k = round(track_index(heights[pin]))
        while TRACK_OFFSET + k * TRACK_PITCH < below + pitch - _EPS:
            k += 1
        track[pin] = below = rules.snap(TRACK_OFFSET + k * TRACK_PITCH)
    up = [p for p in reversed(order) if track[p] > heights[p] + _EPS]
    down = [p for p in order if track[p] < heights[p] - _EPS]
    column: dict[str, int] = {}
    runs: list[list[tuple[float, float]]] = []
    for pin in up + down:
        lo, hi = sorted((heights[pin], track[pin]))
        if not runs or any(lo < h + pitch - _EPS and b < hi + pitch - _EPS for b, h in runs[-1]):
            runs.append([])
        runs[-1].append((lo, hi))
        column[pin] = len(runs) - 1
    return Escape(track, column, len(runs))
