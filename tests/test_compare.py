"""Post-layout compare: the extracted tile of a tiny network against the torch model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk.analyses import compare as cmp
from bmru_pdk.analyses import simulation
from bmru_pdk.analyses import testbench as tb
from bmru_pdk.analyses.agreement import HELD_TO, REFERENCES
from bmru_pdk.errors import BmruError
from bmru_pdk.model import samples
from bmru_pdk.model.checkpoint import held_copy, open_checkpoint, random_checkpoint

# Frames (nA, two inputs) that walk the unit through OFF, ON, hold and back, with the
# candidate well clear of both thresholds (beta_lo 0.90, beta_hi 1.69 nA for seed 1).
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return random_checkpoint(n_in=2, d=1, layers=1, seed=1,
                             path=tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


def test_extracted_tile_matches_the_model(checkpoint: Path, tmp_path: Path) -> None:
    f = cmp.compare(checkpoint, [samples.Utterance("hand", 0, FRAMES)], tmp_path / "out")
    for ref in REFERENCES:
        assert f[ref]["state_agreement_per_layer"] == [1.0]
        assert f[ref]["decision_agreement"] == 1.0
        assert f[ref]["output_mae_na"] < 0.05  # scores are ~0.5 nA
        # candidates 0-5 nA; the checkpoint's own values are off the drawn ones by the grid's
        # snap (up to ~8 %, ~1.5 % mean: ~0.05 nA on a ~3 nA candidate)
        assert f[ref]["candidate_mae_na_per_layer"][0] < (0.05 if ref == HELD_TO else 0.1)
    assert f["condition"] == "typical 27C 1.8V"
    # The design's own supply estimate holds the unit ON with its candidate at beta_hi and the
    # inputs at mid-scale; this utterance's unit is ON in half its frames and its inputs
    # average ~2 units, so the cells' and inputs' shares (two thirds of the estimate) move by
    # less than half either way: within 0.5-1.5x (a supply missed, or counted twice, or a
    # unit slip of 1e3 falls outside).
    estimate = build_summary(checkpoint)["power_total_nw"]
    assert 0.5 * estimate < f["power_nw"]["mean"] < 1.5 * estimate
    assert json.loads((tmp_path / "out" / "compare.json").read_text())["utterances"] == 1
    assert (tmp_path / "out" / "000.png").stat().st_size > 0
    assert (tmp_path / "out" / "extracted.spice").read_text().count("nfet_03v3") > 10


def test_hot_compare_runs_the_condition_twin(checkpoint: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Away from typical 27 °C the model also runs what the drawing realises there: the
    values come from tables characterised at that condition (at 125 °C leakage and the
    PMOS path move the realised currents by more than the 0.1 % the mapping rounds to), and
    the tile agrees with that twin; at the nominal condition there is no twin to run. The
    condition's tables keep the tile tables' mismatch sigma (the typical corner's) without
    running its Monte Carlo again."""
    from bmru_pdk.circuits import characterize as ch

    def no_monte_carlo(*args: object, **kwargs: object) -> float:
        raise AssertionError("the condition's tables re-ran the mismatch Monte Carlo")

    monkeypatch.setattr(ch, "measure_mismatch", no_monte_carlo)
    hot = tb.Condition("typical", 125.0)
    f = cmp.compare(checkpoint, [samples.Utterance("hand", 0, FRAMES)], tmp_path / "hot",
                    condition=hot)
    assert f["condition"] == hot.name
    twin = f["condition_twin"]
    assert twin["state_agreement_per_layer"] == [1.0] and twin["decision_agreement"] == 1.0
    from bmru_pdk.layouts.tile import build_tile
    from bmru_pdk.model.checkpoint import open_checkpoint

    build = build_tile(open_checkpoint(checkpoint))
    nominal = {r["parameter"]: r["realised"] for r in build.mapping}
    hot_tables = cmp.condition_tables(build.tables, hot)
    assert hot_tables.mismatch_sigma == build.tables.mismatch_sigma
    there = {r["parameter"]: r["realised"] for r in build.mapping_at(hot_tables)}
    assert there.keys() == nominal.keys()
    assert max(abs(there[k] / v - 1) for k, v in nominal.items() if v) > 0.001
    assert cmp.condition_tables(build.tables, tb.NOMINAL) is None


