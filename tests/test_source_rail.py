"""The NMOS source rail: every NMOS mirror device's source on a rail above the substrate.

At 125 °C the channel leakage of an OFF NMOS unit output (~42 pA at ff) is the size of the
smallest thresholds at 0.2 nA per unit (docs/corners.md). With the sources on a rail
``V_R`` above the substrate the bulk stays on ground, so every NMOS sits in reverse body
bias and its threshold voltage rises by gamma (sqrt(2 phi_F + V_R) - sqrt(2 phi_F)): with
gamma ~0.5 V^0.5 and 2 phi_F ~0.8 V, about 0.14 V at V_R = 0.6 V. An OFF device's current
falls as exp(-dV_T / (n U_T)), with n U_T ~44 mV at 125 °C: by a factor of ~20, against
which the tests ask for 5. A mirror's diode and outputs share the bias, so ratios hold.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk.analyses import simulation
from bmru_pdk.analyses.testbench import FRAME_S, Condition, generated_rail, hot_rail
from bmru_pdk.circuits import NFET, PFET, RailGeneratorParams
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.builders import CellParams, UnitParams, bmru_cell, bmru_unit
from bmru_pdk.errors import BmruError
from bmru_pdk.model.checkpoint import random_checkpoint
from bmru_pdk.spice import SOURCE_RAIL, SpiceError, on_source_rail, simulate

RAIL = 0.6  # V: the rail docs/corners.md measured to hold the smallest threshold
# The compare's tolerance on a threshold (docs/corners.md): 5 % of its calibrated value
THRESH_TOL = 0.05
_CARD = re.compile(r"^x(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.IGNORECASE)


def _cards(spice: str) -> dict[str, tuple[str, ...]]:
    """Transistor cards by name: (drain, gate, source, bulk, model)."""
    return {m.group(1).lower(): tuple(m.group(k).lower() for k in range(2, 7))
            for line in spice.splitlines() if (m := _CARD.match(line.strip()))}


def test_rail_moves_every_nmos_source_on_vss_and_nothing_else() -> None:
    unit = bmru_unit(UnitParams(cell=CellParams(r_thresh=1.0, r_width=0.4, r_gain=1.0),
                                r_bias=-0.5))
    before = _cards(unit.to_spice())
    after = _cards(on_source_rail(unit.to_spice(), RAIL))
    moved = {n for n in before if before[n] != after[n]}
    expected = {n for n, (_d, _g, s, _b, model) in before.items()
                if model == NFET and s == "vss"}
    # the ReLU diode and copy, the bias output, the cell's thresholds, tails, their stacks
    assert len(expected) >= 6
    assert moved == expected
    for n in moved:
        assert after[n][2] == SOURCE_RAIL and after[n][3] == "vss"  # the bulk stays
    # the switches M3 / M6 keep their sources on their tails, PMOS are untouched
    assert {n for n, c in before.items() if c[4] == PFET} <= set(before) - moved
    assert before["m3"][2] == "tg" and "m3" not in moved


def test_rail_moves_the_vss_side_of_an_extracted_device_named_either_way() -> None:
    """An extractor may call a symmetric device's vss diffusion its drain."""
    spice = ("XM1 n1 g vss vss nfet_03v3 w=4u l=4u\nXM2 vss g n2 vss nfet_03v3 w=4u l=4u\n"
             "XM3 n3 g vss vdd pfet_03v3 w=4u l=4u\n")
    after = _cards(on_source_rail(spice, RAIL))
    assert after["m1"][:4] == ("n1", "g", SOURCE_RAIL, "vss")
    assert after["m2"][:4] == (SOURCE_RAIL, "g", "n2", "vss")
    assert after["m3"][:4] == ("n3", "g", "vss", "vdd")


@pytest.mark.parametrize("rail_v", [0.0, -0.1, 1.5, float("nan")])
def test_a_rail_out_of_range_is_refused(rail_v: float) -> None:
    with pytest.raises(SpiceError, match="source rail"):
        on_source_rail("xm1 d g vss vss nfet_03v3 w=4u l=4u\n", rail_v)


