"""A second speech engine (flite) for the offline keyword data: it speaks, its voices get
splits of their own without moving espeak-ng's, a dataset mixes both engines, and a name
that is no engine is refused."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk.errors import BmruError
from bmru_pdk.model.synth import (
    ESPEAK,
    FLITE,
    FLITE_SCALES,
    FLITE_SPEAKERS,
    FLITE_TAG,
    flite_voice,
    speaker_splits,
)

needs_engines = pytest.mark.skipif(
    shutil.which("flite") is None or shutil.which("espeak-ng") is None,
    reason="flite and espeak-ng are Debian packages make setup installs")


def _tag(voice: str) -> str:  # generate names each clip by its voice's tag
    return hashlib.sha1(voice.encode()).hexdigest()[:8]


def _tags(folder: Path) -> set[str]:
    return {p.name.split("_")[0] for p in folder.glob("*.wav")}


@needs_engines
def test_flite_speaks_at_the_speed_asked() -> None:
    """A word of a few hundred ms at 16 kHz, longer when spoken slower (flite's durations are
    stretched by 175 / speed, so 80 words per minute is 1.9x 150 before trimming)."""
    pytest.importorskip("librosa")
    from bmru_pdk.model.synth import _trim, speak

    fast, slow = (_trim(speak("yes", FLITE_TAG + "slt@1", speed, 50)) for speed in (150, 80))
    assert 0.1 < len(fast) / 16000 < 1.0 and float(np.sqrt(np.mean(fast ** 2))) > 0.01
    assert len(slow) > 1.4 * len(fast)


@needs_engines
def test_a_shorter_vocal_tract_raises_the_formants_not_the_length() -> None:
    """Scale 1.12 against 0.88: the spectrum's centroid (formants) 27 % higher in theory
    (1.12 / 0.88; a voiced word's centroid moves with its formants, so more than half of it
    must show), its length the same within the trim's few ms and flite's own rounding of
    durations (10 %)."""
    pytest.importorskip("librosa")
    import librosa

    from bmru_pdk.model.synth import _trim, speak

    low, high = (_trim(speak("yes", f"{FLITE_TAG}slt@{k:g}", 120, 50)) for k in (0.88, 1.12))
    centroid = [float(np.mean(librosa.feature.spectral_centroid(y=y, sr=16000)))
                for y in (low, high)]
    assert centroid[1] / centroid[0] > 1 + 0.27 / 2
    assert abs(len(high) / len(low) - 1) < 0.1


def test_each_engine_splits_its_own_speakers() -> None:
    both = speaker_splits(0, (ESPEAK, FLITE))
    # adding flite moves no espeak-ng voice: a checkpoint trained before keeps its test voices
    assert {s: k for s, k in both.items() if not s.startswith(FLITE_TAG)} == speaker_splits(0)
    flite = {s: k for s, k in both.items() if s.startswith(FLITE_TAG)}
    assert sorted(flite) == sorted(FLITE_SPEAKERS)
    n = len(FLITE_SCALES)  # a voice with all its vocal-tract lengths in one split
    assert sorted(flite.values()) == ["test"] * n + ["train"] * 2 * n + ["validation"] * n
    assert len({flite_voice(s)[0] for s, k in flite.items() if k == "test"}) == 1


def test_an_unknown_engine_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(BmruError, match="unknown speech engine festival"):
        speaker_splits(0, (ESPEAK, "festival"))
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "kws-data", str(tmp_path / "d"),
                           "--engines", "festival", "--per-word", "1"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr
    assert "festival" in proc.stderr and not (tmp_path / "d").exists()


@needs_engines
def test_a_dataset_of_two_engines_keeps_flite_test_voices_out_of_training(tmp_path: Path
                                                                          ) -> None:
    pytest.importorskip("librosa")
    from bmru_pdk.model.synth import generate

    root = generate(tmp_path / "d", words=("yes",), per_word=40, seed=0,
                    engines=(ESPEAK, FLITE))
    split = speaker_splits(0, (ESPEAK, FLITE))
    by_tag = {_tag(v): (v, k) for v, k in split.items()}
    spoken = {by_tag[t][0] for t in _tags(root / "yes")}
    flite = {v for v in spoken if v.startswith(FLITE_TAG)}
    # each engine is drawn half the time: 40 draws leave flite out with probability 2^-40
    assert flite and spoken - flite
    listed = set((root / "testing_list.txt").read_text().split())
    for clip in (root / "yes").glob("*.wav"):
        voice, where = by_tag[clip.name.split("_")[0]]
        assert (f"yes/{clip.name}" in listed) == (where == "test"), voice
    assert "espeak-ng and flite" in (root / "README.txt").read_text()


@needs_engines
def test_the_flite_sample_speaks_flite_voices_only(tmp_path: Path) -> None:
    """The sample for an engine a checkpoint never heard: flite's voices, none of them a
    voice of an espeak-ng split."""
    pytest.importorskip("librosa")
    from bmru_pdk.model.samples import SAMPLES
    from bmru_pdk.model.synth import generate

    sample = SAMPLES["flite"]
    out = generate(tmp_path / "f", words=("yes",), per_word=12, seed=sample.seed,
                   speakers=sample.speakers)
    assert _tags(out / "yes") <= {_tag(v) for v in sample.speakers}
    assert not {_tag(v) for v in sample.speakers} & {_tag(v) for v in speaker_splits(0)}
