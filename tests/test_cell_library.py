"""Circuit cell library, layout side, driven by the PDK's cell registry (``PDK.cells``).

The cases are every registered cell at its defaults (named as registered; a cell that needs
arguments takes them from :data:`ARGUMENTS`, or is left out in :data:`SKIP` with the reason)
and :data:`VARIANTS`, further parameter sets of the library cells (extreme widths,
placements, folded and banded crossbars). A newly registered cell joins every check below
without an edit here:

- DRC-clean under the official deck: one deck run over every case side by side (the deck's
  ~15 s fixed cost is paid once) and a seeded cell, asserted per case from the cell each
  marker is reported in; the seeded cell's markers must land in it and nowhere else (the
  tile, :data:`NO_DRC_BATCH`, has its own batch in ``tests/test_tile.py``);
- where the cell records a schematic (``info["spice"]``): ports are its pins, LVS-clean
  against it;
- unchanged: its GDS regression reference in ``tests/data/cell_hashes.json``.

Beyond: LVS catches wrong wiring and widths, and extracted netlists simulate like the
schematics (mirror ratios, ReLU, the hysteresis loop).

GDS regression
--------------
Each case's reference is the SHA-256 of its GDS as ``bmru tile`` writes it
(:func:`bmru_pdk.layouts.tile.write_gds`: its own cell tree only, cells and layers in name
order, no timestamps, no gdsfactory metadata), so drift that stays DRC- and LVS-clean is
still seen, down to a cell renamed or a shape added inside existing metal. Beside it, per
layer, a digest of the flattened, merged polygons and the labels: a mismatch names the layers
whose geometry changed, or says the geometry is the same on every layer (names, hierarchy or
shape order changed). After an intended change, regenerate, review the diff and commit it
with the change::

    python scripts/update_cell_references.py           # rewrite tests/data/cell_hashes.json
    python scripts/update_cell_references.py --check   # compare only, naming changed cells

The script builds every case twice in one process (caches cleared between) and refuses to
write references of a build that is not deterministic.

One reference for every environment: the bytes are identical under gdsfactory 9.39.3 /
kfactory 2.4.7 (``.venv``), gdsfactory 9.40.2 / kfactory 2.4.7 (``.venv-gf180``) and
gdsfactory 9.51.0 / kfactory 3.0.4 (``.venv-py312``), all on klayout 0.30.12 (the cell names
and the canonical writer do not depend on them). Should a new version change the bytes but
not the geometry, the message says so (same geometry on every layer); then key the
references by version or drop the byte hash for the per-layer digests.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gdsfactory as gf
import klayout.db as kdb
import pytest

from bmru_pdk import PDK
from bmru_pdk.cells import library, side_by_side
from bmru_pdk.circuits import NFET, PFET, UNIT, Circuit, Pin, UnitDevice, builders, mapping
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.layers import LABELS, LAYER
from bmru_pdk.layouts.tile import write_gds
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.spice import simulate
from bmru_pdk.verification import drc, lvs
from bmru_pdk.verification.extract import extract

pytestmark = pytest.mark.usefixtures("pdk")

ROOT = Path(__file__).resolve().parents[1]
REFERENCES = ROOT / "tests" / "data" / "cell_hashes.json"
SCRIPT = ROOT / "scripts" / "update_cell_references.py"
REGENERATE = ("if the change is intended: python scripts/update_cell_references.py, review the "
              "diff of tests/data/cell_hashes.json and commit it with the change")

# Registered cells that cannot be built at their defaults, and the arguments they get here
ARGUMENTS: dict[str, dict[str, Any]] = {
    "bmru_tile": {"checkpoint": str(bundled_checkpoint())},  # the shipped network, ~5 s
}
# Registered cells that are not cells of the library, and why
SKIP: dict[str, str] = {
    "side_by_side": "places the components it is given: no layout of its own (it holds the "
                    "DRC batches of these tests)",
}
# Cases left out of the DRC batch, and why
NO_DRC_BATCH: dict[str, str] = {
    "bmru_tile": "tests/test_tile.py runs the deck over every tile; the bundled one alone "
                 "would add ~75 s to this batch",
}
STACKED_RATIOS = (0.5, 1.75, 2 + 1 / 3 + 1 / 7)
# name -> (registered cell, parameters): what the defaults leave out, the extreme widths
VARIANTS: dict[str, tuple[str, dict]] = {
    # the unit grid's ends: a stack of 8 unit gates (1/8) .. 16 whole units
    "nmirror_range": ("current_mirror", {"kind": "nfet", "ratios": (0.125, 0.25, 16.0)}),
    "pmirror": ("current_mirror", {"kind": "pfet", "ratios": (0.2, 0.5, 3.0)}),
    # series stacks alone and beside whole units: 1/2, 1 + 1/2 + 1/4, 2 + 1/3 + 1/7
    "nmirror_stacks": ("current_mirror", {"kind": "nfet", "ratios": STACKED_RATIOS}),
    "pmirror_stacks": ("current_mirror", {"kind": "pfet", "ratios": STACKED_RATIOS}),
    # each stack dealt out as a piece of its own, like a finger
    "nmirror_stacks_interdigitated": ("current_mirror", {
        "kind": "nfet", "ratios": STACKED_RATIOS, "placement": "interdigitated"}),
    "nmirror_interdigitated": ("current_mirror", {"kind": "nfet", "ratios": (1.0, 2.0, 3.0),
                                                  "placement": "interdigitated", "dummies": True}),
    "pmirror_interdigitated": ("current_mirror", {"kind": "pfet", "ratios": (0.5, 2.0),
                                                  "placement": "interdigitated"}),
    # the diode in the middle, outputs in mirrored pairs, odd units (a finger, a stack) beside
    "nmirror_centroid": ("current_mirror", {"kind": "nfet", "ratios": (1.0, 2.0, 0.5, 4.0),
                                            "placement": "centroid", "dummies": True}),
    "nmirror_dummies": ("current_mirror", {"kind": "nfet", "ratios": (0.25, 4.0),
                                           "dummies": True}),
    "bias_outputs": ("bias_generator", {"outputs": (("ib", 2.0, "source"), ("is", 0.5, "sink"))}),
    "cell_small": ("bmru_cell", {"r_thresh": 0.5, "r_width": 0.125, "r_gain": 0.5}),
    "cell_sub_unit": ("bmru_cell", {"r_thresh": 1.5, "r_width": 0.75, "r_gain": 1.0}),
    "cell_large": ("bmru_cell", {"r_thresh": 8.0, "r_width": 6.4, "r_gain": 8.0}),
    "weights": ("weight_array", {"ratios": ((1.0, -0.5), (0.0, 3.2))}),
    "weights_sub_unit": ("weight_array", {"ratios": ((0.5, -0.75), (1.25, -2.0))}),
    "weights_3x3": ("weight_array", {"ratios": ((0.3, -0.125, 2.0), (-16.0, 0.2, 0.0),
                                                (1.0, 1.0, -1.0))}),
    # no positive weight (no P block, vdd only a pin) and a rail with no weight at all
    "weights_sinks_only": ("weight_array", {"ratios": ((-0.5, 0.0, -1.0), (0.0, 0.0, -2.0))}),
    # 20 inputs on 2 rails: folded into sub-arrays of 16 and 4 rows
    "weights_folded": ("weight_array", {"ratios": tuple(
        (round((0.4 + 0.05 * i) * (-1) ** i, 3), round((0.3 + 0.04 * i) * (-1) ** (i // 2), 3))
        for i in range(20))}),
    # 3 inputs on 70 rails: two bands (64 + 6 rails), the second's gate lines on risers
    "weights_banded": ("weight_array", {"ratios": tuple(
        tuple(round((0.3 + 0.01 * ((5 * i + j) % 40)) * (-1) ** (i + j // 3), 3)
              for j in range(70)) for i in range(3))}),
    "unit_source_bias": ("bmru_unit", {"r_bias": 0.7}),
    # the drain-matching cascodes: each PMOS cascode in an Nwell of its own, NW.2b apart
    "unit_cascodes": ("bmru_unit", {"r_bias": 1.0, "diode_gates": 4, "cascodes": True}),
    # the NMOS in a row under the PMOS, the cascodes' own Nwells in the upper row, on the rail
    "unit_cascodes_two_rows": ("bmru_unit", {"r_thresh": 5.0, "r_width": 4.0, "r_gain": 1.5,
                                             "r_bias": 3.75, "diode_gates": 4,
                                             "cascodes": True, "source_rail": True,
                                             "rows": 2}),
    "bias_cascodes": ("bias_generator", {"outputs": (("ib", 2.0, "source"), ("is", 0.5, "sink")),
                                         "diode_gates": 4, "cascodes": True}),
    # the crossbar's cascodes: a third input column (the copy's), a row of PMOS cascodes above
    # each row of PMOS weights; on the source rail, whose line must pass the copy's cascode
    "weights_cascodes": ("weight_array", {"ratios": ((0.25, -0.5, 1.0), (-1.25, 3.0, 0.0)),
                                          "diode_gates": 4, "cascodes": True}),
    "weights_cascodes_rail": ("weight_array", {"ratios": ((0.25, -0.5, 1.0), (-1.25, 3.0, 0.0)),
                                               "diode_gates": 4, "cascodes": True,
                                               "source_rail": True}),
    # 18 inputs on 2 rails, cascoded: folded into sub-arrays of 16 and 2 rows, each input's
    # row of weights and row of cascodes in the same sub-array
    "weights_cascodes_folded": ("weight_array", {"ratios": tuple(
        (0.25 * (1 + i % 5) * (-1) ** i, 0.25 * (2 + i % 3) * (-1) ** (i // 2))
        for i in range(18)), "diode_gates": 4, "cascodes": True}),
    # the rail generator with a last row of one replica block and a shorter sink stack
    "railgen_small": ("rail_generator", {"replicas": 40, "follower_bias": 4, "sink": 0.25,
                                         "cap": 2}),
    "unit_sink_bias": ("bmru_unit", {"r_thresh": 4.0, "r_width": 1.0, "r_gain": 2.0,
                                     "r_bias": -0.7}),
    # the NMOS source rail (pin vsn): whole units, stacks, both signs, a sunk bias
    "nmirror_rail": ("current_mirror", {"kind": "nfet", "ratios": STACKED_RATIOS,
                                        "source_rail": True}),
    "bias_rail": ("bias_generator", {"outputs": (("ib", 2.0, "source"), ("is", 0.5, "sink")),
                                     "source_rail": True}),
    "weights_rail": ("weight_array", {"ratios": ((0.3, -0.125, 2.0), (-16.0, 0.2, 0.0),
                                                 (1.0, 1.0, -1.0)), "source_rail": True}),
    "unit_rail": ("bmru_unit", {"r_thresh": 1.5, "r_width": 0.75, "r_gain": 1.0,
                                "r_bias": -0.7, "source_rail": True}),
    # whole gates of 4-gate diodes (k of 4), every diode and unit copy 4 gates, no stack
    "nmirror_4gate": ("current_mirror", {"kind": "nfet", "ratios": (0.25, 0.75, 2.0),
                                         "diode_gates": 4}),
    "weights_4gate": ("weight_array", {"ratios": ((0.25, -0.5), (-1.25, 3.0)),
                                       "diode_gates": 4}),
    "unit_4gate": ("bmru_unit", {"r_thresh": 2.5, "r_width": 1.0, "r_gain": 1.25,
                                 "r_bias": 0.75, "diode_gates": 4}),
    # the keeper of the output switch's tail node (PMOS MK, gate v0)
    "cell_keeper_4gate": ("bmru_cell", {"r_thresh": 2.5, "r_width": 1.0, "r_gain": 2.0,
                                        "diode_gates": 4, "keeper": True}),
}
# pins a case has no port for: a weight array's rail without any weight
NO_PORT = {"weights_sinks_only": {"s1"}}

REGISTERED = sorted(set(PDK.cells) - set(SKIP))
CASES: dict[str, tuple[str, dict]] = {
    **{name: (name, ARGUMENTS.get(name, {})) for name in REGISTERED}, **VARIANTS}


def build_cases() -> dict[str, gf.Component]:
    """Every case, built (the PDK active)."""
    return {name: gf.get_component(cell, **kw) for name, (cell, kw) in CASES.items()}


# ---- GDS fingerprints ----------------------------------------------------------------------

_LAYER_NAMES = {"{}/{}".format(*tuple(m)): m.name for m in LAYER}


def layer_digests(c: gf.Component) -> dict[str, str]:
    """Per layer ``"layer/datatype"``: a digest of ``c``'s flattened, merged polygons and its
    labels, independent of cell names, hierarchy and shape order."""
    layout = c.kcl.layout
    out = {}
    for index in layout.layer_indexes():
        polygons = kdb.Region(c.kdb_cell.begin_shapes_rec(index)).merged()
        texts = kdb.Texts(c.kdb_cell.begin_shapes_rec(index))
        if polygons.is_empty() and texts.is_empty():
            continue
        text = "\n".join(sorted(map(str, polygons.each())) + sorted(map(str, texts.each())))
        info = layout.get_info(index)
        out[f"{info.layer}/{info.datatype}"] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return dict(sorted(out.items()))


def fingerprint(c: gf.Component) -> dict[str, Any]:
    """SHA-256 of ``c``'s GDS as ``bmru tile`` writes it, and its :func:`layer_digests`."""
    with tempfile.TemporaryDirectory() as tmp:
        data = write_gds(c, Path(tmp) / "cell.gds").read_bytes()
    return {"sha256": hashlib.sha256(data).hexdigest(), "layers": layer_digests(c)}


