"""Keyword data (espeak-ng generator, Speech Commands loader, features) and a tiny training run."""

from __future__ import annotations

import os
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
from bmru_pdk.model.data import clip_features, load_split  # noqa: E402
from bmru_pdk.model.features import to_currents  # noqa: E402
from bmru_pdk.model.synth import generate  # noqa: E402
from bmru_pdk.model.train import (  # noqa: E402
    TrainConfig,
    det_curve,
    false_reject_rate,
    prepare_data,
    train,
)


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


def test_clip_features_are_reused_until_the_clip_changes(tiny: Path, tmp_path: Path) -> None:
    """Features are computed once per clip while it is unchanged; a clip rewritten with other
    audio (another size or time) is read again, not served from the memo."""
    clips = sorted((tiny / "yes").glob("*.wav"))
    clip = tmp_path / "clip.wav"
    shutil.copy(clips[0], clip)
    first = clip_features(clip)
    assert clip_features(clip) is first and not first.flags.writeable
    shutil.copy(clips[1], clip)
    os.utime(clip, ns=(clip.stat().st_atime_ns, clip.stat().st_mtime_ns + 10**9))
    second = clip_features(clip)
    assert second is not first and not np.array_equal(second, first)


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
    assert loaded.meta.training == record and record.data_seed == 1  # the tiny set's seed
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


