"""Supply power of an extracted tile by part: cells, weight mirrors, biases.

The parts are those of the model-level estimate (:mod:`bmru_pdk.model.power`), read from
where each device sits in the tile's schematic:

- ``cells``: each unit's hysteretic cell and its ReLU summing node (``u<l>_<j>.cell.*``,
  ``u<l>_<j>.relu.*``), the recurrent core;
- ``fc_mirrors``: the weight arrays of every layer and the readout (``w<l>.*``, ``wo.*``),
  their input diodes included;
- ``biases``: the bias generator, its readout-bias outputs and each unit's bias (``bias.*``,
  ``u<l>_<j>.MB``).

The extracted netlist is flat and unnamed, so each extracted device is paired with its
schematic device by KLayout's netlist comparer (as LVS does). Each part then gets a 1.8 V
supply of its own: the ``vdd`` terminals of its devices (sources and wells) are renamed
``vdd_<part>``; the sum of the parts' supply currents is the tile's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from bmru_pdk.analyses import testbench as tb
from bmru_pdk.circuits import names
from bmru_pdk.errors import BmruError

if TYPE_CHECKING:
    from bmru_pdk.spice import SimResult

PARTS = ("cells", "fc_mirrors", "biases")
# the supply part of each role a tile device plays (names.role_of)
_PART_OF_ROLE = {"unit": "cells", "weights": "fc_mirrors", "bias": "biases",
                 "unit_bias": "biases"}


def part_of(path: str) -> str:
    """The part of the schematic device at flat instance path ``path`` (``u0_1.cell.M2``); a
    gate of one of its series stacks (``u0_1.cell.M2_st0g1``) is in the device's part.

    Raises:
        BmruError: the path belongs to no part (a tile this classification does not know).
    """
    role = names.role_of(path)
    if role is not None:
        return _PART_OF_ROLE[role]
    raise BmruError(f"the schematic device {path} belongs to none of the parts {PARTS}")


def device_parts(extracted: str, schematic: str, body: list[str],
                 classify: Callable[[str], str] = part_of) -> dict[str, str]:
    """The part of every device card in ``body`` (lower-case name -> part).

    Args:
        extracted: The extracted netlist.
        schematic: The tile's schematic.
        body: The extracted top subcircuit's cards (:attr:`TileNetlist.body`).
        classify: Part of a schematic device by its flat instance path; :func:`part_of`
            unless finer parts are wanted. Each gate of a series stack is a device of its
            own (``u0_1.cell.MOUT_st0g1``, :func:`names.stack_gate`): a classification by
            the device path alone (:func:`names.stacked_in`) keeps it with its device.

    Raises:
        BmruError: a device has no schematic counterpart, or its fingers pair with devices
            of two parts.
    """
    return tb.pair_cards(extracted, schematic, body, lambda path, _drain: classify(path))


def split_supplies(tile: tb.TileNetlist, parts: dict[str, str]) -> tb.TileNetlist:
    """``tile`` with each part's devices on its own supply node (``vdd_<part>``).

    Args:
        tile: The tile netlist (shared ``vdd``).
        parts: Part of every device card, from :func:`device_parts`.

    Raises:
        BmruError: a device on ``vdd`` has no part (it would stay on the shared supply).
    """
    body = []
    for card in tile.body:
        tokens = card.split()
        if tb.CARD.match(card) and "vdd" in (t.lower() for t in tokens[1:5]):
            part = parts.get(tokens[0].lower())
            if part is None:
                raise BmruError(f"device {tokens[0]} draws from vdd but belongs to no part")
            node = tb.supply_node(part)
            tokens[1:5] = [node if t.lower() == "vdd" else t for t in tokens[1:5]]
            card = " ".join(tokens)
        body.append(card)
    return dataclasses.replace(tile, body=body, parts=tuple(sorted(set(parts.values()))))


def supply_power_nw(
    tile: tb.TileNetlist, result: SimResult, start: float, vdd_v: float = tb.VDD_V,
) -> tuple[float, dict[str, float]]:
    """Time-average supply power from ``start`` on, nW: the tile's and each part's.

    Args:
        tile: The simulated tile netlist (:func:`testbench.deck` saved its supply currents).
        result: The transient run.
        start: Start of the average, s (after the reset frames).
        vdd_v: Supply voltage of the run, V.

    Returns:
        Total power and power by part (empty when ``tile`` has a shared supply only).
    """
    def power(node: str) -> float:
        # a source delivering power carries a negative current in ngspice
        return -tb.average(result["time"], result[f"i({node})"], start=start) * vdd_v * 1e9

    by_part = {p: round(power(tb.supply_node(p)), 3) for p in tile.parts}
    total = power(tb.supply_node()) + sum(power(tb.supply_node(p)) for p in tile.parts)
    return round(total, 3), by_part


def split_tile(extracted: str, schematic: str, top: str,
               classify: Callable[[str], str] = part_of) -> tb.TileNetlist:
    """The extracted netlist's top subcircuit ``top`` with a supply per part.

    Args:
        extracted: The extracted netlist.
        schematic: The tile's schematic.
        top: Name of the tile's top subcircuit.
        classify: As in :func:`device_parts`.
    """
    tile = tb.split_top(extracted, top)
    return split_supplies(tile, device_parts(extracted, schematic, tile.body, classify))
