"""A chip integrator's check of the macro: two tiles placed in a parent ``gf.Component``, the
first tile's class output routed into the second tile's input, supplies and every other
signal routed to the parent's pins with gdsfactory's routing. The parent passes the official
DRC deck and LVS against a parent schematic made of the two tiles' own schematics; the same
parent wired to the wrong input, or with a supply riser left out, fails LVS.

Placement and routing follow the tile's pins: inputs, bias and supplies on its west edge,
class outputs on its east edge. Tile ``b`` sits east of tile ``a`` and above it: ``a``'s other
outputs pass under ``b`` to the parent's east edge and ``b``'s west pins pass over ``a`` to
its west edge, straight on metal3 (``gf.routing.route_bundle``). A net with taps on both
tiles drops a via from each tap to a metal2 riser in a lane of its own: the supplies west of
both tiles, the link from ``a``'s output to ``b``'s input in the gap between them. Horizontal
metal3 and vertical metal2 cross freely.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import gdsfactory as gf
import pytest

from bmru_pdk import rules
from bmru_pdk.cells.router import PAD, PITCH
from bmru_pdk.cells.vias import add_pin, rect, via_stack
from bmru_pdk.circuits.model import Circuit, Instance
from bmru_pdk.layers import LAYER
from bmru_pdk.layouts.tile import TileBuild, build_tile, write_gds
from bmru_pdk.model.checkpoint import open_checkpoint, random_checkpoint
from bmru_pdk.verification import drc, lvs

pytestmark = pytest.mark.usefixtures("pdk")

GAP = 20.0  # µm between the two tiles
LANE0 = 5.0  # µm west of the tiles to the first riser lane
EDGE = 3.0  # µm from the last lane (west) or tile b (east) to the parent's pins


def _nets(a: TileBuild, b: TileBuild, link: tuple[str, str]) -> dict[str, dict[str, str]]:
    """Parent net of each pin of tile ``a`` and tile ``b``: supplies shared, ``a``'s pin
    ``link[0]`` wired to ``b``'s ``link[1]`` (net ``link``), every other pin a parent pin."""
    nets = {tag: {p.name: p.name if p.role in ("supply", "ground") else f"{tag}_{p.name}"
                  for p in build.design.pins} for tag, build in (("a", a), ("b", b))}
    nets["a"][link[0]] = nets["b"][link[1]] = "link"
    return nets


def schematic(name: str, a: TileBuild, b: TileBuild, link: tuple[str, str]) -> Circuit:
    """The parent's schematic: the two tiles' schematics as instances ``A`` and ``B``."""
    nets = _nets(a, b, link)
    pins = {nets[tag][p.name]: p.model_copy(update={"name": nets[tag][p.name]})
            for tag, build in (("a", a), ("b", b)) for p in build.design.pins}
    pins.pop("link")
    return Circuit(name=name, pins=list(pins.values()), doc="two tiles", instances=[
        Instance(name=tag.upper(), circuit=build.schematic, nets=nets[tag])
        for tag, build in (("a", a), ("b", b))])


def _route(c: gf.Component, start: gf.Port, end: gf.Port) -> None:
    """A metal3 route, a pad wide, from ``start`` to ``end`` (here always straight)."""
    xs = gf.get_cross_section("metal3", width=PAD)
    gf.routing.route_bundle(c, [start], [end], cross_section=xs, straight=gf.components.straight,
                            bend=gf.partial(gf.components.wire_corner, cross_section=xs))


def _pin(c: gf.Component, net: str, start: gf.Port, x: float) -> None:
    """``start`` routed straight to a parent pin ``net`` at ``x``, on ``start``'s side."""
    y, east = start.center[1], start.orientation == 0
    _route(c, start, gf.Port(f"{net}_edge", center=(x, y), width=PAD,
                             orientation=180 if east else 0, layer=LAYER.metal3,
                             port_type="electrical"))
    box = (x - PAD, y - PAD / 2, x, y + PAD / 2) if east else (x, y - PAD / 2, x + PAD, y + PAD / 2)
    add_pin(c, net, LAYER.metal3, box, 0 if east else 180, label=True)


