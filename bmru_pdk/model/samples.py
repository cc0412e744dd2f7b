"""Named samples of utterances as a checkpoint's input currents: the inputs of every
simulation against the model (compare, flow, Monte Carlo, twin, benchmarks).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmru_pdk.errors import BmruError
from bmru_pdk.model.checkpoint import Checkpoint, open_checkpoint


@dataclass(frozen=True)
class Utterance:
    """One input sequence: a name, its label and its input currents (frames, n_in), nA."""

    name: str
    label: int
    x_na: np.ndarray


@dataclass(frozen=True)
class Sample:
    """A named sample of utterances spoken offline: the generator seed, and the voices.

    Attributes:
        seed: Seed of the generator (the words' speed, pitch, level, shift and noise).
        voices: ``(split_seed, split)`` of :func:`~bmru_pdk.model.synth.generate`, or ``None``
            for every voice.
    """

    seed: int
    voices: tuple[int, str] | None


# "tuning": the sample the characterisation grids, the frame length and the calibration
# levels were chosen on (seed 2 served as a development check too). "heldout": a seed used
# for no decision, spoken only by the voices of the training data's test split (kws-data
# seed 0), so no voice was heard in training: the headline figures come from it.
SAMPLES = {"tuning": Sample(1, None), "heldout": Sample(7, (0, "test"))}


def load_utterances(
    checkpoint: str | os.PathLike[str] | Checkpoint, data: str | os.PathLike[str] | None, n: int,
    sample: str = "heldout", seed: int | None = None,
) -> list[Utterance]:
    """``n`` utterances as the checkpoint's input currents, evenly spread over the clips.

    Args:
        checkpoint: The checkpoint (its input encoding and task).
        data: A dataset in the Speech Commands layout (its test split); ``None`` speaks the
            named ``sample`` (:data:`SAMPLES`) with the offline generator.
        n: Number of utterances.
        sample: Name of the offline sample when ``data`` is ``None``.
        seed: Another generator seed for the sample's voices (``None``: the sample's own).
    """
    import tempfile

    from bmru_pdk.model.data import SPLITS, get_task, load_split
    from bmru_pdk.model.features import to_currents

    if n < 1:
        raise BmruError(f"--n must be at least 1, got {n}")
    if sample not in SAMPLES:
        raise BmruError(f"unknown sample {sample!r}; choose {' or '.join(SAMPLES)}")
    meta = open_checkpoint(checkpoint).meta
    task = get_task(meta.training.task if meta.training else "binary")
    if data is None:
        from bmru_pdk.model.synth import generate

        spec = SAMPLES[sample]
        seed = spec.seed if seed is None else seed
        with tempfile.TemporaryDirectory() as tmp:
            words = tuple(w for w in task.words if w != "silence")
            root = generate(Path(tmp) / "data", words, per_word=-(-n // len(words)) + 1,
                            seed=seed, voices=spec.voices)
            # restricted voices all land in their own split
            names = SPLITS if spec.voices is None else (spec.voices[1],)
            splits = [load_split(root, task, s, seed) for s in names]
    else:
        splits = [load_split(data, task, "test")]
    feats = np.concatenate([s.features for s in splits])
    labels = np.concatenate([s.labels for s in splits])
    sources = [src for s in splits for src in s.sources]
    pick = np.unique(np.linspace(0, len(labels) - 1, min(n, len(labels))).round().astype(int))
    x = to_currents(feats[pick], meta.input)
    return [Utterance(sources[k], int(labels[k]), x[i]) for i, k in enumerate(pick)]


