"""bmru-pdk: trained FQ-BMRU networks to gf180mcu analog layouts.

Importing the package activates nothing; ``bmru_pdk.PDK.activate()`` does. Heavy attributes
(``PDK``, ``LAYER``) load on first use so the CLI starts fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {"PDK": "bmru_pdk.pdk", "LAYER": "bmru_pdk.layers"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'bmru_pdk' has no attribute {name!r}")


__all__ = ["LAYER", "PDK", "__version__"]
