"""Tile figures: build, DRC and LVS time (the project's engine and the official
deck), device count, size, aspect ratio and area per
transistor for d = 4 (the bundled network) and dense networks (13 inputs, 2 layers, every
weight drawn: |w| uniform in 0.3-3, :func:`~bmru_pdk.model.checkpoint.random_checkpoint`
with ``dense``) at d = 16, 64, 128, 256; the build-time exponent in transistors; pictures of
d = 4 and d = 64. Each build runs in a fresh interpreter (no cell cached by an earlier
build). A DRC or LVS run longer than ``--drc-budget`` / ``--lvs-budget`` is recorded as not
finished.

Run: ``.venv/bin/python benchmarks/bench_tile.py`` -> ``benchmarks/results/tile.json``,
``docs/img/tile_d4.png``, ``docs/img/tile_d64.png``; ``--d 16,64`` measures fewer sizes.
``--trained CKPT...`` adds trained networks (e.g. ``bench_model.py``'s ``build/bench_d64_s0``
and ``bench_d128_s0``), each a row ``d<d>_trained`` that records its checkpoint's hash; they
are left out of the build-time fit, which is over the dense networks alone.

``--build-only`` times just the builds, each in a fresh process, ``--repeat`` times, and
records them under this environment (Python, gdsfactory, kfactory) in
``benchmarks/results/tile_platforms.json`` (docs/platform.md). The random checkpoints need
torch to be written: they are kept in ``--checkpoints``, so an environment without torch
builds the same tiles.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from importlib.metadata import version
from importlib.util import find_spec
from multiprocessing import get_context
from pathlib import Path

import provenance
from memory import own_peak_mb

from bmru_pdk.errors import BmruError
from bmru_pdk.layouts.tile import tile_files
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import random_checkpoint, read_checkpoint
from bmru_pdk.verification import drc, official_lvs

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "tile.json"
PLATFORMS = ROOT / "results" / "tile_platforms.json"
CHECKPOINTS = ROOT.parent / "build" / "bench_tile"
IMAGES = {"d4_bundled": ROOT.parent / "docs" / "img" / "tile_d4.png",
          "d64_dense": ROOT.parent / "docs" / "img" / "tile_d64.png"}
BUDGET_S = 3600  # default seconds a DRC or LVS run may take
DENSE_D = (16, 64, 128, 256)
BUILD_ONLY_D = (16, 64)
MAX_DEVICES = 2_000_000  # the dense d = 256 network draws about 0.5 million


def render(gds: Path, png: Path) -> None:
    """The picture, in the gf180mcu colours (``scripts/render_tile.py``)."""
    subprocess.run([sys.executable, str(ROOT.parent / "scripts" / "render_tile.py"), str(gds),
                    "-o", str(png)], check=True)


def timed_lvs(gds: Path, spice: Path, budget: float) -> tuple[float | None, bool | None]:
    """Seconds and verdict of ``bmru lvs`` on the tile, in a process of its own that is
    stopped after ``budget`` seconds (then ``None, None``)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "lvs", str(gds), str(spice)],
                              capture_output=True, text=True, timeout=budget, check=False)
    except subprocess.TimeoutExpired:
        return None, None
    if proc.returncode not in (0, 1):  # 0 match, 1 mismatch, anything else an error
        raise SystemExit(f"bmru lvs failed on {gds}: {proc.stderr.strip()}")
    return round(time.perf_counter() - start, 2), proc.returncode == 0


def timed_official_lvs(gds: Path, spice: Path, budget: float) -> tuple[float | None,
                                                                        bool | None]:
    """Seconds and verdict of the official gf180mcu LVS deck on the tile (its ``M``-card
    netlist), or ``None, None`` when it runs longer than ``budget``."""
    try:
        result = official_lvs.run(gds, spice, timeout=budget)
    except BmruError as exc:
        if isinstance(exc.__cause__, subprocess.TimeoutExpired):
            return None, None
        raise
    return round(result.runtime_s, 1), result.match


