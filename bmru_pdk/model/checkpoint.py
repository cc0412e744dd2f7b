"""Checkpoints: one ``.safetensors`` file holding the tensors and pydantic-validated JSON metadata.

Reading never executes code (no pickle). :func:`open_checkpoint` reads a file once into a
validated :class:`Checkpoint`, which the pipeline passes down its stages; it and
:func:`circuit_parameters` need only numpy, so layout code reads a checkpoint without
importing torch; :meth:`Checkpoint.model` (or :func:`load_checkpoint`) gives a torch model
ready for inference.

Tensors (float32; currents in nA, weights are mirror ratios), for layer ``i``:
``layers.i.W`` (d, n_in), ``layers.i.b``, ``layers.i.beta1`` (= beta_lo), ``layers.i.delta``,
``layers.i.alpha``, ``layers.i.s0`` (d,), and ``readout.W`` (n_classes, d), ``readout.b``.
Stored values are the realised ones (clamped and snapped to the grid by training); reading
refuses any value outside the checkpoint's realisability block instead of clamping it, so
the torch model and the tile read the same numbers.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import ValidationError

from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import atomic_path
from bmru_pdk.model.schema import (
    FORMAT,
    META_KEY,
    VERSION,
    Architecture,
    CheckpointMeta,
    InputEncoding,
    Realisability,
    TrainingRecord,
    tensor_shapes,
)

if TYPE_CHECKING:
    from bmru_pdk.model.network import BMRUNet

_NON_NEGATIVE = ("beta1", "delta", "alpha")


class CheckpointError(BmruError):
    """A checkpoint cannot be read or is invalid; the message names the file and the problem."""


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint read and validated once; every stage of the pipeline takes this object.

    Attributes:
        path: Where it was read from (reports name it; nothing reads it again).
        sha256: SHA-256 of the file's bytes: same network, same digest.
        meta: The validated metadata.
        arrays: The validated float32 tensors keyed by name (see the module docstring).
    """

    path: Path
    sha256: str
    meta: CheckpointMeta
    arrays: dict[str, np.ndarray] = field(repr=False)

    @property
    def name(self) -> str:
        """The file's name."""
        return self.path.name

    def model(self) -> BMRUNet:
        """A torch model in eval mode holding exactly these tensors (a new one per call)."""
        return model_from_arrays(self.meta, self.arrays)

    def circuit_parameters(self) -> CircuitParameters:
        """The circuit-facing parameters (numpy only, no torch)."""
        return circuit_parameters(self)


