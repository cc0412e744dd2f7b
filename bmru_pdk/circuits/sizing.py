"""Unit device sizes, chosen from a mismatch budget, and ratio -> fingers x width.

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
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field

from bmru_pdk import rules
from bmru_pdk.errors import BmruError

MISMATCH_BUDGET = 0.05
# Pelgrom coefficients of a pair's threshold difference, mV µm (gf180 models' fets_mm section)
A_VT = {"nfet_03v3": 7.148, "pfet_03v3": 6.66}
N_UT_MV = 36.0  # slope factor x thermal voltage in weak inversion, mV


class UnitDevice(BaseModel):
    """Width of one unit finger and gate length, µm."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    w: float = Field(gt=0)
    l: float = Field(gt=0)  # noqa: E741  (the device's L)


UNIT = UnitDevice(w=4.0, l=4.0)
SWITCH = UnitDevice(w=2.0, l=1.0)


class DeviceSize(BaseModel):
    """How a ratio is drawn: ``fingers`` gates of width ``w`` (µm) each."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    w: float
    fingers: int


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


MAX_FINGERS = 25  # of the unit width: 100 µm of the 4 x 4 unit, the widest COMP (DF.2b)


def ratio_limits(unit: UnitDevice = UNIT) -> tuple[float, float]:
    """Smallest and largest width ratio one device can draw: one minimum-width finger ..
    :data:`MAX_FINGERS` unit fingers (each finger's COMP is one unit wide, within DF.2b)."""
    return (rules.CHANNEL_WIDTH_MIN.value / unit.w, float(MAX_FINGERS))


def size_for_ratio(ratio: float, unit: UnitDevice = UNIT, what: str = "ratio") -> DeviceSize:
    """Fingers and finger width that draw ``ratio`` x the unit width.

    Ratios >= 1 use round(ratio) fingers of about the unit width (so matching improves with
    the ratio); smaller ratios one narrower finger. Widths snap to the manufacturing grid.

    Args:
        ratio: wanted width / unit width.
        unit: the unit device.
        what: the parameter's name, for the error message.

    Raises:
        BmruError: the ratio cannot be drawn within the device width limits.
    """
    lo, hi = ratio_limits(unit)
    if not lo <= ratio <= hi:
        raise BmruError(f"{what}={ratio:.4g} cannot be drawn: the width ratio must be within "
                        f"{lo:.4g}..{hi:.4g} of the {unit.w} µm unit")
    fingers = max(1, round(ratio))
    w = max(rules.snap(ratio * unit.w / fingers), rules.CHANNEL_WIDTH_MIN.value)
    return DeviceSize(w=w, fingers=fingers)
