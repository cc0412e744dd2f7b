"""The macro kit of a tile: an LVS netlist of M cards that KLayout's plain SPICE reader (and the
official gf180mcu LVS deck) reads with the schematic's sizes, a LEF that KLayout's LEF reader
reads back with the tile's size, pins and obstructions, and a Verilog black box of the same
pins. Each check has a case it must catch."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import klayout.db as kdb
import pytest

from bmru_pdk.circuits import names
from bmru_pdk.circuits.model import NFET, Circuit, Device, Pin
from bmru_pdk.errors import ToolMissingError
from bmru_pdk.layers import LAYER
from bmru_pdk.layouts.tile import import_tile, tile_files
from bmru_pdk.model.checkpoint import random_checkpoint
from bmru_pdk.verification import lvs, official_lvs

pytestmark = pytest.mark.usefixtures("pdk")

# gf180mcu's metal3 tracks as the OpenROAD platform makes them: every 0.56 µm from 0.28 µm
TRACKS = (0.28, 0.56)
# the pin directions the kit promises, per pin role
DIRECTIONS = {"input": "input", "bias": "input", "output": "output", "supply": "inout",
              "ground": "inout"}


@pytest.fixture(scope="module")
def tile(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Circuit, list[Pin]]:
    """A small tile (3 inputs, d = 2, one layer): its folder, schematic and pins."""
    d = tmp_path_factory.mktemp("macro")
    ckpt = random_checkpoint(n_in=3, d=2, layers=1, seed=1, path=d / "n3_d2.safetensors")
    out = tile_files(ckpt, d / "tile")
    return out.outdir, out.schematic, out.design.pins


def _netlist_problems(path: Path, circuit: Circuit) -> list[str]:
    """What KLayout's plain SPICE reader finds different from ``circuit``: per subcircuit its
    pins in order, and every transistor as a MOS4 device of the schematic's model, nets, total
    W and L (the reader is case-insensitive: names come back upper-case)."""
    netlist = kdb.Netlist()
    netlist.read(str(path), kdb.NetlistSpiceReader())
    problems = []
    for sub in circuit.subcircuits():
        read = netlist.circuit_by_name(sub.name.upper())
        if read is None:
            problems.append(f"{sub.name}: missing")
            continue
        pins = [p.name() for p in read.each_pin()]
        if pins != [p.name.upper() for p in sub.pins]:
            problems.append(f"{sub.name}: pins {pins}")
        devices = {d.name: d for d in read.each_device()}
        # the fingers' card, then each stacked gate's
        cards = [c for d in sub.devices for c in ([d] if d.fingers else []) + d.stack_gates()]
        for dev in cards:
            got = devices.pop(dev.name.upper(), None)
            if got is None or not isinstance(got.device_class(), kdb.DeviceClassMOS4Transistor):
                problems.append(f"{sub.name}.{dev.name}: no MOS4 device")
                continue
            seen = (got.device_class().name,
                    [got.net_for_terminal(t.upper()).name for t in dev.nets()],
                    round(got.parameter("W"), 6), round(got.parameter("L"), 6))
            want = (dev.kind.upper(), [n.upper() for n in dev.nets().values()],
                    dev.total_width, dev.l)
            if seen != want:
                problems.append(f"{sub.name}.{dev.name}: read {seen}, schematic {want}")
        problems += [f"{sub.name}.{name}: not in the schematic" for name in devices]
    return problems


def _wrong_width(netlist: Path, tmp: Path) -> tuple[Path, str]:
    """``netlist`` with its first weight card (whole units or a stacked gate) at 9 µm, and
    that card's name."""
    text = netlist.read_text()
    line = next(x for x in text.splitlines() if re.match(r"MMW\d+_\d+(_st\d+g\d+)? ", x))
    wrong = tmp / "wrong_w.spice"
    wrong.write_text(text.replace(line, re.sub(r" w=\S+", " w=9u", line), 1))
    return wrong, line.split()[0][1:]


def test_lvs_netlist_reads_as_mos4_devices(tile: tuple[Path, Circuit, list[Pin]]) -> None:
    outdir, circuit, _ = tile
    assert _netlist_problems(outdir / "tile.lvs.spice", circuit) == []
    # the simulation netlist's model-subcircuit calls are no transistors to a plain reader
    assert any("no MOS4 device" in p for p in _netlist_problems(outdir / "tile.spice", circuit))
    assert lvs.run(outdir / "tile.gds", outdir / "tile.lvs.spice").match