def _off_leakage(rail_v: float) -> float:
    """Current (A) of an OFF unit NMOS output at ff 125 °C: a mirror with no input, its
    output held at the summing-node voltage of the same rail."""
    v_sum = ch.sum_voltage(corner="ff", temp_c=125.0, rail_v=rail_v)
    deck = (f"xd in in vss vss {NFET} w=4u l=4u\nxo out in vss vss {NFET} w=4u l=4u\n"
            f"vo out 0 {v_sum}\nvdd vdd 0 1.8\nvss vss 0 0\n.op\n")
    r = simulate(deck, corner="ff", temp_c=125.0, source_rail_v=rail_v)
    return abs(float(r["i(vo)"][0]))


def test_rail_cuts_the_hot_leakage_of_an_off_output() -> None:
    grounded, railed = _off_leakage(0.0), _off_leakage(RAIL)
    assert grounded > 10e-12  # the floor the remedy is for: tens of pA at ff 125 °C
    assert railed < grounded / 5


def _threshold(corner: str, temp_c: float, rail_v: float, vdd_v: float = 1.8) -> float:
    cell = bmru_cell(CellParams(r_thresh=1.0, r_width=0.4, r_gain=1.0))
    p = ch.measure_cell(cell, 2.0, corner=corner, temp_c=temp_c, vdd_v=vdd_v, rail_v=rail_v)
    assert p is not None, f"no loop at {corner} {temp_c} °C {vdd_v} V, rail {rail_v} V"
    return p.beta_hi


def test_the_smallest_threshold_holds_at_ff_125c_on_the_rail() -> None:
    room = _threshold("typical", 27.0, RAIL)
    assert _threshold("ff", 125.0, RAIL) == pytest.approx(room, rel=THRESH_TOL)


def test_without_the_rail_the_hot_threshold_falls_past_its_tolerance() -> None:
    """The negative case: on ground the same cell's threshold leaks away at ff 125 °C."""
    room = _threshold("typical", 27.0, 0.0)
    assert _threshold("ff", 125.0, 0.0) < room * (1 - THRESH_TOL)


def test_the_cell_still_switches_on_the_rail_cold_and_at_low_supply() -> None:
    """The rail lifts every NMOS node by ~0.6 V plus the body effect: the cell's decision
    node must still swing at the coldest, slowest condition on 1.62 V (a threshold within
    the tolerance of its typical value, as measured at 1.8 V)."""
    room = _threshold("typical", 27.0, RAIL)
    assert _threshold("ss", -40.0, RAIL, 1.62) == pytest.approx(room, rel=THRESH_TOL)


def test_condition_on_a_rail_is_named_and_has_its_own_nominal() -> None:
    c = Condition("ff", 125.0, rail_v=RAIL)
    assert c.name == "ff 125C 1.8V rail 0.6V"
    assert c.nominal == Condition(rail_v=RAIL) != Condition()
    assert Condition().name == "typical 27C 1.8V"


def test_the_hot_rail_follows_temperature_and_keeps_the_tiles_own_model() -> None:
    """On ground up to 27 °C, linear to its top at 125 °C; its nominal condition is on
    ground (the tile's own tables), a fixed rail's is on the rail (the negative)."""
    assert [hot_rail(t, 0.45) for t in (-40.0, 27.0, 76.0, 125.0)] == [0.0, 0.0, 0.225, 0.45]
    hot = Condition("ff", 125.0, rail_v=hot_rail(125.0, 0.45), rail_follows_temp=True)
    assert hot.nominal.rail_v == 0.0 and hot.nominal.temp_c == 27.0
    assert Condition("ff", 125.0, rail_v=0.45).nominal.rail_v == 0.45
    from bmru_pdk.analyses.compare import condition_tables, nominal_tables
    from bmru_pdk.circuits.mapping import load_tables

    tables = load_tables()
    assert nominal_tables(tables, hot) is tables  # no characterisation: the tile's own
    assert condition_tables(tables, Condition(rail_follows_temp=True)) is None


def test_tables_made_on_a_rail_do_not_map_a_tile() -> None:
    from bmru_pdk.circuits.mapping import GRID_DIRS, load_tables
    from bmru_pdk.layouts.tile import build_tile
    from bmru_pdk.model import bundled_checkpoint, open_checkpoint

    # the grid the bundled network was trained on, made on a rail
    tables = load_tables(GRID_DIRS[3]).model_copy(update={"source_rail_v": RAIL})
    with pytest.raises(BmruError, match="rail"):
        build_tile(open_checkpoint(bundled_checkpoint()), tables)


