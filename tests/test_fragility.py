"""A cell deciding against its model, held while its band holds it: what it costs the
network (analyses.fragility)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bmru_pdk.analyses.fragility import knife_edge_flips  # noqa: E402
from bmru_pdk.model.checkpoint import default_meta  # noqa: E402
from bmru_pdk.model.network import BMRUNet  # noqa: E402

FRAMES = 6


def _chain(held: bool, hi1: float) -> tuple[BMRUNet, list[dict]]:
    """One unit per layer. Layer 0 (w 1, b 1.5, band 1-2 nA, alpha 2) rests ON from its
    initial state (its zero-input candidate 1.5 is in its band); layer 1 (w 1, band 1-``hi1``)
    sees 2 nA while layer 0 is ON and 0 while it is OFF, and starts ON."""
    net = BMRUNet(default_meta(1, 1, 2, ["a", "b"], held=held))

    def t(v: float) -> torch.Tensor:
        return torch.tensor([v])

    layer0 = {"weight": torch.ones(1, 1), "bias": t(1.5), "beta_lo": t(1.0), "beta_hi": t(2.0),
              "alpha": t(2.0), "s0": t(1.0)}
    layer1 = {"weight": torch.ones(1, 1), "bias": t(0.0), "beta_lo": t(1.0), "beta_hi": t(hi1),
              "alpha": t(1.0), "s0": t(1.0)}
    return net, [layer0, layer1, {"weight": torch.ones(2, 1), "bias": torch.zeros(2)}]


@pytest.mark.parametrize("held", [False, True])
def test_a_flip_below_a_unit_in_its_band_loses_it_to_the_end(held: bool) -> None:
    # input 0.6 nA: layer 0's candidate 2.1 nA, 5 % above its beta_hi (exposed), so a flip of
    # layer 0 lasts one frame; layer 1's 2 nA lies in its 1-3 nA band, so it holds ON until
    # the flip takes its candidate to 0, and then holds OFF
    net, params = _chain(held, hi1=3.0)
    below, above = knife_edge_flips(net, params, np.full((FRAMES, 1), 0.6))
    assert below.lost_to_end[:, 0].tolist() == [1] * (FRAMES - 1) + [0]
    # the flipped frame, then layer 1 from it (a held layer 1 from the next) to the end
    changed = (1 + FRAMES - np.arange(FRAMES) - held) / (2 * FRAMES)
    assert np.allclose(below.bits_changed[:, 0], changed)
    assert below.exposed.all()
    assert np.allclose(below.margin, 0.05)
    # a flip of layer 1 itself: its band holds it to the end
    assert above.lost_to_end[:, 0].tolist() == [1] * (FRAMES - 1) + [0]
    # its candidate, 2 nA, lies a third of beta_hi (3 nA) below it: not exposed
    assert np.allclose(above.margin, 1 / 3) and not above.exposed.any()


def test_a_flip_below_a_unit_above_its_band_costs_one_frame() -> None:
    # negative: layer 1's 2 nA is above a 1.5 nA beta_hi, so it turns ON again next frame
    net, params = _chain(False, hi1=1.5)
    below, above = knife_edge_flips(net, params, np.full((FRAMES, 1), 0.6))
    assert not below.lost_to_end.any() and not above.lost_to_end.any()
    assert np.allclose(below.bits_changed, 2 / (2 * FRAMES))
    assert np.allclose(above.bits_changed, 1 / FRAMES)


def test_a_cell_in_its_band_holds_its_flip_and_the_layer_above_follows() -> None:
    # zero input: layer 0's candidate 1.5 nA is in its band, so a flip OFF holds to the end,
    # and layer 1, seeing 0 nA, turns OFF for good too
    net, params = _chain(False, hi1=3.0)
    below, _ = knife_edge_flips(net, params, np.zeros((FRAMES, 1)))
    assert below.lost_to_end[:, 0].tolist() == [2] * (FRAMES - 1) + [0]
    assert np.allclose(below.bits_changed[:, 0], (FRAMES - np.arange(FRAMES)) / FRAMES)


def test_a_flip_far_from_a_threshold_is_not_exposed() -> None:
    # negative: input 1.5 nA, layer 0's candidate 3 nA, half its beta_hi above it
    net, params = _chain(False, hi1=3.0)
    below, _ = knife_edge_flips(net, params, np.full((FRAMES, 1), 1.5))
    assert not below.exposed.any()
    assert below.lost_to_end[:-1].all()  # the flip still costs layer 1 what it did
