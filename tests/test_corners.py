"""Temperature and process corner reach the simulator, from ``simulate`` and from the
characterisation benches (the PVT figures of ``benchmarks/bench_corners.py`` rest on it)."""

from __future__ import annotations

import math

import pytest

from bmru_pdk.circuits import NFET, MirrorParams, current_mirror
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.spice import SpiceError, simulate

MIRROR = current_mirror(MirrorParams(kind=NFET, ratios=[1.0]))


def _v_gs(**condition: object) -> float:
    """The diode voltage of a 1:1 NMOS mirror carrying 1 nA."""
    deck = ch.mirror_bench(MIRROR, NFET, 1.0)
    return float(simulate(deck, **condition)["v(in)"][0])  # type: ignore[arg-type]


def test_diode_voltage_falls_with_temperature() -> None:
    """In weak inversion V_GS = V_T(T) + n U_T ln(I / I_0(T)): at a fixed nA current the
    threshold's fall (~1-2 mV/K) wins, and 27 °C is ngspice's default temperature."""
    cold, room, hot = (_v_gs(temp_c=t) for t in (-40.0, 27.0, 125.0))
    assert cold > room > hot
    assert room == _v_gs()
    assert 0.5e-3 < (cold - hot) / 165 < 3e-3  # V/K


def test_fast_corner_needs_less_gate_voltage() -> None:
    ff, ss = _v_gs(corner="ff"), _v_gs(corner="ss")
    assert ff < _v_gs() < ss


def test_measuring_functions_pass_the_condition_on() -> None:
    """The default reproduces the tables' condition; a hot run moves the summing node."""
    assert ch.sum_voltage() == ch.sum_voltage(corner="typical", temp_c=27.0, vdd_v=ch.VDD)
    assert ch.sum_voltage(temp_c=125.0) < ch.sum_voltage() - 0.05
    gain = ch.measure_mirror(NFET, [1.0], 1.0, load="sum")
    assert ch.measure_mirror(NFET, [1.0], 1.0, load="sum", corner="typical", temp_c=27.0,
                             vdd_v=ch.VDD) == pytest.approx(gain, rel=1e-9)


def test_bad_conditions_are_refused() -> None:
    deck = ch.mirror_bench(MIRROR, NFET, 1.0)
    with pytest.raises(SpiceError, match="sets its own"):
        simulate(f".temp 50\n{deck}", temp_c=27.0)
    with pytest.raises(SpiceError, match="not a number"):
        simulate(deck, temp_c=math.nan)
    with pytest.raises(SpiceError, match="unknown process corner 'tt'"):
        ch.measure_mirror(NFET, [1.0], 1.0, corner="tt")
