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

over every noise sample for the input and, for the output, at the end of every settled
frame (where the next layer reads the state; settled: not the first frame of a clean
level, where the clean run itself switches); ``suppression = input / output deviation``.
The model (:class:`~bmru_pdk.model.cell.FQBMRU` with the measured thresholds and alpha) runs
on the same samples, one model step per sample, read at the last step of each frame, and on
a long sequence that resolves rare flips.

A frame where the output flips costs ``alpha`` against a mean of ``alpha`` x duty, so the
suppression is set by how often the noise crosses the threshold the state is waiting for:
it falls once sigma nears the margin. The negative control is the same unit with its
feedback transistor ``M9`` removed and ``I_thresh`` re-drawn to the centre of the band (a
comparator, delta -> 0): on the same input it must suppress far less.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bmru_pdk.analyses import testbench as tb
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.builders import CellParams, UnitParams, bmru_unit
from bmru_pdk.circuits.model import Circuit, Instance
from bmru_pdk.errors import BmruError

FRAME_S = 1e-3  # 200 µs at a 1 nA unit current: settling time ~ 1 / current
PER_FRAME = 4
MARGIN = 0.25  # clean levels stay this fraction of delta clear of the thresholds
LEVELS = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3)  # relative input noise sigma of the sweep
# The unit of the measurement, as drawn ratios (independent of the calibration tables).
UNIT_RATIOS = {"r_thresh": 2.0, "r_width": 0.8, "r_gain": 1.5}


