"""The project's gdsfactory cells: gf180mcu 3.3 V MOSFETs and metal1-metal3 via stacks."""

from __future__ import annotations

from bmru_pdk.cells.arrays import side_by_side
from bmru_pdk.cells.devices import nfet, pfet
from bmru_pdk.cells.vias import via_stack

__all__ = ["nfet", "pfet", "side_by_side", "via_stack"]
