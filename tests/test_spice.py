"""ngspice with the gf180 models through the one PySpice front end."""

from __future__ import annotations

import pytest

from bmru_pdk import spice

NMOS = "vd d 0 0.9\nvg g 0 0.35\nm1 d g 0 0 nfet_03v3 w=2u l=1u as=1p ad=1p ps=4u pd=4u\n"


def test_weak_inversion_operating_point() -> None:
    r = spice.simulate(NMOS + ".op")
    i_d = -r["i(vd)"][0]
    assert 1e-11 < i_d < 1e-9  # weak inversion at Vgs = 0.35 V
    assert r["v(g)"][0] == pytest.approx(0.35)


def test_corners_differ_and_runs_repeat() -> None:
    typ = -spice.simulate(NMOS + ".op")["i(vd)"][0]
    again = -spice.simulate(NMOS + ".op")["i(vd)"][0]
    fast = -spice.simulate(NMOS + ".op", corner="ff")["i(vd)"][0]
    assert again == typ  # mismatch off: bit-identical
    assert fast > 2 * typ


def test_errors_carry_the_log() -> None:
    with pytest.raises(spice.SpiceError, match="could not find a valid modelname"):
        spice.simulate("vd d 0 0.9\nm1 d g 0 0 nfet_typo w=2u l=1u\n.op")
    with pytest.raises(spice.SpiceError, match="unknown process corner"):
        spice.simulate(NMOS + ".op", corner="tt")


OFF_UNIT = "vd d 0 1.0\nm1 d 0 0 0 nfet_03v3 w=4u l=4u nf=1 m=1\n.op"


def test_every_deck_lowers_gmin_below_the_devices_own_leakage() -> None:
    """An OFF 4 x 4 µm unit at 27 °C, drain at 1 V: its own leakage is ~0.02 pA
    (docs/corners.md, the leakage floor), GMIN adds GMIN x 1 V across its drain junction:
    under the project's 1e-15 S the drain draws well under 0.1 pA; a deck asking for
    ngspice's own 1e-12 S (its line comes after the header's and wins) draws ~1 pA, over
    0.5 pA (the negative)."""
    own = -spice.simulate(OFF_UNIT)["i(vd)"][0]
    default = -spice.simulate(f".options gmin={spice.NGSPICE_GMIN_S:g}\n{OFF_UNIT}")["i(vd)"][0]
    assert 0 < own < 0.1e-12
    assert default > 0.5e-12
