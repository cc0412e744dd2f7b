"""What one frame of a unit off its model costs the layer above it, in the model alone.

A cell whose candidate lies inside its hold band keeps whatever state it is in, so one frame
in which a unit below is off (a knife edge the tile decides by its own thresholds) can set a
unit above into the other state for the rest of an utterance. :func:`one_frame_flips` flips
each unit of a layer for one frame at a time, as the layer above sees it, and reruns that
layer: how many of its units stay wrong to the utterance's end measures how much of the
tile's agreement a single knife edge can cost (docs/compare.md, "One frame off").
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
    """One utterance's one-frame flips of layer ``layer - 1``'s units, seen by ``layer``.

    Attributes:
        layer: The layer whose states are compared (1 or above).
        lost_to_end: (frames, d below) how many of ``layer``'s units differ from the
            unflipped run at every frame from the one after the flip to the utterance's end.
        bits_changed: (frames, d below) the fraction of ``layer``'s state bits over the
            utterance the flip changes.
        margin: (frames, d below) the flipped unit's candidate's distance to its nearer
            threshold, relative to that threshold.
    """

    layer: int
    lost_to_end: np.ndarray
    bits_changed: np.ndarray
    margin: np.ndarray

    @property
    def exposed(self) -> np.ndarray:
        """(frames, d below) whether each flip is one the tile's thresholds may make."""
        return self.margin < EXPOSED


def one_frame_flips(model: BMRUNet, params: list[dict], x_na: np.ndarray,
                    layer: int = 1) -> Flips:
    """Flip each unit of ``layer - 1`` at each frame of the utterance ``x_na`` (after the
    reset's frames, as :func:`~bmru_pdk.analyses.simulation.model_utterance` runs it), one
    flip at a time and for that frame only, in the outputs ``layer`` receives, and compare
    ``layer``'s states with the unflipped run's.

    Args:
        model: The network.
        params: Its parameters (``model.effective_parameters()``, or realised ones).
        x_na: Input currents (frames, n_in), nA.
        layer: The layer whose states the flips may change; 1 to the last recurrent layer.

    Returns:
        The utterance's :class:`Flips`.
    """
    import torch

    from bmru_pdk.model.network import held_outputs

    if not 1 <= layer < recurrent_layers(params):
        raise ValueError(f"layer {layer} has no recurrent layer below it to flip")
    x = with_reset(x_na, recurrent_layers(params))
    r = len(x) - len(x_na)
    below, p_below = layer - 1, params[layer - 1]
    with torch.no_grad():
        _, states, candidates, _ = model.trace(torch.from_numpy(x[None].astype(np.float32)),
                                               params)
        s, ref = states[below][0], states[layer][0][r:]
        frames, d = len(x_na), s.shape[1]
        flipped = s.repeat(frames * d, 1, 1)
        at = torch.arange(frames * d)
        flipped[at, r + at // d, at % d] = 1 - flipped[at, r + at // d, at % d]
        h = p_below["alpha"] * flipped
        if below in model.meta.architecture.held_layers:
            h = held_outputs(h, p_below)
        _, s_above, _ = model.layers[layer](h, params[layer])
        differs = (s_above[:, r:] != ref[None]).numpy()  # (flips, frames, d above)
    t_flip = at.numpy() // d
    # a unit lost to the end differs at every frame after the flip's (a held layer reacts
    # a frame late, an unheld one in the flip's own frame or the next)
    after = np.arange(frames)[None, :] > t_flip[:, None]
    lost = np.where(after[:, :, None], differs, True).all(1).sum(1)
    lost[t_flip == frames - 1] = 0  # nothing follows the last frame
    c = candidates[below][0][r:].numpy()
    lo, hi = (p_below[k].detach().numpy() for k in ("beta_lo", "beta_hi"))
    margin = np.minimum(abs(c - lo) / lo, abs(c - hi) / hi)
    return Flips(layer=layer, lost_to_end=lost.reshape(frames, d),
                 bits_changed=differs.mean((1, 2)).reshape(frames, d), margin=margin)