def two_tiles(a: TileBuild, b: TileBuild, link: tuple[str, str], risers: bool = True
              ) -> gf.Component:
    """Tile ``b`` east of and above tile ``a``, wired as :func:`_nets` says, every parent pin
    a metal3 port and label on the parent's west edge (inputs, bias, supplies) or east edge
    (outputs).

    ``risers=False`` leaves out the supplies' metal2 risers: a layout whose vdd and vss are
    open between the tiles (a negative case)."""
    c = gf.Component(f"two_tiles_{a.name[-8:]}_{b.name[-8:]}_{link[1]}_{int(risers)}")
    ra, rb = c << a.component, c << b.component
    rb.move((a.component.xsize + GAP, a.component.ysize + GAP))
    taps: dict[str, list[gf.Port]] = defaultdict(list)
    for tag, nets in _nets(a, b, link).items():
        for pin, net in nets.items():
            taps[net].append((ra if tag == "a" else rb).ports[pin])
    shared = [net for net, ports in taps.items() if len(ports) > 1 and net != "link"]
    lane = {net: rules.snap(-LANE0 - k * PITCH) for k, net in enumerate(shared)}
    lane["link"] = rules.snap(ra.dxmax + GAP / 2)  # in the gap, crossing a's outputs
    west_edge = rules.snap(min(lane.values()) - EDGE)
    east_edge = rules.snap(rb.dxmax + EDGE)
    for net, ports in taps.items():
        if net not in lane:
            _pin(c, net, ports[0], east_edge if ports[0].orientation == 0 else west_edge)
            continue
        west = []  # the metal3 port each tap reaches at its lane
        for port in ports:
            v = c << via_stack(size=(PAD, PAD), layer_bottom="metal2", layer_top="metal3")
            v.move((lane[net], port.center[1]))
            _route(c, port, v.ports["e1" if port.orientation == 0 else "e3"])
            west.append(v.ports["e1"])
        if risers or net == "link":
            lo, hi = sorted(p.center[1] for p in ports)
            rect(c, LAYER.metal2, (lane[net] - PAD / 2, lo, lane[net] + PAD / 2, hi))
        if net != "link":
            _pin(c, net, min(west, key=lambda p: p.center[1]), west_edge)  # its lowest tap
    return c


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[TileBuild, TileBuild]:
    d = tmp_path_factory.mktemp("integration")
    return tuple(build_tile(open_checkpoint(random_checkpoint(
        n_in=2, d=1, layers=1, seed=seed, path=d / f"t{seed}.safetensors"))) for seed in (1, 2))


def _write(c: gf.Component, circuit: Circuit, folder: Path) -> tuple[Path, Path]:
    gds = write_gds(c, folder / "parent.gds")
    spice = folder / "parent.spice"
    spice.write_text(f"* {c.name}\n{circuit.to_spice()}")
    return gds, spice


def test_two_tiles_in_a_parent_drc_clean_lvs_match(builds: tuple[TileBuild, TileBuild],
                                                   tmp_path: Path) -> None:
    c = two_tiles(*builds, ("y0", "x0"))
    circuit = schematic(c.name, *builds, ("y0", "x0"))
    assert {p.name for p in c.ports} == {p.name for p in circuit.pins}
    assert {"vdd", "vss", "a_iref", "b_iref", "a_x0", "b_x1", "b_y0"} <= {p.name for p in c.ports}
    gds, spice = _write(c, circuit, tmp_path)
    result = drc.run(gds)
    assert result.clean, result.by_cell()
    check = lvs.run(gds, spice, topcell=c.name)
    assert check.match, check.summary()


def test_parent_wired_to_the_wrong_input_fails_lvs(builds: tuple[TileBuild, TileBuild],
                                                   tmp_path: Path) -> None:
    """The layout links a's y0 to b's x1; the schematic says x0."""
    c = two_tiles(*builds, ("y0", "x1"))
    gds, spice = _write(c, schematic(c.name, *builds, ("y0", "x0")), tmp_path)
    assert not lvs.run(gds, spice, topcell=c.name).match


def test_parent_without_supply_risers_fails_lvs(builds: tuple[TileBuild, TileBuild],
                                                tmp_path: Path) -> None:
    """Tile b's vdd and vss left open: b's supplies are nets of their own, not the pins'."""
    c = two_tiles(*builds, ("y0", "x0"), risers=False)
    gds, spice = _write(c, schematic(c.name, *builds, ("y0", "x0")), tmp_path)
    assert not lvs.run(gds, spice, topcell=c.name).match
