"""Keyword data (espeak-ng generator, Speech Commands loader, features) and a tiny training run."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("librosa")
if shutil.which("espeak-ng") is None:
    pytest.skip("espeak-ng is not installed", allow_module_level=True)

from typer.testing import CliRunner  # noqa: E402

from bmru_pdk.cli import app  # noqa: E402
from bmru_pdk.errors import BmruError  # noqa: E402
from bmru_pdk.model import load_checkpoint  # noqa: E402
from bmru_pdk.model.data import load_split  # noqa: E402
from bmru_pdk.model.features import to_currents  # noqa: E402
from bmru_pdk.model.synth import generate  # noqa: E402
from bmru_pdk.model.train import TrainConfig, prepare_data, train  # noqa: E402


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("kws") / "tiny", per_word=12, seed=1)


def test_generator_writes_speech_commands_layout(tiny: Path) -> None:
    for word in ("yes", "no", "up", "down", "left", "right"):
        wavs = sorted((tiny / word).glob("*_nohash_*.wav"))
        assert len(wavs) == 12
    assert len(list((tiny / "_background_noise_").glob("*.wav"))) == 5
    listed = (tiny / "validation_list.txt").read_text().split() + (
        tiny / "testing_list.txt"
    ).read_text().split()
    assert listed and all((tiny / rel).is_file() for rel in listed)
    import soundfile

    info = soundfile.info(str(next((tiny / "yes").glob("*.wav"))))
    assert (info.samplerate, info.frames, info.channels) == (16000, 16000, 1)


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", words=("yes",), per_word=2, seed=5)
    b = generate(tmp_path / "b", words=("yes",), per_word=2, seed=5)
    files = sorted(p.relative_to(a) for p in a.rglob("*.wav"))
    assert files == sorted(p.relative_to(b) for p in b.rglob("*.wav"))
    assert all((a / f).read_bytes() == (b / f).read_bytes() for f in files)


def test_loader_gives_13_mfcc_by_101_frames_with_silence(tiny: Path) -> None:
    split = load_split(tiny, "binary", "train")
    assert split.features.shape[1:] == (101, 13)
    assert set(split.labels.tolist()) == {0, 1}
    assert any(s.startswith("_background_noise_/") for s in split.sources)
    again = load_split(tiny, "binary", "train")
    assert np.array_equal(split.features, again.features)


def test_currents_are_non_negative_and_documented_range(tiny: Path) -> None:
    data = prepare_data(tiny, "binary")
    x = data.x["train"]
    assert x.min() >= 0 and x.max() <= 2 * data.encoding.offset * data.encoding.scale_na
    z = to_currents(np.asarray([data.encoding.mean], np.float32), data.encoding)
    assert np.allclose(z, data.encoding.offset * data.encoding.scale_na)


def test_loader_errors_are_one_sentence(tmp_path: Path, tiny: Path) -> None:
    with pytest.raises(BmruError, match="does not exist"):
        load_split(tmp_path / "nowhere", "binary", "train")
    with pytest.raises(BmruError, match="validation_list.txt is missing"):
        load_split(tmp_path, "binary", "train")
    with pytest.raises(BmruError, match="unknown task"):
        load_split(tiny, "nope", "train")
    with pytest.raises(BmruError, match="no folder 'zero'"):
        load_split(tiny, "digits", "train")


def test_tiny_training_writes_a_loadable_checkpoint_with_record(tiny: Path, tmp_path: Path) -> None:
    data = prepare_data(tiny, "binary")
    out = tmp_path / "m.safetensors"
    config = TrainConfig(d=2, layers=1, epochs=2, patience=5, threads=1)
    model, record = train(data, config, out, dataset_name="tiny", progress=False)
    assert out.is_file() and record.epochs_run == 2 and record.test_accuracy is not None
    loaded = load_checkpoint(out)
    assert loaded.meta.training == record
    assert loaded.meta.input.mean == data.encoding.mean


def test_cli_train_and_eval(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "c.safetensors"
    runner = CliRunner()
    args = ["train", "--data", str(tiny), "--d", "2", "--layers", "1", "--epochs", "1"]
    result = runner.invoke(app, [*args, "--threads", "1", "-o", str(out)])
    assert result.exit_code == 0, result.output
    report = tmp_path / "m.json"
    result = runner.invoke(app, ["eval", str(out), "--data", str(tiny), "--json", str(report)])
    assert result.exit_code == 0, result.output
    assert "majority vote" in result.output and "true" in result.output
    assert '"confusion"' in report.read_text()
