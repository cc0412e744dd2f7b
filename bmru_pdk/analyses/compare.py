"""Post-layout simulation against the software model: state bits, output currents, decisions,
supply power.

The tile of a checkpoint is built and extracted; each utterance's input currents drive the
extracted netlist in ngspice, one frame per ``frame_s``, after a reset frame of zero input.
At the end of each frame every unit's state is read at its cell's decision node ``v0`` (found
in the extracted netlist by pairing it with the schematic) and the class scores as the
currents of the output rails. The torch model runs on the same frames with two parameter
sets: the checkpoint's (``ideal``) and the values the layout realises (``realised``, the
mapping's last column).
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.analyses import testbench as tb
from bmru_pdk.analyses.executor import Executor
from bmru_pdk.analyses.power import device_parts, part_of, split_tile
from bmru_pdk.analyses.stats import bootstrap_ratio, wilson
from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES
from bmru_pdk.circuits.mapping import load_tables
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import output_dir

if TYPE_CHECKING:
    from bmru_pdk.layouts.tile import TileFiles
    from bmru_pdk.verification.extract import ExtractResult
    from bmru_pdk.verification.pex import PexResult

REFERENCES = ("ideal", "realised")
# Checkpoint tensor name -> key of BMRUNet.effective_parameters
_KEYS = {"W": "weight", "b": "bias", "beta1": "beta_lo", "delta": "delta", "alpha": "alpha"}
_PARAM = re.compile(r"^(?:layers\.(\d+)|readout)\.(\w+)\[(\d+)\](?:\[(\d+)\])?$")
_WORST = 5
# The published work's figures: 99 % of state bits (every layer), 98 % of class decisions.
TARGETS = {"state_agreement": 0.99, "decision_agreement": 0.98}


@dataclass(frozen=True)
class Utterance:
    """One input sequence: a name, its label and its input currents (frames, n_in), nA."""

    name: str
    label: int
    x_na: np.ndarray


@dataclass(frozen=True)
class HardwareRun:
    """What one simulation gave, sampled once per frame (reset frame dropped); supply power
    as the time average after the reset frame, total and by part (when the tile's supply is
    split: :mod:`~bmru_pdk.analyses.power`)."""

    states: list[np.ndarray]
    scores: np.ndarray
    power_nw: float
    seconds: float
    power_by_part_nw: dict[str, float]
    # per layer (frames, d): each cell's input current, nA (when the tile senses it)
    cell_inputs_na: list[np.ndarray] = field(default_factory=list)


def majority_vote(scores: np.ndarray) -> int:
    """Class of most frames by per-frame argmax (ties: lowest class), as the model decides."""
    return int(np.bincount(scores.argmax(-1), minlength=scores.shape[-1]).argmax())


def realised_parameters(model, rows: list[dict]) -> list[dict]:  # noqa: ANN001 (torch lazy)
    """``model``'s effective parameters with every mapped value replaced by the realised one
    (call under ``torch.no_grad()``).

    Args:
        model: The :class:`~bmru_pdk.model.network.BMRUNet` of the checkpoint.
        rows: The tile's mapping rows (``parameter``, ``realised``).
    """
    params = [{k: v.clone() for k, v in p.items()} for p in model.effective_parameters()]
    for row in rows:
        m = _PARAM.match(row["parameter"])
        if m is None:
            raise BmruError(f"unknown parameter {row['parameter']!r} in the tile mapping")
        layer, name, i, j = m.groups()
        p = params[-1 if layer is None else int(layer)]
        index = (int(i),) if j is None else (int(i), int(j))
        p[_KEYS[name]][index] = float(row["realised"])
    for p in params[:-1]:
        p["beta_hi"] = p["beta_lo"] + p["delta"]
    return params


def model_run(model, params: list[dict], x_na: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:  # noqa: ANN001
    """States per layer (frames, d) and scores (frames, n_classes) of the torch model."""
    import torch

    with torch.no_grad():
        y, states = model(torch.from_numpy(x_na[None].astype(np.float32)), params=params,
                          return_states=True)
    return [s[0].numpy() for s in states], y[0].numpy()


def simulate_utterance(
    tile: tb.TileNetlist,
    decision_nets: list[list[str]],
    s0: list[np.ndarray],
    x_na: np.ndarray,
    frame_s: float,
    mismatch: bool = False,
    seed: int | None = None,
    senses: list[list[str]] | None = None,
    condition: tb.Condition = tb.NOMINAL,
) -> HardwareRun:
    """Simulate one utterance on ``tile`` after a reset frame of zero input.

    Args:
        tile: The tile netlist.
        decision_nets: Per layer, each unit's decision-node net in ``tile``.
        s0: Per layer, the initial states (the decision nodes start there: ``.ic``).
        x_na: (frames, n_in) input currents, nA.
        frame_s: Frame period, s.
        mismatch: The models' statistical mismatch on (one Monte Carlo sample of the tile).
        seed: ngspice's random seed: the same seed draws the same sample.
        senses: Per layer, each unit's sense source on its ReLU copy (:func:`sense_cells`).
        condition: Corner, temperature and supply of the run.
    """
    from bmru_pdk.analyses.power import supply_power_nw
    from bmru_pdk.spice import simulate

    x = np.vstack([np.zeros((1, x_na.shape[1])), x_na])
    n = len(x)
    probes = [net for layer in decision_nets for net in layer]
    vdd = condition.vdd_v
    initial = {net: vdd * float(s) for nets, states in zip(decision_nets, s0, strict=True)
               for net, s in zip(nets, states, strict=True)}
    start = time.perf_counter()
    r = simulate(tb.deck(tile, x, frame_s, probes, initial, condition), mismatch=mismatch,
                 seed=seed, corner=condition.corner)
    seconds = time.perf_counter() - start
    t = r["time"]

    def sampled(name: str) -> np.ndarray:
        return tb.frame_ends(t, r[name], frame_s, n)[1:]

    states = [np.stack([sampled(f"v({net})") > vdd / 2 for net in layer], -1)
              .astype(np.float32) for layer in decision_nets]
    outputs = sorted((p for p in tile.pins if re.fullmatch(r"y\d+", p)), key=lambda p: int(p[1:]))
    # currents back in software units; power stays in real nW
    unit = tb.unit_amps()
    scores = np.stack([sampled(f"i(v{y})") / unit for y in outputs], -1)
    inputs = [np.stack([sampled(f"i(v{s})") / unit for s in layer], -1) for layer in senses or []]
    power, by_part = supply_power_nw(tile, r, start=frame_s, vdd_v=vdd)
    return HardwareRun(states, scores, power, seconds, by_part, inputs)


@dataclass(frozen=True)
class SimFailure:
    """A simulation that failed: the simulator's own lines that say why."""

    message: str