# Frames (nA, two inputs) for the tiny unit of seed 1 (beta_lo 0.90, beta_hi 1.69 nA): the
# sixth candidate, 1.22 nA, sits in the hold band after an OFF frame, 0.47 nA below beta_hi
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)


def _tiny(tmp: Path, drawn: bool, generator: RailGeneratorParams | None = None,
          tables: ch.Tables | None = None) -> tuple:
    """A one-unit tile of two inputs (the rail drawn or not, with its generator or not,
    mapped with ``tables`` or the package's), extracted; its model's states on FRAMES."""
    import torch

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp / "tiny.safetensors")
    build, x, sim = simulation.extracted_tile(ckpt, tmp / "tile", tables=tables,
                                              source_rail=drawn, rail_generator=generator)
    model = build.checkpoint.model()
    with torch.no_grad():
        params = model.effective_parameters()
    states, _ = simulation.model_utterance(model, params, FRAMES)
    return sim, [q["s0"].numpy() for q in params[:-1]], states[0][:, 0], build, x


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return _tiny(tmp_path_factory.mktemp("rail"), drawn=False)


@pytest.fixture(scope="module")
def tiny_drawn(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return _tiny(tmp_path_factory.mktemp("drawn"), drawn=True)


@pytest.fixture(scope="module")
def tiny_generator(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    return _tiny(tmp_path_factory.mktemp("generator"), drawn=True,
                 generator=RailGeneratorParams())


def _agrees(tile: tuple, corner: str, rail_v: float,
            generator: RailGeneratorParams | None = None) -> bool:
    sim, s0, model_states = tile[:3]
    condition = Condition(corner, 125.0, rail_v=rail_v, rail_generator=generator)
    hw = simulation.simulate_utterance(sim.netlist, sim.decision_nets, s0, FRAMES, FRAME_S,
                                       condition=condition)
    return bool((hw.states[0][:, 0] == model_states).all())


@pytest.mark.parametrize("corner", ["ff", "fs"])
def test_hot_tile_on_the_rail_agrees_in_every_frame(tiny: tuple, corner: str) -> None:
    """Hot and fast, the unit's two OFF weight outputs leak ~2 x 44 pA on ground (0.44 of
    the 0.2 nA unit) and its threshold falls past the hold-band candidate; on the rail they
    leak ~1 pA each (the leakage test above), 0.01 of a unit against the 0.17 nA between
    the nearest candidate and a threshold: every frame agrees with the model. On ground the
    same frames do not (the negative case)."""
    assert _agrees(tiny, corner, RAIL)
    assert not _agrees(tiny, corner, 0.0)


def test_the_drawn_rail_is_a_pin_a_ring_and_every_nmos_mirror_source(tiny_drawn: tuple,
                                                                   tiny: tuple) -> None:
    """Drawn, the rail is what the study re-wires: every extracted NMOS card with a diffusion
    on the rail has its bulk on vss, no NMOS diffusion is left on vss, and the number on the
    rail is the number the study moves in the tile without it (the negative: that tile has
    none). The integrator sees pin vsn, USE GROUND, with a metal4 ring between vss's and
    vdd's; official DRC is clean and LVS matches."""
    from bmru_pdk.verification import drc, lvs

    build, x = tiny_drawn[3:]
    cards = _cards(x.spice)
    on_rail = {n for n, (d, _g, s, _b, m) in cards.items() if m == NFET and SOURCE_RAIL in (d, s)}
    assert on_rail and all(cards[n][3] == "vss" for n in on_rail)
    assert not [n for n, (d, _g, s, _b, m) in cards.items() if m == NFET and "vss" in (d, s)]
    ground = _cards(tiny[4].spice)
    assert not any(SOURCE_RAIL in c for c in ground.values())
    assert len(on_rail) == len({n for n, (d, _g, s, _b, m) in ground.items()
                                if m == NFET and "vss" in (d, s)})
    assert list(build.component.info["power_rings"]) == ["vss", SOURCE_RAIL, "vdd"]
    lef = (build.outdir / "tile.lef").read_text()
    assert re.search(rf"PIN {SOURCE_RAIL}\n\s+DIRECTION INOUT ;\n\s+USE GROUND ;", lef)
    assert build.summary["source_rail"] and not tiny[3].summary["source_rail"]
    assert drc.run(build.outdir / "tile.gds").clean
    assert lvs.run(build.outdir / "tile.gds", build.outdir / "tile.spice").match


def test_hot_tile_on_the_drawn_rail_agrees_in_every_frame(tiny_drawn: tuple) -> None:
    """The leakage argument of the study above, on the drawn rail's pin: every frame agrees
    at ff 125 °C with the pin at the rail, not with it tied to ground (the negative), and
    tied to ground at typical 27 °C it is the tile without the rail."""
    assert _agrees(tiny_drawn, "ff", RAIL)
    assert not _agrees(tiny_drawn, "ff", 0.0)
    sim, s0, model_states = tiny_drawn[:3]
    hw = simulation.simulate_utterance(sim.netlist, sim.decision_nets, s0, FRAMES, FRAME_S)
    assert (hw.states[0][:, 0] == model_states).all()


def test_hot_tile_on_its_generated_rail_agrees_in_every_frame(tiny_generator: tuple) -> None:
    """The drawn rail held by the generator drawn in the tile, its set current on its pin
    iset from an ideal source (as the reference's): at ff 125 °C it lifts the rail until
    the OFF outputs leak about its 1 pA target (tests/test_rail_generator.py), so every
    frame agrees as on the ideal rail. The same tile with pin vsn held on ground, which
    overrides the generator, disagrees as the tile on ground does (the negative)."""
    assert _agrees(tiny_generator, "ff", 0.0, RailGeneratorParams())
    assert not _agrees(tiny_generator, "ff", 0.0)


def test_the_run_measures_the_rail_its_generator_holds(tiny_generator: tuple, tiny_drawn: tuple,
                                                      tiny: tuple) -> None:
    """The compare's rail reading (its mean after the reset frame): the drawn generator
    lifts it at ff 125 °C (tests/test_rail_generator.py: 0.05-0.5 V where the servo or the
    sink holds it) and leaves it within the sink's few mV of ground at typical 27 °C; a
    source on the pin reads back as itself; a tile without the rail reads nothing (the
    negatives)."""
    def rail(condition: Condition, tile: tuple = tiny_generator) -> float | None:
        return simulation.simulate_utterance(tile[0].netlist, tile[0].decision_nets, tile[1],
                                             FRAMES[:3], FRAME_S, condition=condition).rail_v
    hot = rail(Condition("ff", 125.0, rail_generator=RailGeneratorParams()))
    assert hot is not None and 0.1 < hot < 0.5
    assert abs(rail(Condition(rail_generator=RailGeneratorParams()))) < 5e-3
    assert rail(Condition("ff", 125.0, rail_v=0.3), tiny_drawn) == pytest.approx(0.3, abs=1e-4)
    assert rail(Condition(), tiny) is None


def test_the_generator_is_drawn_beside_the_bias_generator(tiny_generator: tuple,
                                                          tiny_drawn: tuple) -> None:
    """Official DRC clean and LVS match; its set current comes in at a pin of its own,
    iset (LEF INPUT), not from the bias generator, whose reference sits on the rail (a copy
    of it falls while the rail rises and the servo then lifts the rail further:
    docs/corners.md); the tile's schematic without the generator does not match its layout
    (the negative); the pin vsn stays as an analog test point (LEF USE ANALOG, no power
    ring: an integrator's grid must not strap it) and says to leave it open."""
    from bmru_pdk.verification import drc, lvs

    build = tiny_generator[3]
    gds = build.outdir / "tile.gds"
    assert drc.run(gds).clean
    assert lvs.run(gds, build.outdir / "tile.spice").match
    assert not lvs.run(gds, tiny_drawn[3].outdir / "tile.spice").match
    bias, gen = build.design.rows[0]
    assert "iset" not in bias.nets and gen.nets["iset"] == "iset"
    assert build.design.rail_generator == RailGeneratorParams()
    assert build.summary["rail_generator"] and not tiny_drawn[3].summary["rail_generator"]
    assert list(build.component.info["power_rings"]) == ["vss", "vdd"]
    lef = (build.outdir / "tile.lef").read_text()
    assert re.search(rf"PIN {SOURCE_RAIL}\n\s+DIRECTION INOUT ;\n\s+USE ANALOG ;", lef)
    assert re.search(r"PIN iset\n\s+DIRECTION INPUT ;", lef) and "PIN iset" not in (
        tiny_drawn[3].outdir / "tile.lef").read_text()
    assert "leave it unconnected" in next(p.doc for p in build.design.pins
                                          if p.name == SOURCE_RAIL)


def test_a_generated_rail_is_named_and_keeps_the_tiles_own_model() -> None:
    """The condition's rail_v is the generator's DC rail there (its twin's tables are made
    on it): on ground at 27 °C, lifted at ff 125 °C (tests/test_rail_generator.py)."""
    c = generated_rail("ff", 125.0)
    assert c.name == "ff 125C 1.8V rail generator" and c.rail_generator == RailGeneratorParams()
    assert c.rail_v > 0.3 and generated_rail().rail_v == 0.0
    assert c.nominal.rail_v == 0.0 and Condition("ff", 125.0, rail_v=0.4).nominal.rail_v == 0.4


def test_a_generator_run_starts_the_reference_and_the_set_current(tiny_generator: tuple,
                                                                 tiny_drawn: tuple) -> None:
    """A run on the drawn generator puts its set current on pin iset and starts the reference's
    gate lines (iref, vbp) with the generator's nodes at their DC point on its rail: on the
    extracted bundled tile ngspice's operating point converges only with the reference
    started too (docs/corners.md, "Why not a copy of the reference"). A run on a source
    holds the rail and starts none of them (the negative)."""
    from bmru_pdk.analyses import testbench as tb
    from bmru_pdk.circuits import rail_bench

    sim = tiny_generator[0]
    condition = generated_rail("ff", 125.0)
    deck = tb.deck(sim.netlist, FRAMES[:2], FRAME_S, [], condition=condition).splitlines()
    start = dict(re.findall(r"v\(([^)]+)\)=(\S+)", next(x for x in deck if x.startswith(".ic"))))
    op = rail_bench.operating_point(RailGeneratorParams(), rail_bench.TILE_LOAD_NA, "ff", 125.0)
    tables = sim.netlist.operating_point
    lines = rail_bench.reference_lines(op.rail_v, tables.i_ref_spice, tables.unit, "ff", 125.0)
    nets = sim.netlist.rail_nets
    assert set(lines) == {"iref", "vbp"}  # one-gate diodes, no cascodes
    assert float(start["iref"]) == pytest.approx(lines["iref"], abs=1e-3)
    assert float(start[nets["vbp"]]) == pytest.approx(lines["vbp"], abs=1e-3)
    assert float(start[SOURCE_RAIL]) == pytest.approx(op.rail_v, abs=1e-3)
    assert {nets[k] for k in ("x", "y", "p", "b")} <= set(start) and "iset" in start
    assert "Iiset vfe iset 128p" in deck
    held = tb.deck(tiny_drawn[0].netlist, FRAMES[:2], FRAME_S, [],
                   condition=Condition("ff", 125.0, rail_v=0.4))
    assert ".ic" not in held and "iset" not in held


def test_a_generator_run_starts_the_bias_lines_at_the_tiles_own_point(
        tmp_path: Path) -> None:
    """On a tile of 4-gate diodes with cascodes, a generator run starts every gate line of
    its bias generator (iref = vbnc, vbn, vbp, vbpc) at that generator's DC point: after a
    frame of zero input each is within 10 mV of its start. A line at its DC point moves only
    by what the cells' switching couples into it, a few mV that decay within the frame; a
    line started at another unit's point is off by the difference between two diode stacks'
    gate voltages at one current, hundreds of mV here, and charges for frames. The seeded
    fault, the reference started at the one-gate unit's point (how runs started before),
    moves it by more than that."""
    from bmru_pdk.analyses import testbench as tb
    from bmru_pdk.circuits import rail_bench
    from bmru_pdk.circuits.mapping import GRID_DIRS, load_tables
    from bmru_pdk.circuits.sizing import UNIT

    tables = load_tables(GRID_DIRS[2])
    sim, s0 = _tiny(tmp_path, drawn=True, generator=RailGeneratorParams(), tables=tables)[:2]
    assert tables.unit.cascodes and tables.unit.diode_gates == 4
    netlist, c = sim.netlist, generated_rail()
    lines = rail_bench.reference_lines(c.rail_v, tables.i_ref_spice, tables.unit)
    one_gate = rail_bench.reference_lines(c.rail_v, tables.i_ref_spice, UNIT)["iref"]
    assert abs(one_gate - lines["iref"]) > 0.1
    nets = [netlist.rail_nets.get(line, line) for line in lines]
    initial = simulation.initial_voltages(netlist, sim.decision_nets, s0, c)
    deck = tb.deck(netlist, np.zeros((1, 2)), FRAME_S, nets, initial, c)

    def moved(deck: str) -> list[float]:
        r = simulate(deck)
        return [abs(float(r[f"v({n})"][-1] - r[f"v({n})"][0])) for n in nets]

    assert max(moved(deck)) < 0.01
    seeded = re.sub(r"v\(iref\)=\S+", f"v(iref)={one_gate:.4g}", deck)
    assert seeded != deck and moved(seeded)[nets.index("iref")] > 0.01


def test_a_run_starts_off_decision_nodes_on_the_rail(tiny_drawn: tuple) -> None:
    """An OFF cell's decision node sits on its NMOS sources' rail, an ON one at VDD: a run
    starts them there (a node started at ground below a lifted rail jumps to it and its
    cell decides again). On ground the OFF level is ground (the negative: a rail lifted
    moves it)."""
    sim = tiny_drawn[0]
    nets = sim.decision_nets
    lifted = Condition("ff", 125.0, rail_v=0.4)
    for s, level in ((0.0, 0.4), (1.0, 1.8)):
        start = simulation.initial_voltages(sim.netlist, nets, [np.array([s])], lifted)
        assert start == {nets[0][0]: pytest.approx(level)}
    assert simulation.initial_voltages(sim.netlist, nets, [np.zeros(1)], Condition()) == {
        nets[0][0]: 0.0}


def test_the_rail_generator_must_be_drawn_in_the_tile(tiny_drawn: tuple) -> None:
    with pytest.raises(BmruError, match="not drawn in this tile"):
        _agrees(tiny_drawn, "ff", 0.0, RailGeneratorParams())


def test_a_generator_without_the_rail_is_refused(tmp_path: Path) -> None:
    from bmru_pdk.layouts.tile import build_tile
    from bmru_pdk.model.checkpoint import open_checkpoint

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "t.safetensors")
    with pytest.raises(BmruError, match="draw the rail too"):
        build_tile(open_checkpoint(ckpt), rail_generator=RailGeneratorParams())


def test_bmru_tile_draws_the_rail_on_request(tmp_path: Path) -> None:
    """``bmru tile --draw-rail``: the summary says so and the LEF has the pin; without the
    flag, neither (the negative)."""
    import json
    import subprocess
    import sys

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "tiny.safetensors")
    for flag, drawn in ((["--draw-rail"], True), ([], False)):
        out = tmp_path / f"tile{drawn}"
        proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "tile", str(ckpt), "-o",
                               str(out), *flag], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert json.loads((out / "summary.json").read_text())["source_rail"] is drawn
        assert (f"PIN {SOURCE_RAIL}\n" in (out / "tile.lef").read_text()) is drawn


def test_a_crossbar_rail_line_joins_only_straps_at_one_height() -> None:
    """The crossbar's rail line runs at the NMOS source straps' height above their taps,
    one height for every unit device: a weight drawn at another width is refused, not
    drawn with a strap the line misses."""
    from bmru_pdk.cells.crossbar import draw_crossbar
    from bmru_pdk.circuits import builders

    arr = builders.weight_array(builders.WeightArrayParams(ratios=[[1.0, -2.0], [-1.0, 0.5]],
                                                           source_rail=True))
    assert SOURCE_RAIL in {p.name for p in draw_crossbar(arr, 2).ports}
    devices = [d.model_copy(update={"w": 1.0}) if d.name == "MW0_1" else d for d in arr.devices]
    with pytest.raises(ValueError, match="2 heights"):
        draw_crossbar(arr.model_copy(update={"devices": devices}), 2)
