"""Post-layout simulation against the software model: state bits, output currents, decisions,
supply power.

The tile of a checkpoint is built and extracted; each utterance's input currents drive the
extracted netlist in ngspice (:mod:`~bmru_pdk.analyses.simulation`), one frame per
``frame_s``, after reset frames of zero input (one per layer and one more,
:func:`~bmru_pdk.analyses.simulation.reset_frames`) from the realised model's rest
(:func:`~bmru_pdk.analyses.simulation.rest_states`). At the end of each frame every unit's
state is read at its cell's decision node and the class scores as the currents of the output
rails. The torch model runs on the same frames with two parameter sets: the checkpoint's
(``ideal``) and the values the layout realises (``realised``, the mapping's last column).
Simulated away from the typical corner at 27 °C and 1.8 V, the model also runs the values
the same drawing realises at that condition (``condition_twin``: the mapping evaluated with
tables characterised there).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.analyses import testbench as tb
from bmru_pdk.analyses.agreement import CONDITION_TWIN, HELD_TO, CompareResult, summarise
from bmru_pdk.analyses.plots import plot_utterance
from bmru_pdk.analyses.simulation import (
    Extracted,
    SimFailure,
    candidate_error,
    cell_candidates,
    extract_tile,
    majority_vote,
    model_utterance,
    realised_parameters,
    rest_states,
    sim_tile,
    try_simulate_utterance,
)
from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES
from bmru_pdk.errors import BmruError
from bmru_pdk.executor import Executor
from bmru_pdk.fileio import output_dir

if TYPE_CHECKING:
    from bmru_pdk.circuits.characterize import Tables
    from bmru_pdk.layouts.tile import TileBuild
    from bmru_pdk.model.checkpoint import Checkpoint
    from bmru_pdk.model.samples import Utterance
    from bmru_pdk.verification.extract import ExtractResult
    from bmru_pdk.verification.pex import PexResult

# The published work's figures: 99 % of state bits (every layer), 98 % of class decisions.
TARGETS = {"state_agreement": 0.99, "decision_agreement": 0.98}


class CompareFailures(BmruError):
    """Some simulations of a compare failed; the others' figures were written."""


def compare(
    checkpoint: str | os.PathLike[str] | Checkpoint,
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
    tables: Tables | None = None,
    source_rail: bool = False,
) -> CompareResult:
    """The ``bmru compare`` job: simulate the extracted tile of ``checkpoint`` on
    ``utterances`` and compare with the model.

    Writes into ``outdir`` (whole or not at all): the tile's files (``tile/``), what
    :func:`extract_tile` and :func:`compare_extracted` write.

    Args:
        checkpoint: The checkpoint (a path is read once).
        utterances: Input sequences.
        outdir: Folder to write.
        frame_s: Frame period of the simulation, s (:data:`testbench.FRAME_S` by default).
        progress: Called with (0, total) when the simulations start, then (done, total)
            after each.
        executor: Where the simulations run (:mod:`~bmru_pdk.executor`);
            ``None`` runs them one after the other in this process.
        force: Write beside files the tool did not write (never removing them).
        max_devices: Largest tile to build, in transistors.
        sample: Name of the utterances' sample, recorded in the figures.
        condition: Corner, temperature and supply of the simulations.
        pex: Simulate the netlist with parasitic capacitances (KLayout-PEX) for the
            headline figures, and the device-only netlist beside it.
        tables: Characterisation tables to map with (``None``: the package's).
        source_rail: Draw the NMOS source rail (pin ``vsn``); the simulations hold it at
            the condition's rail voltage, or the tile draws the condition's rail generator.

    Returns:
        The figures (stable keys), also written to ``compare.json``.
    """
    from bmru_pdk.layouts.tile import build_tile, write_tile
    from bmru_pdk.model.checkpoint import open_checkpoint

    checkpoint = open_checkpoint(checkpoint)
    with output_dir(outdir, force=force) as tmp:
        build = write_tile(build_tile(checkpoint, tables, max_devices, source_rail=source_rail,
                                      rail_generator=condition.rail_generator), tmp / "tile")
        x = extract_tile(build, tmp, pex)
        return compare_extracted(build, x, utterances, tmp, frame_s=frame_s, progress=progress,
                                 executor=executor, sample=sample, condition=condition,
                                 condition_tables=condition_tables(build.tables, condition),
                                 nominal_tables=nominal_tables(build.tables, condition))


def _characterised(tables: Tables, condition: tb.Condition) -> Tables:
    """Tables of ``tables``' unit device at ``condition``, measured as ``tables`` were (cell
    thresholds on the ramp or in frames), with ``tables``' mismatch sigma (the typical
    corner's at every condition: the models here do not use it)."""
    from bmru_pdk.circuits.characterize import characterize

    return characterize(unit=tables.unit, corner=condition.corner, temp_c=condition.temp_c,
                        vdd_v=condition.vdd_v, rail_v=condition.rail_v,
                        mismatch_sigma=tables.mismatch_sigma, frame_ms=tables.frame_ms)