def open_checkpoint(source: str | os.PathLike[str] | Checkpoint) -> Checkpoint:
    """Read and validate a checkpoint without torch; a :class:`Checkpoint` passes through.

    The file is read once, as bytes: the digest, the header and the tensors all come from
    those bytes, and nothing in them is executed (safetensors holds no code).

    Raises:
        CheckpointError: Unreadable file, missing or invalid metadata, unknown format or
            version, missing/unexpected tensor, wrong shape, NaN/Inf, negative threshold or
            alpha, an initial state that is not 0/1, or a value the circuit cannot realise.
    """
    if isinstance(source, Checkpoint):
        return source
    from safetensors import SafetensorError
    from safetensors.numpy import load

    path = Path(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror}") from None
    try:
        arrays = load(data)
        # safetensors: an 8-byte little-endian header length, then the JSON header
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size]).get("__metadata__") or {}
    except (SafetensorError, ValueError, AttributeError) as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc}") from None
    if META_KEY not in header:
        raise CheckpointError(f"{path} is a safetensors file without bmru checkpoint metadata")
    try:
        raw = json.loads(header[META_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path} has metadata that is not valid JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a {FORMAT} (format is "
                              f"{raw.get('format') if isinstance(raw, dict) else None!r})")
    if raw.get("version") != VERSION:
        raise CheckpointError(
            f"{path} has unknown checkpoint version {raw.get('version')!r}; "
            f"this build reads version {VERSION}"
        )
    try:
        meta = CheckpointMeta.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "metadata"
        raise CheckpointError(f"{path} has invalid metadata at {where}: {err['msg']}") from None
    _check_arrays(path, meta.architecture, arrays)
    arrays = {k: v.astype(np.float32, copy=False) for k, v in arrays.items()}
    _check_realisable(path, meta, arrays)
    return Checkpoint(path, hashlib.sha256(data).hexdigest(), meta, arrays)


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[CheckpointMeta, dict[str, np.ndarray]]:
    """The metadata and tensors of :func:`open_checkpoint` (no torch).

    Raises:
        CheckpointError: As :func:`open_checkpoint`.
    """
    ckpt = open_checkpoint(path)
    return ckpt.meta, ckpt.arrays


# float32 storage: a stored bound may differ from the metadata's float64 by an ulp or two
_RTOL = 1e-5


def _outside(v: np.ndarray, low: float | np.ndarray, high: float | np.ndarray) -> np.ndarray:
    return (v < low - _RTOL * np.abs(low)) | (v > high + _RTOL * np.abs(high))


def _off_grid(v: np.ndarray, step: float) -> np.ndarray:
    return np.abs(v / step - np.round(v / step)) > 1e-3


def _off_levels(v: np.ndarray, levels: tuple) -> np.ndarray:
    """Which rows of ``v`` (one value, or a (beta_hi, beta_lo) pair) are no level."""
    lv = np.array(levels, dtype=float).reshape(len(levels), -1)
    close = np.abs(v[:, None, :] - lv[None]) <= _RTOL * np.abs(lv[None])
    return ~close.all(-1).any(-1)


def _refuse(path: Path, name: str, bad: np.ndarray, values: np.ndarray, why: str) -> None:
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        where = "".join(f"[{i}]" for i in index)
        raise CheckpointError(
            f"tensor {name!r}{where} in {path} is {float(values[index]):.6g}, {why} "
            "(the checkpoint's realisability block); clamping belongs to training")


def _check_realisable(path: Path, meta: CheckpointMeta, arrays: dict[str, np.ndarray]) -> None:
    """Refuse every value the circuit cannot realise: the model and the tile then read the
    same numbers, with no clamp on either side."""
    r = meta.realisability
    for kind, step, high, unit, levels in (("w", r.w_step, r.w_max, "", r.weight_levels),
                                           ("i", r.i_step, r.i_max, " nA", r.bias_levels)):
        low = r.smallest(kind)  # type: ignore[arg-type]
        names = (["readout.W"] + [f"layers.{i}.W" for i in range(meta.architecture.layers)]
                 if kind == "w" else
                 ["readout.b"] + [f"layers.{i}.b" for i in range(meta.architecture.layers)])
        for name in names:
            a = arrays[name]
            mag = np.abs(a)
            _refuse(path, name, (mag != 0) & _outside(mag, low, high), a,
                    f"but a magnitude must be 0 or within {low:g}-{high:g}{unit}")
            if step is not None:
                _refuse(path, name, (mag != 0) & _off_grid(mag, step), a,
                        f"off the grid of {step:g}{unit}")
            if levels is not None:
                off = _off_levels(a.reshape(-1, 1), levels).reshape(a.shape)
                _refuse(path, name, (a != 0) & off, a, "but it must be 0 or one of its levels")
    for i in range(meta.architecture.layers):
        beta1, delta = arrays[f"layers.{i}.beta1"], arrays[f"layers.{i}.delta"]
        alpha = arrays[f"layers.{i}.alpha"]
        beta_hi = beta1 + delta
        _refuse(path, f"layers.{i}.beta1", _outside(beta_hi, r.beta_hi_min, r.beta_hi_max), beta1,
                f"but beta1 + delta must lie within {r.beta_hi_min:g}-{r.beta_hi_max:g} nA")
        _refuse(path, f"layers.{i}.delta",
                _outside(delta, r.delta_frac_min * beta_hi, r.delta_frac_max * beta_hi), delta,
                f"but delta must lie within {r.delta_frac_min:g}-{r.delta_frac_max:g} of "
                "beta1 + delta")
        _refuse(path, f"layers.{i}.alpha", _outside(alpha, r.alpha_min, r.alpha_max), alpha,
                f"but alpha must lie within {r.alpha_min:g}-{r.alpha_max:g} nA")
        if r.threshold_levels is not None:
            _refuse(path, f"layers.{i}.beta1",
                    _off_levels(np.stack([beta_hi, beta1], -1), r.threshold_levels), beta1,
                    "but beta1 + delta and beta1 must be one of the threshold levels")
        if r.alpha_levels is not None:
            _refuse(path, f"layers.{i}.alpha", _off_levels(alpha[:, None], r.alpha_levels),
                    alpha, "but alpha must be one of the alpha levels")
        grid = [("beta1", beta_hi), ("delta", delta)] if r.threshold_levels is None else []
        grid += [("alpha", alpha)] if r.alpha_levels is None else []
        for name, v in grid:
            if r.i_step is not None:
                _refuse(path, f"layers.{i}.{name}", _off_grid(v, r.i_step),
                        arrays[f"layers.{i}.{name}"], f"off the grid of {r.i_step:g} nA")


def _check_arrays(path: Path, arch: Architecture, arrays: dict[str, np.ndarray]) -> None:
    expected = tensor_shapes(arch)
    for name, shape in expected.items():
        if name not in arrays:
            raise CheckpointError(f"{path} is missing tensor {name!r}")
        a = arrays[name]
        if tuple(a.shape) != shape:
            raise CheckpointError(
                f"tensor {name!r} in {path} has shape {tuple(a.shape)}, expected {shape}"
            )
        if not np.all(np.isfinite(a)):
            raise CheckpointError(f"tensor {name!r} in {path} contains NaN or Inf")
        if name.rsplit(".", 1)[1] in _NON_NEGATIVE and np.any(a < 0):
            raise CheckpointError(
                f"tensor {name!r} in {path} has negative values, "
                "but thresholds and alpha are currents that must be non-negative"
            )
        if name.endswith(".s0") and not np.all((a == 0) | (a == 1)):
            raise CheckpointError(f"tensor {name!r} in {path} must hold only 0 and 1")
    extra = sorted(set(arrays) - set(expected))
    if extra:
        raise CheckpointError(f"{path} has unexpected tensor {extra[0]!r} for its architecture")


def write_checkpoint(
    path: str | os.PathLike[str], meta: CheckpointMeta, arrays: dict[str, np.ndarray]
) -> Path:
    """Validate and atomically write a checkpoint.

    Args:
        path: Destination ``.safetensors`` file.
        meta: Metadata.
        arrays: Tensors keyed by name (see module docstring).

    Returns:
        The written path.
    """
    from safetensors.numpy import save_file

    path = Path(path)
    arrays = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in arrays.items()}
    _check_arrays(path, meta.architecture, arrays)
    _check_realisable(path, meta, arrays)
    with atomic_path(path) as tmp:
        save_file(arrays, str(tmp), metadata={META_KEY: meta.model_dump_json()})
    return path


