"""Noise immunity of a BMRU unit: how much smaller its output's relative deviation is than
its input's, in ngspice (gf180 typical, mismatch off) and in the torch model.

The device under test is one BMRU unit (summing node, ReLU, cell, output mirror) in the
characterisation bench of :func:`bmru_pdk.circuits.characterize.cell_bench`, whose own
switching currents are measured first. Its input is a clean per-frame sequence that walks
OFF, hold, ON, hold, ... with every level at least ``MARGIN`` x delta clear of the
thresholds, plus Gaussian noise of relative sigma ``rel`` x level, a new sample
``per_frame`` times a frame (held, with the compare bench's short edges). Both the input and
the output are judged against the same unit's noise-free run:

    relative deviation = RMS(noisy - clean) / mean(clean)

over every noise sample for the input and at the end of every frame (where the next layer
reads the state) for the output; ``suppression = input deviation / output deviation``. The
model (:class:`~bmru_pdk.model.cell.FQBMRU` with the measured thresholds and alpha) runs on
the same samples, one model step per sample, read at the last step of each frame.

A frame where the output flips costs ``alpha`` against a mean of ``alpha`` x duty, so the
suppression is set by how often the noise crosses the threshold the state is waiting for:
it falls once sigma nears the margin. The negative control is the same unit with its
feedback transistor ``M9`` removed and ``I_thresh`` re-drawn to the centre of the band (a
comparator, delta -> 0): on the same input it must suppress far less.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.builders import CellParams, UnitParams, bmru_unit
from bmru_pdk.circuits.model import Circuit
from bmru_pdk.errors import BmruError
from bmru_pdk.verification import testbench as tb

FRAME_S = 200e-6
PER_FRAME = 4
MARGIN = 0.25  # clean levels stay this fraction of delta clear of the thresholds
LEVELS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)  # relative input noise sigma of the sweep
# The unit of the measurement, as drawn ratios (independent of the calibration tables).
UNIT_RATIOS = {"r_thresh": 2.0, "r_width": 0.8, "r_gain": 1.5}


@dataclass(frozen=True)
class Deviation:
    """Relative deviations of one noisy run against its clean run."""

    rel: float
    input: float
    output: float
    output_continuous: float | None
    flipped_frames: int
    frames: int
    resolution: float  # the output deviation one flipped frame would give

    @property
    def suppression(self) -> float:
        """Input over output deviation; ``inf`` when no frame moved at all (the model)."""
        return self.input / self.output if self.output > 0 else float("inf")

    def to_dict(self) -> dict:
        """Rounded figures; an infinite suppression as ``None`` with the bound one flipped
        frame would set (``suppression_at_least``)."""
        s = self.suppression
        out = {"rel_sigma": self.rel, "input_deviation": round(self.input, 5),
               "output_deviation": round(self.output, 6),
               "output_deviation_continuous": None if self.output_continuous is None
               else round(self.output_continuous, 5),
               "flipped_frames": self.flipped_frames, "frames": self.frames,
               "suppression": None if np.isinf(s) else round(s, 3)}
        if np.isinf(s):
            out["suppression_at_least"] = round(self.input / self.resolution, 3)
        return out


def unit(feedback: bool = True, thresh_scale: float = 1.0) -> Circuit:
    """The BMRU unit of the measurement (no bias transistor), or its negative control.

    Args:
        feedback: keep the cell's feedback transistor ``M9``; without it the cell is a
            comparator at ``I_thresh`` (no hysteresis).
        thresh_scale: factor on the drawn ``I_thresh`` (to put a comparator's threshold at
            the centre of the hysteretic unit's band).
    """
    r = dict(UNIT_RATIOS, r_thresh=UNIT_RATIOS["r_thresh"] * thresh_scale)
    circuit = bmru_unit(UnitParams(cell=CellParams(**r)))
    if feedback:
        return circuit

    def cut(inst):  # noqa: ANN001, ANN202
        cell = inst.circuit.model_copy(update={
            "devices": [d for d in inst.circuit.devices if d.name != "M9"]})
        return inst.model_copy(update={"circuit": cell})

    return circuit.model_copy(update={
        "instances": [cut(i) if i.name == "cell" else i for i in circuit.instances]})


def comparator(point: ch.CellPoint) -> Circuit:
    """The negative control: the unit without ``M9``, ``I_thresh`` re-drawn so that its one
    threshold sits near the centre of the band of ``point`` (delta -> 0, same centre)."""
    return unit(feedback=False, thresh_scale=(point.beta_lo + point.beta_hi) / 2 / point.beta_hi)


def clean_sequence(point: ch.CellPoint, frames: int, rng: np.random.Generator) -> np.ndarray:
    """Per-frame input levels (nA) walking OFF, hold, ON, hold, ... in segments of 3-6 frames,
    each level uniform in its region and ``MARGIN`` x delta clear of both thresholds."""
    lo, hi = point.beta_lo, point.beta_hi
    m = MARGIN * (hi - lo)
    regions = [(0.3 * lo, lo - m), (lo + m, hi - m), (hi + m, hi + (hi - lo)), (lo + m, hi - m)]
    out: list[float] = []
    k = 0
    while len(out) < frames:
        a, b = regions[k % len(regions)]
        out += [float(rng.uniform(a, b))] * int(rng.integers(3, 7))
        k += 1
    return np.array(out[:frames])


def noisy_samples(clean: np.ndarray, rel: float, per_frame: int,
                  rng: np.random.Generator) -> np.ndarray:
    """``per_frame`` samples a frame: the clean level plus Gaussian noise of sigma ``rel`` x
    level, clipped at 0 (a unit's ReLU passes nothing below; a negative input would pull
    the summing node below ground)."""
    base = np.repeat(clean, per_frame)
    return np.maximum(base * (1 + rel * rng.standard_normal(base.shape)), 0.0)


def relative_deviation(x: np.ndarray, clean: np.ndarray) -> float:
    """RMS of ``x - clean`` over the mean of ``clean``."""
    return float(np.sqrt(np.mean((x - clean) ** 2)) / np.mean(clean))


def measure_thresholds(circuit: Circuit) -> ch.CellPoint:
    """Switching currents and alpha of ``circuit`` (the characterisation ramp).

    Raises:
        BmruError: the unit does not switch ON and back OFF.
    """
    top = 2.5 * UNIT_RATIOS["r_thresh"]
    point = ch.measure_cell(circuit, top)
    if point is None:
        raise BmruError(f"{circuit.name} did not switch ON and back OFF on a ramp to {top} nA")
    return point


def simulate_unit(circuit: Circuit, samples: np.ndarray, per_frame: int,
                  frame_s: float = FRAME_S) -> tuple[np.ndarray, np.ndarray]:
    """Output current (nA) of ``circuit`` driven by ``samples`` (nA, ``per_frame`` a frame)
    after a reset frame of zero input, which is dropped.

    Returns:
        Times (s, from the end of the reset frame) and the output current, nA.
    """
    from bmru_pdk.verification.spice import simulate

    x = np.concatenate([np.zeros(per_frame), samples])
    total_ms = len(x) / per_frame * frame_s * 1e3
    # cell_bench with a zero ramp, the unit driven by the front-end source instead
    deck = (ch.cell_bench(circuit, 0.0, ramp_ms=total_ms / 2.02)
            + f"vfe vfe 0 {ch.VDD}\n" + tb._pwl("noise", "in", x, frame_s / per_frame) + "\n")
    r = simulate(deck)
    keep = r["time"] >= frame_s
    return r["time"][keep] - frame_s, r["i(vout)"][keep] * 1e9


def frame_outputs(t: np.ndarray, h: np.ndarray, frames: int, frame_s: float = FRAME_S
                  ) -> np.ndarray:
    """Output at the end of each frame (where the compare reads states)."""
    return tb.frame_ends(t, h, frame_s, frames)


def model_outputs(point: ch.CellPoint, samples: np.ndarray, per_frame: int) -> np.ndarray:
    """The FQ-BMRU model with ``point``'s thresholds and alpha on ``samples`` (one step each,
    initial state OFF), read at the last step of each frame, nA."""
    import torch

    from bmru_pdk.model.cell import FQBMRU

    params = {"weight": torch.ones(1, 1), "bias": torch.zeros(1),
              "beta_lo": torch.tensor([point.beta_lo]), "beta_hi": torch.tensor([point.beta_hi]),
              "alpha": torch.tensor([point.alpha]), "s0": torch.zeros(1)}
    x = torch.tensor(samples, dtype=torch.float64)[None, :, None]
    with torch.no_grad():
        h, _ = FQBMRU(1, 1)(x, {k: v.double() for k, v in params.items()}, mode="loop")
    return h[0, per_frame - 1::per_frame, 0].numpy()


def deviation(rel: float, samples: np.ndarray, clean_samples: np.ndarray, out: np.ndarray,
              clean_out: np.ndarray, alpha: float,
              continuous: tuple[np.ndarray, np.ndarray] | None = None) -> Deviation:
    """The deviations of one noisy run.

    Args:
        rel: relative input noise sigma.
        samples: noisy input samples, nA; ``clean_samples`` the same without noise.
        out: per-frame output, nA; ``clean_out`` the noise-free run's.
        alpha: ON output (a flipped frame differs from the clean one by more than alpha / 2).
        continuous: the noisy and clean outputs on one time grid (SPICE only).
    """
    return Deviation(
        rel=rel, input=relative_deviation(samples, clean_samples),
        output=relative_deviation(out, clean_out),
        output_continuous=None if continuous is None else relative_deviation(*continuous),
        flipped_frames=int((np.abs(out - clean_out) > alpha / 2).sum()), frames=len(out),
        resolution=float(alpha / np.sqrt(len(out)) / np.mean(clean_out)))


def sweep(circuit: Circuit, point: ch.CellPoint, clean: np.ndarray, levels: tuple[float, ...],
          seed: int, per_frame: int = PER_FRAME, spice: bool = True) -> dict[str, list[Deviation]]:
    """Deviations of ``circuit`` (ngspice) and of the model with ``point``'s parameters, one
    noisy run per level of ``levels``, on the clean per-frame input ``clean``.

    Args:
        circuit: the unit to simulate.
        point: its measured thresholds and alpha (the model's parameters).
        clean: per-frame clean input, nA.
        levels: relative noise sigmas.
        seed: noise seed (level k uses ``seed + k``).
        per_frame: noise samples a frame.
        spice: also simulate (the model alone is cheap).

    Returns:
        ``model`` and (with ``spice``) ``spice``: one :class:`Deviation` per level.
    """
    frames = len(clean)
    clean_samples = np.repeat(clean, per_frame)
    out: dict[str, list[Deviation]] = {"model": []}
    m_clean = model_outputs(point, clean_samples, per_frame)
    if spice:
        out["spice"] = []
        t0, h0 = simulate_unit(circuit, clean_samples, per_frame)
        s_clean = frame_outputs(t0, h0, frames)
        grid = np.linspace(0, frames * FRAME_S, 20 * frames, endpoint=False)
        h0_grid = np.interp(grid, t0, h0)
    for k, rel in enumerate(levels):
        x = noisy_samples(clean, rel, per_frame, np.random.default_rng(seed + k))
        out["model"].append(deviation(rel, x, clean_samples,
                                      model_outputs(point, x, per_frame), m_clean, point.alpha))
        if spice:
            t, h = simulate_unit(circuit, x, per_frame)
            out["spice"].append(deviation(rel, x, clean_samples, frame_outputs(t, h, frames),
                                          s_clean, point.alpha,
                                          (np.interp(grid, t, h), h0_grid)))
    return out
