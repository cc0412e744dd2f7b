"""Supply power by part of an extracted tile: device classification and the supply split."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk.analyses import power, simulation
from bmru_pdk.analyses import testbench as tb
from bmru_pdk.errors import BmruError
from bmru_pdk.model.checkpoint import open_checkpoint, random_checkpoint

# The frames of test_compare: the unit goes OFF, ON, holds and back.
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)


@dataclass(frozen=True)
class Tile:
    checkpoint: Path
    name: str
    extracted: str
    schematic: str


def _tile(path: Path, d: int) -> Tile:
    from bmru_pdk.layouts.tile import tile_files
    from bmru_pdk.verification.extract import extract

    ckpt = random_checkpoint(n_in=2, d=d, layers=1, seed=1, path=path / f"d{d}.safetensors")
    files = tile_files(ckpt, path / f"tile{d}")
    return Tile(ckpt, files.name, extract(files.outdir / "tile.gds").spice,
                (files.outdir / "tile.spice").read_text())


@pytest.fixture(scope="module")
def tile(tmp_path_factory: pytest.TempPathFactory) -> Tile:
    return _tile(tmp_path_factory.mktemp("power"), 1)


def _widths(devices: dict[str, tuple[str, float]]) -> dict[str, float]:
    """Total transistor width (µm) per part of {device: (part, width)}."""
    out: dict[str, float] = defaultdict(float)
    for part, w in devices.values():
        out[part] += w
    return {k: round(v, 3) for k, v in out.items()}


def test_every_extracted_device_lands_in_one_part(tile: Tile) -> None:
    from bmru_pdk.circuits.design import design

    body = tb.split_top(tile.extracted, tile.name).body
    parts = power.device_parts(tile.extracted, tile.schematic, body)
    assert set(parts) == {c.split()[0].lower() for c in body}
    assert set(parts.values()) == set(power.PARTS)
    # fingers summed per part give the schematic's widths per part
    width = {c.split()[0].lower(): float(re.search(r"\bw=([\d.]+)u", c).group(1)) for c in body}
    extracted = _widths({n: (p, width[n]) for n, p in parts.items()})
    # every gate counts, stacked ones too: one extracted device each
    schematic = _widths({d.name: (power.part_of(d.name), d.w * d.gates * d.multiplier)
                         for d in design(open_checkpoint(tile.checkpoint)).circuit.flat_devices()})
    assert extracted == pytest.approx(schematic, rel=1e-3)


def test_split_supply_total_equals_single_supply(tile: Tile) -> None:
    shared = tb.split_top(tile.extracted, tile.name)
    split = power.split_tile(tile.extracted, tile.schematic, tile.name)
    assert not any(re.search(r"\bvdd\b", c) for c in split.body)
    v0 = tb.net_names(tile.extracted, tile.schematic, ["u0_0.cell.v0"])["u0_0.cell.v0"]
    runs = [simulation.simulate_utterance(t, [[v0]], [np.zeros(1)], FRAMES, 200e-6)
            for t in (shared, split)]
    np.testing.assert_array_equal(runs[0].states[0], runs[1].states[0])
    # same circuit; the solver's time steps differ a little with the extra sources
    np.testing.assert_allclose(runs[0].scores, runs[1].scores, atol=0.01)  # scores ~0.5 nA
    assert runs[1].power_nw == pytest.approx(runs[0].power_nw, rel=1e-3)
    assert runs[0].power_by_part_nw == {}
    by_part = runs[1].power_by_part_nw
    assert set(by_part) == set(power.PARTS) and min(by_part.values()) > 0.5
    # nothing is left on the shared supply: the parts add up to the total
    assert sum(by_part.values()) == pytest.approx(runs[1].power_nw, abs=0.01)


def test_device_left_on_the_shared_supply_is_caught(tile: Tile) -> None:
    body = tb.split_top(tile.extracted, tile.name).body
    parts = power.device_parts(tile.extracted, tile.schematic, body)
    pfet = next(c.split()[0].lower() for c in body if "pfet_03v3" in c)
    del parts[pfet]
    with pytest.raises(BmruError, match="belongs to no part"):
        power.split_supplies(tb.split_top(tile.extracted, tile.name), parts)


def test_device_without_schematic_counterpart_is_caught(tile: Tile) -> None:
    # the schematic without its first pfet (the bias generator's diode)
    lines = tile.schematic.splitlines()
    lines.remove(next(ln for ln in lines if ln.startswith("X") and "pfet_03v3" in ln))
    with pytest.raises(BmruError, match="run LVS"):
        power.split_tile(tile.extracted, "\n".join(lines), tile.name)


def test_unknown_instance_path_belongs_to_no_part() -> None:
    assert power.part_of("u1_12.cell.M2") == "cells"
    assert power.part_of("u0_3.MB") == "biases"
    assert power.part_of("u0_3.MBC") == "biases"  # the bias's cascode carries its current
    assert power.part_of("wo.MW1_0") == "fc_mirrors"
    # a gate of a series stack is in its device's part
    assert power.part_of("wo.MW1_0_st0g1") == "fc_mirrors"
    assert power.part_of("u0_3.MB_st1g0") == "biases"
    with pytest.raises(BmruError, match="none of the parts"):
        power.part_of("ldo.M1")
