"""Tiles from checkpoints: every output file, DRC-clean (one deck run over all tiles and an
integration parent), LVS-clean against tile.spice, deterministic, hierarchical, importable,
and bad checkpoints fail with exit code 2 and nothing written."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb
import numpy as np
import pytest

from bmru_pdk.cells import side_by_side
from bmru_pdk.cells.crossbar import Shape
from bmru_pdk.cells.router import PAD
from bmru_pdk.cells.vias import add_pin, rect
from bmru_pdk.circuits.characterize import Tables
from bmru_pdk.cli import main
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import MANIFEST
from bmru_pdk.layers import LAYER
from bmru_pdk.layouts.floorplan import PITCH, Placement, place_and_route, riser_lanes
from bmru_pdk.layouts.tile import (
    FILES,
    bmru_tile,
    build_tile,
    import_tile,
    tile_files,
    write_gds,
    write_tile,
)
from bmru_pdk.layouts.tracks import Escape, escape
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import (
    held_copy,
    open_checkpoint,
    random_checkpoint,
    read_checkpoint,
    write_checkpoint,
)
from bmru_pdk.verification import drc, lvs

pytestmark = pytest.mark.usefixtures("pdk")

# name -> (n_in, d, layers, seed); "bundled" is the shipped network
# n13_d12_l2: unit rows wrap and nets share spine lanes; a "_held" name is held (its layer 0
# sampled on a frame clock)
SHAPES = {"bundled": None, "n3_d2_l1": (3, 2, 1, 1), "n5_d3_l2": (5, 3, 2, 2),
          "n13_d12_l2": (13, 12, 2, 3), "n5_d3_l2_held": (5, 3, 2, 2)}


def _checkpoint(name: str, shape: tuple[int, int, int, int] | None, folder: Path) -> Path:
    if shape is None:
        return bundled_checkpoint()
    path = random_checkpoint(n_in=shape[0], d=shape[1], layers=shape[2], seed=shape[3],
                             path=folder / f"{name}.safetensors")
    return held_copy(path, path) if name.endswith("_held") else path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The bundled and random checkpoints, as they are: the model keeps every parameter
    inside what the mirrors and the cell realise."""
    d = tmp_path_factory.mktemp("ckpt")
    return {name: _checkpoint(name, shape, d) for name, shape in SHAPES.items()}


@pytest.fixture(scope="module")
def tiles(checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
          ) -> dict[str, Path]:
    """``bmru tile`` output folder of every checkpoint."""
    d = tmp_path_factory.mktemp("tiles")
    return {name: tile_files(ckpt, d / name).outdir for name, ckpt in checkpoints.items()}


