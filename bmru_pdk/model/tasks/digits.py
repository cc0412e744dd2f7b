"""Sequential and permuted digits: scikit-learn's bundled 8 x 8 handwritten digits read one
pixel per step (64 steps of one input current).

The stand-in for sequential and permuted MNIST (MNIST itself ships in no installed package).
Pixels are read row by row; the permuted task reads them in one fixed order drawn from
``PERMUTATION_SEED``, the same for every data seed, as permuted MNIST does. A pixel's
intensity 0..16 becomes an input current of 0..1 nA.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from bmru_pdk.model.tasks.spec import SequenceTask, TaskData, split_arrays

SEQUENTIAL = SequenceTask("seq-digits", inputs=1, classes=10, length=64,
                          description="8x8 digit, pixel by pixel, row by row")
PERMUTED = SequenceTask("perm-digits", inputs=1, classes=10, length=64,
                        description="8x8 digit, pixel by pixel, in one fixed random order")
PERMUTATION_SEED = 0
# 1797 images: 70 / 15 / 15 %
SIZES = {"train": 1257, "validation": 270, "test": 270}


def pixel_order(permuted: bool) -> np.ndarray:
    """The order in which the 64 pixels are read (row-major, or the fixed permutation)."""
    if not permuted:
        return np.arange(64)
    return np.random.default_rng(PERMUTATION_SEED).permutation(64)


def load(seed: int, sizes: Mapping[str, int] | None = None, permuted: bool = False) -> TaskData:
    """The digits as pixel sequences, split from ``seed``.

    Args:
        seed: Seed of the train / validation / test split.
        sizes: Examples per split (default :data:`SIZES`, all 1797 images).
        permuted: Read the pixels in the fixed permuted order.

    Returns:
        The splits, x of shape (N, 64, 1).
    """
    from sklearn.datasets import load_digits  # bundled with scikit-learn: no download

    digits = load_digits()
    x = (digits.images.reshape(-1, 64)[:, pixel_order(permuted)] / 16.0)[..., None]
    xs, ys = split_arrays(x, digits.target, sizes or SIZES, np.random.default_rng(seed))
    return TaskData(PERMUTED if permuted else SEQUENTIAL, seed, xs, ys)
