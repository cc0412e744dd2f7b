"""Layouts built on the cell library: the demo device array and tiles from checkpoints.

:func:`bmru_tile` loads lazily: importing this package costs no gdsfactory.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "bmru_tile":
        from bmru_pdk.layouts.tile import bmru_tile

        return bmru_tile
    raise AttributeError(f"module 'bmru_pdk.layouts' has no attribute {name!r}")


__all__ = ["bmru_tile"]