def test_lvs_netlist_check_catches_wrong_width_and_dropped_pin(
        tile: tuple[Path, Circuit, list[Pin]], tmp_path: Path) -> None:
    outdir, circuit, _ = tile
    wrong_w, card = _wrong_width(outdir / "tile.lvs.spice", tmp_path)
    device = names.stacked_in(card)[0]
    weights = next(s.name for s in circuit.subcircuits() if device in [d.name for d in s.devices])
    assert [p.split(":")[0] for p in _netlist_problems(wrong_w, circuit)] == [f"{weights}.{card}"]
    top = f".subckt {circuit.name} "
    no_pin = tmp_path / "no_pin.spice"
    no_pin.write_text((outdir / "tile.lvs.spice").read_text().replace(top + "x0 ", top))
    assert _netlist_problems(no_pin, circuit) == [
        f"{circuit.name}: pins {[p.name.upper() for p in circuit.pins[1:]]}"]


def test_fingers_and_copies_read_as_total_width(tmp_path: Path) -> None:
    dev = Device(name="M1", kind=NFET, w=2, l=1, fingers=3, multiplier=2, d="d", g="g", s="vss",
                 b="vss")
    pair = Circuit(name="m1", pins=[Pin(name=n, role="input", signal="voltage")
                                    for n in ("d", "g", "vss")], devices=[dev])
    path = tmp_path / "m1.spice"
    path.write_text(pair.to_spice("lvs"))
    assert _netlist_problems(path, pair) == []
    # the m copies count: against one copy (6 µm) the 12 µm read is a difference
    one = pair.model_copy(update={"devices": [dev.model_copy(update={"multiplier": 1})]})
    assert _netlist_problems(path, one) == [
        "m1.M1: read ('NFET_03V3', ['D', 'G', 'VSS', 'VSS'], 12.0, 1.0), "
        "schematic ('NFET_03V3', ['D', 'G', 'VSS', 'VSS'], 6.0, 1.0)"]


def _official_lvs(gds: Path, netlist: Path) -> bool:
    """Whether the official deck finds ``gds`` and ``netlist`` equivalent."""
    try:
        return official_lvs.run(gds, netlist).match
    except ToolMissingError as err:
        pytest.skip(f"official LVS deck unavailable: {err}")


def test_official_lvs_deck_matches(tile: tuple[Path, Circuit, list[Pin]], tmp_path: Path) -> None:
    outdir, _, _ = tile
    assert _official_lvs(outdir / "tile.gds", outdir / "tile.lvs.spice")
    wrong_w, _card = _wrong_width(outdir / "tile.lvs.spice", tmp_path)
    assert not _official_lvs(outdir / "tile.gds", wrong_w)
    # the netlist is data: an include is not followed (KLayout's reader would fail on the
    # missing file, and would read any file it names)
    included = tmp_path / "included.spice"
    included.write_text(".include /no/such/file.spice\n"
                        + (outdir / "tile.lvs.spice").read_text())
    assert _official_lvs(outdir / "tile.gds", included)


