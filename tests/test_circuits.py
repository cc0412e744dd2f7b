"""Circuit library, schematic side: SPICE of every builder, mirrors, the hysteretic cell,
mapping round trips and their failures."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from bmru_pdk.circuits import (
    NFET,
    PFET,
    BiasOutput,
    BiasParams,
    CellParams,
    Circuit,
    Device,
    MirrorParams,
    ReluParams,
    UnitParams,
    WeightArrayParams,
    bias_generator,
    bmru_cell,
    bmru_unit,
    current_mirror,
    mapping,
    relu_node,
    weight_array,
)
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.sizing import MISMATCH_BUDGET
from bmru_pdk.errors import BmruError
from bmru_pdk.spice import simulate
from bmru_pdk.tech import VDD_V

CELL = CellParams(r_thresh=2.0, r_width=0.8, r_gain=1.0)
BUILT = {
    "nmirror": current_mirror(MirrorParams(kind=NFET, ratios=[0.5, 2.0, 3.3])),
    "pmirror": current_mirror(MirrorParams(kind=PFET, ratios=[1.0, 7.0])),
    "bias": bias_generator(BiasParams(outputs=[BiasOutput(name="b0", ratio=2.5, flow="source"),
                                               BiasOutput(name="b1", ratio=0.5, flow="sink")])),
    "cell": bmru_cell(CELL),
    "relu": relu_node(ReluParams()),
    "weights": weight_array(WeightArrayParams(ratios=[[1.0, -0.5], [0.0, 3.2], [-2.0, 0.0]])),
    "unit": bmru_unit(UnitParams(cell=CELL, r_bias=-0.7)),
}


def _smoke_deck(c: Circuit) -> str:
    """Bias lines from a bias generator, 1 nA into current inputs, outputs held at 0.9 V."""
    bias = bias_generator(BiasParams())
    lines = [bias.to_spice(), c.to_spice(), f"xb vbn vbp vdd 0 {bias.name}", "iref vdd vbn 1n",
             "vdd vdd 0 1.8", "vmid mid 0 0.9"]
    nets = []
    for p in c.pins:
        if p.signal == "power":
            nets.append("vdd" if p.role == "supply" else "0")
        elif p.signal == "voltage" or p.name == "vbn":
            nets.append(p.name)
        elif p.role == "output":
            nets.append("mid")
        else:
            nets.append(p.name)
            lines.append(f"i{p.name} vdd {p.name} 1n" if p.flow == "sink"
                         else f"i{p.name} {p.name} 0 1n")
    lines += [f"xdut {' '.join(nets)} {c.name}", ".op"]
    return "\n".join(lines)


@pytest.mark.parametrize("name", sorted(BUILT))
def test_every_builder_writes_spice_that_simulates(name: str) -> None:
    c = BUILT[name]
    text = c.to_spice()
    assert text.count(".subckt") == text.count(".ends") == len(c.subcircuits())
    for d in c.flat_devices():
        assert d.kind in text
    r = simulate(_smoke_deck(c))
    assert np.isfinite(r["v(vdd)"][0])


@pytest.mark.parametrize("name", sorted(BUILT))
def test_schematic_reads_as_lvs_reference(name: str) -> None:
    """The LVS reader sees every transistor with the width the description states (each
    stacked gate its own one-gate transistor)."""
    from bmru_pdk.verification.lvs import read_schematic

    c = BUILT[name]
    netlist = read_schematic(c.to_spice())
    top = netlist.circuit_by_name(c.name.upper()) or netlist.circuit_by_name(c.name)
    netlist.flatten()
    widths = sorted(round(d.parameter("W"), 3) for d in top.each_device())
    cards = [g for d in c.flat_devices() for g in ([d] if d.fingers else []) + d.stack_gates()]
    assert widths == sorted(round(d.total_width, 3) for d in cards)


def test_device_lines_carry_geometry() -> None:
    """Whole units as one card, then each stacked gate, chained from the drain to the rail."""
    lines = BUILT["weights"].device("MW1_1").spice().splitlines()
    assert lines[0].startswith("XMW1_1 s1 xp1 vdd vdd pfet_03v3 w=12u l=4u nf=3 m=1 as=")
    assert lines[1].startswith("XMW1_1_st0g0 s1 xp1 MW1_1_st0g1 vdd pfet_03v3 w=4u l=4u nf=1 ")
    assert lines[-1].split()[1:5] == ["MW1_1_st0g4", "xp1", "vdd", "vdd"]
    assert all(f" {k}=" in line for line in lines for k in ("as", "ad", "ps", "pd"))


def test_description_rejects_bad_input() -> None:
    with pytest.raises(ValidationError, match="grid"):
        Device(name="M1", kind=NFET, w=1.003, l=1, d="a", g="b", s="c", b="c")
    with pytest.raises(ValidationError, match="never switch off"):
        CellParams(r_thresh=1.0, r_width=1.0, r_gain=1.0)
    with pytest.raises(ValidationError, match="duplicate"):
        Circuit(name="x", pins=[], devices=[BUILT["relu"].devices[0]] * 2)


def test_hierarchy_names_nets_for_layout() -> None:
    u = BUILT["unit"]
    assert [p.name for p in u.pins] == ["sum", "vbn", "vbp", "out", "vdd", "vss"]
    m1 = u.device("cell.M1")
    assert (m1.d, m1.g, m1.s) == ("cell.v0", "c", "vdd")  # pin "in" of the cell is net c
    assert u.device("MB").param == "b"
    assert u.nets() == ["sum", "vbn", "vbp", "out", "vdd", "vss", "c"]
    assert {d.param for d in u.flat_devices()} >= {"beta_hi", "delta", "alpha", "b"}


def _snapped(requested: list[float], realised: list[float], kind: str) -> None:
    """Each realised value is the grid's: within the snap bound of the requested one."""
    for want, got in zip(requested, realised, strict=True):
        bound = mapping.snap_bound(kind, abs(want))
        assert got == pytest.approx(want, rel=bound + 1e-9), (want, got, bound)


