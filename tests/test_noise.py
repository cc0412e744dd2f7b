"""Noise immunity of a BMRU unit (ngspice and model, with a comparator that must fail) and the
mismatch Monte Carlo's seeds."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk import spice
from bmru_pdk.analyses import montecarlo, noise
from bmru_pdk.analyses.simulation import realised_parameters
from bmru_pdk.circuits.design import design
from bmru_pdk.circuits.mapping import load_tables
from bmru_pdk.executor import LocalExecutor
from bmru_pdk.model import samples
from bmru_pdk.model.checkpoint import open_checkpoint, random_checkpoint

REL = 0.03  # relative input noise: well inside the unit's margins, not the comparator's


@pytest.fixture(scope="module")
def unit_point():
    u = noise.unit()
    return u, noise.measure_thresholds(u)


@pytest.fixture(scope="module")
def clean(unit_point) -> np.ndarray:
    return noise.clean_sequence(unit_point[1], 200, np.random.default_rng(0))


def test_unit_suppresses_input_noise(unit_point, clean: np.ndarray) -> None:
    u, point = unit_point
    assert 0.5 < point.beta_lo < point.beta_hi - 0.3, "the unit lost its hysteresis"
    runs = noise.sweep(u, point, clean, (REL,), seed=1)
    for kind in ("spice", "model"):
        d = runs[kind][0]
        assert d.input == pytest.approx(REL, rel=0.2)
        assert d.flipped_frames == 0, f"{kind}: noise of {REL:.0%} flipped the state"
        assert d.suppression >= 20, f"{kind}: suppression {d.suppression:.3g}"


def test_comparator_without_hysteresis_does_not(unit_point, clean: np.ndarray) -> None:
    """Negative control: the same unit without M9, its threshold at the band's centre, on the
    same input: the measurement must fail it."""
    point = unit_point[1]
    comparator = noise.comparator(point)
    p = noise.measure_thresholds(comparator)
    assert p.beta_hi - p.beta_lo < 0.05 * p.beta_hi, "the control kept a hysteresis loop"
    runs = noise.sweep(comparator, p, clean, (REL,), seed=1)
    for kind in ("spice", "model"):
        d = runs[kind][0]
        assert d.flipped_frames > 0
        assert d.suppression < 2, f"{kind}: the comparator suppressed {d.suppression:.3g}x"


# four equal transistors as model subcircuit calls (where the statistical mismatch lives)
EQUAL_FETS = "".join(f"vd{k} d{k} 0 0.9\nxm{k} d{k} g 0 0 nfet_03v3 w=2u l=1u as=1p ad=1p ps=4u "
                  f"pd=4u\n" for k in range(4)) + "vg g 0 0.35\n.op"


def _currents(**kwargs) -> np.ndarray:
    r = spice.simulate(EQUAL_FETS, **kwargs)
    return np.array([-r[f"i(vd{k})"][0] for k in range(4)])


def test_mismatch_seeds_repeat_and_differ() -> None:
    one = _currents(mismatch=True, seed=1)
    assert np.array_equal(one, _currents(mismatch=True, seed=1))
    two = _currents(mismatch=True, seed=2)
    assert np.abs(two / one - 1).max() > 0.01
    assert np.std(one) / np.mean(one) > 0.01  # equal devices differ within one sample
    off = _currents(mismatch=False, seed=1)
    assert np.array_equal(off, _currents(mismatch=False, seed=2))
    assert np.all(off == off[0])


# input currents (nA) of a two-input unit: frames above, below and between its thresholds
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)


def test_monte_carlo_of_a_tile(tmp_path: Path) -> None:
    import torch

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "t.safetensors")
    frames = FRAMES
    with LocalExecutor(2) as pool:  # the dies spread over worker processes
        r = montecarlo.run(ckpt, [samples.Utterance("hand", 0, frames)], [1, 1, 2], executor=pool)
    a, b, c = r["samples"]
    assert a["state_agreement"] == b["state_agreement"] and a["power_nw"] == b["power_nw"]
    assert c["power_nw"] != a["power_nw"]
    assert r["nominal"][0]["state_agreement"] == [1.0]
    assert r["summary"]["samples"] == 3
    # Mismatch can move a frame's state only where the candidate lies within a few sigma of
    # a threshold: each mirror's gain has the unit's measured sigma (~5 %), so the candidate
    # (sum of w_i x_i and b) and each threshold move by that fraction of their terms; frames
    # beyond 3 sigma of both thresholds, or held since such a frame, cannot differ on any
    # die of a 3-die sample (a die that fails them is a simulation error, not mismatch).
    # The model runs the values the drawing realises, so the margins are taken from them.
    sigma = max(load_tables().mismatch_sigma.values())
    checkpoint = open_checkpoint(ckpt)
    with torch.no_grad():
        layer = realised_parameters(checkpoint.model(), [
            asdict(m) for m in design(checkpoint).mapping])[0]
    w, b = layer["weight"][0].numpy(), float(layer["bias"][0])
    lo, hi = float(layer["beta_lo"][0]), float(layer["beta_hi"][0])
    cand = np.maximum(frames @ w + b, 0)
    spread = sigma * np.sqrt(((frames * w) ** 2).sum(1) + b**2)
    margin_lo = 3 * np.hypot(spread, sigma * lo)
    margin_hi = 3 * np.hypot(spread, sigma * hi)
    decided = (cand > hi + margin_hi) | (cand < lo - margin_lo)
    near = (np.abs(cand - lo) < margin_lo) | (np.abs(cand - hi) < margin_hi)
    safe, clean = 0, True
    for k in range(len(frames)):
        clean = True if decided[k] else clean and not near[k]
        safe += clean
    assert safe >= 4  # the bound says something
    assert r["summary"]["state_agreement_per_layer"][0]["min"] >= safe / len(frames)
    s = r["summary"]
    # a die whose decision matches the label scores 100 %, else 0 %: one utterance
    assert s["die_accuracy"]["min"] in (0.0, 1.0) and s["model_accuracy"] in (0.0, 1.0)
    assert s["commonest_class_accuracy"] == 1.0  # one utterance: its class is the commonest
    close = sum(abs(float(x["correct"]) - s["model_accuracy"]) <= 0.01 for x in (a, c))
    assert s["dies_within_1_point"] == f"{close}/2"  # seeds 1 and 2: two dies
    assert montecarlo.plot(r, tmp_path / "mc.png").stat().st_size > 0


def test_monte_carlo_of_a_tile_drawn_with_its_rail_generator(tmp_path: Path) -> None:
    """The dies of the tile as ``make run`` draws it: the rail drawn, held by its generator
    in the tile. Mismatch off it agrees with the model on FRAMES as the tile on ground does
    (at 27 °C the generator holds the rail within a few mV of ground), and its tile is not
    the tile on ground. The generator without the drawn rail is refused."""
    from bmru_pdk.analyses import testbench as tb
    from bmru_pdk.errors import BmruError

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "t.safetensors")
    utt = [samples.Utterance("hand", 0, FRAMES)]
    r = montecarlo.run(ckpt, utt, [1], source_rail=True, condition=tb.generated_rail())
    assert r["drawn_rail"] and r["rail_generator"]
    assert r["nominal"][0]["state_agreement"] == [1.0]
    ground = montecarlo.run(ckpt, utt, [1])
    assert ground["tile"] != r["tile"] and not ground["drawn_rail"]
    with pytest.raises(BmruError, match="rail"):
        montecarlo.run(ckpt, utt, [1], condition=tb.generated_rail())


def test_a_seed_is_the_same_die_in_every_bench(tmp_path: Path) -> None:
    """Monte Carlo and the twin simulate a die on differently decorated netlists (the twin
    senses more devices); the seed alone must pick the die: the same seed gives the same
    run on both, another seed another die."""
    import torch

    from bmru_pdk.analyses import simulation, twin

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "t.safetensors")
    build, x, sim = simulation.extracted_tile(ckpt, tmp_path / "tile")
    with torch.no_grad():
        params = simulation.realised_parameters(build.checkpoint.model(), build.mapping)
    tt = twin.twin_tile(sim, x.spice, build.schematic.to_spice(), build.name, params)
    assert len(tt.sim.netlist.senses) > len(sim.netlist.senses)
    frames = np.array([[3, 0], [0, 0], [5, 1]], float)
    s0 = [p["s0"].numpy() for p in params[:-1]]
    runs = [simulation.simulate_utterance(t.netlist, t.decision_nets, s0, frames, 2e-3,
                                          mismatch=True, seed=seed)
            for t, seed in ((sim, 3), (tt.sim, 3), (sim, 4))]
    # the same die: equal within the solver's tolerance (reltol 1e-3; the extra sense sources
    # change its time steps); another die differs by its mismatch (~5 % per mirror)
    assert np.array_equal(runs[0].states[0], runs[1].states[0])
    assert np.allclose(runs[0].scores, runs[1].scores, rtol=1e-3, atol=1e-4)
    assert runs[0].power_nw == pytest.approx(runs[1].power_nw, rel=1e-3)
    assert np.abs(runs[2].scores / runs[0].scores - 1).max() > 0.01
