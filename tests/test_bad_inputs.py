"""Bad input through the real ``bmru`` command: exit code 2, one sentence on stderr with no
traceback, no half-written output, and no file of the user's changed (checksums)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import klayout.db as kdb
import numpy as np
import pytest
from conftest import CODESIGNED
from safetensors.numpy import save_file

from bmru_pdk.fileio import MANIFEST, read_manifest
from bmru_pdk.model.schema import META_KEY

BMRU = [sys.executable, "-m", "bmru_pdk"]


def run_bmru(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
             wrapper: Sequence[str | Path] = (), **options: Any
             ) -> subprocess.CompletedProcess[str]:
    """``bmru ARGS`` in ``cwd``, run by the command ``wrapper`` if given (``unshare ...``);
    ``options`` go to :func:`subprocess.run`."""
    return subprocess.run([*map(str, wrapper), *BMRU, *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=600, **options)


def snapshot(root: Path) -> dict[str, str]:
    """Every file below ``root`` (hidden ones too) -> SHA-256."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_sentence(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    """``proc`` ended with exit code 2 and one line ``error: ...`` holding ``words``."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in proc.stderr, proc.stderr


def _raw(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    from safetensors import safe_open

    with safe_open(str(path), framework="np") as f:
        meta = json.loads(f.metadata()[META_KEY])
        return meta, {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def _edited(dst: Path, tensor: str | None = None, index: tuple[int, ...] = (),
            value: float = 0.0, meta_edit: dict | None = None) -> Path:
    """The co-designed checkpoint with one value (or the realisability block) changed, written
    as raw safetensors: the writer of the package would refuse it."""
    meta, arrays = _raw(CODESIGNED)
    if tensor is not None:
        arrays[tensor] = np.array(arrays[tensor])
        arrays[tensor][index] = value
    if meta_edit:
        meta["realisability"].update(meta_edit)
    save_file(arrays, str(dst), metadata={META_KEY: json.dumps(meta)})
    return dst


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user's folder: a checkpoint and files of their own, and nothing of bmru's."""
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "design.gds").write_bytes(b"my layout")
    (tmp_path / "sub").mkdir()
    ckpt = tmp_path / "good.safetensors"
    ckpt.write_bytes(CODESIGNED.read_bytes())
    return tmp_path


def _beta(index: int) -> float:
    _, a = _raw(CODESIGNED)
    return float(a["layers.0.beta1"][index] + a["layers.0.delta"][index])


# (name, files to write into ``home``, command, words the sentence must hold)
BAD_CHECKPOINTS = [
    ("weight", dict(tensor="layers.0.W", index=(1, 3), value=9.5),
     ["'layers.0.W'[1][3]", "9.5", "0.3-8"]),
    ("bias", dict(tensor="layers.1.b", index=(2,), value=25.0),
     ["'layers.1.b'[2]", "25", "0.3-20 nA"]),
    ("threshold", dict(tensor="layers.0.beta1", index=(0,), value=9.0),
     ["'layers.0.beta1'[0]", "0.5-7.5 nA"]),
    ("alpha", dict(tensor="layers.1.alpha", index=(3,), value=9.0),
     ["'layers.1.alpha'[3]", "9", "0.55-7.8 nA"]),
    ("readout", dict(tensor="readout.W", index=(1, 0), value=12.0),
     ["'readout.W'[1][0]", "12", "0.3-8"]),
    ("min above max", dict(meta_edit={"w_min": 9.0}), ["realisability", "w_min = 9.0",
                                                        "above w_max = 8.0"]),
]


@pytest.mark.parametrize(("kind", "edit", "words"), BAD_CHECKPOINTS,
                         ids=[c[0] for c in BAD_CHECKPOINTS])
def test_unrealisable_checkpoint_refused_by_tile(home: Path, kind: str, edit: dict,
                                                 words: list[str]) -> None:
    ckpt = _edited(home / "bad.safetensors", **edit)
    before = snapshot(home)
    one_sentence(run_bmru("tile", ckpt, "-o", "out", cwd=home), *words)
    assert snapshot(home) == before


def test_delta_outside_its_fraction_refused(home: Path) -> None:
    beta = _beta(0)  # keep beta1 + delta, make delta 95 % of it
    ckpt = _edited(home / "a.safetensors", tensor="layers.0.delta", index=(0,),
                   value=0.95 * beta)
    meta, arrays = _raw(ckpt)
    arrays["layers.0.beta1"][0] = 0.05 * beta
    save_file(arrays, str(ckpt), metadata={META_KEY: json.dumps(meta)})
    before = snapshot(home)
    one_sentence(run_bmru("tile", ckpt, "-o", "out", cwd=home), "'layers.0.delta'[0]",
                  "0.21-0.79 of beta1 + delta")
    assert snapshot(home) == before


@pytest.mark.parametrize(("kind", "edit", "words"), BAD_CHECKPOINTS,
                         ids=[c[0] for c in BAD_CHECKPOINTS])
def test_unrealisable_checkpoint_refused_by_model(tmp_path: Path, kind: str, edit: dict,
                                                  words: list[str]) -> None:
    from bmru_pdk.model.checkpoint import CheckpointError, load_checkpoint

    pytest.importorskip("torch")
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(_edited(tmp_path / "bad.safetensors", **edit))
    for w in words:
        assert w in str(err.value)


def test_model_and_tile_read_the_same_values(tmp_path: Path) -> None:
    """Every parameter the tile maps is the model's own value, unclamped (a wrong weight in
    either reader fails this)."""
    torch = pytest.importorskip("torch")
    from bmru_pdk.analyses.simulation import realised_parameters
    from bmru_pdk.circuits.design import design
    from bmru_pdk.model.checkpoint import load_checkpoint, open_checkpoint

    ckpt = CODESIGNED
    model = load_checkpoint(ckpt)
    rows = [{"parameter": m.parameter, "realised": m.requested}
            for m in design(open_checkpoint(ckpt)).mapping]
    with torch.no_grad():
        ours = model.effective_parameters()
        theirs = realised_parameters(model, rows)
    for mine, tile in zip(ours, theirs, strict=True):
        for key in ("weight", "bias"):
            assert torch.equal(mine[key], tile[key]), key
    assert len(rows) > 100
    rows[0] = {**rows[0], "realised": rows[0]["realised"] + 0.5}
    with torch.no_grad():
        wrong = realised_parameters(model, rows)
    assert not all(torch.equal(a[k], b[k]) for a, b in zip(ours, wrong, strict=True)
                   for k in ("weight", "bias"))


def test_truncated_and_nan_checkpoints(home: Path) -> None:
    data = CODESIGNED.read_bytes()
    (home / "cut.safetensors").write_bytes(data[: len(data) // 2])
    nan = _edited(home / "nan.safetensors", tensor="layers.0.W", index=(0, 0), value=np.nan)
    before = snapshot(home)
    one_sentence(run_bmru("tile", "cut.safetensors", "-o", "out", cwd=home), "cut.safetensors")
    one_sentence(run_bmru("tile", nan, "-o", "out", cwd=home), "'layers.0.W'", "NaN")
    assert snapshot(home) == before


def test_oversized_network_refused_before_building(home: Path) -> None:
    from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES, estimated_devices
    from bmru_pdk.model.checkpoint import random_checkpoint, read_checkpoint

    big = random_checkpoint(d=700, layers=2, path=home / "big.safetensors")
    before = snapshot(home)
    estimate = {p: estimated_devices(read_checkpoint(home / p)[0].architecture)
                for p in ("big.safetensors", "good.safetensors")}
    assert estimate["big.safetensors"] > DEFAULT_MAX_DEVICES and estimate["good.safetensors"] > 100
    one_sentence(run_bmru("tile", big, "-o", "out", cwd=home),
                 f"about {estimate['big.safetensors']:,} transistors",
                 f"limit of {DEFAULT_MAX_DEVICES:,}")
    one_sentence(run_bmru("tile", "good.safetensors", "-o", "out", "--max-devices", "100",
                       cwd=home), f"about {estimate['good.safetensors']:,} transistors",
                 "limit of 100")
    assert snapshot(home) == before


@pytest.mark.parametrize(("out", "cwd", "words"), [
    ("foreign", ".", ["foreign", "bmru did not write (design.gds)", "--force"]),
    (".", ".", ["working directory"]),
    ("..", "sub", ["working directory or one of its parents"]),
    ("notes.txt", ".", ["is an existing file"]),
    ("HOME", ".", ["home folder"]),
])
def test_output_folder_refused(home: Path, out: str, cwd: str, words: list[str]) -> None:
    # matplotlib keeps a cache in the home folder, which the test would then see change
    env = {"HOME": str(home / "sub"), "MPLCONFIGDIR": str(home.parent / "mpl")}
    target = str(home / "sub") if out == "HOME" else out
    before = snapshot(home)
    for command in (["tile", home / "good.safetensors"], ["demo"], ["kws-data"],
                    ["compare", home / "good.safetensors"], ["flow"]):
        argv = [*command, target] if command == ["kws-data"] else [*command, "-o", target]
        one_sentence(run_bmru(*argv, cwd=home / cwd, env=env), *words)
    assert snapshot(home) == before


def test_rerun_replaces_only_its_own_files(home: Path) -> None:
    assert run_bmru("tile", "good.safetensors", "-o", "out", cwd=home).returncode == 0
    first = read_manifest(home / "out")
    assert first and "tile.gds" in first and MANIFEST not in first
    (home / "out" / "mine.txt").write_text("keep me")
    (home / "out" / "my empty folder").mkdir()
    (home / "out" / "tile.gds.bak").write_bytes((home / "out" / "tile.gds").read_bytes())
    kept = {k: v for k, v in snapshot(home).items() if not k.startswith("out/")
            or k in ("out/mine.txt", "out/tile.gds.bak")}
    assert run_bmru("tile", "good.safetensors", "-o", "out", cwd=home).returncode == 0
    after = snapshot(home)
    assert all(after[k] == v for k, v in kept.items())
    assert read_manifest(home / "out") == first  # same checkpoint, same bytes
    assert "mine.txt" not in read_manifest(home / "out")
    assert (home / "out" / "my empty folder").is_dir()
    # a file of the tool's that the user edited is theirs now
    (home / "out" / "summary.json").write_text("{}\n")
    before = snapshot(home)
    one_sentence(run_bmru("tile", "good.safetensors", "-o", "out", cwd=home),
                  "summary.json was changed since bmru wrote it")
    assert snapshot(home) == before


def test_force_writes_beside_foreign_files(home: Path) -> None:
    proc = run_bmru("tile", "good.safetensors", "-o", "foreign", "--force", cwd=home)
    assert proc.returncode == 0, proc.stderr
    assert (home / "foreign" / "design.gds").read_bytes() == b"my layout"
    assert "design.gds" not in read_manifest(home / "foreign")
    (home / "foreign" / "tile.v").unlink()
    (home / "foreign" / "tile.v").write_text("my own verilog\n")
    proc = run_bmru("tile", "good.safetensors", "-o", "foreign", "--force", cwd=home)
    assert proc.returncode == 0, proc.stderr  # --force replaces its own (changed) file
    assert (home / "foreign" / "design.gds").read_bytes() == b"my layout"


DIGEST = "0" * 64
DAMAGED_MANIFESTS = [
    ("not json", "{files", ["it is not JSON"]),
    ("not ours", '{"format": "other", "files": {}}', ["not a bmru-output-manifest"]),
    ("outside", json.dumps({"format": "bmru-output-manifest", "files": {"../notes.txt": DIGEST}}),
     ["'../notes.txt'", "not a file inside the folder"]),
    ("no digest", json.dumps({"format": "bmru-output-manifest", "files": {"tile.gds": "x"}}),
     ["'tile.gds' has no SHA-256"]),
]


@pytest.mark.parametrize(("kind", "text", "words"), DAMAGED_MANIFESTS,
                         ids=[m[0] for m in DAMAGED_MANIFESTS])
def test_damaged_manifest_refused(home: Path, kind: str, text: str, words: list[str]) -> None:
    """A manifest decides which files of a folder bmru may replace: a damaged one vouches
    for nothing, so the folder is refused (one sentence) unless --force keeps every file."""
    from bmru_pdk.fileio import check_output_dir

    (home / "out").mkdir()
    (home / "out" / "tile.gds").write_bytes(b"my layout")
    (home / "out" / MANIFEST).write_text(text)
    before = snapshot(home)
    one_sentence(run_bmru("kws-data", "out", cwd=home), f"out/{MANIFEST} is damaged", *words,
                 "--force")
    assert snapshot(home) == before
    check_output_dir(home / "out", force=True)


def test_outputs_follow_the_umask(home: Path) -> None:
    for mask, file_mode, dir_mode in ((0o022, 0o644, 0o755), (0o077, 0o600, 0o700)):
        out = home / f"out{mask:o}"
        proc = subprocess.run(["sh", "-c", f"umask {mask:03o} && exec \"$@\"", "sh", *BMRU,
                               "tile", "good.safetensors", "-o", out.name],
                              cwd=home, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert out.stat().st_mode & 0o777 == dir_mode
        assert {p.stat().st_mode & 0o777 for p in out.iterdir()} == {file_mode}


def _complete(folder: Path) -> dict[str, str]:
    """The manifest of ``folder``, after checking every file it names is there, whole."""
    manifest = read_manifest(folder)
    assert manifest, f"{folder} holds no complete output"
    for name, digest in manifest.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name
    return manifest


def _kill_after(argv: list[str | Path], cwd: Path, seconds: float) -> None:
    # nothing cleans up after a SIGKILL: the run's temporary folders stay in the test's own
    tmp = cwd / ".tmp"
    tmp.mkdir(exist_ok=True)
    proc = subprocess.Popen([*BMRU, *map(str, argv)], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    time.sleep(seconds)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def test_killed_tile_leaves_previous_or_new_output(home: Path) -> None:
    other = _edited(home / "other.safetensors", tensor="layers.0.W", index=(0, 0), value=1.0)
    assert run_bmru("tile", other, "-o", "new", cwd=home).returncode == 0
    new = _complete(home / "new")  # same checkpoint, same bytes: what a whole new run holds
    assert run_bmru("tile", "good.safetensors", "-o", "out", cwd=home).returncode == 0
    (home / "out" / "mine.txt").write_text("keep me")
    previous = _complete(home / "out")
    assert new != previous
    for seconds in (1.0, 2.5, 4.0, 6.0):
        _kill_after(["tile", other, "-o", "out"], home, seconds)
        now = _complete(home / "out")
        assert now in (previous, new)
        assert (home / "out" / "mine.txt").read_text() == "keep me"
        if now == new:  # back to the previous output for the next kill
            assert run_bmru("tile", "good.safetensors", "-o", "out", cwd=home).returncode == 0


def test_killed_flow_keeps_the_previous_run(home: Path) -> None:
    argv = ["flow", "good.safetensors", "--n", "0", "--no-pex", "-o", "flow"]
    start = time.monotonic()
    proc = run_bmru(*argv, cwd=home)
    took = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    previous = _complete(home / "flow")
    assert "drc.lyrdb" in previous and "extracted.spice" in previous
    # Half the time the same run just took: the kill lands mid-run on any machine (a fixed
    # delay let a fast machine finish the run, which then rightly replaced the output).
    _kill_after(argv, home, took / 2)
    assert _complete(home / "flow") == previous


def test_corrupt_gds_and_missing_netlist(home: Path) -> None:
    (home / "bad.gds").write_bytes(b"\x00\x06\x00\x02garbage")
    (home / "ok.spice").write_text(".subckt t a\n.ends\n")
    before = snapshot(home)
    for gds, words in (("bad.gds", ["cannot read the layout bad.gds"]),
                       ("notes.txt", ["notes.txt", "not a layout file"]),
                       ("foreign", ["foreign is a folder"])):
        one_sentence(run_bmru("drc", gds, cwd=home), *words)
        one_sentence(run_bmru("lvs", gds, "ok.spice", cwd=home), *words)
        one_sentence(run_bmru("extract", gds, "-o", "x.spice", cwd=home), *words)
    assert snapshot(home) == before
    layout = kdb.Layout()
    layout.create_cell("TOP").shapes(layout.layer(34, 0)).insert(kdb.Box(0, 0, 1000, 1000))
    layout.write(str(home / "ok.gds"))
    before = snapshot(home)
    one_sentence(run_bmru("lvs", "ok.gds", "missing.spice", cwd=home), "missing.spice")
    assert snapshot(home) == before


def test_deck_that_stops_early(home: Path) -> None:
    """A transient that cannot reach its stop time is one sentence, never a short CSV."""
    (home / "stops.cir").write_text(
        "* dv/dt = 2 uA/V2 v^2 / 1 nF from 1 V: v runs away at 0.5 ms\n"
        "B1 0 b I=2u*v(b)*v(b)\nC1 b 0 1n IC=1\n.tran 1u 1m uic\n.end\n")
    (home / "whole.cir").write_text("* runs\nV1 a 0 PWL(0 0 1m 1)\nR1 a 0 1k\n.tran 10u 1m\n")
    before = snapshot(home)
    one_sentence(run_bmru("simulate", "stops.cir", "-o", "v.csv", cwd=home), "ngspice",
                 "Timestep too small")
    assert snapshot(home) == before
    proc = run_bmru("simulate", "whole.cir", "-o", "v.csv", cwd=home)
    assert proc.returncode == 0, proc.stderr
    assert (home / "v.csv").read_text().startswith("time,a,")


def test_eval_needs_only_its_split(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    pytest.importorskip("librosa")
    from bmru_pdk.model.synth import generate

    data = generate(tmp_path / "full", per_word=2, seed=3)
    test_only = tmp_path / "test_only"
    test_only.mkdir()
    (test_only / "testing_list.txt").write_text((data / "testing_list.txt").read_text())
    for rel in (data / "testing_list.txt").read_text().split():
        (test_only / rel).parent.mkdir(exist_ok=True)
        (test_only / rel).write_bytes((data / rel).read_bytes())
    for word in ("yes", "no", "up", "down", "left", "right"):
        (test_only / word).mkdir(exist_ok=True)
    (test_only / "_background_noise_").mkdir()
    for wav in (data / "_background_noise_").glob("*.wav"):
        (test_only / "_background_noise_" / wav.name).write_bytes(wav.read_bytes())
    proc = run_bmru("eval", CODESIGNED, "--data", test_only, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("test: ")
    one_sentence(run_bmru("eval", CODESIGNED, "--data", test_only, "--split",
                       "validation", cwd=tmp_path), "validation_list.txt is missing")


def test_tls_scheduler_without_configuration(home: Path) -> None:
    pytest.importorskip("distributed")
    one_sentence(run_bmru("compare", "good.safetensors", "--scheduler", "tls://127.0.0.1:1",
                       "-o", "c", cwd=home), "tls://127.0.0.1:1", "TLS configuration")
    one_sentence(run_bmru("compare", "good.safetensors", "--scheduler", "ws://127.0.0.1:1",
                       "-o", "c", cwd=home), "must start with tcp:// or tls://")


def test_compare_survives_a_failed_simulation(tmp_path: Path) -> None:
    """One utterance whose input ngspice cannot take (NaN currents): the others complete and
    compare.json names the failure with the simulator's own words."""
    pytest.importorskip("torch")
    from bmru_pdk.analyses import compare as cmp
    from bmru_pdk.model import samples
    from bmru_pdk.model.checkpoint import random_checkpoint

    frames = np.array([[3, 0], [3, 3], [0, 0], [5, 1]], float)
    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    bad = frames.copy()
    bad[2, 0] = np.nan
    utterances = [samples.Utterance("good", 0, frames), samples.Utterance("bad", 0, bad),
                  samples.Utterance("also good", 0, frames[::-1])]
    figures = cmp.compare(ckpt, utterances, tmp_path / "out")
    assert figures["utterances"] == 2
    assert [f["name"] for f in figures["failed"]] == ["bad"]
    assert "ngspice" in figures["failed"][0]["error"]
    written = json.loads((tmp_path / "out" / "compare.json").read_text())
    assert written["failed"] == figures["failed"]
    assert [p["name"] for p in written["per_utterance"]] == ["good", "also good"]
    with pytest.raises(cmp.CompareFailures, match="1 of 3 simulations failed"):
        cmp.raise_failures(figures)


def test_tile_cache_follows_the_checkpoints_content(tmp_path: Path) -> None:
    import bmru_pdk
    from bmru_pdk.layouts.tile import bmru_tile
    from bmru_pdk.model.checkpoint import random_checkpoint

    bmru_pdk.PDK.activate()
    path = tmp_path / "c.safetensors"
    random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=path)
    first = bmru_tile(str(path))
    again = bmru_tile(str(path))  # the same network: the same cell of the layout
    assert (again.name, again.kdb_cell.cell_index()) == (first.name, first.kdb_cell.cell_index())
    random_checkpoint(n_in=2, d=1, layers=1, seed=2, path=path)  # rewritten in place
    assert bmru_tile(str(path)).name != first.name


