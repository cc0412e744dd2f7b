"""A Verilog black box of a tile, for a digital flow that places the LEF macro."""

from __future__ import annotations

from bmru_pdk.circuits.model import Pin
from bmru_pdk.layouts.lef import DIRECTION


def verilog(name: str, pins: list[Pin]) -> str:
    """The empty module ``name`` with the tile's pins as ports, in LEF order and direction.

    Args:
        name: module name, the LEF macro (tile cell) name.
        pins: the tile pins (input and bias pins are inputs, supplies inout).
    """
    ports = ",\n".join(f"    {DIRECTION[p.role].lower():<6} wire {p.name}" for p in pins)
    return (f"// {name}: analog FQ-BMRU tile, black box (layout: tile.gds, abstract: tile.lef)\n"
            f"(* blackbox *)\nmodule {name} (\n{ports}\n);\nendmodule\n")
