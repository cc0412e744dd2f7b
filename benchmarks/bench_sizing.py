"""Sizing from a target sigma: the area each mismatch budget costs the bundled tile, and what
it buys on Monte Carlo dies, at the operating point.

For each target sigma of a 1:1 mirror a fresh process draws every mirror from the smallest
square unit that meets it (``sizing.unit_for_sigma``), characterises the tables there
(``bmru characterize --sigma``, whose statistical benches measure the sigma it got), builds
the bundled checkpoint's tile (area, DRC-relevant sizes only) and runs the mismatch Monte
Carlo of its extracted netlist on ``--n`` utterances of the tuning sample per die (the bench
chooses a unit size, so it never runs on the held-out or sealed samples) (``montecarlo.run``,
through the executor). The target 5 % is the package's 4 x 4 µm unit and its own tables.

Run: ``.venv/bin/python benchmarks/bench_sizing.py [--seeds 16] [--n 10] [--workers 2]`` ->
``benchmarks/results/sizing.json`` and ``sizing.png`` (per target, ``--seeds`` x ``--n``
simulations of a whole utterance at 10 ms frames: long).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
SIGMAS = (0.05, 0.035, 0.025, 0.0175)


def child(seeds: int, n: int, workers: int | None) -> dict:
    """One target, in this process: the tables are the package's or ``BMRU_TABLES``."""
    import bmru_pdk
    from bmru_pdk.analyses import montecarlo
    from bmru_pdk.circuits.mapping import tables_from_environment
    from bmru_pdk.executor import make_executor
    from bmru_pdk.layouts.tile import build_tile
    from bmru_pdk.model import bundled_checkpoint, open_checkpoint, samples

    bmru_pdk.PDK.activate()
    tables = tables_from_environment()
    checkpoint = open_checkpoint(bundled_checkpoint())
    build = build_tile(checkpoint, tables)
    summary = build.summary
    utterances = samples.load_utterances(checkpoint, None, n, "tuning")
    with make_executor(None, workers) as executor:
        mc = montecarlo.run(checkpoint, utterances, list(range(1, seeds + 1)),
                            executor=executor, tables=tables)["summary"]
    return {"unit_um": [tables.unit.w, tables.unit.l],
            "mirror_sigma": tables.mismatch_sigma,
            "tile_area_um2": build.area_um2, "tile_size_um": summary["size_um"],
            "estimated_power_nw": summary["power_total_nw"],
            "simulated_power_nw": mc["power_nw"]["mean"],
            "nominal_state_agreement_per_layer": mc["nominal_state_agreement_per_layer"],
            "state_agreement_per_layer": [a["mean"] for a in mc["state_agreement_per_layer"]],
            "die_agreement_with_nominal": mc["die_agreement_with_nominal"],
            "dies_within_1_point": mc["dies_within_1_point"],
            "dies_within_1_point_ci95": mc["dies_within_1_point_ci95"],
            "decisions_agreeing": mc["decisions_agreeing"],
            "model_accuracy": mc["model_accuracy"], "die_accuracy": mc["die_accuracy"]}


def point(sigma: float, seeds: int, n: int, workers: int | None) -> dict:
    """Characterise the unit for ``sigma`` (unless it is the package's) and run the child."""
    from bmru_pdk.circuits.sizing import UNIT, unit_for_sigma

    env = dict(os.environ)
    cmd = [sys.executable, __file__, "--child", "--seeds", str(seeds), "--n", str(n)]
    cmd += [] if workers is None else ["--workers", str(workers)]
    with tempfile.TemporaryDirectory() as t:
        if unit_for_sigma(sigma) != UNIT:
            subprocess.run([sys.executable, "-m", "bmru_pdk", "characterize", "--sigma",
                            str(sigma), "--tables", t], check=True, capture_output=True)
            env["BMRU_TABLES"] = t
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    return {"target_sigma": sigma, **json.loads(out.stdout.strip().splitlines()[-1])}


def plot(points: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    area = [p["tile_area_um2"] / 1e6 for p in points]
    fig, (ax_s, ax_a) = plt.subplots(1, 2, figsize=(10, 3.8))
    for kind, marker in (("nfet_03v3", "o-"), ("pfet_03v3", "s-")):
        ax_s.plot(area, [100 * p["mirror_sigma"][kind] for p in points], marker,
                  label=f"{kind[:4]} 1:1 mirror, measured")
    ax_s.plot(area, [100 * p["target_sigma"] for p in points], "k:", label="target")
    for p, a in zip(points, area, strict=True):
        ax_s.annotate(f"{p['unit_um'][0]:g} µm unit, {p['simulated_power_nw']:.0f} nW",
                      (a, 100 * p["target_sigma"]),
                      fontsize=7, textcoords="offset points", xytext=(4, 4))
    ax_s.set(xlabel="d = 4 tile area, mm²", ylabel="sigma of the copy gain, %",
             title="mismatch vs tile area")
    ax_a.plot(area, [100 * p["die_agreement_with_nominal"]["mean"] for p in points], "o-",
              label="die vs mismatch-free tile, mean")
    ax_a.plot(area, [100 * p["die_agreement_with_nominal"]["min"] for p in points], "v--",
              label="worst die")
    ax_a.axhline(97, color="C3", ls="--", label="target 97 %")
    ax_a.set(xlabel="d = 4 tile area, mm²", ylabel="state bits agreeing, %",
             title="Monte Carlo dies, tuning sample")
    for ax in (ax_s, ax_a):
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=16, help="Monte Carlo dies per target")
    parser.add_argument("--n", type=int, default=10, help="tuning-sample utterances per die")
    parser.add_argument("--workers", type=int, default=None, help="local simulation processes")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.seeds, args.n, args.workers)))
        return
    start = time.perf_counter()
    points = []
    for sigma in SIGMAS:
        p = point(sigma, args.seeds, args.n, args.workers)
        points.append(p)
        agree = p["die_agreement_with_nominal"]
        print(f"target {sigma:.2%}: {p['unit_um'][0]:g} x {p['unit_um'][1]:g} µm unit, sigma "
              f"{p['mirror_sigma']['nfet_03v3']:.1%} / {p['mirror_sigma']['pfet_03v3']:.1%} "
              f"(n / p), tile {p['tile_area_um2'] / 1e6:.3f} mm², "
              f"{p['simulated_power_nw']:.0f} nW; die vs nominal {agree['mean']:.1%} "
              f"(worst {agree['min']:.1%}), within 1 point {p['dies_within_1_point']}",
              flush=True)
    import provenance

    from bmru_pdk.fileio import write_text
    from bmru_pdk.model import bundled_checkpoint

    result = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
              "seeds": args.seeds, "utterances": args.n, "sample": "tuning",
              "frame_s": 0.01, "points": points, "seconds": round(time.perf_counter() - start)}
    write_text(RESULTS / "sizing.json", json.dumps(result, indent=1) + "\n")
    plot(points, RESULTS / "sizing.png")
    print(f"wrote {RESULTS / 'sizing.json'} and sizing.png ({result['seconds']} s)")


if __name__ == "__main__":
    main()
