"""The height : width a tile's floorplan aims at: its default and the range it takes; the
rows a unit is drawn in.

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


UNIT_ROWS = (1, 2)  # rows a tile's units are drawn in: one, or NMOS under PMOS


def check_unit_rows(rows: int) -> None:
    """Refuse a number of unit rows outside :data:`UNIT_ROWS` (one sentence)."""
    if rows not in UNIT_ROWS:
        raise BmruError(f"units are drawn in {' or '.join(map(str, UNIT_ROWS))} rows, "
                        f"not {rows}")