def bench(name: str, ckpt: Path, tmp: Path, drc_budget: float, lvs_budget: float,
          official_budget: float) -> dict:
    meta, arrays = read_checkpoint(ckpt)
    arch = meta.architecture
    outdir = tmp / name
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        build, devices, peak_mb = pool.submit(timed_build, ckpt, outdir).result()
    summary = json.loads((outdir / "summary.json").read_text())
    area = summary["area_um2"]
    gds = outdir / "tile.gds"
    try:
        d = drc.run(gds, threads=2, timeout=drc_budget)
        drc_s, clean = round(d.runtime_s, 1), d.clean
    except BmruError:  # over budget on this machine
        drc_s, clean = None, None
    lvs_s, match = timed_lvs(gds, outdir / "tile.spice", lvs_budget)
    official_s, official_match = timed_official_lvs(gds, outdir / "tile.lvs.spice",
                                                    official_budget)
    weights = sum(a.size for k, a in arrays.items() if k.endswith(".W"))
    drawn = sum(int((a != 0).sum()) for k, a in arrays.items() if k.endswith(".W"))
    units = arch.d * arch.layers
    return {"name": name, "n_in": arch.n_in, "d": arch.d, "layers": arch.layers,
            "devices": devices, "area_um2": area, "size_um": summary["size_um"],
            "aspect": summary["aspect"],
            "weights": weights, "weights_drawn": drawn, "units": units,
            "area_per_weight_um2": round(area / weights, 1),
            "area_per_transistor_um2": round(area / devices, 1),
            "area_per_unit_um2": round(area / units, 1),
            "build_s": round(build, 2), "build_s_per_device": round(build / devices, 4),
            "build_peak_mb": round(peak_mb),
            "drc_s": drc_s, "drc_clean": clean,
            "lvs_s": lvs_s, "lvs_match": match,
            "official_lvs_s": official_s, "official_lvs_match": official_match,
            "power_total_nw": summary["power_total_nw"]}


def dense(d: int, path: Path) -> Path:
    """The dense network of ``d`` units per layer the bench measures (seed 0)."""
    return random_checkpoint(n_in=13, d=d, layers=2, seed=0, path=path, dense=True)


def checkpoints(folder: Path) -> dict[str, Path]:
    """The bundled d = 4 checkpoint and the dense d = 16, 64 ones, written into ``folder``
    where torch is installed, otherwise read from it."""
    paths = {f"d{d}_dense": folder / f"d{d}_dense.safetensors" for d in BUILD_ONLY_D}
    if find_spec("torch") is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for d, path in zip(BUILD_ONLY_D, paths.values(), strict=True):
            dense(d, path)
    elif not all(p.is_file() for p in paths.values()):
        raise SystemExit(f"torch is missing and {folder} lacks d16/d64_dense.safetensors: run "
                         "this benchmark once in an environment with torch first")
    return {"d4_bundled": bundled_checkpoint(), **paths}


def timed_build(ckpt: Path, outdir: Path | None = None) -> tuple[float, int, float]:
    """Seconds to build and write the tile of ``ckpt`` into ``outdir`` (default a temporary
    folder), devices, and the process's own peak resident memory (MB: the process is fresh,
    so the build's; ``circuits/budget.py``'s estimate rests on it); run in a fresh process."""
    import bmru_pdk

    bmru_pdk.PDK.activate()  # a spawned process starts without the active PDK
    with tempfile.TemporaryDirectory() as t:
        start = time.perf_counter()
        files = tile_files(ckpt, outdir or Path(t) / "tile", max_devices=MAX_DEVICES)
        seconds = time.perf_counter() - start
    return seconds, files.devices, own_peak_mb()


def exponent(rows: list[dict]) -> float:
    """Least-squares slope of log(build time) over log(transistors)."""
    x = [math.log(r["devices"]) for r in rows]
    y = [math.log(r["build_s"]) for r in rows]
    mx, my = statistics.fmean(x), statistics.fmean(y)
    return sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True)) / sum(
        (a - mx) ** 2 for a in x)


