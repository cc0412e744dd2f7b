"""Benches of the NMOS source rail's generator on its own (:func:`rail_generator`): the
generator, its set current from an ideal source, the tile's NMOS current as an ideal load
into the rail (from a supply of its own, so the generator's draw is its supply's current),
and a probe: one OFF unit NMOS output on the rail (gate and source on ``vsn``, bulk on
ground, drain held at a summing node's voltage), whose leakage is the floor each OFF output
of the tile leaves.

GMIN is the project's (:data:`~bmru_pdk.spice.GMIN_S`, as in every tile simulation) unless
asked for another (the deck sets it either way): the probe's leakage is given net of GMIN's
current across its drain junction.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from bmru_pdk.circuits import names
from bmru_pdk.circuits.builders import (
    BiasParams,
    RailGeneratorParams,
    bias_generator,
    rail_generator,
)
from bmru_pdk.spice import GMIN_S, simulate
from bmru_pdk.tech import VDD_V

if TYPE_CHECKING:
    from bmru_pdk.circuits.sizing import UnitDevice

DRAIN_V = 1.0  # a summing node's voltage above the rail (docs/corners.md, the headroom table)
# The load a tile-level DC rail is taken at: the mean current through the NMOS sources of
# the first default tile (one-gate grid) in a drawn-rail run at typical 125 °C. The 4-gate
# tile's generator runs (docs/pvt.md) were screened at this load too.
TILE_LOAD_NA = 48.0


def deck(params: RailGeneratorParams, load: str, vdd_v: float = VDD_V,
         i_set_pa: float | None = None, gmin_s: float = GMIN_S) -> str:
    """The generator, its set current (``params.i_set_pa`` unless given), the load (a SPICE
    current source's value: ``dc 40n``) into the rail, the OFF probe unit, and ngspice's
    GMIN."""
    gen = rail_generator(params)
    unit = params.unit
    i_set = params.i_set_pa if i_set_pa is None else i_set_pa
    return "\n".join([
        gen.to_spice(), f"Xgen vsn iset vdd 0 {gen.name}",
        f"Vdd vdd 0 {vdd_v:g}", f"Vload vl 0 {vdd_v:g}", f"Vprobe pd 0 {DRAIN_V:g}",
        f"Iset vdd iset {i_set:g}p", f"Iload vl vsn {load}",
        f"Xprobe pd vsn vsn 0 nfet_03v3 w={unit.w:g}u l={unit.l:g}u nf=1 m=1",
        f".options gmin={gmin_s:g}"])


@dataclass(frozen=True)
class RailPoint:
    """The generator's operating point at one load.

    Attributes:
        rail_v: the rail's voltage.
        x_v: the servo's node, the follower's gate (near ground: the rail held at
            ground; at VDD: the follower open, the rail on the sink as a diode).
        y_v: the sink's gate.
        p_v: the replicas' drain, the PMOS diode that copies their leakage.
        b_v: the PMOS diode that biases the follower.
        set_v: the set current's NMOS diode (pin ``iset``).
        off_unit_leak_pa: the probe's leakage, net of GMIN.
        supply_na: the generator's own supply current.
    """

    rail_v: float
    x_v: float
    y_v: float
    p_v: float
    b_v: float
    set_v: float
    off_unit_leak_pa: float
    supply_na: float


@lru_cache(maxsize=64)  # a tile run asks once per utterance deck: one DC run per condition
def operating_point(params: RailGeneratorParams, load_na: float, corner: str = "typical",
                    temp_c: float = 27.0, vdd_v: float = VDD_V,
                    i_set_pa: float | None = None, gmin_s: float = GMIN_S) -> RailPoint:
    """The generator's DC operating point under a load of ``load_na`` at a condition (with
    ngspice's GMIN at ``gmin_s``)."""
    v = simulate(deck(params, f"dc {load_na:g}n", vdd_v, i_set_pa, gmin_s) + "\n.op",
                 corner=corner, temp_c=temp_c).vectors
    return RailPoint(rail_v=float(v["vsn"][0]), x_v=float(v["xgen.x"][0]),
                     y_v=float(v["xgen.y"][0]), p_v=float(v["xgen.p"][0]),
                     b_v=float(v["xgen.b"][0]), set_v=float(v["iset"][0]),
                     off_unit_leak_pa=(float(-v["vprobe#branch"][0]) - gmin_s * DRAIN_V) * 1e12,
                     supply_na=float(-v["vdd#branch"][0]) * 1e9)


@lru_cache(maxsize=64)
def reference_lines(rail_v: float, i_ref: str, unit: UnitDevice, corner: str = "typical",
                    temp_c: float = 27.0, vdd_v: float = VDD_V,
                    gmin_s: float = GMIN_S) -> dict[str, float]:
    """The gate lines of the bias generator of ``unit`` (its diodes' gates and cascodes),
    V, by their tile nets (:func:`~bmru_pdk.circuits.names.bias_line_nets`), with its
    reference ``i_ref`` (a SPICE current) and its NMOS sources on a rail at ``rail_v``: where
    a tile drawn with the generator starts its reference, as the generator at
    :func:`operating_point`."""
    bias = bias_generator(BiasParams(unit=unit, source_rail=True))
    nets = names.bias_line_nets(unit.cascodes)
    ref = next(pin for pin, net in nets.items() if net == names.REF)
    v = simulate("\n".join([
        bias.to_spice(), f"Xbias {' '.join(p.name for p in bias.pins)} {bias.name}",
        f"Vdd vdd 0 {vdd_v:g}", "Vss vss 0 0", f"Vsn vsn 0 {rail_v:g}",
        f"Iref vdd {ref} {i_ref}", f".options gmin={gmin_s:g}", ".op"]),
        corner=corner, temp_c=temp_c).vectors
    return {net: float(v[pin][0]) for pin, net in nets.items()}
