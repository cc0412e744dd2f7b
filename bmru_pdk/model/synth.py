"""Offline keyword dataset in the Speech Commands layout, spoken by Debian's ``espeak-ng``
and, where asked, ``flite`` (a second engine: other voices, another synthesis method).

Each "speaker" is an English accent with a voice variant (espeak-ng) or a flite voice with
a vocal-tract length (``flite:slt@1.06``: its formants scaled by 1.06, as a shorter vocal
tract); each engine's voices are assigned to the train / validation / test splits (80 / 10 /
10 %, at least one each; a flite voice with all its lengths) so that test voices are never
heard in training, as in Speech Commands. Each utterance draws its speed (80-150 words per
minute, so words last about 0.4-0.8 s), pitch, level, time shift (centred +-0.15 s) and
background noise (none, or a noise file at 20, 10 or 5 dB SNR) from a seeded generator, so
the same seed writes the same files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np

from bmru_pdk.errors import BmruError, ToolMissingError
from bmru_pdk.fileio import output_dir
from bmru_pdk.model.data import BINARY_OTHERS, DIGITS, NOISE_DIR
from bmru_pdk.model.features import CLIP_SAMPLES, SAMPLE_RATE

ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
VARIANTS = (
    "m1",
    "m2",
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
    "f1",
    "f2",
    "f3",
    "f4",
    "f5",
    "klatt",
    "klatt2",
    "klatt3",
    "croak",
)
# Voice variants no split of any generated dataset speaks with: the sealed sample's voices,
# never heard in training, in noise, or by any bench that chose anything.
SEALED_VARIANTS = ("adam", "Andy", "aunty", "edward", "john", "linda", "paul", "steph")
# A second such set, for the sealed sample drawn afresh after the first one informed a choice
SEALED2_VARIANTS = ("Alicia", "Annie", "belinda", "benjamin", "david", "michel", "robert",
                    "travis")
ESPEAK, FLITE = "espeak-ng", "flite"
ENGINES = (ESPEAK, FLITE)
# flite's general-domain voices at 16 kHz (kal, its 8 kHz copy, and awb_time, a clock-only
# voice, left out), each one speaker
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
# vocal-tract lengths of each flite voice, as formant scales: +-12 %, about the spread of
# adult speakers of one sex (vocal-tract length perturbation, as speech recognisers train)
FLITE_SCALES = (0.88, 0.94, 1.0, 1.06, 1.12)
FLITE_TAG = "flite:"
FLITE_SPEAKERS = tuple(f"{FLITE_TAG}{v}@{k:g}" for v in FLITE_VOICES for k in FLITE_SCALES)
WORDS_BINARY = ("yes", *BINARY_OTHERS)
WORDS_ALL = (*WORDS_BINARY, *DIGITS)
SNRS_DB = (None, 20.0, 10.0, 5.0)
NOISE_SECONDS = 20
SHIFT_S = 0.15


def engine_program(engine: str = ESPEAK) -> str:
    """Path of a speech engine's program, or a one-sentence error saying how to install it."""
    if engine not in ENGINES:
        raise BmruError(f"unknown speech engine {engine!r}: use {' or '.join(ENGINES)}")
    exe = shutil.which(engine)
    if exe is None:
        raise ToolMissingError(
            f"{engine} is not installed: run 'sudo apt-get install {engine}' (make setup does)"
        )
    return exe


def engine_of(speaker: str) -> str:
    """The engine that speaks ``speaker`` (``flite:NAME`` or an espeak-ng voice)."""
    return FLITE if speaker.startswith(FLITE_TAG) else ESPEAK


def flite_voice(speaker: str) -> tuple[str, float]:
    """A flite speaker's voice and formant scale: ``flite:slt@1.06`` -> ("slt", 1.06)."""
    voice, _, scale = speaker.removeprefix(FLITE_TAG).partition("@")
    return voice, float(scale or 1.0)


def _command(word: str, voice: str, speed: int, pitch: int) -> list[str]:
    """The engine's command writing ``word`` as a WAV on stdout: espeak-ng takes the speed in
    words per minute and the pitch 0..99; flite stretches its durations by espeak-ng's
    default 175 words per minute over ``speed`` and aims its pitch at 60 + 2 x ``pitch`` Hz
    (90-240 Hz over the 15..90 the generator draws: low male to high female voices), both
    before its formant scale (:func:`speak` plays it that much faster) undoes them."""
    if engine_of(voice) == FLITE:
        name, scale = flite_voice(voice)
        return [engine_program(FLITE), "-voice", name,
                "--setf", f"duration_stretch={175 / speed * scale:.4f}",
                "--setf", f"int_f0_target_mean={(60 + 2 * pitch) / scale:.1f}", "-t", word,
                "-o", "/dev/stdout"]
    return [engine_program(ESPEAK), "-v", voice, "-s", str(speed), "-p", str(pitch), "--stdout",
            word]


