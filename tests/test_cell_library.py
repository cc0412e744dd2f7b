"""Circuit cell library, layout side: every cell drawn from its Circuit is DRC-clean under the
official deck, LVS-clean against its own schematic, and its extracted netlist simulates like
the schematic (mirror ratios, ReLU, the hysteresis loop)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import gdsfactory as gf
import pytest

from bmru_pdk.cells import library, side_by_side
from bmru_pdk.circuits import NFET, PFET, UNIT, Circuit, Pin, builders, mapping
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.layers import LABELS, LAYER
from bmru_pdk.spice import simulate
from bmru_pdk.verification import drc, lvs
from bmru_pdk.verification.extract import extract

pytestmark = pytest.mark.usefixtures("pdk")

# name -> (PDK cell, parameters): every cell type, several parameter sets, the extreme widths
SWEEP: dict[str, tuple[str, dict]] = {
    "nmirror": ("current_mirror", {"kind": "nfet", "ratios": (1.0, 2.0)}),
    "nmirror_range": ("current_mirror", {"kind": "nfet", "ratios": (0.055, 0.25, 16.0)}),
    "pmirror": ("current_mirror", {"kind": "pfet", "ratios": (0.1, 0.5, 3.0)}),
    "nmirror_interdigitated": ("current_mirror", {"kind": "nfet", "ratios": (1.0, 2.0, 3.0),
                                                  "placement": "interdigitated", "dummies": True}),
    "pmirror_interdigitated": ("current_mirror", {"kind": "pfet", "ratios": (0.5, 2.0),
                                                  "placement": "interdigitated"}),
    "nmirror_dummies": ("current_mirror", {"kind": "nfet", "ratios": (0.25, 4.0),
                                           "dummies": True}),
    "bias": ("bias_generator", {}),
    "bias_outputs": ("bias_generator", {"outputs": (("ib", 2.0, "source"), ("is", 0.5, "sink"))}),
    "cell": ("bmru_cell", {}),
    "cell_small": ("bmru_cell", {"r_thresh": 0.5, "r_width": 0.1, "r_gain": 0.5}),
    "cell_large": ("bmru_cell", {"r_thresh": 8.0, "r_width": 6.4, "r_gain": 8.0}),
    "relu": ("relu_node", {}),
    "weights": ("weight_array", {"ratios": ((1.0, -0.5), (0.0, 3.2))}),
    "weights_3x3": ("weight_array", {"ratios": ((0.3, -0.1, 2.0), (-16.0, 0.2, 0.0),
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
    "unit": ("bmru_unit", {}),
    "unit_source_bias": ("bmru_unit", {"r_bias": 0.7}),
    "unit_sink_bias": ("bmru_unit", {"r_thresh": 4.0, "r_width": 1.0, "r_gain": 2.0,
                                     "r_bias": -0.7}),
}


def _write(c: gf.Component, directory: Path) -> Path:
    path = directory / f"{c.name}.gds"
    c.write_gds(path, with_metadata=False)
    return path


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
def sweep() -> dict[str, gf.Component]:
    return {name: gf.get_component(cell, **kw) for name, (cell, kw) in SWEEP.items()}


def test_ports_are_the_circuit_pins(sweep: dict[str, gf.Component]) -> None:
    """Ports named and ordered as the pins, on metal3, each labelled for LVS; only a weight
    array's rail without any weight has none."""
    labels = sweep["cell"].kcl.layer(*LABELS[LAYER.metal3])
    for name, c in sweep.items():
        pins = re.findall(r"^\.subckt \S+ (.*)$", library.schematic(c), re.M)[-1].split()
        if name == "weights_sinks_only":
            pins.remove("s1")  # no weight on rail 1
        assert [p.name for p in c.ports] == pins
        assert {p.layer_info.name for p in c.ports} == {"metal3"}
        texts = [s.text_string for s in c.kdb_cell.shapes(labels).each() if s.is_text()]
        assert sorted(texts) == sorted(pins)


def test_drc_sweep_clean(sweep: dict[str, gf.Component], tmp_path: Path) -> None:
    """One run of the official deck over every cell of the sweep, side by side."""
    gds = _write(side_by_side(tuple(sweep.values()), spacing=3.0), tmp_path)
    result = drc.run(gds, tmp_path / "cells.lyrdb")
    assert result.clean, result.by_cell()


@pytest.mark.parametrize("name", SWEEP)
def test_lvs_against_own_schematic(sweep: dict[str, gf.Component], name: str,
                                   tmp_path: Path) -> None:
    c = sweep[name]
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


def test_lvs_catches_a_mirror_drawn_with_a_wrong_width(tmp_path: Path) -> None:
    drawn = library.current_mirror("nfet", (1.0, 2.0))
    meant = builders.current_mirror(builders.MirrorParams(kind=NFET, ratios=[1.0, 3.0]))
    result = lvs.run(_write(drawn, tmp_path), meant.to_spice())
    assert not result.match
    assert any(m.kind == "parameter" and "W 8 in the layout vs 12 in the schematic"
               in m.message for m in result.mismatches), result.summary()


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
    input switches it ON at beta_hi - b and OFF at beta_lo - b, output alpha, each 5 %."""
    alpha, beta_lo, delta = 1.5, 1.2, 0.8
    p = mapping.unit_params(alpha, beta_lo, delta, b)
    c = library.bmru_unit(p.cell.r_thresh, p.cell.r_width, p.cell.r_gain, p.r_bias)
    got = ch.measure_cell(extracted(c, builders.bmru_unit(p), tmp_path), 5.0)
    assert got is not None, "the extracted unit did not switch ON and back OFF"
    assert got.beta_hi == pytest.approx(beta_lo + delta - b, rel=0.05)
    assert got.beta_lo == pytest.approx(beta_lo - b, rel=0.05)
    assert got.alpha == pytest.approx(alpha, rel=0.05)