def _cli(*args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    old = sys.argv
    sys.argv = ["bmru", *args]
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
    finally:
        sys.argv = old
    return exit_.value.code, capsys.readouterr().err


def test_files_and_reports(tiles: dict[str, Path], checkpoints: dict[str, Path]) -> None:
    for name, outdir in tiles.items():
        assert sorted(p.name for p in outdir.iterdir()) == sorted([*FILES, MANIFEST])
        meta, arrays = read_checkpoint(checkpoints[name])
        rows = json.loads((outdir / "mapping.json").read_text())
        # one row per learned value except the initial states
        assert len(rows) == sum(a.size for k, a in arrays.items() if not k.endswith(".s0"))
        csv_lines = (outdir / "mapping.csv").read_text().splitlines()
        assert csv_lines[0] == "parameter,requested,element,drawn,realised,unit"
        assert len(csv_lines) == len(rows) + 1
        requested = {r["parameter"]: r["requested"] for r in rows}
        for r in rows:
            # currents and weights within what the unit grid allows: half its widest gap in
            # current between 1/2 and 4 units (8 %) plus the 2 % within which the cheapest
            # drawing is taken; the switching thresholds within that of the unit's beta_hi
            # (the candidate's scale: beta_lo = beta_hi - delta loses relative precision
            # when delta nears beta_hi)
            if not r["requested"]:
                continue
            if ".beta1" in r["parameter"] or ".delta" in r["parameter"]:
                unit = r["parameter"].replace(".delta", ".beta1")
                beta_hi = requested[unit] + requested[unit.replace(".beta1", ".delta")]
                assert r["realised"] == pytest.approx(r["requested"], abs=0.1 * beta_hi), r
            else:
                assert r["realised"] == pytest.approx(r["requested"], rel=0.1), r
            assert r["drawn"].endswith("µm)"), r
        summary = json.loads((outdir / "summary.json").read_text())
        assert summary["devices"] > 0 and summary["area_um2"] > 0
        assert summary["power_total_nw"] == pytest.approx(
            sum(summary["power_nw"].values()), abs=0.01)
        lef = (outdir / "tile.lef").read_text()
        assert f"MACRO {summary['cell']}" in lef and "SIZE" in lef and "OBS" in lef
        pins = [f"x{i}" for i in range(meta.architecture.n_in)] + [
            f"y{k}" for k in range(meta.architecture.n_classes)] + ["iref", "vdd", "vss"]
        for pin in pins:
            assert f"  PIN {pin}\n" in lef
        assert "USE POWER" in lef and "LAYER Metal3" in lef


def test_drc_clean(checkpoints: dict[str, Path], tmp_path: Path) -> None:
    """One deck run over every tile, and one with its units in two rows (a parent of two
    tiles: ``test_integration.py``)."""
    every = [bmru_tile(str(c)) for c in checkpoints.values()]
    every.append(bmru_tile(str(checkpoints["n5_d3_l2"]), unit_rows=2))
    gds = write_gds(side_by_side(tuple(every), spacing=5.0), tmp_path / "tiles.gds")
    result = drc.run(gds)
    assert result.clean, result.by_cell()


@pytest.mark.parametrize("name", SHAPES)
def test_lvs_matches_tile_spice(tiles: dict[str, Path], name: str) -> None:
    """A match, found part by part: the flat comparison is the fallback that explains a
    difference, and on a large tile it takes hours, so a tile whose parts no longer pair by
    name must fail here, not pass slowly."""
    result = lvs.run(tiles[name] / "tile.gds", tiles[name] / "tile.spice")
    assert result.match and result.cell_by_cell, result.summary()


def test_lvs_parts_renamed_fall_back_to_flat(tiles: dict[str, Path], tmp_path: Path) -> None:
    """Negative case of the test above: the same schematic with its part subcircuits renamed
    (nothing pairs by name) still matches, on the flat netlists, and says so."""
    text = (tiles["n3_d2_l1"] / "tile.spice").read_text()
    parts = re.findall(r"^\.subckt (\S+)", text, flags=re.MULTILINE)[:-1]  # the last: the tile
    assert parts
    for name in parts:
        text = re.sub(rf"\b{name}\b", f"renamed_{name}", text)
    result = lvs.run(tiles["n3_d2_l1"] / "tile.gds", text)
    assert result.match and not result.cell_by_cell, result.summary()
    assert json.loads(result.to_json())["compared"] == "flat"


def test_lvs_fails_against_other_weights(tiles: dict[str, Path], checkpoints: dict[str, Path],
                                         tmp_path: Path) -> None:
    meta, arrays = read_checkpoint(checkpoints["n3_d2_l1"])
    arrays["layers.0.W"][0, 0] *= 2
    other = tile_files(write_checkpoint(tmp_path / "other.st", meta, arrays), tmp_path / "o")
    result = lvs.run(tiles["n3_d2_l1"] / "tile.gds", other.outdir / "tile.spice")
    # another drawing of the weight: other fingers (a parameter) or other stacks (devices, nets)
    assert not result.match and result.mismatches, result.summary()


@pytest.fixture(scope="module")
def alike_inputs(checkpoints: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tile whose readout weighs its first two inputs alike (equal columns): inside the
    readout array those inputs cannot be told apart, elsewhere they can."""
    meta, arrays = read_checkpoint(checkpoints["n5_d3_l2"])
    arrays["readout.W"][:, 1] = arrays["readout.W"][:, 0]
    d = tmp_path_factory.mktemp("alike")
    return tile_files(write_checkpoint(d / "alike.st", meta, arrays), d / "tile").outdir


def test_lvs_pairs_alike_inputs_by_pin_name(alike_inputs: Path) -> None:
    """Cell by cell, pins pair by name and other nets by connectivity: alike inputs of one
    part are not swapped, which would leave the tile's nets unpaired."""
    result = lvs.run(alike_inputs / "tile.gds", alike_inputs / "tile.spice")
    assert result.match and result.cell_by_cell, result.summary()


def test_lvs_alike_inputs_swapped_are_not_paired_by_cell(alike_inputs: Path) -> None:
    """Negative case of the test above: the schematic with the readout's two alike inputs
    swapped where it is placed is the same circuit flat (a match) but not part by part."""
    text = (alike_inputs / "tile.spice").read_text()
    swapped = re.sub(r"^(Xwo) h1_0 h1_1 ", r"\1 h1_1 h1_0 ", text, flags=re.MULTILINE)
    assert swapped != text
    result = lvs.run(alike_inputs / "tile.gds", swapped)
    assert result.match and not result.cell_by_cell, result.summary()


def test_same_checkpoint_same_bytes(tiles: dict[str, Path], checkpoints: dict[str, Path],
                                    tmp_path: Path) -> None:
    """A second build, in another process and from another path, writes identical files."""
    copy = tmp_path / "copy.safetensors"
    copy.write_bytes(checkpoints["n5_d3_l2"].read_bytes())
    subprocess.run([sys.executable, "-m", "bmru_pdk", "tile", str(copy), "-o",
                    str(tmp_path / "again")], check=True, capture_output=True)
    for f in FILES:
        if f != "summary.json":  # it names the checkpoint file
            assert (tmp_path / "again" / f).read_bytes() == (tiles["n5_d3_l2"] / f).read_bytes(), f


def test_hierarchy_one_cell_per_parameter_set(checkpoints: dict[str, Path]) -> None:
    c = bmru_tile(str(checkpoints["bundled"]))
    children = [inst.cell.name for inst in c.insts if not inst.cell.name.startswith("via")]
    units = [n for n in children if n.startswith("bmru_unit")]
    assert len(units) == 8 and len([n for n in children if n.startswith("weight_array")]) == 3
    assert len(c.called_cells()) > len(set(children))  # devices stay cells below them
    assert [p.name for p in c.ports] == ["x" + str(i) for i in range(13)] + [
        "y0", "y1", "iref", "vdd", "vss"]
    same = gf.get_component("bmru_tile", checkpoint=str(checkpoints["bundled"]))
    assert same.kdb_cell.cell_index() == c.kdb_cell.cell_index()


def test_import_gds_restores_ports(tiles: dict[str, Path], checkpoints: dict[str, Path]) -> None:
    built = bmru_tile(str(checkpoints["n3_d2_l1"]))
    back = import_tile(tiles["n3_d2_l1"] / "tile.gds")
    assert {p.name: (tuple(p.center), p.orientation) for p in back.ports} == {
        p.name: (tuple(p.center), p.orientation) for p in built.ports}
    assert {p.name for p in back.ports if p.orientation == 0} == {"y0", "y1"}  # east edge


def test_broken_checkpoint_exit_2_nothing_written(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a checkpoint")
    code, err = _cli("tile", str(bad), "-o", str(tmp_path / "out"), capsys=capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "bad.safetensors" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.safetensors"]


def test_unit_rows_wrap_to_the_arrays_width(checkpoints: dict[str, Path]) -> None:
    """Twelve units do not fit beside each other under the 13 x 12 array: they wrap onto
    rows no wider than it (a row of one unit wider than the array excepted)."""
    c = bmru_tile(str(checkpoints["n13_d12_l2"]))
    boxes = {i.name: i.dbbox() for i in c.insts if i.name.startswith(("u0_", "w0"))}
    rows: dict[float, list[kdb.DBox]] = {}
    for name, b in boxes.items():
        if name.startswith("u0_"):
            rows.setdefault(round(b.bottom, 3), []).append(b)
    assert len(rows) > 1
    for row in rows.values():
        assert len(row) == 1 or max(b.right for b in row) <= boxes["w0"].right + 1e-6


def test_units_in_two_rows_are_narrower_and_match_their_schematic(
        checkpoints: dict[str, Path], tmp_path: Path) -> None:
    """``unit_rows=2`` draws every unit's NMOS under its PMOS: each unit narrower than in one
    row (by its narrower kind's row, less the risers east of the rows; one row ignored
    would leave it as wide), the tile another cell with the same schematic, LVS-clean; a
    third row is refused (DRC: :func:`test_drc_clean`)."""
    ckpt = open_checkpoint(checkpoints["n5_d3_l2"])
    one, two = (build_tile(ckpt, unit_rows=k) for k in (1, 2))
    assert one.name != two.name and two.design.circuit == one.design.circuit
    widths = [{i.name: i.dbbox().width() for i in b.component.insts if i.name.startswith("u")}
              for b in (one, two)]
    assert widths[0] and widths[0].keys() == widths[1].keys()
    assert all(widths[1][u] < widths[0][u] for u in widths[0]), widths
    built = write_tile(two, tmp_path / "two")
    assert json.loads((built.outdir / "summary.json").read_text())["unit_rows"] == 2
    result = lvs.run(built.outdir / "tile.gds", built.outdir / "tile.spice")
    assert result.match and result.cell_by_cell, result.summary()
    with pytest.raises(BmruError, match="units are drawn in 1 or 2 rows, not 3"):
        build_tile(ckpt, unit_rows=3)
    with pytest.raises(ValueError, match="a unit is drawn in 1 or 2 rows, not 3"):
        gf.get_component("bmru_unit", rows=3)


def test_spine_lanes_shared_by_disjoint_risers() -> None:
    spans = {"a": (0.0, 10.0), "b": (10.0 + PITCH, 20.0), "c": (5.0, 15.0), "d": (10.1, 30.0)}
    lanes = riser_lanes(spans)
    assert lanes["a"] == lanes["b"]  # b starts a pitch above a's top: same lane
    assert len({lanes["a"], lanes["c"], lanes["d"]}) == 3  # overlapping: one lane each
    assert sorted(set(lanes.values())) == [0, 1, 2]
    assert riser_lanes({**spans, "b": (10.0 + PITCH / 2, 20.0)})["b"] == 3  # too close: a new lane
    # the clock's riser between its guards' in the first lanes, the others packed beyond
    fixed = riser_lanes({**spans, "vss": (0.0, 30.0), "clk": (5.0, 9.0), "vdd": (0.0, 30.0)},
                        ["vss", "clk", "vdd"])
    assert [fixed[n] for n in ("vss", "clk", "vdd")] == [0, 1, 2]
    assert fixed["a"] == fixed["b"] and sorted({fixed[n] for n in "acd"}) == [3, 4, 5]


def test_a_clock_track_runs_between_its_guards() -> None:
    """A channel's clock track goes to its outer edge between ground's and the supply's
    (added where the channel has none); without guards the order is the pins'."""
    from bmru_pdk.cells.router import guarded

    guards = {"clk": ("vss", "vdd")}
    assert guarded(["sum", "out", "clk", "c"], guards) == ["sum", "out", "c", "vss", "clk", "vdd"]
    assert guarded(["vdd", "s0", "clk", "vss", "h0"], guards) == ["s0", "h0", "vss", "clk", "vdd"]
    assert guarded(["sum", "vss", "out"], guards) == ["sum", "vss", "out"]  # no clock here
    assert guarded(["sum", "out", "clk"], {}) == ["sum", "out", "clk"]


def test_dense_tile_keeps_its_aspect_ratio(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A dense network (every weight drawn) whose arrays, drawn in one band, make a tile
    1.6 times as wide as high: the floorplan bands its arrays to the aspect asked for.
    Bands hold whole rails (a rail is 1/16 of these arrays' width) and the floorplan's
    estimate leaves the spine's and channels' exact widths out, so the target holds within
    a factor of two: the default (1) gives at most 2 : 1 either way, 2 a taller tile than
    the default within 1-4. Outside 0.25-4 the job refuses (exit 2) before any build."""
    ckpt = open_checkpoint(random_checkpoint(n_in=13, d=16, layers=2, seed=0, dense=True,
                                             path=tmp_path / "dense.safetensors"))
    assert all(np.count_nonzero(ckpt.arrays[f"layers.{i}.W"]) == ckpt.arrays[
        f"layers.{i}.W"].size for i in range(2))
    ratio = {a: build_tile(ckpt, max_devices=10_000, aspect=a).boundary for a in (1.0, 2.0)}
    ratio = {a: h / w for a, (_, _, w, h) in ratio.items()}
    assert 0.5 <= ratio[1.0] <= 2.0
    assert ratio[1.0] < ratio[2.0] and 1.0 <= ratio[2.0] <= 4.0
    code, err = _cli("tile", str(tmp_path / "dense.safetensors"), "-o", str(tmp_path / "out"),
                     "--aspect", "10", capsys=capsys)
    assert code == 2 and "aspect 10 is outside 0.25-4" in err
    assert not (tmp_path / "out").exists()


def test_bands_share_the_rails_evenly() -> None:
    shape = Shape(pitch=10.0, rails=16, inputs=4, height=50.0)
    assert shape.band(1000.0) == 98  # room for every rail: one band
    assert shape.band(170.0) == 8  # 15 fit: two bands of 8, not 15 and 1
    assert shape.band(1.0) == 1


# gf180mcu's metal3 tracks as the OpenROAD platform makes them: every 0.56 µm from 0.28 µm
TRACKS = (0.28, 0.56)


def _off_track(y: float) -> bool:
    k = (y - TRACKS[0]) / TRACKS[1]
    return abs(k - round(k)) > 1e-6


def _crowded(heights: dict[str, float], out: Escape) -> list[str]:
    """Where the escape band's metal3 runs come closer than a pitch: at the cells (each pin
    at its height), between columns (the pins jogged so far on their tracks), and in each
    column (every jog's two ends)."""
    at = dict(heights)
    problems = []
    for col in range(out.columns + 1):
        jogs = [p for p, c in out.column.items() if c == col]
        ends = [(p, v) for p in jogs for v in (heights[p], out.track[p])]
        for (a, ya), (b, yb) in itertools.combinations([*at.items(), *ends], 2):
            if a != b and abs(ya - yb) < PITCH - 1e-9:
                problems.append(f"column {col}: {a} and {b} {abs(ya - yb):.2f} µm apart")
        at.update({p: out.track[p] for p in jogs})
    return problems


def test_pins_escape_onto_tracks_in_order() -> None:
    """Pins a pitch apart reach tracks (0.56 µm) a pitch (0.66 µm) apart, so each one climbs
    further than the last: the jogs, made top pin first, never bring two metal3 runs within
    a pitch; made bottom pin first they would."""
    heights = {f"p{k}": 3.05 + k * PITCH for k in range(6)}
    out = escape(heights, PITCH)
    assert not any(_off_track(y) for y in out.track.values())
    order = sorted(heights, key=heights.__getitem__)
    assert sorted(out.track, key=out.track.__getitem__) == order
    assert min(out.track[b] - out.track[a] for a, b in itertools.pairwise(order)) >= PITCH
    assert max(out.track[p] - heights[p] for p in heights) > 2 * PITCH  # a long jog
    assert _crowded(heights, out) == []
    backwards = Escape(out.track, {p: out.columns - 1 - c for p, c in out.column.items()},
                       out.columns)
    assert _crowded(heights, backwards)
    on_track = {"a": 0.28, "b": 1.4}
    assert escape(on_track, PITCH) == Escape(on_track, {}, 0)
    with pytest.raises(ValueError, match="closer than"):
        escape({"a": 1.0, "b": 1.5}, PITCH)


def test_dense_pins_drc_clean_on_tracks(tmp_path: Path) -> None:
    """A cell whose six ports sit a pitch apart: placed and routed, every pin is on a track,
    the tile a whole number of tracks, the long jogs on metal2, and the official deck finds
    nothing (the same pins drawn straight to the edge, off the tracks, are caught)."""
    cell = gf.Component("dense_ports")
    nets = {}
    for k in range(6):
        y = 3.05 + k * PITCH
        box = (0.0, y - PAD / 2, 3.0, y + PAD / 2)
        rect(cell, LAYER.metal3, box)
        add_pin(cell, f"p{k}", LAYER.metal3, box, 180)
        nets[f"p{k}"] = f"p{k}"
    c = gf.Component("dense_pins_tile")
    x0, y0, x1, y1 = place_and_route(c, [[Placement("a", cell, nets)]], list(nets))
    assert not _off_track(x1 + TRACKS[0]) and not _off_track(y1 + TRACKS[0])
    assert [p.name for p in c.ports if _off_track(p.center[1])] == []
    assert not kdb.Region(c.begin_shapes_rec(c.kcl.layer(*LAYER.metal2))).is_empty()
    assert drc.run(write_gds(c, tmp_path / "dense.gds")).clean
    assert [p.name for p in cell.ports if _off_track(p.center[1])]


# ---- a tile on the 4-gate grid (k of 4 whole gates) ----------------------------------------

@pytest.fixture(scope="module")
def four_gate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Tables]:
    """A random network trained-for (clamped to) the 4-gate grid's window, and the grid's
    tables (a quick characterisation)."""
    from bmru_pdk.circuits import UNIT, characterize, mapping
    from bmru_pdk.model.checkpoint import load_checkpoint, save_checkpoint

    tables = characterize.characterize(quick=True, unit=UNIT.model_copy(
        update={"diode_gates": 4}))
    path = random_checkpoint(n_in=5, d=3, layers=2, seed=2,
                             path=tmp_path_factory.mktemp("four") / "r.safetensors")
    gridded = load_checkpoint(path).within(mapping.realisability(tables))
    return save_checkpoint(gridded, path), tables


def test_four_gate_tile_draws_whole_gates_only(four_gate: tuple[Path, Tables]) -> None:
    path, tables = four_gate
    build = build_tile(open_checkpoint(path), tables)
    devices = build.design.circuit.flat_devices()
    mirrors = [d for d in devices if d.w == tables.unit.w]
    assert mirrors and not any(d.stacks for d in devices)
    assert all(d.of == 4 for d in mirrors)  # every mirror device counts a 4-gate diode's gates
    diodes = [d for d in mirrors if d.d == d.g]
    assert diodes and all(d.fingers == 4 for d in diodes)
    # the model runs what the drawing realises: every weight k of 4 gates, k * one gate's gain
    weights = [m for m in build.mapping if ".W[" in m["parameter"] and m["element"] != "-"]
    assert weights and all("of 4" in m["drawn"] for m in weights)


def _gain_spread(tables: Tables) -> float:
    """How far a drawing's gain moves from its calibration (one unit in, onto a summing node
    at one unit) over every input and node current its tables hold: the drain voltages of a
    mirror's input and summing node move it, nothing else (a k-of-D drawing is k gates)."""
    from bmru_pdk.circuits import mapping

    ins = sorted({c for m in tables.mirrors for c in m.currents_na})
    nodes = sorted({m.i_node_na for m in tables.mirrors if m.i_node_na})
    return max(abs(mapping.realised_gain(r, tables, i, n) / mapping.realised_gain(r, tables) - 1)
               for r in (-1.0, 1.0) for i in ins for n in nodes)


def test_four_gate_tile_realises_the_values_it_was_trained_as(
        four_gate: tuple[Path, Tables]) -> None:
    """On the grid's levels every value is drawn as trained. A cell's thresholds and output
    are the tables' own values of its drawings: requested and realised differ only by the
    checkpoint's float32 storage (1e-7 relative), far inside 1e-4. A weight or bias level is
    its drawing's gain at its calibration: realised at its own input and node currents it
    moves at most the tables' spread over those. The same network on the nominal grid (k / 4,
    currents continuous) is drawn further off (the negative): the PMOS path's gain is not
    its nominal one."""
    from bmru_pdk.circuits import mapping
    from bmru_pdk.model.checkpoint import load_checkpoint, save_checkpoint

    path, tables = four_gate
    none = dict.fromkeys(("weight_levels", "bias_levels", "threshold_levels", "alpha_levels"))
    window = mapping.realisability(tables).model_copy(
        update={**none, "w_step": 0.25, "w_min": 0.25, "i_min": 0.25})
    raw = random_checkpoint(n_in=5, d=3, layers=2, seed=2, path=path.with_name("raw.safetensors"))
    off = save_checkpoint(load_checkpoint(raw).within(window), raw)

    def worst(p: Path, pattern: str) -> float:
        rows = [m for m in build_tile(open_checkpoint(p), tables).mapping
                if re.search(pattern, m["parameter"]) and m["requested"]]
        assert rows
        return max(abs(m["realised"] / m["requested"] - 1) for m in rows)

    cell, mirrors, spread = r"\.(beta1|delta|alpha)\[", r"\.(W|b)\[", _gain_spread(tables)
    assert worst(path, cell) < 1e-4 and worst(path, mirrors) <= spread + 1e-4
    assert worst(off, cell) > 0.01 and worst(off, mirrors) > spread + 0.01


def test_a_tile_with_keepers_draws_one_per_cell_and_is_lvs_clean(
        four_gate: tuple[Path, Tables], tmp_path: Path) -> None:
    """Tables of a unit with keepers measure its cells with the keeper of the output
    switch's tail node, which moves beta_lo (``test_cell_library``), so their thresholds
    are not those of the same unit without (nor their grid's levels: a network is moved
    onto them as onto any grid); a tile mapped with them draws the keeper in every cell,
    and LVS tells it from the tile without (the negative: the same layout against the
    schematic with no keeper)."""
    from bmru_pdk.circuits import characterize, mapping
    from bmru_pdk.model.checkpoint import load_checkpoint, save_checkpoint

    path, tables = four_gate
    kept_tables = characterize.characterize(quick=True, unit=tables.unit.model_copy(
        update={"keepers": True}))
    assert kept_tables.cell.beta_lo != tables.cell.beta_lo
    moved = save_checkpoint(load_checkpoint(path).within(mapping.realisability(kept_tables)),
                            tmp_path / "kept.safetensors")
    kept = write_tile(build_tile(open_checkpoint(moved), kept_tables), tmp_path / "kept")
    keepers = [d for d in kept.design.circuit.flat_devices() if d.name.endswith(".MK")]
    assert len(keepers) == 2 * 3  # two layers of three units
    schematic = (kept.outdir / "tile.spice").read_text()
    assert lvs.run(kept.outdir / "tile.gds", kept.outdir / "tile.spice").match
    without = tmp_path / "without_keepers.spice"
    without.write_text("\n".join(ln for ln in schematic.splitlines()
                                 if not ln.startswith("XMK ")) + "\n")
    assert without.read_text() != schematic
    assert not lvs.run(kept.outdir / "tile.gds", without).match


def test_a_held_tile_samples_its_first_layer_on_a_clock_pin(
        tiles: dict[str, Path], tmp_path: Path) -> None:
    """A held network's tile: each layer-0 cell carries its sampler (the flip-flop's clock
    inverter ``MC``), the last layer's cells none, and the tile a ``clk`` pin, an input of
    use CLOCK in the LEF and in the Verilog black box. LVS (the match itself is
    ``test_lvs_matches_tile_spice``) tells a flip-flop whose clock is cut from the tile's:
    the negative is the same layout against a schematic with one cell's clock inverter on
    a net of its own."""
    folder = tiles["n5_d3_l2_held"]
    schematic = (folder / "tile.spice").read_text()
    lef, verilog = (folder / "tile.lef").read_text(), (folder / "tile.v").read_text()
    assert re.search(r"PIN clk\n\s+DIRECTION INPUT ;\n\s+USE CLOCK ;", lef)
    assert re.search(r"input\s+wire clk", verilog)
    units = re.findall(r"^Xu(\d+)_\d+ (.*) bmru_unit_\w+$", schematic, re.M)
    assert sorted(layer for layer, nets in units if "clk" in nets.split()) == ["0"] * 3, \
        "every layer-0 unit, and only they, take the clock"
    assert "clk" not in (tiles["n5_d3_l2"] / "tile.spice").read_text()
    cut = re.sub(r"^(XMCP clkb )clk ", r"\1clk_cut ", schematic, count=1, flags=re.M)
    assert cut != schematic
    (tmp_path / "cut.spice").write_text(cut)
    assert not lvs.run(folder / "tile.gds", tmp_path / "cut.spice").match


def test_a_network_trained_on_a_grid_is_drawn_with_that_grids_tables(
        four_gate: tuple[Path, Tables]) -> None:
    """A network trained on the levels of one of the package's 4-gate tables (without the
    cascodes, with them, and with the cells' keepers too) is drawn on them without being
    told; with tables that draw other levels (the one-gate grid, the other 4-gate tables,
    another characterisation of the 4-gate grid) it is refused, as is a network whose levels
    no package tables draw: its tile would realise values other than the ones it runs."""
    from bmru_pdk.circuits import mapping
    from bmru_pdk.model.checkpoint import load_checkpoint, save_checkpoint

    quick_path, quick = four_gate
    grids = [mapping.load_tables(d) for d in mapping.GRID_DIRS]
    assert [(g.unit.cascodes, g.unit.keepers) for g in grids] == [
        (False, False), (False, False), (True, False), (True, True)]
    for k, package in enumerate(grids[1:], start=1):
        raw = random_checkpoint(n_in=5, d=3, layers=2, seed=2,
                                path=quick_path.with_name(f"package_grid{k}.safetensors"))
        path = save_checkpoint(load_checkpoint(raw).within(mapping.realisability(package)),
                               raw)
        assert build_tile(open_checkpoint(path)).tables is package
        for other in [quick, *(g for g in grids if g is not package)]:
            with pytest.raises(BmruError, match="trained on the levels of a grid these tables"):
                build_tile(open_checkpoint(path), other)
    with pytest.raises(BmruError, match="no tables of the package draw"):
        build_tile(open_checkpoint(quick_path))


def test_four_gate_tile_is_lvs_clean(four_gate: tuple[Path, Tables], tmp_path: Path) -> None:
    path, tables = four_gate
    build = write_tile(build_tile(open_checkpoint(path), tables), tmp_path / "tile")
    result = lvs.run(build.outdir / "tile.gds", build.outdir / "tile.spice")
    assert result.match and result.cell_by_cell, result.summary()
