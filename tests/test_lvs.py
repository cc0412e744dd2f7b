"""LVS and extraction on KLayout's engine: matches, and each kind of error named correctly."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import klayout.db as kdb
import pytest

from bmru_pdk.cells import nfet, pfet, side_by_side
from bmru_pdk.circuits import PFET, Device
from bmru_pdk.errors import BmruError
from bmru_pdk.layers import LAYER
from bmru_pdk.verification import extract, lvs
from bmru_pdk.verification.channel_groups import split_channels

BMRU = [sys.executable, "-m", "bmru_pdk"]
SD = 0.8  # source/drain column width (µm)
GDS = extract.GDS


def _box(cell: kdb.Cell, layer: str, *xy: float) -> None:
    cell.shapes(cell.layout().layer(*GDS[layer])).insert(kdb.DBox(*xy))


def _text(cell: kdb.Cell, layer: str, text: str, x: float, y: float) -> None:
    cell.shapes(cell.layout().layer(*GDS[layer])).insert(kdb.DText(text, x, y))


def fet(cell: kdb.Cell, kind: str = "n", w: float = 2.0, length: float = 0.5, fingers: int = 1,
        labels: str = "dgsb", drain_strap: bool = True, gate_contact: bool = True) -> None:
    """A transistor with a bulk tie: sources strapped on metal1, drains on metal2."""
    pitch = SD + length
    x1 = fingers * pitch + SD
    _box(cell, "comp", 0, 0, x1, w)
    _box(cell, f"{kind}plus", -0.2, -0.2, x1 + 0.2, w + 0.2)
    for f in range(fingers):
        _box(cell, "poly2", SD + f * pitch, -0.3, SD + f * pitch + length, w + 1.0)
    _box(cell, "poly2", SD, w + 0.6, SD + (fingers - 1) * pitch + length, w + 1.0)
    if gate_contact:
        _box(cell, "contact", SD, w + 0.69, SD + 0.22, w + 0.91)
    _box(cell, "metal1", SD - 0.1, w + 0.6, SD + 0.4, w + 1.2)
    for k in range(fingers + 1):
        cx = k * pitch + SD / 2
        _box(cell, "contact", cx - 0.11, w / 2 - 0.11, cx + 0.11, w / 2 + 0.11)
        _box(cell, "metal1", cx - 0.2, 0 if k % 2 else -1.0, cx + 0.2, w)
        if k % 2:
            _box(cell, "via1", cx - 0.13, w / 2 - 0.13, cx + 0.13, w / 2 + 0.13)
    _box(cell, "metal1", SD / 2 - 0.2, -1.0, fingers * pitch + SD / 2 + 0.2, -0.6)
    last_drain = (fingers - (fingers + 1) % 2) * pitch + SD / 2
    if not drain_strap:  # metal2 over the first drain column only
        last_drain = pitch + SD / 2
    _box(cell, "metal2", pitch + SD / 2 - 0.2, w / 2 - 0.2, last_drain + 0.2, w / 2 + 0.2)
    tap = -1.5
    _box(cell, "comp", tap, 0, tap + 0.6, w)
    _box(cell, "pplus" if kind == "n" else "nplus", tap - 0.2, -0.2, tap + 0.8, w + 0.2)
    _box(cell, "contact", tap + 0.19, w / 2 - 0.11, tap + 0.41, w / 2 + 0.11)
    _box(cell, "metal1", tap + 0.1, w / 2 - 0.3, tap + 0.5, w / 2 + 0.3)
    if kind == "p":
        _box(cell, "nwell", tap - 0.5, -0.7, x1 + 0.7, w + 0.7)
    d, g, s, b = labels
    _text(cell, "metal2_label", d, pitch + SD / 2, w / 2)
    _text(cell, "metal1_label", g, SD + 0.1, w + 0.9)
    _text(cell, "metal1_label", s, SD / 2, -0.8)
    _text(cell, "metal1_label", b, tap + 0.3, w / 2)


def gds(tmp_path: Path, draw: Callable[[kdb.Cell], None], name: str = "TOP") -> Path:
    layout = kdb.Layout()
    layout.dbu = 0.001
    draw(layout.create_cell(name))
    path = tmp_path / f"{name}.gds"
    layout.write(str(path))
    return path


def schematic(model: str = "nfet_03v3", w: str = "2u", line: str = "XM1 d g s b") -> str:
    return f".subckt TOP d g s b\n{line} {model} w={w} l=0.5u\n.ends\n"


def test_gds_numbers_are_the_pdk_layers() -> None:
    assert all(GDS[name] == tuple(getattr(LAYER, name)) for name in GDS)


pytestmark = pytest.mark.usefixtures("pdk")


def cell_gds(tmp_path: Path, component: object, labels: list[dict[str, str]] | None = None
             ) -> tuple[Path, str]:
    """Write a project cell; with ``labels``, copy its instances' labels, renamed, to the top."""
    path = tmp_path / f"{component.name}.gds"
    tmp_path.mkdir(exist_ok=True)
    component.write_gds(path, with_metadata=False)
    if labels:
        layout = kdb.Layout()
        layout.read(str(path))
        top = layout.top_cell()
        instances = sorted(top.each_inst(), key=lambda i: i.bbox().left)
        for inst, names in zip(instances, labels, strict=True):
            for layer in ("metal1_label", "metal2_label"):
                li = layout.layer(*GDS[layer])
                for shape in inst.cell.shapes(li).each():
                    if shape.is_text() and shape.text_string in names:
                        top.shapes(li).insert(kdb.Text(names[shape.text_string],
                                                       inst.trans * shape.text_trans))
        layout.write(str(path))
    return path, component.name