def test_checkpoint_of_other_inputs_refused_by_compare(home: Path) -> None:
    """A checkpoint of 3 inputs cannot run the utterances (13 MFCC coefficients a frame):
    compare and flow refuse it in one sentence before speaking or building anything."""
    pytest.importorskip("torch")
    from bmru_pdk.model.checkpoint import random_checkpoint

    random_checkpoint(n_in=3, d=2, layers=1, seed=1, path=home / "three.safetensors")
    before = snapshot(home)
    words = ["three.safetensors has 3 inputs", "13 MFCC inputs"]
    one_sentence(run_bmru("compare", "three.safetensors", "--n", "1", "--no-pex", "--workers",
                          "1", "-o", "out", cwd=home), "the spoken samples have", *words)
    one_sentence(run_bmru("flow", "three.safetensors", "--n", "1", "--no-pex", "--workers",
                          "1", "-o", "out", cwd=home), *words)
    assert snapshot(home) == before


def test_error_after_progress_bars_is_the_only_line(home: Path) -> None:
    """``bmru flow`` refusing the tile once its progress bars have started: off a terminal
    the bars print nothing then, and the error is the first and only line on stderr."""
    before = snapshot(home)
    proc = run_bmru("flow", "good.safetensors", "--n", "0", "--no-pex", "--max-devices", "10",
                    "-o", "out", cwd=home)
    one_sentence(proc, "limit of 10")
    assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert snapshot(home) == before