def build_summary(checkpoint: Path) -> dict:
    """The tile summary of ``checkpoint`` (its supply estimate), as ``bmru tile`` writes it."""
    from bmru_pdk.layouts.tile import build_tile
    from bmru_pdk.model.checkpoint import open_checkpoint

    return build_tile(open_checkpoint(checkpoint)).summary


def test_tile_of_other_weights_is_caught(checkpoint: Path, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The model of ``checkpoint`` against the layout of another network disagrees."""
    from bmru_pdk.layouts import tile
    from bmru_pdk.model.checkpoint import open_checkpoint

    other = open_checkpoint(random_checkpoint(n_in=2, d=1, layers=1, seed=5,
                                              path=tmp_path / "other.safetensors"))
    build = tile.build_tile
    # the layout of ``other``, simulated against the model of ``checkpoint``
    monkeypatch.setattr(tile, "build_tile", lambda ckpt, *a, **kw: dataclasses.replace(
        build(other, *a, **kw), checkpoint=ckpt))
    f = cmp.compare(checkpoint, [samples.Utterance("hand", 0, FRAMES)], tmp_path / "out")
    assert f["ideal"]["state_agreement_per_layer"][0] < 0.9 or f["ideal"]["output_mae_na"] > 0.2
    assert f["ideal"]["candidate_mae_na_per_layer"][0] > 0.2


def test_crashing_simulator_is_one_sentence(checkpoint: Path, tmp_path: Path) -> None:
    from bmru_pdk.layouts.tile import tile_files
    from bmru_pdk.verification.extract import extract

    files = tile_files(checkpoint, tmp_path / "tile")
    netlist = tb.split_top(extract(tmp_path / "tile" / "tile.gds").spice, files.name)
    broken = dataclasses.replace(netlist, body=[ln.replace("nfet_03v3", "nfet_typo")
                                                for ln in netlist.body])
    with pytest.raises(BmruError, match="ngspice failed") as err:
        simulation.simulate_utterance(broken, [["n_1"]], [np.zeros(1)], FRAMES, 200e-6)
    assert "\n" not in str(err.value)


def test_missing_top_cell() -> None:
    with pytest.raises(BmruError, match="no subcircuit nope"):
        tb.split_top(".subckt a x\n.ends a\n", "nope")


def test_the_model_runs_the_reset_the_tile_is_given(tmp_path: Path) -> None:
    """Tile and model start each utterance with the same reset, one frame per layer and one
    more, and drop it alike: the model's frames are the utterance's, and they are the
    frames of a run over the reset and the utterance after the reset (the frames the tile's
    decision nodes are read at). Dropping one frame too few would shift every state the
    compare reads by a frame."""
    from bmru_pdk.model.checkpoint import open_checkpoint

    model = open_checkpoint(random_checkpoint(n_in=2, d=2, layers=2, seed=3,
                                              path=tmp_path / "two.safetensors")).model()
    params = model.effective_parameters()
    x = np.array([[0, 0], [6, 6], [0, 0], [6, 0], [0, 6], [6, 6.0]])  # every state moves
    assert simulation.reset_frames(2) == 3
    states, scores = simulation.model_utterance(model, params, x)
    whole, whole_scores = simulation.model_run(model, params, simulation.with_reset(x, 2))
    assert len(whole_scores) == len(x) + 3
    assert len(scores) == len(x) and np.array_equal(scores, whole_scores[3:])
    assert all(np.array_equal(a, b[3:]) for a, b in zip(states, whole, strict=True))
    # the negative: a frame too few dropped reads other states
    assert not all(np.array_equal(a, b[2:-1]) for a, b in zip(states, whole, strict=True))
    one, _ = simulation.model_utterance(model, params, x, reset=1)
    assert len(one[0]) == len(x)


def test_the_tile_starts_at_the_rest_the_models_reset_leaves() -> None:
    """The decision nodes start at the states the model's reset leaves (its states after the
    reset frames of zero input), so the tile's reset has nothing to switch and no layer
    races the one below it (docs/compare.md, The rest). The bundled network's initial
    states are not its rest (the negative: starting there, two layer-0 units switch in the
    reset); started at its rest instead, the model's states over an utterance are the same
    in every frame, so the change moves the tile only."""
    import torch

    from bmru_pdk.model import bundled_checkpoint

    model = open_checkpoint(bundled_checkpoint()).model()
    with torch.no_grad():
        params = model.effective_parameters()
        rest = simulation.rest_states(model, params)
    whole, _ = simulation.model_run(model, params, np.zeros((3, model.meta.architecture.n_in)))
    assert all(np.array_equal(r, s[-1]) for r, s in zip(rest, whole, strict=True))
    s0 = [p["s0"].numpy() for p in params[:-1]]
    assert (rest[0] != s0[0]).sum() == 2
    x = np.random.default_rng(0).uniform(0, 8, (20, model.meta.architecture.n_in))
    at_rest = [{**p, "s0": torch.from_numpy(r)} for p, r in zip(params, rest, strict=False)]
    at_rest += params[len(rest):]
    from_s0, _ = simulation.model_utterance(model, params, x)
    from_rest, _ = simulation.model_utterance(model, at_rest, x)
    assert all(np.array_equal(a, b) for a, b in zip(from_s0, from_rest, strict=True))


def test_a_held_tile_matches_its_held_model(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A held two-layer network's tile (layer 0 sampled on the frame clock) agrees with its
    held model in every state bit of both layers, on frames whose candidates stay 17 % or
    more clear of every threshold (the tile's few-% errors cannot flip one). The negative:
    the unheld network's tile, whose layer 1 follows layer 0 within the frame, against the
    same held model disagrees in layer 1."""
    from bmru_pdk.layouts import tile

    unheld = random_checkpoint(n_in=2, d=1, layers=2, seed=2,
                               path=tmp_path / "unheld.safetensors")
    held = held_copy(unheld, tmp_path / "held.safetensors")
    f = cmp.compare(held, [samples.Utterance("hand", 0, FRAMES)], tmp_path / "held")
    assert f[HELD_TO]["state_agreement_per_layer"] == [1.0, 1.0]
    build = tile.build_tile
    monkeypatch.setattr(tile, "build_tile", lambda ckpt, *a, **kw: dataclasses.replace(
        build(open_checkpoint(unheld), *a, **kw), checkpoint=ckpt))
    f = cmp.compare(held, [samples.Utterance("hand", 0, FRAMES)], tmp_path / "unheld")
    assert f[HELD_TO]["state_agreement_per_layer"][1] < 0.8


