"""Pathfinder: are two marked dots the two ends of one dashed path?

Written here from the published task's idea, at a size a CPU trains on: a ``size x size``
image holds ``paths`` dashed curves (4-connected random walks that mostly keep their
direction, drawn ``dash`` pixels on, ``gap`` off) and two marker pixels at path ends. Label 1:
the markers are the two ends of one path; label 0: they end two different paths. Every
other path is a distractor. The labels of each split are exactly balanced.

Connectivity is what a flood fill sees when it may step over a gap: two drawn pixels link
when their Chebyshev distance is at most ``gap + 1``. Within a path every dash links to the
next; cells of different paths are kept more than ``gap + 1`` apart, so no path links to
another. The image is read pixel by pixel, row by row: one input current per step, 0 for
background, :data:`PATH_NA` on a path, :data:`MARKER_NA` on a marker.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bmru_pdk.errors import BmruError
from bmru_pdk.model.tasks.spec import SequenceTask, TaskData, check_sizes

PATH_NA, MARKER_NA = 0.5, 1.0
_STEPS = np.array([(0, 1), (1, 0), (0, -1), (-1, 0)])  # right, down, left, up: turn = +-1
_TRIES = 50


@dataclass(frozen=True)
class PathfinderRules:
    """How images are drawn.

    Attributes:
        size: Image side, pixels.
        paths: Paths per image (two carry markers in a negative example, one in a positive).
        min_length: Shortest path, cells.
        max_length: Longest path, cells.
        dash: Drawn cells per dash.
        gap: Skipped cells between dashes.
        momentum: Probability that a walk keeps its direction at a step.
    """

    size: int = 16
    paths: int = 3
    min_length: int = 8
    max_length: int = 14
    dash: int = 3
    gap: int = 1
    momentum: float = 0.7

    @property
    def link(self) -> int:
        """Chebyshev distance up to which two drawn pixels are connected."""
        return self.gap + 1


RULES = PathfinderRules()
TASK = SequenceTask("pathfinder", inputs=1, classes=2, length=RULES.size**2,
                    description=f"{RULES.size}x{RULES.size} image, {RULES.paths} dashed paths, "
                                "pixel by pixel: are the markers one path's ends?")
SIZES = {"train": 2000, "validation": 500, "test": 1000}


def _near(cells: list[tuple[int, int]], reach: int, size: int) -> np.ndarray:
    """Cells within Chebyshev distance ``reach`` of any of ``cells``."""
    mask = np.zeros((size, size), bool)
    for r, c in cells:
        mask[max(r - reach, 0) : r + reach + 1, max(c - reach, 0) : c + reach + 1] = True
    return mask


def _walk(rng: np.random.Generator, rules: PathfinderRules,
          blocked: np.ndarray) -> list[tuple[int, int]] | None:
    """A self-avoiding walk on free cells, or ``None`` when it gets stuck."""
    free = np.argwhere(~blocked)
    if not len(free):
        return None
    cell = tuple(int(v) for v in free[rng.integers(len(free))])
    path, own = [cell], {cell}
    direction = int(rng.integers(4))
    length = int(rng.integers(rules.min_length, rules.max_length + 1))
    while len(path) < length:
        turn = 0 if rng.random() < rules.momentum else int(rng.choice((-1, 1)))
        # the preferred direction first, then the other two that do not reverse
        for d in [(direction + turn) % 4, *((direction + t) % 4 for t in rng.permutation(
                [-1, 0, 1]) if t != turn)]:
            r, c = path[-1][0] + _STEPS[d][0], path[-1][1] + _STEPS[d][1]
            if 0 <= r < rules.size and 0 <= c < rules.size and not blocked[r, c] \
                    and (r, c) not in own:
                direction = d
                path.append((int(r), int(c)))
                own.add(path[-1])
                break
        else:
            return None
    return path


def _layout(rng: np.random.Generator, rules: PathfinderRules) -> list[list[tuple[int, int]]]:
    """``rules.paths`` walks, each more than ``link`` cells from the others."""
    for _ in range(_TRIES):
        blocked = np.zeros((rules.size, rules.size), bool)
        paths = []
        for _ in range(rules.paths):
            path = next((p for p in (_walk(rng, rules, blocked) for _ in range(_TRIES)) if p),
                        None)
            if path is None:
                break
            paths.append(path)
            blocked |= _near(path, rules.link, rules.size)
        else:
            return paths
    raise BmruError(f"cannot place {rules.paths} paths of up to {rules.max_length} cells in a "
                    f"{rules.size}x{rules.size} image: use fewer or shorter paths")


def _unconnected_ends(rng: np.random.Generator,
                      paths: list[list[tuple[int, int]]]) -> tuple[tuple[int, int], ...]:
    """Ends of two different paths, as far apart as the first path's own two ends.

    Matching the distance keeps the markers' distance (which a positive example bounds by
    its path's length) from telling the label by itself.
    """
    span = np.hypot(*np.subtract(paths[0][0], paths[0][-1]))
    pairs = [(a, b) for i, p in enumerate(paths) for q in paths[i + 1 :]
             for a in (p[0], p[-1]) for b in (q[0], q[-1])]
    miss = np.array([abs(np.hypot(*np.subtract(a, b)) - span) for a, b in pairs])
    closest = np.flatnonzero(miss == miss.min())
    return pairs[closest[rng.integers(len(closest))]]


def draw(rng: np.random.Generator, connected: bool,
         rules: PathfinderRules = RULES) -> np.ndarray:
    """One image.

    Args:
        rng: Source of randomness.
        connected: Put both markers on one path's ends (label 1), else on the ends of two
            different paths (label 0).
        rules: Size, paths and dashes.

    Returns:
        (size, size) float32 currents, nA.
    """
    paths = _layout(rng, rules)
    image = np.zeros((rules.size, rules.size), np.float32)
    period = rules.dash + rules.gap
    for path in paths:
        for i, (r, c) in enumerate(path):
            if i % period < rules.dash:
                image[r, c] = PATH_NA
    markers = (paths[0][0], paths[0][-1]) if connected else _unconnected_ends(rng, paths)
    for r, c in markers:
        image[r, c] = MARKER_NA
    return image


def load(seed: int, sizes: Mapping[str, int] | None = None) -> TaskData:
    """Balanced random images per split, from ``seed``.

    Args:
        seed: Seed of the draws.
        sizes: Examples per split (default :data:`SIZES`).

    Returns:
        The splits, x of shape (N, size * size, 1).
    """
    rng = np.random.default_rng(seed)
    xs, ys = {}, {}
    for split, n in check_sizes(sizes or SIZES).items():
        labels = rng.permutation(np.arange(n) % 2)
        images = np.stack([draw(rng, bool(label)) for label in labels])
        xs[split] = images.reshape(n, -1, 1)
        ys[split] = labels.astype(np.int64)
    return TaskData(TASK, seed, xs, ys)
