"""Unit device sizes, chosen from a mismatch budget, and the unit-element grid of ratios.

Mismatch budget: the sigma of a 1:1 mirror's current ratio, in weak inversion, at most
``MISMATCH_BUDGET`` (5 %, the largest multiplicative parameter noise, 15/3 %, the published
training was shown robust against). In weak inversion a threshold offset dVt changes the
current by dVt / (n U_T), so (Pelgrom, both devices of the pair)

    sigma(I_out / I_in) ~ A_VT / sqrt(W L) / (n U_T)

With the gf180 models' pair coefficients (A_VT = 7.1 mV µm NMOS, 6.7 mV µm PMOS) and
n U_T ~ 36 mV, sigma <= 5 % needs W L >= ~16 µm²: the unit device is W = 4 µm, L = 4 µm.
``bmru characterize`` measures the sigma with the models' statistical mode and stores it.
L = 4 µm also cuts the systematic (drain-voltage) mirror error.

A tighter budget is a larger unit (:func:`unit_for_sigma`): a square unit keeps W / L, so
every mirror runs at the same current density and gate voltage and only its area, and so
its sigma, changes (sigma ~ 1 / side). The two switches of the
cell (gate on the decision node) need no matching and stay small so that node stays fast.

Every ratio is drawn from that one unit gate (:class:`UnitRatio`): whole units in parallel
multiply, units stacked in series divide. A narrower finger would be another device: its
narrow-width effect moves its ratio by about +-7 % between -40 and 125 °C.
"""

from __future__ import annotations

import math
from functools import cache
from itertools import combinations_with_replacement

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
)

from bmru_pdk.errors import BmruError

MISMATCH_BUDGET = 0.05
# Pelgrom coefficients of a pair's threshold difference, mV µm (gf180 models' fets_mm section)
A_VT = {"nfet_03v3": 7.148, "pfet_03v3": 6.66}
MAX_DIODE_GATES = 8
N_UT_MV = 36.0  # slope factor x thermal voltage in weak inversion, mV


class UnitDevice(BaseModel):
    """Width of one unit finger and gate length, µm, the gates of every mirror's diode, and
    whether the tile's mirrors match their drains with cascodes.

    With ``diode_gates`` D > 1 every diode (and every unit copy) is D unit gates in parallel
    and every ratio k of them: whole gates on both sides, k / D of a unit, no series stack
    (docs/corners.md, "Sub-unit ratios: stacks against a wider diode"). D = 1 is the grid of
    whole units and series stacks.

    With ``cascodes`` every NMOS copy into a PMOS diode, every tail of the cell's switches and
    every PMOS output onto an NMOS diode's node has a cascode whose gate is a line the bias
    generator makes from replicas of the reference (``vbnc``, ``vbpc``): their drains sit at
    their diodes' at one unit, whatever the condition (docs/corners.md, "Drain matching
    along the weight path").

    With ``keepers`` every cell has the keeper of its output switch's tail node
    (:class:`~bmru_pdk.circuits.builders.CellParams`), which removes its switch-on
    overshoot: the tables measure the cell with it, and a tile mapped with them draws it.

    The defaults (D = 1, no cascodes, no keepers) are left out of the serialised form, so
    tables and circuit names made before these options existed keep theirs.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    w: float = Field(gt=0)
    l: float = Field(gt=0)  # noqa: E741  (the device's L)
    diode_gates: int = Field(default=1, ge=1, le=MAX_DIODE_GATES)
    cascodes: bool = False
    keepers: bool = False

    @property
    def one_gate(self) -> UnitDevice:
        """The same unit size on one-gate diodes, without cascodes."""
        return UnitDevice(w=self.w, l=self.l)

    @model_serializer(mode="wrap")
    def _without_defaults(self, handler: SerializerFunctionWrapHandler) -> dict:
        out = handler(self)
        if self.diode_gates == 1:
            out.pop("diode_gates", None)
        if not self.cascodes:
            out.pop("cascodes", None)
        if not self.keepers:
            out.pop("keepers", None)
        return out


UNIT = UnitDevice(w=4.0, l=4.0)
SWITCH = UnitDevice(w=2.0, l=1.0)
# a logic gate whose input may sit between the rails for a while: 32 times the switch's L/W
WEAK = UnitDevice(w=0.5, l=8.0)
# a latch's feedback gate, which its forward gate (WEAK) overwrites: 8 times weaker again
KEEPER = UnitDevice(w=0.25, l=32.0)


def pelgrom_sigma(kind: str, unit: UnitDevice = UNIT) -> float:
    """Estimated sigma of a 1:1 mirror's current ratio made of two ``unit`` devices."""
    return A_VT[kind] / math.sqrt(unit.w * unit.l) / N_UT_MV


UNIT_SIDE_MAX = 40.0  # µm: a unit this large already costs 100x the 4 x 4 unit's area


def unit_for_sigma(sigma: float) -> UnitDevice:
    """The smallest square unit device whose 1:1 mirrors meet ``sigma`` in both polarities.

    Args:
        sigma: Target relative sigma of a 1:1 mirror's current ratio (0.05 = 5 %).

    Raises:
        BmruError: the target needs a unit larger than :data:`UNIT_SIDE_MAX` or is not
            a positive fraction.
    """
    if not 0 < sigma < 1:
        raise BmruError(f"sigma={sigma:g} must be a fraction between 0 and 1 (0.05 = 5 %)")
    side = max(A_VT.values()) / N_UT_MV / sigma
    # a side on the 0.5 µm grid, rounded up unless the target is met within 1 %
    side = max(0.5, math.ceil(side / 0.5 - 0.02) * 0.5)
    if side > UNIT_SIDE_MAX:
        smallest = max(A_VT.values()) / N_UT_MV / UNIT_SIDE_MAX
        raise BmruError(f"sigma={sigma:g} needs a {side:g} x {side:g} µm unit device; the "
                        f"largest is {UNIT_SIDE_MAX:g} µm (sigma >= {smallest:.3g})")
    return UnitDevice(w=side, l=side)


