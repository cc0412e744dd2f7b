"""Where the post-layout compare's remaining disagreements come from (docs/compare.md).

For each utterance of the tuning sample (this diagnostic guides design choices, so it
never runs on the held-out or sealed samples), the bundled tile is simulated as ``bmru
compare`` does and every onset of a disagreement (the first frame of a run of frames where a
unit's state differs from the model's, realised parameters) is classified against the
candidate computed from the inputs the hardware layer saw:

- layer 0: a *knife edge* when the candidate is within 1 % of the current sourced into the
  summing node of a threshold, hardware above or below the model;
- layer 1: *inherited* when the hardware-fed candidate explains the hardware's new state
  (the static update from its previous state); otherwise a *knife edge* when that candidate
  is within 1 % of the current sourced into the summing node of a threshold (a value a
  little off in the tile flips it, and the cell holds the flip), *dynamic* when it is not
  (switching transients, settling across the cascade); each dynamic onset is also counted
  by how many layer-0 units switched into its frame (0, 1, 2 or more), beside every frame
  counted the same way (how often each happens at all), and by the candidate the cell
  was sensed to receive (its ReLU copy's current at the frame's end, the copy gain divided
  out): ``sensed explains it`` when the static update from that candidate gives the
  hardware's state (the candidate was formed off: crossbar, mirrors, the layer below's
  outputs), ``cell did not follow`` when it does not (the cell's own switching, its
  thresholds in the tile).

Also: the hardware's signed candidate error per layer-0 unit near its thresholds, and a
bare cell's output overshoot at switch-on (alpha = 2 nA, step to 3 nA).

With ``--corner/--temp/--vdd`` the tile is simulated at that condition and held to its
condition's twin (the values its drawing realises there, from tables characterised there),
so what is left is what no table sees; with ``--model-tables`` held to the model of the
values its drawing realises under other tables of the same cells (the cells' thresholds met
within a frame, ``bmru characterize --frame-thresholds``); with ``--pex`` on the netlist
with parasitic capacitances; with ``--checkpoint/--tables`` another network (``--out``
names the file; tables of a unit with keepers, ``bmru characterize --keepers``, draw every
cell with the keeper of its output switch's tail node, which removes the overshoot); with
``--draw-rail [--rail-generator]`` the tile as ``make run`` draws it; with
``--reset-frames N`` each utterance after N frames of zero input instead of the testbench's
(``simulation.reset_frames``: one per layer and one more); with ``--gear`` with Gear
integration, as a held network's tile always runs.

Each utterance's state agreement per layer is kept too (``per_utterance``, with its onsets by
kind and each layer's first disagreeing frame), so a screen can tell which clips (a flat
noise clip, say) hold the disagreements and whether they part at the first frame;
``--only`` runs the named ones of the ``--n`` utterances (those ``bench_fragility.py`` finds
fragile, say).

    python benchmarks/bench_compare_errors.py [--n 50] [--workers 2] [--corner C --temp T
        --vdd V] [--pex] [--model-tables DIR] [--checkpoint CKPT] [--tables DIR]
        [--draw-rail [--rail-generator]] [--reset-frames N] [--gear] [--only NAME ...]
        [--out NAME.json]

Writes ``benchmarks/results/compare_errors.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from functools import partial
from pathlib import Path

import numpy as np
import provenance
import torch

import bmru_pdk
from bmru_pdk.analyses import compare, simulation
from bmru_pdk.analyses.testbench import FRAME_S, Condition, generated_rail
from bmru_pdk.circuits import builders, mapping
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.executor import make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.layouts.tile import build_tile, write_tile
from bmru_pdk.model import samples
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import load_checkpoint, open_checkpoint

RESULTS = Path(__file__).resolve().parent / "results"
KNIFE = 0.01  # of the sourced current


def onsets(hw: np.ndarray, model: np.ndarray) -> list[tuple[int, int]]:
    """(frame, unit) where a run of disagreeing frames starts."""
    bad = hw != model
    prev = np.vstack([np.zeros((1, bad.shape[1]), bool), bad[:-1]])
    return [(int(t), int(j)) for t, j in zip(*np.nonzero(bad & ~prev), strict=True)]


def first_disagreements(hw: list[np.ndarray], model: list[np.ndarray]) -> list[int | None]:
    """Per layer, the first frame where a unit's state differs from the model's (``None``:
    none does)."""
    return [int(np.argmax(bad.any(1))) if bad.any() else None
            for bad in (h != m for h, m in zip(hw, model, strict=True))]


def layer0_switches(run: simulation.HardwareRun, rest: list[np.ndarray]) -> np.ndarray:
    """Per frame, ``"0"``, ``"1"`` or ``"2+"``: how many layer-0 units switched into it
    (from the states at ``rest`` before the first)."""
    switched = (run.states[0] != np.vstack([rest[0][None], run.states[0][:-1]])).sum(1)
    return np.array(("0", "1", "2+"))[np.minimum(switched, 2)]


def static_update(c: np.ndarray, prev: np.ndarray, lo: np.ndarray,
                  hi: np.ndarray) -> np.ndarray:
    """The cell's state after a frame whose candidate is ``c``, from state ``prev``."""
    return np.where(c >= hi, 1.0, np.where(c >= lo, prev, 0.0))


