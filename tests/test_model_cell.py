"""FQ-BMRU cell and network: equations, scan vs loop, hardware options."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from bmru_pdk.model.cell import gates, heaviside, scan_associative, scan_loop  # noqa: E402
from bmru_pdk.model.checkpoint import default_meta  # noqa: E402
from bmru_pdk.model.network import BMRUNet  # noqa: E402
from bmru_pdk.model.schema import Realisability  # noqa: E402


def _net(d: int = 4, layers: int = 2, seed: int = 0, held: bool = False,
         **real: float) -> BMRUNet:
    meta = default_meta(13, d, layers, ["a", "b"], Realisability(**real), held=held)
    net = BMRUNet(meta)
    net.init_parameters(torch.Generator().manual_seed(seed))
    return net


def test_heaviside_is_one_at_zero_and_has_arctan_surrogate() -> None:
    x = torch.tensor([-1.0, 0.0, 1.0], requires_grad=True)
    y = heaviside(x, a=1.0)
    assert y.tolist() == [0.0, 1.0, 1.0]
    y.sum().backward()
    expected = 1.0 / (1.0 + (torch.pi * x.detach()) ** 2)
    assert torch.allclose(x.grad, expected)


def test_gates_match_the_published_equations_including_ties() -> None:
    beta_lo, beta_hi = torch.tensor([1.0]), torch.tensor([2.0])
    c = torch.tensor([[0.5], [1.0], [1.5], [2.0], [2.5]])
    hold, force = gates(c, beta_lo, beta_hi)
    h = lambda v: (v >= 0).float()  # noqa: E731
    assert torch.equal(force, h(c - beta_hi))
    assert torch.equal(hold, h(c - beta_lo) * (1 - h(c - beta_hi)))
    assert hold.flatten().tolist() == [0, 1, 1, 0, 0]


def test_hysteresis_sets_holds_and_resets() -> None:
    c = torch.tensor([0.5, 1.5, 2.0, 1.5, 1.0, 0.9, 1.5]).reshape(1, -1, 1)
    hold, force = gates(c, torch.tensor([1.0]), torch.tensor([2.0]))
    s = scan_loop(hold, force, torch.zeros(1))
    assert s.flatten().tolist() == [0, 0, 1, 1, 1, 0, 0]


@pytest.mark.parametrize("steps", [1, 2, 7, 64, 101, 130])
def test_scan_is_bit_identical_to_loop_with_ties(steps: int) -> None:
    g = torch.Generator().manual_seed(steps)
    beta_lo = torch.tensor([1.0, 0.0, 2.0, 1.0, 3.0])
    beta_hi = beta_lo + torch.tensor([1.0, 0.0, 0.5, 2.0, 0.0])
    # Integer-valued candidates hit the thresholds exactly and often.
    c = torch.randint(0, 5, (8, steps, 5), generator=g).float()
    c[:, ::3] += torch.rand(8, (steps + 2) // 3, 5, generator=g)
    hold, force = gates(c, beta_lo, beta_hi)
    for s0 in (torch.zeros(5), torch.ones(5), torch.tensor([1.0, 0, 1, 0, 1])):
        assert torch.equal(scan_loop(hold, force, s0), scan_associative(hold, force, s0))


def test_network_paths_agree_on_random_inputs() -> None:
    net = _net()
    x = torch.rand(6, 101, 13, generator=torch.Generator().manual_seed(1)) * 6
    with torch.no_grad():
        y1, s1 = net(x, mode="scan", return_states=True)
        y2, s2 = net(x, mode="loop", return_states=True)
    assert all(torch.equal(a, b) for a, b in zip(s1, s2, strict=True))
    assert torch.equal(y1, y2)
    assert set(torch.cat(s1).unique().tolist()) <= {0.0, 1.0}


def test_gradients_reach_every_parameter() -> None:
    net = _net()
    x = torch.rand(4, 30, 13, generator=torch.Generator().manual_seed(2)) * 6
    net(x).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_weight_range_and_grid_are_enforced() -> None:
    net = _net(w_min=0.2, w_max=0.5, w_step=0.125, i_max=4.0, i_step=0.25, beta_hi_max=4.0,
               alpha_max=4.0)
    with torch.no_grad():
        net.layers[0].weight.mul_(10)
    params = net.effective_parameters()
    for p in params:
        w = p["weight"]
        assert w.abs().max() <= 0.5
        assert torch.equal(w, torch.round(w / 0.125) * 0.125)
        # absent or at least w_min, rounded up to the grid
        assert ((w == 0) | (w.abs() >= 0.25)).all()
    for p in params[:-1]:
        for key in ("bias", "beta_lo", "delta", "alpha"):
            assert p[key].abs().max() <= 4.0
            assert torch.allclose(p[key], torch.round(p[key] / 0.25) * 0.25)


def test_mismatch_perturbs_every_element_reproducibly() -> None:
    net = _net()
    clean = net.effective_parameters()
    a = net.effective_parameters(0.05, torch.Generator().manual_seed(3))
    b = net.effective_parameters(0.05, torch.Generator().manual_seed(3))
    for pc, pa, pb in zip(clean, a, b, strict=True):
        for key in pc:
            assert torch.equal(pa[key], pb[key])
            nonzero = pc[key] != 0
            # beta_lo = beta_hi - delta follows the perturbed elements; it is not one itself.
            if key not in ("s0", "beta_lo") and nonzero.any():
                assert not torch.equal(pa[key], pc[key]), key
                ratio = pa[key][nonzero] / pc[key][nonzero]
                assert (ratio - 1).abs().max() < 0.5, key


def test_candidate_noise_changes_outputs_only_when_set() -> None:
    net = _net()
    x = torch.rand(2, 50, 13, generator=torch.Generator().manual_seed(4)) * 6
    with torch.no_grad():
        assert torch.equal(net(x), net(x, candidate_noise=0.0))
        torch.manual_seed(0)
        assert not torch.equal(net(x), net(x, candidate_noise=2.0))


def test_power_estimate_by_part_grows_with_d() -> None:
    from bmru_pdk.model.power import estimate_power

    x = torch.rand(4, 40, 13, generator=torch.Generator().manual_seed(5)) * 6
    small, large = estimate_power(_net(d=4), x), estimate_power(_net(d=16), x)
    assert min(small.cells_nw, small.fc_mirrors_nw, small.biases_nw) > 0
    assert large.fc_mirrors_nw > small.fc_mirrors_nw and large.cells_nw > small.cells_nw
    assert small.total_nw == small.cells_nw + small.fc_mirrors_nw + small.biases_nw


@pytest.mark.parametrize("layers", [2, 3])
def test_a_held_network_passes_each_layers_states_on_a_frame_late(layers: int) -> None:
    """Each layer of a held network but the first runs on the states its layer below had a
    frame before (the first frame on the initial states): run layer by layer on the
    unheld network's inputs shifted by a frame, it gives the held network's states
    exactly, in scan and loop; the unheld network, on the same inputs, does not."""
    held, unheld = _net(layers=layers, held=True), _net(layers=layers)
    x = torch.rand(3, 60, 13, generator=torch.Generator().manual_seed(2)) * 6
    with torch.no_grad():
        params = held.effective_parameters()
        h, states = x, []
        for layer, p in zip(held.layers, params[:-1], strict=True):
            out, s, _ = layer(h, p)
            states.append(s)
            h = torch.cat([(p["alpha"] * p["s0"]).expand(3, 1, -1), out[:, :-1]], dim=1)
        for mode in ("scan", "loop"):
            _, got = held(x, mode=mode, return_states=True)
            assert all(torch.equal(a, b) for a, b in zip(got, states, strict=True))
        _, plain = unheld(x, return_states=True)
    assert torch.equal(plain[0], states[0])  # the first layer is the same network
    assert not all(torch.equal(a, b) for a, b in zip(plain[1:], states[1:], strict=True))
