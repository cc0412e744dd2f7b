"""Replica-biased cascodes: a positive weight's whole path holds its gain over temperature.

A positive weight is two mirrors in a row: the input's NMOS diode, its unit copy sunk from
the PMOS diode, and the PMOS output onto the summing node. As drawn, the copy's drain sits
at the PMOS diode's node, VDD less a source-gate voltage, about 0.4 V above its own diode's
drain, and the PMOS output's drain at the summing node, a volt below its diode's: their
drain conductances turn those differences into a gain error of a few percent whose size
moves with temperature (docs/corners.md, "Drain matching along the weight path"). With the
cascodes each drain sits at its diode's voltage at one unit in, whatever the condition, so
what is left is the replica's current density against the output's: none at one unit.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bmru_pdk.circuits import (
    NFET,
    PFET,
    WeightArrayParams,
    bmru_unit,
    builders,
    mapping,
    names,
    weight_array,
)
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.builders import (
    BiasParams,
    CellParams,
    RailGeneratorParams,
    UnitParams,
    bias_generator,
)
from bmru_pdk.circuits.design import design
from bmru_pdk.circuits.mapping import GRID_DIRS, load_tables
from bmru_pdk.circuits.model import Device
from bmru_pdk.circuits.sizing import UnitDevice
from bmru_pdk.layouts.tile import tile_layout, write_gds
from bmru_pdk.model import bundled_checkpoint
from bmru_pdk.model.checkpoint import open_checkpoint
from bmru_pdk.verification import drc, lvs

FOUR = UnitDevice(w=4.0, l=4.0, diode_gates=4)
CASCODED = FOUR.model_copy(update={"cascodes": True})
# The bound for a whole-unit ratio over the conditions. The drawn path misses it by
# its drain mismatch (about 1 % from -40 to 125 °C at the typical corner); a cascoded path's
# drains match at one unit, so nothing first-order is left to move.
WHOLE_UNIT_DRIFT = 0.005
CONDITIONS = [("typical", -40.0), ("typical", 125.0), ("ss", -40.0), ("ff", 27.0)]
# What a drawn gain may differ from its tables' in the circuit they were made from: gates in
# parallel at the same terminal voltages carry the same current each, so k gates carry k
# times one gate's; left are the tables' six digits (1e-5 of a unit's gain) and the
# simulator's tolerances. 1e-4 sits far below what a circuit change leaves (a cascode sized
# by its output's whole units put a 4-gate PMOS output 8e-4 under four one-gate slots, which
# biased the cascoded tile's candidates by about half a percent of a threshold).
TABLE_AGREEMENT = 1e-4
# a row of weights: quarter slots, a whole unit and more, a negative weight
ROW = [0.25, 1.0, 2.75, -1.0]


def _path_gain(unit: UnitDevice, corner: str, temp_c: float) -> float:
    """A unit positive weight's gain, input current to summing node, at one unit in."""
    return float(ch.measure_weight_row([1.0], 1.0, unit, corner=corner, temp_c=temp_c)[0])


def test_a_cascoded_unit_cascodes_copies_into_pmos_diodes_and_pmos_outputs() -> None:
    arr = weight_array(WeightArrayParams(ratios=[[1.0, -1.0]], unit=CASCODED))
    devices = {d.name: d for d in arr.devices}
    copy, weight = devices[names.cascode("MXC0")], devices[names.cascode("MW0_0")]
    assert (copy.kind, copy.g, copy.b) == (NFET, names.NMOS_CASCODE_LINE, "vss")
    assert (devices["MXC0"].d, copy.s, copy.d) == ("MXC0_c", "MXC0_c", "xp0")
    # the PMOS cascode in an n-well of its own: bulk on its source
    assert (weight.kind, weight.g, weight.b, weight.s) == (
        PFET, names.PMOS_CASCODE_LINE, "MW0_0_c", "MW0_0_c")
    assert names.cascode("MW0_1") not in devices  # an NMOS weight's drain matches already
    assert {names.NMOS_CASCODE_LINE, names.PMOS_CASCODE_LINE} <= {p.name for p in arr.pins}
    plain = weight_array(WeightArrayParams(ratios=[[1.0, -1.0]], unit=FOUR))
    assert {d.name for d in plain.devices} == {"MXN0", "MXC0", "MXP0", "MW0_0", "MW0_1"}
    assert {p.name for p in plain.pins} == {"x0", "s0", "s1", "vdd", "vss"}


def test_the_reference_comes_in_at_the_top_of_its_cascode_stack() -> None:
    bias = bias_generator(BiasParams(unit=CASCODED))
    current = [p.name for p in bias.pins if p.signal == "current"]
    assert current == [names.NMOS_CASCODE_LINE]
    unit = bmru_unit(UnitParams(cell=CellParams(r_thresh=2.5, r_width=1.0, r_gain=1.0,
                                                unit=CASCODED), r_bias=1.0))
    flat = {d.name: d for d in unit.flat_devices()}
    for tail in ("cell.M5C", "cell.M8C", "relu.MCC"):
        assert flat[tail].g == "vbnc", tail
    assert flat["cell.MOUTC"].g == flat["MBC"].g == "vbpc"


