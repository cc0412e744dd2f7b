"""Training and evaluation on the sequence tasks: Adam, cross-entropy on each sequence's answer.

One run trains one architecture for a fixed number of epochs (optionally stopping early),
keeps the parameters of the epoch with the best validation accuracy, and reports the test
accuracy of those, with the majority and chance baselines beside it.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from bmru_pdk.errors import BmruError
from bmru_pdk.model.tasks.architectures import build, check_shape
from bmru_pdk.model.tasks.spec import TaskData


@dataclass(frozen=True)
class TrainSettings:
    """Settings of one run.

    Attributes:
        arch: One of :data:`~bmru_pdk.model.tasks.architectures.ARCHITECTURES`.
        d: BMRU units per layer (the GRU's hidden size follows from the parameter budget).
        layers: Recurrent layers.
        epochs: Epochs (passes over the training split).
        lr: Adam learning rate.
        batch_size: Examples per step.
        patience: Stop after this many epochs without a better validation accuracy
            (``None``: run every epoch, a fixed budget).
        seed: Seed of initialisation and batch order (the data have their own seed).
        threads: torch CPU threads.
    """

    arch: str = "fqbmru"
    d: int = 32
    layers: int = 2
    epochs: int = 15
    lr: float = 1e-2
    batch_size: int = 32
    patience: int | None = None
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        """Refuse settings no run can use, before any data are made."""
        check_shape(self.arch, self.d, self.layers)
        if self.epochs < 1 or self.batch_size < 1:
            raise BmruError(f"epochs and batch size must be >= 1, got {self.epochs} and "
                            f"{self.batch_size}")


@dataclass(frozen=True)
class RunResult:
    """What one run gives; every field is JSON-ready.

    Attributes:
        task: Task name.
        arch: Architecture.
        seed: Training seed.
        data_seed: Seed of the task's data.
        d: BMRU units per layer asked for.
        hidden: Units per layer of the network trained (``d``, or the GRU's hidden size).
        layers: Recurrent layers.
        parameters: Trainable parameters.
        sizes: Examples per split.
        epochs_run: Epochs trained.
        best_epoch: Epoch whose parameters are reported.
        validation_accuracy: Validation accuracy at ``best_epoch``.
        test_accuracy: Test accuracy at ``best_epoch``.
        majority_baseline: Test accuracy of always answering the commonest training label.
        chance: 1 / classes.
        seconds: Wall time of training and evaluation.
    """

    task: str
    arch: str
    seed: int
    data_seed: int
    d: int
    hidden: int
    layers: int
    parameters: int
    sizes: dict[str, int]
    epochs_run: int
    best_epoch: int
    validation_accuracy: float
    test_accuracy: float
    majority_baseline: float
    chance: float
    seconds: float


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 500) -> float:
    """Share of examples whose highest score is their label.

    Args:
        model: A network of :func:`build`.
        x: (N, T, inputs) inputs.
        y: (N,) labels.
        batch_size: Examples per forward pass.

    Returns:
        The accuracy.
    """
    model.eval()
    right = sum(int((model(x[i : i + batch_size]).argmax(-1) == y[i : i + batch_size]).sum())
                for i in range(0, len(y), batch_size))
    return right / len(y)


def fit(data: TaskData, settings: TrainSettings,
        report: Callable[[str], None] | None = None) -> RunResult:
    """Train one network on ``data`` and evaluate it.

    Args:
        data: The task's splits.
        settings: Architecture, size and budget.
        report: Called with one line per epoch (loss, validation accuracy), if given.

    Returns:
        The run's figures.
    """
    start = time.monotonic()
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    x = {s: torch.from_numpy(v) for s, v in data.x.items()}
    y = {s: torch.from_numpy(v) for s, v in data.y.items()}
    task = data.task
    model = build(settings.arch, task.inputs, settings.d, settings.layers, task.classes,
                  x["train"].mean((0, 1)))
    opt = torch.optim.Adam(model.parameters(), lr=settings.lr)
    gen = torch.Generator().manual_seed(settings.seed)
    best, best_epoch, best_state, epoch = -1.0, 0, None, 0
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = torch.randperm(len(y["train"]), generator=gen)
        total = 0.0
        for i in range(0, len(order), settings.batch_size):
            idx = order[i : i + settings.batch_size]
            loss = F.cross_entropy(model(x["train"][idx]), y["train"][idx])
            opt.zero_grad()
            loss.backward()
            # the same clip for every architecture: a GRU's gradients can burst on long inputs
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            total += float(loss.detach()) * len(idx)
        val = accuracy(model, x["validation"], y["validation"])
        if val > best:
            best, best_epoch, best_state = val, epoch, copy.deepcopy(model.state_dict())
        if report is not None:
            report(f"epoch {epoch}: loss {total / len(order):.3f}, validation {val:.4f}, "
                   f"best {best:.4f} at epoch {best_epoch}")
        if settings.patience is not None and epoch - best_epoch >= settings.patience:
            break
    model.load_state_dict(best_state)
    hidden = getattr(model, "hidden", settings.d)  # a baseline's width from the budget
    return RunResult(
        task=task.name, arch=settings.arch, seed=settings.seed, data_seed=data.seed,
        d=settings.d, hidden=hidden, layers=settings.layers,
        parameters=sum(p.numel() for p in model.parameters()), sizes=data.sizes(),
        epochs_run=epoch, best_epoch=best_epoch, validation_accuracy=round(best, 5),
        test_accuracy=round(accuracy(model, x["test"], y["test"]), 5),
        majority_baseline=round(data.majority_baseline(), 5),
        chance=round(1 / task.classes, 5), seconds=round(time.monotonic() - start, 1),
    )