def differences(got: dict[str, dict], want: dict[str, dict]) -> list[str]:
    """One line per case whose fingerprint in ``got`` is not the one in ``want``."""
    out = []
    for name in sorted(got.keys() | want.keys()):
        g, w = got.get(name), want.get(name)
        if w is None:
            out.append(f"{name}: no reference (a new cell or case?)")
        elif g is None:
            out.append(f"{name}: a reference but no such case (removed or renamed?)")
        elif g != w:
            layers = [f"{_LAYER_NAMES.get(k, 'layer')} ({k})"
                      for k in sorted(g["layers"].keys() | w["layers"].keys())
                      if g["layers"].get(k) != w["layers"].get(k)]
            out.append(f"{name}: GDS changed: " + (
                f"geometry or labels on {', '.join(layers)}" if layers else
                "same geometry on every layer (cell names, hierarchy or shape order changed)"))
    return out


def read_references(path: Path = REFERENCES) -> dict[str, dict]:
    return json.loads(path.read_text())["cells"]


# ---- helpers -------------------------------------------------------------------------------

def _write(c: gf.Component, directory: Path) -> Path:
    path = directory / f"{c.name}.gds"
    c.write_gds(path, with_metadata=False)
    return path


def _tree(c: gf.Component) -> set[str]:
    """Names of ``c`` and every cell below it."""
    layout = c.kcl.layout
    return {c.name} | {layout.cell(i).name for i in c.kdb_cell.called_cells()}


