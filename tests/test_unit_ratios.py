"""Ratios drawn from one unit gate hold over temperature; a narrower finger does not.

A mirror output drawn as n unit gates in series carries, in weak inversion, the current of
one gate n times longer (series composition of the EKV model, exact when every gate is the
same device): its share of a unit output is a ratio of identical devices and the
temperature cancels. What remains is second order: drain-induced barrier lowering and
channel-length modulation differ between the stack's gates (the lower gate sees a few
U_T of drain voltage, the upper one the rest), worth well under a millivolt of threshold at
4 µm gates. A narrower finger is another device: its narrow-width threshold shift of a few
millivolts enters as exp(dV_T / (n U_T)), and n U_T moves by 40 % between -40 and 125 °C.

The NMOS path is held here: its outputs sit at the summing node's few hundred mV, and the
cell's sub-unit ratios (I_thresh, I_width, I_gain) are NMOS. PMOS outputs see 1.4 V from
source to drain, where the stack's drain-induced terms no longer are second order: its
share moves about as much as a narrow finger's (2.6 % against 2.1 % at -40 °C,
``docs/corners.md``); matching the drains is what that path needs.
"""

from __future__ import annotations

import numpy as np
import pytest

from bmru_pdk.circuits import NFET, MirrorParams, UnitRatio, current_mirror, unit_ratio
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.model import MosKind
from bmru_pdk.circuits.sizing import MAX_SERIES, unit_grid
from bmru_pdk.errors import BmruError
from bmru_pdk.spice import simulate

# A drift bound from the second-order terms above: 0.5 mV of threshold difference between a
# stack's gates over the range, at n U_T = 28 mV (-40 °C, the smallest): 0.5 / 28 = 1.8 %.
STACK_DRIFT = 0.018
COLD, HOT = -40.0, 125.0


def _shares(kind: MosKind, narrow: bool, temp_c: float) -> float:
    """Output current of a ratio-1/2 output over a unit output of one mirror, both on the
    summing-node voltage of the condition: drawn as a stack of two unit gates, or (the
    drawing this replaced) as one half-width finger."""
    mirror = current_mirror(MirrorParams(kind=kind, ratios=[1.0, 0.5]))
    if narrow:
        half = next(d for d in mirror.devices if d.name == "MO1")
        half = half.model_copy(update={"w": half.w / 2, "fingers": 1, "stacks": ()})
        mirror = mirror.model_copy(update={"devices": [
            half if d.name == "MO1" else d for d in mirror.devices]})
    deck = ch.mirror_bench(mirror, kind, 1.0, load="sum", temp_c=temp_c)
    r = simulate(deck, temp_c=temp_c)
    return float(r["i(vo1)"][0] / r["i(vo0)"][0])


def test_series_stack_ratio_holds_from_cold_to_hot() -> None:
    room = _shares(NFET, False, 27.0)
    for t in (COLD, HOT):
        assert _shares(NFET, False, t) == pytest.approx(room, rel=STACK_DRIFT), t


def test_narrow_finger_ratio_drifts_beyond_the_stack_bound() -> None:
    """The negative case: the half-width finger the stacks replaced fails the same bound."""
    room = _shares(NFET, True, 27.0)
    drift = [abs(_shares(NFET, True, t) / room - 1) for t in (COLD, HOT)]
    assert max(drift) > STACK_DRIFT


def test_grid_draws_every_ratio_from_unit_gates() -> None:
    grid = unit_grid()
    values = np.array([r.value for r in grid])
    assert np.all(np.diff(values) > 0)
    assert values[0] == pytest.approx(1 / MAX_SERIES)
    assert all(n >= 2 for r in grid for n in r.stacks)
    # neighbours at most 20 % apart (relative) between 1/2 and 4, 3.5 % above, as documented
    mid, top = values[(values >= 0.5) & (values <= 4)], values[values >= 4]
    assert np.max(mid[1:] / mid[:-1]) <= 1.2 + 1e-9
    assert np.max(top[1:] / top[:-1]) <= 1.035
    assert unit_ratio(0.5) == UnitRatio(whole=0, stacks=(2,))
    assert unit_ratio(2.0) == UnitRatio(whole=2)
    assert str(unit_ratio(1.5)) == "1 + 1/2"


def test_circuit_draws_no_narrower_finger() -> None:
    mirror = current_mirror(MirrorParams(kind=NFET, ratios=[0.3, 0.75, 1.0, 2.6]))
    assert {d.w for d in mirror.devices} == {4.0}
    stacked = [d for d in mirror.devices if d.stacks]
    assert stacked and all(g.fingers == 1 for d in stacked for g in d.stack_gates())
    spice = mirror.to_spice()
    # each stacked gate is its own transistor, chained from the drain to the rail
    first = next(d for d in stacked)
    gates = first.stack_gates()
    assert gates[0].d == first.d and gates[-1].s == first.s
    assert all(f"X{g.name} " in spice for g in gates)


def test_ratio_off_the_grid_is_refused() -> None:
    with pytest.raises(BmruError, match="cannot be drawn"):
        unit_ratio(0.05, "weight[0][0]")
