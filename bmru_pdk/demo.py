"""The demo job: a device array, its schematic, the official DRC deck and LVS."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bmru_pdk.fileio import output_dir
from bmru_pdk.verification import drc, lvs


@dataclass
class DemoResult:
    """Where the demo wrote its files and what DRC and LVS said."""

    outdir: Path
    drc: drc.DrcResult
    lvs: lvs.LvsResult

    @property
    def ok(self) -> bool:
        return self.drc.clean and self.lvs.match


def run(outdir: str | Path, count: int = 8, force: bool = False) -> DemoResult:
    """Write ``demo.gds`` and ``demo.spice`` for ``count`` transistors, then DRC and LVS them.

    The folder appears whole or not at all (:func:`~bmru_pdk.fileio.output_dir`, ``force``).
    """
    import bmru_pdk
    from bmru_pdk.layouts.device_array import array_circuit, device_array

    bmru_pdk.PDK.activate()
    outdir = Path(outdir)
    with output_dir(outdir, force=force) as tmp:
        gds, spice = tmp / "demo.gds", tmp / "demo.spice"
        device_array(count=count).write_gds(gds, with_metadata=False)
        spice.write_text(array_circuit(count).to_spice())
        drc_result = drc.run(gds, tmp / "drc.lyrdb")
        lvs_result = lvs.run(gds, spice, lvsdb=tmp / "lvs.lvsdb")
        # Reports name the files where they will live, not the temporary folder.
        drc_result.gds = lvs_result.gds = str(outdir / "demo.gds")
        lvs_result.schematic = str(outdir / "demo.spice")
        drc_result.report = str(outdir / "drc.lyrdb")
        lvs_result.lvsdb = str(outdir / "lvs.lvsdb")
        (tmp / "drc.json").write_text(drc_result.to_json())
        (tmp / "lvs.json").write_text(lvs_result.to_json())
        (tmp / "summary.json").write_text(json.dumps(
            {"transistors": count, "drc_clean": drc_result.clean,
             "drc_counts": drc_result.counts, "lvs_match": lvs_result.match}, indent=2))
    return DemoResult(outdir, drc_result, lvs_result)
