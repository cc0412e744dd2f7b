"""Sequence tasks beyond keyword spotting: generators, the ListOps evaluator, Pathfinder
connectivity, the signed BMRU's scan, the parameter budget and a short training run."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from typer.testing import CliRunner  # noqa: E402

from bmru_pdk.cli import app  # noqa: E402
from bmru_pdk.errors import BmruError  # noqa: E402
from bmru_pdk.model.cell import scan_associative, scan_loop  # noqa: E402
from bmru_pdk.model.tasks import TASKS, digits, listops, load_task, pathfinder  # noqa: E402
from bmru_pdk.model.tasks.architectures import (  # noqa: E402
    ARCHITECTURES,
    baseline_hidden,
    build,
    fqbmru_parameter_count,
    parameter_count,
)
from bmru_pdk.model.tasks.linear_rnns import LRU, MinGRU  # noqa: E402
from bmru_pdk.model.tasks.signed_bmru import SignedBMRU, signed_gates  # noqa: E402
from bmru_pdk.model.tasks.spec import SequenceTask, TaskData  # noqa: E402
from bmru_pdk.model.tasks.training import TrainSettings, fit  # noqa: E402

SMALL = {"train": 40, "validation": 20, "test": 20}


@pytest.mark.parametrize("name", list(TASKS))
def test_generators_are_deterministic_from_a_seed(name: str) -> None:
    a, b, other = (load_task(name, s, SMALL) for s in (3, 3, 4))
    task = TASKS[name]
    for split in SMALL:
        assert a.x[split].shape == (SMALL[split], task.length, task.inputs)
        assert np.array_equal(a.x[split], b.x[split]) and np.array_equal(a.y[split], b.y[split])
        assert a.x[split].min() >= 0  # input currents
    assert not np.array_equal(a.x["train"], other.x["train"])


def test_permuted_digits_are_the_sequential_ones_in_one_fixed_order() -> None:
    seq, perm = load_task("seq-digits", 5, SMALL), load_task("perm-digits", 5, SMALL)
    order = digits.pixel_order(permuted=True)
    assert sorted(order) == list(range(64)) and not np.array_equal(order, np.arange(64))
    assert np.array_equal(perm.x["test"], seq.x["test"][:, order])
    assert np.array_equal(perm.y["test"], seq.y["test"])
    assert np.array_equal(order, digits.pixel_order(permuted=True))  # the same every time


HAND_WRITTEN = {
    "[MAX 2 9 [MIN 4 7 ] 0 ]": 9,
    "[MIN 3 [MAX 1 8 ] 5 ]": 3,
    "[MED 7 1 4 ]": 4,
    "[MED 2 9 4 8 ]": 6,  # middle pair 4, 8
    "[MED 1 2 ]": 1,  # 1.5 rounded down
    "[SM 7 5 9 ]": 1,  # 21 mod 10
    "[SM [MAX 9 9 ] [MED 5 6 ] 3 ]": 7,  # 9 + 5 + 3 = 17
    "[MAX [SM 4 8 ] [MIN 6 [MED 9 9 1 ] ] ]": 6,  # max(2, min(6, 9))
    "5": 5,
}


def test_listops_evaluator_on_hand_written_expressions() -> None:
    assert {e: listops.evaluate(e.split()) for e in HAND_WRITTEN} == HAND_WRITTEN


def test_a_wrong_operator_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # SM without its modulo, MED as the true (fractional) median: the hand-written answers
    # must no longer all come out
    for op, wrong in (("SM", sum), ("MED", lambda v: float(np.median(v)))):
        with monkeypatch.context() as m:
            m.setitem(listops.OPERATORS, op, wrong)
            assert {e: listops.evaluate(e.split()) for e in HAND_WRITTEN} != HAND_WRITTEN


@pytest.mark.parametrize("bad", ["[MAX 2", "[MAX ]", "[FOO 1 ]", "1 2", "]", ""])
def test_a_malformed_expression_is_refused(bad: str) -> None:
    with pytest.raises(BmruError):
        listops.evaluate(bad.split())


def test_generated_listops_labels_are_their_expressions_values() -> None:
    data = listops.load(1, SMALL)
    for x, y in zip(data.x["train"], data.y["train"], strict=True):
        on = x.sum(1) > 0
        first = int(np.argmax(on))
        assert on[first:].all() and not on[:first].any()  # left-padded, one token per step
        tokens = [listops.TOKENS[i] for i in x[first:].argmax(1)]
        rules = listops.RULES
        assert rules.min_length <= len(tokens) <= rules.max_length
        assert tokens[0].startswith("[") and listops.evaluate(tokens) == y


def _linked(image: np.ndarray, link: int) -> bool:
    """Flood fill from one marker over drawn pixels, stepping up to ``link`` (Chebyshev)."""
    a, b = map(tuple, np.argwhere(image == pathfinder.MARKER_NA))
    seen, todo = {a}, deque([a])
    while todo:
        r, c = todo.popleft()
        for dr in range(-link, link + 1):
            for dc in range(-link, link + 1):
                n = (r + dr, c + dc)
                if (0 <= n[0] < image.shape[0] and 0 <= n[1] < image.shape[1]
                        and image[n] > 0 and n not in seen):
                    seen.add(n)
                    todo.append(n)
    return b in seen


def test_pathfinder_is_balanced_and_its_labels_are_what_a_flood_fill_sees() -> None:
    rules = pathfinder.RULES
    data = pathfinder.load(2, {"train": 200, "validation": 10, "test": 10})
    images = data.x["train"].reshape(-1, rules.size, rules.size)
    labels = data.y["train"]
    assert labels.sum() == 100 and data.y["test"].sum() == 5  # exactly half positive
    assert all((im == pathfinder.MARKER_NA).sum() == 2 for im in images)
    linked = np.array([_linked(im, rules.link) for im in images])
    assert np.array_equal(linked, labels == 1)
    # the gaps are real: without stepping over them most positives fall apart
    assert np.mean([_linked(im, 1) for im in images[labels == 1]]) < 0.5


def _tied_candidates(seed: int, beta: torch.Tensor) -> torch.Tensor:
    """Candidates on a 0.25 grid, so many equal +-beta exactly (H(0) = 1 decides)."""
    g = torch.Generator().manual_seed(seed)
    return torch.randint(-8, 9, (6, 50, beta.numel()), generator=g) * 0.25


def test_signed_bmru_scan_equals_its_loop_bit_for_bit() -> None:
    beta = torch.tensor([0.25, 0.5, 1.0])
    hold, step = signed_gates(_tied_candidates(0, beta), beta)
    assert set(step.unique().tolist()) == {-1.0, 0.0, 1.0}
    s0 = torch.tensor([-1.0, 1.0, -1.0])
    loop = scan_loop(hold, step, s0)
    assert torch.equal(scan_associative(hold, step, s0), loop)
    assert set(loop.unique().tolist()) == {-1.0, 1.0}
    torch.manual_seed(0)
    layer = SignedBMRU(3, 5)
    layer.init_parameters()
    x = torch.rand(4, 40, 3)
    assert torch.equal(layer(x, mode="scan")[1], layer(x, mode="loop")[1])


def _scan_wrong_order(hold: torch.Tensor, step: torch.Tensor, s0: torch.Tensor) -> torch.Tensor:
    """The associative scan with its operator's arguments swapped: (a, b) o (a', b') taken
    as (a a', a b' + b), i.e. later frames applied before earlier ones."""
    a, b = hold, torch.cat([hold[:, :1] * s0 + step[:, :1], step[:, 1:]], dim=1)
    k = 1
    while k < a.shape[1]:
        b = torch.cat([b[:, :k], a[:, :-k] * b[:, k:] + b[:, :-k]], dim=1)
        a = torch.cat([a[:, :k], a[:, k:] * a[:, :-k]], dim=1)
        k *= 2
    return b


def test_a_broken_scan_would_differ_from_the_loop() -> None:
    beta = torch.tensor([0.25, 0.5, 1.0])
    hold, step = signed_gates(_tied_candidates(1, beta), beta)
    s0 = -torch.ones(3)
    assert not torch.equal(_scan_wrong_order(hold, step, s0), scan_loop(hold, step, s0))


@pytest.mark.parametrize(("n_in", "d", "layers", "classes"), [(1, 32, 2, 10), (15, 16, 1, 10)])
def test_each_baseline_gets_the_largest_size_within_the_fqbmru_budget(
        n_in: int, d: int, layers: int, classes: int) -> None:
    nets = {a: build(a, n_in, d, layers, classes, torch.zeros(n_in)) for a in ARCHITECTURES}
    count = {a: sum(p.numel() for p in net.parameters()) for a, net in nets.items()}
    assert count["fqbmru"] == fqbmru_parameter_count(n_in, d, layers, classes)
    assert count["bmru"] == count["fqbmru"] - d * layers  # one threshold per unit fewer
    for arch in ("gru", "mingru", "lru"):
        hidden = baseline_hidden(arch, n_in, d, layers, classes)
        assert nets[arch].hidden == hidden
        assert count[arch] == parameter_count(arch, n_in, hidden, layers, classes)
        assert count[arch] <= count["fqbmru"] < parameter_count(arch, n_in, hidden + 1, layers,
                                                                classes)


def _recurrence_by_loop(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``h_t = a_t h_{t-1} + b_t`` from ``h_0 = 0``, one step at a time."""
    h, out = torch.zeros_like(b[:, 0]), []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        out.append(h)
    return torch.stack(out, 1)


