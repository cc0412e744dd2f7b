"""Checkpoint metadata schema (pydantic). Imports neither torch nor numpy-heavy code.

A checkpoint is one ``.safetensors`` file: the tensors, plus this metadata serialised as JSON
under the header key :data:`META_KEY`. Every current is in nA; weights are dimensionless
mirror ratios.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeFloat,
    PositiveFloat,
    PositiveInt,
    model_validator,
)

FORMAT = "bmru-fqbmru-checkpoint"
VERSION = 1
META_KEY = "bmru_checkpoint"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Architecture(_Strict):
    """Shape of the network: n_in input currents, L layers of d units, n_classes outputs.

    Attributes:
        held: Every layer but the last holds its outputs for a frame: its states are
            sampled at each frame's end (in the tile, by a frame clock, pin ``clk``), so the
            next layer sees the layer below's states of the frame before. In an unclocked
            cascade a layer-0 cell switching late in its frame leaves layer 1 too little of
            the frame to follow (docs/compare.md, "The held cascade").
    """

    n_in: PositiveInt
    d: PositiveInt
    layers: PositiveInt
    n_classes: int = Field(ge=2)
    surrogate_a: PositiveFloat = 1.0
    held: bool = False

    @property
    def held_layers(self) -> range:
        """The layers that hold their outputs for a frame: all but the last, if ``held``."""
        return range(self.layers - 1) if self.held else range(0)


def reset_frames(layers: int) -> int:
    """Frames of zero input before each utterance, tile and model alike: one per layer, and
    one more.

    The model starts at its initial states, which zero input need not hold (a held
    network's layers come to rest a frame apart). The tile starts at the rest the model
    reaches (:func:`~bmru_pdk.analyses.simulation.rest_states`) and holds it, or, started
    elsewhere, switches as the model does but slower: an ON cell switching OFF on zero input
    is pulled down by its threshold current alone, a unit's fraction of a nA, which takes
    most of a frame (docs/compare.md, "The reset"; a single reset frame left layer-1 cells
    still switching when the utterance began).
    """
    return layers + 1


class Realisability(_Strict):
    """What the current mirrors and the cell can realise; the model constrains itself to this.

    The defaults sit a few percent inside the ranges characterised in ngspice (the circuit
    library's mapping tables: mirror gain 0.27-16.5, beta_hi 0.47-7.9 nA, delta / beta_hi
    0.2-0.8, alpha 0.51-8.2 nA at a 1 nA reference), so a trained checkpoint maps onto a
    tile as it is. A weight or bias is either absent (no device) or at least its minimum.

    Attributes:
        w_min: Smallest non-zero weight magnitude; smaller magnitudes realise as 0 below
            half of it and as ``w_min`` above.
        w_max: Largest weight magnitude (mirror output/input width ratio).
        w_step: Weight grid (ratio step); ``None`` means continuous.
        i_min: Smallest non-zero bias magnitude in nA, as ``w_min``.
        i_max: Largest bias magnitude in nA.
        i_step: Grid of constant currents in nA (the biases and the cell's values that have
            no levels); ``None`` means continuous.
        beta_hi_min: Lowest switch-on threshold beta_hi in nA.
        beta_hi_max: Highest switch-on threshold beta_hi in nA.
        delta_frac_min: Smallest hysteresis width as a fraction of beta_hi.
        delta_frac_max: Largest hysteresis width as a fraction of beta_hi.
        alpha_min: Smallest ON output current in nA.
        alpha_max: Largest ON output current in nA.
        weight_levels: The signed gains the mirror drawings realise (negative: NMOS outputs,
            positive: PMOS ones), calibrated at an input of one unit onto a summing node at
            one unit; a weight is the nearest of its sign, or absent below half the smallest.
            ``None``: ``w_step`` and ``w_min`` say what is drawn.
        bias_levels: The signed bias currents in nA the drawings realise, as
            ``weight_levels``. ``None``: ``i_step`` and ``i_min`` say what is drawn.
        threshold_levels: The (beta_hi, beta_lo) pairs in nA the cell's drawings realise, at
            the summing node; a unit's thresholds are the pair nearest them (the larger
            relative error of the two). ``None``: continuous.
        alpha_levels: The ON output currents in nA the cell's drawings realise; alpha is
            the nearest of them. ``None``: continuous.
    """

    w_min: NonNegativeFloat = 0.3
    w_max: PositiveFloat = 8.0
    w_step: PositiveFloat | None = None
    i_min: NonNegativeFloat = 0.3
    i_max: PositiveFloat = 15.0
    i_step: PositiveFloat | None = None
    beta_hi_min: PositiveFloat = 0.7
    beta_hi_max: PositiveFloat = 7.5
    delta_frac_min: float = Field(default=0.21, gt=0, lt=1)
    delta_frac_max: float = Field(default=0.79, gt=0, lt=1)
    alpha_min: PositiveFloat = 0.55
    alpha_max: PositiveFloat = 7.8
    weight_levels: tuple[float, ...] | None = None
    bias_levels: tuple[float, ...] | None = None
    threshold_levels: tuple[tuple[PositiveFloat, PositiveFloat], ...] | None = None
    alpha_levels: tuple[PositiveFloat, ...] | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Realisability:
        for low, high in (("w_min", "w_max"), ("i_min", "i_max"), ("beta_hi_min", "beta_hi_max"),
                          ("delta_frac_min", "delta_frac_max"), ("alpha_min", "alpha_max")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low} = {getattr(self, low)} is above "
                                 f"{high} = {getattr(self, high)}")
        for name in ("threshold_levels", "alpha_levels"):
            if getattr(self, name) == ():
                raise ValueError(f"{name} is empty: give at least one level, or none")
        for name in ("weight_levels", "bias_levels"):
            levels = getattr(self, name)
            if levels is not None and not (min(levels, default=0) < 0 < max(levels, default=0)):
                raise ValueError(f"{name} needs levels of both signs (NMOS and PMOS outputs)")
        if any(lo >= hi for hi, lo in self.threshold_levels or ()):
            raise ValueError("a threshold level's beta_lo is not below its beta_hi")
        return self

    def smallest(self, kind: Literal["w", "i"]) -> float:
        """The smallest non-zero weight (``"w"``) or bias (``"i"``) magnitude, on its grid."""
        low, step = (self.w_min, self.w_step) if kind == "w" else (self.i_min, self.i_step)
        return low if step is None else math.ceil(low / step - 1e-9) * step


class InputEncoding(_Strict):
    """Off-chip front end: audio -> MFCC -> normalised -> non-negative input currents.

    ``x = scale_na * clip((mfcc - mean) / std + offset, 0, 2 * offset)`` per coefficient
    and frame, so inputs lie in [0, 2 * offset * scale_na] nA.
    """

    sample_rate: PositiveInt = 16000
    n_mfcc: PositiveInt = 13
    n_fft: PositiveInt = 512
    hop_length: PositiveInt = 160
    frames: PositiveInt = 101
    mean: list[float]
    std: list[float]
    offset: PositiveFloat = 3.0
    scale_na: PositiveFloat = 1.0

    @model_validator(mode="after")
    def _lengths(self) -> InputEncoding:
        if len(self.mean) != self.n_mfcc or len(self.std) != self.n_mfcc:
            raise ValueError(f"mean and std must each have n_mfcc = {self.n_mfcc} values")
        if any(s <= 0 for s in self.std):
            raise ValueError("every std must be positive")
        return self


class TrainingRecord(_Strict):
    """How a checkpoint was produced, for the docs and for reproducibility."""

    task: str
    dataset: str
    seed: int
    # the kws-data seed of the dataset: it fixes which voices each split holds
    data_seed: int | None = None
    epochs_run: int
    best_epoch: int
    lr: float
    batch_size: int
    val_accuracy: float
    test_accuracy: float | None = None
    duration_s: float
    command: str
    torch_version: str


class CheckpointMeta(_Strict):
    """Everything in a checkpoint besides the tensors."""

    format: Literal["bmru-fqbmru-checkpoint"] = FORMAT
    version: int = VERSION
    units: Literal["nA"] = "nA"
    frame_period_s: PositiveFloat
    architecture: Architecture
    realisability: Realisability = Realisability()
    input: InputEncoding
    classes: list[str]
    training: TrainingRecord | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CheckpointMeta:
        if self.version != VERSION:
            raise ValueError(
                f"unknown checkpoint version {self.version}; this build reads {VERSION}"
            )
        if len(self.classes) != self.architecture.n_classes:
            raise ValueError(
                f"{len(self.classes)} class names for n_classes = {self.architecture.n_classes}"
            )
        if self.input.n_mfcc != self.architecture.n_in:
            raise ValueError(
                f"input n_mfcc = {self.input.n_mfcc} differs from n_in = {self.architecture.n_in}"
            )
        return self


def tensor_shapes(arch: Architecture) -> dict[str, tuple[int, ...]]:
    """Names and shapes of every tensor a checkpoint of this architecture must hold."""
    shapes: dict[str, tuple[int, ...]] = {}
    n = arch.n_in
    for i in range(arch.layers):
        shapes[f"layers.{i}.W"] = (arch.d, n)
        for name in ("b", "beta1", "delta", "alpha", "s0"):
            shapes[f"layers.{i}.{name}"] = (arch.d,)
        n = arch.d
    shapes["readout.W"] = (arch.n_classes, arch.d)
    shapes["readout.b"] = (arch.n_classes,)
    return shapes