def held_copy(path: str | os.PathLike[str], out: str | os.PathLike[str]) -> Path:
    """Write the network of checkpoint ``path`` to ``out`` as a held network
    (:class:`~bmru_pdk.model.schema.Architecture`): the same parameters, each layer but the
    last passing its states on a frame late, so its model and its tile differ from the
    original's (fine-tune it held with ``bmru train --init ... --held``)."""
    meta, arrays = read_checkpoint(path)
    arch = meta.architecture.model_copy(update={"held": True})
    return write_checkpoint(out, meta.model_copy(update={"architecture": arch}), arrays)


def model_arrays(model: BMRUNet) -> dict[str, np.ndarray]:
    """The realised parameters of ``model`` as checkpoint arrays (no mismatch)."""
    import torch

    with torch.no_grad():
        params = model.effective_parameters()
    arrays: dict[str, np.ndarray] = {}
    for i, p in enumerate(params[:-1]):
        arrays[f"layers.{i}.W"] = p["weight"].numpy()
        arrays[f"layers.{i}.b"] = p["bias"].numpy()
        arrays[f"layers.{i}.beta1"] = p["beta_lo"].numpy()
        arrays[f"layers.{i}.delta"] = p["delta"].numpy()
        arrays[f"layers.{i}.alpha"] = p["alpha"].numpy()
        arrays[f"layers.{i}.s0"] = p["s0"].numpy()
    arrays["readout.W"] = params[-1]["weight"].numpy()
    arrays["readout.b"] = params[-1]["bias"].numpy()
    return {k: v.astype(np.float32).copy() for k, v in arrays.items()}


def save_checkpoint(
    model: BMRUNet, path: str | os.PathLike[str], training: TrainingRecord | None = None
) -> Path:
    """Write ``model`` (its realised parameters) to ``path`` atomically.

    Args:
        model: The network.
        path: Destination ``.safetensors`` file.
        training: Optional training record stored in the metadata.

    Returns:
        The written path.
    """
    meta = model.meta if training is None else model.meta.model_copy(update={"training": training})
    return write_checkpoint(path, meta, model_arrays(model))


