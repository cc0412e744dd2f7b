"""Device cells: ports, labels, metadata, and the official DRC deck.

The transistor cells are the PDK's registered cells that take a MOSFET's parameters
(:data:`TRANSISTORS`, found in ``PDK.cells``): a new one is swept without an edit here.
Every registered cell is also built at its defaults, DRC-checked and fingerprinted in
``tests/test_cell_library.py``.
"""

from __future__ import annotations

import inspect

import gdsfactory as gf
import klayout.db as kdb
import pytest

from bmru_pdk import PDK, rules
from bmru_pdk.cells import nfet, pfet, side_by_side, via_stack
from bmru_pdk.cells.devices import STACK_GAP
from bmru_pdk.circuits import NFET, PFET
from bmru_pdk.layers import LABELS, LAYER
from bmru_pdk.verification import drc

# (w, l, fingers, multiplier, dummies, bulk_tie): corners of W 0.22-20, L 0.28-10, 1-8 fingers,
# narrow (dog-bone) widths on both sides of 0.36, odd/even finger counts, m > 1.
SWEEP = [
    (0.22, 0.28, 1, 1, False, True),
    (0.22, 0.28, 3, 1, True, True),
    (0.25, 0.5, 2, 2, False, True),
    (0.355, 0.28, 1, 1, True, False),
    (0.36, 0.28, 2, 1, False, True),
    (0.5, 0.28, 8, 1, True, True),
    (1.0, 1.0, 1, 1, False, True),
    (2.0, 0.28, 5, 2, True, True),
    (5.0, 3.0, 2, 1, False, True),
    (0.22, 10.0, 1, 1, True, True),
    (1.5, 0.3, 7, 1, False, False),
    (8.0, 0.28, 4, 3, True, True),
    (20.0, 0.28, 8, 1, True, True),
    (20.0, 10.0, 2, 1, True, True),
    (2.0, 2.0, 2, 2, True, False),
    (0.6, 0.4, 1, 4, True, True),
    (12.5, 1.2, 3, 1, False, True),
]
# (w, l, fingers, multiplier, dummies, bulk_tie, stacks): series stacks of unit gates, alone or
# beside fingers, on a wide unit, a narrow (dog-bone) channel at the shortest L, with copies
STACKED = [
    (4.0, 4.0, 0, 1, False, True, (8,)),
    (4.0, 4.0, 2, 1, False, True, (2, 3)),
    (0.5, 0.28, 1, 1, False, True, (3,)),
    (0.22, 0.28, 0, 1, True, True, (2, 5)),
    (0.3, 0.3, 2, 2, False, True, (4,)),
    (1.0, 1.0, 3, 1, True, False, (2, 2, 8)),
]

# the registered cells drawing one MOSFET: they take every parameter of the sweep
MOSFET_PARAMETERS = {"w", "l", "fingers", "multiplier", "dummies", "bulk_tie", "stacks"}
TRANSISTORS = sorted(name for name, cell in PDK.cells.items()
                     if set(inspect.signature(cell).parameters) >= MOSFET_PARAMETERS)

pytestmark = pytest.mark.usefixtures("pdk")


def _label_layer(port: gf.Port) -> int:
    """The text layer that names nets on the metal of ``port``."""
    return {gf.get_layer(m): gf.get_layer(t) for m, t in LABELS.items()}[port.layer]


def test_transistors_found_in_the_registry() -> None:
    assert {"nfet", "pfet"} <= set(TRANSISTORS)


