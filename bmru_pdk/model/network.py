"""The FQ-BMRU network: L stacked FQ-BMRU layers and a linear current readout.

Hardware mapping (everything below is currents; 1 unit = 1 nA):

- ``h_0 = x``: non-negative input currents from the off-chip front end.
- Layer l: ``c = ReLU(W_l h_{l-1} + b_l)`` is a bank of current mirrors summing into one
  node per unit (positive weights: PMOS mirrors sourcing; negative weights: NMOS mirrors
  sinking), a bias current, and a diode (the ReLU); the 9-transistor cell then gives
  ``h_l = alpha * s`` with ``I_thresh = beta_hi``, ``I_width = delta``, ``I_gain = alpha``.
- Readout ``y = W_o h_L + b_o``: one net output current per class (mirrors sourcing and
  sinking into an output node); the decision is the class with the largest current.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from bmru_pdk.model.cell import FQBMRU, Mode, heaviside
from bmru_pdk.model.schema import CheckpointMeta, Realisability, reset_frames

# Names of the effective per-layer quantities perturbed by mismatch: one circuit element each.
_ELEMENTS = ("weight", "bias", "beta_hi", "delta", "alpha")


def _quantise(v: Tensor, step: float | None) -> Tensor:
    """Snap to a grid in the forward pass; straight-through gradient."""
    if step is None:
        return v
    return v + (torch.round(v / step) * step - v).detach()


def _at_least(v: Tensor, smallest: float) -> Tensor:
    """A mirror output is absent or at least ``smallest`` (:meth:`Realisability.smallest`):
    magnitudes below half of it realise as 0, the others as ``max(|v|, smallest)``.
    Straight-through, so absent weights can grow."""
    mag = v.abs()
    real = torch.where(mag < smallest / 2, torch.zeros_like(v),
                       torch.sign(v) * mag.clamp(min=smallest))
    return v + (real - v).detach()


def _nearest(v: Tensor, levels: Tensor) -> Tensor:
    """The level nearest each (positive) value, in relative terms."""
    return levels[(v.unsqueeze(-1).log() - levels.log()).abs().argmin(-1)]


def _nearest_level(v: Tensor, levels: tuple[float, ...]) -> Tensor:
    """Snap to the nearest of ``levels``; straight-through gradient."""
    return v + (_nearest(v, torch.tensor(levels, dtype=v.dtype)) - v).detach()


def _signed_level(v: Tensor, levels: tuple[float, ...]) -> Tensor:
    """Snap to the nearest level of the same sign, or to 0 below half the smallest of that
    sign (no device); straight-through, so absent values can grow."""
    lv = torch.tensor(levels, dtype=v.dtype)
    real = torch.zeros_like(v)
    for sign in (1, -1):
        side = (lv * sign)[lv * sign > 0]
        near = _nearest((v * sign).clamp(min=side.min() / 2), side)
        real = torch.where(v * sign >= side.min() / 2, sign * near, real)
    return v + (real - v).detach()


def _nearest_thresholds(beta_hi: Tensor, delta: Tensor,
                        levels: tuple[tuple[float, float], ...]) -> tuple[Tensor, Tensor]:
    """Snap (beta_hi, delta) to the level pair (beta_hi, beta_lo) whose larger relative
    error of the two thresholds is least, as the mapping picks a cell's drawing;
    straight-through gradient to both thresholds."""
    lv = torch.tensor(levels, dtype=beta_hi.dtype).log()
    beta_lo = beta_hi - delta
    err = torch.maximum((beta_hi.unsqueeze(-1).log() - lv[:, 0]).abs(),
                        (beta_lo.unsqueeze(-1).log() - lv[:, 1]).abs())
    hi, lo = lv[err.argmin(-1)].exp().unbind(-1)
    beta_hi, beta_lo = beta_hi + (hi - beta_hi).detach(), beta_lo + (lo - beta_lo).detach()
    return beta_hi, beta_hi - beta_lo


def held_outputs(h: Tensor, p: dict[str, Tensor]) -> Tensor:
    """A layer's outputs ``h`` (B, T, d) as a held layer passes them on: each frame's are
    the frame before's, the first frame's its initial states' (``alpha * s0`` of ``p``)."""
    first = (p["alpha"] * p["s0"]).expand(h.shape[0], 1, h.shape[2])
    return torch.cat([first, h[:, :-1]], dim=1)


