"""The compare's samples (held-out voices) and the confidence intervals of its figures."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk.analyses.stats import bootstrap_ratio, wilson


def test_wilson_interval() -> None:
    # textbook values: 50 of 50 -> (0.9287, 1), 49 of 50 -> (0.8950, 0.9965)
    assert wilson(50, 50) == (0.92865, 1.0)
    assert wilson(49, 50) == pytest.approx((0.89495, 0.99646), abs=1e-4)
    lo, hi = wilson(25, 50)
    assert lo < 0.5 < hi and hi - lo == pytest.approx(0.2674, abs=1e-3)


def test_bootstrap_resamples_utterances() -> None:
    frames = np.full(40, 100.0)
    same = np.full(40, 99.0)
    assert bootstrap_ratio(same, frames) == (0.99, 0.99)  # no spread, no interval
    same[:4] = 50.0  # four bad utterances: the interval must cover the mean and widen
    lo, hi = bootstrap_ratio(same, frames)
    mean = same.sum() / frames.sum()
    assert lo < mean < hi and hi - lo > 0.02
    assert bootstrap_ratio(same, frames) == (lo, hi)  # seeded: repeats exactly


def _tags(names: list[str]) -> set[str]:
    return {Path(n).name.split("_")[0] for n in names}


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_heldout_voices_were_never_heard_in_training(tmp_path: Path) -> None:
    pytest.importorskip("librosa")
    from bmru_pdk.model.synth import generate

    train_data = generate(tmp_path / "train", words=("yes",), per_word=60, seed=0)
    listed = set()
    for name in ("validation_list.txt", "testing_list.txt"):
        listed |= set((train_data / name).read_text().split())
    heard = _tags([f"yes/{p.name}" for p in (train_data / "yes").glob("*.wav")
                   if f"yes/{p.name}" not in listed])
    test_voices = _tags((train_data / "testing_list.txt").read_text().split())
    held = generate(tmp_path / "held", words=("yes",), per_word=12, seed=7, voices=(0, "test"))
    spoken = _tags([p.name for p in (held / "yes").glob("*.wav")])
    assert len(spoken) > 1 and not spoken & heard
    assert spoken & test_voices  # the test split's voices, as the training data assigns them
    assert sorted((held / "testing_list.txt").read_text().split()) == sorted(
        f"yes/{p.name}" for p in (held / "yes").glob("*.wav"))
    # without the restriction the same seed speaks voices heard in training
    free = generate(tmp_path / "free", words=("yes",), per_word=12, seed=7)
    assert _tags([p.name for p in (free / "yes").glob("*.wav")]) & heard


def test_split_assignment_covers_every_voice_once() -> None:
    from bmru_pdk.model.synth import ACCENTS, VARIANTS, speaker_splits

    split = speaker_splits(0)
    assert len(split) == len(ACCENTS) * len(VARIANTS)
    counts = {k: list(split.values()).count(k) for k in ("train", "validation", "test")}
    assert counts == {"train": 104, "validation": 12, "test": 12}
    assert speaker_splits(1) != split  # the seed decides who is held out


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_samples_speak_the_voices_their_split_assigns(tmp_path: Path) -> None:
    """Against the split itself: the held-out sample speaks only the test voices of the
    training data's seed, each sealed sample only voices no split of any seed and no other
    sample holds, from a seed no other sample uses."""
    pytest.importorskip("librosa")
    from bmru_pdk.model.samples import SAMPLES
    from bmru_pdk.model.synth import generate, speaker_splits

    def tag(voice: str) -> str:  # generate names each clip by its voice's tag
        import hashlib

        return hashlib.sha1(voice.encode()).hexdigest()[:8]

    heldout = SAMPLES["heldout"]
    split = speaker_splits(heldout.voices[0])
    by_tag = {tag(v): k for v, k in split.items()}
    held = generate(tmp_path / "held", words=("yes",), per_word=12, seed=heldout.seed,
                    voices=heldout.voices)
    spoken = _tags([p.name for p in (held / "yes").glob("*.wav")])
    assert spoken and {by_tag[t] for t in spoken} == {"test"}
    for name in ("sealed", "sealed2"):
        sealed = SAMPLES[name]
        others = [s for n, s in SAMPLES.items() if n != name]
        sealed_tags = {tag(v) for v in sealed.speakers}
        assert not sealed_tags & set(by_tag)  # in no split of any seed: not a dataset voice
        assert not set(sealed.speakers) & {v for s in others for v in s.speakers or ()}
        out = generate(tmp_path / name, words=("yes",), per_word=12, seed=sealed.seed,
                       speakers=sealed.speakers)
        spoken = _tags([p.name for p in (out / "yes").glob("*.wav")])
        assert len(spoken) > 1 and spoken <= sealed_tags
        assert sealed.seed not in {s.seed for s in others}


def test_training_records_its_data_seed(tmp_path: Path) -> None:
    """A checkpoint names the dataset seed it was trained on, so the samples' voices can be
    checked against that split (a dataset bmru did not speak records none)."""
    from bmru_pdk.model.data import dataset_seed

    (tmp_path / "README.txt").write_text("Synthetic ... words=yes per_word=3 seed=5\n")
    assert dataset_seed(tmp_path) == 5
    (tmp_path / "README.txt").write_text("Speech Commands v2\n")
    assert dataset_seed(tmp_path) is None
    assert dataset_seed(tmp_path / "missing") is None
