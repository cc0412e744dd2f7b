"""One frame of a layer-0 unit off its model: what it costs layer 1 (analyses.fragility)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bmru_pdk.analyses.fragility import one_frame_flips  # noqa: E402
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
    # input 0.6 nA: layer 0's candidate 2.1 nA, 5 % above its beta_hi (exposed); layer 1's
    # 2 nA lies in its 1-3 nA band, so it holds ON until a flip takes it to 0 and holds OFF
    net, params = _chain(held, hi1=3.0)
    flips = one_frame_flips(net, params, np.full((FRAMES, 1), 0.6))
    assert flips.lost_to_end[:, 0].tolist() == [1] * (FRAMES - 1) + [0]
    assert np.allclose(flips.bits_changed[:, 0], (FRAMES - np.arange(FRAMES) - held) / FRAMES)
    assert flips.exposed.all()
    assert np.allclose(flips.margin, 0.05)


def test_a_flip_below_a_unit_above_its_band_costs_one_frame() -> None:
    # negative: layer 1's 2 nA is above a 1.5 nA beta_hi, so it turns ON again next frame
    net, params = _chain(False, hi1=1.5)
    flips = one_frame_flips(net, params, np.full((FRAMES, 1), 0.6))
    assert not flips.lost_to_end.any()
    assert np.allclose(flips.bits_changed, 1 / FRAMES)


def test_a_flip_far_from_a_threshold_is_not_exposed() -> None:
    # negative: input 1.5 nA, layer 0's candidate 3 nA, half its beta_hi above it
    net, params = _chain(False, hi1=3.0)
    flips = one_frame_flips(net, params, np.full((FRAMES, 1), 1.5))
    assert not flips.exposed.any()
    assert flips.lost_to_end[:-1].all()  # the flip still costs layer 1 what it did


def test_a_one_layer_network_has_nothing_to_flip() -> None:
    net = BMRUNet(default_meta(1, 1, 1, ["a", "b"]))
    with pytest.raises(ValueError, match="no recurrent layer below"):
        one_frame_flips(net, [{}, {}], np.zeros((2, 1)))
