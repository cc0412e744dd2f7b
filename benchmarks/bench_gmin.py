"""What ngspice's default GMIN did to the characterisation tables (issue 25).

ngspice puts GMIN across every pn junction; its default, 1e-12 S, is ~1 pA a volt, more
than a 4 x 4 µm device's own junction leakage below ~100 °C and a share of a small mirror
output at 0.2 nA a unit. The package's tables are made with GMIN lowered to
:data:`bmru_pdk.spice.GMIN_S`; this bench characterises them once more with ngspice's
default (:data:`bmru_pdk.spice.NGSPICE_GMIN_S`) and reports, at one unit in (the tables' unit
current), each mirror output's gain under both and the cell's switching currents' largest
shift. Every deck takes its GMIN from the module, so the bench sets it for the first run.

Usage: ``python benchmarks/bench_gmin.py``. Prints the table and writes
``benchmarks/results/gmin.json``. About half a minute on one core.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import provenance

from bmru_pdk import spice
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.fileio import write_text

RESULTS = Path(__file__).parent / "results"
SHOWN_RATIOS = (0.125, 0.25, 0.5, 1.0)  # of the tables' ratio grid
CELL_FIELDS = ("beta_hi", "beta_lo")


def tables_at(gmin_s: float) -> ch.Tables:
    """The package's tables, characterised with ngspice's GMIN at ``gmin_s``."""
    project = spice.GMIN_S
    spice.GMIN_S = gmin_s
    try:
        return ch.characterize()
    finally:
        spice.GMIN_S = project


def mirror_rows(default: ch.Tables, lowered: ch.Tables) -> list[dict]:
    """Each mirror family at one unit in (a diode load; summing nodes at the reference):
    its gain per shown ratio under both GMINs."""
    rows = []
    for a, b in zip(default.mirrors, lowered.mirrors, strict=True):
        if a.load == "sum" and a.i_node_na != ch.I_REF:
            continue
        i = a.currents_na.index(ch.I_REF)
        cols = [a.ratios.index(r) for r in SHOWN_RATIOS]
        rows.append({"kind": a.kind, "load": a.load, "ratios": list(SHOWN_RATIOS),
                     "gain_default": [a.gain[i][c] for c in cols],
                     "gain_lowered": [b.gain[i][c] for c in cols]})
    return rows


def cell_shift(default: ch.Tables, lowered: ch.Tables) -> dict[str, float]:
    """The largest relative shift of each cell switching current over the cell grid."""
    out = {}
    for name in CELL_FIELDS:
        a = np.array(getattr(default.cell, name), dtype=float)
        b = np.array(getattr(lowered.cell, name), dtype=float)
        out[name] = round(float(np.nanmax(np.abs(b / a - 1))), 5)
    alpha = np.array(lowered.gain.alpha) / np.array(default.gain.alpha) - 1
    out["alpha"] = round(float(np.max(np.abs(alpha))), 5)
    return out


def main() -> None:
    start = time.perf_counter()
    default, lowered = tables_at(spice.NGSPICE_GMIN_S), tables_at(spice.GMIN_S)
    rows = mirror_rows(default, lowered)
    print(f"gain at one unit in ({ch.I_UNIT_NA:g} nA), GMIN {spice.NGSPICE_GMIN_S:g} -> "
          f"{spice.GMIN_S:g} S, ratios {', '.join(f'{r:g}' for r in SHOWN_RATIOS)}")
    for r in rows:
        print(f"  {r['kind']:>9} {r['load']:>5}: " + "  ".join(
            f"{a:.4f} -> {b:.4f} ({(b / a - 1) * 100:+.1f} %)"
            for a, b in zip(r["gain_default"], r["gain_lowered"], strict=True)))
    cells = cell_shift(default, lowered)
    print("cell, largest shift: " + ", ".join(f"{k} {v * 100:.1f} %" for k, v in cells.items()))
    result = {"command": provenance.command(), "i_unit_na": ch.I_UNIT_NA,
              "gmin_default_s": spice.NGSPICE_GMIN_S, "gmin_s": spice.GMIN_S,
              "mirrors": rows, "cell_largest_shift": cells,
              "seconds": round(time.perf_counter() - start, 1)}
    path = RESULTS / "gmin.json"
    write_text(path, json.dumps(result, indent=1) + "\n")
    print(f"wrote {path} ({result['seconds']} s)")


if __name__ == "__main__":
    main()
