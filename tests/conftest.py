"""Shared fixtures: layouts written for the Debian klayout program (no gdsfactory metadata).

A test that needs an optional extra missing here (torch, librosa, dask: the base install has
none of them) is skipped, naming the extra. The need shows at run time (``random_checkpoint``
and the compare import torch inside), so it is decided per test, not per module.

The tests run from a checkout: unless ``BMRU_KPEX`` is set, PEX uses the checkout's
``.venv-pex`` (``scripts/setup_pex.sh``) where it exists.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from importlib.util import find_spec
from pathlib import Path

import klayout.db as kdb
import pytest

from bmru_pdk.layers import LAYER
from bmru_pdk.verification import pex

# The co-designed checkpoint, bundled before the 4-gate network: trained off any grid (any
# unit's tables draw it, its window is continuous) at 0.2 nA per unit, and more sensitive to
# mismatch than the bundled one. The tests of checkpoint checks and of sized tables use it.
CODESIGNED = Path(__file__).parents[1] / "benchmarks" / "checkpoints" / "kws_yes_d4_l2.safetensors"

# top-level modules of the optional extras
EXTRAS = {"torch": "model", "librosa": "model", "numba": "model", "soundfile": "model",
          "dask": "dask", "distributed": "dask"}


def _skip_missing_extras() -> Generator[None, None, None]:
    """Hook body: a test stopped by a missing module of an extra is skipped, naming it."""
    try:
        return (yield)
    except ModuleNotFoundError as exc:
        top = (exc.name or "").partition(".")[0]
        if top in EXTRAS and find_spec(top) is None:
            pytest.skip(f"needs the {EXTRAS[top]} extra ({top} is not installed)")
        raise


def pytest_configure(config: pytest.Config) -> None:
    """Before any test, so the CLI tests' subprocesses inherit it: BMRU_KPEX, if unset."""
    kpex = Path(__file__).resolve().parents[1] / ".venv-pex" / "bin" / "kpex"
    if not os.environ.get(pex.ENV) and kpex.is_file():
        os.environ[pex.ENV] = str(kpex)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _skip_missing_extras())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    return (yield from _skip_missing_extras())


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


@pytest.fixture(scope="session", autouse=True)
def pdk() -> None:
    """The bmru-pdk PDK, active, as every entry point that draws activates it."""
    from bmru_pdk import PDK

    PDK.activate()