def test_extracted_netlist_names_gf180_devices(tmp_path: Path) -> None:
    path, name = cell_gds(tmp_path, nfet(w=2, l=0.5))
    n = extract.extract(path)
    assert n.devices == {"nfet_03v3": 1} and n.runtime_s > 0
    assert f".SUBCKT {name} b d g s\n" in n.spice
    assert re.search(r"\nXM1 d g s b nfet_03v3 w=2u l=0.5u as=[\d.]+p ad=[\d.]+p ps=[\d.]+u "
                     r"pd=[\d.]+u\n", n.spice)
    p = extract.extract(cell_gds(tmp_path, pfet(w=1, l=0.28, fingers=2))[0])
    assert p.devices == {"pfet_03v3": 2}  # fingers stay apart for simulation
    assert re.search(r"\nXM2 s g d b pfet_03v3 w=1u l=0.28u ", p.spice)  # bulk: the n-tapped well


def test_matches_single_and_combined_fingers(tmp_path: Path) -> None:
    path, name = cell_gds(tmp_path, nfet(w=2, l=0.5))
    single = lvs.run(path, schematic(w="2.01u").replace("TOP", name))  # within tolerance
    assert single.match, single.summary()
    assert single.runtime_s > 0
    path, name = cell_gds(tmp_path, nfet(w=1, l=0.5, fingers=3))
    fingers = lvs.run(path, schematic(w="3u").replace("TOP", name))
    assert fingers.match and fingers.devices == {"nfet_03v3": 1}, fingers.summary()
    # an M line with a multiplier: 2 x 2 fingers of 1 µm
    path, name = cell_gds(tmp_path, pfet(w=1, l=0.5, fingers=2, multiplier=2))
    pmos = lvs.run(path, schematic("pfet_03v3", "2u m=2", "M1 d g s b").replace("TOP", name))
    assert pmos.match, pmos.summary()


def test_series_stacks_are_gates_on_inner_nets(tmp_path: Path) -> None:
    """Each gate of a series stack is extracted as a device of its own, on unlabelled inner
    diffusion nets, and matches the schematic's one-finger cards chained through inner nets;
    a stack of another length is a mismatch."""
    path, name = cell_gds(tmp_path, pfet(w=4, l=4, fingers=2, stacks=(2, 3)))
    assert extract.extract(path).devices == {"pfet_03v3": 2 + 2 + 3}

    def sch(stacks: tuple[int, ...]) -> str:
        d = Device(name="M1", kind=PFET, w=4, l=4, fingers=2, stacks=stacks, d="d", g="g",
                   s="s", b="b")
        return f".subckt {name} d g s b\n{d.spice()}\n.ends\n"

    result = lvs.run(path, sch((2, 3)))
    assert result.match, result.summary()
    assert not lvs.run(path, sch((2, 4))).match
    assert not lvs.run(path, sch((5,))).match


def test_hierarchy_labels_and_substrate(tmp_path: Path) -> None:
    pair = side_by_side([nfet(w=2, l=0.5), pfet(w=2, l=0.5)])
    sch = (f".subckt {pair.name} dn gn sn dp gp sp sub well\n"
           "XN dn gn sn sub nfet_03v3 w=2u l=0.5u\nXP dp gp sp well pfet_03v3 w=2u l=0.5u\n"
           ".ends\n")
    labels = [{"d": "dn", "g": "gn", "s": "sn", "b": "sub"},
              {"d": "dp", "g": "gp", "s": "sp", "b": "well"}]
    path = cell_gds(tmp_path, pair, labels)[0]
    result = lvs.run(path, sch)
    assert result.match and result.devices == {"nfet_03v3": 1, "pfet_03v3": 1}, result.summary()
    # one name on nets the top cell does not wire together is an open, not a join
    labels[1].update(g="gn", s="sn")
    result = lvs.run(cell_gds(tmp_path / "open", pair, labels)[0], sch)
    assert [(m.kind, m.message.split(" in cell")[0]) for m in result.mismatches[:2]] == [
        ("open", "label 'gn' sits on 2 unconnected nets"),
        ("open", "label 'sn' sits on 2 unconnected nets")]


