"""Training and evaluation: Adam, cross-entropy on every frame, majority vote per utterance."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from bmru_pdk.errors import BmruError
from bmru_pdk.model.checkpoint import default_meta, load_checkpoint, save_checkpoint
from bmru_pdk.model.data import SPLITS, dataset_seed, get_task, load_split
from bmru_pdk.model.features import normaliser, to_currents
from bmru_pdk.model.network import BMRUNet
from bmru_pdk.model.schema import InputEncoding, Realisability, TrainingRecord


@dataclass(frozen=True)
class Dataset:
    """Input currents and labels of the three splits, with the encoding that made them.

    Attributes:
        task: Task name.
        classes: Class names.
        encoding: Normalisation (fitted on the training split) and current mapping.
        x: Split name -> (N, T, n_mfcc) input currents in nA.
        y: Split name -> (N,) labels.
        data_seed: The generator seed of a ``bmru kws-data`` dataset (which voices each split
            holds), or ``None``.
    """

    task: str
    classes: tuple[str, ...]
    encoding: InputEncoding
    x: dict[str, torch.Tensor]
    y: dict[str, torch.Tensor]
    data_seed: int | None = None


def prepare_data(
    root: str | os.PathLike[str],
    task: str = "binary",
    seed: int = 0,
    encoding: InputEncoding | None = None,
    splits: tuple[str, ...] = SPLITS,
) -> Dataset:
    """Load the splits and map them to input currents.

    Args:
        root: Dataset folder in the Speech Commands layout.
        task: ``"binary"`` or ``"digits"``.
        seed: Seed for the silence clips.
        encoding: Use this normalisation (e.g. a checkpoint's) instead of fitting one on the
            training split.
        splits: The splits to load; without ``encoding`` the training split is needed.

    Returns:
        The dataset as tensors.
    """
    t = get_task(task)
    if encoding is None and "train" not in splits:
        raise BmruError("fitting the input normalisation needs the train split")
    splits = {s: load_split(root, t, s, seed) for s in splits}
    if encoding is None:
        mean, std = normaliser(splits["train"].features)
        encoding = InputEncoding(mean=mean, std=std)
    return Dataset(
        task=t.name,
        classes=t.classes,
        encoding=encoding,
        x={s: torch.from_numpy(to_currents(v.features, encoding)) for s, v in splits.items()},
        y={s: torch.from_numpy(v.labels) for s, v in splits.items()},
        data_seed=dataset_seed(root),
    )


@dataclass
class Metrics:
    """Evaluation figures of one split.

    Attributes:
        accuracy: Utterance accuracy with majority vote over frames.
        balanced_accuracy: Mean per-class recall of the majority vote.
        frame_accuracy: Fraction of frames classified correctly.
        confusion: confusion[true][predicted] counts (majority vote).
        baseline_accuracy: Accuracy of always answering the commonest class.
        false_reject_at_5pct_fa: Binary tasks: the share of keyword utterances rejected when
            the decision threshold on the share of keyword frames is set so that 5 % of the
            other utterances are accepted (``None`` for other tasks).
        det: Binary tasks: the detection error trade-off, (false accepts, false rejects) at
            every threshold on the share of keyword frames, false accepts descending (from
            accepting every utterance to accepting none; ``None`` for other tasks).
    """

    accuracy: float
    balanced_accuracy: float
    frame_accuracy: float
    confusion: list[list[int]] = field(default_factory=list)
    baseline_accuracy: float = 0.0
    false_reject_at_5pct_fa: float | None = None
    det: list[tuple[float, float]] | None = None


def det_curve(keyword_share: np.ndarray, is_keyword: np.ndarray) -> list[tuple[float, float]]:
    """False accepts and false rejects at every threshold that changes a decision (accept
    when the share of keyword frames exceeds it), from below every share to the largest."""
    others, keywords = keyword_share[~is_keyword], keyword_share[is_keyword]
    points = []
    for threshold in (-1.0, *np.unique(keyword_share)):
        fa = float(np.mean(others > threshold)) if len(others) else 0.0
        fr = float(np.mean(keywords <= threshold)) if len(keywords) else 0.0
        points.append((round(fa, 5), round(fr, 5)))
    return points


def false_reject_rate(keyword_share: np.ndarray, is_keyword: np.ndarray,
                      false_accepts: float = 0.05) -> float:
    """Keyword utterances rejected at the threshold that accepts ``false_accepts`` of the
    others: accept when the share of keyword frames exceeds it."""
    others = np.sort(keyword_share[~is_keyword])
    threshold = np.quantile(others, 1 - false_accepts, method="higher") if len(others) else 0.0
    return float(np.mean(keyword_share[is_keyword] <= threshold)) if is_keyword.any() else 0.0


@torch.no_grad()
def evaluate(
    model: BMRUNet,
    x: torch.Tensor,
    y: torch.Tensor,
    params: list[dict[str, torch.Tensor]] | None = None,
    batch_size: int = 512,
) -> Metrics:
    """Per-frame and majority-vote accuracy and the confusion matrix.

    Args:
        model: The network.
        x: Input currents (N, T, n_in).
        y: Labels (N,).
        params: Effective parameters to use (e.g. one mismatch draw); realised ones if ``None``.
        batch_size: Utterances per forward pass.

    Returns:
        The metrics.
    """
    if params is None:
        params = model.effective_parameters()
    n_classes = model.meta.architecture.n_classes
    frame_ok, votes, counts = 0, [], []
    for i in range(0, len(x), batch_size):
        frames = model(x[i : i + batch_size], params).argmax(-1)
        frame_ok += int((frames == y[i : i + batch_size, None]).sum())
        counts.append(F.one_hot(frames, n_classes).sum(1))
        votes.append(counts[-1].argmax(-1))
    pred = torch.cat(votes)
    conf = torch.zeros(n_classes, n_classes, dtype=torch.long)
    conf.index_put_((y, pred), torch.ones_like(y), accumulate=True)
    support = conf.sum(1)
    recall = conf.diag()[support > 0].double() / support[support > 0]
    # binary tasks: "yes" is class 1 (DESIGN: "yes" vs the others)
    share = (torch.cat(counts)[:, -1] / x.shape[1]).numpy() if n_classes == 2 else None
    return Metrics(
        accuracy=float((pred == y).double().mean()),
        balanced_accuracy=float(recall.mean()),
        frame_accuracy=frame_ok / (len(y) * x.shape[1]),
        confusion=conf.tolist(),
        baseline_accuracy=float(support.max()) / len(y),
        false_reject_at_5pct_fa=None if share is None else round(
            false_reject_rate(share, y.numpy() == 1), 5),
        det=None if share is None else det_curve(share, y.numpy() == 1),
    )


@dataclass(frozen=True)
class TrainConfig:
    """Training settings.

    Attributes:
        d: Units per layer.
        layers: FQ-BMRU layers.
        epochs: Maximum epochs.
        lr: Adam learning rate.
        batch_size: Utterances per step.
        patience: Stop after this many epochs without a better validation score.
        seed: Seed of initialisation and batch order.
        realisability: Weight/current range and grid the parameters are constrained to;
            ``None``: the ``init`` checkpoint's, or the default window. With ``init``,
            another window moves the checkpoint's network onto it (another drawing's levels).
        mismatch: Multiplicative parameter noise (relative sigma) drawn every step.
        candidate_noise: Additive candidate noise (nA sigma) during training.
        balance: Weight the loss by inverse class frequency.
        margin: Threshold margin (nA): frames whose candidate lies within this distance of
            its unit's beta_lo or beta_hi are penalised in proportion to how close they lie,
            so the circuit's few-% errors seldom flip a state.
        current_weight: Weight of the summing-node current term: the mean, per frame, of all
            current sourced or sunk into the summing nodes (sum |W| h + |b|, nA), which is
            the feed-forward mirrors' and biases' supply current and what the nodes cancel.
        rest_margin: Rest margin (relative): each unit's candidate at zero input, once the
            layers below rest, is held clear of each threshold by this fraction of it, and
            above the first layer clear of its hysteresis band (:func:`rest_penalty`), so
            zero input leaves one rest state.
        init: Start from this checkpoint's parameters and input encoding (fine-tuning)
            instead of a random initialisation.
        threads: torch CPU threads.
        held: Train a held network (:class:`~bmru_pdk.model.schema.Architecture`): each
            layer but the last passes its states on a frame late; with ``init`` the
            checkpoint's network is fine-tuned into one.
    """

    d: int = 4
    layers: int = 2
    epochs: int = 60
    lr: float = 1e-2
    batch_size: int = 32
    patience: int = 12
    seed: int = 0
    realisability: Realisability | None = None
    mismatch: float = 0.0
    candidate_noise: float = 0.0
    balance: bool = True
    margin: float = 0.0
    current_weight: float = 0.0
    rest_margin: float = 0.0
    init: str | None = None
    threads: int = 2
    held: bool = False


def _initial_model(data: Dataset, config: TrainConfig, gen: torch.Generator) -> BMRUNet:
    """A random network for ``data``, or the ``config.init`` checkpoint checked against it."""
    if config.init is None:
        n_in = data.x["train"].shape[-1]
        meta = default_meta(n_in, config.d, config.layers, list(data.classes),
                            config.realisability or Realisability(), held=config.held)
        model = BMRUNet(meta.model_copy(update={"input": data.encoding}))
        model.init_parameters(gen)
        return model
    model = load_checkpoint(config.init)
    if config.realisability is not None:  # onto another drawing's levels
        model = model.within(config.realisability)
        model.project_()
    arch = model.meta.architecture
    model.meta = model.meta.model_copy(update={
        "architecture": arch.model_copy(update={"held": config.held})})
    if (arch.d, arch.layers, tuple(model.meta.classes)) != (config.d, config.layers,
                                                            data.classes):
        raise BmruError(f"{config.init}: a d={arch.d}, {arch.layers}-layer network for "
                        f"{', '.join(model.meta.classes)} cannot start a d={config.d}, "
                        f"{config.layers}-layer run on {', '.join(data.classes)}")
    if model.meta.input != data.encoding:
        raise BmruError(f"{config.init}: prepare the data with the checkpoint's input "
                        "encoding to fine-tune it")
    return model


def codesign_penalty(params: list[dict[str, torch.Tensor]], candidates: list[torch.Tensor],
                     inputs: list[torch.Tensor], config: TrainConfig) -> torch.Tensor:
    """The circuit-aware loss terms of :class:`TrainConfig` (``margin``, ``current_weight``).

    Args:
        params: Effective parameters of the step (layers, then the readout).
        candidates: Per layer, the candidates (B, T, d), nA.
        inputs: Per layer and the readout, the currents into it (B, T, n), nA.
        config: The weights of the terms.

    Returns:
        A scalar, 0 when both terms are off.
    """
    total = torch.zeros(())
    if config.margin > 0:
        for p, c in zip(params[:-1], candidates, strict=True):
            for beta in (p["beta_lo"], p["beta_hi"]):
                total = total + torch.relu(1 - (c - beta).abs() / config.margin).mean()
    if config.current_weight > 0:
        for p, h in zip(params, inputs, strict=True):
            node = (h @ p["weight"].abs().T).sum(-1).mean() + p["bias"].abs().sum()
            total = total + config.current_weight * node
    return total


# A rest short of its margin by a tenth of a threshold adds 1 to the step's loss, about twice
# a trained network's mean cross-entropy per frame: the term wins unless clearing the rest
# costs the network more than that.
REST_WEIGHT = 10.0


def rest_candidates(model: BMRUNet, params: list[dict[str, torch.Tensor]]) -> list[torch.Tensor]:
    """Per layer, each unit's candidate (d,) after the reset's frames of zero input (one per
    layer and one more): at rest, with every layer below at its own rest."""
    _, _, candidates, _ = model.rest_trace(params)
    return [c[0, -1] for c in candidates]


def rest_penalty(model: BMRUNet, params: list[dict[str, torch.Tensor]],
                 margin: float) -> torch.Tensor:
    """The rest term of :class:`TrainConfig` (``rest_margin``).

    Zero input is where every run starts (the reset) and what a flat, quiet input is near.
    A rest candidate within ``margin`` of a threshold is decided by the tile's in-situ
    thresholds (a tenth or so off the tables), not by the model's. Above the first layer a
    rest inside the hysteresis band is undecided too: the unit keeps the state the reset's
    race leaves it in (it sees its full bias until the layers below have switched, and a
    tile's layers switch in turn where the model's switch at once). The first layer's
    candidate is its bias from the first frame on, so inside its band it keeps its initial
    state, as the model does.

    Returns:
        ``REST_WEIGHT`` times the summed relative shortfall, 0 when every unit is clear.
    """
    total = torch.zeros(())
    for k, (p, c) in enumerate(zip(params[:-1], rest_candidates(model, params), strict=True)):
        lo, hi = p["beta_lo"], p["beta_hi"]
        if k == 0:  # clear of each threshold
            short = (torch.relu(margin - (c - lo).abs() / lo)
                     + torch.relu(margin - (c - hi).abs() / hi))
        else:  # clear of the band
            short = torch.relu(-torch.maximum((lo * (1 - margin) - c) / lo,
                                              (c - hi * (1 + margin)) / hi))
        total = total + short.sum()
    return REST_WEIGHT * total


def rests_clear(model: BMRUNet, margin: float) -> bool:
    """Whether every unit's rest is clear by ``margin`` (:func:`rest_penalty` is zero, the
    parameters without mismatch); without a margin, always."""
    if margin <= 0:
        return True
    with torch.no_grad():
        return float(rest_penalty(model, model.effective_parameters(), margin)) == 0.0


def train(
    data: Dataset,
    config: TrainConfig,
    out: str | os.PathLike[str],
    dataset_name: str = "",
    command: str = "",
    progress: bool = True,
) -> tuple[BMRUNet, TrainingRecord]:
    """Train a network, writing the best checkpoint (by validation score) atomically to ``out``.

    The validation score is the balanced majority-vote accuracy, so a network that always
    says "other" on the 1:6 binary task does not look good. With a rest margin, an epoch
    whose rests are all clear of it beats any whose are not. The final checkpoint records
    the test accuracy of the best epoch.

    Args:
        data: Prepared dataset.
        config: Training settings.
        out: Checkpoint path.
        dataset_name: Dataset description for the record.
        command: The command line that ran this, for the record.
        progress: Show a progress bar.

    Returns:
        The best model (reloaded from ``out``) and its training record.
    """
    torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    if config.d < 1 or config.layers < 1:
        raise BmruError(f"d and layers must be >= 1, got d={config.d}, layers={config.layers}")
    gen = torch.Generator().manual_seed(config.seed)
    model = _initial_model(data, config, gen)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    x, y = data.x["train"], data.y["train"]
    counts = torch.bincount(y, minlength=len(data.classes)).double().clamp(min=1)
    weight = (counts.sum() / counts / len(counts)).float() if config.balance else None
    steps = (len(x) + config.batch_size - 1) // config.batch_size
    # with a rest margin an epoch whose rests are clear beats any whose are not
    best, best_epoch, epoch, start = (False, -1.0), 0, 0, time.monotonic()

    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        disable=not progress,
    )
    with bar:
        job = bar.add_task("training", total=config.epochs * steps)
        for epoch in range(1, config.epochs + 1):
            model.train()
            order = torch.randperm(len(x), generator=gen)
            total = 0.0
            for k in range(steps):
                idx = order[k * config.batch_size : (k + 1) * config.batch_size]
                params = model.effective_parameters(config.mismatch, gen)
                logits, _, candidates, inputs = model.trace(
                    x[idx], params, candidate_noise=config.candidate_noise)
                target = y[idx, None].expand(-1, logits.shape[1])
                loss = F.cross_entropy(logits.flatten(0, 1), target.flatten(), weight=weight)
                loss = loss + codesign_penalty(params, candidates, inputs, config)
                if config.rest_margin > 0:
                    loss = loss + rest_penalty(model, params, config.rest_margin)
                opt.zero_grad()
                loss.backward()
                opt.step()
                model.project_()
                total += float(loss.detach())
                bar.advance(job)
            model.eval()
            val = evaluate(model, data.x["validation"], data.y["validation"])
            score = (rests_clear(model, config.rest_margin), val.balanced_accuracy)
            if score > best:
                best, best_epoch = score, epoch
                save_checkpoint(model, out)
            bar.update(
                job,
                description=f"epoch {epoch} loss {total / steps:.3f} "
                f"val {val.balanced_accuracy:.3f} best {best[1]:.3f}@{best_epoch}",
            )
            if epoch - best_epoch >= config.patience:
                break
    model = load_checkpoint(out)
    test = evaluate(model, data.x["test"], data.y["test"])
    record = TrainingRecord(
        task=data.task,
        dataset=dataset_name,
        seed=config.seed,
        data_seed=data.data_seed,
        epochs_run=epoch,
        best_epoch=best_epoch,
        lr=config.lr,
        batch_size=config.batch_size,
        val_accuracy=best[1],
        test_accuracy=test.accuracy,
        duration_s=round(time.monotonic() - start, 1),
        command=command,
        torch_version=torch.__version__,
    )
    save_checkpoint(model, out, training=record)
    return load_checkpoint(Path(out)), record