@dataclass(frozen=True)
class Extracted:
    """An extracted netlist standing in for its circuit in the characterisation benches."""

    name: str
    pins: list[Pin]
    spice: str

    def to_spice(self) -> str:
        return self.spice


def extracted(c: gf.Component, circuit: Circuit, directory: Path) -> Extracted:
    """The extracted netlist of ``c`` as ``.subckt <circuit name> <circuit pins in order>``."""
    text = re.sub(r"\n\+", " ", extract(_write(c, directory)).spice)
    head = re.search(r"^\.SUBCKT \S+ (.*)$", text, re.M | re.I)
    assert head, text
    # extraction drops a pin no device uses (a unit's vbp without a sourcing bias)
    assert set(head.group(1).split()) <= {p.name for p in circuit.pins}
    pins = " ".join(p.name for p in circuit.pins)
    return Extracted(circuit.name, circuit.pins,
                     f"{text[:head.start()]}.SUBCKT {circuit.name} {pins}{text[head.end():]}")


@pytest.fixture(scope="module")
def built() -> dict[str, gf.Component]:
    return build_cases()


@pytest.fixture(scope="module")
def fingerprints(built: dict[str, gf.Component]) -> dict[str, dict]:
    return {name: fingerprint(c) for name, c in built.items()}


@pytest.fixture(scope="module")
def seeded(built: dict[str, gf.Component]) -> gf.Component:
    """A ReLU node with a 0.2 µm wide metal1 strip (M1.1: 0.23 µm) 1 µm west of it."""
    c = gf.Component("seeded_relu_node")
    relu = c << built["relu_node"]
    c.add_polygon([(relu.xmin - 1.2, relu.ymin), (relu.xmin - 1.0, relu.ymin),
                   (relu.xmin - 1.0, relu.ymin + 2.0), (relu.xmin - 1.2, relu.ymin + 2.0)],
                  layer=LAYER.metal1)
    return c


