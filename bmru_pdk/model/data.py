"""Google Speech Commands v2 in its standard folder layout, for keyword-spotting tasks.

Layout: ``ROOT/<word>/<speaker>_nohash_<n>.wav``, ``ROOT/_background_noise_/*.wav``,
``ROOT/validation_list.txt`` and ``ROOT/testing_list.txt`` (paths relative to ROOT); every
clip in neither list is training data. "silence" clips are cut from the background-noise
files, as is usual for this dataset: one class's worth per split, deterministic from a seed.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmru_pdk.errors import BmruError
from bmru_pdk.model.features import CLIP_SAMPLES, fit_length, mfcc, read_clip

SPLITS = ("train", "validation", "test")
SILENCE = "silence"
NOISE_DIR = "_background_noise_"


@dataclass(frozen=True)
class Task:
    """A keyword-spotting task: which folders map to which class index.

    Attributes:
        name: Task name stored in checkpoints.
        classes: Class names, index order.
        words: Folder name -> class index (``silence`` is made from background noise).
    """

    name: str
    classes: tuple[str, ...]
    words: dict[str, int]


BINARY_OTHERS = ("no", "up", "down", "left", "right")
DIGITS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")

TASKS = {
    # "yes" against {no, up, down, left, right, silence}: the published binary task.
    "binary": Task(
        "binary",
        ("other", "yes"),
        {"yes": 1, **{w: 0 for w in BINARY_OTHERS}, SILENCE: 0},
    ),
    # Ten digits and silence: 11 classes.
    "digits": Task(
        "digits", (*DIGITS, SILENCE), {**{w: i for i, w in enumerate(DIGITS)}, SILENCE: 10}
    ),
}


def dataset_seed(root: str | os.PathLike[str]) -> int | None:
    """The generator seed a dataset of ``bmru kws-data`` records in its ``README.txt``
    (``None`` for a dataset it did not write, e.g. real Speech Commands)."""
    try:
        text = (Path(root) / "README.txt").read_text()
    except (OSError, UnicodeDecodeError):
        return None
    m = re.search(r"\bseed=(\d+)\b", text)
    return int(m.group(1)) if m else None


def get_task(name: str) -> Task:
    """Look up a task by name, with a one-sentence error for unknown names."""
    if name not in TASKS:
        raise BmruError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    return TASKS[name]


@dataclass(frozen=True)
class Split:
    """One split's MFCC features and labels.

    Attributes:
        features: (N, 101, 13) MFCC, float32.
        labels: (N,) class indices, int64.
        sources: N strings naming each clip (relative path, or noise file and offset).
    """

    features: np.ndarray
    labels: np.ndarray
    sources: list[str]


def list_split(root: Path, task: Task, split: str) -> list[tuple[str, int]]:
    """Relative WAV paths and labels of one split (without silence), sorted."""
    if split not in SPLITS:
        raise BmruError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    # a split is what its list names; train is what neither list names, so only it needs both
    listed: dict[str, set[str]] = {"validation": set(), "test": set()}
    for name in ("validation", "test") if split == "train" else (split,):
        f = root / f"{'testing' if name == 'test' else name}_list.txt"
        if not f.is_file():
            raise BmruError(f"{root} is not a Speech Commands folder: {f.name} is missing")
        listed[name] = {ln.strip() for ln in f.read_text().splitlines() if ln.strip()}
    items = []
    for word, label in task.words.items():
        if word == SILENCE:
            continue
        folder = root / word
        if not folder.is_dir():
            raise BmruError(f"{root} has no folder {word!r} needed by task {task.name!r}")
        for wav in sorted(folder.glob("*.wav")):
            rel = f"{word}/{wav.name}"
            where = (
                "validation"
                if rel in listed["validation"]
                else "test"
                if rel in listed["test"]
                else "train"
            )
            if where == split:
                items.append((rel, label))
    if not items:
        raise BmruError(f"{root} has no {split} clips for task {task.name!r}")
    return items


def silence_clips(root: Path, n: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """Cut ``n`` one-second clips from the background-noise files at random offsets and gains.

    Args:
        root: Dataset root.
        n: Number of clips.
        seed: Seed (use a different one per split).

    Returns:
        (source description, 16 kHz samples) pairs.
    """
    files = sorted((root / NOISE_DIR).glob("*.wav"))
    if not files:
        raise BmruError(f"{root} has no {NOISE_DIR}/*.wav files to make silence clips from")
    noises = [_read_long(f) for f in files]
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        k = int(rng.integers(len(files)))
        start = int(rng.integers(max(1, len(noises[k]) - CLIP_SAMPLES)))
        gain = float(rng.uniform(0.0, 1.0))
        clip = fit_length(noises[k][start : start + CLIP_SAMPLES]) * gain
        out.append((f"{NOISE_DIR}/{files[k].name}@{start}x{gain:.3f}", clip))
    return out


def _read_long(path: Path) -> np.ndarray:
    import soundfile

    y, sr = soundfile.read(str(path), dtype="float32", always_2d=True)
    y = y.mean(axis=1)
    if sr != 16000:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=16000)
    return y


def clip_features(path: Path) -> np.ndarray:
    """MFCC features of the clip at ``path`` (read-only), computed once per process while the
    file keeps its size and modification time: loading the splits again (a seed, a recipe, a
    bench's next run) reuses them."""
    path = path.resolve()  # a relative path names another file once the directory changes
    stat = path.stat()
    return _features(path, stat.st_size, stat.st_mtime_ns)


# 13 x 101 float32 per clip: the bound holds about 85 MB
@functools.lru_cache(maxsize=16384)
def _features(path: Path, size: int, mtime_ns: int) -> np.ndarray:
    feats = mfcc(read_clip(path))
    feats.flags.writeable = False
    return feats


def load_split(root: str | os.PathLike[str], task: str | Task, split: str, seed: int = 0) -> Split:
    """Load one split as MFCC features (13 x 101 per clip), silence included if the task has it.

    Args:
        root: Dataset root in the Speech Commands layout.
        task: ``"binary"`` or ``"digits"`` (or a :class:`Task`).
        split: ``"train"``, ``"validation"`` or ``"test"``.
        seed: Seed for the silence clips.

    Returns:
        The split's features and labels.
    """
    root = Path(root)
    if not root.is_dir():
        raise BmruError(f"dataset folder {root} does not exist")
    task = get_task(task) if isinstance(task, str) else task
    items = list_split(root, task, split)
    feats = [clip_features(root / rel) for rel, _ in items]
    labels = [label for _, label in items]
    sources = [rel for rel, _ in items]
    if SILENCE in task.words:
        words = sum(1 for w in task.words if w != SILENCE)
        n_sil = max(1, round(len(items) / words))
        for src, clip in silence_clips(root, n_sil, seed=seed * 7919 + SPLITS.index(split)):
            feats.append(mfcc(clip))
            labels.append(task.words[SILENCE])
            sources.append(src)
    return Split(np.stack(feats), np.asarray(labels, dtype=np.int64), sources)
