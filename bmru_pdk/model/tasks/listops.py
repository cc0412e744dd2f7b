"""ListOps: nested prefix expressions over the digits 0-9, answered by one digit.

Written here from the published task's rules: an expression is a digit or a bracketed
operator applied to a list of expressions, ``[MAX 2 9 [MIN 4 7 ] 0 ]`` = 9. The operators:

- ``MAX``, ``MIN``: largest and smallest argument;
- ``MED``: the median, rounded down when the count is even (the integer part of the mean of
  the two middle arguments);
- ``SM``: the sum modulo 10.

Tokens are ``[MAX``, ``[MIN``, ``[MED``, ``[SM``, ``]`` and the ten digits: 15 symbols, one
input current each (1 nA on the step's token, 0 elsewhere). Examples are left-padded with
zero input to ``max_length`` steps. The label is the expression's value, 10 classes; single
operators lean (MAX to 9, MIN to 0), so the majority baseline is reported beside every result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bmru_pdk.errors import BmruError
from bmru_pdk.model.tasks.spec import SequenceTask, TaskData, check_sizes


def _median(args: Sequence[int]) -> int:
    ordered = sorted(args)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) // 2


OPERATORS: dict[str, Callable[[Sequence[int]], int]] = {
    "MAX": max,
    "MIN": min,
    "MED": _median,
    "SM": lambda args: sum(args) % 10,
}
DIGITS = tuple(str(v) for v in range(10))
CLOSE = "]"
TOKENS = (*DIGITS, *(f"[{op}" for op in OPERATORS), CLOSE)


@dataclass(frozen=True)
class ListOpsRules:
    """How expressions are drawn.

    Attributes:
        max_depth: Deepest nesting (the outer operator is depth 1).
        max_args: Most arguments of one operator (at least 2).
        max_length: Most tokens; longer draws are rejected. Also the sequence length.
        min_length: Fewest tokens; shorter draws are rejected.
        branch: Probability that an argument above ``max_depth`` is an expression rather
            than a digit.
    """

    max_depth: int = 4
    max_args: int = 5
    max_length: int = 100
    min_length: int = 10
    branch: float = 0.3


RULES = ListOpsRules()
TASK = SequenceTask("listops", inputs=len(TOKENS), classes=10, length=RULES.max_length,
                    description=f"ListOps, depth <= {RULES.max_depth}, <= {RULES.max_args} "
                                f"arguments, {RULES.min_length}-{RULES.max_length} tokens")
SIZES = {"train": 3000, "validation": 500, "test": 1000}


def evaluate(tokens: Sequence[str]) -> int:
    """The value of a tokenised expression (``"[MAX 2 [SM 7 5 ] ]".split()``).

    Args:
        tokens: The expression's tokens.

    Returns:
        Its value, a digit.
    """
    stack: list[list] = []  # per open bracket: [operator, argument values...]
    value: int | None = None
    for i, tok in enumerate(tokens):
        if value is not None:
            raise BmruError(f"ListOps expression continues after its end, at token {i} {tok!r}")
        if tok in DIGITS:
            if stack:
                stack[-1].append(int(tok))
            else:
                value = int(tok)
        elif tok.startswith("[") and tok[1:] in OPERATORS:
            stack.append([tok[1:]])
        elif tok == CLOSE and stack and len(stack[-1]) > 1:
            op, *args = stack.pop()
            result = OPERATORS[op](args)
            if stack:
                stack[-1].append(result)
            else:
                value = result
        else:
            raise BmruError(f"ListOps token {i} {tok!r} is unknown, closes nothing or closes "
                            "an operator without arguments")
    if value is None:
        raise BmruError(f"ListOps expression {' '.join(tokens)!r} is unfinished")
    return value


def draw(rng: np.random.Generator, rules: ListOpsRules = RULES) -> list[str]:
    """One random expression within the rules' length bounds (rejection sampling).

    Args:
        rng: Source of randomness.
        rules: Depth, arguments and length bounds.

    Returns:
        The expression's tokens; the outer level is always an operator.
    """

    def node(depth: int) -> list[str]:
        if depth > 1 and (depth > rules.max_depth or rng.random() >= rules.branch):
            return [DIGITS[rng.integers(10)]]
        op = list(OPERATORS)[rng.integers(len(OPERATORS))]
        args = [tok for _ in range(rng.integers(2, rules.max_args + 1))
                for tok in node(depth + 1)]
        return [f"[{op}", *args, CLOSE]

    while True:
        tokens = node(1)
        if rules.min_length <= len(tokens) <= rules.max_length:
            return tokens


def encode(tokens: Sequence[str], length: int) -> np.ndarray:
    """One-hot input currents (1 nA) of ``tokens``, left-padded with zeros to ``length``."""
    x = np.zeros((length, len(TOKENS)), np.float32)
    x[np.arange(length - len(tokens), length), [TOKENS.index(t) for t in tokens]] = 1.0
    return x


def load(seed: int, sizes: Mapping[str, int] | None = None) -> TaskData:
    """Independent random expressions per split, from ``seed``.

    Args:
        seed: Seed of the draws.
        sizes: Examples per split (default :data:`SIZES`).

    Returns:
        The splits, x of shape (N, max_length, 15).
    """
    rng = np.random.default_rng(seed)
    xs, ys = {}, {}
    for split, n in check_sizes(sizes or SIZES).items():
        exprs = [draw(rng) for _ in range(n)]
        xs[split] = np.stack([encode(e, TASK.length) for e in exprs])
        ys[split] = np.array([evaluate(e) for e in exprs], np.int64)
    return TaskData(TASK, seed, xs, ys)