def classify(params: list[dict], run: simulation.HardwareRun, model_states: list[np.ndarray],
             x_na: np.ndarray, rest: list[np.ndarray], sensed: list[np.ndarray],
             held: bool = False) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Counts of each kind of onset in one utterance, and of layer 1's dynamic onsets by
    how many layer-0 units switched into their frame (:func:`layer0_switches`) and by what
    the hardware did (``held``: kept its state where the static update switches it,
    ``switched`` the other way round), and by whether layer 0's states of the frame before
    explain it (``late input``: the cell still saw the outputs layer 0 had before it
    switched), how many frames the disagreement lasts (``lasts 1`` / ``lasts 2+``) and
    whether the ``sensed`` candidates (:func:`simulation.cell_candidates`) explain it, and
    whether a layer-0 unit feeding it through a negative weight switched on into the frame
    (``negative input on``: a switching-on cell's output overshoots, so the candidate dips
    for a moment, and a bistable cell keeps a dip that crossed beta_lo). A
    ``held`` network's layer 1 sees layer 0's states of the frame before
    (:func:`simulation.passed_on`)."""
    counts: dict[str, int] = {}
    by_switches: dict[str, int] = {}
    dynamic: dict[str, int] = {}
    # none switched rules out layer 0's switching (an overshoot, a race of two) as the cause
    switched = layer0_switches(run, rest)
    turned_on = np.diff(np.vstack([rest[0][None], run.states[0]]), axis=0) > 0
    h, h0 = x_na, np.zeros(x_na.shape[1])  # the layer's inputs, and before the first frame
    for layer, (p, s_hw, s_m) in enumerate(zip(params[:-1], run.states, model_states,
                                               strict=True)):
        w, b = p["weight"].numpy(), p["bias"].numpy()
        lo, hi = p["beta_lo"].numpy(), p["beta_hi"].numpy()
        c = np.maximum(h @ w.T + b, 0)
        src = h @ np.clip(w, 0, None).T + np.clip(b, 0, None)
        prev = np.vstack([rest[layer][None], s_hw[:-1]])
        static = static_update(c, prev, lo, hi)
        formed = static_update(sensed[layer], prev, lo, hi)
        if layer:
            # the update from the inputs of the frame before (layer 0 had not switched yet)
            h_before = np.vstack([h0[None], h[:-1]])
            late = static_update(np.maximum(h_before @ w.T + b, 0), prev, lo, hi)
        # how close each candidate is to a threshold, of the current sourced into the node
        near = np.minimum(abs(c - hi), abs(c - lo)) / np.maximum(src, 1e-9)
        for t, j in onsets(s_hw, s_m):
            if layer == 0:
                kind = ("knife edge" if near[t, j] < KNIFE else "far from a threshold") + (
                    ", hardware high" if s_hw[t, j] else ", hardware low")
            else:
                kind = "inherited" if static[t, j] == s_hw[t, j] else (
                    "knife edge" if near[t, j] < KNIFE else "dynamic") + (
                    ", hardware high" if s_hw[t, j] else ", hardware low")
            key = f"layer {layer}: {kind}"
            counts[key] = counts.get(key, 0) + 1
            if layer and kind.startswith("dynamic"):
                run_end = t + int(np.argmin(np.append(s_hw[t:, j] != s_m[t:, j], False)))
                by_switches[str(switched[t])] = by_switches.get(str(switched[t]), 0) + 1
                for part in ("held" if s_hw[t, j] == prev[t, j] else "switched",
                             "late input" if late[t, j] == s_hw[t, j] else "not late input",
                             "lasts 1" if run_end - t == 1 else "lasts 2+",
                             "sensed explains it" if formed[t, j] == s_hw[t, j]
                             else "cell did not follow",
                             "negative input on" if (turned_on[t] & (w[j] < 0)).any()
                             else "no negative input on"):
                    dynamic[part] = dynamic.get(part, 0) + 1
        h0 = rest[layer] * p["alpha"].numpy()
        h = simulation.passed_on(s_hw, p["alpha"].numpy(), held, rest[layer])
    return counts, by_switches, dynamic


def candidate_offsets(params: list[dict], runs: list[simulation.HardwareRun],
                      x: list[np.ndarray], tables: ch.Tables) -> list[float]:
    """Mean signed hardware - model candidate (nA) per layer-0 unit, over the frames whose
    candidate is near the unit's thresholds (0.5 beta_lo .. 1.5 beta_hi); the hardware's
    read through the ReLU copy gain of the ``tables`` it was drawn and run with."""
    p = params[0]
    w, b = p["weight"].numpy(), p["bias"].numpy()
    lo, hi = p["beta_lo"].numpy(), p["beta_hi"].numpy()
    c_model = np.concatenate([np.maximum(xi @ w.T + b, 0) for xi in x])
    c_hw = np.concatenate([simulation.cell_candidates(r, tables)[0] for r in runs])
    near = (c_model > 0.5 * lo) & (c_model < 1.5 * hi)
    return [round(float((c_hw - c_model)[near[:, j], j].mean()), 4) for j in range(len(lo))]


def held_to(tables: ch.Tables) -> str:
    """What a model run with ``tables`` (``--model-tables``) is, as the results file says."""
    if tables.frame_ms:
        return f"model of the cell thresholds met within a {tables.frame_ms:g} ms frame"
    return "model of other tables"


def cell_overshoot(tables: ch.Tables, condition: Condition) -> dict[str, float]:
    """A bare cell (alpha 2, beta_lo 1.2, delta 0.8 nA) drawn with ``tables`` (with its
    unit's keeper): its output's peak and settled value after its input steps from 0 to
    3 nA, at ``condition``."""
    cell = builders.bmru_cell(mapping.cell_params(2.0, 1.2, 0.8, tables=tables).model_copy(
        update={"unit": tables.unit, "keeper": tables.unit.keepers}))
    peak, settled = ch.measure_switch_on(cell, corner=condition.corner,
                                         temp_c=condition.temp_c, vdd_v=condition.vdd_v,
                                         unit=tables.unit)
    return {"peak_na": round(peak, 3), "settled_na": round(settled, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="utterances")
    parser.add_argument("--workers", type=int, default=None, help="local simulation workers")
    parser.add_argument("--corner", default="typical", help="process corner")
    parser.add_argument("--temp", type=float, default=27.0, help="temperature, °C")
    parser.add_argument("--vdd", type=float, default=1.8, help="supply, V")
    parser.add_argument("--pex", action="store_true", help="with parasitic capacitances")
    parser.add_argument("--model-tables", default=None,
                        help="hold the tile to the model of the values its drawing realises "
                             "under these tables (another measurement of the same cells)")
    parser.add_argument("--reset-frames", type=int, default=None,
                        help="frames of zero input before each utterance (default: the "
                             "testbench's, one per layer and one more)")
    parser.add_argument("--gear", action="store_true",
                        help="Gear integration, as a held tile always runs")
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME",
                        help="of the --n utterances, run these (named as the results name "
                             "them; bench_fragility.py names the fragile ones)")
    parser.add_argument("--out", type=provenance.results_name, default="compare_errors.json",
                        help="results file name (in benchmarks/results)")
    provenance.network_options(parser)
    provenance.rail_options(parser)
    args = parser.parse_args()
    if args.reset_frames is not None and args.reset_frames < 1:
        parser.error("--reset-frames is at least 1")
    if args.rail_generator and not args.draw_rail:
        parser.error("--rail-generator holds the drawn rail: add --draw-rail")

    ckpt = args.checkpoint or bundled_checkpoint()
    model = load_checkpoint(ckpt)
    condition = (generated_rail(args.corner, args.temp, args.vdd) if args.rail_generator
                 else Condition(args.corner, args.temp, args.vdd))
    if args.model_tables and condition != condition.nominal:
        parser.error("--model-tables holds the tile at typical 27 °C 1.8 V: drop the condition")
    utterances = samples.load_utterances(ckpt, None, args.n, "tuning")
    if args.only:
        missing = set(args.only) - {u.name for u in utterances}
        if missing:
            parser.error(f"--only: {', '.join(sorted(missing))} not among the {args.n} "
                         "tuning utterances")
        utterances = [u for u in utterances if u.name in args.only]
    with tempfile.TemporaryDirectory() as tmp:
        bmru_pdk.PDK.activate()
        build = write_tile(build_tile(open_checkpoint(ckpt), mapping.load_tables(args.tables)
                                      if args.tables else None, source_rail=args.draw_rail,
                                      rail_generator=condition.rail_generator),
                           Path(tmp) / "tile")
        x = compare.extract_tile(build, Path(tmp), args.pex)
        sim = simulation.sim_tile(build, x.devices, pex=x.pex)
    twin = compare.condition_tables(build.tables, condition)
    if args.model_tables:
        twin = mapping.load_tables(args.model_tables)
    with torch.no_grad():
        params = simulation.realised_parameters(
            model, build.mapping if twin is None else build.mapping_at(twin))
        # where the tile starts, the states the model's reset leaves (its frames not kept)
        rest = simulation.rest_states(model, params, args.reset_frames)
    held = model.meta.architecture.held
    with make_executor(None, args.workers) as executor:
        runs = executor.map(partial(simulation.simulate_utterance, sim.netlist,
                                    sim.decision_nets, rest, frame_s=FRAME_S, senses=sim.senses,
                                    condition=condition, reset=args.reset_frames,
                                    gear=args.gear),
                            [u.x_na for u in utterances])
    read_through = build.tables if twin is None else twin  # the copy gain of the run's tables
    counts: dict[str, int] = {}
    by_switches: dict[str, int] = {}
    # recorded at zero too: a results file says it classified by the sensed candidate
    dynamic = dict.fromkeys(("sensed explains it", "cell did not follow", "negative input on",
                             "no negative input on"), 0)
    frames: dict[str, int] = {}  # every frame, by the layer-0 units that switched into it
    agree = np.zeros(len(rest))
    per_utterance = []  # which utterances the disagreements sit in (a flat clip, say)
    for u, run in zip(utterances, runs, strict=True):
        states, _ = simulation.model_utterance(model, params, u.x_na, args.reset_frames)
        mine = [float(np.mean(hw == m)) for hw, m in zip(run.states, states, strict=False)]
        agree += np.array(mine) / len(runs)
        one, switches, how = classify(params, run, states, u.x_na, rest,
                                      simulation.cell_candidates(run, read_through), held)
        per_utterance.append({"name": u.name, "label": u.label,
                              "state_agreement": [round(a, 5) for a in mine],
                              "first_disagreement": first_disagreements(run.states, states),
                              "onsets": dict(sorted(one.items()))})
        kinds, n = np.unique(layer0_switches(run, rest), return_counts=True)
        for total, part in ((counts, one), (by_switches, switches), (dynamic, how),
                            (frames, dict(zip(kinds.tolist(), n.tolist(), strict=True)))):
            for key, k in part.items():
                total[key] = total.get(key, 0) + k
    figures = {"command": provenance.command(), **provenance.checkpoint(ckpt),
               "sample": "tuning", "utterances": len(utterances), "frame_s": FRAME_S,
               "condition": condition.name, "held_to": "nominal model" if twin is None
               else held_to(twin) if args.model_tables else "condition twin",
               "pex": args.pex, "keeper": build.tables.unit.keepers, "drawn_rail": args.draw_rail,
               "rail_generator": args.rail_generator, "held": held,
               "integration": "gear" if held or args.gear else "trapezoidal",
               "reset_frames": args.reset_frames or simulation.reset_frames(len(rest)),
               "state_agreement": [round(float(a), 5) for a in agree],
               "power_nw": round(float(np.mean([r.power_nw for r in runs])), 3),
               "onsets": dict(sorted(counts.items())),
               "layer1_dynamic_by_layer0_switches": dict(sorted(by_switches.items())),
               "layer1_dynamic": dict(sorted(dynamic.items())),
               "frames_by_layer0_switches": dict(sorted(frames.items())),
               # read through the copy gain of the tables the tile runs at (before this was
               # recorded, through the package's one-gate tables whatever the tile's)
               "offset_copy_gain_of": "the tile's tables" if twin is None
               else "the tables it is held to",
               "layer0_candidate_offset_na": candidate_offsets(
                   params, runs, [u.x_na for u in utterances], read_through),
               "cell_switch_on": cell_overshoot(build.tables, condition),
               "per_utterance": per_utterance}
    for key, k in figures["onsets"].items():
        print(f"{key}: {k}")
    print(f"layer-1 dynamic onsets by layer-0 units switching into their frame: {by_switches} "
          f"(frames: {frames}); by what the hardware did: {figures['layer1_dynamic']}")
    print(f"state bits agreeing, per layer: {figures['state_agreement']}; simulated supply "
          f"power {figures['power_nw']} nW")
    print(f"layer-0 candidate offset near the thresholds, per unit: "
          f"{figures['layer0_candidate_offset_na']} nA")
    on = figures["cell_switch_on"]
    print(f"bare cell at switch-on: peak {on['peak_na']} nA, settled {on['settled_na']} nA")
    write_text(RESULTS / provenance.results_name(args.out), json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