@pytest.fixture(scope="module")
def drc_batch(built: dict[str, gf.Component], seeded: gf.Component,
              tmp_path_factory: pytest.TempPathFactory) -> drc.DrcResult:
    """One run of the official deck over every case side by side, and the seeded cell."""
    directory = tmp_path_factory.mktemp("drc")
    cases = tuple(c for name, c in built.items() if name not in NO_DRC_BATCH)
    gds = _write(side_by_side((*cases, seeded), spacing=3.0), directory)
    return drc.run(gds, directory / "cells.lyrdb")


def _markers(c: gf.Component, result: drc.DrcResult) -> dict[str, dict[str, int]]:
    """Rule counts of ``result`` in ``c``'s cell and every cell below it."""
    cells = _tree(c)
    return {cell: n for cell, n in result.by_cell().items() if cell in cells}


# ---- the registry --------------------------------------------------------------------------

def test_registry_cells_are_cases_or_skipped_with_a_reason() -> None:
    """A registered cell that needs arguments must get them here (or a reason to skip it);
    the lists name only registered cells and the variants no registered one."""
    for name, cell in PDK.cells.items():
        required = [p.name for p in inspect.signature(cell).parameters.values()
                    if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        assert not required or name in ARGUMENTS or name in SKIP, (
            f"{name} needs {required}: add its arguments to ARGUMENTS (or a reason to SKIP)")
    assert set(ARGUMENTS) | set(SKIP) <= set(PDK.cells) and set(NO_DRC_BATCH) <= set(CASES)
    assert not set(VARIANTS) & set(PDK.cells)
    assert {cell for cell, _ in VARIANTS.values()} <= set(REGISTERED)


# ---- ports, DRC, LVS -----------------------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
def test_ports_are_the_circuit_pins(built: dict[str, gf.Component], name: str) -> None:
    """Ports named and ordered as the pins, on metal3, each labelled for LVS."""
    c = built[name]
    if "spice" not in c.info:
        pytest.skip(f"{name} records no schematic")
    pins = [p for p in re.findall(r"^\.subckt \S+ (.*)$", library.schematic(c), re.M)[-1].split()
            if p not in NO_PORT.get(name, set())]
    assert [p.name for p in c.ports] == pins
    assert {p.layer_info.name for p in c.ports} == {"metal3"}
    labels = c.kcl.layer(*LABELS[LAYER.metal3])
    texts = [s.text_string for s in c.kdb_cell.shapes(labels).each() if s.is_text()]
    assert sorted(texts) == sorted(pins)


@pytest.mark.parametrize("name", CASES)
def test_drc_clean(built: dict[str, gf.Component], drc_batch: drc.DrcResult, name: str) -> None:
    """No marker of the batch's deck run in the case's cell or any cell below it."""
    if name in NO_DRC_BATCH:
        pytest.skip(NO_DRC_BATCH[name])
    assert not _markers(built[name], drc_batch)


def test_drc_batch_markers_only_in_the_seeded_cell(built: dict[str, gf.Component],
                                                   seeded: gf.Component,
                                                   drc_batch: drc.DrcResult) -> None:
    """The seeded cell's violation is found and attributed to it alone: nothing between the
    cases (the batch's top cell), nothing in the ReLU node it holds."""
    assert set(drc_batch.by_cell()) == {seeded.name}, drc_batch.by_cell()
    assert "M1.1" in _markers(seeded, drc_batch)[seeded.name], drc_batch.summary()
    assert not _markers(built["relu_node"], drc_batch)


@pytest.mark.parametrize("name", CASES)
def test_lvs_against_own_schematic(built: dict[str, gf.Component], name: str,
                                   tmp_path: Path) -> None:
    c = built[name]
    if "spice" not in c.info:
        pytest.skip(f"{name} records no schematic")
    result = lvs.run(_write(c, tmp_path), library.schematic(c))
    assert result.match, result.summary()


def test_lvs_catches_weights_drawn_on_the_wrong_rails(tmp_path: Path) -> None:
    """The same widths, but input 0's two PMOS weights swapped between the rails: only the
    crossbar's wiring (gate lines, xp risers, column lines) tells the two apart."""
    drawn = library.weight_array(((0.5, 1.0), (1.0, -0.5)))
    meant = builders.weight_array(builders.WeightArrayParams(ratios=[[1.0, 0.5], [1.0, -0.5]]))
    assert lvs.run(_write(drawn, tmp_path), library.schematic(drawn)).match
    result = lvs.run(_write(drawn, tmp_path), meant.to_spice())
    assert not result.match, result.summary()


@pytest.mark.parametrize("array", [False, True])
def test_lvs_tells_a_drawn_source_rail_from_sources_on_vss(tmp_path: Path, array: bool) -> None:
    """The same devices with the NMOS sources on vsn or on vss: only the source wiring (a
    crossbar's rail line, a routed cell's source track) differs, and each drawing matches
    its own schematic only (vsn shorted to vss, or left off, would pass both or neither)."""
    if array:
        draw, ratios = library.weight_array, ((1.0, -0.5), (0.0, -2.0))
        schematic = [builders.weight_array(builders.WeightArrayParams(
            ratios=[list(r) for r in ratios], source_rail=rail)).to_spice()
            for rail in (False, True)]
        kwargs: dict[str, Any] = {"ratios": ratios}
    else:
        draw, kwargs = library.bmru_unit, {"r_bias": -0.5}
        cell = builders.CellParams(r_thresh=2.0, r_width=0.8, r_gain=1.0)
        schematic = [builders.bmru_unit(builders.UnitParams(
            cell=cell.model_copy(update={"source_rail": rail}), r_bias=-0.5)).to_spice()
            for rail in (False, True)]
    for rail in (False, True):
        gds = _write(draw(**kwargs, source_rail=rail), tmp_path)
        assert lvs.run(gds, schematic[rail]).match
        result = lvs.run(gds, schematic[not rail])
        assert not result.match, result.summary()


def test_lvs_catches_a_mirror_drawn_with_a_wrong_width(tmp_path: Path) -> None:
    drawn = library.current_mirror("nfet", (1.0, 2.0))
    meant = builders.current_mirror(builders.MirrorParams(kind=NFET, ratios=[1.0, 3.0]))
    result = lvs.run(_write(drawn, tmp_path), meant.to_spice())
    assert not result.match
    assert any(m.kind == "parameter" and "W 8 in the layout vs 12 in the schematic"
               in m.message for m in result.mismatches), result.summary()


def test_lvs_catches_a_mirror_drawn_with_a_wrong_stack(tmp_path: Path) -> None:
    """A series stack of 3 unit gates drawn where the schematic has one of 2: the same gate,
    another stack length."""
    drawn = library.current_mirror("nfet", (1 / 3,))
    meant = builders.current_mirror(builders.MirrorParams(kind=NFET, ratios=[0.5]))
    assert meant.devices[1].stacks == (2,) and "XMO0_st0g2 " in library.schematic(drawn)
    assert lvs.run(_write(drawn, tmp_path), library.schematic(drawn)).match
    result = lvs.run(_write(drawn, tmp_path), meant.to_spice())
    assert not result.match
    assert any(m.kind == "device" for m in result.mismatches), result.summary()


def test_lvs_catches_a_rail_generator_drawn_without_its_capacitor(tmp_path: Path) -> None:
    """The generator's capacitor ``MCX`` is a PMOS with drain, source and bulk on ``vdd``: a
    schematic that leaves it out must not match the drawing that has it."""
    drawn = library.rail_generator(replicas=32, cap=2)
    meant = builders.rail_generator(builders.RailGeneratorParams(replicas=32, cap=2))
    without = meant.model_copy(update={"devices": [d for d in meant.devices if d.name != "MCX"]})
    assert lvs.run(_write(drawn, tmp_path), meant.to_spice()).match
    result = lvs.run(_write(drawn, tmp_path), without.to_spice())
    assert not result.match, result.summary()


def test_lvs_catches_a_cascode_drawn_in_the_shared_well(tmp_path: Path) -> None:
    """A PMOS cascode's bulk is its own source, in an Nwell of its own: drawn in the shared
    ``vdd`` well, its bulk is shorted to ``vdd`` and the drawing must not match."""
    unit = UnitDevice(w=4.0, l=4.0, diode_gates=4, cascodes=True)
    meant = builders.bmru_cell(builders.CellParams(r_thresh=2.5, r_width=1.0, r_gain=1.0,
                                                   unit=unit))
    shared = meant.model_copy(update={"devices": [
        d.model_copy(update={"b": "vdd"}) if d.kind == PFET and d.b != "vdd" else d
        for d in meant.devices]})
    drawn = _write(library.circuit_layout(shared), tmp_path)
    assert lvs.run(drawn, shared.to_spice()).match
    assert not lvs.run(drawn, meant.to_spice()).match


def test_lvs_tells_the_crossbar_cascodes_lines_and_wells_apart(tmp_path: Path) -> None:
    """The cascoded crossbar matches its schematic (the variants above); the same schematic
    with the PMOS cascodes' bulks on ``vdd`` (drawn in the shared well), with the copies'
    cascodes on the input's gate line instead of ``vbnc``, or without any cascode must
    not."""
    ratios = ((0.25, -0.5, 1.0), (-1.25, 3.0, 0.0))
    drawn = _write(library.weight_array(ratios, diode_gates=4, cascodes=True), tmp_path)
    meant = builders.weight_array(builders.WeightArrayParams(
        ratios=[list(r) for r in ratios],
        unit=UnitDevice(w=4.0, l=4.0, diode_gates=4, cascodes=True)))
    line = {"vbnc": "x0"}
    wrong = {
        "shared well": [d.model_copy(update={"b": "vdd"}) if d.kind == PFET and d.b != "vdd"
                        else d for d in meant.devices],
        "gate line": [d.model_copy(update={"g": line.get(d.g, d.g)}) if d.name == "MXC0C"
                      else d for d in meant.devices],
    }
    assert lvs.run(drawn, meant.to_spice()).match
    for devices in wrong.values():
        assert not lvs.run(drawn, meant.model_copy(update={"devices": devices}).to_spice()).match
    plain = builders.weight_array(builders.WeightArrayParams(
        ratios=[list(r) for r in ratios], unit=UnitDevice(w=4.0, l=4.0, diode_gates=4)))
    assert not lvs.run(drawn, plain.model_copy(update={"name": meant.name}).to_spice()).match


def _centroids_from_diode(placement: str) -> dict[str, float]:
    """Each output's centroid along the row, µm from the diode's, of a mirror with outputs of
    one, two and four whole units and a stack of two, placed ``placement``."""
    from bmru_pdk.cells.placer import place_row

    circuit = builders.current_mirror(builders.MirrorParams(kind=NFET, ratios=[1, 2, 0.5, 4]))
    xs: dict[str, list[float]] = {}
    for p in place_row(gf.Component(), circuit.devices, placement):  # type: ignore[arg-type]
        xs.setdefault(p.device.name.split("_")[0], []).append((p.box[0] + p.box[2]) / 2)
    diode = xs.pop("MD")[0]  # one finger
    return {k: sum(v) / len(v) - diode for k, v in xs.items()}


def test_centroid_placement_centres_the_even_outputs_on_the_diode() -> None:
    """A linear gradient moves an output by its centroid's distance from its diode's
    (benchmarks/bench_placement.py). Placed ``centroid``, the outputs of two and four units
    sit in mirrored pairs about the diode: their centroids are off it only by half the
    width difference of the odd units beside the diode (a finger on one side, a stack on
    the other), well within one device pitch (~8 µm); the odd units stay within a pitch or
    two. Grouped, the four-unit output sits at the row's end, several pitches away, and the
    round-robin deal leaves it there too (the negatives)."""
    pitch = 8.0
    centred = _centroids_from_diode("centroid")
    assert abs(centred["MO1"]) < pitch / 2 and abs(centred["MO3"]) < pitch / 2
    assert abs(centred["MO0"]) < pitch and abs(centred["MO2"]) < 2 * pitch
    for other in ("grouped", "interdigitated"):
        assert abs(_centroids_from_diode(other)["MO3"]) > 4 * pitch


# ---- GDS regression ------------------------------------------------------------------------

@pytest.mark.parametrize("name", CASES)
def test_gds_matches_reference(fingerprints: dict[str, dict], name: str) -> None:
    want = read_references().get(name)
    problems = differences({name: fingerprints[name]}, {name: want} if want else {})
    assert not problems, f"{problems[0]}; {REGENERATE}"


def test_references_name_every_case() -> None:
    assert sorted(read_references()) == sorted(CASES), REGENERATE


def test_fingerprints_stable_across_builds_and_processes(fingerprints: dict[str, dict],
                                                         tmp_path: Path) -> None:
    """A fresh process (the update script) builds every case twice, caches cleared between,
    and finds the same fingerprints both times and as this process."""
    out = tmp_path / "cell_hashes.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--output", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert differences(read_references(out), fingerprints) == []


def test_one_shape_changes_the_fingerprint() -> None:
    """A shape added to a cell changes its hash: a new metal1 strip changes metal1's geometry
    alone; a copy of one of its metal2 shapes changes the bytes, not the geometry."""
    c = PDK.cells["relu_node"].__wrapped__()  # a build of its own, outside the cell cache
    before = fingerprint(c)
    m2 = c.kdb_cell.shapes(c.kcl.layer(*LAYER.metal2))
    m2.insert(next(iter(m2.each())))
    hidden = fingerprint(c)
    c.add_polygon([(c.xmin - 2, c.ymin), (c.xmin - 1, c.ymin), (c.xmin - 1, c.ymin + 1),
                   (c.xmin - 2, c.ymin + 1)], layer=LAYER.metal1)
    added = fingerprint(c)
    assert len({before["sha256"], hidden["sha256"], added["sha256"]}) == 3
    assert differences({"relu_node": hidden}, {"relu_node": before}) == [
        "relu_node: GDS changed: same geometry on every layer (cell names, hierarchy or shape "
        "order changed)"]
    assert differences({"relu_node": added}, {"relu_node": hidden}) == [
        "relu_node: GDS changed: geometry or labels on metal1 (34/0)"]
    assert differences({"relu_node": added}, {}) == [
        "relu_node: no reference (a new cell or case?)"]
    assert differences({}, {"relu_node": before}) == [
        "relu_node: a reference but no such case (removed or renamed?)"]


# ---- extracted netlists in ngspice ---------------------------------------------------------

@pytest.mark.parametrize("kind", [NFET, PFET])
def test_extracted_mirror_ratio_within_3_percent(kind: str, tmp_path: Path) -> None:
    """Extracted vs schematic gain of each output, 0.3-10 units of input (0.09-3 nA at the
    0.3 nA unit; at 0.1 unit a pA offset puts the ratio-4 output 3-4 % high)."""
    ratios = [0.5, 1.0, 4.0]
    c = library.current_mirror("nfet" if kind == NFET else "pfet", tuple(ratios))
    ex = extracted(c, builders.current_mirror(builders.MirrorParams(kind=kind, ratios=ratios)),
                   tmp_path)
    for i_in in (0.3, 1.0, 10.0):
        r = simulate(ch.mirror_bench(ex, kind, i_in))
        gains = [ch.to_units(r[f"i(vo{k})"][0]) / i_in for k in range(len(ratios))]
        assert gains == pytest.approx(list(ch.measure_mirror(kind, ratios, i_in)), rel=0.03)


def _relu_bench(relu: Extracted, i_pos: float, i_neg: float) -> str:
    """``i_pos`` nA sourced into the summing rail, ``i_neg`` sunk by a unit NMOS mirror; the
    copy ``c`` feeds a unit PMOS diode (a cell's input) through ``vc``."""
    unit = f"nfet_03v3 w={UNIT.w}u l={UNIT.l}u"
    return (f"{relu.to_spice()}xr sum c vss {relu.name}\niin vdd sum {i_pos}n\n"
            f"ineg vdd nd {i_neg}n\nxnd nd nd vss vss {unit}\nxns sum nd vss vss {unit}\n"
            f"{ch.diode_load('c', 'c', PFET, UNIT)}vdd vdd 0 {ch.VDD}\nvss vss 0 0\n.op\n")


def test_extracted_relu_is_max_of_sum_and_zero(tmp_path: Path) -> None:
    """max(sum, 0) within 3 % across 0.1-10 nA, after the copy's characterised gain (the
    mapping divides it out); a negative sum gives 0 (below 5 pA)."""
    ex = extracted(library.relu_node(), builders.relu_node(builders.ReluParams()), tmp_path)
    copy_gain = mapping.copy_gain()
    for i_pos, i_neg in ((0.1, 0), (0.3, 0), (1, 0), (3, 0), (10, 0), (3, 1), (1, 3), (0.1, 1)):
        out = simulate(_relu_bench(ex, i_pos, i_neg))["i(vc)"][0] * 1e9 / copy_gain
        if i_pos > i_neg:
            assert out == pytest.approx(i_pos - i_neg, rel=0.03), (i_pos, i_neg, out)
        else:  # only the copy's off-state leakage, a few pA
            assert abs(out) < 0.005, (i_pos, i_neg, out)


def test_extracted_cell_hysteresis_matches_the_model(tmp_path: Path) -> None:
    """Learned (alpha, beta_lo, delta) -> ratios -> layout -> extracted netlist -> ngspice:
    switch-on at beta_hi, switch-off at beta_lo, output alpha, each within 5 %."""
    alpha, beta_lo, delta = 1.5, 1.2, 0.8
    p = mapping.cell_params(alpha, beta_lo, delta)
    c = library.bmru_cell(p.r_thresh, p.r_width, p.r_gain)
    got = ch.measure_cell(extracted(c, builders.bmru_cell(p), tmp_path), 4.0)
    assert got is not None, "the extracted cell did not switch ON and back OFF"
    assert got.beta_hi == pytest.approx(beta_lo + delta, rel=0.05)
    assert got.beta_lo == pytest.approx(beta_lo, rel=0.05)
    assert got.alpha == pytest.approx(alpha, rel=0.05)


def _overshoot(cell: Circuit, unit: UnitDevice) -> float:
    """How far ``cell``'s output peaks above its settled value after its input steps from 0
    to 3 units (of its settled value)."""
    peak, settled = ch.measure_switch_on(cell, unit=unit)
    return peak / settled - 1


def test_extracted_cell_with_keeper_switches_on_without_overshoot(tmp_path: Path) -> None:
    """Without its keeper the output switch's tail node sits on ground while the cell is OFF,
    and switching on lifts it (~1 V, tens of fF) with charge drawn through the output's
    diode: the output peaks a third above alpha. With it the node is held up and falls to
    its ON voltage through I_gain's own mirror: what reaches the diode is only the switch's
    gate-drain coupling of the decision node's swing (~1 fC), so the peak stays within a tenth
    of alpha. While ON the keeper is off (its gate at the decision node, near VDD): beta_hi
    and alpha stay the cell's within the hysteresis test's 5 %. Falling, the decision node
    sags through the lower end of the hold band before it flips, and the keeper takes I_gain
    from the switch once it sags below VDD - |Vtp|, where the switch alone would carry it
    down to its tail's floor: the output turns off sooner, so beta_lo read at the output does
    not fall (a keeper cell needs tables of its own)."""
    unit = UNIT.model_copy(update={"diode_gates": 4})
    p = builders.CellParams(r_thresh=2.5, r_width=1.0, r_gain=2.0, unit=unit)
    kept = p.model_copy(update={"keeper": True})
    layout = library.bmru_cell(2.5, 1.0, 2.0, diode_gates=4, keeper=True)
    with_keeper = extracted(layout, builders.bmru_cell(kept), tmp_path)
    without = extracted(library.bmru_cell(2.5, 1.0, 2.0, diode_gates=4),
                        builders.bmru_cell(p), tmp_path)
    assert _overshoot(with_keeper, unit) < 0.1
    assert _overshoot(without, unit) > 0.2
    got, ref = (ch.measure_cell(c, 5.0, unit=unit) for c in (with_keeper, without))
    assert got is not None and ref is not None
    for name in ("beta_hi", "alpha"):
        assert getattr(got, name) == pytest.approx(getattr(ref, name), rel=0.05), name
    assert got.beta_lo >= ref.beta_lo


def test_extracted_cell_without_feedback_has_no_hysteresis(tmp_path: Path) -> None:
    cell = builders.bmru_cell(builders.CellParams(r_thresh=2.0, r_width=0.8, r_gain=1.0))
    cut = cell.model_copy(update={"devices": [d for d in cell.devices if d.name != "M9"]})
    got = ch.measure_cell(extracted(library.circuit_layout(cut), cut, tmp_path), 4.0)
    assert got is not None, "the extracted cell without M9 did not switch at all"
    loop = (got.beta_hi - got.beta_lo) / got.beta_hi
    assert loop < 0.02, f"without its feedback transistor M9 the cell kept a {loop:.1%} loop"


@pytest.mark.parametrize("b", [-0.5, 0.5])
def test_extracted_unit_switches_at_the_biased_thresholds(b: float, tmp_path: Path) -> None:
    """A unit (ReLU, bias b, cell) from its learned values, on its extracted netlist: the
    input switches it ON at beta_hi - b and OFF at beta_lo - b, output alpha, each within
    5 % of the values its drawn ratios realise (what the model runs: the grid moves the
    learned ones, and on a threshold less a bias by more than 5 % of the difference). The bias
    shows: the OFF threshold is not the unbiased cell's (the negative)."""
    alpha, beta_lo, delta = 1.5, 1.2, 0.8
    t = mapping.load_tables()
    p = mapping.unit_params(alpha, beta_lo, delta, b, t)
    hi, lo, a = mapping.cell_values(p.cell, mapping.copy_gain(beta_lo + delta, t), t)
    b_real = t.i_ref_na * mapping.realised_gain(p.r_bias, t,
                                                i_node=mapping.band_middle(beta_lo, delta))
    c = library.bmru_unit(p.cell.r_thresh, p.cell.r_width, p.cell.r_gain, p.r_bias)
    got = ch.measure_cell(extracted(c, builders.bmru_unit(p), tmp_path), 5.0)
    assert got is not None, "the extracted unit did not switch ON and back OFF"
    assert got.beta_hi == pytest.approx(hi - b_real, rel=0.05)
    assert got.beta_lo == pytest.approx(lo - b_real, rel=0.05)
    assert got.alpha == pytest.approx(a, rel=0.05)
    assert got.beta_lo != pytest.approx(lo, rel=0.05)
