"""Sign-off gate figures: ``bmru signoff`` on the bundled tile, cold and warm.

Cold: a new output folder (the whole layout through the official deck, and LVS). Warm: the
same folder after one cell changed (a too narrow Metal1 strip added to a transistor placed
once), so only that cell, the cells that place it and what lies near it are re-checked;
then unchanged (the cached verdict). The warm verdict is compared with a full ``bmru drc``
of the changed layout. Each command is timed as a CI job runs it (a fresh process).

Run: ``.venv/bin/python benchmarks/bench_signoff.py [--repeats N]``
-> ``benchmarks/results/signoff.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import klayout.db as kdb

from bmru_pdk.model.bundled import bundled_checkpoint

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results" / "signoff.json"
BMRU = [sys.executable, "-m", "bmru_pdk"]
TARGET = 0.5  # warm with one changed cell at most half of cold


def bmru(*args: str | Path) -> float:
    """Run a ``bmru`` command; its wall time, s (exit 1, a verdict, is fine)."""
    start = time.perf_counter()
    proc = subprocess.run([*BMRU, *map(str, args)], capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"bmru {args[0]} failed: {proc.stderr.strip()}")
    return time.perf_counter() - start


def change_one_cell(gds: Path, out: Path) -> str:
    """Add a 0.2 µm wide Metal1 strip (an M1.1 violation) under the first transistor cell
    placed exactly once, outside its old outline; the name of that cell."""
    ly = kdb.Layout()
    ly.read(str(gds))
    cell = next(c for c in ly.each_cell() if c.name.startswith("nfet_")
                and sum(1 for _ in c.each_parent_inst()) == 1)
    b = cell.dbbox()
    cell.shapes(ly.layer(34, 0)).insert(kdb.DBox(b.left + 0.3, b.bottom - 1.5, b.left + 0.5,
                                                 b.bottom - 0.5))
    options = kdb.SaveLayoutOptions()
    options.write_context_info = False
    ly.write(str(out), options)
    return cell.name


def drc_figures(folder: Path) -> dict:
    return json.loads((folder / "signoff.json").read_text())["drc"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-signoff-") as tmp:
        d = Path(tmp)
        bmru("tile", bundled_checkpoint(), "-o", d / "tile")
        gds, netlist = d / "tile" / "tile.gds", d / "tile" / "tile.lvs.spice"
        changed_gds = d / "tile" / "changed.gds"
        changed = change_one_cell(gds, changed_gds)
        cold, warm, cached = [], [], []
        for k in range(args.repeats):
            shutil.rmtree(d / "cold", ignore_errors=True)
            cold.append(bmru("signoff", gds, netlist, "-o", d / "cold"))
            shutil.copytree(d / "cold", d / f"warm{k}")
            warm.append(bmru("signoff", changed_gds, netlist, "-o", d / f"warm{k}"))
            w = drc_figures(d / f"warm{k}")
            cached.append(bmru("signoff", changed_gds, netlist, "-o", d / f"warm{k}"))
            print(f"run {k + 1}: cold {cold[-1]:.1f} s, warm {warm[-1]:.1f} s, "
                  f"unchanged {cached[-1]:.1f} s")
        c = drc_figures(d / "cold")
        start = time.perf_counter()
        bmru("drc", changed_gds, "--json", d / "full.json")
        full_s = time.perf_counter() - start
        full = json.loads((d / "full.json").read_text())
    markers = sorted((v["rule"], v["cell"], tuple(v["bbox"])) for v in full["violations"])
    found = sorted((v["rule"], v["cell"], tuple(v["bbox"])) for v in w["violations"])
    ratio = statistics.median(warm) / statistics.median(cold)
    figures = {
        "layout": "bundled tile (bmru tile of the bundled checkpoint)",
        "cells": c["cells"],
        "changed_cell": changed,
        "changed_cells": w["changed_cells"],
        "checked_cells_warm": len(w["checked_cells"]),
        "cold_s": [round(x, 1) for x in cold],
        "warm_s": [round(x, 1) for x in warm],
        "unchanged_s": [round(x, 1) for x in cached],
        "deck_s": {"cold": c["deck_s"], "warm": w["deck_s"]},
        "full_drc_of_changed_s": round(full_s, 1),
        "warm_markers_equal_full_run": found == markers,
        "warm_markers": [list(m[:2]) for m in found],
        "warm_over_cold": round(ratio, 2),
        "target_warm_over_cold": TARGET,
        "met": ratio <= TARGET,
    }
    print(f"cold {statistics.median(cold):.1f} s, warm (1 of {c['cells']} cells changed, "
          f"{len(w['checked_cells'])} re-checked) {statistics.median(warm):.1f} s: "
          f"{ratio:.2f} of cold (target <= {TARGET}); unchanged "
          f"{statistics.median(cached):.1f} s; warm markers = full run's: "
          f"{figures['warm_markers_equal_full_run']}")
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