def test_mirror_ratio_is_the_characterised_one_at_1na() -> None:
    """Sinking weights onto a summing node (the load they are calibrated at): the simulated
    gain is the sum of the drawing's slot gains the tables hold, to the 1 % by which a
    parallel slot's drain differs from the table's held node."""
    weights = [0.5, 2.0, 6.0]
    ratios = [-mapping.signed_ratio(-w, "weight") for w in weights]
    realised = [-mapping.realised_gain(-r) for r in ratios]
    assert ch.measure_mirror(NFET, ratios, 1.0, load="sum") == pytest.approx(realised, rel=0.01)
    _snapped(weights, realised, NFET)


def test_weight_round_trip() -> None:
    """Requested weight -> drawn ratio -> simulated weight array, both signs, 1 nA input:
    the array realises the mapping's value (2 %: the PMOS path adds its unit copy's error)."""
    weights = [0.3, -0.3, 1.0, -1.0, 3.7, -3.7, 12.0, -12.0]
    ratios = [mapping.signed_ratio(w, f"weight[0][{j}]") for j, w in enumerate(weights)]
    realised = [mapping.realised_gain(r) for r in ratios]
    assert ch.measure_weight_row(ratios) == pytest.approx(realised, rel=0.02)
    for sign, kind in ((1, PFET), (-1, NFET)):
        pairs = [(w, r) for w, r in zip(weights, realised, strict=True) if w * sign > 0]
        _snapped([w for w, _ in pairs], [r for _, r in pairs], kind)


def test_bias_round_trip() -> None:
    wanted = {"bp": 2.5, "bn": -0.8}
    ratios = {n: mapping.signed_ratio(b, n) for n, b in wanted.items()}
    got = ch.measure_bias(ratios)
    assert got == pytest.approx({n: mapping.realised_gain(r) for n, r in ratios.items()},
                                rel=0.02)