def try_simulate_utterance(*args: object, **kwargs: object) -> HardwareRun | SimFailure:
    """:func:`simulate_utterance`, with a failed simulation returned instead of raised, so
    one bad utterance does not cost the others."""
    from bmru_pdk.spice import SpiceError

    try:
        return simulate_utterance(*args, **kwargs)  # type: ignore[arg-type]
    except SpiceError as exc:
        return SimFailure(str(exc))


class CompareFailures(BmruError):
    """Some simulations of a compare failed; the others' figures were written."""


@dataclass(frozen=True)
class SimTile:
    """An extracted tile ready for :func:`simulate_utterance`: a supply per part, a sense
    source on each unit's cell input, and each unit's decision-node net (per layer)."""

    netlist: tb.TileNetlist
    decision_nets: list[list[str]]
    senses: list[list[str]]


def sim_tile(extracted: str, schematic: str, top: str, d: int, layers: int,
             classify: Callable[[str], str] = part_of,
             capacitors: tuple[str, ...] = ()) -> SimTile:
    """The testbench view of an extracted tile, its devices and nets found by pairing the
    extracted netlist with the schematic (as LVS does).

    Args:
        extracted: The extracted device netlist.
        schematic: The tile's schematic.
        top: Name of the tile's top subcircuit.
        d: Units per layer.
        layers: Recurrent layers.
        classify: Part of a schematic device by its flat path (:func:`power.part_of`).
        capacitors: Parasitic ``C`` cards on the top subcircuit's nets
            (:func:`parasitic_cards`), added after the pairing, which knows devices only.
    """
    units = [(l, j) for l in range(layers) for j in range(d)]  # noqa: E741
    found = tb.net_names(extracted, schematic, [f"u{l}_{j}.cell.v0" for l, j in units])  # noqa: E741
    # the ReLU copy MC of each unit: the current into its cell
    names = {f"u{l}_{j}.relu.mc": f"c{l}_{j}" for l, j in units}  # noqa: E741
    cards = device_parts(extracted, schematic, tb.split_top(extracted, top).body,
                         classify=lambda path: names.get(path.lower(), "-"))
    netlist = tb.sense_drains(split_tile(extracted, schematic, top, classify),
                              {card: sense for card, sense in cards.items() if sense != "-"})
    netlist = dataclasses.replace(netlist, body=netlist.body + list(capacitors))
    return SimTile(netlist,
                   [[found[f"u{l}_{j}.cell.v0"] for j in range(d)] for l in range(layers)],  # noqa: E741
                   [[f"c{l}_{j}" for j in range(d)] for l in range(layers)])  # noqa: E741