def _lef_problems(lef: Path, name: str, size: tuple[float, float],
                  ports: dict[str, tuple[float, float]]) -> list[str]:
    """What KLayout's LEF reader finds different from the tile: the macro's outline (a whole
    number of track pitches), one Metal3 pin per port whose outer edge is the port and whose
    centre is on a metal3 track, obstructions over Metal1-3."""
    layout = kdb.Layout()
    layout.read(str(lef), kdb.LoadLayoutOptions())  # layers <LEF layer>.PIN / .OBS / .LABEL
    macro = layout.cell(name)
    if macro is None:
        return [f"no macro {name}"]

    def region(layer: str) -> kdb.Region:
        index = layout.find_layer(kdb.LayerInfo(layer))
        return kdb.Region() if index is None else kdb.Region(macro.shapes(index))

    outline = kdb.Box(0, 0, round(size[0] / layout.dbu), round(size[1] / layout.dbu))
    problems = [] if region("OUTLINE").bbox() == outline else [f"outline {region('OUTLINE')}"]
    problems += [f"size {v} is not a whole number of tracks" for v in size
                 if abs(v / TRACKS[1] - round(v / TRACKS[1])) > 1e-6]
    labels = macro.shapes(layout.find_layer(kdb.LayerInfo("Metal3.LABEL")))
    pins = {t.text_string: kdb.DPoint(t.dtext.x, t.dtext.y) for t in labels.each(kdb.Shapes.STexts)}
    for pin in sorted(set(ports) | set(pins)):
        if pin not in ports or pin not in pins:
            problems.append(f"pin {pin} only in the {'LEF' if pin in pins else 'tile'}")
            continue
        box = next((b.to_dtype(layout.dbu) for b in region("Metal3.PIN").each()
                    if b.to_dtype(layout.dbu).bbox().contains(pins[pin])), None)
        west = ports[pin][0] < size[0] / 2  # the port's edge of the pin shape
        edge = None if box is None else box.bbox().left if west else box.bbox().right
        if box is None or (edge, box.bbox().center().y) != pytest.approx(ports[pin]):
            problems.append(f"pin {pin} at {box}, port at {ports[pin]}")
            continue
        track = (box.bbox().center().y - TRACKS[0]) / TRACKS[1]
        if abs(track - round(track)) > 1e-6:
            problems.append(f"pin {pin} off the metal3 tracks at y {box.bbox().center().y:.3f}")
    problems += [f"{m} not obstructed" for m in ("Metal1", "Metal2", "Metal3")
                 if not (kdb.Region(outline) - region(f"{m}.OBS")).is_empty()]
    return problems


def _redrawn(text: str, pin: str, box: Callable[..., tuple[float, ...]], path: Path) -> Path:
    """The LEF ``text`` with ``pin``'s first rectangle replaced by ``box`` of its corners,
    written to ``path``."""
    block = re.search(rf"  PIN {pin}\n.*?  END {pin}\n", text, re.S).group(0)
    rect = re.search(r"RECT ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", block)
    new = "RECT " + " ".join(f"{v:.3f}" for v in box(*map(float, rect.groups())))
    path.write_text(text.replace(block, block.replace(rect.group(0), new)))
    return path


def test_lef_reads_back_with_size_pins_and_obstructions(
        tile: tuple[Path, Circuit, list[Pin]], tmp_path: Path) -> None:
    outdir, circuit, _ = tile
    size = json.loads((outdir / "summary.json").read_text())["size_um"]
    imported = import_tile(outdir / "tile.gds").ports
    ports = {p.name: tuple(p.center) for p in imported}
    assert len(ports) == 8
    # inputs, bias and supplies on the west edge, the outputs on the east edge
    assert {p.name: (p.center[0], p.orientation) for p in imported if p.center[0] > 0} == {
        f"y{k}": (pytest.approx(size[0]), 0) for k in range(2)}
    assert _lef_problems(outdir / "tile.lef", circuit.name, size, ports) == []
    text = (outdir / "tile.lef").read_text()
    dropped = tmp_path / "dropped.lef"
    dropped.write_text(re.sub(r"  PIN y1\n.*?  END y1\n", "", text, flags=re.S))
    assert _lef_problems(dropped, circuit.name, size, ports) == ["pin y1 only in the tile"]
    moved = {**ports, "x0": (ports["x0"][0], ports["x0"][1] + 1)}
    assert _lef_problems(outdir / "tile.lef", circuit.name, size, moved)[0].startswith("pin x0 at")
    # the pin and its port both moved off the tracks (by a tenth of a micron)
    off_track = _redrawn(text, "x0", lambda x0, y0, x1, y1: (x0, y0 + 0.1, x1, y1 + 0.1),
                         tmp_path / "off_track.lef")
    moved = {**ports, "x0": (ports["x0"][0], ports["x0"][1] + 0.1)}
    assert _lef_problems(off_track, circuit.name, size, moved) == [
        f"pin x0 off the metal3 tracks at y {ports['x0'][1] + 0.1:.3f}"]
    # an output pin written on the west edge, where the tile has no port
    wrong_edge = _redrawn(text, "y0", lambda x0, y0, x1, y1: (0.0, y0, x1 - x0, y1),
                          tmp_path / "wrong_edge.lef")
    assert _lef_problems(wrong_edge, circuit.name, size, ports)[0].startswith("pin y0 at")


