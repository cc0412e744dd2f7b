"""The per-die twin: the wafer test reads the nominal tile as the mapping realised it, reads a
Monte Carlo die's own values, and the die's twin predicts the die better than the checkpoint.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CODESIGNED

from bmru_pdk.analyses import simulation, twin
from bmru_pdk.analyses.testbench import FRAME_S
from bmru_pdk.model import samples


@pytest.fixture(scope="module")
def tile(tmp_path_factory: pytest.TempPathFactory) -> tuple:
    """The co-designed checkpoint's tile, extracted, with the test's senses; its realised
    parameters. (On the test's one utterance, die 1 of the bundled network's tile differs
    from its checkpoint in a bit or two, too few to tell a twin from the checkpoint:
    ``benchmarks/bench_twin.py`` measures that network over dies and utterances.)"""
    import torch

    from bmru_pdk.model.checkpoint import load_checkpoint

    ckpt = CODESIGNED
    model = load_checkpoint(ckpt)
    build, x, sim = simulation.extracted_tile(ckpt, tmp_path_factory.mktemp("twin"))
    with torch.no_grad():
        params = simulation.realised_parameters(model, build.mapping)
    tt = twin.twin_tile(sim, x.spice, build.schematic.to_spice(), build.name, params)
    return ckpt, model, params, tt, model.meta.input.offset * model.meta.input.scale_na


def _flat(params: list[dict]) -> dict[str, np.ndarray]:
    return {f"{i}.{k}": v.numpy() for i, p in enumerate(params) for k, v in p.items()}


def test_the_test_reads_the_nominal_tile_as_mapped(tile: tuple) -> None:
    """Mismatch off, every element the test reads is the mapping's realised value: weights,
    biases and alpha within 1 %, beta_hi within 5 % (the cell tables are measured at five
    I_thresh drawings and read in between through the bias output's share on a summing
    node, while the cell's I_thresh output drains into its decision node: a whole-unit and a
    stacked drawing respond to that drain differently, as test_circuits' round trips bound
    at 5 %). beta_lo within 20 %: the tables read a bare cell, the test the cell in its
    tile, and in layer 1 of the co-designed checkpoint at 0.2 nA per unit the test reads it
    10-16 % high (layer 0 within 6 %)."""
    import torch

    _ckpt, _model, params, tt, x_mid = tile
    values = twin.measure(tt, params, x_mid, FRAME_S, seed=None)
    with torch.no_grad():
        measured, realised = _flat(twin.twin_parameters(params, values)), _flat(params)
    d = len(params[0]["bias"])
    assert sum(k.endswith(".beta_hi") for k in values) == 2 * d  # every unit switched
    for key, rel in (("weight", 0.01), ("bias", 0.01), ("alpha", 0.01), ("beta_hi", 0.05),
                     ("beta_lo", 0.2)):
        for name in (n for n in realised if n.endswith(f".{key}")):
            assert measured[name] == pytest.approx(realised[name], rel=rel, abs=1e-3), name


def test_a_die_is_its_own_and_its_twin_predicts_it(tile: tuple) -> None:
    """A mismatch die reads off the nominal values by about the mirrors' sigma; the model with
    what it read agrees with the die's states far better than the checkpoint does."""
    import torch

    ckpt, model, params, tt, x_mid = tile
    values = twin.measure(tt, params, x_mid, FRAME_S, seed=1)
    with torch.no_grad():
        die = twin.twin_parameters(params, values)
    w, w_die = params[0]["weight"].numpy(), die[0]["weight"].numpy()
    spread = np.std(w_die[w != 0] / w[w != 0] - 1)
    assert 0.01 < spread < 0.2  # a 4 x 4 um mirror's sigma is ~5 %
    u = samples.load_utterances(ckpt, None, 1, "heldout")[0]
    hw = simulation.simulate_utterance(tt.sim.netlist, tt.sim.decision_nets,
                                [p["s0"].numpy() for p in params[:-1]], u.x_na, FRAME_S,
                                mismatch=True, seed=1)
    agree = {}
    for name, p in (("twin", die), ("checkpoint", params)):
        states, _ = simulation.model_utterance(model, p, u.x_na)
        agree[name] = np.mean([(a == b).mean() for a, b in zip(hw.states, states,
                                                                strict=True)])
    # the twin misses at most half the bits the checkpoint misses, and few
    assert 1 - agree["twin"] < 0.5 * (1 - agree["checkpoint"]) and agree["twin"] > 0.98, agree


def test_the_twin_of_a_tile_drawn_with_its_rail_generator(tmp_path: Path) -> None:
    """The tile as ``make run`` draws it (rail drawn, held by its generator in the tile) is
    tested and run with its generator driven: every element of a one-unit tile is read, and
    mismatch off the test reads the values the mapping realised (weights and biases within 1 %
    as on ground above; the cell's values as the nominal tile's test bounds them). The
    generator without the drawn rail is refused."""
    import torch

    from bmru_pdk.analyses import testbench as tb
    from bmru_pdk.errors import BmruError
    from bmru_pdk.model.checkpoint import random_checkpoint

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "t.safetensors")
    frames = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)
    r = twin.run(ckpt, [samples.Utterance("hand", 0, frames)], [1], source_rail=True,
                 condition=tb.generated_rail())
    assert r["drawn_rail"] and r["rail_generator"]
    build, x, sim = simulation.extracted_tile(ckpt, tmp_path / "tile", source_rail=True,
                                              rail_generator=tb.generated_rail().rail_generator)
    model = build.checkpoint.model()
    with torch.no_grad():
        params = simulation.realised_parameters(model, build.mapping)
    tt = twin.twin_tile(sim, x.spice, build.schematic.to_spice(), build.name, params)
    x_mid = model.meta.input.offset * model.meta.input.scale_na
    values = twin.measure(tt, params, x_mid, FRAME_S, seed=None, condition=tb.generated_rail())
    assert r["dies"][0]["measured"] == len(values)
    with torch.no_grad():
        measured, realised = _flat(twin.twin_parameters(params, values)), _flat(params)
    for key, rel in (("weight", 0.01), ("bias", 0.01), ("alpha", 0.01), ("beta_hi", 0.05),
                     ("beta_lo", 0.2)):
        for name in (n for n in realised if n.endswith(f".{key}")):
            assert measured[name] == pytest.approx(realised[name], rel=rel, abs=1e-3), name
    with pytest.raises(BmruError, match="rail"):
        twin.run(ckpt, [], [1], condition=tb.generated_rail())


def test_an_edge_is_read_off_the_ramp_not_the_kick() -> None:
    """The summing node's kick at the switch itself is not the threshold: the line through
    the ramp before the edge is."""
    t = np.linspace(0, 1, 1001)
    ramp = 2 * t  # the ReLU current
    out = np.where(t >= 0.5, 1.0, 0.0)
    kicked = ramp + np.where(np.abs(t - 0.5) < 0.003, 0.5, 0.0)
    assert twin._edge(t, out, 0.5, kicked, rising=True) == pytest.approx(1.0, abs=0.005)
    assert twin._edge(t, out, 0.5, kicked, rising=False) is None  # it never switches off


def test_a_trim_offsets_the_keyword_score_and_zero_is_the_vote() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(20, 11, 2))
    assert [int(v) for v in twin.decisions(scores, 0.0)] == [simulation.majority_vote(s)
                                                              for s in scores]
    near = np.array([[1.0, 0.9]] * 5)  # the keyword 0.1 short on every frame
    assert twin.decisions(near, 0.0) == 0 and twin.decisions(near, 0.15) == 1