def extracted_tile(checkpoint: str | os.PathLike[str], tile_dir: Path,
                   classify: Callable[[str], str] = part_of
                   ) -> tuple[TileFiles, ExtractResult, SimTile]:
    """Build the tile of ``checkpoint`` into ``tile_dir``, extract it, prepare it for the
    testbench.

    Args:
        checkpoint: The ``.safetensors`` checkpoint.
        tile_dir: Folder for the tile's files.
        classify: As in :func:`sim_tile`.
    """
    from bmru_pdk.layouts.tile import write_tile
    from bmru_pdk.model.checkpoint import read_checkpoint
    from bmru_pdk.verification.extract import extract

    arch = read_checkpoint(checkpoint)[0].architecture
    files = write_tile(checkpoint, tile_dir)
    x = extract(tile_dir / "tile.gds")
    schematic = (tile_dir / "tile.spice").read_text()
    return files, x, sim_tile(x.spice, schematic, files.name, arch.d, arch.layers, classify)


def parasitic_cards(pex: PexResult) -> tuple[str, ...]:
    """The extracted capacitances as ``C`` cards on the tile's own net names."""
    return tuple(f"{c.name} {c.a} {c.b} {c.farads:.6g}" for c in pex.capacitors)


def cell_candidates(hw: HardwareRun) -> list[np.ndarray]:
    """Each unit's candidate (nA) as the hardware formed it: the sensed current into its
    cell with the ReLU copy's characterised gain divided out."""
    from bmru_pdk.circuits.mapping import copy_gain

    gain = np.vectorize(lambda i: copy_gain(max(float(i), 1e-3)))
    return [c / gain(c) for c in hw.cell_inputs_na]


def candidate_error(params: list[dict], candidates: list[np.ndarray], states: list[np.ndarray],
                    x_na: np.ndarray) -> list[float]:
    """Mean absolute error (nA) per layer of the hardware's ``candidates`` against the
    model's, both from the inputs the hardware layer saw (``x_na``, then the hardware's
    ``states`` x alpha): each layer's analog error, not its inherited state errors."""
    h, errors = x_na, []
    for p, c_hw, s_hw in zip(params, candidates, states, strict=False):
        w, b = p["weight"].numpy(), p["bias"].numpy()
        errors.append(float(np.abs(c_hw - np.maximum(h @ w.T + b, 0)).mean()))
        h = s_hw * p["alpha"].numpy()
    return errors


def _plot(path: Path, u: Utterance, hw: HardwareRun, model: list[np.ndarray],
          y_model: np.ndarray, classes: list[str]) -> None:
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


def compare(
    checkpoint: str | os.PathLike[str],
    utterances: list[Utterance],
    outdir: str | os.PathLike[str],
    frame_s: float = tb.FRAME_S,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    force: bool = False,
    max_devices: int = DEFAULT_MAX_DEVICES,
    sample: str | None = None,
    condition: tb.Condition = tb.NOMINAL,
    pex: bool = False,
) -> dict:
    """Simulate the extracted tile of ``checkpoint`` on ``utterances`` and compare with the model.

    Writes into ``outdir`` (whole or not at all): the tile's files (``tile/``),
    ``extracted.spice`` (devices), with ``pex`` ``pex.spice`` (devices and parasitic
    capacitances), and what :func:`compare_extracted` writes.

    Args:
        checkpoint: The ``.safetensors`` checkpoint.
        utterances: Input sequences.
        outdir: Folder to write.
        frame_s: Frame period of the simulation, s (:data:`testbench.FRAME_S` by default).
        progress: Called with (0, total) when the simulations start, then (done, total)
            after each.
        executor: Where the simulations run (:mod:`~bmru_pdk.analyses.executor`);
            ``None`` runs them one after the other in this process.
        force: Write beside files the tool did not write (never removing them).
        max_devices: Largest tile to build, in transistors.
        sample: Name of the utterances' sample, recorded in the figures.
        condition: Corner, temperature and supply of the simulations.
        pex: Simulate the netlist with parasitic capacitances (KLayout-PEX) for the
            headline figures, and the device-only netlist beside it.

    Returns:
        The figures (stable keys), also written to ``compare.json``.
    """
    from bmru_pdk.layouts.tile import write_tile
    from bmru_pdk.verification import pex as parasitics
    from bmru_pdk.verification.extract import extract

    with output_dir(outdir, force=force) as tmp:
        files = write_tile(checkpoint, tmp / "tile", max_devices=max_devices)
        x = extract(tmp / "tile" / "tile.gds")
        (tmp / "extracted.spice").write_text(x.spice)
        p = None
        if pex:
            p = parasitics.extract_pex(tmp / "tile" / "tile.gds")
            parasitics.write(p, tmp / "pex.spice")
        return compare_extracted(checkpoint, files, x, p, utterances, tmp, frame_s=frame_s,
                                 progress=progress, executor=executor, sample=sample,
                                 condition=condition)


