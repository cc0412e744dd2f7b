"""What every sequence task is: a frozen description, its three splits and their baselines.

A task is sequence classification: one example is a (T, inputs) array of non-negative input
currents (nA), read one step at a time, and its one label, which needs the whole sequence,
is answered once the last step is in. Examples shorter than T are left-padded with zero
input, so the last step is always the example's own last token.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bmru_pdk.errors import BmruError

SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class SequenceTask:
    """A sequence-classification task.

    Attributes:
        name: Task name, as ``bmru train --task`` takes it.
        inputs: Input currents per step.
        classes: Number of classes.
        length: Steps per example.
        description: One line saying what an example is.
    """

    name: str
    inputs: int
    classes: int
    length: int
    description: str


@dataclass(frozen=True)
class TaskData:
    """The three splits of one task, made from one seed.

    Attributes:
        task: The task.
        seed: The seed that made the data (split, generation).
        x: Split name -> (N, length, inputs) float32 input currents, nA.
        y: Split name -> (N,) int64 labels.
    """

    task: SequenceTask
    seed: int
    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]

    def sizes(self) -> dict[str, int]:
        """Examples per split."""
        return {s: len(v) for s, v in self.y.items()}

    def majority_baseline(self, split: str = "test") -> float:
        """Accuracy on ``split`` of always answering the commonest training label."""
        commonest = np.bincount(self.y["train"], minlength=self.task.classes).argmax()
        return float(np.mean(self.y[split] == commonest))


def check_sizes(sizes: Mapping[str, int]) -> dict[str, int]:
    """Examples per split, every split named once and at least one example in each.

    Args:
        sizes: Split name -> number of examples.

    Returns:
        The sizes in split order.
    """
    if sorted(sizes) != sorted(SPLITS) or min(sizes.values()) < 1:
        raise BmruError(f"split sizes must give {', '.join(SPLITS)} at least one example "
                        f"each, got {dict(sizes)}")
    return {s: int(sizes[s]) for s in SPLITS}


def split_arrays(x: np.ndarray, y: np.ndarray, sizes: Mapping[str, int],
                 rng: np.random.Generator) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Deal shuffled examples into the splits, in split order.

    Args:
        x: (N, T, inputs) examples.
        y: (N,) labels.
        sizes: Split name -> examples; their sum must not exceed N.
        rng: Source of the shuffle.

    Returns:
        ``(x, y)`` per split.
    """
    sizes = check_sizes(sizes)
    if sum(sizes.values()) > len(y):
        raise BmruError(f"the splits ask for {sum(sizes.values())} examples but the task "
                        f"has {len(y)}")
    order = rng.permutation(len(y))
    xs, ys, start = {}, {}, 0
    for split, n in sizes.items():
        idx = order[start : start + n]
        xs[split], ys[split] = x[idx].astype(np.float32), y[idx].astype(np.int64)
        start += n
    return xs, ys