def test_cli_trains_on_the_grid_of_its_tables(tiny: Path, tmp_path: Path) -> None:
    """--tables of a 4-gate grid: every weight and bias one of the drawings' levels (k of 4
    gates, either polarity, at the tables' gain), the cell's values on its drawings' levels;
    the default window has no levels (the negative)."""
    from bmru_pdk.circuits import UNIT, characterize

    folder = tmp_path / "tables"
    folder.mkdir()
    characterize.write_tables(characterize.characterize(
        quick=True, unit=UNIT.model_copy(update={"diode_gates": 4})), folder)
    runner = CliRunner()
    args = ["train", "--data", str(tiny), "--d", "2", "--layers", "1", "--epochs", "1",
            "--threads", "1"]
    for out, extra in ((tmp_path / "grid.safetensors", ["--tables", str(folder)]),
                       (tmp_path / "free.safetensors", [])):
        result = runner.invoke(app, [*args, *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
    grid, free = (load_checkpoint(tmp_path / f"{n}.safetensors") for n in ("grid", "free"))
    r, no = grid.meta.realisability, free.meta.realisability
    assert (no.weight_levels, no.threshold_levels) == (None, None)
    # 25 drawings (1..25 gates of 4) of each polarity, each within its copies' few-percent
    # errors (the PMOS path's drain voltage, docs/corners.md) of its nominal k / 4
    k = np.r_[-np.arange(25, 0, -1), np.arange(1, 26)] / 4
    assert np.allclose(r.weight_levels, k, rtol=0.1)
    p = grid.effective_parameters()[0]

    def on(values: list, levels: tuple) -> bool:
        return all(np.isclose(levels, v, rtol=1e-6).reshape(len(levels), -1).all(-1).any()
                   for v in values)

    assert on([w for w in p["weight"].flatten().tolist() if w], r.weight_levels)
    assert on([b for b in p["bias"].tolist() if b], r.bias_levels)
    assert on(list(zip(p["beta_hi"].tolist(), p["beta_lo"].tolist(), strict=True)),
              r.threshold_levels)
    assert on(p["alpha"].tolist(), r.alpha_levels)


def _candidate_net(beta_lo: float, beta_hi: float) -> tuple[list[dict], list, list]:
    """One unit's parameters, and inputs whose candidate is 1.0 nA on every frame."""
    p = {"weight": torch.ones(1, 1), "bias": torch.zeros(1), "beta_lo": torch.tensor([beta_lo]),
         "beta_hi": torch.tensor([beta_hi])}
    readout = {"weight": torch.ones(2, 1), "bias": torch.zeros(2)}
    h = torch.ones(1, 5, 1)
    return [p, readout], [h.clone().requires_grad_()], [h, h]


def test_margin_term_penalises_only_candidates_near_a_threshold() -> None:
    from bmru_pdk.model.train import codesign_penalty

    config = TrainConfig(margin=0.2)
    params, c, inputs = _candidate_net(0.5, 1.5)  # candidate 0.5 nA from both thresholds
    assert float(codesign_penalty(params, c, inputs, config).detach()) == 0.0
    params, c, inputs = _candidate_net(0.5, 1.1)  # 0.1 nA below beta_hi: half the margin
    near = codesign_penalty(params, c, inputs, config)
    assert float(near.detach()) == pytest.approx(0.5)
    near.backward()
    assert float(c[0].grad.min()) > 0  # descent lowers the candidate, away from beta_hi
    assert float(codesign_penalty(params, c, inputs, TrainConfig())) == 0.0  # off by default


def _units_at_rest(first: float, second: float = 0.0) -> tuple:
    """Two one-unit layers whose zero-input candidates are ``first`` and ``second`` (nA: the
    second layer's weight is zero, so its candidate is its bias), each with the hysteresis
    band 0.5-2.0 nA."""
    from bmru_pdk.model.checkpoint import default_meta
    from bmru_pdk.model.network import BMRUNet

    model = BMRUNet(default_meta(2, 1, 2, ["other", "yes"]))
    model.init_parameters(torch.Generator().manual_seed(0))
    with torch.no_grad():
        params = model.effective_parameters()
    for p, bias in zip(params[:-1], (first, second), strict=True):
        p["bias"] = torch.tensor([bias], requires_grad=True)
        p["beta_lo"], p["beta_hi"] = torch.tensor([0.5]), torch.tensor([2.0])
        p["delta"] = p["beta_hi"] - p["beta_lo"]
    params[1]["weight"] = torch.zeros(1, 1)
    return model, params


def test_rest_term_penalises_a_rest_near_a_threshold_or_above_the_first_layer_in_its_band(
) -> None:
    """At zero input a first-layer candidate is its bias: within the margin of a threshold
    it costs, clear of both it costs nothing, inside its band too (no race: it keeps its
    initial state). A second layer's rest inside its band costs (the reset's race sets it)."""
    from bmru_pdk.model.train import REST_WEIGHT, rest_penalty

    for first in (0.3, 1.0, 3.0):  # 40 % below beta_lo, mid-band, 50 % above beta_hi
        model, params = _units_at_rest(first)
        assert float(rest_penalty(model, params, 0.2).detach()) == 0.0
    model, params = _units_at_rest(0.0, 3.0)  # the second layer clear of its band, above
    assert float(rest_penalty(model, params, 0.2).detach()) == 0.0
    model, params = _units_at_rest(2.2)  # 10 % above beta_hi: half the 20 % margin short
    term = rest_penalty(model, params, 0.2)
    assert float(term.detach()) == pytest.approx(REST_WEIGHT * 0.1, rel=1e-5)
    term.backward()
    assert float(params[0]["bias"].grad) < 0  # descent raises the rest, away from beta_hi
    model, params = _units_at_rest(0.0, 1.0)  # second layer mid-band: 70 % of beta_hi short
    assert float(rest_penalty(model, params, 0.2).detach()) == pytest.approx(
        REST_WEIGHT * 0.7, rel=1e-5)


def test_rests_clear_tells_a_rest_in_a_hold_band_from_clear_rests() -> None:
    """``rests_clear``, which training's epoch choice asks first: the keeper network
    (bundled) rests a layer-1 unit inside its hold band; the rest network fine-tuned from it
    with ``--rest-margin 0.2`` rests every unit clear."""
    from bmru_pdk.model import bundled_checkpoint
    from bmru_pdk.model.train import rests_clear

    keepers = load_checkpoint(bundled_checkpoint())
    rest = load_checkpoint(Path(__file__).parents[1] / "benchmarks" / "checkpoints"
                           / "kws_keepers_to_rest.safetensors")
    assert not rests_clear(keepers, 0.2)
    assert rests_clear(rest, 0.2)
    assert rests_clear(keepers, 0.0)  # no margin asked: every epoch qualifies


def test_current_term_is_the_summing_nodes_sourced_and_sunk_current() -> None:
    from bmru_pdk.model.train import codesign_penalty

    params, c, inputs = _candidate_net(0.5, 1.5)
    params[0]["weight"] = torch.tensor([[-3.0]])
    params[0]["bias"] = torch.tensor([4.0])  # 3 sunk + 4 sourced leave 1: 7 flow
    term = codesign_penalty(params, c, inputs, TrainConfig(current_weight=0.1))
    assert float(term) == pytest.approx(0.1 * (7 + 2))  # and the readout's two unit weights


def test_fine_tuning_starts_from_the_checkpoint(tiny: Path, tmp_path: Path) -> None:
    data = prepare_data(tiny, "binary")
    start = tmp_path / "start.safetensors"
    model, _ = train(data, TrainConfig(d=2, layers=1, epochs=1, threads=1), start,
                     progress=False)
    config = TrainConfig(d=2, layers=1, epochs=1, lr=1e-9, threads=1, init=str(start))
    tuned, _ = train(data, config, tmp_path / "tuned.safetensors", progress=False)
    assert torch.allclose(tuned.readout_weight, model.readout_weight, atol=1e-6)
    other = prepare_data(tiny, "binary", encoding=data.encoding.model_copy(
        update={"scale_na": 2 * data.encoding.scale_na}))
    with pytest.raises(BmruError, match="input encoding"):
        train(other, config, tmp_path / "x.safetensors", progress=False)
    with pytest.raises(BmruError, match="d=2, 1-layer network"):
        train(data, TrainConfig(d=3, layers=1, init=str(start)), tmp_path / "y.safetensors",
              progress=False)


def test_cli_trains_a_held_network_and_fine_tunes_one_into_it(tiny: Path,
                                                               tmp_path: Path) -> None:
    """``--held`` writes a held network; with ``--init`` of an unheld one the fine-tuned
    network is held (its parameters the start's, at a learning rate that moves nothing);
    without the flag a network is not held (the negative)."""
    runner = CliRunner()
    base = ["train", "--data", str(tiny), "--d", "2", "--layers", "2", "--epochs", "1",
            "--threads", "1"]
    plain, held, tuned = (tmp_path / f"{n}.safetensors" for n in ("plain", "held", "tuned"))
    for out, extra in ((plain, []), (held, ["--held"]),
                       (tuned, ["--held", "--init", str(plain), "--lr", "1e-9"])):
        result = runner.invoke(app, [*base, *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
    assert not load_checkpoint(plain).meta.architecture.held
    assert load_checkpoint(held).meta.architecture.held
    tuned_model = load_checkpoint(tuned)
    assert tuned_model.meta.architecture.held
    assert torch.allclose(tuned_model.readout_weight, load_checkpoint(plain).readout_weight,
                          atol=1e-6)


def test_cli_fine_tuning_refuses_to_overwrite_its_start(tiny: Path, tmp_path: Path) -> None:
    start = tmp_path / "c.safetensors"
    runner = CliRunner()
    args = ["train", "--data", str(tiny), "--d", "2", "--layers", "1", "--epochs", "1",
            "--threads", "1"]
    assert runner.invoke(app, [*args, "-o", str(start)]).exit_code == 0
    before = start.read_bytes()
    result = runner.invoke(app, [*args, "--init", str(start), "-o", str(start)])
    assert result.exit_code != 0 and "is the --init checkpoint" in str(result.exception or
                                                                      result.output)
    assert start.read_bytes() == before
    tuned = tmp_path / "t.safetensors"
    result = runner.invoke(app, [*args, "--init", str(start), "--margin", "0.1",
                                 "--current-weight", "0.001", "--rest-margin", "0.2",
                                 "-o", str(tuned)])
    assert result.exit_code == 0, result.output
    assert load_checkpoint(tuned).meta.input == load_checkpoint(start).meta.input


def test_cli_fine_tuning_moves_a_network_onto_another_drawings_levels(
        tiny: Path, tmp_path: Path) -> None:
    """``--init X --tables T`` fine-tunes X's network onto the levels T's drawing realises
    (the cascoded grid's copy gains give other levels than the 4-gate grid's): the
    checkpoint records T's window and maps with T, not with X's tables; without
    ``--tables`` it keeps X's window (the negative)."""
    from bmru_pdk.circuits import mapping

    grid, cascoded = (mapping.load_tables(d) for d in mapping.GRID_DIRS[1:3])
    runner = CliRunner()
    args = ["train", "--data", str(tiny), "--d", "2", "--layers", "1", "--epochs", "1",
            "--threads", "1"]
    start, moved, kept = (tmp_path / f"{n}.safetensors" for n in ("start", "moved", "kept"))
    for out, extra in ((start, ["--tables", str(mapping.GRID_DIRS[1])]),
                       (moved, ["--init", str(start), "--tables", str(mapping.GRID_DIRS[2])]),
                       (kept, ["--init", str(start)])):
        result = runner.invoke(app, [*args, *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
    window = load_checkpoint(moved).meta.realisability
    assert window == mapping.realisability(cascoded) != mapping.realisability(grid)
    assert mapping.tables_for(window, cascoded) is cascoded
    with pytest.raises(BmruError, match="levels of a grid"):
        mapping.tables_for(window, grid)
    assert load_checkpoint(kept).meta.realisability == load_checkpoint(start).meta.realisability


def test_det_curve_counts_every_threshold_and_holds_the_5pct_point() -> None:
    # four keyword utterances, five others: shares of keyword frames by hand
    share = np.array([0.9, 0.6, 0.6, 0.2, 0.7, 0.3, 0.1, 0.0, 0.0])
    is_keyword = np.array([True, True, True, True, False, False, False, False, False])
    det = det_curve(share, is_keyword)
    # accept everything, then above each distinct share: 0.0, 0.1, 0.2, 0.3, 0.6, 0.7, 0.9
    # (accepting at equality instead would shift every point by one share)
    assert det == [(1.0, 0.0), (0.6, 0.0), (0.4, 0.0), (0.4, 0.25), (0.2, 0.25),
                   (0.2, 0.75), (0.0, 0.75), (0.0, 1.0)]
    # at most 5 % false accepts of five others is none: the curve's point there
    fr = false_reject_rate(share, is_keyword)
    assert fr == min(r for a, r in det if a <= 0.05) == 0.75