def _short(cell: kdb.Cell) -> None:
    fet(cell)
    _box(cell, "metal1", 0.2, 1.9, 0.9, 2.9)  # source column to gate pad


def _hidden_open(cell: kdb.Cell) -> None:
    fet(cell, w=1.0, fingers=3, drain_strap=False)
    _box(cell, "metal2", 4.1, 0.3, 4.5, 0.7)  # the other drain column, labelled like the first
    _text(cell, "metal2_label", "d", 4.3, 0.5)


@pytest.mark.parametrize(("draw", "sch", "kind", "message"), [
    (_short, schematic(), "short", "labels 'g', 's' are on one net in cell TOP"),
    (lambda c: fet(c, gate_contact=False), schematic(), "open",
     "label 'g' is on a shape that reaches no device"),
    (fet, schematic(w="1.5u"), "parameter",
     "nfet_03v3 $1 (schematic M1): W 2 in the layout vs 1.5 in the schematic"),
    (fet, schematic("pfet_03v3"), "device",
     "is a nfet_03v3 where the schematic has M1 (pfet_03v3 W=2 L=0.5), a pfet_03v3"),
    (lambda c: fet(c, labels="gdsb"), schematic(), "pin",
     "layout pin 'd' is where the schematic has pin 'G' (swapped or wrong labels)"),
    (_hidden_open, schematic(w="3u"), "open", "label 'd' sits on 2 unconnected nets in cell TOP"),
], ids=["short", "open", "width", "type", "swapped_pins", "open_under_equal_labels"])
def test_errors_are_named(tmp_path: Path, draw: Callable[[kdb.Cell], None], sch: str,
                          kind: str, message: str) -> None:
    result = lvs.run(gds(tmp_path, draw), sch)
    assert not result.match
    first = result.mismatches[0]
    assert (first.kind, message in first.message) == (kind, True), result.summary()


def test_swapped_pins_name_both(tmp_path: Path) -> None:
    result = lvs.run(gds(tmp_path, lambda c: fet(c, labels="gdsb")), schematic())
    assert [m.message.split(" is ")[0] for m in result.mismatches] == [
        "layout pin 'd'", "layout pin 'g'"]


