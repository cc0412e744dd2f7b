"""How many frames of zero input the extracted tile takes to come to rest, at each of the
17 PVT conditions (a characterisation bench: zero input only, no utterance, no sample).

Every model run starts at the model's initial states and drops its first frames of zero
input (:func:`bmru_pdk.analyses.simulation.reset_frames`); the tile starts at the rest those
frames leave the model in, so its reset has nothing to switch. Started at the initial states
instead, the tile switched the units the model switches, but a cell whose candidate passes
its threshold by a small overdrive charges its decision node with that overdrive alone, so
it took longer, longest where the NMOS is slow and cold, and a layer above saw the initial
states below meanwhile: a cell whose rest lies in its hold band kept what that race left.

At each condition the tile is simulated on ``--frames`` frames of zero input from where
the testbench starts it, the nominal model's rest (``simulation.rest_states``), or with
``--from-initial`` from the model's initial states (the checkpoint's ``s0``), where the
testbench started it before; sampled at the end of each frame, and held to the nominal model and
to the condition's twin on the same frames. Its *frames to rest* is the fewest frames after
which its states equal the model's in every later frame of the run (none: it still differs
at the end, a rest state of its own). Each unit's candidate at the last frame's end (the
current sensed into its cell, the ReLU copy's gain divided out) is kept beside the model's
bias and thresholds, so a rest the tile and the model disagree on shows which side moved.

    python benchmarks/bench_reset.py [--frames 16] [--pex] [--workers 2] [--from-initial]
        [--checkpoint CKPT] [--tables DIR] [--draw-rail [--rail-generator]] [--out NAME]

Writes ``benchmarks/results/reset.json`` (``--out`` names another file).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
import provenance
import torch
from bench_corners import CONDITIONS

from bmru_pdk.analyses import compare, simulation
from bmru_pdk.analyses.testbench import FRAME_S, Condition, generated_rail
from bmru_pdk.circuits import RailGeneratorParams
from bmru_pdk.executor import make_executor
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint

RESULTS = Path(__file__).parent / "results"


def frames_to_rest(tile: list[np.ndarray], model: list[np.ndarray]) -> int | None:
    """The fewest frames after which ``tile``'s states (per layer, (frames, d)) equal
    ``model``'s in every later frame; ``None`` when they differ in the last."""
    differs = np.any(np.concatenate([t != m for t, m in zip(tile, model, strict=True)], -1), -1)
    if differs[-1]:
        return None
    return int(np.flatnonzero(differs)[-1]) + 1 if differs.any() else 0


def last_switch(s0: list[np.ndarray], states: list[np.ndarray]) -> list[list[int]]:
    """Per layer, per unit: the frames after which its state (from ``s0``) never changes
    again; 0 for a unit that keeps its initial state."""
    out = []
    for first, s in zip(s0, states, strict=True):
        change = np.diff(np.vstack([first[None], s]), axis=0) != 0
        out.append([int(np.flatnonzero(c)[-1]) + 1 if c.any() else 0 for c in change.T])
    return out


