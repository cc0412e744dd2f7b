"""Placing many components in one layout (sweeps for DRC, benchmarks and LVS tests)."""

from __future__ import annotations

from collections.abc import Sequence

import gdsfactory as gf
from gdsfactory.typings import ComponentSpec


@gf.cell
def side_by_side(components: Sequence[ComponentSpec], spacing: float = 2.0) -> gf.Component:
    """Instances of ``components`` in a row along x, bottoms aligned, ``spacing`` µm apart.

    Each component stays a cell of its own, so a deep-mode DRC reports every marker in the
    device that holds it. Ports are copied as ``<index>_<port>``.

    Args:
        components: the components (or specs) to place, left to right.
        spacing: gap between neighbouring bounding boxes (µm); 2 µm keeps the Nwells of
            different devices out of each other's way (NW.2b is 1.4 µm).
    """
    c = gf.Component()
    x = 0.0
    for i, spec in enumerate(components):
        ref = c << gf.get_component(spec)
        ref.xmin = x
        ref.ymin = 0
        x = ref.xmax + spacing
        c.add_ports(ref.ports, prefix=f"{i}_")
    return c
