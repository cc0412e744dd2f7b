"""The signed BMRU: the bistable unit before the first-quadrant reformulation (our reading).

Defined here from the FQ-BMRU equations, not from any other code: the candidate is signed
and the state is -1 or +1, with thresholds symmetric about zero. Per unit, per step t:

    c_t   = W x_t + b                          signed candidate (no ReLU)
    beta  = |beta1|                            one learned threshold
    up    = H(c_t - beta)                      c_t >= beta:   forced to +1
    down  = 1 - H(c_t + beta)                  c_t < -beta:   forced to -1
    hold  = H(c_t + beta) - up                 -beta <= c_t < beta: kept
    s_t   = hold s_{t-1} + (up - down)         state in {-1, +1}
    h_t   = alpha s_t                          output in {-alpha, +alpha}

with H(0) = 1 and the FQ cell's arctan surrogate gradient (:func:`cell.heaviside`). Apart from
the ReLU, the FQ cell is this unit moved into the first quadrant: its hold band
[beta_lo, beta_hi) is the band [-beta, beta) shifted to (beta_lo + beta_hi) / 2 with
beta = delta / 2, and its states 0 / 1 are -1 / +1.

``s_t = a_t s_{t-1} + b_t`` with ``a = hold`` and ``b = up - down`` is the FQ cell's affine
recurrence, so the same associative scan runs it. When ``a = 1``, ``b = 0``, and when
``a = 0``, ``b = +-1``: composing such maps gives maps of the same kind, so every scan
value is exactly -1, 0 or +1 and the scan and the loop agree bit for bit.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bmru_pdk.model.cell import Mode, heaviside, scan_associative, scan_loop


def signed_gates(c: Tensor, beta: Tensor, a: float = 1.0) -> tuple[Tensor, Tensor]:
    """Return ``(hold, step)`` of the signed unit.

    Args:
        c: Candidates, shape (..., d).
        beta: Threshold per unit, shape (d,), non-negative.
        a: Surrogate sharpness.

    Returns:
        ``hold = H(c + beta) - H(c - beta)`` and ``step = H(c - beta) - (1 - H(c + beta))``.
    """
    up = heaviside(c - beta, a)
    above_low = heaviside(c + beta, a)
    # the difference form, as in the FQ cell, keeps a gradient for units held at +-1
    return above_low - up, up - (1 - above_low)


class SignedBMRU(nn.Module):
    """One layer of signed BMRU units: ``c = W x + b`` feeding d bistable units.

    Parameters: ``weight`` (d, n_in), ``bias`` (d,), ``beta1`` (d,) with ``beta = |beta1|``,
    ``alpha`` (d,) with output magnitude ``|alpha|``, ``s0_logit`` (d,) with initial state
    ``s0 = 2 H(s0_logit) - 1``.
    """

    def __init__(self, n_in: int, d: int, surrogate_a: float = 1.0) -> None:
        """Create a layer with ``n_in`` inputs and ``d`` units.

        Args:
            n_in: Inputs per step.
            d: Units.
            surrogate_a: Sharpness of the surrogate gradient.
        """
        super().__init__()
        self.n_in, self.d, self.surrogate_a = n_in, d, surrogate_a
        self.weight = nn.Parameter(torch.empty(d, n_in))
        self.bias = nn.Parameter(torch.empty(d))
        self.beta1 = nn.Parameter(torch.empty(d))
        self.alpha = nn.Parameter(torch.empty(d))
        self.s0_logit = nn.Parameter(torch.empty(d))

    def init_parameters(self) -> None:
        """Weights uniform and scaled by fan-in, thresholds uniform in 0.1..0.5 (the FQ
        initialisation's half band delta / 2), outputs in 0.5..1.5, bias 0, initial states -1
        (torch's global generator)."""
        with torch.no_grad():
            for p, lo, hi in ((self.weight, -1.0, 1.0), (self.beta1, 0.1, 0.5),
                              (self.alpha, 0.5, 1.5)):
                p.uniform_(lo, hi)
            self.weight.mul_((2.0 / self.n_in) ** 0.5)
            self.bias.zero_()
            self.s0_logit.fill_(-0.5)

    def forward(self, x: Tensor, mode: Mode = "scan",
                input_mean: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Run the layer on a sequence.

        Args:
            x: Inputs, shape (B, T, n_in).
            mode: ``"scan"`` (parallel) or ``"loop"`` (sequential); identical states.
            input_mean: (n_in,) mean input: the bias is then held relative to it,
                ``c = W (x - mean) + b``, so candidates start centred in the hold band even
                on non-negative inputs (outputs +-alpha of a layer below need none).

        Returns:
            ``(h, s)``: outputs ``|alpha| s`` and states, both (B, T, d).
        """
        bias = self.bias if input_mean is None else self.bias - self.weight @ input_mean
        c = x @ self.weight.T + bias
        hold, step = signed_gates(c, self.beta1.abs(), self.surrogate_a)
        s0 = 2 * heaviside(self.s0_logit, self.surrogate_a) - 1
        s = (scan_associative if mode == "scan" else scan_loop)(hold, step, s0)
        return self.alpha.abs() * s, s
