"""The main job: checkpoint -> tile -> official DRC -> LVS -> extracted netlist -> post-layout
compare, one report.

Everything lands in one folder, written whole or not at all: the tile's files
(:data:`bmru_pdk.layouts.tile.FILES`), ``drc.lyrdb``, ``lvs.lvsdb``, ``extracted.spice``,
``compare/`` (:func:`bmru_pdk.analyses.compare.compare`'s folder), ``flow.json`` (every
figure, stable keys) and ``report.md``.

The flow passes when DRC and LVS do. The compare's agreement targets are reported (met, or
missed by how much) but do not fail the job: they measure how faithful the software model is,
not whether the tile is buildable, and a run on a few utterances is a sample, not a verdict.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bmru_pdk.analyses.testbench import FRAME_S
from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES
from bmru_pdk.fileio import output_dir

if TYPE_CHECKING:
    from bmru_pdk.analyses.simulation import Extracted
    from bmru_pdk.circuits.builders import RailGeneratorParams
    from bmru_pdk.circuits.characterize import Tables
    from bmru_pdk.executor import Executor
    from bmru_pdk.layouts.tile import TileBuild
    from bmru_pdk.model.checkpoint import Checkpoint
    from bmru_pdk.model.samples import Utterance
    from bmru_pdk.verification.drc import DrcResult
    from bmru_pdk.verification.lvs import LvsResult

# The flow's steps, in order, as named to its progress callback
STEPS = ("tile", "DRC", "LVS", "extract", "PEX", "simulations")


def steps(pex: bool, compare: bool) -> list[str]:
    """The steps of a run with or without parasitic extraction and the compare."""
    return [s for s in STEPS if (pex or s != "PEX") and (compare or s != "simulations")]


@dataclass(frozen=True)
class FlowResult:
    """What the flow built and measured: each step's typed result, and every figure under
    the stable keys of ``flow.json``."""

    outdir: Path
    build: TileBuild
    drc: DrcResult
    lvs: LvsResult
    extracted: Extracted
    figures: dict

    @property
    def ok(self) -> bool:
        """DRC clean and LVS match: the tile is buildable."""
        return self.drc.clean and self.lvs.match

    @property
    def failed(self) -> list[dict]:
        """The compare's failed simulations (name, simulator message)."""
        return self.figures.get("compare_failed", [])


