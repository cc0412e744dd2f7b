"""Off-chip front end: 1 s of 16 kHz audio -> 13 MFCC x 101 frames -> input currents (nA).

MFCCs come from librosa (n_fft 512, hop 160, centred frames, so 16000 samples give 101
frames). The chip sees only the currents made by :func:`to_currents`.
"""

from __future__ import annotations

import os

import numpy as np

from bmru_pdk.errors import BmruError
from bmru_pdk.model.schema import InputEncoding

SAMPLE_RATE = 16000
CLIP_SAMPLES = SAMPLE_RATE
N_MFCC = 13  # coefficients per frame of the standard front end (the datasets' features)


def read_clip(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a WAV file as 1 s of mono float32 audio at 16 kHz (resampled, padded or cut).

    Args:
        path: Audio file.

    Returns:
        Array of 16000 samples in [-1, 1].
    """
    import soundfile

    try:
        y, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as exc:
        raise BmruError(f"cannot read audio file {path}: {exc}") from None
    y = y.mean(axis=1)
    if sr != SAMPLE_RATE:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE)
    return fit_length(y)


def fit_length(y: np.ndarray, n: int = CLIP_SAMPLES) -> np.ndarray:
    """Zero-pad at the end or cut to ``n`` samples (Speech Commands clips may be short)."""
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, len(y))] = y[:n]
    return out


def mfcc(clip: np.ndarray, enc: InputEncoding | None = None) -> np.ndarray:
    """MFCC features of one clip.

    Args:
        clip: Audio samples at ``enc.sample_rate``.
        enc: Front-end settings; the checkpoint's, or the standard ones when ``None``.

    Returns:
        Array of shape (frames, n_mfcc), float32.
    """
    import librosa

    sr, n_mfcc, n_fft, hop, frames = (
        (SAMPLE_RATE, N_MFCC, 512, 160, 101)
        if enc is None
        else (enc.sample_rate, enc.n_mfcc, enc.n_fft, enc.hop_length, enc.frames)
    )
    m = librosa.feature.mfcc(y=clip, sr=sr, n_mfcc=n_mfcc, n_fft=n_fft, hop_length=hop)
    return np.ascontiguousarray(m.T[:frames], dtype=np.float32)


def normaliser(features: np.ndarray) -> tuple[list[float], list[float]]:
    """Per-coefficient mean and std over all utterances and frames of ``features`` (N, T, C)."""
    flat = features.reshape(-1, features.shape[-1]).astype(np.float64)
    return flat.mean(0).tolist(), np.maximum(flat.std(0), 1e-6).tolist()


def to_currents(features: np.ndarray, enc: InputEncoding) -> np.ndarray:
    """Map MFCC features to non-negative input currents in nA.

    ``x = scale_na * clip((f - mean) / std + offset, 0, 2 * offset)``: a normalised
    coefficient of 0 becomes ``offset * scale_na`` nA (3 nA by default) and the range
    +-offset standard deviations fills 0..2 * offset * scale_na nA.

    Args:
        features: MFCC features, shape (..., n_mfcc).
        enc: The checkpoint's input encoding.

    Returns:
        Input currents of the same shape, float32.
    """
    z = (features - np.asarray(enc.mean, np.float32)) / np.asarray(enc.std, np.float32)
    x = enc.scale_na * np.clip(z + enc.offset, 0.0, 2 * enc.offset)
    return x.astype(np.float32)