def _ring_problems(lef: str, gds: Path) -> list[str]:
    """What differs between the supplies' LEF pins and the tile's metal4: each supply pin
    (``USE POWER`` / ``USE GROUND``) must hold, on Metal4, exactly one closed ring of the
    GDS's metal4, the one its label names."""
    layout = kdb.Layout()
    layout.read(str(gds))
    top = layout.top_cell()
    metal4 = kdb.Region(top.begin_shapes_rec(layout.layer(*LAYER.metal4))).merged()
    labels = {it.shape().text_string: it.shape().text.transformed(it.trans()) for it in
              top.begin_shapes_rec(layout.layer(*LAYER.metal4_label)) if it.shape().is_text()}
    problems = []
    for pin, use in (("vdd", "POWER"), ("vss", "GROUND")):
        block = re.search(rf"  PIN {pin}\n(.*?)  END {pin}\n", lef, re.S)
        if block is None or f"USE {use} ;" not in block.group(1):
            problems.append(f"{pin}: no USE {use} pin")
            continue
        m4 = re.search(r"LAYER Metal4 ;\n((?:\s+RECT .*\n)+)", block.group(1))
        if m4 is None:
            problems.append(f"{pin}: no Metal4 shapes")
            continue
        ring = kdb.Region([kdb.DBox(*map(float, r.split()[1:5])).to_itype(layout.dbu)
                           for r in m4.group(1).strip().splitlines()]).merged()
        drawn = metal4.interacting(kdb.Region(kdb.Box(labels[pin].x - 1, labels[pin].y - 1,
                                                      labels[pin].x + 1, labels[pin].y + 1)))
        if ring.count() != 1 or next(ring.each()).holes() != 1 or not (ring ^ drawn).is_empty():
            problems.append(f"{pin}: the LEF's Metal4 is not the drawn ring")
    return problems


def test_power_pins_are_the_metal4_rings(tile: tuple[Path, Circuit, list[Pin]]) -> None:
    outdir = tile[0]
    text = (outdir / "tile.lef").read_text()
    assert _ring_problems(text, outdir / "tile.gds") == []
    # the check sees a supply pin without its ring, and one whose ring is not the drawn one
    no_ring = re.sub(r"(  PIN vdd\n.*?)      LAYER Metal4 ;\n( +RECT [^\n]*\n)+", r"\1",
                     text, flags=re.S)
    assert _ring_problems(no_ring, outdir / "tile.gds") == ["vdd: no Metal4 shapes"]
    swapped = text.replace("USE POWER", "USE GROUND")
    assert "vdd: no USE POWER pin" in _ring_problems(swapped, outdir / "tile.gds")


def test_a_ring_not_joined_to_its_pin_fails_lvs(tile: tuple[Path, Circuit, list[Pin]],
                                               tmp_path: Path) -> None:
    """Without its via3 arrays each ring is a labelled net of its own, not the supply's."""
    outdir = tile[0]
    layout = kdb.Layout()
    layout.read(str(outdir / "tile.gds"))
    layout.top_cell().shapes(layout.layer(*LAYER.via3)).clear()
    layout.write(str(tmp_path / "no_via3.gds"))
    assert lvs.run(outdir / "tile.gds", outdir / "tile.spice").match
    assert not lvs.run(tmp_path / "no_via3.gds", outdir / "tile.spice").match


def _verilog_ports(path: Path) -> tuple[str, dict[str, str]]:
    """Module name and port -> direction of a Verilog black box."""
    text = path.read_text()
    module = re.search(r"^module (\w+) \(", text, re.M)
    ports = re.findall(r"^\s+(input|output|inout)\s+wire (\w+)", text, re.M)
    return (module.group(1) if module else ""), {name: d for d, name in ports}


def test_verilog_ports_are_the_lef_pins(tile: tuple[Path, Circuit, list[Pin]],
                                        tmp_path: Path) -> None:
    outdir, circuit, pins = tile
    lef = (outdir / "tile.lef").read_text()
    lef_pins = re.findall(r"^  PIN (\w+)$", lef, re.M)
    expected = (circuit.name, {p.name: DIRECTIONS[p.role] for p in pins})
    assert _verilog_ports(outdir / "tile.v") == expected
    assert list(expected[1]) == lef_pins
    text = (outdir / "tile.v").read_text()
    dropped = tmp_path / "dropped.v"
    dropped.write_text(text.replace("    output wire y1,\n", ""))
    name, ports = _verilog_ports(dropped)
    assert name == circuit.name and set(lef_pins) - set(ports) == {"y1"}