def test_majority_vote_ties_go_to_the_lowest_class() -> None:
    assert simulation.majority_vote(np.array([[0.0, 1.0], [1.0, 0.0]])) == 0
    assert simulation.majority_vote(np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])) == 1


def test_sense_source_in_series_with_a_drain() -> None:
    tile = tb.split_top(".subckt t a b vss\nXM1 a b vss vss nfet_03v3 W=1u L=1u\n.ends t\n", "t")
    sensed = tb.sense_drains(tile, {"xm1": ("c0", "a")})
    assert sensed.body == ["XM1 c0_d b vss vss nfet_03v3 W=1u L=1u", "vc0 a c0_d 0"]
    assert sensed.senses == ("c0",)
    assert "i(vc0)" in tb.deck(sensed, np.zeros((1, 1)), 1e-3, [])
    with pytest.raises(BmruError, match="no device xm9 in the tile netlist"):
        tb.sense_drains(tile, {"xm9": ("c0", "a")})


def test_sense_finds_the_drain_of_a_finger_listed_source_first() -> None:
    """Two fingers of one device, the second written source first (as extraction may): both
    drains go through the one sense, no terminal is shorted to the source."""
    tile = tb.split_top(".subckt t a b vss\nXM1 a b vss vss nfet_03v3 W=1u L=1u\n"
                        "XM2 vss b a vss nfet_03v3 W=1u L=1u\n.ends t\n", "t")
    sensed = tb.sense_drains(tile, {"xm1": ("c0", "a"), "xm2": ("c0", "a")})
    assert sensed.body == ["XM1 c0_d b vss vss nfet_03v3 W=1u L=1u",
                           "XM2 vss b c0_d vss nfet_03v3 W=1u L=1u", "vc0 a c0_d 0"]
    odd = tb.split_top(".subckt t a b c vss\nXM1 a b vss vss nfet_03v3 W=1u L=1u\n"
                       "XM2 c b vss vss nfet_03v3 W=1u L=1u\n.ends t\n", "t")
    with pytest.raises(BmruError, match="different drain nets"):
        tb.sense_drains(odd, {"xm1": ("c0", "a"), "xm2": ("c0", "c")})


