"""Confidence intervals for the figures of a sample of utterances."""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959964


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion (95 % by default): sound at 0 or n successes,
    where the normal approximation collapses to a point."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 5), round(min(1.0, centre + half), 5))


def bootstrap_ratio(numerators: np.ndarray, denominators: np.ndarray, resamples: int = 2000,
                    seed: int = 0) -> tuple[float, float]:
    """95 % percentile bootstrap interval of ``sum(numerators) / sum(denominators)`` over
    utterances drawn with replacement: frames of one utterance are not independent, so the
    utterance is the unit resampled.

    Args:
        numerators: Per utterance, e.g. frames whose state bits agree.
        denominators: Per utterance, e.g. frames.
        resamples: Bootstrap resamples.
        seed: Seed of the resampling (the interval repeats exactly).
    """
    numerators, denominators = np.asarray(numerators, float), np.asarray(denominators, float)
    n = len(numerators)
    if n == 0:
        return (0.0, 1.0)
    pick = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    ratios = numerators[pick].sum(1) / denominators[pick].sum(1)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return (round(float(lo), 5), round(float(hi), 5))
