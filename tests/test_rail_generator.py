"""The NMOS source rail's generator (``circuits.rail_generator``): a leakage servo that
lifts the rail only as far as the tile's OFF devices need (docs/corners.md).

Cold, its replicas leak far less than the set current (an OFF 4 x 4 µm unit leaks ~fA at
27 °C), so the servo's node falls to ground, the follower is off, its bias lifts the sink's
gate to VDD and the sink, a stack of 8 unit gates in triode with ~1.1 V of overdrive (~5
kOhm a gate), holds the rail within 40 nA x 40 kOhm ~ 2 mV of ground: the tests ask for
5 mV. Hot, the loop holds each replica's leakage at the target; the probe unit is a
replica at another drain voltage (1.0 V against the replicas' ~1.5 V: DIBL): within 20 % of
the target.
"""

from __future__ import annotations

import pytest

from bmru_pdk.circuits import RailGeneratorParams, rail_bench
from bmru_pdk.spice import NGSPICE_GMIN_S

GEN = RailGeneratorParams()
LOAD_NA = 40.0  # the bundled tile's NMOS current at 0.2 nA per unit


def test_cold_the_generator_holds_the_rail_at_ground() -> None:
    p = rail_bench.operating_point(GEN, LOAD_NA, "typical", 27.0)
    assert abs(p.rail_v) < 5e-3
    assert p.x_v < 0.1  # the servo's node on ground: the follower is out of the way


def test_without_its_set_current_the_generator_lifts_the_rail_cold() -> None:
    """The negative: nothing holds the servo's node down, the follower lifts the rail until
    the sink runs as a diode, even at 27 °C, where no rail is wanted."""
    p = rail_bench.operating_point(GEN, LOAD_NA, "typical", 27.0, i_set_pa=0.0)
    assert p.rail_v > 0.1


def test_hot_the_generator_holds_an_off_unit_at_its_leakage_target() -> None:
    """At typical 125 °C an OFF unit leaks ~5 pA on ground (docs/corners.md): the servo
    lifts the rail until it leaks the 1 pA target, at every load."""
    points = [rail_bench.operating_point(GEN, i, "typical", 125.0) for i in (20.0, 80.0)]
    for p in points:
        assert p.off_unit_leak_pa == pytest.approx(GEN.leak_target_pa, rel=0.2)
        assert 0.05 < p.rail_v < 0.5
    assert abs(points[0].rail_v - points[1].rail_v) < 5e-3  # the load does not move it


def test_a_target_above_the_ground_leakage_leaves_the_rail_on_ground_hot() -> None:
    """The negative of the servo: asked to hold 50 pA a unit, more than an OFF unit leaks
    on ground at ff 125 °C (~44 pA), the generator never lifts the rail."""
    loose = GEN.model_copy(update={"leak_target_pa": 50.0})
    assert abs(rail_bench.operating_point(loose, LOAD_NA, "ff", 125.0).rail_v) < 5e-3
    assert rail_bench.operating_point(GEN, LOAD_NA, "ff", 125.0).rail_v > 0.3


def test_replicas_of_one_gate_each_drown_the_servo_in_ngspices_own_gmin() -> None:
    """One device per replica gate, as the extraction of the drawn generator gives them,
    servos as the schematic's 16-gate devices do under the project's GMIN (1e-15 S, below a
    replica's own leakage): on ground at 27 °C, the OFF unit at its target at 125 °C. Under
    ngspice's own GMIN (1e-12 S) each device carries ~1 pA a volt across its drain junction
    at the replicas' ~1.3 V, more than the 1 pA a replica is servoed to, and the servo
    lifts the rail at 27 °C, where nothing leaks (the negative: why every deck lowers
    GMIN, bmru_pdk.spice.GMIN_S)."""
    per_gate = GEN.model_copy(update={"replica_block": 1})
    assert abs(rail_bench.operating_point(per_gate, LOAD_NA, "typical", 27.0).rail_v) < 5e-3
    hot = rail_bench.operating_point(per_gate, LOAD_NA, "typical", 125.0)
    assert hot.off_unit_leak_pa == pytest.approx(GEN.leak_target_pa, rel=0.2)
    default = rail_bench.operating_point(per_gate, LOAD_NA, "typical", 27.0,
                                         gmin_s=NGSPICE_GMIN_S)
    assert default.rail_v > 0.1