def model_from_arrays(meta: CheckpointMeta, arrays: dict[str, np.ndarray]) -> BMRUNet:
    """Build a torch model holding exactly the given checkpoint arrays."""
    import torch

    from bmru_pdk.model.network import BMRUNet

    model = BMRUNet(meta)

    def t(name: str) -> torch.Tensor:
        return torch.from_numpy(arrays[name].copy())

    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            layer.weight.copy_(t(f"layers.{i}.W"))
            layer.bias.copy_(t(f"layers.{i}.b"))
            layer.beta1.copy_(t(f"layers.{i}.beta1"))
            layer.delta.copy_(t(f"layers.{i}.delta"))
            layer.alpha.copy_(t(f"layers.{i}.alpha"))
            # H(+-0.5) reproduces the stored 0/1 state.
            layer.s0_logit.copy_(t(f"layers.{i}.s0") - 0.5)
        model.readout_weight.copy_(t("readout.W"))
        model.readout_bias.copy_(t("readout.b"))
    return model.eval()


def load_checkpoint(path: str | os.PathLike[str]) -> BMRUNet:
    """Load a checkpoint as a torch model in eval mode, ready for inference.

    Args:
        path: The ``.safetensors`` checkpoint file.

    Returns:
        The network; ``model.meta`` holds the metadata.

    Raises:
        CheckpointError: The file is unreadable or invalid (one sentence saying why).
    """
    return open_checkpoint(path).model()


def default_meta(
    n_in: int,
    d: int,
    layers: int,
    classes: list[str],
    realisability: Realisability | None = None,
    mean: list[float] | None = None,
    std: list[float] | None = None,
    held: bool = False,
) -> CheckpointMeta:
    """Metadata for a fresh network on the standard front end (16 kHz, hop 160: 10 ms frames).

    Args:
        n_in: Input currents (= MFCC coefficients).
        d: Units per layer.
        layers: Number of FQ-BMRU layers.
        classes: Class names (their number is n_classes).
        realisability: Weight/current range and grid; defaults when ``None``.
        mean: Per-coefficient feature mean; zeros when ``None``.
        std: Per-coefficient feature std; ones when ``None``.
        held: Each layer but the last passes its states on a frame late
            (:class:`~bmru_pdk.model.schema.Architecture`).

    Returns:
        Validated metadata.
    """
    enc = InputEncoding(n_mfcc=n_in, mean=mean or [0.0] * n_in, std=std or [1.0] * n_in)
    return CheckpointMeta(
        frame_period_s=enc.hop_length / enc.sample_rate,
        architecture=Architecture(n_in=n_in, d=d, layers=layers, n_classes=len(classes),
                                  held=held),
        realisability=realisability or Realisability(),
        input=enc,
        classes=classes,
    )


DENSE_W_MAX = 3.0  # largest weight magnitude of a dense random network


def random_checkpoint(
    *,
    n_in: int = 13,
    d: int = 4,
    layers: int = 2,
    seed: int = 0,
    path: str | os.PathLike[str],
    n_classes: int = 2,
    dense: bool = False,
) -> Path:
    """Write a valid, randomly initialised checkpoint of any supported shape.

    Args:
        n_in: Input currents.
        d: Units per layer.
        layers: Number of FQ-BMRU layers.
        seed: Seed of the initialisation (same seed, same file contents).
        path: Destination ``.safetensors`` file.
        n_classes: Output classes (named ``class0``, ``class1``, ...).
        dense: Every weight realisable, none zero: magnitudes uniform in
            [``w_min``, :data:`DENSE_W_MAX`], random signs (a network whose tile draws every
            weight; the initialisation leaves most of a large network's below ``w_min``).

    Returns:
        The written path.
    """
    import torch

    from bmru_pdk.model.network import BMRUNet

    if min(n_in, d, layers) < 1 or n_classes < 2:
        raise BmruError(
            f"random_checkpoint needs n_in, d, layers >= 1 and n_classes >= 2, "
            f"got n_in={n_in}, d={d}, layers={layers}, n_classes={n_classes}"
        )
    model = BMRUNet(default_meta(n_in, d, layers, [f"class{i}" for i in range(n_classes)]))
    model.init_parameters(torch.Generator().manual_seed(seed))
    if not dense:
        return save_checkpoint(model, path)
    arrays = model_arrays(model)
    rng = np.random.default_rng(seed)
    low = model.meta.realisability.smallest("w")
    for name in [f"layers.{i}.W" for i in range(layers)]:
        shape = arrays[name].shape
        arrays[name] = rng.choice([-1.0, 1.0], shape) * rng.uniform(low, DENSE_W_MAX, shape)
    return write_checkpoint(path, model.meta, arrays)