def test_reports_lvsdb_json_and_cli(tmp_path: Path) -> None:
    layout, sch = gds(tmp_path, fet), tmp_path / "top.spice"
    sch.write_text(".include models.ngspice\n" + schematic(w="1.5u") + ".control\nop\n.endc\n")
    db, report = tmp_path / "top.lvsdb", tmp_path / "top.json"
    proc = subprocess.run([*BMRU, "lvs", str(layout), str(sch), "--lvsdb", str(db),
                           "--json", str(report)], capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "W 2 in the layout vs 1.5 in the schematic" in proc.stdout
    data = json.loads(report.read_text())
    assert data["match"] is False and data["mismatches"][0]["kind"] == "parameter"
    assert data["runtime_s"] >= 0
    reread = kdb.LayoutVsSchematic()
    reread.read(str(db))
    assert reread.xref() is not None

    sch.write_text(schematic())
    assert subprocess.run([*BMRU, "lvs", str(layout), str(sch)]).returncode == 0
    out = tmp_path / "top_extracted.spice"
    assert subprocess.run([*BMRU, "extract", str(layout), "-o", str(out)]).returncode == 0
    assert " nfet_03v3 w=2u " in out.read_text()


def test_bad_inputs_are_one_sentence(tmp_path: Path) -> None:
    layout = gds(tmp_path, fet)
    with pytest.raises(BmruError, match="does not exist"):
        lvs.run(tmp_path / "nope.gds", schematic())
    with pytest.raises(BmruError, match="calls subcircuit NFET_3V3, which it does not define"):
        lvs.run(layout, schematic("nfet_3v3"))
    with pytest.raises(BmruError, match="cannot read the schematic netlist"):
        lvs.run(layout, "XM1 d g s b nfet_03v3 w=(2u\n")
    two = kdb.Layout()
    two.create_cell("A")
    two.create_cell("B")
    two.write(str(tmp_path / "two.gds"))
    with pytest.raises(BmruError, match=r"exactly one top cell \(found: A, B\)"):
        extract.extract(tmp_path / "two.gds")


def test_extracted_netlist_simulates_like_the_schematic(tmp_path: Path) -> None:
    from bmru_pdk import spice

    path, name = cell_gds(tmp_path, nfet(w=2, l=0.5, fingers=3))
    bias = "vd d 0 0.9\nvg g 0 0.37\nvs s 0 0\nvb b 0 0\n"  # ~1 nA: weak inversion
    layout = spice.simulate(f"{extract.extract(path).spice}X1 b d g s {name}\n{bias}.op")
    sch = spice.simulate(f"{bias}XM1 d g s b nfet_03v3 w=2u l=0.5u m=3\n.op")
    assert 0.5e-9 < -sch["i(vd)"][0] < 2e-9
    assert layout["i(vd)"][0] == pytest.approx(sch["i(vd)"][0], rel=0.02)


# A 2 x 3 crossbar as builders.weight_array draws one: input diodes, a PMOS row fed through
# its copy (xp0), NMOS weights, one of them a series stack (inner net n00).
CROSSBAR = """
.subckt xb x0 x1 s0 s1 s2 vdd vss
MXN0 x0 x0 vss vss nfet_03v3 w=4u l=4u
MXN1 x1 x1 vss vss nfet_03v3 w=4u l=4u
MXC0 xp0 x0 vss vss nfet_03v3 w=4u l=4u
MXP0 xp0 xp0 vdd vdd pfet_03v3 w=4u l=4u
MW00a s0 x0 n00 vss nfet_03v3 w=4u l=4u
MW00b n00 x0 vss vss nfet_03v3 w=4u l=4u
MW10 s0 x1 vss vss nfet_03v3 w=4u l=4u
MW01 s1 xp0 vdd vdd pfet_03v3 w=4u l=4u
MW11 s1 x1 vss vss nfet_03v3 w=4u l=4u
MW12 s2 x1 vss vss nfet_03v3 w=8u l=4u
.ends xb
.subckt top x0 x1 s0 s1 s2 vdd vss
X1 x0 x1 s0 s1 s2 vdd vss xb
.ends top
"""


def _split(text: str) -> tuple[kdb.Netlist, list[str]]:
    netlist = lvs.read_schematic(text)
    groups = split_channels(netlist, netlist.circuit_by_name("xb"))
    return netlist, [g.name for g in groups]


def _same(a: kdb.Netlist, b: kdb.Netlist) -> bool:
    return kdb.NetlistComparer().compare(a, b)


def test_crossbar_splits_into_weights_and_rows() -> None:
    """A group per NMOS weight (rail, input), per rail's PMOS weights and per input mirror;
    the PMOS row's gate line joins groups, so it becomes a pin named after what drives it;
    the regrouped circuit is the same circuit (flat) and matches another regrouped copy."""
    netlist, groups = _split(CROSSBAR)
    assert groups == ["xb.-.x0", "xb.s0.x0", "xb.s0.x1", "xb.s1.-", "xb.s1.x1", "xb.s2.x1",
                      "xb.x0.x0", "xb.x1.x1"]
    circuits = {c.name: c for c in netlist.each_circuit()}
    assert sorted(p.name() for p in circuits["xb.s1.-"].each_pin()) == ["s1", "vdd", "~x0"]
    assert len(list(circuits["xb.s0.x0"].each_device())) == 2  # the stack
    flat, before = netlist.dup(), lvs.read_schematic(CROSSBAR)
    flat.flatten()
    before.flatten()
    assert _same(flat, before)
    assert _same(netlist, _split(CROSSBAR)[0])


def test_split_crossbar_catches_a_wrong_weight() -> None:
    """Negative case: a weight of another width regroups alike and fails its rail's compare."""
    wrong = CROSSBAR.replace(
        "MW12 s2 x1 vss vss nfet_03v3 w=8u", "MW12 s2 x1 vss vss nfet_03v3 w=4u"
    )
    netlist, groups = _split(wrong)
    assert groups == _split(CROSSBAR)[1]
    assert not _same(netlist, _split(CROSSBAR)[0])


def test_split_crossbar_catches_a_short_between_rails() -> None:
    """Negative case: a stack's inner net shorted to another rail's weight joins the two
    weights' groups (so the groups differ and LVS compares flat), and flat it differs."""
    shorted = CROSSBAR.replace("MW11 s1 x1 vss vss", "MW11 s1 x1 n00 vss")
    netlist, groups = _split(shorted)
    assert "xb.s0+s1.x0+x1" in groups and groups != _split(CROSSBAR)[1]
    flat = netlist.dup()
    flat.flatten()
    plain = lvs.read_schematic(CROSSBAR)
    plain.flatten()
    assert not _same(flat, plain)


def test_split_leaves_an_undriven_gate_line_alone() -> None:
    """A net joining groups only through gates (no component drives it) has no name to pair
    it by on the other side: the circuit stays as it is."""
    text = CROSSBAR.replace("MW11 s1 x1 vss vss", "MW11 s1 g vss vss").replace(
        "MW12 s2 x1 vss vss", "MW12 s2 g vss vss"
    )
    netlist, groups = _split(text)
    assert groups == []
    assert len(list(netlist.circuit_by_name("xb").each_device())) == 10
