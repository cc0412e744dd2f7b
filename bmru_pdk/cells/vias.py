"""Cut arrays (contacts, vias) and the metal1-metal3 via stack."""

from __future__ import annotations

import math
from dataclasses import dataclass

import gdsfactory as gf

from bmru_pdk import rules
from bmru_pdk.layers import LABELS, LAYER, METALS

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class CutRule:
    """How one cut layer is drawn: its exact size, its spaces and the metal enclosure used."""

    layer: gf.typings.LayerSpec
    size: float
    space: float
    space_array: float
    enclosure: float


# Enclosures: the end-of-line value on every side, so that no side needs the narrow-metal checks.
CONTACT = CutRule(
    LAYER.contact, rules.CONTACT_SIZE.value, rules.CONTACT_SPACE.value,
    rules.CONTACT_SPACE.value, rules.M1_ENC_CONTACT_EOL.value,
)
VIA1 = CutRule(
    LAYER.via1, rules.VIA_SIZE.value, rules.VIA_SPACE.value,
    rules.VIA_SPACE_ARRAY.value, rules.METAL_ENC_VIA_EOL.value,
)
VIA2 = CutRule(
    LAYER.via2, rules.VIA2_SIZE.value, rules.VIA2_SPACE.value,
    rules.VIA2_SPACE_ARRAY.value, rules.METAL_ENC_VIA2_EOL.value,
)
VIA3 = CutRule(
    LAYER.via3, rules.VIA3_SIZE.value, rules.VIA3_SPACE.value,
    rules.VIA3_SPACE_ARRAY.value, rules.METAL_ENC_VIA3_EOL.value,
)
# The cut between METALS[i] and METALS[i + 1].
VIAS_BETWEEN = (VIA1, VIA2, VIA3)


def rect(c: gf.Component, layer: gf.typings.LayerSpec, box: Box) -> None:
    """Add the rectangle ``box`` = (x0, y0, x1, y1), snapped to the grid, on ``layer``."""
    x0, y0, x1, y1 = (rules.snap(v) for v in box)
    c.add_polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], layer=layer)


def _count(length: float, size: float, space: float) -> int:
    return int(math.floor(round((length - size) / (size + space), 6))) + 1


def cut_array(c: gf.Component, cut: CutRule, box: Box, margin: float) -> Box:
    """Fill ``box`` with as many cuts as fit ``margin`` inside its edges, centred on the grid.

    Returns the bounding box of the cuts. Raises ``ValueError`` if not even one fits.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0 - 2 * margin, y1 - y0 - 2 * margin
    if min(w, h) < cut.size - 1e-9:
        raise ValueError(f"{box} cannot hold a {cut.size} µm cut {margin} µm inside its edges")
    nx, ny = _count(w, cut.size, cut.space), _count(h, cut.size, cut.space)
    space = cut.space
    if min(nx, ny) >= rules.VIA_ARRAY_MIN_CUTS:
        space = cut.space_array
        nx, ny = _count(w, cut.size, space), _count(h, cut.size, space)
    pitch = cut.size + space
    span_x, span_y = nx * pitch - space, ny * pitch - space
    # Round the centring offset down: the margin itself is on the grid, so it still holds.
    cx0 = rules.snap(x0 + margin + rules.snap_down((w - span_x) / 2))
    cy0 = rules.snap(y0 + margin + rules.snap_down((h - span_y) / 2))
    for i in range(nx):
        for j in range(ny):
            x, y = cx0 + i * pitch, cy0 + j * pitch
            rect(c, cut.layer, (x, y, x + cut.size, y + cut.size))
    return (cx0, cy0, rules.snap(cx0 + span_x), rules.snap(cy0 + span_y))


def add_pin(
    c: gf.Component,
    name: str,
    layer: gf.typings.LayerSpec,
    box: Box,
    orientation: int,
    label: bool = False,
) -> None:
    """An electrical port on the ``orientation`` side of the metal ``box``.

    With ``label``, also a text of the same name at the centre of ``box`` on the metal's label
    layer, so that LVS names the net.
    """
    x0, y0, x1, y1 = box
    xm, ym = rules.snap((x0 + x1) / 2), rules.snap((y0 + y1) / 2)
    center, width = {
        0: ((x1, ym), y1 - y0),
        90: ((xm, y1), x1 - x0),
        180: ((x0, ym), y1 - y0),
        270: ((xm, y0), x1 - x0),
    }[orientation]
    # Port widths must be an even number of database units: round down to two grid steps.
    width = rules.snap_down(width, 2 * rules.GRID.value)
    c.add_port(name, center=center, width=width, orientation=orientation, layer=layer,
               port_type="electrical")
    if label:
        c.add_label(name, position=(xm, ym), layer=LABELS[layer])


def _metal_index(layer: str) -> int:
    names = [m.name for m in METALS]
    if layer not in names:
        raise ValueError(f"layer {layer!r} is not one of {names}")
    return names.index(layer)


@gf.cell
def via_stack(
    size: tuple[float, float] = (0.38, 0.38),
    layer_bottom: str = "metal1",
    layer_top: str = "metal3",
) -> gf.Component:
    """A rectangle on every metal from ``layer_bottom`` to ``layer_top``, joined by via arrays.

    The cell is centred on the origin (to the grid). Ports ``e1``-``e4`` (west, north, east,
    south) sit on the edges of the top metal, as in gdsfactory's own ``via_stack``.

    Args:
        size: width and height of every metal rectangle (µm); at least a via plus its
            end-of-line enclosure on each side (0.38 µm).
        layer_bottom: lowest metal, ``"metal1"`` or ``"metal2"``.
        layer_top: highest metal, ``"metal2"``, ``"metal3"`` or ``"metal4"``.
    """
    lo, hi = _metal_index(layer_bottom), _metal_index(layer_top)
    if hi <= lo:
        raise ValueError(f"layer_top {layer_top!r} must lie above layer_bottom {layer_bottom!r}")
    w, h = (rules.snap(v) for v in size)
    if (w, h) != tuple(size):
        raise ValueError(f"size {size} is not on the {rules.GRID.value} µm grid")
    min_side = VIA1.size + 2 * VIA1.enclosure
    area = max(rules.M1_AREA.value, rules.M2_AREA.value, rules.M3_AREA.value,
               rules.M4_AREA.value)
    if min(w, h) < min_side - 1e-9 or w * h < area - 1e-9:
        raise ValueError(f"size {size} must be at least {min_side} µm a side and {area} µm²")

    c = gf.Component()
    # Centred, but rounded to the grid when a side is an odd number of grid steps.
    x0, y0 = -rules.snap_down(w / 2), -rules.snap_down(h / 2)
    box = (x0, y0, rules.snap(x0 + w), rules.snap(y0 + h))
    for metal in METALS[lo : hi + 1]:
        rect(c, metal, box)
    for cut in VIAS_BETWEEN[lo:hi]:
        cut_array(c, cut, box, cut.enclosure)

    for name, orientation in (("e1", 180), ("e2", 90), ("e3", 0), ("e4", 270)):
        add_pin(c, name, METALS[hi], box, orientation)
    c.info["xsize"], c.info["ysize"] = w, h
    c.info["layer_bottom"], c.info["layer_top"] = layer_bottom, layer_top
    return c