def render_report(f: dict) -> str:
    """The flow's Markdown report of its figures (``report.md``)."""
    t, d, v, x = f["tile"], f["drc"], f["lvs"], f["extract"]
    rows = [
        ("checkpoint", f["checkpoint"]),
        ("tile", f"{t['cell']}: {t['devices']} transistors, {t['area_um2']:.0f} µm² "
                 f"({t['size_um'][0]:.0f} x {t['size_um'][1]:.0f} µm), built in {t['build_s']} s"),
        ("unit device", f"{t['unit_device_um'][0]:g} x {t['unit_device_um'][1]:g} µm: 1:1 "
                        "mirror sigma " + " / ".join(f"{100 * v:.1f} %" for v in
                                                     t["mirror_sigma"].values())
                        + " (" + " / ".join(k[:4] for k in t["mirror_sigma"]) + ")"),
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
    if "pex" in f:
        p = f["pex"]
        rows.append(("parasitic capacitances (KLayout-PEX 2.5D)",
                     f"{p['capacitors']} capacitors, {p['total_f'] * 1e15:.0f} fF "
                     f"({p['substrate_f'] * 1e15:.0f} fF to {p['substrate']}) in "
                     f"{p['runtime_s']:.1f} s -> pex.spice"))
    if "compare" in f:
        rows += _compare_rows(f["compare"])
    if f.get("compare_failed"):
        rows.append(("failed simulations (see compare/compare.json)",
                     "; ".join(e["name"] for e in f["compare_failed"])))
    lines = ["# bmru flow report", "", "| step | result |", "|---|---|"]
    lines += [f"| {k} | {val} |" for k, val in rows]
    if "compare" in f:
        lines += ["", f"![model vs ngspice, worst utterance]({f['compare']['plot']})"]
    return "\n".join(lines) + "\n"


def _compare_rows(c: dict) -> list[tuple[str, str]]:
    def pct(v: float) -> str:
        return f"{100 * v:.1f} %"

    t = c["targets"]
    verdict = "met" if t["met"] else "missed: " + ", ".join(
        f"{k.replace('_', ' ')} {pct(v['measured'])} vs {pct(v['target'])} "
        f"(short by {pct(v['shortfall'])})"
        for k, v in t.items() if k != "met" and v["shortfall"] > 0)
    held, ci = c["realised"], c["realised"]["ci95"]
    devices = c.get("device_only")
    return [
        ("post-layout compare (extracted tile in ngspice vs model)",
         f"{c['netlist']}; {c['utterances']} utterances of the {c['sample']} sample, "
         f"{c['frame_s'] * 1e6:.0f} µs frames, "
         f"{c['sim_s_per_utterance']} s per utterance -> compare/compare.json"),
        ("state-bit agreement per layer (model on the realised values, 95 % CI; on the "
         "checkpoint's own)",
         ", ".join(f"{pct(a)} ({pct(lo)}-{pct(hi)})" for a, (lo, hi) in
                   zip(held["state_agreement_per_layer"], ci["state_agreement_per_layer"],
                       strict=True))
         + "; " + ", ".join(pct(a) for a in c["ideal"]["state_agreement_per_layer"])),
        *([("device-only netlist: state bits per layer, decisions",
             ", ".join(pct(a) for a in devices["realised"]["state_agreement_per_layer"])
             + f"; {devices['realised']['decisions_agreeing']}/{devices['utterances']}")]
          if devices else []),
        ("class decisions agreeing (95 % CI)",
         f"{held['decisions_agreeing']}/{c['utterances']} "
         f"({pct(ci['decision_agreement'][0])}-{pct(ci['decision_agreement'][1])})"),
        ("accuracy: model (realised / checkpoint's values) / tile / always the commonest class",
         f"{pct(held['model_accuracy'])} / {pct(c['ideal']['model_accuracy'])} / "
         f"{pct(c['hardware_accuracy'])} / {pct(c['baseline_accuracy'])}"),
        ("candidate-current error per layer (mean abs)",
         ", ".join(f"{e:.3f} nA" for e in held["candidate_mae_na_per_layer"])),
        ("output-current error (mean abs)", f"{held['output_mae_na']:.3f} nA"),
        ("simulated supply power", f"{c['power_nw']['mean']:.0f} nW mean at "
                                   f"{c['i_unit_na']:g} nA per unit "
                                   f"({c['power_nw']['min']:.0f}-{c['power_nw']['max']:.0f}): "
         + ", ".join(f"{part.replace('_', ' ')} {nw:.0f} nW"
                     for part, nw in c["power_nw"]["by_part"].items())),
        ("worst utterances (state agreement per layer)",
         "; ".join(f"{w['name']} " + "/".join(pct(a) for a in w["state_agreement"])
                   for w in c["worst"][:3])),
        ("agreement targets (not a pass/fail of the flow)", verdict),
        # 17 conditions x 10 utterances with parasitics take ~25 min: a benchmark, not every
        # flow run
        ("PVT (corners, -40/27/125 °C, VDD ±10 %)",
         "python benchmarks/bench_pvt.py --pex --draw-rail --rail-generator (docs/pvt.md)"),
    ]


def run(
    checkpoint: str | Path | Checkpoint,
    outdir: str | Path,
    utterances: list[Utterance] | None = None,
    frame_s: float = FRAME_S,
    executor: Executor | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    force: bool = False,
    max_devices: int = DEFAULT_MAX_DEVICES,
    sample: str | None = None,
    pex: bool = False,
    tables: Tables | None = None,
    source_rail: bool = False,
    rail_generator: RailGeneratorParams | None = None,
) -> FlowResult:
    """Build the tile of ``checkpoint``, check it, extract it, compare it, report into ``outdir``.

    Args:
        checkpoint: The checkpoint (a path is read once: :func:`~bmru_pdk.model.open_checkpoint`).
        outdir: Output folder: new, or one this tool wrote (:func:`~bmru_pdk.fileio.output_dir`).
        utterances: Inputs for the post-layout compare; ``None`` or empty skips it.
        frame_s: Frame period of the compare's simulations, s.
        executor: Where the compare's simulations run; ``None``: in this process.
        progress: Called with (step, done, total) when a step of :data:`STEPS` starts
            (done 0) and ends, and after each simulation.
        force: Write beside files the tool did not write (never removing them).
        max_devices: Largest tile to build, in transistors.
        sample: Name of the utterances' sample, for the report.
        pex: Extract parasitic capacitances (KLayout-PEX, ``pex.spice``) and compare on
            that netlist, with the device-only figures beside.
        tables: Characterisation tables to map with (``None``: the package's).
        source_rail: Draw the NMOS source rail (pin ``vsn``, held at 0 V in the compare).
        rail_generator: Draw this generator of the rail in the tile (needs ``source_rail``):
            in the compare it holds the rail, its set current on pin ``iset``.
    """
    from bmru_pdk.analyses import compare
    from bmru_pdk.analyses import testbench as tb
    from bmru_pdk.layouts.tile import build_tile, write_tile
    from bmru_pdk.model.checkpoint import open_checkpoint
    from bmru_pdk.verification import drc, lvs

    def report(step: str, done: int, total: int = 1) -> None:
        if progress:
            progress(step, done, total)

    checkpoint = open_checkpoint(checkpoint)
    outdir = Path(outdir)
    with output_dir(outdir, force=force) as tmp:
        report("tile", 0)
        build = write_tile(build_tile(checkpoint, tables, max_devices, source_rail=source_rail,
                                      rail_generator=rail_generator), tmp)
        gds = tmp / "tile.gds"
        report("tile", 1)
        report("DRC", 0)
        d = drc.run(gds, tmp / "drc.lyrdb")
        report("DRC", 1)
        report("LVS", 0)
        v = lvs.run(gds, tmp / "tile.spice", lvsdb=tmp / "lvs.lvsdb")
        report("LVS", 1)
        x = compare.extract_tile(build, tmp, pex, report)
        figures = {
            "checkpoint": str(checkpoint.path),
            "tile": {**build.summary, "build_s": round(build.seconds, 2)},
            "drc": {"clean": d.clean, "counts": d.counts, "runtime_s": round(d.runtime_s, 1)},
            "lvs": {"match": v.match, "mismatches": [m.message for m in v.mismatches],
                    "runtime_s": round(v.runtime_s, 2)},
            "extract": {"devices": x.devices.devices,
                        "runtime_s": round(x.devices.runtime_s, 2)},
        }
        if x.pex is not None:
            figures["pex"] = json.loads(x.pex.to_json()) | {"gds": "tile.gds"}
        if utterances:
            (tmp / "compare").mkdir()
            # the tile built, checked and extracted above, not a second copy
            c = compare.compare_extracted(build, x, utterances, tmp / "compare",
                                          frame_s=frame_s,
                                          progress=lambda k, n: report("simulations", k, n),
                                          executor=executor, sample=sample,
                                          condition=tb.NOMINAL if rail_generator is None
                                          else tb.generated_rail(params=rail_generator))
            figures["compare_failed"] = c["failed"]
            if c["utterances"]:
                figures["compare"] = {
                    **{k: c[k] for k in ("sample", "netlist", "utterances", "frame_s", "i_unit_na",
                                         "sim_s_per_utterance", "ideal", "realised",
                                         "hardware_accuracy", "baseline_accuracy", "power_nw",
                                         "worst")},
                    "device_only": c.get("device_only"),
                    "targets": compare.target_check(c),
                    "plot": f"compare/{c['worst'][0]['index']:03d}.png",
                }
        (tmp / "flow.json").write_text(json.dumps(figures, indent=2) + "\n")
        (tmp / "report.md").write_text(render_report(figures))
    return FlowResult(outdir, dataclasses.replace(build, outdir=outdir), d, v, x, figures)
