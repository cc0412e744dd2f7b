"""Figures of a compare: each utterance's states and scores, model against ngspice."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from bmru_pdk.analyses.simulation import HardwareRun
    from bmru_pdk.model.samples import Utterance


def plot_utterance(path: Path, u: Utterance, hw: HardwareRun, model: list[np.ndarray],
          y_model: np.ndarray, classes: list[str]) -> None:
    """Plot one utterance's states per layer and class scores, model and ngspice, to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(model) + 1, 1, figsize=(8, 2.2 * (len(model) + 1)), sharex=True)
    for l, (ax, s_hw, s_m) in enumerate(zip(axes, hw.states, model, strict=False)):  # noqa: E741
        for j in range(s_m.shape[1]):
            ax.step(range(len(s_m)), s_m[:, j] * 0.8 + 1.1 * j, where="post", color="C0",
                    label="model" if j == 0 else None)
            ax.step(range(len(s_hw)), s_hw[:, j] * 0.8 + 1.1 * j, where="post", color="C3",
                    linestyle="--", label="ngspice (extracted)" if j == 0 else None)
        ax.set_ylabel(f"layer {l} units")
        ax.set_yticks([1.1 * j + 0.4 for j in range(s_m.shape[1])], range(s_m.shape[1]))
    axes[0].legend(loc="upper right", fontsize=7)
    ax = axes[-1]
    for k, c in enumerate(classes):
        ax.plot(y_model[:, k], color=f"C{k}", label=f"{c} model")
        ax.plot(hw.scores[:, k], color=f"C{k}", linestyle="--", label=f"{c} ngspice")
    ax.set_ylabel("score, nA")
    ax.set_xlabel("frame")
    ax.legend(fontsize=7, ncol=2)
    fig.suptitle(f"{u.name} (label {classes[u.label]})", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