def _row_error(unit: UnitDevice, tables: ch.Tables) -> float:
    """Largest relative error of :data:`ROW`'s drawn gains against ``tables``, at 1 and 3
    units in."""
    return max(abs(g / mapping.realised_gain(r, tables, i, ch.I_REF) - 1)
               for i in (1.0, 3.0)
               for r, g in zip(ROW, ch.measure_weight_row(ROW, i, unit), strict=True))


def test_a_cascoded_weight_is_k_times_its_tables_one_gate_slot() -> None:
    """Each cascode has a gate per gate of its output, so every output's drain sits at the
    same voltage and a k-gate weight's gain is k of the tables' one-gate slot, in the whole
    path (copy, PMOS diode, output); sized by the output's whole units, as first drawn, a
    whole unit's cascode carried four times a slot's current density and the weight read
    0.08 % low (the negative)."""
    tables = load_tables(GRID_DIRS[2])
    assert tables.unit == CASCODED
    assert _row_error(CASCODED, tables) < TABLE_AGREEMENT


def test_a_cascode_sized_by_whole_units_misses_the_slots(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    drawn = builders._cascoded

    def by_units(out: Device, unit: UnitDevice) -> list[Device]:
        devices = drawn(out, unit)
        return devices[:1] + [d.model_copy(update={"fingers": math.ceil(out.ratio - 1e-9)})
                              for d in devices[1:]]

    monkeypatch.setattr(builders, "_cascoded", by_units)
    assert _row_error(CASCODED, load_tables(GRID_DIRS[2])) > 5 * TABLE_AGREEMENT


@pytest.mark.parametrize("grid", range(len(GRID_DIRS)))
def test_the_packages_tables_are_the_circuits_they_describe(grid: int) -> None:
    """Each grid's tables against its circuits as drawn now, at points of every mirror
    table: a one-gate (or the grid's) output onto a summing node, NMOS and PMOS, and the
    unit copy into a PMOS diode. Tables made before a circuit change fail here; one value
    moved by the 0.08 % the cascodes' first sizing left is caught (the negative)."""
    tables = load_tables(GRID_DIRS[grid])
    unit = tables.unit
    ratios = ch.slot_ratios(unit, "sum")
    # the circuits measured once: (kind, load, ratio) -> gain at one unit in
    drawn = {(kind, "sum", r): g for kind in (NFET, PFET) for r, g in zip(
        ratios, ch.measure_mirror(kind, ratios, 1.0, unit, load="sum", i_node=ch.I_REF),
        strict=True)}
    drawn[NFET, "diode", 1.0] = ch.measure_mirror(NFET, [1.0], 1.0, unit, load="diode")[0]

    def errors(t: ch.Tables) -> list[float]:
        return [abs(g / mapping.mirror_gain(kind, r, 1.0, t, load, i_node=ch.I_REF) - 1)
                for (kind, load, r), g in drawn.items()]

    assert max(errors(tables)) < TABLE_AGREEMENT
    m = next(m for m in tables.mirrors if m.kind == PFET and m.i_node_na == ch.I_REF)
    moved = m.model_copy(update={"gain": [[g * 1.0008 for g in row] for row in m.gain]})
    stale = tables.model_copy(update={"mirrors": [moved if x is m else x
                                                  for x in tables.mirrors]})
    assert max(errors(stale)) > TABLE_AGREEMENT


@pytest.mark.parametrize(("corner", "temp_c"), CONDITIONS)
def test_a_cascoded_weight_path_holds_its_gain(corner: str, temp_c: float) -> None:
    room = _path_gain(CASCODED, "typical", 27.0)
    assert _path_gain(CASCODED, corner, temp_c) == pytest.approx(room, rel=WHOLE_UNIT_DRIFT)


def test_the_drawn_weight_path_drifts_beyond_the_bound() -> None:
    """The negative case: the same path without the cascodes."""
    room = _path_gain(FOUR, "typical", 27.0)
    drift = [abs(_path_gain(FOUR, c, t) / room - 1) for c, t in CONDITIONS]
    assert max(drift) > WHOLE_UNIT_DRIFT


@pytest.mark.parametrize("rail", [False, True], ids=["ground", "rail"])
def test_a_cascoded_tile_is_drc_clean_and_matches_its_schematic(rail: bool,
                                                                tmp_path: Path) -> None:
    """The bundled network drawn on its grid (cascodes and the cells' keepers): every line
    wired (the reference at the stack's top), the official deck clean and LVS matched, on
    ground and on the source rail with its generator, whose line must pass the copies'
    cascodes."""
    tables = load_tables(GRID_DIRS[3])
    tile = design(open_checkpoint(bundled_checkpoint()), tables, source_rail=rail,
                  rail_generator=RailGeneratorParams() if rail else None)
    bias = tile.rows[0][0]
    assert bias.nets[names.NMOS_CASCODE_LINE] == names.REF and bias.nets["vbn"] == "vbn"
    c = tile_layout(tile)
    gds = write_gds(c, tmp_path / "tile.gds")
    assert drc.run(gds, tmp_path / "tile.lyrdb").clean
    assert lvs.run(gds, c.info["spice"]).match
