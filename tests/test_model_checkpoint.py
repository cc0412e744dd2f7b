"""Checkpoint format: round trip, circuit parameters, and one-sentence errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from safetensors.numpy import save_file  # noqa: E402

from bmru_pdk.errors import BmruError  # noqa: E402
from bmru_pdk.model import (  # noqa: E402
    CheckpointError,
    circuit_parameters,
    load_checkpoint,
    random_checkpoint,
    read_checkpoint,
    save_checkpoint,
)
from bmru_pdk.model.schema import META_KEY  # noqa: E402


@pytest.fixture
def ckpt(tmp_path: Path) -> Path:
    return random_checkpoint(n_in=13, d=4, layers=2, seed=7, path=tmp_path / "r.safetensors")


@pytest.mark.parametrize(("n_in", "d", "layers"), [(1, 1, 1), (13, 4, 2), (5, 16, 3)])
def test_random_checkpoint_any_shape_loads(tmp_path: Path, n_in: int, d: int, layers: int) -> None:
    path = random_checkpoint(n_in=n_in, d=d, layers=layers, seed=1, path=tmp_path / "c.safetensors")
    model = load_checkpoint(path)
    y = model(torch.rand(2, 10, n_in) * 6)
    assert y.shape == (2, 10, 2)


def test_random_checkpoint_is_deterministic(tmp_path: Path) -> None:
    a = random_checkpoint(n_in=13, d=4, layers=2, seed=3, path=tmp_path / "a.safetensors")
    b = random_checkpoint(n_in=13, d=4, layers=2, seed=3, path=tmp_path / "b.safetensors")
    assert a.read_bytes() == b.read_bytes()


def test_round_trip_is_exact(ckpt: Path, tmp_path: Path) -> None:
    model = load_checkpoint(ckpt)
    again = save_checkpoint(model, tmp_path / "again.safetensors")
    _, a = read_checkpoint(ckpt)
    _, b = read_checkpoint(again)
    assert a.keys() == b.keys()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_circuit_parameters_are_plain_numpy_rails(ckpt: Path) -> None:
    cp = circuit_parameters(ckpt)
    assert len(cp.layers) == 2
    for layer in cp.layers:
        assert isinstance(layer.W, np.ndarray)
        assert (layer.W_pos >= 0).all() and (layer.W_neg >= 0).all()
        assert np.array_equal(layer.W_pos - layer.W_neg, layer.W)
        assert np.array_equal(layer.b_pos - layer.b_neg, layer.b)
        assert (layer.beta1 >= 0).all() and (layer.delta >= 0).all() and (layer.alpha >= 0).all()
        assert np.array_equal(layer.beta_hi, layer.beta1 + layer.delta)
    assert cp.W_o.shape == (2, 4)
    # The same numbers drive the torch model.
    params = load_checkpoint(ckpt).effective_parameters()
    assert np.array_equal(params[0]["beta_hi"].detach().numpy(), cp.layers[0].beta_hi)
    assert np.array_equal(circuit_parameters(load_checkpoint(ckpt)).layers[1].W, cp.layers[1].W)


def _rewrite(src: Path, dst: Path, arrays=None, meta=None) -> Path:  # noqa: ANN001
    from safetensors import safe_open

    with safe_open(str(src), framework="np") as f:
        header = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118
    raw = json.loads(header[META_KEY])
    if arrays:
        arrays(tensors)
    if meta:
        meta(raw)
    save_file(tensors, str(dst), metadata={META_KEY: json.dumps(raw)})
    return dst


@pytest.mark.parametrize(
    ("arrays", "meta", "message"),
    [
        (lambda t: t.pop("layers.1.alpha"), None, "missing tensor 'layers.1.alpha'"),
        (lambda t: t.update({"layers.0.W": np.zeros((3, 13), np.float32)}), None, "shape (3, 13)"),
        (lambda t: t["layers.0.b"].__setitem__(0, np.nan), None, "NaN or Inf"),
        (lambda t: t["layers.0.beta1"].__setitem__(0, -1.0), None, "negative values"),
        (lambda t: t["layers.1.alpha"].__setitem__(1, -0.5), None, "negative values"),
        (lambda t: t["layers.0.s0"].__setitem__(0, 0.5), None, "only 0 and 1"),
        (None, lambda m: m.update(version=99), "unknown checkpoint version 99"),
        (None, lambda m: m.update(format="other"), "is not a bmru-fqbmru-checkpoint"),
        (None, lambda m: m["architecture"].update(d=-1), "invalid metadata at architecture.d"),
    ],
)
def test_bad_checkpoints_fail_with_one_sentence(
    ckpt: Path,
    tmp_path: Path,
    arrays,
    meta,
    message: str,  # noqa: ANN001
) -> None:
    bad = _rewrite(ckpt, tmp_path / "bad.safetensors", arrays, meta)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(bad)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, BmruError)


def test_unreadable_and_foreign_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(junk)
    with pytest.raises(CheckpointError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "missing.safetensors")
    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": np.zeros(2, np.float32)}, str(foreign))
    with pytest.raises(CheckpointError, match="without bmru checkpoint metadata"):
        load_checkpoint(foreign)


def test_bundled_checkpoint_loads() -> None:
    from bmru_pdk.model import bundled_checkpoint

    model = load_checkpoint(bundled_checkpoint())
    arch = model.meta.architecture
    assert (arch.n_in, arch.d, arch.layers, arch.n_classes) == (13, 4, 2, 2)
    assert model.meta.training is not None


def test_bundled_network_is_drawn_on_the_keeper_grid_by_itself() -> None:
    """The bundled network was trained on the levels of the cascoded 4-gate grid with the
    cells' keepers: without tables it maps on the package's keeper tables (the tile ``make
    run`` draws has the cascodes and the keepers), and the cascoded grid's tables without
    the keepers, whose cells switch at other thresholds, refuse it."""
    from bmru_pdk.circuits import mapping
    from bmru_pdk.model import bundled_checkpoint

    window = load_checkpoint(bundled_checkpoint()).meta.realisability
    tables = mapping.tables_for(window)
    assert tables is mapping.load_tables(mapping.GRID_DIRS[3])
    assert tables.unit.cascodes and tables.unit.keepers
    with pytest.raises(BmruError, match="levels of a grid"):
        mapping.tables_for(window, mapping.load_tables(mapping.GRID_DIRS[2]))


def test_circuit_parameters_split_signed_values_into_rails(tmp_path: Path) -> None:
    path = random_checkpoint(n_in=5, d=3, layers=2, seed=4, path=tmp_path / "c.safetensors")
    p = circuit_parameters(path)
    assert len(p.layers) == 2 and p.W_o.shape == (2, 3)
    for layer in p.layers:
        assert (layer.W_pos >= 0).all() and (layer.W_neg >= 0).all()
        assert np.array_equal(layer.W_pos - layer.W_neg, layer.W)
        assert np.array_equal(layer.b_pos - layer.b_neg, layer.b)
        assert np.allclose(layer.beta_hi, layer.beta1 + layer.delta)
    assert np.array_equal(p.W_o_pos - p.W_o_neg, p.W_o)
    assert np.array_equal(p.b_o_pos - p.b_o_neg, p.b_o)


# a cell drawn on a grid realises a few (beta_hi, beta_lo) pairs and outputs, nothing between
_LEVELS = {"threshold_levels": ((2.0, 1.0), (3.0, 1.5)), "alpha_levels": (1.0, 2.0),
           "weight_levels": (-1.0, -0.5, 0.55, 1.05), "bias_levels": (-1.0, 1.05)}


def test_cell_values_snap_to_their_levels(ckpt: Path, tmp_path: Path) -> None:
    from bmru_pdk.model.schema import Realisability

    model = load_checkpoint(ckpt)
    on = load_checkpoint(save_checkpoint(model.within(Realisability(**_LEVELS)),
                                         tmp_path / "levels.safetensors"))
    for p in on.effective_parameters()[:-1]:
        pairs = set(zip(p["beta_hi"].tolist(), p["beta_lo"].tolist(), strict=True))
        assert pairs <= set(_LEVELS["threshold_levels"])
        assert set(p["alpha"].tolist()) <= set(_LEVELS["alpha_levels"])
        for key, levels in (("weight", "weight_levels"), ("bias", "bias_levels")):
            values = {round(v, 6) for v in p[key].flatten().tolist()}
            assert values <= {0.0, *_LEVELS[levels]}
    free = model.effective_parameters()[0]  # the same network without levels (the negative)
    assert not set(free["alpha"].tolist()) <= set(_LEVELS["alpha_levels"])


@pytest.mark.parametrize(("tensor", "message"), [("layers.0.alpha", "one of the alpha levels"),
                                                 ("layers.1.beta1", "one of the threshold"),
                                                 ("layers.0.W", "0 or one of its levels"),
                                                 ("readout.b", "0 or one of its levels")])
def test_a_value_off_its_levels_is_refused(ckpt: Path, tmp_path: Path, tensor: str,
                                           message: str) -> None:
    from bmru_pdk.model.schema import Realisability

    on = save_checkpoint(load_checkpoint(ckpt).within(Realisability(**_LEVELS)),
                         tmp_path / "levels.safetensors")
    bad = _rewrite(on, tmp_path / "bad.safetensors", lambda t: t[tensor].__setitem__(0, 1.1))
    with pytest.raises(CheckpointError, match=message) as err:
        load_checkpoint(bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("levels", "message"), [({"alpha_levels": ()}, "alpha_levels is empty"),
                                                 ({"threshold_levels": ((1.0, 2.0),)},
                                                  "beta_lo is not below"),
                                                 ({"weight_levels": (0.5, 1.0)}, "both signs")])
def test_levels_are_checked(levels: dict, message: str) -> None:
    from pydantic import ValidationError

    from bmru_pdk.model.schema import Realisability

    with pytest.raises(ValidationError, match=message):
        Realisability(**levels)


def test_a_held_copy_keeps_the_parameters_and_says_it_is_held(ckpt: Path,
                                                                tmp_path: Path) -> None:
    """``held_copy`` writes the same arrays with ``architecture.held`` set; a checkpoint
    written before the flag existed (its metadata without the key) reads as unheld."""
    from bmru_pdk.model.checkpoint import held_copy

    meta, arrays = read_checkpoint(ckpt)
    assert not meta.architecture.held
    raw = json.loads(meta.model_dump_json())
    assert "held" in raw["architecture"]
    del raw["architecture"]["held"]  # as the bundled checkpoint's metadata was written
    assert type(meta).model_validate(raw).architecture.held is False
    copy_meta, copy_arrays = read_checkpoint(held_copy(ckpt, tmp_path / "held.safetensors"))
    assert copy_meta.architecture.held
    assert copy_meta.model_copy(update={"architecture": meta.architecture}) == meta
    assert arrays.keys() == copy_arrays.keys()
    assert all(np.array_equal(arrays[k], copy_arrays[k]) for k in arrays)
