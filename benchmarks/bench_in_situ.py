"""The cells characterised in their tile: the nominal tile's own wafer test beside the values
its tables realise, and where the model run with the tile's values parts from the realised
model (docs/compare.md, "The cells in their tile").

The bundled tile is built as ``make run`` draws it (``--draw-rail --rail-generator``) and
extracted (``--pex``: with parasitic capacitances); the per-die twin's test
(:func:`bmru_pdk.analyses.twin.measure`, mismatch off) reads every unit's thresholds, output
and bias, and every weight, as the tile has them. The model is then run on tuning utterances
twice, with the realised values and with the tile's (the nominal twin), and each utterance's
agreement between the two is kept, to set beside the tile's own agreement with the realised
model on the same utterances. Model runs only after the one test: it runs on the tuning
sample and chooses nothing.

    python benchmarks/bench_in_situ.py [--n 50] [--pex] [--draw-rail [--rail-generator]]
        [--out NAME.json]

Writes ``benchmarks/results/in_situ.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import provenance
import torch

import bmru_pdk
from bmru_pdk.analyses import simulation, twin
from bmru_pdk.analyses.testbench import FRAME_S
from bmru_pdk.circuits import names
from bmru_pdk.fileio import write_text
from bmru_pdk.layouts.tile import build_tile, write_tile
from bmru_pdk.model import samples
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import load_checkpoint, open_checkpoint

RESULTS = Path(__file__).resolve().parent / "results"
UNIT_VALUES = ("bias", "beta_lo", "beta_hi", "alpha")


def unit_rows(realised: list[dict], in_tile: list[dict]) -> list[dict]:
    """Per unit, each value as the tables realise it and as the tile's test read it (nA)."""
    return [{"unit": names.unit(layer, j),
             **{key: [round(float(p[key][j]), 4), round(float(q[key][j]), 4)]
                for key in UNIT_VALUES}}
            for layer, (p, q) in enumerate(zip(realised[:-1], in_tile[:-1], strict=True))
            for j in range(len(p["bias"]))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50, help="tuning utterances")
    parser.add_argument("--pex", action="store_true", help="with parasitic capacitances")
    parser.add_argument("--out", type=provenance.results_name, default="in_situ.json",
                        help="results file name (in benchmarks/results)")
    provenance.rail_options(parser)
    args = parser.parse_args()
    rail = provenance.nominal_rail(parser, args)
    start = time.perf_counter()
    path = bundled_checkpoint()
    model = load_checkpoint(path)
    bmru_pdk.PDK.activate()
    with tempfile.TemporaryDirectory() as tmp:
        build = write_tile(build_tile(open_checkpoint(path), None,
                                      source_rail=rail["source_rail"],
                                      rail_generator=rail["condition"].rail_generator),
                           Path(tmp) / "tile")
        x = simulation.extract_tile(build, Path(tmp), args.pex)
        sim = simulation.sim_tile(build, x.devices, pex=x.pex)
    with torch.no_grad():
        realised = simulation.realised_parameters(model, build.mapping)
    tile = twin.twin_tile(sim, x.devices.spice, build.schematic.to_spice(), build.name,
                          realised)
    x_mid = model.meta.input.offset * model.meta.input.scale_na
    values = twin.measure(tile, realised, x_mid, FRAME_S, None, rail["condition"])
    with torch.no_grad():
        in_tile = twin.twin_parameters(realised, values)
    rows = []
    for u in samples.load_utterances(path, None, args.n, "tuning"):
        ours, _ = simulation.model_utterance(model, realised, u.x_na)
        theirs, _ = simulation.model_utterance(model, in_tile, u.x_na)
        rows.append({"name": u.name, "label": u.label,
                     "agreement": [round(float(np.mean(a == b)), 5)
                                   for a, b in zip(ours, theirs, strict=True)]})
    out = {"command": provenance.command(), **provenance.checkpoint(path), "sample": "tuning",
           "utterances": args.n, "frame_s": FRAME_S, "condition": rail["condition"].name,
           "pex": args.pex, **simulation.build_record(build), "measured": len(values),
           "units": unit_rows(realised, in_tile),
           "agreement": np.mean([r["agreement"] for r in rows], 0).round(5).tolist(),
           "seconds": round(time.perf_counter() - start, 1), "per_utterance": rows}
    for r in out["units"]:
        print(r["unit"], "  ".join(f"{k} {a:.3f} -> {b:.3f}"
                                   for k in UNIT_VALUES for a, b in [r[k]]))
    print(f"nominal twin vs realised model, state bits per layer: {out['agreement']}")
    write_text(RESULTS / args.out, json.dumps(out, indent=1) + "\n")
    print(f"{out['seconds']} s; wrote {RESULTS / args.out}")


if __name__ == "__main__":
    main()
