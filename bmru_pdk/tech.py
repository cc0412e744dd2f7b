"""The supply voltage, routing cross-sections on metal1-metal3 and the layer connectivity of
gf180mcu.

Every stage may import this module, so it stays light: gdsfactory loads only when a
cross-section is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

from bmru_pdk import rules

if TYPE_CHECKING:
    from gdsfactory.cross_section import CrossSection
    from gdsfactory.typings import LayerSpec

# The supply of every circuit, table and simulation: the published 1.8 V on the 3.3 V devices
# (at 3.3 V the cells' threshold errors roughly double).
VDD_V = 1.8
# The process corners of the gf180 models' library, and the temperatures and supplies the
# 3.3 V devices are specified over (the conditions a table or a simulation may be asked at)
Corner = Literal["typical", "ff", "ss", "fs", "sf"]
TEMP_RANGE_C = (-40.0, 125.0)
VDD_RANGE_V = (1.5, 3.6)


def metal_xs(layer: LayerSpec, width: float) -> CrossSection:
    """An electrical routing cross-section (no bend radius: metal routes turn at right angles)."""
    import gdsfactory as gf
    from gdsfactory.cross_section import port_names_electrical, port_types_electrical

    return gf.cross_section.cross_section(
        width=width,
        layer=layer,
        port_names=port_names_electrical,
        port_types=port_types_electrical,
        radius=None,
        radius_min=None,
    )


def _metal(name: str, default_width: float) -> Callable[..., CrossSection]:
    """The cross-section factory of the LAYER named ``name``, ``default_width`` wide."""

    def factory(width: float = default_width) -> CrossSection:
        from bmru_pdk.layers import LAYER

        return metal_xs(getattr(LAYER, name), width)

    return factory


# Default widths sit a little above each rule's minimum, on the 5 nm grid.
cross_sections: dict[str, Callable[..., CrossSection]] = {
    "metal1": _metal("metal1", rules.snap_up(rules.M1_WIDTH.value + 0.07)),
    "metal2": _metal("metal2", rules.snap_up(rules.M2_WIDTH.value + 0.08)),
    "metal3": _metal("metal3", rules.snap_up(rules.M3_WIDTH.value + 0.08)),
    "metal4": _metal("metal4", rules.snap_up(rules.M4_WIDTH.value + 0.08)),
}

# By LAYER names: a KLayout technology written from the PDK looks each one up in LAYER.
CONNECTIVITY = (
    ("poly2", "contact", "metal1"),
    ("comp", "contact", "metal1"),
    ("metal1", "via1", "metal2"),
    ("metal2", "via2", "metal3"),
    ("metal3", "via3", "metal4"),
)