# Leakage of one OFF 4 x 4 µm nfet at Vds 0.42 V, A, measured with the gf180 models
# (DESIGN notes: 0.01 pA typical at 27 °C, 44 pA ff at 125 °C).
LEAKAGE_A = {("typical", 27.0): 0.01e-12, ("ff", 125.0): 44e-12}


def test_conditions_reach_the_simulator(checkpoint: Path, tmp_path: Path) -> None:
    """Corner, temperature and supply change the run: a hot ff die draws more, a lower
    supply draws less, and every frame leakage cannot decide agrees with the model.

    Why that set of frames: each weight output on the unit's summing rail is OFF when its
    input is zero and then leaks into the rail (the bias output is always conducting); at
    ff 125 °C that is up to 2 x 44 pA, 0.44 of the 0.2 nA unit current, so a candidate
    within that margin of a threshold may be read on
    the other side, and a state held through the band (hysteresis) then keeps the error
    until a frame decides it again. A frame whose candidate is beyond a threshold by more
    than the margin is decided whatever the history: those must agree, at every condition
    (at 27 °C the margin is a thousandth of a unit: every frame).
    """
    import torch

    from bmru_pdk.analyses.testbench import FRAME_S, Condition

    build, _x, sim = simulation.extracted_tile(checkpoint, tmp_path / "tile")
    model = build.checkpoint.model()
    with torch.no_grad():
        params = model.effective_parameters()
    states, _ = simulation.model_utterance(model, params, FRAMES)
    p = params[0]
    candidate = np.maximum(FRAMES @ p["weight"].numpy().T + p["bias"].numpy(), 0)[:, 0]
    lo, hi = float(p["beta_lo"][0]), float(p["beta_hi"][0])
    s0 = [q["s0"].numpy() for q in params[:-1]]
    power = {}
    for c in (Condition(), Condition("ff", 125.0), Condition(vdd_v=1.62)):
        hw = simulation.simulate_utterance(sim.netlist, sim.decision_nets, s0, FRAMES, FRAME_S,
                                           condition=c)
        assert len(hw.states[0]) == len(FRAMES)  # the reset frames are not read
        can_be_off = np.count_nonzero(p["weight"].numpy())  # the rail's weight outputs
        margin = can_be_off * LEAKAGE_A[(c.corner, c.temp_c)] / sim.netlist.unit_amps
        decided = (candidate > hi + margin) | (candidate < lo - margin)
        near = (np.abs(candidate - lo) < margin) | (np.abs(candidate - hi) < margin)
        # a frame is safe when no frame since the last decided one was within the margin
        safe, clean = [], True
        for k in range(len(FRAMES)):
            clean = True if decided[k] else clean and not near[k]
            safe.append(clean)
        agree = hw.states[0][:, 0] == states[0][:, 0]
        assert agree[safe].all(), (c.name, agree, safe)
        assert sum(safe) >= 5  # the margin leaves most frames decided, even when hot
        power[c.name] = hw.power_nw
    assert power["ff 125C 1.8V"] > 1.02 * power["typical 27C 1.8V"]
    assert power["typical 27C 1.62V"] < 0.95 * power["typical 27C 1.8V"]


def test_a_held_tile_is_clocked_and_integrated_with_gear() -> None:
    """A tile with a clock pin gets the frame clock, rising where the states are read, and
    Gear integration; ``gear=True`` gives an unheld tile the same integration (so the two
    can be compared on it); by default an unheld tile has neither (the negative)."""
    from bmru_pdk.circuits.characterize import FRAME_EDGE, GEAR
    from bmru_pdk.circuits.names import CLOCK

    x = np.ones((3, 1))

    def deck(pins: list[str], gear: bool = False) -> str:
        tile = tb.TileNetlist(top="t", pins=pins, blocks="", body=[], block_pins={})
        return tb.deck(tile, x, tb.FRAME_S, [], gear=gear)

    held = deck(["x0", "y0", CLOCK])
    assert GEAR in held
    clock = next(ln for ln in held.splitlines() if ln.startswith("Vclk"))
    assert float(clock.split()[5]) == pytest.approx((1 - 2 * FRAME_EDGE) * tb.FRAME_S)
    assert GEAR in deck(["x0", "y0"], gear=True)
    plain = deck(["x0", "y0"])
    assert GEAR not in plain and "Vclk" not in plain