def test_mingru_scan_is_its_recurrence() -> None:
    torch.manual_seed(0)
    layer, x = MinGRU(3, 5), torch.rand(4, 30, 3)
    with torch.no_grad():
        z = torch.sigmoid(layer.gate(x))
        loop = _recurrence_by_loop(1 - z, z * layer.candidate(x))
        wrong = _recurrence_by_loop(z, (1 - z) * layer.candidate(x))  # the gate's roles swapped
        scan = layer(x)
    assert torch.allclose(scan, loop, atol=1e-6)
    assert not torch.allclose(scan, wrong, atol=1e-3)


def test_lru_is_stable_and_its_scan_is_its_recurrence() -> None:
    torch.manual_seed(0)
    layer, u = LRU(3, 6, 4), torch.rand(2, 40, 3)
    with torch.no_grad():
        lam = layer.eigenvalues()
        modulus = lam.abs()
        assert ((modulus >= 0.5 - 1e-6) & (modulus <= 0.99 + 1e-6)).all()
        drive = torch.complex(u @ layer.b_re.T, u @ layer.b_im.T) * torch.exp(layer.gamma_log)
        x = _recurrence_by_loop(lam.expand_as(drive), drive)
        want = torch.nn.functional.gelu(x.real @ layer.c_re.T - x.imag @ layer.c_im.T
                                        + u @ layer.d.T)
        conj = _recurrence_by_loop(lam.conj().expand_as(drive), drive)  # a wrong rotation
        wrong = torch.nn.functional.gelu(conj.real @ layer.c_re.T - conj.imag @ layer.c_im.T
                                         + u @ layer.d.T)
        got = layer(u)
    assert torch.allclose(got, want, atol=1e-5)
    assert not torch.allclose(got, wrong, atol=1e-3)