def speak(word: str, voice: str, speed: int, pitch: int) -> np.ndarray:
    """Speak ``word`` and return float32 audio at 16 kHz.

    Args:
        word: Text to speak.
        voice: espeak-ng voice, e.g. ``"en-us+f3"``, or a flite one, e.g. ``"flite:slt@1.06"``.
        speed: Words per minute.
        pitch: Pitch 0..99.

    Returns:
        Mono samples in [-1, 1].
    """
    import librosa

    cmd = _command(word, voice, speed, pitch)
    try:
        raw = subprocess.run(cmd, capture_output=True, check=True, timeout=30).stdout
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise BmruError(f"{engine_of(voice)} failed for voice {voice!r}: {exc}") from None
    # A streamed WAV: the header's sizes are placeholders, so find the data chunk by name.
    sr = int.from_bytes(raw[24:28], "little")
    if engine_of(voice) == FLITE:  # played faster by its scale: every frequency scaled by it
        sr = round(sr * flite_voice(voice)[1])
    start = raw.find(b"data") + 8
    y = np.frombuffer(raw[start : start + (len(raw) - start) // 2 * 2], "<i2")
    y = y.astype(np.float32) / 32768.0
    return librosa.resample(y, orig_sr=sr, target_sr=SAMPLE_RATE).astype(np.float32)


def _trim(y: np.ndarray, rel_threshold: float = 0.02) -> np.ndarray:
    """Cut leading and trailing silence so the time shift places the word itself."""
    loud = np.flatnonzero(np.abs(y) > rel_threshold * max(1e-9, float(np.abs(y).max())))
    return y[loud[0] : loud[-1] + 1] if loud.size else y


def _noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Background noise of unit RMS: white, pink, brown, mains hum, or babble."""
    if kind == "white":
        y = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.maximum(np.fft.rfftfreq(n, 1 / SAMPLE_RATE), 1.0)
        y = np.fft.irfft(spec / (np.sqrt(f) if kind == "pink" else f), n)
    elif kind == "hum":
        t = np.arange(n) / SAMPLE_RATE
        y = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 8))
        y = y + 0.1 * rng.standard_normal(n)
    else:  # babble: many overlapping voices saying other words
        y = np.zeros(n)
        for _ in range(n // 2000):
            w = speak(str(rng.choice(WORDS_ALL)), _voice(rng), 175, int(rng.integers(20, 80)))
            at = int(rng.integers(0, max(1, n - len(w))))
            y[at : at + len(w)] += w[: n - at]
    return (y / max(1e-9, float(np.sqrt(np.mean(y**2))))).astype(np.float32)


def _voice(rng: np.random.Generator) -> str:
    return f"{rng.choice(ACCENTS)}+{rng.choice(VARIANTS)}"


def speaker_splits(seed: int, engines: tuple[str, ...] = (ESPEAK,)) -> dict[str, str]:
    """Every speaker of the dataset of ``seed`` with its split (``train``, ``validation`` or
    ``test``), as :func:`generate` assigns them (80 / 10 / 10 % of each engine's speakers, at
    least one each; espeak-ng's as they were before flite was added)."""
    unknown = [e for e in engines if e not in ENGINES]
    if unknown or not engines:
        raise BmruError(f"unknown speech engine {', '.join(unknown) or '(none given)'}: use "
                        f"{' and / or '.join(ENGINES)}")
    out: dict[str, str] = {}
    pools = {ESPEAK: ([f"{a}+{v}" for a in ACCENTS for v in VARIANTS], seed),
             FLITE: (list(FLITE_VOICES), [seed, 2])}
    for engine, (voices, stream) in pools.items():
        if engine not in engines:
            continue
        order = np.random.default_rng(stream).permutation(len(voices))
        n_held = max(1, len(voices) // 10)  # validation and test alike
        rank = {int(i): k for k, i in enumerate(order)}
        # in the speakers' own order: generate draws voices by position in it
        split = {v: "validation" if rank[i] < n_held else "test" if rank[i] < 2 * n_held
                 else "train" for i, v in enumerate(voices)}
        out |= split if engine == ESPEAK else {
            s: split[flite_voice(s)[0]] for s in FLITE_SPEAKERS}
    return out


def _write_wav(path: Path, y: np.ndarray) -> None:
    import soundfile

    soundfile.write(str(path), np.clip(y, -1, 1), SAMPLE_RATE, subtype="PCM_16")


def generate(
    root: str | os.PathLike[str],
    words: tuple[str, ...] = WORDS_BINARY,
    per_word: int = 400,
    seed: int = 0,
    force: bool = False,
    voices: tuple[int, str] | None = None,
    speakers: tuple[str, ...] | None = None,
    engines: tuple[str, ...] = (ESPEAK,),
) -> Path:
    """Write a keyword dataset in the Speech Commands layout (atomically: whole or nothing).

    Args:
        root: Destination folder: new, or one this tool wrote (see
            :func:`~bmru_pdk.fileio.output_dir`).
        words: Words to speak, one folder each.
        per_word: Utterances per word.
        seed: Seed; the same seed writes the same dataset.
        force: Write beside files the tool did not write (never removing them).
        voices: ``(split_seed, split)``: speak every utterance with a voice of ``split`` as
            the dataset of seed ``split_seed`` assigns voices, and assign voices as it does;
            ``(0, "test")`` gives voices a model trained on the seed-0 dataset never heard.
        speakers: Speak every utterance with one of these voices instead (all listed as the
            test split), e.g. the sealed sample's :data:`SEALED_VARIANTS`.
        engines: The engines whose speakers the splits hold (:data:`ENGINES`).

    Returns:
        The dataset root.
    """
    if per_word < 1 or not words:
        raise BmruError(f"need at least one word and per_word >= 1, got {per_word}")
    assigned = speaker_splits(seed if voices is None else voices[0], engines)
    for engine in {engine_of(s) for s in (speakers or assigned)} | {ESPEAK}:  # babble: espeak
        engine_program(engine)
    rng = np.random.default_rng(seed)
    rng.permutation(len(ACCENTS) * len(VARIANTS))  # the split's draw: keeps the stream as it was
    if speakers is not None:
        split_of = dict.fromkeys(speakers, "test")
        pool = list(speakers)
    else:
        split_of = {s: k for s, k in assigned.items() if k != "train"}
        pool = list(assigned) if voices is None else [s for s, k in assigned.items()
                                                      if k == voices[1]]
    # each engine as likely as any other, whatever its number of speakers (one engine: the
    # draw as it always was)
    by_engine: dict[str, list[str]] = {}
    for spk in pool:
        by_engine.setdefault(engine_of(spk), []).append(spk)
    groups = list(by_engine.values())
    # Noise is drawn from a separate stream so that adding words does not change it.
    noise_rng = np.random.default_rng([seed, 1])
    kinds = ("white", "pink", "brown", "hum", "babble")
    noises = {k: _noise(k, NOISE_SECONDS * SAMPLE_RATE, noise_rng) for k in kinds}
    with output_dir(root, force=force) as tmp:
        (tmp / NOISE_DIR).mkdir()
        for k, y in noises.items():
            _write_wav(tmp / NOISE_DIR / f"{k}.wav", 0.1 * y)
        lists: dict[str, list[str]] = {"validation": [], "test": []}
        for word in words:
            (tmp / word).mkdir()
            count: dict[str, int] = {}
            for _ in range(per_word):
                group = groups[int(rng.integers(len(groups)))] if len(groups) > 1 else pool
                spk = group[int(rng.integers(len(group)))]
                clip = _utterance(word, spk, rng, noises)
                tag = hashlib.sha1(spk.encode()).hexdigest()[:8]
                n = count[spk] = count.get(spk, -1) + 1
                rel = f"{word}/{tag}_nohash_{n}.wav"
                _write_wav(tmp / rel, clip)
                if spk in split_of:
                    lists[split_of[spk]].append(rel)
        (tmp / "validation_list.txt").write_text("".join(f"{r}\n" for r in lists["validation"]))
        (tmp / "testing_list.txt").write_text("".join(f"{r}\n" for r in lists["test"]))
        (tmp / "README.txt").write_text(
            f"Synthetic keyword dataset in the Speech Commands v2 layout, spoken by "
            f"{' and '.join(sorted({engine_of(s) for s in pool}))}.\n"
            f"words={','.join(words)} per_word={per_word} seed={seed}\n"
        )
    return Path(root)


def _utterance(
    word: str, speaker: str, rng: np.random.Generator, noises: dict[str, np.ndarray]
) -> np.ndarray:
    """One 1 s clip: spoken word, random level and time shift, optional background noise."""
    y = _trim(speak(word, speaker, int(rng.integers(80, 150)), int(rng.integers(15, 90))))
    y = y[:CLIP_SAMPLES] / max(1e-9, float(np.abs(y).max())) * rng.uniform(0.2, 0.9)
    clip = np.zeros(CLIP_SAMPLES, dtype=np.float32)
    # Centred with a jitter of up to +-SHIFT_S, as Speech Commands clips are cut around
    # the loudest second of each recording.
    slack = CLIP_SAMPLES - len(y)
    jitter = int(SHIFT_S * SAMPLE_RATE)
    at = int(np.clip(slack // 2 + rng.integers(-jitter, jitter + 1), 0, slack))
    clip[at : at + len(y)] = y
    snr = SNRS_DB[int(rng.integers(len(SNRS_DB)))]
    if snr is not None:
        noise = noises[str(rng.choice(list(noises)))]
        start = int(rng.integers(0, len(noise) - CLIP_SAMPLES))
        rms = float(np.sqrt(np.mean(y**2)))
        clip += noise[start : start + CLIP_SAMPLES] * rms / 10 ** (snr / 20)
    return clip
