"""Parasitic extraction with KLayout-PEX: trends on drawn wires, an analytic check, a tile."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING

import klayout.db as kdb
import numpy as np
import pytest

from bmru_pdk.errors import BmruError, ToolMissingError
from bmru_pdk.verification import extract, pex, pex_windows

if TYPE_CHECKING:
    from bmru_pdk.layouts.tile import TileBuild

GDS = extract.GDS
FF = 1e-15


@pytest.fixture(scope="module")
def kpex() -> Path:
    """The kpex program; a test that needs it is skipped where it is not installed."""
    try:
        return pex.kpex_program()
    except ToolMissingError as exc:
        pytest.skip(f"KLayout-PEX is not installed (run scripts/setup_pex.sh): {exc}")


needs_kpex = pytest.mark.usefixtures("kpex")


def layout(path: Path, boxes: dict[str, list[tuple[float, ...]]],
           labels: dict[str, list[tuple[str, float, float]]]) -> Path:
    """A one-cell GDS of boxes (µm) and labels, by extract.GDS layer name."""
    ly = kdb.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("TOP")
    for name, rects in boxes.items():
        for r in rects:
            top.shapes(ly.layer(*GDS[name])).insert(kdb.DBox(*r))
    for name, texts in labels.items():
        for text, x, y in texts:
            top.shapes(ly.layer(*GDS[name])).insert(kdb.DText(text, x, y))
    ly.write(str(path))
    return path


def pair(tmp_path: Path, length: float, space: float, width_a: float = 0.5,
         width: float = 0.5) -> pex.PexResult:
    """PEX of two parallel metal1 wires ``a`` (below) and ``b``, ``space`` apart."""
    y_b = width_a + space
    gds = layout(tmp_path / f"pair_{length}_{space}_{width_a}.gds",
                 {"metal1": [(0, 0, length, width_a), (0, y_b, length, y_b + width)]},
                 {"metal1_label": [("a", 0.2, width_a / 2), ("b", 0.2, y_b + width / 2)]})
    return pex.extract_pex(gds)


def between(result: pex.PexResult, a: str, b: str) -> float:
    """Capacitance between nets ``a`` and ``b``, F."""
    return sum(c.farads for c in result.capacitors if {c.a, c.b} == {a, b})


@needs_kpex
def test_coupling_grows_linearly_with_length(tmp_path: Path) -> None:
    c = {n: between(pair(tmp_path, n, 0.5), "a", "b") for n in (10, 20, 40, 80)}
    per_um = [c[n] / n for n in c]
    assert c[10] > 0.1 * FF
    assert max(per_um) / min(per_um) < 1.05, c  # linear: a constant per µm of run
    assert c[80] > 7 * c[10], c  # and not saturating


@needs_kpex
def test_coupling_falls_with_spacing_and_ends_beyond_the_halo(tmp_path: Path) -> None:
    spaces = (0.3, 0.6, 1.2, 2.4, 4.8)
    c = [between(pair(tmp_path, 40, s), "a", "b") for s in spaces]
    assert all(x > y for x, y in zip(c, c[1:], strict=False)), c
    assert c[0] > 5 * c[3], c
    # KPEX's gf180mcuD side halo is 8 µm: wires farther apart do not couple at all
    far = pair(tmp_path, 40, 10)
    assert between(far, "a", "b") == 0
    assert far.net_capacitance_f["a"] > 1 * FF  # the wire still has its substrate capacitance
    assert far.substrate == extract.SUBSTRATE  # no taps: KPEX's SUB node, renamed to ours


@needs_kpex
def test_line_over_grounded_metal1_couples_to_it_not_to_the_substrate(tmp_path: Path) -> None:
    wire = {"metal2": [(0, 0, 40, 1)]}
    label = {"metal2_label": [("a", 1, 0.5)]}
    alone = pex.extract_pex(layout(tmp_path / "alone.gds", wire, label))
    plate = {"metal1": [(-5, -5, 45, 6)]}
    gnd = {"metal1_label": [("gnd", -4, 0)]}
    over = pex.extract_pex(layout(tmp_path / "over.gds", wire | plate, label | gnd))
    to_sub_alone = between(alone, "a", alone.substrate)
    to_sub_over = between(over, "a", over.substrate)
    assert between(over, "a", "gnd") > 1.5 * to_sub_alone  # metal1 is 1.15 µm below, not 2.4
    assert over.net_capacitance_f["a"] > alone.net_capacitance_f["a"]
    assert to_sub_over < 0.2 * to_sub_alone  # the plate shields the substrate
    assert between(alone, "a", "gnd") == 0


def sakurai_tamaru_f(width: float, length: float) -> float:
    """Capacitance of a wire over a ground plane, F: plate plus fringe, Sakurai & Tamaru
    (IEEE Trans. Electron Devices 30, 1983), C/L = eps (1.15 W/H + 2.80 (T/H)^0.222).

    Stack of KPEX's gf180mcuD tech description: metal1 1.23 µm above the substrate, 0.55 µm
    thick, oxide k = 4.0 (its 50 nm k = 7 nitride over poly is left out).
    """
    height, thickness, eps = 1.23, 0.55, 4.0 * 8.854e-12  # µm, µm, F/m
    return eps * (1.15 * width / height + 2.80 * (thickness / height) ** 0.222) * length * 1e-6


@needs_kpex
@pytest.mark.parametrize("width", [0.5, 2.0, 10.0])
def test_isolated_wire_matches_plate_plus_fringe_estimate(tmp_path: Path, width: float) -> None:
    # 15 %: the formula fits 2-D field solutions within ~6 % for these W/H and T/H; KPEX's
    # 2.5D engine uses per-layer area/fringe coefficients, measured here 6-9 % below it
    gds = layout(tmp_path / f"wire_{width}.gds", {"metal1": [(0, 0, 100, width)]},
                 {"metal1_label": [("a", 1, width / 2)]})
    result = pex.extract_pex(gds)
    expected = sakurai_tamaru_f(width, 100)
    assert result.net_capacitance_f["a"] == pytest.approx(expected, rel=0.15, abs=0)
    # the plate term alone misses by more than the tolerance, even for a 10 µm wide wire
    plate = 4.0 * 8.854e-12 * width * 100e-12 / 1.23e-6
    assert result.net_capacitance_f["a"] != pytest.approx(plate, rel=0.15, abs=0)


@needs_kpex
def test_widened_wire_raises_its_nets_capacitance(tmp_path: Path) -> None:
    narrow, wide = pair(tmp_path, 40, 1.0), pair(tmp_path, 40, 1.0, width_a=2.0)
    extra_area = 40 * 1.5 * 29e-18  # the widening's area over the substrate, ~29 aF/µm²
    assert wide.net_capacitance_f["a"] - narrow.net_capacitance_f["a"] > 0.8 * extra_area
    # the neighbour sees the same edge at the same space: its capacitance barely moves
    b = narrow.net_capacitance_f["b"]
    assert wide.net_capacitance_f["b"] == pytest.approx(b, rel=0.05, abs=0)


@needs_kpex
def test_netlist_has_caps_inside_the_subckt(tmp_path: Path) -> None:
    result = pair(tmp_path, 20, 0.5)
    body = result.spice.split(".SUBCKT TOP a b SUBSTRATE\n")[1].split(".ENDS TOP")[0]
    cards = re.findall(r"^C\S+ (\S+) (\S+) (\S+)$", body, re.MULTILINE)
    assert {frozenset(c[:2]) for c in cards} == {
        frozenset(p) for p in (("a", "b"), ("a", "SUBSTRATE"), ("b", "SUBSTRATE"))}
    assert result.net_capacitance_f["a"] == pytest.approx(
        between(result, "a", "b") + between(result, "a", "SUBSTRATE"), rel=1e-9, abs=0)
    assert "Cext" not in result.devices and result.runtime_s >= result.kpex_s > 0
    out = tmp_path / "pair_pex.spice"
    pex.write(result, out)
    assert out.read_text() == result.spice
    report = json.loads(result.to_json())
    assert report["capacitors"] == 3 and report["substrate"] == "SUBSTRATE"
    assert report["net_capacitance_f"]["b"] == result.net_capacitance_f["b"]


def test_missing_kpex_names_the_setup_script(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pex.ENV, str(tmp_path / "no-kpex"))
    with pytest.raises(ToolMissingError, match=r"scripts/setup_pex\.sh"):
        pex.extract_pex(tmp_path / "any.gds")


def test_kpex_setting_naming_a_missing_file_is_an_error(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = executable(tmp_path / "bin" / "kpex")
    monkeypatch.setenv("PATH", str(fake.parent))  # a wrong setting is not passed over
    monkeypatch.setenv(pex.ENV, str(tmp_path / "no-kpex"))
    with pytest.raises(BmruError, match=rf"{pex.ENV}=\S+no-kpex is not an executable file: "
                                        rf"set {pex.ENV} to a kpex program"):
        pex.kpex_program()


def test_kpex_is_the_setting_else_the_one_on_path(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    on_path = executable(tmp_path / "bin" / "kpex")
    monkeypatch.setenv("PATH", str(on_path.parent))
    monkeypatch.delenv(pex.ENV, raising=False)
    assert pex.kpex_program() == on_path
    named = executable(tmp_path / "venv" / "kpex")
    monkeypatch.setenv(pex.ENV, str(named))
    assert pex.kpex_program() == named
    monkeypatch.delenv(pex.ENV)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissingError, match=f"{pex.ENV} is not set and no kpex is on PATH"):
        pex.kpex_program()


def executable(path: Path) -> Path:
    """A do-nothing program at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@needs_kpex
