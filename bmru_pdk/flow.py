"""The main job: checkpoint -> tile -> official DRC -> LVS -> extracted netlist, one report.

Everything lands in one folder, written whole or not at all: the tile's files
(:data:`bmru_pdk.layouts.tile.FILES`), ``drc.lyrdb``, ``lvs.lvsdb``, ``extracted.spice``,
``flow.json`` (every figure, stable keys) and ``report.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from bmru_pdk.fileio import atomic_dir


@dataclass(frozen=True)
class FlowResult:
    """Where the flow wrote its files and whether the tile passed its checks."""

    outdir: Path
    figures: dict

    @property
    def ok(self) -> bool:
        return self.figures["drc"]["clean"] and self.figures["lvs"]["match"]


def _report(f: dict) -> str:
    t, d, v, x = f["tile"], f["drc"], f["lvs"], f["extract"]
    rows = [
        ("checkpoint", f["checkpoint"]),
        ("tile", f"{t['cell']}: {t['devices']} transistors, {t['area_um2']:.0f} µm² "
                 f"({t['size_um'][0]:.0f} x {t['size_um'][1]:.0f} µm), built in {t['build_s']} s"),
        ("estimated supply power", f"{t['power_total_nw']:.0f} nW at {t['supply_v']} V "
                                   f"(all units ON, inputs at mid-scale)"),
        ("DRC (official gf180mcu deck)", ("clean" if d["clean"] else f"{d['counts']}")
         + f" in {d['runtime_s']} s"),
        ("LVS (tile.gds vs tile.spice)", ("match" if v["match"] else
                                          f"{len(v['mismatches'])} mismatches")
         + f" in {v['runtime_s']} s"),
        ("extracted netlist", ", ".join(f"{n} {kind}" for kind, n in x["devices"].items())
         + f" in {x['runtime_s']} s -> extracted.spice"),
    ]
    lines = ["# bmru flow report", "", "| step | result |", "|---|---|"]
    lines += [f"| {k} | {val} |" for k, val in rows]
    return "\n".join(lines) + "\n"


def run(checkpoint: str | Path, outdir: str | Path) -> FlowResult:
    """Build the tile of ``checkpoint``, check it, extract it, and report into ``outdir``."""
    from bmru_pdk.layouts.tile import write_tile
    from bmru_pdk.verification import drc, extract, lvs

    outdir = Path(outdir)
    with atomic_dir(outdir) as tmp:
        tile = write_tile(checkpoint, tmp)
        summary = json.loads((tmp / "summary.json").read_text())
        gds = tmp / "tile.gds"
        d = drc.run(gds, tmp / "drc.lyrdb")
        start = time.perf_counter()
        v = lvs.run(gds, tmp / "tile.spice", lvsdb=tmp / "lvs.lvsdb")
        lvs_s = time.perf_counter() - start
        start = time.perf_counter()
        x = extract.extract(gds)
        extract.write(x, tmp / "extracted.spice")
        figures = {
            "checkpoint": str(checkpoint),
            "tile": {**summary, "build_s": round(tile.seconds, 2)},
            "drc": {"clean": d.clean, "counts": d.counts, "runtime_s": round(d.runtime_s, 1)},
            "lvs": {"match": v.match, "mismatches": [m.message for m in v.mismatches],
                    "runtime_s": round(lvs_s, 2)},
            "extract": {"devices": x.devices,
                        "runtime_s": round(time.perf_counter() - start, 2)},
        }
        (tmp / "flow.json").write_text(json.dumps(figures, indent=2) + "\n")
        (tmp / "report.md").write_text(_report(figures))
    return FlowResult(outdir, figures)