def condition_tables(tables: Tables, condition: tb.Condition) -> Tables | None:
    """The tables of ``tables``' unit device characterised at ``condition``; ``None`` at
    typical 27 °C 1.8 V, where the nominal model (:func:`nominal_tables`) is the twin."""
    return None if condition == condition.nominal else _characterised(tables, condition)


def nominal_tables(tables: Tables, condition: tb.Condition) -> Tables:
    """The tables of the model a designer is given for ``condition``: ``tables`` (typical
    27 °C 1.8 V), characterised again on the NMOS source rail of the condition's nominal if
    they were not made on it."""
    if tables.source_rail_v == condition.nominal.rail_v:
        return tables
    return _characterised(tables, condition.nominal)


def compare_extracted(
    build: TileBuild,
    extracted: Extracted,
    utterances: list[Utterance],
    outdir: Path,
    **options: object,
) -> CompareResult:
    """:func:`compare_tile` on the netlist with parasitics for the headline figures and on
    the device-only netlist (written to ``outdir/device-only``) beside them, under
    ``device_only``; on the device-only netlist alone when there are no parasitics.

    Args:
        build: The tile.
        extracted: Its netlists.
        utterances: Input sequences.
        outdir: An existing folder to write into.
        **options: Keyword arguments of :func:`compare_tile` (``progress`` sees both runs
            as one: 2 x the utterances).
    """
    if extracted.pex is None:
        return compare_tile(build, extracted.devices, utterances, outdir, **options)
    progress = options.pop("progress", None)
    n = len(utterances)

    def shifted(offset: int) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda k, total: progress(offset + k, 2 * total)  # type: ignore[operator]

    (outdir / "device-only").mkdir()
    devices = compare_tile(build, extracted.devices, utterances, outdir / "device-only",
                           progress=shifted(0), **options)
    figures = compare_tile(build, extracted.devices, utterances, outdir, pex=extracted.pex,
                           progress=shifted(n), **options)
    figures["device_only"] = {k: devices[k] for k in (
        "netlist", "utterances", "failed", "ideal", "realised", CONDITION_TWIN,
        "hardware_accuracy", "power_nw") if k in devices}
    (outdir / "compare.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def compare_tile(
    build: TileBuild,
    extracted: ExtractResult,
    utterances: list[Utterance],
    outdir: Path,
    frame_s: float = tb.FRAME_S,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    sample: str | None = None,
    condition: tb.Condition = tb.NOMINAL,
    pex: PexResult | None = None,
    condition_tables: Tables | None = None,
    nominal_tables: Tables | None = None,
) -> CompareResult:
    """Simulate ``extracted`` (the netlist of ``build``) on ``utterances`` and compare with the
    model; writes ``compare.json`` and one ``<index>.png`` per utterance into the existing
    folder ``outdir``; ``sample`` names the utterances' sample and ``condition`` the corner,
    temperature, supply and NMOS source rail the tile is simulated at; with ``pex`` the
    parasitic capacitances join the extracted devices; with ``condition_tables`` (the tables
    at ``condition``) the model also runs the values the tile realises there. The nominal
    model (``realised``) runs the values the drawing realises under ``nominal_tables``
    (default the tile's own).
    """
    import torch

    if not utterances:
        raise BmruError("compare needs at least one utterance")
    model = build.checkpoint.model()
    sim = sim_tile(build, extracted, pex=pex)
    mapping = build.mapping
    if nominal_tables is not None and nominal_tables is not build.tables:
        mapping = build.mapping_at(nominal_tables)
    with torch.no_grad():
        refs = {"ideal": model.effective_parameters(),
                "realised": realised_parameters(model, mapping)}
        if condition_tables is not None:
            refs[CONDITION_TWIN] = realised_parameters(model, build.mapping_at(condition_tables))
        s0 = rest_states(model, refs["realised"])
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
        if hw.rail_v is not None:
            entry["rail_v"] = round(hw.rail_v, 4)
        candidates = cell_candidates(hw, build.tables)
        for ref, params in refs.items():
            states, scores = model_utterance(model, params, u.x_na)
            if ref == HELD_TO:
                plot_utterance(outdir / f"{k:03d}.png", u, hw, states, scores,
                               model.meta.classes)
            entry[ref] = {
                "state_agreement": [float((a == b).mean())
                                    for a, b in zip(hw.states, states, strict=True)],
                "output_mae_na": float(np.abs(hw.scores - scores).mean()),
                "candidate_mae_na": candidate_error(params, candidates, hw.states, u.x_na,
                                                    model.meta.architecture.held),
                "decision": majority_vote(scores),
            }
        per.append(entry)
    netlist = "devices" if pex is None else (
        f"devices and {len(pex.capacitors)} parasitic capacitors "
        f"({pex.total_f * 1e15:.0f} fF, KLayout-PEX {pex.kpex_version})")
    figures: CompareResult = {"sample": sample, "condition": condition.name, "netlist": netlist,
               "i_unit_na": build.tables.i_unit_na,
               **summarise(build.checkpoint.name, build.name, extracted.devices, frame_s, per,
                          failed)}
    (outdir / "compare.json").write_text(json.dumps(figures, indent=2) + "\n")
    return figures


def raise_failures(figures: CompareResult) -> None:
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


def target_check(figures: CompareResult, ref: str = HELD_TO) -> dict:
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