def test_kpex_failure_carries_its_reason(tmp_path: Path) -> None:
    # one unlabelled wire without devices: no net survives, so KPEX finds no layers
    gds = layout(tmp_path / "empty.gds", {"metal1": [(0, 0, 5, 0.5)]}, {})
    with pytest.raises(BmruError, match="kpex failed .*No extracted layers found"):
        pex.extract_pex(gds)


@pytest.fixture(scope="module")
def tile(kpex: Path, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[Path, pex.PexResult, TileBuild]:
    from bmru_pdk.layouts.tile import tile_files
    from bmru_pdk.model.checkpoint import random_checkpoint

    tmp = tmp_path_factory.mktemp("pex_tile")
    build = tile_files(random_checkpoint(d=2, path=tmp / "d2.safetensors"), tmp / "tile")
    return build.outdir, pex.extract_pex(build.outdir / "tile.gds"), build


@needs_kpex
def test_tile_summing_and_decision_nets_have_capacitance(tile: tuple) -> None:
    from bmru_pdk.analyses.testbench import net_names

    outdir, result, _ = tile
    wanted = [f"s{layer}_{u}" for layer in (0, 1) for u in (0, 1)]
    wanted += [f"u{layer}_{u}.cell.v0" for layer in (0, 1) for u in (0, 1)]
    names = net_names(result.devices, (outdir / "tile.spice").read_text(), wanted)
    for schematic, net in names.items():
        caps = [c for c in result.capacitors if net in (c.a, c.b)]
        assert caps and result.net_capacitance_f[net] > 1 * FF, schematic
        assert result.net_capacitance_f[net] < 1e3 * FF, schematic  # not a whole supply
    assert result.substrate == "vss"  # the p-taps' net
    assert result.net_capacitance_f["vdd"] > max(result.net_capacitance_f[n]
                                                 for n in names.values())
    assert result.device_counts == extract.extract(outdir / "tile.gds").devices


@needs_kpex
def test_tile_pex_netlist_runs_in_ngspice(tile: tuple) -> None:
    from bmru_pdk.circuits.mapping import load_tables
    from bmru_pdk.spice import simulate

    _, result, _ = tile
    header = re.search(r"^\.SUBCKT (\S+) ([^\n]*(?:\n\+[^\n]*)*)", result.spice, re.MULTILINE)
    top, pins = header.group(1), header.group(2).replace("\n+", " ").split()
    tables = load_tables()
    sources = ["Vdd vdd 0 1.8", "Vss vss 0 0", f"Iref vdd iref {tables.i_ref_spice}"]
    # no input: every cell OFF, the one operating point (with inputs a cell in its hold band
    # is bistable, and the solver may settle either netlist on either state)
    sources += [f"I{p} vdd {p} 0" for p in pins if re.fullmatch(r"x\d+", p)]
    sources += [f"V{p} {p} 0 {tables.v_sum}" for p in pins if re.fullmatch(r"y\d+", p)]
    ops = []
    for netlist in (result.spice, result.devices):
        deck = "\n".join([netlist, f"Xt {' '.join(pins)} {top}", *sources, ".op"])
        ops.append(simulate(deck, title="pex tile").vectors)
    # capacitors are open at DC: every node sits where the device netlist puts it
    nodes = [k for k in ops[1] if "#" not in k and k in ops[0]]
    assert len(nodes) > 50
    worst = max(nodes, key=lambda k: abs(ops[0][k][0] - ops[1][k][0]))
    assert abs(ops[0][worst][0] - ops[1][worst][0]) < 1e-6, (worst, ops[0][worst], ops[1][worst])
    assert 0.1 < ops[0]["iref"][0] < 1.7  # the reference diode conducts


@needs_kpex
def test_parasitic_capacitors_slow_a_transient(tile: tuple) -> None:
    """The compare's netlist with the parasitic capacitors (what ``--pex`` simulates) lags the
    device-only one after a step, and settles to the same voltage.

    Why the bounds: when the current into an input diode's node drops (2 -> 0.05 units), the
    node discharges through the diode itself, whose current falls exponentially with the
    node voltage: at a given time after the step the voltage sits higher by about
    n Vt ln(1 + C_p / C_dev), C_p the extracted capacitance of the net, C_dev the gate
    capacitance the devices already carry (the diode, its copies and the weight gates on
    x0, some 100-200 fF in weak inversion). With C_p ~ 7 fF that is about 2 mV, against the
    solver's tolerance of 0.3 mV (reltol 1e-3 of 0.3 V): the lag must exceed 1 mV in the
    first 0.2 ms. Capacitors are open at DC: by the end of the 20 ms frame both sit at the
    diode's voltage for 0.05 units (within 0.5 mV).
    """
    from bmru_pdk.analyses import simulation
    from bmru_pdk.analyses import testbench as tb
    from bmru_pdk.spice import simulate

    outdir, result, build = tile
    devices = extract.extract(outdir / "tile.gds")
    frame_s = 20e-3
    x = np.zeros((2, build.checkpoint.meta.architecture.n_in))
    x[:, 0] = (2.0, 0.05)
    assert result.net_capacitance_f["x0"] > 1 * FF
    waves = []
    for parasitics in (None, result):
        netlist = simulation.sim_tile(build, devices, pex=parasitics).netlist
        r = simulate(tb.deck(netlist, x, frame_s, ["x0"]), title="pex transient")
        t = frame_s + np.linspace(0.0, frame_s, 2001)
        waves.append(np.interp(t, r["time"], r["v(x0)"]))
    early = slice(0, 21)  # the first 0.2 ms after the step
    assert np.max(waves[1][early] - waves[0][early]) > 1e-3
    assert abs(waves[1][-1] - waves[0][-1]) < 0.5e-3


def test_window_shares_count_each_capacitance_once() -> None:
    share = pex_windows.share
    assert share("c0", "c1") == share("c3", "SUB") == share("VSUBS", "c2") == 1.0
    # found again by the window whose core holds the other piece
    assert share("c0", "h1") == share("h1", "c0") == 0.5
    assert share("c1", "h1") == 0.0  # one net: its core and halo pieces
    assert share("h0", "h1") == share("h0", "SUB") == 0.0  # other windows' own


def test_window_cores_tile_the_layout_and_keep_transistors_whole() -> None:
    ly = kdb.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("TOP")
    top.shapes(ly.layer(*GDS["metal1"])).insert(kdb.Box(0, 0, 450_000, 230_000))
    # a transistor (poly across an active area) on the cut at x = 225 µm, one beside it
    comp, poly = ly.layer(*GDS["comp"]), ly.layer(*GDS["poly2"])
    for x in (223_000, 300_000):
        top.shapes(comp).insert(kdb.Box(x, 50_000, x + 6_000, 54_000))
        top.shapes(poly).insert(kdb.Box(x + 2_000, 49_000, x + 4_000, 55_000))
    cores = pex_windows.cores(ly, top, 230_000)
    assert len(cores) == 2
    union = kdb.Region()
    for core in cores:
        union += core
    assert union.merged().area() == top.bbox().area() == sum(c.area() for c in cores)
    cut = kdb.Region(kdb.Box(223_000, 50_000, 229_000, 54_000))
    assert sum(not (core & cut).is_empty() for core in cores) == 1  # whole in one core


def test_window_cache_takes_a_previous_runs_windows_but_not_its_links(tmp_path: Path) -> None:
    run = pex_windows.WindowRun([("C1", "c0", "SUB", 1e-15)], 2.0, "0.6.12")
    old = pex_windows.WindowCache(tmp_path / "old", "kpex 1")
    old.put("a", run)
    # a link in the previous folder, where window b's file would be, to a's (valid) file
    a_file = next((tmp_path / "old").glob("*.json"))
    (tmp_path / "old" / old._name("b")).symlink_to(a_file)
    new = pex_windows.WindowCache(tmp_path / "new", "kpex 1", previous=tmp_path / "old")
    assert new.get("a").cards == run.cards and new.get("b") is None
    assert [f.name for f in (tmp_path / "new").iterdir()] == [a_file.name]  # a kept, b not
    # another kpex's results are not taken
    assert pex_windows.WindowCache(tmp_path / "x", "kpex 2", tmp_path / "old").get("a") is None


def total_capacitance_agrees(whole: pex.PexResult, windowed: pex.PexResult) -> list[str]:
    """The nets whose total capacitance differs between a whole and a windowed extraction by
    more than 1 % (or 0.01 fF, for nets below 1 fF).

    Why 1 %: a window differs from the whole layout only where its core is cut out: a 2 nm
    gap along the cut (no cut passes through a transistor), whose two new edges face each
    other, one net, and shield their own fringe. The metal the gap takes is 2 nm of a wire
    crossing the cut, against the >= 8 µm of it inside a core; what the new edges add is at
    most the fringe of a 2 nm edge strip. Both are below 0.1 % of the net; KPEX's stand-in
    for a non-rectangular neighbour (its bounding box), which a cut can change, is the
    remaining difference, given ten times that.
    """
    nets = set(whole.net_capacitance_f) | set(windowed.net_capacitance_f)
    return [n for n in nets
            if abs(windowed.net_capacitance_f.get(n, 0.0) - whole.net_capacitance_f.get(n, 0.0))
            > max(0.01 * whole.net_capacitance_f.get(n, 0.0), 0.01 * FF)]


@pytest.fixture(scope="module")
def windowed(tile: tuple, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[pex.PexResult, Path]:
    """The d = 2 tile in four windows of 150 µm, two kpex runs at a time, and its cache."""
    cache = tmp_path_factory.mktemp("pex_cache")
    gds = tile[0] / "tile.gds"
    return pex.extract_pex(gds, windows=True, window_um=150, workers=2, cache=cache), cache


@needs_kpex
def test_tile_in_windows_agrees_with_the_whole_tile(tile: tuple, windowed: tuple,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    outdir, whole, _ = tile
    gds = outdir / "tile.gds"
    assert whole.windows == 1  # a small tile is extracted whole by default
    windowed, tmp_path = windowed
    assert windowed.windows == windowed.kpex_runs == 4
    assert windowed.devices == whole.devices and windowed.substrate == whole.substrate
    assert total_capacitance_agrees(whole, windowed) == []
    assert windowed.total_f == pytest.approx(whole.total_f, rel=1e-3)

    # the same layout again: every window from the cache, the same capacitors
    again = pex.extract_pex(gds, windows=True, window_um=150, cache=tmp_path)
    assert again.kpex_runs == 0 and again.capacitors == windowed.capacitors
    # a wire added in the middle of one core, far from the others' halos: one kpex run;
    # a damaged cache file is data that fails to read: its window runs again
    changed = tmp_path / "changed.gds"
    ly = kdb.Layout()
    ly.read(str(gds))
    top = next(c for c in ly.top_cells() if not c.name.startswith("$$$"))
    box = top.dbbox()
    x, y = box.left + box.width() / 4, box.bottom + box.height() / 4
    top.shapes(ly.layer(*GDS["metal4"])).insert(kdb.DBox(x, y, x + 20, y + 2))
    top.shapes(ly.layer(*GDS["metal4_label"])).insert(kdb.DText("extra", x + 1, y + 1))
    ly.write(str(changed))
    sorted(tmp_path.glob("*.json"))[0].write_text("{not json")
    rerun = pex.extract_pex(changed, windows=True, window_um=150, cache=tmp_path)
    assert 1 <= rerun.kpex_runs <= 2 and rerun.net_capacitance_f["extra"] > 1 * FF

    # a halo narrower than KPEX's reach loses the couplings across the cuts
    monkeypatch.setattr(pex_windows, "HALO_UM", 1.0)
    assert total_capacitance_agrees(whole, pex.extract_pex(gds, windows=True, window_um=150,
                                                           workers=2))
    monkeypatch.undo()
    # a coupling across a cut counted whole by both windows is counted twice
    shared = pex_windows.share
    monkeypatch.setattr(pex_windows, "share", lambda a, b: min(1.0, 2 * shared(a, b)))
    assert total_capacitance_agrees(whole, pex.extract_pex(gds, windows=True, window_um=150,
                                                           workers=2))


@needs_kpex
def test_windows_on_a_dask_cluster_equal_the_local_run(tile: tuple, windowed: tuple) -> None:
    from distributed import LocalCluster

    from bmru_pdk.executor import make_executor

    local, _ = windowed
    with (LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                       dashboard_address=None) as cluster,
          make_executor(cluster.scheduler_address) as ex):
        remote = pex.extract_pex(tile[0] / "tile.gds", windows=True, window_um=150,
                                 executor=ex)
        # a window kpex cannot read fails on its worker with the window named
        bad = pex.WindowJob(gzip.compress(b"not an LVS database"), "the window at x 0..1 µm",
                            None)
        with pytest.raises(BmruError, match=r"kpex failed .*\(the window at x 0\.\.1 µm\)"):
            ex.map(pex.run_window, [bad])
    # the same windows, the same kpex: the same capacitors, each counted once
    assert remote.windows == remote.kpex_runs == 4
    assert remote.capacitors == local.capacitors


# A held layer's clock swings the whole 1.8 V supply at each frame edge. Its kick on a net,
# C * 1.8 V, against the charge one 0.2 nA unit carries in a 10 ms frame (2 pC), stays under
# 0.1 % (the frame thresholds resolve about 0.15 %, characterize.frame_thresholds) for C
# under 1 fF.
CLOCK_KICK_F = 1 * FF


def _unguarded(pins: list) -> list:
    """``pins`` with the clock declared an input: routed as any pin, with no guard tracks."""
    return [p.model_copy(update={"role": "input"}) if p.role == "clock" else p for p in pins]


@needs_kpex
@pytest.mark.parametrize("guarded", [True, False])
def test_a_held_units_clock_couples_into_its_guards_not_its_signals(
        tmp_path: Path, guarded: bool) -> None:
    """The held unit's clock track runs between ground's and the supply's, so it couples
    into no pin net of the unit (its output, summing node, bias lines) more than
    ``CLOCK_KICK_F``. The negative: the same unit with its clock pin declared an input is
    routed as any pin, beside the output's track."""
    from bmru_pdk.cells.library import circuit_layout
    from bmru_pdk.circuits import builders

    circuit = builders.bmru_unit(builders.UnitParams(
        cell=builders.CellParams(r_thresh=2.0, r_width=0.8, r_gain=1.0, held=True), r_bias=1.0))
    if not guarded:
        circuit = circuit.model_copy(update={"name": "unguarded",
                                             "pins": _unguarded(circuit.pins)})
    gds = tmp_path / "unit.gds"
    circuit_layout(circuit).write_gds(gds)
    result = pex.extract_pex(gds)
    signals = [p.name for p in circuit.pins if p.role not in ("supply", "ground", "clock")
               and p.name != "clk"]
    assert "out" in signals
    kick = {n: between(result, "clk", n) for n in signals}
    if guarded:
        assert max(kick.values()) < CLOCK_KICK_F, kick
        assert between(result, "clk", "vss") > 10 * CLOCK_KICK_F  # the guards take it
        assert between(result, "clk", "vdd") > 10 * CLOCK_KICK_F
    else:
        assert kick["out"] > CLOCK_KICK_F, kick


@needs_kpex
@pytest.mark.parametrize("guarded", [True, False])
def test_a_held_tiles_clock_couples_into_no_tile_net(
        tmp_path: Path, guarded: bool) -> None:
    """In a held tile the clock's channel track runs between ground's and the supply's, and
    its riser between theirs: it couples into no net carrying a current between the tile's
    parts (layer-0 outputs, summing nodes, inputs, the reference) more than
    ``CLOCK_KICK_F``. (A bias voltage line is held by its diode over the gates of a whole
    row of mirrors, hundreds of fF: the same kick moves it far less.) The negative: the same
    tile with its clock pin declared an input is floorplanned as any pin, its riser in the
    first free lane, beside a layer-0 output's."""
    import dataclasses

    from bmru_pdk.analyses.testbench import net_names
    from bmru_pdk.layouts.tile import build_tile, tile_layout, write_gds
    from bmru_pdk.model.checkpoint import held_copy, open_checkpoint, random_checkpoint

    raw = random_checkpoint(n_in=5, d=3, layers=2, seed=2, path=tmp_path / "raw.safetensors")
    build = build_tile(open_checkpoint(held_copy(raw, tmp_path / "held.safetensors")))
    design = build.design
    if not guarded:
        design = dataclasses.replace(design, name="unguarded", pins=_unguarded(design.pins))
    gds = write_gds(tile_layout(design), tmp_path / "tile.gds")
    result = pex.extract_pex(gds)
    currents = sorted({part.nets[p.name] for row in design.rows for part in row
                       for p in part.circuit.pins if p.signal == "current"})
    names = net_names(result.devices, design.circuit.to_spice(), currents)
    kick = {n: between(result, "clk", names[n]) for n in currents}
    assert {"s0_0", "h0_1", "iref", "x0"} <= set(kick)
    if guarded:
        assert max(kick.values()) < CLOCK_KICK_F, kick
    else:
        assert max(kick.values()) > CLOCK_KICK_F, kick
