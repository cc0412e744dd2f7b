"""Shared by ``bench_power.py`` and ``bench_speed.py``: a checkpoint's extracted tile with a
supply per part, ready to simulate, and random input frames for it.

No DRC (the tiles are the ones ``bench_tile.py`` checks); the extracted netlist is paired
with the schematic as in ``bmru compare``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmru_pdk.analyses import simulation
from bmru_pdk.analyses.power import part_of
from bmru_pdk.analyses.testbench import FRAME_S, TileNetlist
from bmru_pdk.model.checkpoint import (
    load_checkpoint,
    random_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from bmru_pdk.model.features import to_currents

SWEEP_D = (2, 4, 8, 16, 32)


@dataclass(frozen=True)
class TileSim:
    """An extracted tile (split supply), its decision nodes and the cells' initial states."""

    checkpoint: Path
    transistors: int
    tile: TileNetlist
    nets: list[list[str]]
    s0: list[np.ndarray]

    def run(self, x_na: np.ndarray) -> simulation.HardwareRun:
        """Simulate ``x_na`` (frames, n_in), nA, after the reset frames."""
        return simulation.simulate_utterance(self.tile, self.nets, self.s0, x_na, FRAME_S)


def fine_part(path: str) -> str:
    """:func:`part_of`, with the fc mirrors split by weight array: ``fc_w0`` (inputs x d),
    ``fc_w1`` (d x d, between the recurrent layers), ``fc_wo`` (readout, d x classes)."""
    part = part_of(path)
    return f"fc_{path.split('.')[0].lower()}" if part == "fc_mirrors" else part


def prepare(checkpoint: Path, workdir: Path) -> TileSim:
    """Build and extract the tile of ``checkpoint`` in ``workdir`` (parts as :func:`fine_part`)."""
    import torch

    _files, x, sim = simulation.extracted_tile(checkpoint, workdir / "tile", fine_part)
    model = load_checkpoint(checkpoint)
    with torch.no_grad():
        s0 = simulation.rest_states(model, model.effective_parameters())
    return TileSim(checkpoint, sum(x.devices.values()), sim.netlist, sim.decision_nets, s0)


def sweep_checkpoint(d: int, workdir: Path, fixed_weights: bool) -> Path:
    """The random keyword-spotting-shaped checkpoint of the d sweep: 13 inputs, 2 layers.

    Args:
        d: Units per layer.
        workdir: Where to write it.
        fixed_weights: Draw every layer's weights as layer 0's (fan-in 13), so a weight's
            magnitude does not depend on d; otherwise the initialisation's ``sqrt(2 / fan-in)``
            scale, which shrinks (and, below the smallest realisable weight, zeroes) the
            d x d layer's weights as d grows.
    """
    import torch

    path = random_checkpoint(n_in=13, d=d, layers=2, seed=0,
                             path=workdir / f"d{d}_{fixed_weights}.safetensors")
    if not fixed_weights:
        return path
    model = load_checkpoint(path)
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for layer in model.layers:
            layer.weight.copy_((2 * torch.rand(layer.weight.shape, generator=g) - 1)
                               * (2 / 13) ** 0.5)
    model.project_()
    return save_checkpoint(model, path)


def random_frames(checkpoint: Path, frames: int, seed: int = 0) -> np.ndarray:
    """``frames`` frames of normally distributed normalised features as the checkpoint's
    input currents (what a spoken word looks like to the tile, without its time structure)."""
    meta, _ = read_checkpoint(checkpoint)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((frames, meta.architecture.n_in))
    features = np.asarray(meta.input.mean) + np.asarray(meta.input.std) * z
    return to_currents(features, meta.input)
