"""The two linear-recurrence baselines of the published comparison, written from their papers'
equations (no code of theirs was read or copied).

- minGRU (Feng et al., 2024, "Were RNNs all we needed?"): per layer
  ``z_t = sigmoid(W_z x_t + b_z)``, ``h~_t = W_h x_t + b_h``,
  ``h_t = (1 - z_t) h_{t-1} + z_t h~_t``, from ``h_0 = 0``; the gate sees only the input, so
  the recurrence is affine in ``h`` and runs as the FQ cell's associative scan.
- LRU (Orvieto et al., 2023, "Resurrecting recurrent neural networks for long sequences"):
  per layer a diagonal complex recurrence ``x_t = lambda x_{t-1} + gamma (B u_t)`` with
  ``lambda = exp(-exp(nu_log) + i exp(theta_log))`` (stable by construction), the
  normalisation ``gamma = exp(gamma_log)``, initialised to ``sqrt(1 - |lambda|^2)``, and the
  output ``y_t = GELU(Re(C x_t) + D u_t)``. Eigenvalue moduli start uniform in the ring
  [0.5, 0.99] and phases in [0, pi / 10], the ring the paper uses for long inputs. The paper's
  blocks also hold a normalisation, an MLP and a residual; here each layer is the recurrence
  and the GELU alone, the same depth as the other architectures.

Both networks read out the time-average of the top layer, as :mod:`.architectures` does.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from bmru_pdk.model.cell import scan_associative

R_MIN, R_MAX, MAX_PHASE = 0.5, 0.99, math.pi / 10


class MinGRU(nn.Module):
    """One minGRU layer: ``n_in`` inputs, ``hidden`` outputs."""

    def __init__(self, n_in: int, hidden: int) -> None:
        """Create the layer (torch's default ``nn.Linear`` initialisation).

        Args:
            n_in: Inputs per step.
            hidden: Hidden size.
        """
        super().__init__()
        self.gate = nn.Linear(n_in, hidden)
        self.candidate = nn.Linear(n_in, hidden)

    def forward(self, x: Tensor) -> Tensor:
        """Hidden states (B, T, hidden) of the sequences ``x`` (B, T, n_in)."""
        z = torch.sigmoid(self.gate(x))
        return scan_associative(1 - z, z * self.candidate(x), torch.zeros_like(z[0, 0]))


class LRU(nn.Module):
    """One linear recurrent unit layer: ``n_in`` inputs, a complex state of ``state``
    entries, ``n_out`` outputs."""

    def __init__(self, n_in: int, state: int, n_out: int) -> None:
        """Create the layer with the paper's initialisation (module docstring).

        Args:
            n_in: Inputs per step.
            state: Complex state entries.
            n_out: Outputs per step.
        """
        super().__init__()
        u1, u2 = torch.rand(state), torch.rand(state)
        modulus_sq = u1 * (R_MAX**2 - R_MIN**2) + R_MIN**2
        self.nu_log = nn.Parameter(torch.log(-0.5 * torch.log(modulus_sq)))
        self.theta_log = nn.Parameter(torch.log(MAX_PHASE * u2))
        self.gamma_log = nn.Parameter(0.5 * torch.log(1 - modulus_sq))
        self.b_re = nn.Parameter(torch.randn(state, n_in) / math.sqrt(2 * n_in))
        self.b_im = nn.Parameter(torch.randn(state, n_in) / math.sqrt(2 * n_in))
        self.c_re = nn.Parameter(torch.randn(n_out, state) / math.sqrt(state))
        self.c_im = nn.Parameter(torch.randn(n_out, state) / math.sqrt(state))
        self.d = nn.Parameter(torch.randn(n_out, n_in) / math.sqrt(n_in))

    def eigenvalues(self) -> Tensor:
        """The diagonal recurrence ``lambda`` (state,), complex, modulus below 1."""
        return torch.exp(torch.complex(-torch.exp(self.nu_log), torch.exp(self.theta_log)))

    def forward(self, u: Tensor) -> Tensor:
        """Outputs (B, T, n_out) of the sequences ``u`` (B, T, n_in)."""
        lam = self.eigenvalues()
        drive = torch.complex(u @ self.b_re.T, u @ self.b_im.T) * torch.exp(self.gamma_log)
        x = scan_associative(lam.expand_as(drive), drive, torch.zeros_like(lam))
        y = x.real @ self.c_re.T - x.imag @ self.c_im.T  # Re(C x)
        return F.gelu(y + u @ self.d.T)


class LinearRNNClassifier(nn.Module):
    """Stacked minGRU or LRU layers and a linear readout of the top layer's time average."""

    def __init__(self, kind: str, n_in: int, hidden: int, layers: int, classes: int) -> None:
        """Create the network.

        Args:
            kind: ``mingru`` or ``lru`` (an LRU's state and outputs are ``hidden`` wide).
            n_in: Inputs per step.
            hidden: Width of every layer.
            layers: Recurrent layers.
            classes: Output classes.
        """
        super().__init__()
        sizes = [n_in] + [hidden] * layers
        self.hidden = hidden
        self.layers = nn.ModuleList(
            MinGRU(sizes[i], hidden) if kind == "mingru" else LRU(sizes[i], hidden, hidden)
            for i in range(layers))
        self.readout = nn.Linear(hidden, classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores (B, classes) of the sequences ``x`` (B, T, n_in)."""
        for layer in self.layers:
            x = layer(x)
        return self.readout(x.mean(1))


def parameter_count(kind: str, n_in: int, hidden: int, layers: int, classes: int) -> int:
    """Parameters of :class:`LinearRNNClassifier`: per minGRU layer two linear maps with
    biases; per LRU layer three per state entry (nu, theta, gamma), complex B and C, real D;
    then the readout."""
    total = hidden * classes + classes
    for i in range(layers):
        m = n_in if i == 0 else hidden
        total += 2 * hidden * (m + 1) if kind == "mingru" else (
            3 * hidden + 2 * hidden * m + 2 * hidden * hidden + hidden * m)
    return total