def _first_token_task(n: int, seed: int, classes: int = 4, length: int = 12) -> TaskData:
    """The label is the first step's token (one of ``classes`` inputs); every later step
    holds a random distractor token on ``classes`` other inputs."""
    rng = np.random.default_rng(seed)
    task = SequenceTask("first-token", 2 * classes, classes, length, "the first token")
    xs, ys = {}, {}
    for split, size in {"train": n, "validation": n // 4, "test": n // 2}.items():
        y = rng.integers(classes, size=size)
        x = np.zeros((size, length, 2 * classes), np.float32)
        x[np.arange(size), 0, y] = 1.0
        later = classes + rng.integers(classes, size=(size, length - 1))
        x[np.arange(size)[:, None], np.arange(1, length), later] = 1.0
        xs[split], ys[split] = x, y.astype(np.int64)
    return TaskData(task, seed, xs, ys)


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_each_architecture_learns_a_trivial_sequence_task(arch: str) -> None:
    data = _first_token_task(400, seed=0)
    result = fit(data, TrainSettings(arch=arch, d=8, layers=1, epochs=8, seed=0))
    # 200 test sequences, majority ~0.25: a network no better than the majority class scores
    # within ~0.03 (one binomial sd) of it, so +0.3 is ~10 sd, which no fluke reaches, while
    # the task (read one input at step 0) is learnt to ~100 %.
    assert result.test_accuracy >= result.majority_baseline + 0.3, result


def test_cli_trains_a_sequence_task_to_a_results_json(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    args = ["train", "--task", "seq-digits", "--arch", "gru", "--d", "4", "--layers", "1",
            "--epochs", "1", "--threads", "1", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    run = json.loads(out.read_text())
    assert run["result"]["task"] == "seq-digits" and run["settings"]["arch"] == "gru"
    # the file holds what the run reported, not a placeholder
    assert f"test accuracy {run['result']['test_accuracy']:.4f}" in result.output
    assert f"commonest class {run['result']['majority_baseline']:.4f}" in result.output
    # the file is the user's now: a second run refuses to replace it, unless --force
    before = out.read_bytes()
    again = CliRunner().invoke(app, args)
    assert again.exit_code != 0 and "exists" in str(again.exception)
    assert out.read_bytes() == before
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0


@pytest.mark.parametrize(("args", "message"), [
    (["--task", "binary"], "give its dataset folder with --data"),
    (["--task", "listops", "--mismatch", "0.1"], "takes no --mismatch"),
    (["--task", "listops", "--arch", "lstm"], "unknown architecture 'lstm'"),
    (["--task", "words"], "unknown task 'words'"),
])
def test_cli_train_refuses_in_one_sentence(tmp_path: Path, args: list[str],
                                           message: str) -> None:
    result = CliRunner().invoke(app, ["train", *args, "-o", str(tmp_path / "r.json")])
    assert result.exit_code != 0 and isinstance(result.exception, BmruError)
    assert message in str(result.exception)