class BMRUNet(nn.Module):
    """L FQ-BMRU layers and a readout, constrained to what current mirrors can realise.

    Attributes:
        meta: The checkpoint metadata (architecture, realisability, input encoding, classes).
        layers: The FQ-BMRU layers.
        readout_weight: (n_classes, d) signed mirror ratios.
        readout_bias: (n_classes,) signed currents in nA.
        centred: Whether the raw layer biases are stored relative to the mean input (the
            training parameterisation, see :meth:`effective_parameters`); loaded models hold
            the realised biases directly.
    """

    def __init__(self, meta: CheckpointMeta) -> None:
        """Build an uninitialised network for ``meta`` (use :func:`init_parameters`)."""
        super().__init__()
        self.meta = meta
        arch = meta.architecture
        sizes = [arch.n_in] + [arch.d] * arch.layers
        self.layers = nn.ModuleList(
            FQBMRU(sizes[i], arch.d, arch.surrogate_a) for i in range(arch.layers)
        )
        self.readout_weight = nn.Parameter(torch.empty(arch.n_classes, arch.d))
        self.readout_bias = nn.Parameter(torch.empty(arch.n_classes))
        self.centred = False

    def init_parameters(self, generator: torch.Generator) -> None:
        """Random initialisation suited to nA-scale currents (inputs around offset * scale_na).

        Args:
            generator: Source of randomness, for reproducible checkpoints.
        """

        def uniform(shape: tuple[int, ...], lo: float, hi: float) -> Tensor:
            return lo + (hi - lo) * torch.rand(shape, generator=generator)

        x_mid = self.meta.input.offset * self.meta.input.scale_na
        self.centred = True
        with torch.no_grad():
            for layer in self.layers:
                d = layer.d
                layer.weight.copy_(uniform((d, layer.n_in), -1, 1) * (2.0 / layer.n_in) ** 0.5)
                layer.beta1.copy_(uniform((d,), 0.5, 1.5))
                layer.delta.copy_(uniform((d,), 0.2, 1.0))
                layer.alpha.copy_(uniform((d,), 0.5, 1.5) * x_mid)
                layer.s0_logit.fill_(-0.5)
                # Centred: candidates start inside the hysteresis band, where the surrogate
                # gradient is large; otherwise units start stuck ON or OFF.
                layer.bias.copy_(layer.beta1 + layer.delta / 2)
            # The smallest realisable readout: uninformative units then cost little loss, so
            # training does not first silence them (saturate them OFF) before they learn.
            sign = torch.where(torch.rand(self.readout_weight.shape, generator=generator) < 0.5,
                               -1.0, 1.0)
            r = self.meta.realisability
            self.readout_weight.copy_(sign * uniform(self.readout_weight.shape, r.w_min,
                                                     1.2 * r.w_min))
            self.readout_bias.zero_()
        self.project_()

    def within(self, realisability: Realisability) -> BMRUNet:
        """The same network (its raw parameters, shared) held to another realisability block:
        what its effective parameters would be on another grid or window."""
        other = BMRUNet(self.meta.model_copy(update={"realisability": realisability}))
        other.load_state_dict(self.state_dict())
        other.centred = self.centred
        return other

    def rest_trace(self, params: list[dict[str, Tensor]], frames: int | None = None
                   ) -> tuple[Tensor, list[Tensor], list[Tensor], list[Tensor]]:
        """:meth:`trace` of the reset: ``frames`` (default
        :func:`~bmru_pdk.model.schema.reset_frames`) frames of zero input from the initial
        states. Its last frame is the rest every run starts from, the tile's too."""
        arch = self.meta.architecture
        frames = reset_frames(arch.layers) if frames is None else frames
        return self.trace(torch.zeros(1, frames, arch.n_in), params)

    @torch.no_grad()
    def project_(self) -> None:
        """Clamp raw parameters into the realisable range (call after each optimiser step)."""
        r = self.meta.realisability
        for layer in self.layers:
            layer.weight.clamp_(-r.w_max, r.w_max)
            layer.bias.clamp_(-r.i_max, r.i_max)
            for p in (layer.beta1, layer.delta):
                p.copy_(p.abs().clamp_(max=r.beta_hi_max))
            layer.alpha.copy_(layer.alpha.abs().clamp_(r.alpha_min, r.alpha_max))
        self.readout_weight.clamp_(-r.w_max, r.w_max)
        self.readout_bias.clamp_(-r.i_max, r.i_max)

    def effective_parameters(
        self, mismatch: float = 0.0, generator: torch.Generator | None = None
    ) -> list[dict[str, Tensor]]:
        """The parameters the circuit realises, per layer, then the readout as the last entry.

        Every value is held inside :class:`Realisability`: weights and biases within their
        largest magnitude, snapped to their grid, and absent or at least their smallest
        magnitude; beta_hi, delta / beta_hi and alpha within the cell's window, and on its
        levels when the block has them.
        With ``mismatch > 0`` every circuit element (each weight, bias, I_thresh,
        I_width, I_gain, readout weight and bias) is multiplied by ``1 + mismatch * N(0, 1)``.

        When :attr:`centred`, the realised bias is ``b = b_raw - W m`` with ``m`` the mean input
        (offset * scale_na for the first layer, alpha / 2 of the layer below for the others).
        The function is the same, but Adam then moves the candidate by ~lr per step instead of
        ~lr * sum(x) (every weight gradient has the sign of the non-negative input), which
        otherwise pushes units out of their hysteresis band within a few steps.

        Args:
            mismatch: Relative standard deviation of multiplicative Gaussian mismatch.
            generator: Randomness for the mismatch draw.

        Returns:
            One dict per layer with ``weight, bias, beta_lo, beta_hi, delta, alpha, s0``, then
            ``{"weight", "bias"}`` for the readout.
        """
        r = self.meta.realisability

        def w(v: Tensor) -> Tensor:
            v = v.clamp(-r.w_max, r.w_max)
            if r.weight_levels is not None:
                return _signed_level(v, r.weight_levels)
            return _at_least(_quantise(v, r.w_step), r.smallest("w"))

        def i(v: Tensor) -> Tensor:
            return _quantise(v, r.i_step)

        def b(v: Tensor) -> Tensor:
            v = v.clamp(-r.i_max, r.i_max)
            if r.bias_levels is not None:
                return _signed_level(v, r.bias_levels)
            return _at_least(i(v), r.smallest("i"))

        def perturb(v: Tensor) -> Tensor:
            if mismatch <= 0:
                return v
            return v * (1 + mismatch * torch.randn(v.shape, generator=generator))

        out: list[dict[str, Tensor]] = []
        m_in: Tensor | float = self.meta.input.offset * self.meta.input.scale_na
        for layer in self.layers:
            # The cell sets I_thresh = beta_hi and I_width = delta; beta_lo follows.
            beta_hi = (layer.beta1.abs() + layer.delta.abs()).clamp(r.beta_hi_min,
                                                                    r.beta_hi_max)
            levels = r.threshold_levels
            if levels is None:
                beta_hi = i(beta_hi)
            delta = layer.delta.abs().clamp(r.delta_frac_min * beta_hi,
                                            r.delta_frac_max * beta_hi)
            beta_hi, delta = ((beta_hi, i(delta)) if levels is None else
                              _nearest_thresholds(beta_hi, delta, levels))
            alpha = layer.alpha.abs()
            alpha = (i(alpha).clamp(r.alpha_min, r.alpha_max) if r.alpha_levels is None else
                     _nearest_level(alpha.clamp(r.alpha_min, r.alpha_max), r.alpha_levels))
            weight = w(layer.weight)
            bias = (
                layer.bias - weight @ (m_in * torch.ones(layer.n_in))
                if self.centred
                else layer.bias
            )
            p = {
                "weight": weight,
                "bias": b(bias),
                "beta_hi": beta_hi,
                "delta": delta,
                "alpha": alpha,
            }
            m_in = p["alpha"].detach() / 2  # the realised (unperturbed) bias uses this
            if mismatch > 0:
                p = {k: perturb(p[k]) for k in _ELEMENTS}
                p["delta"] = p["delta"].clamp(min=0)  # a current cannot change sign
            p["beta_lo"] = p["beta_hi"] - p["delta"]
            p["s0"] = heaviside(layer.s0_logit, layer.surrogate_a)
            out.append(p)
        out.append(
            {"weight": perturb(w(self.readout_weight)),
             "bias": perturb(b(self.readout_bias))}
        )
        return out

    def forward(
        self,
        x: Tensor,
        params: list[dict[str, Tensor]] | None = None,
        mode: Mode = "scan",
        candidate_noise: float = 0.0,
        return_states: bool = False,
    ) -> Tensor | tuple[Tensor, list[Tensor]]:
        """Per-frame class scores (output currents, nA) for input currents ``x``.

        Args:
            x: Input currents, shape (B, T, n_in), nA, non-negative.
            params: Effective parameters from :meth:`effective_parameters` (e.g. one mismatch
                draw shared by many batches); computed without mismatch when ``None``.
            mode: ``"scan"`` (parallel) or ``"loop"`` (sequential); bit-identical states.
            candidate_noise: Standard deviation (nA) of additive noise on every candidate.
            return_states: Also return each layer's states (B, T, d).

        Returns:
            Scores of shape (B, T, n_classes), and the list of states if requested.
        """
        y, states, _, _ = self.trace(x, params, mode, candidate_noise)
        return (y, states) if return_states else y

    def trace(
        self,
        x: Tensor,
        params: list[dict[str, Tensor]] | None = None,
        mode: Mode = "scan",
        candidate_noise: float = 0.0,
    ) -> tuple[Tensor, list[Tensor], list[Tensor], list[Tensor]]:
        """Run the network and keep what each layer's summing node sees.

        Same arguments as :meth:`forward`.

        Returns:
            ``(y, states, candidates, inputs)``: the scores, then per layer its states and
            candidates (B, T, d), and per layer and the readout the currents into it.
        """
        if params is None:
            params = self.effective_parameters()
        h, states, candidates, inputs = x, [], [], []
        held_layers = self.meta.architecture.held_layers
        for k, (layer, p) in enumerate(zip(self.layers, params[:-1], strict=True)):
            inputs.append(h)
            h, s, c = layer(h, p, mode=mode, candidate_noise=candidate_noise)
            states.append(s)
            candidates.append(c)
            if k in held_layers:
                h = held_outputs(h, p)
        inputs.append(h)
        y = h @ params[-1]["weight"].T + params[-1]["bias"]
        return y, states, candidates, inputs

    @torch.no_grad()
    def predict(self, x: Tensor, params: list[dict[str, Tensor]] | None = None) -> Tensor:
        """Utterance decisions by majority vote over the per-frame argmax (ties: lowest class).

        Args:
            x: Input currents, shape (B, T, n_in).
            params: Optional effective parameters (e.g. a mismatch draw).

        Returns:
            Class indices, shape (B,).
        """
        frames = self(x, params).argmax(-1)
        votes = torch.nn.functional.one_hot(frames, self.meta.architecture.n_classes).sum(1)
        return votes.argmax(-1)
