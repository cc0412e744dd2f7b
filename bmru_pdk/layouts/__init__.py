"""Layouts built on the cell library: the demo device array and tiles from checkpoints.

:func:`tile_from_checkpoint` loads lazily: importing this package costs no gdsfactory.
"""

from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "tile_from_checkpoint":
        from bmru_pdk.layouts.tile import tile_from_checkpoint

        return tile_from_checkpoint
    raise AttributeError(f"module 'bmru_pdk.layouts' has no attribute {name!r}")


__all__ = ["tile_from_checkpoint"]
