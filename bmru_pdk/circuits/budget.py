"""How big a tile will be, known from the checkpoint's shape before anything is built.

A network far beyond what a layout build can hold (a mistyped ``d``, a checkpoint meant for
software only) is refused in one sentence instead of running out of memory an hour later.
"""

from __future__ import annotations

import os

from bmru_pdk.circuits import builders
from bmru_pdk.circuits.sizing import SWITCH, UNIT
from bmru_pdk.errors import BmruError
from bmru_pdk.model.schema import Architecture

# Default limit: a mistyped d, not a large network (a dense d = 256 network is about 0.5
# million transistors); builds take a few milliseconds per transistor at most (bench_tile.py).
DEFAULT_MAX_DEVICES = 1_000_000
# Peak resident memory of whole `bmru tile` runs on dense networks of d = 16, 64 and 128
# (5 to 135 thousand transistors, `/usr/bin/time -v`; bench_floorplan.py records each
# build's own peak up to d = 256): about 1.4 kB per transistor above a ~0.5 GB base, the
# layout being hierarchical (one cell per site kind, per parameter set); the estimate takes
# 4x that. (The first, flat builds held about 12 kB per transistor.)
_BYTES_PER_DEVICE = 6_000
_BASE_BYTES = 500_000_000
# Per unit: the 9-transistor cell with its bias mirrors, the ReLU diode and its copy, the
# bias mirror, each ratio drawn from unit gates (series stacks are a transistor per gate);
# per weight, its whole units and stacked gates; per input of a weight array: its NMOS and
# PMOS diodes. Measured on the bundled d = 4 tile: 36 per unit, 7.4 per weight.
_PER_UNIT = 40
_PER_WEIGHT = 8
_PER_INPUT = 2


class BudgetError(BmruError):
    """The network is too large to build on this machine or under the given limit."""


def estimated_devices(arch: Architecture) -> int:
    """An estimate of the tile's transistors: every weight present, every unit drawn."""
    n, total = arch.n_in, 0
    sampler = len(builders.sampler(SWITCH, UNIT, False))  # a held layer's, per unit
    for layer in range(arch.layers):
        total += _PER_WEIGHT * n * arch.d + _PER_INPUT * n + _PER_UNIT * arch.d
        total += sampler * arch.d if layer in arch.held_layers else 0
        n = arch.d
    return total + _PER_WEIGHT * n * arch.n_classes + _PER_INPUT * n + _PER_UNIT * arch.n_classes


def _available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return None


def check_budget(arch: Architecture, max_devices: int = DEFAULT_MAX_DEVICES) -> int:
    """The estimated transistor count of ``arch``'s tile, refused when it exceeds
    ``max_devices`` or the memory this machine has free.

    Args:
        arch: The network's shape.
        max_devices: Largest tile to build (``--max-devices``).

    Raises:
        BudgetError: One sentence with the estimate and the limit it exceeds.
    """
    devices = estimated_devices(arch)
    shape = f"{arch.n_in} inputs x {arch.d} units x {arch.layers} layers"
    if devices > max_devices:
        raise BudgetError(
            f"the network ({shape}) would make a tile of about {devices:,} transistors, "
            f"above the limit of {max_devices:,}; raise it with --max-devices if intended")
    need, free = _BASE_BYTES + devices * _BYTES_PER_DEVICE, _available_bytes()
    if free is not None and need > free:
        raise BudgetError(
            f"the network ({shape}) would make a tile of about {devices:,} transistors, "
            f"needing about {need / 1e9:.1f} GB of memory where {free / 1e9:.1f} GB is free")
    return devices