MAX_FINGERS = 25  # whole units of one device: 100 µm of the 4 x 4 unit, the widest COMP (DF.2b)
MAX_SERIES = 8  # unit gates of one series stack: 1/8, the smallest ratio
# Series stacks beside the whole units of one device. Each stacked gate is a transistor the
# simulator evaluates (the whole units are one): a third stack would refine the grid below 1
# at the cost of more transistors per drawing.
MAX_STACKS = 2


class UnitRatio(BaseModel):
    """A ratio drawn from unit gates: ``whole`` units in parallel and, beside them, series
    stacks of ``stacks[k]`` units (a stack of n carries about 1/n of a unit).

    Nominal value ``whole + sum(1 / n)``; the characterised gain of each stack length is
    what the mapping uses (two units in series carry 0.56, not 0.5, of one). On a grid of
    D-gate diodes (``of`` = D) the gates are each 1 / D of a unit: ``whole`` of them are
    ``whole / D``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    whole: int = Field(ge=0, le=MAX_FINGERS)
    stacks: tuple[int, ...] = ()
    of: int = Field(default=1, ge=1, le=MAX_DIODE_GATES)

    @property
    def value(self) -> float:
        """The nominal ratio."""
        return (self.whole + sum(1 / n for n in self.stacks)) / self.of

    @property
    def units(self) -> int:
        """Unit gates drawn: the area is this many units."""
        return self.whole + sum(self.stacks)

    @property
    def transistors(self) -> int:
        """Transistors a netlist holds for it: one for the whole units, one per stacked gate."""
        return (1 if self.whole else 0) + sum(self.stacks)

    def __str__(self) -> str:
        parts = ([str(self.whole)] if self.whole else []) + [f"1/{n}" for n in self.stacks]
        return " + ".join(parts) + (f" of {self.of}" if self.of > 1 else "")


@cache
def unit_grid(diode_gates: int = 1) -> tuple[UnitRatio, ...]:
    """Every ratio the unit grid draws, ascending, each by its fewest units (of two drawings
    of one value, the one with fewer units; values closer than 1e-9 are one value).

    On one-gate diodes the ratios are 0 .. :data:`MAX_FINGERS` whole units plus up to
    :data:`MAX_STACKS` stacks of 2 .. :data:`MAX_SERIES` units: 1/8 to 26. Nominal
    neighbours are at most 20 % apart (relative) between 1/2 and 4 (5/6 to 1 the widest),
    3.5 % above 4; a stack carries more than 1/n of a unit (0.56 for two), which halves the
    widest gap in gain. On D-gate diodes they are k / D, k = 1 .. :data:`MAX_FINGERS`.
    """
    if diode_gates > 1:
        return tuple(UnitRatio(whole=k, of=diode_gates) for k in range(1, MAX_FINGERS + 1))
    fractions: dict[float, tuple[int, ...]] = {0.0: ()}
    for k in range(1, MAX_STACKS + 1):
        for stacks in combinations_with_replacement(range(2, MAX_SERIES + 1), k):
            key = round(sum(1 / n for n in stacks), 9)
            if key not in fractions or sum(stacks) < sum(fractions[key]):
                fractions[key] = stacks
    best: dict[float, UnitRatio] = {}
    for whole in range(MAX_FINGERS + 1):
        for stacks in fractions.values():
            r = UnitRatio(whole=whole, stacks=stacks)
            key = round(r.value, 9)
            if r.units and (key not in best or r.units < best[key].units):
                best[key] = r
    return tuple(best[k] for k in sorted(best))


def ratio_limits(diode_gates: int = 1) -> tuple[float, float]:
    """Smallest and largest ratio the unit grid of ``diode_gates``-gate diodes draws."""
    grid = unit_grid(diode_gates)
    return grid[0].value, grid[-1].value


def unit_ratio(ratio: float, what: str = "ratio", diode_gates: int = 1) -> UnitRatio:
    """The drawing on the unit grid nearest ``ratio`` (in log; exact for a grid value).

    Args:
        ratio: wanted current ratio to one unit (a diode's current).
        what: the parameter's name, for the error message.
        diode_gates: the gates of the diodes the grid draws from (:class:`UnitDevice`).

    Raises:
        BmruError: the ratio is outside the grid's range.
    """
    lo, hi = ratio_limits(diode_gates)
    if not lo * (1 - 1e-6) <= ratio <= hi * (1 + 1e-6):
        raise BmruError(f"{what}={ratio:.4g} cannot be drawn: the ratio must be within "
                        f"{lo:.4g}..{hi:.4g} of one unit (unit-element grid)")
    values = _grid_values(diode_gates)
    k = int(np.searchsorted(values, ratio))
    near = [j for j in (k - 1, k) if 0 <= j < len(values)]
    return unit_grid(diode_gates)[min(near, key=lambda j: abs(math.log(values[j] / ratio)))]


@cache
def _grid_values(diode_gates: int) -> np.ndarray:
    return np.array([r.value for r in unit_grid(diode_gates)])
