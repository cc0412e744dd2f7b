"""Routing cross-sections on metal1-metal3 and the layer connectivity of gf180mcu."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import gdsfactory as gf
from gdsfactory.cross_section import CrossSection, port_names_electrical, port_types_electrical

from bmru_pdk import rules
from bmru_pdk.layers import LAYER


def metal_xs(layer: gf.typings.LayerSpec, width: float) -> CrossSection:
    """An electrical routing cross-section (no bend radius: metal routes turn at right angles)."""
    return gf.cross_section.cross_section(
        width=width,
        layer=layer,
        port_names=port_names_electrical,
        port_types=port_types_electrical,
        radius=None,
        radius_min=None,
    )


# Default widths sit a little above each rule's minimum, on the 5 nm grid.
cross_sections: dict[str, Callable[..., CrossSection]] = {
    "metal1": partial(metal_xs, LAYER.metal1, rules.snap_up(rules.M1_WIDTH.value + 0.07)),
    "metal2": partial(metal_xs, LAYER.metal2, rules.snap_up(rules.M2_WIDTH.value + 0.08)),
    "metal3": partial(metal_xs, LAYER.metal3, rules.snap_up(rules.M3_WIDTH.value + 0.08)),
}

# By LAYER names: a KLayout technology written from the PDK looks each one up in LAYER.
CONNECTIVITY = (
    ("poly2", "contact", "metal1"),
    ("comp", "contact", "metal1"),
    ("metal1", "via1", "metal2"),
    ("metal2", "via2", "metal3"),
)