def test_a_wrong_weight_misses_the_realised_value() -> None:
    """The negative case: an array drawn one grid step off fails the round trip."""
    ratio = mapping.signed_ratio(-1.0, "w")
    wrong = -1.25 if ratio == -1.0 else -1.0
    assert ch.measure_weight_row([wrong])[0] != pytest.approx(mapping.realised_gain(ratio),
                                                              rel=0.02)


def test_cell_hysteresis_after_calibration() -> None:
    """ON near the realised beta_hi, OFF near beta_lo (5 %: the tables interpolate between
    cells measured on a coarser grid), output alpha (2 %)."""
    alpha, beta_lo, delta = 1.5, 1.2, 0.8
    params = mapping.cell_params(alpha, beta_lo, delta)
    hi, lo, out = mapping.cell_values(params)
    p = ch.measure_cell(bmru_cell(params), 4.0)
    assert p is not None
    assert p.beta_hi == pytest.approx(hi, rel=0.05)
    assert p.beta_lo == pytest.approx(lo, rel=0.05)
    assert p.alpha == pytest.approx(out, rel=0.02)
    assert hi == pytest.approx(beta_lo + delta, rel=0.1) and out == pytest.approx(alpha, rel=0.1)


def test_cell_without_feedback_has_no_hysteresis() -> None:
    cell = bmru_cell(CELL)
    cut = cell.model_copy(update={"devices": [d for d in cell.devices if d.name != "M9"]})
    with_fb, without = ch.measure_cell(cell, 4.0), ch.measure_cell(cut, 4.0)
    assert with_fb is not None and without is not None
    assert with_fb.beta_hi - with_fb.beta_lo > 0.3 * with_fb.beta_hi
    loop = (without.beta_hi - without.beta_lo) / without.beta_hi
    assert loop < 0.02, f"without its feedback transistor M9 the cell kept a {loop:.1%} loop"


def test_frame_thresholds_are_the_levels_a_frame_step_meets() -> None:
    """A level 0.5 % past each frame threshold switches the cell by the end of the frame it
    steps to, 0.5 % short of it does not: the two bisection passes resolve 1/225 of a
    bracket one ramp band wide, about 0.15 % here. The ramp's thresholds fail the same
    check: a 512 ms ramp travels on while the cell switches, so it reads them wider."""
    cell = bmru_cell(CellParams(r_thresh=1.25, r_width=0.25, r_gain=2.5))
    ramp = ch.measure_cell(cell, 2.5)
    assert ramp is not None
    met = ch.frame_thresholds(cell, ramp)
    assert met is not None
    hi, lo = met
    mid, top = (ramp.beta_hi + ramp.beta_lo) / 2, 1.5 * ramp.beta_hi
    # (reset, middle of the band, trial): OFF then ON trials, the ramp's last
    trials = [(0.0, 1.005 * hi), (0.0, 0.995 * hi), (top, 0.995 * lo), (top, 1.005 * lo),
              (0.0, 0.995 * ramp.beta_hi), (top, 1.005 * ramp.beta_lo)]
    values = np.array([[reset, mid, level] for reset, level in trials]).ravel()
    r = simulate(ch.frame_bench(cell, values))
    on = ch.frame_ends(r["time"], r["xc.v0"], ch.FRAME_MS * 1e-3, len(values))[2::3] > VDD_V / 2
    assert on.tolist() == [True, False, False, True, True, False], (hi, lo, ramp)


