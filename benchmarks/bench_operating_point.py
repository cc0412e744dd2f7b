"""The operating point: supply power and state agreement of the bundled tile against its unit
current, at 27 and 125 °C, beside the mirrors' mismatch against device area.

For each unit current (nA per software unit) a fresh process characterises the tables
there (``bmru characterize``'s benches, 27 °C), maps the bundled checkpoint with them,
builds and extracts the tile and runs the post-layout compare on ``--n`` utterances of the
tuning sample (this bench chooses the operating point, so it never runs on the held-out or
sealed samples; 10 ms frames, device-only netlist) at typical 27 °C and typical 125 °C, where
the devices' leakage is the floor under the smallest currents. The mismatch panel is
``benchmarks/results/pelgrom.json`` (``bench_pelgrom.py``): the area a target sigma costs.

Run: ``.venv/bin/python benchmarks/bench_operating_point.py [--n 10]`` ->
``benchmarks/results/operating_point.json`` and ``operating_point.png`` (about 2 min per
unit current). The simulations run in the child process itself, one after another.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import provenance

RESULTS = Path(__file__).parent / "results"
UNIT_CURRENTS_NA = (1.0, 0.5, 0.3, 0.2)
TEMPERATURES_C = (27.0, 125.0)


def child(i_unit_na: float, n: int) -> dict:
    """One unit current, in this (fresh) process."""
    import bmru_pdk
    from bmru_pdk.analyses import compare
    from bmru_pdk.analyses.simulation import extract_tile
    from bmru_pdk.analyses.testbench import Condition
    from bmru_pdk.circuits import characterize as ch
    from bmru_pdk.circuits import mapping
    from bmru_pdk.executor import make_executor
    from bmru_pdk.layouts.tile import build_tile, write_tile
    from bmru_pdk.model import bundled_checkpoint, open_checkpoint, samples

    ch.I_UNIT_NA = i_unit_na
    bmru_pdk.PDK.activate()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        ch.write_tables(ch.characterize(), tmp)
        checkpoint = open_checkpoint(bundled_checkpoint())
        utterances = samples.load_utterances(checkpoint, None, n, "tuning")
        # one tile, extracted once, both temperatures
        build = write_tile(build_tile(checkpoint, mapping.load_tables(tmp)), tmp / "tile")
        extracted = extract_tile(build, tmp, pex=False)
        rows = []
        with make_executor(None, 1) as executor:
            for temp in TEMPERATURES_C:
                outdir = tmp / f"compare_{temp:g}"
                outdir.mkdir()
                f = compare.compare_extracted(build, extracted, utterances,
                                              outdir, executor=executor, sample="tuning",
                                              condition=Condition(temp_c=temp))
                ideal = f["ideal"]
                rows.append({"temp_c": temp,
                             "state_agreement_per_layer": ideal["state_agreement_per_layer"],
                             "state_agreement_ci95": ideal["ci95"]["state_agreement_per_layer"],
                             "decisions_agreeing": f["ideal"]["decisions_agreeing"],
                             "power_nw": f["power_nw"]["mean"],
                             "power_by_part_nw": f["power_nw"]["by_part"]})
    return {"i_unit_na": i_unit_na, "utterances": n, "conditions": rows}


def plot(points: list[dict], pelgrom: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_s, ax_p, ax_a) = plt.subplots(1, 3, figsize=(13, 3.8))
    for kind, marker in (("nfet_03v3", "o"), ("pfet_03v3", "s")):
        rows = [p for p in pelgrom["points"] if p["kind"] == kind and p["i_na"] == 0.3]
        ax_s.loglog([p["area_um2"] for p in rows], [100 * p["sigma"] for p in rows], marker,
                    label=f"{kind[:4]} 1:1 mirror")
    ax_s.axvline(16, color="C3", ls="--", label="the unit, 4 x 4 µm")
    ax_s.set(xlabel="device area W L, µm²", ylabel="sigma of the copy gain, %",
             title="mismatch vs area (0.3 nA)")
    ax_s.legend(fontsize=7)
    i = [p["i_unit_na"] for p in points]
    for k, temp in enumerate(TEMPERATURES_C):
        rows = [p["conditions"][k] for p in points]
        ax_p.plot(i, [r["power_nw"] for r in rows], "o-", label=f"{temp:g} °C")
        for layer in range(len(rows[0]["state_agreement_per_layer"])):
            ax_a.plot(i, [100 * r["state_agreement_per_layer"][layer] for r in rows], "o-",
                      label=f"layer {layer}, {temp:g} °C")
    ax_p.axhline(83, color="C3", ls="--", label="published 83 nW")
    ax_p.set(xlabel="unit current, nA", ylabel="supply power, nW", title="power (10 ms frames)")
    ax_a.axhline(99, color="C3", ls="--", label="target 99 %")
    ax_a.set(xlabel="unit current, nA", ylabel="state bits agreeing with the model, %",
             title="tile vs model, held out")
    for ax in (ax_p, ax_a):
        ax.set_xscale("log")
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10, help="tuning-sample utterances per point")
    parser.add_argument("--child", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.n)))
        return
    start = time.perf_counter()
    points = []
    for i_unit in UNIT_CURRENTS_NA:
        cmd = [sys.executable, __file__, "--child", str(i_unit), "--n", str(args.n)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        points.append(json.loads(out.stdout.strip().splitlines()[-1]))
        for c in points[-1]["conditions"]:
            agree = " / ".join(f"{100 * a:.1f} ({100 * lo:.1f}-{100 * hi:.1f})" for a, (lo, hi)
                               in zip(c["state_agreement_per_layer"], c["state_agreement_ci95"],
                                      strict=True))
            print(f"{i_unit:g} nA per unit, {c['temp_c']:g} °C: {c['power_nw']:.0f} nW, "
                  f"state bits {agree} %, decisions {c['decisions_agreeing']}/{args.n}", flush=True)
    pelgrom = json.loads((RESULTS / "pelgrom.json").read_text())
    from bmru_pdk.model import bundled_checkpoint

    result = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
              "sample": "tuning", "frame_s": 0.01, "points": points,
              "seconds": round(time.perf_counter() - start)}
    (RESULTS / "operating_point.json").write_text(json.dumps(result, indent=1) + "\n")
    plot(points, pelgrom, RESULTS / "operating_point.png")
    print(f"wrote {RESULTS / 'operating_point.json'} and operating_point.png "
          f"({result['seconds']} s)")


if __name__ == "__main__":
    main()