def _pos(v: np.ndarray) -> np.ndarray:
    return np.maximum(v, 0)


def _neg(v: np.ndarray) -> np.ndarray:
    return np.maximum(-v, 0)


@dataclass(frozen=True)
class LayerCircuit:
    """Circuit-facing parameters of one FQ-BMRU layer (numpy, currents in nA).

    Attributes:
        W: (d, n_in) signed weights = mirror ratios, ``W = W_pos - W_neg``.
        b: (d,) signed bias currents, ``b = b_pos - b_neg``.
        beta1: (d,) lower threshold beta_lo, nA.
        delta: (d,) hysteresis width, nA (the cell's I_width).
        alpha: (d,) ON output current, nA (the cell's I_gain).
        s0: (d,) initial state, 0 or 1.
    """

    W: np.ndarray
    b: np.ndarray
    beta1: np.ndarray
    delta: np.ndarray
    alpha: np.ndarray
    s0: np.ndarray

    @property
    def W_pos(self) -> np.ndarray:  # noqa: N802  (the matrix name)
        """Magnitudes realised by PMOS mirrors sourcing into the unit's node."""
        return _pos(self.W)

    @property
    def W_neg(self) -> np.ndarray:  # noqa: N802
        """Magnitudes realised by NMOS mirrors sinking from the unit's node."""
        return _neg(self.W)

    @property
    def b_pos(self) -> np.ndarray:
        """Bias sourced (PMOS), nA."""
        return _pos(self.b)

    @property
    def b_neg(self) -> np.ndarray:
        """Bias sunk (NMOS), nA."""
        return _neg(self.b)

    @property
    def beta_hi(self) -> np.ndarray:
        """Upper threshold beta1 + delta, nA (the cell's I_thresh)."""
        return self.beta1 + self.delta


@dataclass(frozen=True)
class CircuitParameters:
    """All circuit-facing parameters of a checkpoint.

    Attributes:
        meta: The checkpoint metadata (realisability holds the weight range and grid).
        layers: One :class:`LayerCircuit` per FQ-BMRU layer, input side first.
        W_o: (n_classes, d) signed readout weights; ``W_o_pos``/``W_o_neg`` its rails.
        b_o: (n_classes,) signed readout bias currents, nA; ``b_o_pos``/``b_o_neg`` its rails.
    """

    meta: CheckpointMeta
    layers: list[LayerCircuit]
    W_o: np.ndarray
    b_o: np.ndarray

    @property
    def W_o_pos(self) -> np.ndarray:  # noqa: N802
        """Readout magnitudes sourced (PMOS)."""
        return _pos(self.W_o)

    @property
    def W_o_neg(self) -> np.ndarray:  # noqa: N802
        """Readout magnitudes sunk (NMOS)."""
        return _neg(self.W_o)

    @property
    def b_o_pos(self) -> np.ndarray:
        """Readout bias sourced, nA."""
        return _pos(self.b_o)

    @property
    def b_o_neg(self) -> np.ndarray:
        """Readout bias sunk, nA."""
        return _neg(self.b_o)


def circuit_parameters(
    source: str | os.PathLike[str] | Checkpoint | BMRUNet,
) -> CircuitParameters:
    """Circuit-facing parameters as plain numpy arrays, per layer (1 unit = 1 nA).

    Args:
        source: A checkpoint (a path is read without torch) or a :class:`BMRUNet`.

    Returns:
        The realised parameters, with signed weights and biases split into non-negative
        PMOS (sourcing) and NMOS (sinking) parts.
    """
    if isinstance(source, (str, os.PathLike, Checkpoint)):
        ckpt = open_checkpoint(source)
        meta, arrays = ckpt.meta, ckpt.arrays
    else:
        meta, arrays = source.meta, model_arrays(source)
    layers = [
        LayerCircuit(**{k: arrays[f"layers.{i}.{k}"]
                        for k in ("W", "b", "beta1", "delta", "alpha", "s0")})
        for i in range(meta.architecture.layers)
    ]
    return CircuitParameters(meta=meta, layers=layers, W_o=arrays["readout.W"],
                             b_o=arrays["readout.b"])
