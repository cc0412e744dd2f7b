"""The simulation kernel: an extracted tile in ngspice on frame-wise inputs, and the torch
model on the same frames.

Everything that simulates a tile against its model (the compare, Monte Carlo, the per-die
twin, the benchmarks) uses these steps: :func:`sim_tile` prepares an extracted tile for the
testbench (a supply per part, a sense source on each cell input, each decision node found
by pairing with the schematic), :func:`simulate_utterance` runs one utterance,
:func:`model_utterance` runs the model on the same frames with a parameter set (the
checkpoint's or the realised one, :func:`realised_parameters`). Both start with the same
:func:`reset_frames` of zero input, which they drop.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.analyses import testbench as tb
from bmru_pdk.analyses.power import part_of, split_tile
from bmru_pdk.circuits import names
from bmru_pdk.circuits.characterize import frame_ends
from bmru_pdk.model.schema import reset_frames
from bmru_pdk.spice import SOURCE_RAIL

if TYPE_CHECKING:
    from bmru_pdk.circuits import RailGeneratorParams
    from bmru_pdk.circuits.characterize import Tables
    from bmru_pdk.layouts.tile import TileBuild
    from bmru_pdk.model.checkpoint import Checkpoint
    from bmru_pdk.verification.extract import ExtractResult
    from bmru_pdk.verification.pex import PexResult

# Checkpoint tensor name -> key of BMRUNet.effective_parameters
_KEYS = {"W": "weight", "b": "bias", "beta1": "beta_lo", "delta": "delta", "alpha": "alpha"}


@dataclass(frozen=True)
class HardwareRun:
    """What one simulation gave, sampled once per frame (reset frames dropped); supply power
    as the time average after the reset frames, total and by part (when the tile's supply is
    split: :mod:`~bmru_pdk.analyses.power`)."""

    states: list[np.ndarray]
    scores: np.ndarray
    power_nw: float
    seconds: float
    power_by_part_nw: dict[str, float]
    # per layer (frames, d): each cell's input current, nA (when the tile senses it)
    cell_inputs_na: list[np.ndarray] = field(default_factory=list)
    # the drawn NMOS source rail's mean voltage after the reset frames, V (a tile with pin vsn)
    rail_v: float | None = None


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
        p = names.parse_parameter(row["parameter"])
        params[-1 if p.layer is None else p.layer][_KEYS[p.tensor]][p.index] = float(
            row["realised"])
    for p in params[:-1]:
        p["beta_hi"] = p["beta_lo"] + p["delta"]
    return params


def with_reset(x_na: np.ndarray, layers: int, reset: int | None = None) -> np.ndarray:
    """``x_na`` (frames, n_in) after ``reset`` (default :func:`reset_frames`) frames of zero
    input."""
    reset = reset_frames(layers) if reset is None else reset
    return np.vstack([np.zeros((reset, x_na.shape[1])), x_na])


def model_run(model, params: list[dict], x_na: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:  # noqa: ANN001
    """States per layer (frames, d) and scores (frames, n_classes) of the torch model."""
    import torch

    with torch.no_grad():
        y, states = model(torch.from_numpy(x_na[None].astype(np.float32)), params=params,
                          return_states=True)
    return [s[0].numpy() for s in states], y[0].numpy()


def recurrent_layers(params: list[dict]) -> int:
    """The recurrent layers of a model's parameter sets: all but the last, the readout's."""
    return len(params) - 1


def model_utterance(model, params: list[dict], x_na: np.ndarray,  # noqa: ANN001
                    reset: int | None = None) -> tuple[list[np.ndarray], np.ndarray]:
    """:func:`model_run` on ``x_na`` as :func:`simulate_utterance` runs it: after ``reset``
    (default :func:`reset_frames`) frames of zero input, which are dropped."""
    x = with_reset(x_na, recurrent_layers(params), reset)
    states, scores = model_run(model, params, x)
    r = len(x) - len(x_na)
    return [s[r:] for s in states], scores[r:]


def rest_states(model, params: list[dict],  # noqa: ANN001
                reset: int | None = None) -> list[np.ndarray]:
    """Per layer, the states (d,) the model's reset leaves: its states after ``reset``
    (default :func:`reset_frames`) frames of zero input from its initial states.

    The tile starts there (:func:`simulate_utterance`'s ``s0``), so its reset has nothing
    to switch. Started at the model's initial states instead, a cell whose rest lies in its
    hold band kept whichever state a race left it in: the model switches every layer in the
    same frame, the tile's layers in turn, and a layer above saw the initial states below
    for part of a frame (docs/compare.md, "The rest"). The model's own states after its
    reset, and so every state and decision over an utterance, are the same either way.
    """
    import torch

    with torch.no_grad():
        _, states, _, _ = model.rest_trace(params, reset)
    return [s[0, -1].numpy() for s in states]


def initial_voltages(tile: tb.TileNetlist, decision_nets: list[list[str]],
                     s0: list[np.ndarray], condition: tb.Condition) -> dict[str, float]:
    """The ``.ic`` of a run: each decision node at its state in ``s0`` (the model's rest,
    :func:`rest_states`), OFF on its NMOS sources' rail, ON at VDD, and a held layer's
    sampled states where its decision nodes start.

    Started below the rail (at ground, where the rail is lifted), every node jumps to the
    rail at once and the cells decide again from there, those in their hold band by race
    (benchmarks/bench_reset.py, fast NMOS at 125 °C).
    """
    low, vdd = condition.rail_v, condition.vdd_v
    return {net: low + (vdd - low) * float(s)
            for layers in (decision_nets, tile.held_nets)
            for nets, states in zip(layers, s0, strict=False)
            for net, s in zip(nets, states, strict=True)}


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
    reset: int | None = None,
    gear: bool = False,
) -> HardwareRun:
    """Simulate one utterance on ``tile`` after :func:`reset_frames` of zero input.

    Args:
        tile: The tile netlist.
        decision_nets: Per layer, each unit's decision-node net in ``tile``.
        s0: Per layer, the states the decision nodes start at (``.ic``): the model's rest
            (:func:`rest_states`).
        x_na: (frames, n_in) input currents, nA.
        frame_s: Frame period, s.
        mismatch: The models' statistical mismatch on (one Monte Carlo sample of the tile).
        seed: ngspice's random seed: the same seed draws the same sample.
        senses: Per layer, each unit's sense source on its ReLU copy (:func:`sense_cells`).
        condition: Corner, temperature and supply of the run.
        reset: Frames of zero input before the utterance (default :func:`reset_frames`).
        gear: Gear integration (:func:`~bmru_pdk.analyses.testbench.deck`).
    """
    from bmru_pdk.analyses.power import supply_power_nw
    from bmru_pdk.spice import simulate

    x = with_reset(x_na, len(decision_nets), reset)
    n, reset = len(x), len(x) - len(x_na)
    rail = SOURCE_RAIL in tile.pins
    probes = [net for layer in decision_nets for net in layer] + ([SOURCE_RAIL] if rail else [])
    vdd = condition.vdd_v
    initial = initial_voltages(tile, decision_nets, s0, condition)
    start = time.perf_counter()
    r = simulate(tb.deck(tile, x, frame_s, probes, initial, condition, gear=gear),
                 mismatch=mismatch,
                 seed=seed, corner=condition.corner,
                 # a drawn rail is the deck's pin; otherwise every NMOS source is moved onto it
                 source_rail_v=0.0 if rail else condition.rail_v)
    seconds = time.perf_counter() - start
    t = r["time"]

    def sampled(name: str) -> np.ndarray:
        return frame_ends(t, r[name], frame_s, n)[reset:]

    states = [np.stack([sampled(f"v({net})") > vdd / 2 for net in layer], -1)
              .astype(np.float32) for layer in decision_nets]
    outputs = sorted((p for p in tile.pins if names.pin_index(p, "y") is not None),
                     key=lambda p: names.pin_index(p, "y"))
    # currents back in software units; power stays in real nW
    unit = tile.unit_amps
    scores = np.stack([sampled(f"i(v{y})") / unit for y in outputs], -1)
    inputs = [np.stack([sampled(f"i(v{s})") / unit for s in layer], -1) for layer in senses or []]
    power, by_part = supply_power_nw(tile, r, start=reset * frame_s, vdd_v=vdd)
    rail_v = tb.average(t, r[f"v({SOURCE_RAIL})"], start=reset * frame_s) if rail else None
    return HardwareRun(states, scores, power, seconds, by_part, inputs, rail_v)


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


@dataclass(frozen=True)
class SimTile:
    """An extracted tile ready for :func:`simulate_utterance`: a supply per part, a sense
    source on each unit's cell input, and each unit's decision-node net (per layer)."""

    netlist: tb.TileNetlist
    decision_nets: list[list[str]]
    senses: list[list[str]]


def sim_tile(build: TileBuild, extracted: ExtractResult,
             classify: Callable[[str], str] = part_of, pex: PexResult | None = None) -> SimTile:
    """The testbench view of an extracted tile, its devices and nets found by pairing the
    extracted netlist with the schematic (as LVS does).

    Args:
        build: The tile (its schematic, architecture and tables).
        extracted: Its extracted device netlist.
        classify: Part of a schematic device by its flat path (:func:`power.part_of`).
        pex: Parasitic capacitances on the top subcircuit's nets, added after the pairing,
            which knows devices only.
    """
    arch = build.checkpoint.meta.architecture
    units = [(layer, j) for layer in range(arch.layers) for j in range(arch.d)]
    schematic, top, spice = build.schematic.to_spice(), build.name, extracted.spice
    found = tb.net_names(spice, schematic, [names.decision_node(*u) for u in units])
    # the ReLU copy MC of each unit: the current into its cell
    senses = {names.relu_copy(*u): names.cell_input_sense(*u) for u in units}
    cards = tb.sensed_cards(spice, schematic, tb.split_top(spice, top).body, senses)
    netlist = tb.sense_drains(split_tile(spice, schematic, top, classify), cards)
    rail_nets = None
    if build.design.rail_generator is not None:
        start = names.rail_start_nodes(build.tables.unit.cascodes)
        found_start = tb.net_names(spice, schematic, list(start.values()))
        rail_nets = {k: found_start[net] for k, net in start.items()}
    # the layers the layout holds (what is drawn, not what the model expects)
    drawn = {part.name: part.params for row in build.design.rows for part in row}
    held = [layer for layer in range(arch.layers) if drawn[names.unit(layer, 0)].cell.held]
    found_held = tb.net_names(spice, schematic, [names.held_node(layer, j) for layer in held
                                                  for j in range(arch.d)])
    netlist = dataclasses.replace(
        netlist, body=netlist.body + list(parasitic_cards(pex)), tables=build.tables,
        rail_nets=rail_nets,
        held_nets=tuple(tuple(found_held[names.held_node(layer, j)] for j in range(arch.d))
                        for layer in held))
    return SimTile(netlist,
                   [[found[names.decision_node(layer, j)] for j in range(arch.d)]
                    for layer in range(arch.layers)],
                   [[names.cell_input_sense(layer, j) for j in range(arch.d)]
                    for layer in range(arch.layers)])


@dataclass(frozen=True)
class Extracted:
    """A tile's extracted netlist, and its parasitic capacitances when asked for."""

    devices: ExtractResult
    pex: PexResult | None


def extract_tile(build: TileBuild, folder: Path, pex: bool,
                 step: Callable[[str, int], None] | None = None) -> Extracted:
    """Extract ``build``'s written GDS into ``folder``: ``extracted.spice`` (devices) and,
    with ``pex``, ``pex.spice`` (devices and parasitic capacitances, KLayout-PEX).

    Args:
        build: A tile written by :func:`~bmru_pdk.layouts.tile.write_tile`.
        folder: Where the netlists go.
        pex: Extract parasitic capacitances too.
        step: Called with (``extract`` or ``PEX``, 0) when a step starts and (step, 1) when
            it ends.
    """
    from bmru_pdk.verification import extract
    from bmru_pdk.verification import pex as parasitics

    def report(name: str, done: int) -> None:
        if step:
            step(name, done)

    assert build.outdir is not None, "extract a written tile"
    gds = build.outdir / "tile.gds"
    report("extract", 0)
    x = extract.extract(gds)
    extract.write(x, folder / "extracted.spice")
    report("extract", 1)
    p = None
    if pex:
        report("PEX", 0)
        p = parasitics.extract_pex(gds)
        parasitics.write(p, folder / "pex.spice")
        report("PEX", 1)
    return Extracted(x, p)


def extracted_tile(checkpoint: str | Path | Checkpoint, tile_dir: Path,
                   classify: Callable[[str], str] = part_of, tables: Tables | None = None,
                   source_rail: bool = False,
                   rail_generator: RailGeneratorParams | None = None
                   ) -> tuple[TileBuild, ExtractResult, SimTile]:
    """Build the tile of ``checkpoint`` into ``tile_dir``, extract it, prepare it for the
    testbench.

    Args:
        checkpoint: The checkpoint.
        tile_dir: Folder for the tile's files.
        classify: As in :func:`sim_tile`.
        tables: Characterisation tables to map with (``None``: the package's).
        source_rail: Draw the NMOS source rail (pin ``vsn``).
        rail_generator: Draw this generator of the rail in the tile.
    """
    import bmru_pdk
    from bmru_pdk.layouts.tile import tile_files
    from bmru_pdk.verification.extract import extract

    bmru_pdk.PDK.activate()
    build = tile_files(checkpoint, tile_dir, tables=tables, source_rail=source_rail,
                       rail_generator=rail_generator)
    x = extract(tile_dir / "tile.gds")
    return build, x, sim_tile(build, x, classify)


def build_record(build: TileBuild) -> dict:
    """What a results file says of the tile it simulated: its checkpoint's SHA-256 (as read),
    its name, transistors and unit current (the operating point)."""
    return {"checkpoint_sha256": build.checkpoint.sha256, "tile": build.name,
            "transistors": build.devices, "i_unit_na": build.tables.i_unit_na}


def parasitic_cards(pex: PexResult | None) -> tuple[str, ...]:
    """The extracted capacitances as ``C`` cards on the tile's own net names."""
    return () if pex is None else tuple(f"{c.name} {c.a} {c.b} {c.farads:.6g}"
                                        for c in pex.capacitors)


def cell_candidates(hw: HardwareRun, tables: Tables | None = None) -> list[np.ndarray]:
    """Each unit's candidate (nA) as the hardware formed it: the sensed current into its
    cell with the ReLU copy's characterised gain (of ``tables``) divided out."""
    from bmru_pdk.circuits.mapping import copy_gain

    gain = np.vectorize(lambda i: copy_gain(max(float(i), 1e-3), tables))
    return [c / gain(c) for c in hw.cell_inputs_na]


def passed_on(states: np.ndarray, alpha: np.ndarray, held: bool,
              before: np.ndarray | None = None) -> np.ndarray:
    """A layer's states (frames, d) as the currents the next layer sees: ``states x alpha``,
    or with ``held`` the frame before's (:func:`~bmru_pdk.model.network.held_outputs`), the
    first frame seeing the states ``before`` it (default the first frame's own)."""
    if held:
        states = np.vstack([states[:1] if before is None else before[None], states[:-1]])
    return states * alpha


def candidate_error(params: list[dict], candidates: list[np.ndarray], states: list[np.ndarray],
                    x_na: np.ndarray, held: bool = False) -> list[float]:
    """Mean absolute error (nA) per layer of the hardware's ``candidates`` against the
    model's, both from the inputs the hardware layer saw (``x_na``, then the hardware's
    ``states`` passed on, :func:`passed_on`; through a held layer, the first frame sees the
    layer below's first-frame states, for the reset's last, which the run drops): each
    layer's analog error, not its inherited state errors."""
    h, errors = x_na, []
    for p, c_hw, s_hw in zip(params, candidates, states, strict=False):
        w, b = p["weight"].numpy(), p["bias"].numpy()
        errors.append(float(np.abs(c_hw - np.maximum(h @ w.T + b, 0)).mean()))
        h = passed_on(s_hw, p["alpha"].numpy(), held)
    return errors