@pytest.mark.parametrize("name", TRANSISTORS)
def test_ports_labels_info(name: str) -> None:
    c = gf.get_component(name, w=2, l=0.5, fingers=3, multiplier=2, dummies=True)
    assert {p.name for p in c.ports} == {"g", "d", "s", "b"}
    for port in c.ports:
        assert port.port_type == "electrical"
        texts = {t.string: t for t in c.get_labels(_label_layer(port))}
        # the label sits inside the metal the port is on, so LVS names that net
        spot = kdb.Region(texts[port.name].to_itype(c.kcl.dbu).bbox().enlarged(1))
        assert c.get_region(port.layer, merge=True).interacting(spot).count() == 1
    assert c.ports["d"].layer == gf.get_layer(LAYER.metal2)
    assert {p.name for p in c.ports if p.layer == gf.get_layer(LAYER.metal1)} == {"g", "s", "b"}
    # the SPICE model the cell draws, named after it (nfet -> nfet_03v3)
    model = c.info["model"]
    assert model in (NFET, PFET) and model.startswith(name)
    assert dict(c.info) == {"model": model, "w": 2.0, "l": 0.5, "nf": 3, "m": 2, "nf_total": 6,
                            "dummies": True, "bulk_tie": True, "stacks": ()}
    assert gf.get_component(name, fingers=0, stacks=(2, 3)).info["stacks"] == (2, 3)


def test_get_component_names_and_grid() -> None:
    a = gf.get_component("nfet", w=2, l=1)
    assert a is gf.get_component("nfet", w=2, l=1)
    names = {gf.get_component(f, w=w, l=ln, fingers=nf, multiplier=m, dummies=d, bulk_tie=b).name
             for f in TRANSISTORS for w, ln, nf, m, d, b in SWEEP}
    names |= {gf.get_component(f, w=w, l=ln, fingers=nf, multiplier=m, dummies=d, bulk_tie=b,
                               stacks=s).name
              for f in TRANSISTORS for w, ln, nf, m, d, b, s in STACKED}
    assert len(names) == len(TRANSISTORS) * (len(SWEEP) + len(STACKED))
    # no stacks, no trace of them in the name: the cells drawn before stacks keep their GDS
    assert gf.get_component("nfet", stacks=()).name == "nfet_W1_L0p28_F1_M1_DFalse_BTTrue"
    assert gf.get_component("pfet", fingers=0, stacks=(2, 3)).name.endswith("_S2_3")
    grid = round(rules.GRID.value * 1000)
    for name in TRANSISTORS:
        assert "b" not in gf.get_component(name, bulk_tie=False).ports
        for c in (gf.get_component(name, w=0.225, l=0.285, fingers=3, dummies=True),
                  gf.get_component(name, w=0.315, fingers=2)):
            for layer in c.layers:
                assert gf.get_component(c).get_region(layer).grid_check(grid, grid).is_empty()


def test_invalid_parameters() -> None:
    with pytest.raises(ValueError, match="grid"):
        nfet(w=0.2212)
    with pytest.raises(ValueError, match="minimum"):
        pfet(l=0.25)
    with pytest.raises(ValueError, match="at least"):
        via_stack(size=(0.3, 0.3))
    with pytest.raises(ValueError, match="no gate"):
        nfet(fingers=0)
    with pytest.raises(ValueError, match="at least 2 gates"):
        pfet(stacks=(2, 1))


@pytest.mark.parametrize("name", TRANSISTORS)
def test_stacks_are_gates_in_series_on_uncontacted_diffusion(name: str) -> None:
    """One gate per finger slot, then each stack's gates in one slot, STACK_GAP apart with no
    contact between them; every slot between two contacted source/drain columns."""
    c = gf.get_component(name, w=0.5, l=0.28, fingers=2, stacks=(3, 2))
    comp = c.get_region(LAYER.comp)
    gates = sorted((g.bbox().left, g.bbox().right)
                   for g in (c.get_region(LAYER.poly2) & comp).each())
    cuts = sorted(b.bbox().center().x for b in (c.get_region(LAYER.contact) & comp).each()
                  if b.bbox().bottom >= 0)  # the channel's (its lower edge is y = 0), not the tap's
    columns = sorted(set(cuts))
    assert len(gates) == 2 + 3 + 2 and len(columns) == 2 + 2 + 1
    gap = round(STACK_GAP / c.kcl.dbu)
    assert gap == round(rules.POLY_SPACE.value / c.kcl.dbu)
    slots = [[g for g in gates if lo < g[0] < hi]
             for lo, hi in zip(columns, columns[1:], strict=False)]
    assert [len(s) for s in slots] == [1, 1, 3, 2]
    for slot in slots:
        assert all(b[0] - a[1] == gap for a, b in zip(slot, slot[1:], strict=False))