def build_only(folder: Path, repeat: int) -> None:
    """Build timings of this environment into :data:`PLATFORMS` (merged by environment)."""
    env = {"python": platform.python_version(),
           **{p: version(p) for p in ("gdsfactory", "kfactory", "klayout", "numpy")}}
    key = f"py{env['python']}-gdsfactory{env['gdsfactory']}-kfactory{env['kfactory']}"
    rows = []
    for name, ckpt in checkpoints(folder).items():
        times = []
        for _ in range(repeat):
            # a fresh interpreter per build: no cell cached by an earlier build
            with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
                seconds, devices, _ = pool.submit(timed_build, ckpt).result()
            times.append(round(seconds, 2))
        best = min(times)
        rows.append({"name": name, "d": read_checkpoint(ckpt)[0].architecture.d,
                     "devices": devices, "build_s": times, "build_s_min": best,
                     "build_s_median": round(statistics.median(times), 2),
                     "build_s_per_device": round(best / devices, 4)})
        print(key, rows[-1])
    results = json.loads(PLATFORMS.read_text()) if PLATFORMS.is_file() else {}
    results.setdefault("environments", {})[key] = {**env, "tiles": rows}
    # every environment builds the same checkpoints: the d4 row's is the bundled one
    results.update({"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint())})
    PLATFORMS.parent.mkdir(parents=True, exist_ok=True)
    PLATFORMS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


def main() -> None:
    import bmru_pdk

    bmru_pdk.PDK.activate()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-only", action="store_true",
                        help="time the builds only (no DRC, LVS, image) -> tile_platforms.json")
    parser.add_argument("--repeat", type=int, default=3, help="builds per tile (--build-only)")
    parser.add_argument("--checkpoints", type=Path, default=CHECKPOINTS,
                        help="folder of the random checkpoints (--build-only)")
    parser.add_argument("--d", default=",".join(map(str, DENSE_D)),
                        help="dense networks' sizes, comma-separated")
    parser.add_argument("--drc-budget", type=float, default=BUDGET_S,
                        help="seconds a DRC run may take before it is recorded as unfinished")
    parser.add_argument("--lvs-budget", type=float, default=BUDGET_S,
                        help="seconds an LVS run may take before it is recorded as unfinished")
    parser.add_argument("--official-lvs-budget", type=float, default=BUDGET_S,
                        help="the same for the official LVS deck")
    parser.add_argument("--trained", type=Path, nargs="*", default=[],
                        help="trained checkpoints to measure beside the dense networks")
    args = parser.parse_args()
    if args.build_only:
        build_only(args.checkpoints, args.repeat)
        return
    sizes = [int(d) for d in args.d.split(",")]
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        budgets = args.drc_budget, args.lvs_budget, args.official_lvs_budget
        rows = [bench("d4_bundled", bundled_checkpoint(), tmp, *budgets)]
        print(rows[-1], flush=True)
        for d in sizes:
            ckpt = dense(d, tmp / f"d{d}_dense.safetensors")
            rows.append(bench(f"d{d}_dense", ckpt, tmp, *budgets))
            print(rows[-1], flush=True)
        for ckpt in args.trained:
            d = read_checkpoint(ckpt)[0].architecture.d
            rows.append({**bench(f"d{d}_trained", ckpt, tmp, *budgets),
                         **provenance.checkpoint(ckpt)})
            print(rows[-1], flush=True)
        for name, image in IMAGES.items():
            if (tmp / name / "tile.gds").is_file():
                image.parent.mkdir(parents=True, exist_ok=True)
                render(tmp / name / "tile.gds", image)
    scaled = [r for r in rows if r["name"].endswith("_dense")]
    first, last = scaled[0], scaled[-1]
    two = len(scaled) > 1  # a slope needs two sizes
    fit = {"build_exponent": round(exponent(scaled), 3) if two else None,
           "build_exponent_endpoints": round(math.log(last["build_s"] / first["build_s"])
                                             / math.log(last["devices"] / first["devices"]),
                                             3) if two else None,
           "exponent_range": [first["d"], last["d"]]}
    print(fit)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    result = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
              "networks": "d4: the bundled checkpoint; dense: every weight drawn, |w| uniform "
                          "in 0.3-3, 13 inputs, 2 layers, seed 0"
                          + ("; trained: the checkpoints given, as trained" if args.trained
                             else ""),
              "build_peak_mb_measure": "VmHWM of the build's own process", "tiles": rows, **fit}
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