@dataclass(frozen=True)
class Deviation:
    """Relative deviations of one noisy run against its clean run; the output's over the
    settled frames (all but the first of each clean level), ``output_all`` over every frame."""

    rel: float
    input: float
    output: float
    output_all: float
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
               "output_deviation_all_frames": round(self.output_all, 6),
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

    def cut(inst: Instance) -> Instance:
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
    regions = np.array([(0.3 * lo, lo - m), (lo + m, hi - m), (hi + m, 2 * hi - lo),
                        (lo + m, hi - m)])
    k = np.arange(frames // 3 + 1) % len(regions)
    levels = rng.uniform(regions[k, 0], regions[k, 1])
    return np.repeat(levels, rng.integers(3, 7, len(k)))[:frames]


def settled(clean: np.ndarray) -> np.ndarray:
    """Frames whose clean level is the previous frame's: the clean run does not switch in
    them (the first frame of a level may end while the output still settles)."""
    return np.r_[False, clean[1:] == clean[:-1]]


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
    from bmru_pdk.spice import simulate

    x = np.concatenate([np.zeros(per_frame), samples])
    total_ms = len(x) / per_frame * frame_s * 1e3
    # cell_bench with a zero ramp, the unit driven by the front-end source instead
    deck = (ch.cell_bench(circuit, 0.0, ramp_ms=total_ms / 2.02)
            + f"vfe vfe 0 {ch.VDD}\n" + tb.pwl("noise", "in", x, frame_s / per_frame, ch.I_UNIT_NA)
            + "\n")
    r = simulate(deck)
    keep = r["time"] >= frame_s
    return r["time"][keep] - frame_s, ch.to_units(r["i(vout)"][keep])


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
        h, _, _ = FQBMRU(1, 1)(x, {k: v.double() for k, v in params.items()})
    return h[0, per_frame - 1::per_frame, 0].numpy()


def deviation(rel: float, samples: np.ndarray, clean_samples: np.ndarray, out: np.ndarray,
              clean_out: np.ndarray, steady: np.ndarray, alpha: float,
              continuous: tuple[np.ndarray, np.ndarray] | None = None) -> Deviation:
    """The deviations of one noisy run.

    Args:
        rel: relative input noise sigma.
        samples: noisy input samples, nA; ``clean_samples`` the same without noise.
        out: per-frame output, nA; ``clean_out`` the noise-free run's.
        steady: the settled frames (:func:`settled`), where the output deviation is taken.
        alpha: ON output (a flipped frame differs from the clean one by more than alpha / 2).
        continuous: the noisy and clean outputs on one time grid (SPICE only).
    """
    o, c = out[steady], clean_out[steady]
    return Deviation(
        rel=rel, input=relative_deviation(samples, clean_samples),
        output=relative_deviation(o, c), output_all=relative_deviation(out, clean_out),
        output_continuous=None if continuous is None else relative_deviation(*continuous),
        flipped_frames=int((np.abs(o - c) > alpha / 2).sum()), frames=len(o),
        resolution=float(alpha / np.sqrt(len(o)) / np.mean(c)))


def sweep(circuit: Circuit | None, point: ch.CellPoint, clean: np.ndarray,
          levels: tuple[float, ...], seed: int, per_frame: int = PER_FRAME
          ) -> dict[str, list[Deviation]]:
    """Deviations of the model with ``point``'s parameters and of ``circuit`` (ngspice), on
    the same noisy samples, one run per level of ``levels``, clean per-frame input ``clean``.

    Args:
        circuit: the unit to simulate; None runs the model alone.
        point: its measured thresholds and alpha (the model's parameters).
        clean: per-frame clean input, nA.
        levels: relative noise sigmas.
        seed: noise seed (level k uses ``seed + k``).
        per_frame: noise samples a frame.

    Returns:
        ``model`` and (with a circuit) ``spice``: one :class:`Deviation` per level.
    """
    frames = len(clean)
    steady = settled(clean)
    clean_samples = np.repeat(clean, per_frame)
    out: dict[str, list[Deviation]] = {"model": []}
    m_clean = model_outputs(point, clean_samples, per_frame)
    if circuit is not None:
        out["spice"] = []
        t0, h0 = simulate_unit(circuit, clean_samples, per_frame)
        s_clean = ch.frame_ends(t0, h0, FRAME_S, frames)
        grid = np.linspace(0, frames * FRAME_S, 20 * frames, endpoint=False)
        h0_grid = np.interp(grid, t0, h0)
    for k, rel in enumerate(levels):
        x = noisy_samples(clean, rel, per_frame, np.random.default_rng(seed + k))
        out["model"].append(deviation(rel, x, clean_samples, model_outputs(point, x, per_frame),
                                      m_clean, steady, point.alpha))
        if circuit is not None:
            t, h = simulate_unit(circuit, x, per_frame)
            ends = ch.frame_ends(t, h, FRAME_S, frames)
            out["spice"].append(deviation(rel, x, clean_samples, ends, s_clean, steady,
                                          point.alpha, (np.interp(grid, t, h), h0_grid)))
    return out


def measure(frames: int = 400, levels: tuple[float, ...] = LEVELS,
            per_frame: tuple[int, ...] = (PER_FRAME, 1), seed: int = 0,
            model_frames: int = 1_000_000) -> dict:
    """The whole measurement: the unit, the comparator control and the unit without ``M9``
    (threshold left at beta_hi), each swept over ``levels`` in ngspice and in the model on
    the same samples, and the model alone on a long sequence (``model_long``) that resolves
    flip rates far below one in ``frames``.

    Args:
        frames: frames of the clean sequence (one sequence, from the unit's thresholds).
        levels: relative noise sigmas.
        per_frame: noise samples a frame, one sweep each.
        seed: seed of the clean sequence; the noise of level k uses ``seed + 1 + k``.
        model_frames: frames of the model's long sequence (seed ``seed + 100``).

    Returns:
        JSON-ready figures: ``duts`` (measured switching currents and alpha of each circuit)
        and ``sweeps[per_frame][dut][spice|model|model_long]``, one entry per level.
    """
    bmru = unit()
    point = measure_thresholds(bmru)
    duts = {"bmru": bmru, "comparator": comparator(point), "no_m9": unit(feedback=False)}
    points = {name: point if name == "bmru" else measure_thresholds(c)
              for name, c in duts.items()}
    clean = clean_sequence(point, frames, np.random.default_rng(seed))
    long = clean_sequence(point, model_frames, np.random.default_rng(seed + 100))
    sweeps: dict = {}
    for k in per_frame:
        sweeps[str(k)] = {}
        for name, c in duts.items():
            runs = sweep(c, points[name], clean, levels, seed + 1, k)
            runs["model_long"] = sweep(None, points[name], long, levels, seed + 1, k)["model"]
            sweeps[str(k)][name] = {kind: [d.to_dict() for d in devs]
                                    for kind, devs in runs.items()}
    return {"frame_s": FRAME_S, "frames": frames, "model_frames": model_frames,
            "margin_of_delta": MARGIN, "unit_ratios": UNIT_RATIOS,
            "duts": {n: {k: round(v, 4) for k, v in p.model_dump().items()}
                     for n, p in points.items()},
            "sweeps": sweeps}


def plot(figures: dict, path: Path) -> Path:
    """Suppression vs relative input noise, one panel per noise rate, ngspice and model;
    runs with no flipped frame in the model are drawn at their bound (open triangles)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"bmru": "BMRU unit", "comparator": "comparator (no M9, band centre)",
              "no_m9": "no M9 (threshold beta_hi)"}
    sweeps = figures["sweeps"]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(6 * len(sweeps), 4.5), sharey=True,
                             squeeze=False)
    for ax, (per_frame, duts) in zip(axes[0], sweeps.items(), strict=True):
        for k, (name, runs) in enumerate(duts.items()):
            for kind, style in (("spice", "o-"), ("model_long", "s--")):
                rel = [100 * r["input_deviation"] for r in runs[kind]]
                sup = [r["suppression"] or r["suppression_at_least"] for r in runs[kind]]
                ax.semilogy(rel, sup, style, color=f"C{k}", label=f"{labels[name]}, {kind}")
                bound = [i for i, r in enumerate(runs[kind]) if r["suppression"] is None]
                ax.semilogy([rel[i] for i in bound], [sup[i] for i in bound], "^",
                            color=f"C{k}", markersize=10, mfc="none")
        ax.plot([], [], "^", color="gray", mfc="none", markersize=10,
                label="model: no flipped frame (drawn at the bound one flip would set)")
        ax.axhline(20, color="k", linestyle=":", label="20x")
        ax.set(title=f"{per_frame} noise sample(s) per {figures['frame_s'] * 1e6:g} µs frame",
               xlabel="input relative deviation, %",
               ylabel="suppression (input / output relative deviation)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
