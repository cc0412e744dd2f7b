"""Schematic side of the circuit library: typed circuits, builders, characterisation, mapping.

Layout generators build cells from the same :class:`Circuit` objects; LVS compares the two.
"""

from bmru_pdk.circuits.builders import (
    BiasOutput,
    BiasParams,
    CellParams,
    MirrorParams,
    RailGeneratorParams,
    ReluParams,
    UnitParams,
    WeightArrayParams,
    bias_generator,
    bmru_cell,
    bmru_unit,
    current_mirror,
    rail_generator,
    relu_node,
    weight_array,
)
from bmru_pdk.circuits.model import NFET, PFET, Circuit, Device, Instance, Pin
from bmru_pdk.circuits.sizing import SWITCH, UNIT, UnitDevice, UnitRatio, unit_ratio

__all__ = [
    "NFET", "PFET", "SWITCH", "UNIT", "BiasOutput", "BiasParams", "CellParams", "Circuit",
    "Device", "Instance", "MirrorParams", "Pin", "RailGeneratorParams", "ReluParams", "UnitDevice",
    "UnitParams", "UnitRatio", "WeightArrayParams", "bias_generator", "bmru_cell", "bmru_unit",
    "current_mirror", "rail_generator", "relu_node", "unit_ratio", "weight_array",
]
