"""Model-level supply power estimate: sum of branch currents x VDD, by part.

An estimate from the model's currents, not a circuit simulation. Per frame:

- cells: each cell draws its reference branches I_thresh (beta_hi), I_width (delta) and
  I_gain (alpha), plus its output copy alpha * s when ON;
- FC mirrors: every input current flows once through its diode, and every weight copies it:
  sum_j h_j + sum_ij |W_ij| h_j per layer, and the same for the readout;
- biases: sum |b| over layers and the readout.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bmru_pdk.model.network import BMRUNet
from bmru_pdk.tech import VDD_V


@dataclass(frozen=True)
class Power:
    """Mean supply power in nW by part."""

    cells_nw: float
    fc_mirrors_nw: float
    biases_nw: float

    @property
    def total_nw(self) -> float:
        """Sum of the parts, nW."""
        return self.cells_nw + self.fc_mirrors_nw + self.biases_nw


@torch.no_grad()
def estimate_power(model: BMRUNet, x: torch.Tensor, vdd: float = VDD_V,
                   i_unit_na: float = 1.0) -> Power:
    """Mean power over all frames of ``x``.

    Args:
        model: The network.
        x: Input currents (N, T, n_in), software units.
        vdd: Supply voltage, V.
        i_unit_na: nA per software unit (a tile's operating point).

    Returns:
        Power by part in nW (nA x V).
    """
    params = model.effective_parameters()
    _, states = model(x, params, return_states=True)
    cells = fc = biases = 0.0
    h = x
    for p, s in zip(params[:-1], states, strict=True):
        cells += float(p["beta_hi"].sum() + p["delta"].sum() + p["alpha"].sum())
        cells += float((p["alpha"] * s).sum(-1).mean())
        fc += float(h.sum(-1).mean() + (h @ p["weight"].abs().T).sum(-1).mean())
        biases += float(p["bias"].abs().sum())
        h = p["alpha"] * s
    fc += float(h.sum(-1).mean() + (h @ params[-1]["weight"].abs().T).sum(-1).mean())
    biases += float(params[-1]["bias"].abs().sum())
    scale = vdd * i_unit_na
    return Power(cells * scale, fc * scale, biases * scale)