def test_a_held_cell_puts_out_the_state_of_the_frame_before() -> None:
    """A held cell's output through each frame is alpha where its decision node ended the
    frame before ON and nothing where OFF (read at half alpha: the output is a copy of alpha
    or a leakage of pA, nothing between at the frame's end), while its decision node
    follows its own frame's input; the unheld cell, the negative, puts out its own frame's
    state, which the held check rejects."""
    values = np.array([0.0, 3.0, 3.0, 0.5, 0.5, 3.0, 1.5, 0.5])
    expected = [False, True, True, False, False, True, True, False]  # band 1..2 units
    frame_s = ch.FRAME_MS * 1e-3
    outputs = {}
    for held in (True, False):
        cell = bmru_cell(CellParams(r_thresh=2.0, r_width=1.0, r_gain=2.0, held=held))
        r = simulate(ch.frame_bench(cell, values))
        state = ch.frame_ends(r["time"], r["xc.v0"], frame_s, len(values)) > VDD_V / 2
        assert state.tolist() == expected, held
        out = ch.frame_ends(r["time"], r["i(vout)"], frame_s, len(values))
        outputs[held] = (ch.to_units(out) > 1.0).tolist()
    assert outputs[True][1:] == expected[:-1]
    assert outputs[False] == expected and outputs[False][1:] != expected[:-1]


def test_unrealisable_values_name_the_parameter() -> None:
    with pytest.raises(BmruError, match=r"weight\[0\]\[1\]=40 cannot be realised: positive "
                                        r"values must be within 0\.\d+\.\.\d+"):
        mapping.signed_ratio(40.0, "weight[0][1]")
    with pytest.raises(BmruError, match=r"weight\[3\]\[0\]=-0\.01 .* within -\d"):
        mapping.signed_ratio(-0.01, "weight[3][0]")
    with pytest.raises(BmruError, match=r"delta=1\.9 nA .* 0\.2\.\.0\.8 x beta_hi"):
        mapping.cell_params(1.0, 0.1, 1.9)
    with pytest.raises(BmruError, match=r"beta_hi = beta_lo \+ delta = 30 nA"):
        mapping.cell_params(1.0, 20.0, 10.0)
    with pytest.raises(BmruError, match=r"alpha=50 nA .* within"):
        mapping.cell_params(50.0, 1.0, 1.0)


def test_tables_meet_the_mismatch_budget() -> None:
    t = mapping.load_tables()
    for kind, sigma in t.mismatch_sigma.items():
        assert sigma <= 1.1 * MISMATCH_BUDGET
        assert sigma == pytest.approx(t.pelgrom_sigma[kind], rel=0.25)


@pytest.mark.parametrize("beta_lo,delta", [(0.5, 0.25), (0.8, 0.6), (2.5, 1.0), (1.5, 4.0),
                                           (5.0, 2.0)])
def test_cell_round_trip_over_the_range(beta_lo: float, delta: float) -> None:
    """The drawn cell switches where the mapping says it realises (5 %: the tables
    interpolate between cells measured on a coarser grid), and that is the requested value
    to within what the grid allows: half its widest gap in current (8 %) plus the 2 % the
    choice of the pair of bias drawings may trade between the two thresholds."""
    params = mapping.cell_params(2.0, beta_lo, delta)
    hi, lo, alpha = mapping.cell_values(params)
    p = ch.measure_cell(bmru_cell(params), 2 * (beta_lo + delta))
    assert p is not None
    assert p.beta_hi == pytest.approx(hi, rel=0.05)
    assert p.beta_lo == pytest.approx(lo, rel=0.05)
    assert p.alpha == pytest.approx(alpha, rel=0.02)
    for got, want in ((hi, beta_lo + delta), (lo, beta_lo), (alpha, 2.0)):
        assert got == pytest.approx(want, rel=0.1)


def test_tables_record_the_unit_current_their_benches_ran_at(monkeypatch: pytest.MonkeyPatch,
                                                              ) -> None:
    """A study of another operating point characterises there: its tables must say so, or
    the testbench drives the tile at the wrong current."""
    monkeypatch.setattr(ch, "I_UNIT_NA", 1.0)
    assert ch.spice_current(2.0) == "2n"
    tables = ch.characterize(quick=True)
    assert tables.i_unit_na == 1.0 and tables.i_ref_spice == "1n"
