"""The project's gdsfactory cells: gf180mcu 3.3 V MOSFETs, metal1-metal3 via stacks and the
circuit library (mirrors, bias generator, BMRU cell and unit, ReLU node, weight array, the
NMOS source rail's generator)."""

from __future__ import annotations

from bmru_pdk.cells.arrays import side_by_side
from bmru_pdk.cells.devices import nfet, pfet
from bmru_pdk.cells.library import (
    bias_generator,
    bmru_cell,
    bmru_unit,
    current_mirror,
    rail_generator,
    relu_node,
    schematic,
    weight_array,
)
from bmru_pdk.cells.vias import via_stack

__all__ = [
    "bias_generator", "bmru_cell", "bmru_unit", "current_mirror", "nfet", "pfet", "rail_generator",
    "relu_node", "schematic", "side_by_side", "via_stack", "weight_array",
]
