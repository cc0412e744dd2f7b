"""What one cell deciding against its model costs the network, in the model alone.

A cell whose candidate lies inside its hold band keeps whatever state it is in. Where a
candidate lies near a threshold the tile's own thresholds decide the cell's state, not the
model's; a cell that decides otherwise there keeps its wrong state while its candidate stays
in its band, and the layers above it may keep what they saw for good.
:func:`knife_edge_flips` flips each unit of each layer at each frame, lets the cell hold the
flip as long as its hold band keeps it, runs the layers above on what it passes on, and
counts the units left wrong to the utterance's end (docs/compare.md, "One frame off").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.analyses.simulation import recurrent_layers, with_reset

if TYPE_CHECKING:
    from bmru_pdk.model.network import BMRUNet

# A flip is *exposed* where the flipped unit's candidate lies within this fraction of a
# threshold: the tile's in-situ thresholds read up to a tenth or so off the tables its model
# uses (docs/corners.md), so there the tile, not the model, decides the unit's state.
EXPOSED = 0.1


@dataclass(frozen=True)
class Flips:
    """One utterance's flips of layer ``layer``'s units, one per unit and frame.

    Attributes:
        layer: The layer whose cells are flipped.
        lost_to_end: (frames, d) how many units, of this layer and those above, differ from
            the unflipped run at every frame from the one after the flip to the utterance's
            end.
        bits_changed: (frames, d) the fraction of the state bits of this layer and those
            above, over the utterance, the flip changes.
        margin: (frames, d) the flipped unit's candidate's distance to its nearer threshold,
            relative to that threshold.
    """

    layer: int
    lost_to_end: np.ndarray
    bits_changed: np.ndarray
    margin: np.ndarray

    @property
    def exposed(self) -> np.ndarray:
        """(frames, d) whether each flip is one the tile's thresholds may make."""
        return self.margin < EXPOSED


def knife_edge_flips(model: BMRUNet, params: list[dict], x_na: np.ndarray) -> list[Flips]:
    """Per recurrent layer, flip each of its cells at each frame of the utterance ``x_na``
    (after the reset's frames, as :func:`~bmru_pdk.analyses.simulation.model_utterance` runs
    it), one flip at a time: the cell holds the flipped state until its candidate leaves its
    hold band, and the layers above run on the outputs it passes on.

    Args:
        model: The network.
        params: Its parameters (``model.effective_parameters()``, or realised ones).
        x_na: Input currents (frames, n_in), nA.

    Returns:
        One :class:`Flips` per recurrent layer, the first layer's first.
    """
    import torch

    x = with_reset(x_na, recurrent_layers(params))
    r, frames = len(x) - len(x_na), len(x_na)
    with torch.no_grad():
        _, states, candidates, _ = model.trace(torch.from_numpy(x[None].astype(np.float32)),
                                               params)
    return [_flips(model, params, states, candidates, k, r, frames)
            for k in range(recurrent_layers(params))]


def _flips(model: BMRUNet, params: list[dict], states: list, candidates: list, k: int,
           r: int, frames: int) -> Flips:
    """:func:`knife_edge_flips` for layer ``k``: ``states`` and ``candidates`` are the
    unflipped run's, ``r`` reset frames before the utterance's ``frames``."""
    import torch

    from bmru_pdk.model.network import held_outputs

    p = params[k]
    lo, hi = (p[key].detach() for key in ("beta_lo", "beta_hi"))
    c, s = candidates[k][0], states[k][0]
    d, total = s.shape[1], len(s)
    # each flip holds from its frame until the first later frame that does not hold
    holds = ((c >= lo) & (c < hi)).numpy()
    released = np.full((total, d), total)  # per frame, the next frame that does not hold
    for u in range(total - 2, -1, -1):
        released[u] = np.where(holds[u + 1], released[u + 1], u + 1)
    t = r + np.repeat(np.arange(frames), d)
    j = np.tile(np.arange(d), frames)
    span = torch.from_numpy((np.arange(total)[None] >= t[:, None])
                            & (np.arange(total)[None] < released[t, j][:, None]))
    flipped = s.repeat(len(t), 1, 1)
    rows, cols = torch.arange(len(t)), torch.from_numpy(j)
    flipped[rows, :, cols] = torch.where(span, 1 - flipped[rows, :, cols],
                                         flipped[rows, :, cols])
    differs = [(flipped != s[None])[:, r:]]
    with torch.no_grad():
        above = flipped
        for m in range(k + 1, recurrent_layers(params)):
            h = params[m - 1]["alpha"] * above
            if m - 1 in model.meta.architecture.held_layers:
                h = held_outputs(h, params[m - 1])
            _, above, _ = model.layers[m](h, params[m])
            differs.append((above != states[m][0][None])[:, r:])
    differs_all = torch.cat(differs, dim=2).numpy()  # (flips, frames, units at and above k)
    # lost: different at every frame after the flip's (a held layer reacts a frame late)
    after = np.arange(frames)[None, :] > (t - r)[:, None]
    lost = np.where(after[:, :, None], differs_all, True).all(1).sum(1)
    lost[t - r == frames - 1] = 0  # nothing follows the last frame
    c_utt, lo_, hi_ = c[r:].numpy(), lo.numpy(), hi.numpy()
    margin = np.minimum(abs(c_utt - lo_) / lo_, abs(c_utt - hi_) / hi_)
    return Flips(layer=k, lost_to_end=lost.reshape(frames, d),
                 bits_changed=differs_all.mean((1, 2)).reshape(frames, d), margin=margin)
