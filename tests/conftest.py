"""Shared fixtures: layouts written for the Debian klayout program (no gdsfactory metadata)."""

from __future__ import annotations

from pathlib import Path

import klayout.db as kdb
import pytest

from bmru_pdk.layers import LAYER


def write_boxes(path: Path, boxes: dict[tuple[int, int], list[tuple[float, ...]]]) -> Path:
    """Write a one-cell GDS of boxes (µm) per gf180 layer."""
    ly = kdb.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("TOP")
    for (layer, datatype), rects in boxes.items():
        li = ly.layer(layer, datatype)
        for r in rects:
            top.shapes(li).insert(kdb.DBox(*r))
    ly.write(str(path))
    return path


@pytest.fixture
def seeded_drc_gds(tmp_path: Path) -> Path:
    """Three deliberate violations of three different rules, on metal1 and contact."""
    m1, co = tuple(LAYER.metal1), tuple(LAYER.contact)
    return write_boxes(tmp_path / "seeded.gds", {
        m1: [(0, 0, 0.34, 0.34),        # M1.3: area 0.1156 < 0.1444
             (2, 0, 2.2, 2)],            # M1.1: width 0.2 < 0.23
        co: [(5, 0, 5.22, 0.22)],       # CO.11 (contact on field) and CO.6 (no M1 over it)
    })


@pytest.fixture(scope="session")
def pdk() -> None:
    """The bmru-pdk PDK, active."""
    from bmru_pdk import PDK

    PDK.activate()
