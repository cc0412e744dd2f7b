"""Sequence-classification tasks beyond keyword spotting, and the architectures compared on
them (the published Table-1 tasks that can be built offline).

- ``seq-digits``, ``perm-digits``: :mod:`.digits` (scikit-learn's 8 x 8 digits, pixel by pixel);
- ``listops``: :mod:`.listops` (generated nested expressions);
- ``pathfinder``: :mod:`.pathfinder` (generated dashed-path images, pixel by pixel).

The task modules need only numpy (and scikit-learn for the digits); :mod:`.architectures`,
:mod:`.signed_bmru` and :mod:`.training` need torch.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

from bmru_pdk.errors import BmruError
from bmru_pdk.model.tasks import digits, listops, pathfinder
from bmru_pdk.model.tasks.spec import SequenceTask, TaskData

TASKS: dict[str, SequenceTask] = {
    t.name: t for t in (digits.SEQUENTIAL, digits.PERMUTED, listops.TASK, pathfinder.TASK)
}
_LOADERS: dict[str, Callable[..., TaskData]] = {
    digits.SEQUENTIAL.name: partial(digits.load, permuted=False),
    digits.PERMUTED.name: partial(digits.load, permuted=True),
    listops.TASK.name: listops.load,
    pathfinder.TASK.name: pathfinder.load,
}


def load_task(name: str, seed: int = 0, sizes: Mapping[str, int] | None = None) -> TaskData:
    """The train / validation / test splits of a task, made from ``seed``.

    Args:
        name: A name of :data:`TASKS`.
        seed: Seed of the data (split, or generation).
        sizes: Examples per split (default: the task module's ``SIZES``).

    Returns:
        The splits.
    """
    if name not in TASKS:
        raise BmruError(f"unknown sequence task {name!r}; choose one of {', '.join(TASKS)}")
    return _LOADERS[name](seed, sizes)


__all__ = ["TASKS", "SequenceTask", "TaskData", "load_task"]
