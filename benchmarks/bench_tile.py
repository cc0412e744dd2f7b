"""Tile figures: build, DRC and LVS time, device count, area, area per weight and per unit
for d = 4 (the bundled network), d = 16 and d = 64 (random, 13 inputs, 2 layers); a PNG of
d = 4. A DRC run longer than ``DRC_BUDGET_S`` is recorded as not finished.

Run: ``.venv/bin/python benchmarks/bench_tile.py`` -> ``benchmarks/results/tile.json``,
``docs/img/tile_d4.png``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from bmru_pdk.errors import BmruError
from bmru_pdk.layouts.tile import write_tile
from bmru_pdk.model.bundled import bundled_checkpoint
from bmru_pdk.model.checkpoint import random_checkpoint, read_checkpoint
from bmru_pdk.verification import drc, lvs

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "tile.json"
IMAGE = ROOT.parent / "docs" / "img" / "tile_d4.png"
DRC_BUDGET_S = 900


def render(gds: Path, png: Path) -> None:
    """Headless picture of the whole hierarchy."""
    import klayout.lay as lay

    view = lay.LayoutView()
    view.load_layout(str(gds))
    view.max_hier()
    view.zoom_fit()
    view.save_image(str(png), 1600, 500)


def bench(name: str, ckpt: Path, tmp: Path) -> dict:
    meta, arrays = read_checkpoint(ckpt)
    arch = meta.architecture
    start = time.perf_counter()
    files = write_tile(ckpt, tmp / name)
    build = time.perf_counter() - start
    gds = files.outdir / "tile.gds"
    try:
        d = drc.run(gds, threads=2, timeout=DRC_BUDGET_S)
        drc_s, clean = round(d.runtime_s, 1), d.clean
    except BmruError:  # over budget on this machine
        drc_s, clean = None, None
    start = time.perf_counter()
    v = lvs.run(gds, files.outdir / "tile.spice")
    lvs_s = time.perf_counter() - start
    weights = sum(a.size for k, a in arrays.items() if k.endswith(".W"))
    units = arch.d * arch.layers
    summary = json.loads((files.outdir / "summary.json").read_text())
    return {"name": name, "n_in": arch.n_in, "d": arch.d, "layers": arch.layers,
            "devices": files.devices, "area_um2": files.area_um2, "size_um": summary["size_um"],
            "weights": weights, "units": units,
            "area_per_weight_um2": round(files.area_um2 / weights, 1),
            "area_per_unit_um2": round(files.area_um2 / units, 1),
            "build_s": round(build, 2), "build_s_per_device": round(build / files.devices, 4),
            "drc_s": drc_s, "drc_clean": clean,
            "lvs_s": round(lvs_s, 2), "lvs_match": v.match,
            "power_total_nw": summary["power_total_nw"]}


def main() -> None:
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        rows = [bench("d4_bundled", bundled_checkpoint(), tmp)]
        for d in (16, 64):
            ckpt = random_checkpoint(n_in=13, d=d, layers=2, seed=0,
                                     path=tmp / f"d{d}.safetensors")
            rows.append(bench(f"d{d}_random", ckpt, tmp))
        IMAGE.parent.mkdir(parents=True, exist_ok=True)
        render(tmp / "d4_bundled" / "tile.gds", IMAGE)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"tiles": rows}, indent=2) + "\n")
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