def compare_extracted(
    checkpoint: str | os.PathLike[str],
    files: TileFiles,
    extracted: ExtractResult,
    pex: PexResult | None,
    utterances: list[Utterance],
    outdir: Path,
    **options: object,
) -> dict:
    """:func:`compare_tile` on the netlist with parasitics (``pex``) for the headline figures
    and on the device-only netlist (written to ``outdir/device-only``) beside them, under
    ``device_only``; on the device-only netlist alone when ``pex`` is ``None``.

    Args:
        checkpoint: The ``.safetensors`` checkpoint.
        files: The tile's files.
        extracted: Its device netlist.
        pex: Its parasitic extraction, or ``None``.
        utterances: Input sequences.
        outdir: An existing folder to write into.
        **options: Keyword arguments of :func:`compare_tile` (``progress`` sees both runs
            as one: 2 x the utterances).
    """
    if pex is None:
        return compare_tile(checkpoint, files, extracted, utterances, outdir, **options)
    progress = options.pop("progress", None)
    n = len(utterances)

    def shifted(offset: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda k, total: progress(offset + k, 2 * total)  # type: ignore[operator]

    (outdir / "device-only").mkdir()
    devices = compare_tile(checkpoint, files, extracted, utterances, outdir / "device-only",
                           progress=shifted(0), **options)
    figures = compare_tile(checkpoint, files, extracted, utterances, outdir, pex=pex,
                           progress=shifted(n), **options)
    figures["device_only"] = {k: devices[k] for k in (
        "netlist", "utterances", "failed", "ideal", "realised", "hardware_accuracy",
        "power_nw") if k in devices}
    (outdir / "compare.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def compare_tile(
    checkpoint: str | os.PathLike[str],
    files: TileFiles,
    extracted: ExtractResult,
    utterances: list[Utterance],
    outdir: Path,
    frame_s: float = tb.FRAME_S,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    sample: str | None = None,
    condition: tb.Condition = tb.NOMINAL,
    pex: PexResult | None = None,
) -> dict:
    """:func:`compare` on a tile already built (``files``) and extracted (``extracted``), as
    the flow has it; writes ``compare.json`` and one ``<index>.png`` per utterance into the
    existing folder ``outdir``; ``sample`` names the utterances' sample and ``condition`` the
    corner, temperature and supply the tile is simulated at (the model is one and the same);
    with ``pex`` the parasitic capacitances join the extracted devices.
    """
    import torch

    from bmru_pdk.model.checkpoint import load_checkpoint

    if not utterances:
        raise BmruError("compare needs at least one utterance")
    model = load_checkpoint(checkpoint)
    arch = model.meta.architecture
    rows = json.loads((files.outdir / "mapping.json").read_text())
    sim = sim_tile(extracted.spice, (files.outdir / "tile.spice").read_text(), files.name,
                   arch.d, arch.layers, capacitors=parasitic_cards(pex) if pex else ())
    with torch.no_grad():
        refs = {"ideal": model.effective_parameters(),
                "realised": realised_parameters(model, rows)}
    s0 = [p["s0"].numpy() for p in refs["ideal"][:-1]]
    per: list[dict] = []
    failed: list[dict] = []
    runs = (executor or Executor()).map(
        partial(try_simulate_utterance, sim.netlist, sim.decision_nets, s0, frame_s=frame_s,
                senses=sim.senses, condition=condition),
        [u.x_na for u in utterances], progress)
    for k, (u, hw) in enumerate(zip(utterances, runs, strict=True)):
        if isinstance(hw, SimFailure):
            failed.append({"index": k, "name": u.name, "error": hw.message})
            continue
        entry = {"index": k, "name": u.name, "label": u.label, "frames": len(u.x_na),
                 "sim_s": round(hw.seconds, 2), "power_nw": hw.power_nw,
                 "power_by_part_nw": hw.power_by_part_nw,
                 "decision_hw": majority_vote(hw.scores)}
        x_in = np.vstack([np.zeros((1, u.x_na.shape[1])), u.x_na])
        candidates = cell_candidates(hw)
        for ref, params in refs.items():
            states, scores = model_run(model, params, x_in)
            states, scores = [s[1:] for s in states], scores[1:]
            if ref == "ideal":
                _plot(outdir / f"{k:03d}.png", u, hw, states, scores, model.meta.classes)
            entry[ref] = {
                "state_agreement": [float((a == b).mean())
                                    for a, b in zip(hw.states, states, strict=True)],
                "output_mae_na": float(np.abs(hw.scores - scores).mean()),
                "candidate_mae_na": candidate_error(params, candidates, hw.states, u.x_na),
                "decision": majority_vote(scores),
            }
        per.append(entry)
    netlist = "devices" if pex is None else (
        f"devices and {len(pex.capacitors)} parasitic capacitors "
        f"({pex.total_f * 1e15:.0f} fF, KLayout-PEX {pex.kpex_version})")
    figures = {"sample": sample, "condition": condition.name, "netlist": netlist,
               "i_unit_na": load_tables().i_unit_na,
               **_summary(checkpoint, files.name, extracted.devices, frame_s, per, failed)}
    (outdir / "compare.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def raise_failures(figures: dict) -> None:
    """Raise :class:`CompareFailures` when some of the simulations of ``figures`` failed.

    Raises:
        CompareFailures: One sentence with the count and the first simulator message.
    """
    failed = figures["failed"]
    if failed:
        total = figures["utterances"] + len(failed)
        raise CompareFailures(
            f"{len(failed)} of {total} simulations failed (first: {failed[0]['name']}: "
            f"{failed[0]['error']}); the others' figures and every failure are in compare.json")


def target_check(figures: dict, ref: str = "ideal") -> dict:
    """Whether ``figures`` (from :func:`compare`) meet :data:`TARGETS`, and by how much not.

    Returns:
        ``met`` and, per target, the ``target``, the ``measured`` value (the worst layer for
        state bits) and the ``shortfall`` (0 when met).
    """
    r = figures[ref]
    measured = {"state_agreement": min(r["state_agreement_per_layer"]),
                "decision_agreement": r["decision_agreement"]}
    out: dict = {key: {"target": goal, "measured": measured[key],
                       "shortfall": round(max(goal - measured[key], 0.0), 5)}
                 for key, goal in TARGETS.items()}
    out["met"] = all(v["shortfall"] == 0 for v in out.values())
    return out


@dataclass(frozen=True)
class Sample:
    """A named sample of utterances spoken offline: the generator seed, and the voices.

    Attributes:
        seed: Seed of the generator (the words' speed, pitch, level, shift and noise).
        voices: ``(split_seed, split)`` of :func:`~bmru_pdk.model.synth.generate`, or ``None``
            for every voice.
    """

    seed: int
    voices: tuple[int, str] | None


# "tuning": the sample the characterisation grids, the frame length and the calibration
# levels were chosen on (seed 2 served as a development check too). "heldout": a seed used
# for no decision, spoken only by the voices of the training data's test split (kws-data
# seed 0), so no voice was heard in training: the headline figures come from it.
SAMPLES = {"tuning": Sample(1, None), "heldout": Sample(7, (0, "test"))}


def load_utterances(
    checkpoint: str | os.PathLike[str], data: str | os.PathLike[str] | None, n: int,
    sample: str = "heldout", seed: int | None = None,
) -> list[Utterance]:
    """``n`` utterances as the checkpoint's input currents, evenly spread over the clips.

    Args:
        checkpoint: The checkpoint (its input encoding and task).
        data: A dataset in the Speech Commands layout (its test split); ``None`` speaks the
            named ``sample`` (:data:`SAMPLES`) with the offline generator.
        n: Number of utterances.
        sample: Name of the offline sample when ``data`` is ``None``.
        seed: Another generator seed for the sample's voices (``None``: the sample's own).
    """
    import tempfile

    from bmru_pdk.model.checkpoint import read_checkpoint
    from bmru_pdk.model.data import SPLITS, get_task, load_split
    from bmru_pdk.model.features import to_currents

    if n < 1:
        raise BmruError(f"--n must be at least 1, got {n}")
    if sample not in SAMPLES:
        raise BmruError(f"unknown sample {sample!r}; choose {' or '.join(SAMPLES)}")
    meta, _ = read_checkpoint(checkpoint)
    task = get_task(meta.training.task if meta.training else "binary")
    if data is None:
        from bmru_pdk.model.synth import generate

        spec = SAMPLES[sample]
        seed = spec.seed if seed is None else seed
        with tempfile.TemporaryDirectory() as tmp:
            words = tuple(w for w in task.words if w != "silence")
            root = generate(Path(tmp) / "data", words, per_word=-(-n // len(words)) + 1,
                            seed=seed, voices=spec.voices)
            # restricted voices all land in their own split
            names = SPLITS if spec.voices is None else (spec.voices[1],)
            splits = [load_split(root, task, s, seed) for s in names]
    else:
        splits = [load_split(data, task, "test")]
    feats = np.concatenate([s.features for s in splits])
    labels = np.concatenate([s.labels for s in splits])
    sources = [src for s in splits for src in s.sources]
    pick = np.unique(np.linspace(0, len(labels) - 1, min(n, len(labels))).round().astype(int))
    x = to_currents(feats[pick], meta.input)
    return [Utterance(sources[k], int(labels[k]), x[i]) for i, k in enumerate(pick)]


def _summary(checkpoint: str | os.PathLike[str], tile: str, devices: dict[str, int],
             frame_s: float, per: list[dict], failed: list[dict]) -> dict:
    n = len(per)
    out: dict = {"checkpoint": Path(checkpoint).name, "tile": tile, "devices": devices,
                 "frame_s": frame_s, "utterances": n, "failed": failed}
    if not per:
        return out
    power = [p["power_nw"] for p in per]
    out["sim_s_per_utterance"] = round(float(np.mean([p["sim_s"] for p in per])), 2)
    for ref in REFERENCES:
        agree = np.array([p[ref]["state_agreement"] for p in per])
        frames = np.array([p["frames"] for p in per])[:, None]
        same = int(sum(p[ref]["decision"] == p["decision_hw"] for p in per))
        out[ref] = {
            "state_agreement_per_layer": [round(float(a), 5) for a in
                                          (agree * frames).sum(0) / frames.sum()],
            "ci95": {"state_agreement_per_layer": [
                         list(bootstrap_ratio(agree[:, layer] * frames[:, 0], frames[:, 0]))
                         for layer in range(agree.shape[1])],
                     "decision_agreement": list(wilson(same, n))},
            "output_mae_na": round(float(np.mean([p[ref]["output_mae_na"] for p in per])), 4),
            "candidate_mae_na_per_layer": [round(float(e), 4) for e in np.mean(
                [p[ref]["candidate_mae_na"] for p in per], 0)],
            "decision_agreement": round(float(np.mean(
                [p[ref]["decision"] == p["decision_hw"] for p in per])), 4),
            "decisions_agreeing": int(sum(p[ref]["decision"] == p["decision_hw"] for p in per)),
            "model_accuracy": round(float(np.mean([p[ref]["decision"] == p["label"]
                                                   for p in per])), 4),
        }
    out["hardware_accuracy"] = round(float(np.mean([p["decision_hw"] == p["label"]
                                                    for p in per])), 4)
    # the trivial baseline beside every accuracy: always answering the sample's commonest class
    out["baseline_accuracy"] = round(float(np.bincount([p["label"] for p in per]).max() / n), 4)
    worst = sorted(range(n), key=lambda k: (min(per[k]["ideal"]["state_agreement"]),
                                            -per[k]["ideal"]["output_mae_na"]))
    out["worst"] = [{"index": per[k]["index"], "name": per[k]["name"],
                     "state_agreement": per[k]["ideal"]["state_agreement"],
                     "decision_hw": per[k]["decision_hw"],
                     "decision_model": per[k]["ideal"]["decision"]} for k in worst[:_WORST]]
    out["power_nw"] = {"mean": round(float(np.mean(power)), 3),
                       "min": round(float(np.min(power)), 3), "max": round(float(np.max(power)), 3),
                       "by_part": {part: round(float(np.mean([p["power_by_part_nw"][part]
                                                              for p in per])), 3)
                                   for part in per[0]["power_by_part_nw"]}}
    out["per_utterance"] = per
    return out
