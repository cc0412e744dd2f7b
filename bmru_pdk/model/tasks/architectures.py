"""The three architectures the sequence tasks compare, under one parameter budget.

Every network reads (B, T, inputs) input currents and gives one answer per sequence, once
the last step is in: a linear readout of the top layer's outputs averaged over all steps.
The mean (the pooling long-sequence benchmarks commonly use; on a tile, an integrating
readout, the analogue of keyword spotting's vote over frames) lets a unit's binary state
tell how long it was ON, not only where it ended. The readout sees the input only through
the recurrent layers.

- ``fqbmru``: L layers of :class:`bmru_pdk.model.cell.FQBMRU` (``c = ReLU(W h + b)`` into
  the first-quadrant cell, outputs ``alpha s`` in {0, alpha}), as the tiles realise them.
- ``bmru``: L layers of :class:`~bmru_pdk.model.tasks.signed_bmru.SignedBMRU` (signed
  candidate and state, our reading of the unit before the first-quadrant reformulation).
- ``gru``: ``torch.nn.GRU`` with L layers.
- ``mingru`` and ``lru``: L layers of minGRU or LRU (:mod:`.linear_rnns`), the linear
  recurrences the published table compares against.

The budget: both BMRUs have ``d`` units per layer (their parameter counts differ by one
per unit: the FQ cell has two thresholds); every other architecture gets the largest hidden
size whose parameter count does not exceed the FQ-BMRU's (a GRU unit costs ~3x a BMRU
unit's weights plus recurrent ones), readouts included.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bmru_pdk.errors import BmruError
from bmru_pdk.model.cell import FQBMRU, Mode, heaviside
from bmru_pdk.model.tasks import linear_rnns
from bmru_pdk.model.tasks.signed_bmru import SignedBMRU

ARCHITECTURES = ("fqbmru", "bmru", "gru", "mingru", "lru")


class FQBMRUClassifier(nn.Module):
    """Stacked FQ-BMRU layers and a linear readout of their time-averaged outputs.

    Parameters are constrained as in the network of the tiles (``beta_lo = |beta1|``,
    ``beta_hi = beta_lo + |delta|``, ``alpha = |alpha|``, ``s0 = H(s0_logit)``) but not held
    in a mirror's realisable range: this is a software comparison.
    """

    def __init__(self, n_in: int, d: int, layers: int, classes: int,
                 input_mean: Tensor) -> None:
        """Create the network.

        Args:
            n_in: Input currents per step.
            d: Units per layer.
            layers: FQ-BMRU layers.
            classes: Output classes.
            input_mean: (n_in,) mean input current of the training split, nA: the first
                layer's biases are held relative to it (see :meth:`layer_parameters`).
        """
        super().__init__()
        sizes = [n_in] + [d] * layers
        self.layers = nn.ModuleList(FQBMRU(sizes[i], d) for i in range(layers))
        self.readout = nn.Linear(d, classes)
        self.register_buffer("input_mean", input_mean.float())

    def init_parameters(self) -> None:
        """Candidates start inside the hysteresis band at the mean input, where the surrogate
        gradient is large (as :meth:`bmru_pdk.model.network.BMRUNet.init_parameters`)."""
        with torch.no_grad():
            for layer in self.layers:
                layer.weight.uniform_(-1, 1).mul_((2.0 / layer.n_in) ** 0.5)
                layer.beta1.uniform_(0.5, 1.5)
                layer.delta.uniform_(0.2, 1.0)
                layer.alpha.uniform_(0.5, 1.5)
                layer.s0_logit.fill_(-0.5)
                layer.bias.copy_(layer.beta1 + layer.delta / 2)

    def layer_parameters(self) -> list[dict[str, Tensor]]:
        """Each layer's effective parameters, as :meth:`FQBMRU.forward` takes them.

        The realised bias is ``b - W m`` with ``m`` the mean input (the training split's for
        the first layer, ``alpha / 2`` of the layer below for the others): the same function,
        but Adam moves a candidate by ~lr per step instead of ~lr * sum(x), which otherwise
        pushes units out of their band within a few steps on non-negative inputs.
        """
        out, mean = [], self.input_mean
        for layer in self.layers:
            beta_lo = layer.beta1.abs()
            alpha = layer.alpha.abs()
            out.append({"weight": layer.weight, "bias": layer.bias - layer.weight @ mean,
                        "beta_lo": beta_lo, "beta_hi": beta_lo + layer.delta.abs(),
                        "alpha": alpha, "s0": heaviside(layer.s0_logit, layer.surrogate_a)})
            mean = alpha.detach() / 2
        return out

    def forward(self, x: Tensor, mode: Mode = "scan") -> Tensor:
        """Class scores (B, classes) of the sequences ``x`` (B, T, n_in)."""
        h = x
        for layer, p in zip(self.layers, self.layer_parameters(), strict=True):
            h, _, _ = layer(h, p, mode=mode)
        return self.readout(h.mean(1))


class SignedBMRUClassifier(nn.Module):
    """Stacked signed BMRU layers and a linear readout of their time-averaged outputs."""

    def __init__(self, n_in: int, d: int, layers: int, classes: int,
                 input_mean: Tensor) -> None:
        """Create the network.

        Args:
            n_in: Inputs per step.
            d: Units per layer.
            layers: Signed BMRU layers.
            classes: Output classes.
            input_mean: (n_in,) mean input of the training split: the first layer's
                candidates are centred on it (:meth:`SignedBMRU.forward`).
        """
        super().__init__()
        sizes = [n_in] + [d] * layers
        self.layers = nn.ModuleList(SignedBMRU(sizes[i], d) for i in range(layers))
        self.readout = nn.Linear(d, classes)
        self.register_buffer("input_mean", input_mean.float())

    def init_parameters(self) -> None:
        """Each layer's own initialisation (:meth:`SignedBMRU.init_parameters`)."""
        for layer in self.layers:
            layer.init_parameters()

    def forward(self, x: Tensor, mode: Mode = "scan") -> Tensor:
        """Class scores (B, classes) of the sequences ``x`` (B, T, n_in)."""
        h, _ = self.layers[0](x, mode=mode, input_mean=self.input_mean)
        for layer in self.layers[1:]:
            h, _ = layer(h, mode=mode)
        return self.readout(h.mean(1))