def test_via_stack() -> None:
    c = gf.get_component("via_stack", size=(2, 1), layer_bottom="metal1", layer_top="metal3")
    assert [p.name for p in c.ports] == ["e1", "e2", "e3", "e4"]
    assert all(p.layer == gf.get_layer(LAYER.metal3) for p in c.ports)
    assert c.get_region(LAYER.via1).count() == c.get_region(LAYER.via2).count() > 1
    assert via_stack(size=(1, 1), layer_top="metal2").get_region(LAYER.via2).is_empty()


def _seeded_nfet() -> gf.Component:
    """A gate shaved to 0.25 µm and an oversized contact, in an otherwise clean device."""
    seeded = gf.Component("seeded_nfet")
    seeded.add_ref(nfet(w=1, l=0.28, fingers=2))
    seeded.flatten()
    poly = seeded.kdb_cell.shapes(gf.get_layer(LAYER.poly2))
    contacts = seeded.kdb_cell.shapes(gf.get_layer(LAYER.contact))
    gates = kdb.Region(poly) & seeded.get_region(LAYER.comp)
    gate = min(gates.each(), key=lambda g: g.bbox().left).bbox()
    shaved = kdb.Region(poly) - kdb.Region(gate.moved(gate.width() - 30, 0))  # L 0.28 -> 0.25
    contact = min(kdb.Region(contacts).each(), key=lambda c: c.bbox().left)
    grown = kdb.Region(contacts) + kdb.Region(contact.bbox().enlarged(10))
    poly.clear()
    poly.insert(shaved)
    contacts.clear()
    contacts.insert(grown.merged())
    return seeded


@pytest.fixture(scope="module")
def drc_sweep(tmp_path_factory: pytest.TempPathFactory) -> drc.DrcResult:
    """One deck run over the sweep of every transistor cell, via stacks and the seeded nfet
    side by side: each marker is reported in the cell that holds it."""
    devices = [gf.get_component(f, w=w, l=ln, fingers=nf, multiplier=m, dummies=d, bulk_tie=b)
               for f in TRANSISTORS for w, ln, nf, m, d, b in SWEEP]
    devices += [gf.get_component(f, w=w, l=ln, fingers=nf, multiplier=m, dummies=d, bulk_tie=b,
                                 stacks=s)
                for f in TRANSISTORS for w, ln, nf, m, d, b, s in STACKED]
    devices += [via_stack(), via_stack(size=(2.5, 2.5)),
                via_stack(size=(0.5, 1.2), layer_bottom="metal2")]
    gds = tmp_path_factory.mktemp("drc") / "sweep.gds"
    side_by_side([*devices, _seeded_nfet()]).write_gds(gds, with_metadata=False)
    return drc.run(gds)


def test_sweep_is_drc_clean(drc_sweep: drc.DrcResult) -> None:
    """No marker outside the seeded device: none in a swept cell, none between cells."""
    others = {c: n for c, n in drc_sweep.by_cell().items() if c != "seeded_nfet"}
    assert not others, f"{drc_sweep.summary()}\n{others}"


def test_seeded_violations_are_named(drc_sweep: drc.DrcResult) -> None:
    """The seeded device's two violations, by rule, reported in it."""
    assert {"PL.2_3.3V", "CO.1"} <= set(drc_sweep.by_cell().get("seeded_nfet", {})), (
        drc_sweep.summary())