def _held(model, params: list[dict], run: simulation.HardwareRun,  # noqa: ANN001
          frames: int, n_in: int) -> dict:
    """The tile's run held to the model of ``params``: frames to rest, the model's rest and
    what each unit's rest state rides on (its bias, and its thresholds: at zero input a
    candidate is the bias alone in the model)."""
    states, _ = simulation.model_utterance(model, params, np.zeros((frames, n_in)), reset=0)
    # the model's own, counted from its initial states
    from_s0 = [np.vstack([p["s0"].numpy()[None], s]) for p, s in zip(params, states, strict=False)]
    return {"frames_to_rest": frames_to_rest(run.states, states),
            "model_frames_to_rest": frames_to_rest(from_s0, [s[-1:] for s in states]),
            "rest": [s[-1].astype(int).tolist() for s in states],
            "disagreeing_at_end": [np.flatnonzero(t[-1] != m[-1]).tolist()
                                   for t, m in zip(run.states, states, strict=True)],
            **{f"{key}_na": [np.round(p[key].numpy(), 4).tolist() for p in params[:-1]]
               for key in ("bias", "beta_lo", "beta_hi")}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16, help="frames of zero input")
    parser.add_argument("--pex", action="store_true", help="with parasitic capacitances")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    parser.add_argument("--from-initial", action="store_true",
                        help="start at the model's initial states, not at its rest")
    parser.add_argument("--out", type=provenance.results_name, default="reset.json",
                        help="results file name")
    provenance.network_options(parser)
    provenance.rail_options(parser)
    args = parser.parse_args()
    if args.frames < 2:
        parser.error("--frames is at least 2")
    nominal_rail = provenance.nominal_rail(parser, args)
    conditions = [generated_rail(c.corner, c.temp_c, c.vdd_v) if args.rail_generator
                  else c for c in CONDITIONS]
    ckpt = args.checkpoint or bundled_checkpoint()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        build, extracted, _ = simulation.extracted_tile(
            ckpt, Path(tmp) / "tile", tables=provenance.tables(args),
            source_rail=nominal_rail["source_rail"],
            rail_generator=RailGeneratorParams() if args.rail_generator else None)
        parasitics = None
        if args.pex:
            from bmru_pdk.verification import pex

            parasitics = pex.extract_pex(build.outdir / "tile.gds")
        sim = simulation.sim_tile(build, extracted, pex=parasitics)
    model = build.checkpoint.model()
    base = compare.nominal_tables(build.tables, conditions[0])
    with torch.no_grad():
        nominal = simulation.realised_parameters(model, build.mapping_at(base))
        s0 = ([p["s0"].numpy() for p in nominal[:-1]] if args.from_initial
              else simulation.rest_states(model, nominal))
    n_in = model.meta.architecture.n_in
    zeros = np.zeros((args.frames, n_in))
    with make_executor(None, args.workers) as ex:
        runs = ex.map(partial(_run, sim, s0, zeros), conditions)
    rows = []
    for c, run in zip(conditions, runs, strict=True):
        twin_tables = compare.condition_tables(build.tables, c)
        with torch.no_grad():
            twin = nominal if twin_tables is None else simulation.realised_parameters(
                model, build.mapping_at(twin_tables))
        # the current into each cell at the last frame's end, the ReLU copy's gain (at the
        # condition) divided out: the candidate the tile formed, beside the model's bias
        candidates = simulation.cell_candidates(run, twin_tables or base)
        rows.append({"condition": c.name, "corner": c.corner, "temp_c": c.temp_c,
                     "vdd_v": c.vdd_v, "nominal": _held(model, nominal, run, args.frames, n_in),
                     "twin": _held(model, twin, run, args.frames, n_in),
                     "tile_last_switch": last_switch(s0, run.states),
                     "tile_candidates_na": [np.round(k[-1], 4).tolist() for k in candidates],
                     # each frame's states, a layer's units as digits, layers apart
                     "tile_states": [" ".join("".join(str(int(b)) for b in s[f])
                                              for s in run.states) for f in range(args.frames)]})
        r = rows[-1]
        print(f"{c.name:>20}: frames to rest {r['nominal']['frames_to_rest']} (twin "
              f"{r['twin']['frames_to_rest']}, model {r['nominal']['model_frames_to_rest']}); "
              f"units' last switch {r['tile_last_switch']}", flush=True)
    result = {"command": provenance.command(), **provenance.checkpoint(ckpt),
              **simulation.build_record(build), "frame_s": FRAME_S, "frames": args.frames,
              "pex": args.pex, "start": "initial states" if args.from_initial else "rest",
              "drawn_rail": args.draw_rail,
              "rail_generator": args.rail_generator,
              "testbench_reset_frames": simulation.reset_frames(len(s0)),
              "seconds": round(time.perf_counter() - start, 1), "conditions": rows}
    write_text(RESULTS / args.out, json.dumps(result, indent=1) + "\n")
    print(f"{result['seconds']} s; wrote {RESULTS / args.out}")


def _run(sim: simulation.SimTile, s0: list[np.ndarray], zeros: np.ndarray,
         condition: Condition) -> simulation.HardwareRun:
    return simulation.simulate_utterance(sim.netlist, sim.decision_nets, s0, zeros, FRAME_S,
                                         senses=sim.senses, condition=condition, reset=0)


if __name__ == "__main__":
    main()