class GRUClassifier(nn.Module):
    """``torch.nn.GRU`` and a linear readout of its time-averaged outputs."""

    def __init__(self, n_in: int, hidden: int, layers: int, classes: int) -> None:
        """Create the network.

        Args:
            n_in: Inputs per step.
            hidden: Hidden size.
            layers: GRU layers.
            classes: Output classes.
        """
        super().__init__()
        self.hidden = hidden
        self.gru = nn.GRU(n_in, hidden, layers, batch_first=True)
        self.readout = nn.Linear(hidden, classes)

    def forward(self, x: Tensor) -> Tensor:
        """Class scores (B, classes) of the sequences ``x`` (B, T, n_in)."""
        out, _ = self.gru(x)
        return self.readout(out.mean(1))


def gru_parameter_count(n_in: int, hidden: int, layers: int, classes: int) -> int:
    """Parameters of :class:`GRUClassifier`: per layer three gates of input and recurrent
    weights and two biases each, then the readout."""
    gates = sum(3 * hidden * ((n_in if i == 0 else hidden) + hidden + 2) for i in range(layers))
    return gates + hidden * classes + classes


def fqbmru_parameter_count(n_in: int, d: int, layers: int, classes: int) -> int:
    """Parameters of :class:`FQBMRUClassifier`: per layer weights and five per unit (bias,
    beta1, delta, alpha, s0_logit), then the readout."""
    return sum(d * ((n_in if i == 0 else d) + 5) for i in range(layers)) + d * classes + classes


def parameter_count(arch: str, n_in: int, hidden: int, layers: int, classes: int) -> int:
    """Parameters of a baseline (``gru``, ``mingru`` or ``lru``) of width ``hidden``."""
    if arch == "gru":
        return gru_parameter_count(n_in, hidden, layers, classes)
    return linear_rnns.parameter_count(arch, n_in, hidden, layers, classes)


def baseline_hidden(arch: str, n_in: int, d: int, layers: int, classes: int) -> int:
    """The largest hidden size of baseline ``arch`` within the FQ-BMRU's parameter count (at
    least 1).

    Args:
        arch: ``gru``, ``mingru`` or ``lru``.
        n_in: Inputs per step.
        d: BMRU units per layer.
        layers: Layers of both.
        classes: Output classes.

    Returns:
        The hidden size.
    """
    budget = fqbmru_parameter_count(n_in, d, layers, classes)
    hidden = 1
    while parameter_count(arch, n_in, hidden + 1, layers, classes) <= budget:
        hidden += 1
    return hidden


def check_shape(arch: str, d: int, layers: int) -> None:
    """Refuse an unknown architecture or an empty network, in one sentence.

    Args:
        arch: Architecture name.
        d: Units per layer.
        layers: Recurrent layers.
    """
    if arch not in ARCHITECTURES:
        raise BmruError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHITECTURES)}")
    if d < 1 or layers < 1:
        raise BmruError(f"d and layers must be >= 1, got d={d}, layers={layers}")


def build(arch: str, n_in: int, d: int, layers: int, classes: int,
          input_mean: Tensor) -> nn.Module:
    """A freshly initialised network (torch's global generator: seed it first).

    Args:
        arch: One of :data:`ARCHITECTURES`.
        n_in: Inputs per step.
        d: BMRU units per layer (a baseline's hidden size follows from the budget).
        layers: Recurrent layers.
        classes: Output classes.
        input_mean: (n_in,) mean input of the training split (the BMRUs centre on it).

    Returns:
        The network; ``model(x)`` gives (B, classes) scores.
    """
    check_shape(arch, d, layers)
    if arch == "gru":  # torch's own initialisation, drawn at construction
        return GRUClassifier(n_in, baseline_hidden(arch, n_in, d, layers, classes), layers,
                             classes)
    if arch in ("mingru", "lru"):
        return linear_rnns.LinearRNNClassifier(
            arch, n_in, baseline_hidden(arch, n_in, d, layers, classes), layers, classes)
    model = (FQBMRUClassifier(n_in, d, layers, classes, input_mean) if arch == "fqbmru"
             else SignedBMRUClassifier(n_in, d, layers, classes, input_mean))
    model.init_parameters()
    return model
