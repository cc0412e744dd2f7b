"""A LEF abstract of a tile: size, pins on metal3, the supplies' power rings on metal4 as
their pins' shapes, metal1-metal3 obstructed (metal4 inside the rings is free for the
integrator's routing)."""

from __future__ import annotations

import gdsfactory as gf

from bmru_pdk.circuits.model import Pin

# gf180mcu LEF layer names of the metals the tile uses; the ones it routes on are obstructed
LEF_LAYERS = {"metal1": "Metal1", "metal2": "Metal2", "metal3": "Metal3", "metal4": "Metal4"}
OBSTRUCTED = ("Metal1", "Metal2", "Metal3")
# LEF pin direction of each pin role (the Verilog black box uses the same)
DIRECTION = {"input": "INPUT", "output": "OUTPUT", "bias": "INPUT", "clock": "INPUT",
             "supply": "INOUT", "ground": "INOUT", "analog": "INOUT"}
_USE = {"supply": "POWER", "ground": "GROUND", "clock": "CLOCK", "analog": "ANALOG"}


def _rect(box: tuple[float, float, float, float]) -> str:
    return "RECT " + " ".join(f"{v:.3f}" for v in box) + " ;"


def lef(c: gf.Component, pins: list[Pin], boundary: tuple[float, float, float, float]) -> str:
    """The MACRO of tile ``c``: its pins are the ports (a port's metal3 end at the edge, one
    pad long);
    a supply with a power ring (``c.info["power_rings"]``) has the ring's sides too."""
    _, _, w, h = boundary
    lines = ["VERSION 5.8 ;", 'BUSBITCHARS "[]" ;', 'DIVIDERCHAR "/" ;', "",
             f"MACRO {c.name}", "  CLASS BLOCK ;", "  ORIGIN 0 0 ;",
             f"  SIZE {w:.3f} BY {h:.3f} ;", "  SYMMETRY X Y ;"]
    rings = c.info.get("power_rings", {})
    for pin in pins:
        port = c.ports[pin.name]
        (x, y), half = port.center, port.width / 2
        x0 = x if port.orientation == 180 else x - 2 * half  # one pad into the tile
        lines += [f"  PIN {pin.name}", f"    DIRECTION {DIRECTION[pin.role]} ;",
                  f"    USE {_USE.get(pin.role, 'SIGNAL')} ;", "    PORT",
                  f"      LAYER {LEF_LAYERS[port.layer_info.name]} ;",
                  f"        {_rect((x0, y - half, x0 + 2 * half, y + half))}"]
        if pin.name in rings:
            lines += [f"      LAYER {LEF_LAYERS['metal4']} ;",
                      *(f"        {_rect(tuple(r))}" for r in rings[pin.name])]
        lines += ["    END", f"  END {pin.name}"]
    lines.append("  OBS")
    for layer in OBSTRUCTED:
        lines += [f"    LAYER {layer} ;", f"      {_rect(boundary)}"]
    lines += ["  END", f"END {c.name}", "", "END LIBRARY", ""]
    return "\n".join(lines)