@pytest.mark.parametrize("rail", ["1.5", "-0.2"])
def test_source_rail_out_of_range_refused_before_any_work(home: Path, rail: str) -> None:
    before = snapshot(home)
    proc = run_bmru("compare", "good.safetensors", "--source-rail", rail, "-o", "out", cwd=home)
    one_sentence(proc, f"--source-rail {float(rail):g}", "between 0 and 1 V")
    assert snapshot(home) == before


@pytest.mark.parametrize("args, words", [
    (["--hot-rail", "2"], ["--hot-rail 2", "between 0 and 1 V"]),
    (["--source-rail", "0.3", "--hot-rail", "0.45"], ["one of --source-rail, --hot-rail"]),
    (["--hot-rail", "0.45", "--rail-generator", "--draw-rail"], ["--rail-generator"]),
    (["--rail-generator"], ["--rail-generator", "add --draw-rail"]),
])
def test_hot_rail_refused_before_any_work(home: Path, args: list[str], words: list[str]) -> None:
    before = snapshot(home)
    proc = run_bmru("compare", "good.safetensors", *args, "-o", "out", cwd=home)
    one_sentence(proc, *words)
    assert snapshot(home) == before


def test_tile_generator_without_the_rail_refused_before_any_work(home: Path) -> None:
    before = snapshot(home)
    proc = run_bmru("tile", "good.safetensors", "--rail-generator", "-o", "out", cwd=home)
    one_sentence(proc, "--rail-generator", "add --draw-rail")
    assert snapshot(home) == before
