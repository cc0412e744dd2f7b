"""The height : width a tile's floorplan aims at: its default and the range it takes.

Its own module, free of gdsfactory, so the command line can state and check them before
anything heavy is imported.
"""

from __future__ import annotations

from bmru_pdk.errors import BmruError

ASPECT = 1.0  # height : width a tile's floorplan aims at by default
ASPECTS = (0.25, 4.0)  # the range it takes


def check_aspect(aspect: float) -> None:
    """Refuse an aspect ratio outside :data:`ASPECTS` (one sentence)."""
    low, high = ASPECTS
    if not low <= aspect <= high:
        raise BmruError(f"aspect {aspect:g} is outside {low:g}-{high:g} (height : width)")
