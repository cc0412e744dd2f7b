"""Project a checkpoint onto what the tile's mirrors realise.

The model bounds weights and currents from above only; the mirrors also have a smallest
ratio (:data:`bmru_pdk.circuits.mapping.MIN_RATIO`) and the cell a characterised threshold
window. :func:`fit_checkpoint` moves every non-zero parameter to the nearest realisable value
(with a small margin), keeps exact zeros (no device) and beta_hi, and writes a new checkpoint.
Use it for randomly initialised networks and for training runs without those bounds; the
tile generator itself never changes a parameter: it refuses.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bmru_pdk.circuits import mapping

MARGIN = 0.03  # relative: keeps float32 storage and the ReLU-copy compensation inside the range


def _clip_signed(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    mag = np.clip(np.abs(v), lo * (1 + MARGIN), hi * (1 - MARGIN))
    return np.where(v == 0, 0.0, np.sign(v) * mag)


def fit_checkpoint(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Write ``src`` with every parameter moved into the realisable ranges to ``dst``.

    Args:
        src: checkpoint to read.
        dst: checkpoint to write (may equal ``src``).

    Returns:
        The written path.
    """
    from bmru_pdk.model.checkpoint import read_checkpoint, write_checkpoint

    meta, arrays = read_checkpoint(src)
    r = mapping.ranges()
    i_ref = mapping.load_tables().i_ref_na
    out = dict(arrays)
    for name, a in arrays.items():
        kind = name.rsplit(".", 1)[1]
        if kind == "W":
            out[name] = _clip_signed(a, *r["gain"])
        elif kind == "b":
            out[name] = _clip_signed(a / i_ref, *r["gain"]) * i_ref
    for i in range(meta.architecture.layers):
        key = f"layers.{i}."
        lo, hi = r["beta_hi"]
        beta_hi = np.clip(arrays[key + "beta1"] + arrays[key + "delta"],
                          lo * (1 + MARGIN), hi * (1 - MARGIN))
        f_lo, f_hi = r["delta_fraction"]
        delta = np.clip(arrays[key + "delta"], beta_hi * (f_lo + MARGIN),
                        beta_hi * (f_hi - MARGIN))
        out[key + "delta"], out[key + "beta1"] = delta, beta_hi - delta
        out[key + "alpha"] = np.clip(arrays[key + "alpha"], r["alpha"][0] * (1 + MARGIN),
                                     r["alpha"][1] * (1 - MARGIN))
    return write_checkpoint(dst, meta, out)
