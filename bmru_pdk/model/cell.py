"""The FQ-BMRU cell: Heaviside with a surrogate gradient, and the two state-update paths.

All quantities are currents in nA (1 software unit = 1 nA). The state recurrence
``s_t = hold_t * s_{t-1} + force_t`` is affine in ``s``, so it can run either as a plain
loop over frames or as an associative (Hillis-Steele) scan; because ``hold`` and ``force``
are 0/1 and never both 1, every intermediate value is exactly 0 or 1 and both paths give
bit-identical states.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

Mode = Literal["scan", "loop"]


class _Heaviside(torch.autograd.Function):
    """H(x) = 1 for x >= 0 (so H(0) = 1); backward uses 1 / (1 + (pi a x)^2)."""

    @staticmethod
    def forward(ctx, x: Tensor, a: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.a = a
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        # arctan surrogate: the derivative of 1/2 + atan(pi a x) / pi, scaled so its peak is a
        return grad * ctx.a / (1.0 + (math.pi * ctx.a * x) ** 2), None


def heaviside(x: Tensor, a: float = 1.0) -> Tensor:
    """Heaviside step with H(0) = 1 and an arctan surrogate gradient of sharpness ``a``.

    Args:
        x: Input tensor (nA).
        a: Surrogate sharpness in 1/nA; the backward pass uses a / (1 + (pi a x)^2).

    Returns:
        A tensor of 0.0 / 1.0 with the dtype of ``x``.
    """
    return _Heaviside.apply(x, a)


def gates(c: Tensor, beta_lo: Tensor, beta_hi: Tensor, a: float = 1.0) -> tuple[Tensor, Tensor]:
    """Return ``(hold, force_high)`` for candidate currents ``c``.

    Args:
        c: Candidate currents, shape (..., d), nA.
        beta_lo: Lower threshold per unit, shape (d,), nA (non-negative).
        beta_hi: Upper threshold per unit, shape (d,), nA; must be >= beta_lo.
        a: Surrogate sharpness.

    Returns:
        ``hold = H(c - beta_lo) (1 - H(c - beta_hi))`` and ``force_high = H(c - beta_hi)``.
    """
    force = heaviside(c - beta_hi, a)
    # Equal to H(c - beta_lo) * (1 - force) in the forward pass, because beta_lo <= beta_hi
    # makes force = 1 imply H(c - beta_lo) = 1. The difference form keeps the gradient of a
    # unit that is ON above beta_hi alive (the product form gives it exactly zero there, so
    # units saturated ON could never learn to turn OFF).
    hold = heaviside(c - beta_lo, a) - force
    return hold, force


def scan_loop(hold: Tensor, force: Tensor, s0: Tensor) -> Tensor:
    """Sequential state update over time.

    Args:
        hold: Hold gates, shape (B, T, d), values 0/1.
        force: Force-high gates, shape (B, T, d), values 0/1.
        s0: Initial state, shape (d,), values 0/1.

    Returns:
        States ``s_1..s_T``, shape (B, T, d).
    """
    s = s0.expand(hold.shape[0], hold.shape[2])
    out = []
    for t in range(hold.shape[1]):
        s = hold[:, t] * s + force[:, t]
        out.append(s)
    return torch.stack(out, dim=1)


def scan_associative(hold: Tensor, force: Tensor, s0: Tensor) -> Tensor:
    """Parallel state update with the operator (a, b) o (a', b') = (a a', a' b + b').

    Runs ceil(log2 T) vectorised steps instead of T; same arguments and result as
    :func:`scan_loop`, bit for bit.
    """
    a = hold
    # Fold the initial state into the first frame so the scan starts from s = 0.
    b = torch.cat([hold[:, :1] * s0 + force[:, :1], force[:, 1:]], dim=1)
    k = 1
    while k < a.shape[1]:
        a_prev, b_prev = a[:, :-k], b[:, :-k]
        b = torch.cat([b[:, :k], a[:, k:] * b_prev + b[:, k:]], dim=1)
        a = torch.cat([a[:, :k], a[:, k:] * a_prev], dim=1)
        k *= 2
    return b


class FQBMRU(nn.Module):
    """One layer of FQ-BMRU units: ``c = ReLU(W x + b)`` feeding d hysteretic cells.

    Parameters (all currents in nA): ``weight`` (d, n_in) signed mirror ratios, ``bias`` (d,)
    signed bias current, ``beta1`` and ``delta`` (d,) whose magnitudes give
    ``beta_lo = |beta1|`` and ``beta_hi = beta_lo + |delta|``, ``alpha`` (d,) whose magnitude
    is the ON output current, and ``s0_logit`` (d,) giving the learnable initial state
    ``s0 = H(s0_logit)``.
    """

    def __init__(self, n_in: int, d: int, surrogate_a: float = 1.0) -> None:
        """Create a layer with ``n_in`` input currents and ``d`` units.

        Args:
            n_in: Number of input currents.
            d: Number of units.
            surrogate_a: Sharpness of the surrogate gradient (1/nA).
        """
        super().__init__()
        self.n_in, self.d, self.surrogate_a = n_in, d, surrogate_a
        self.weight = nn.Parameter(torch.empty(d, n_in))
        self.bias = nn.Parameter(torch.empty(d))
        self.beta1 = nn.Parameter(torch.empty(d))
        self.delta = nn.Parameter(torch.empty(d))
        self.alpha = nn.Parameter(torch.empty(d))
        self.s0_logit = nn.Parameter(torch.empty(d))

    def forward(
        self,
        x: Tensor,
        params: dict[str, Tensor],
        mode: Mode = "scan",
        candidate_noise: float = 0.0,
    ) -> tuple[Tensor, Tensor]:
        """Run the layer on a sequence.

        Args:
            x: Input currents, shape (B, T, n_in), nA.
            params: Effective (constrained, possibly perturbed) parameters from the network:
                ``weight``, ``bias``, ``beta_lo``, ``beta_hi``, ``alpha``, ``s0``.
            mode: ``"scan"`` (parallel) or ``"loop"`` (sequential); identical states.
            candidate_noise: Standard deviation (nA) of additive Gaussian noise on ``c``.

        Returns:
            ``(h, s, c)``: output currents ``alpha * s``, states and candidates, all (B, T, d).
        """
        c = torch.relu(x @ params["weight"].T + params["bias"])
        if candidate_noise > 0:
            c = c + candidate_noise * torch.randn_like(c)
        hold, force = gates(c, params["beta_lo"], params["beta_hi"], self.surrogate_a)
        run = scan_associative if mode == "scan" else scan_loop
        s = run(hold, force, params["s0"])
        return params["alpha"] * s, s, c
