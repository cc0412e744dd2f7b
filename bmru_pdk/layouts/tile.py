"""Tiles from checkpoints: the ``bmru_tile`` gf cell and the ``bmru tile`` job.

The tile is hierarchical: each distinct library cell (per parameter set) is one cell,
placed as instances and routed at the top (:mod:`bmru_pdk.layouts.floorplan`). Its
schematic comes from the same :class:`~bmru_pdk.circuits.design.TileDesign`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb

from bmru_pdk.cells import library
from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES, check_budget
from bmru_pdk.circuits.design import VDD_V, TileDesign, design
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import check_output_dir, output_dir
from bmru_pdk.layers import LABELS, LAYER
from bmru_pdk.layouts.floorplan import LABEL_INSET, Placement, place_and_route
from bmru_pdk.layouts.lef import lef
from bmru_pdk.layouts.verilog import verilog
from bmru_pdk.model.checkpoint import read_checkpoint

FILES = ("tile.gds", "tile.spice", "tile.lvs.spice", "tile.lef", "tile.v", "mapping.csv",
         "mapping.json", "summary.json")


def tile_layout(tile: TileDesign) -> gf.Component:
    """Place and route the parts of ``tile``; ports are the tile pins (metal3, west edge).

    ``info`` holds the schematic (simulation and LVS forms), device count, area (µm²),
    boundary, LEF, Verilog, mapping rows and the supply estimate, so a component alone can
    write every output file.
    """
    c = gf.Component()
    rows = [[Placement(p.name, getattr(library, p.cell)(**p.settings), p.nets) for p in row]
            for row in tile.rows]
    boundary = place_and_route(c, rows, [p.name for p in tile.pins])
    circuit = tile.circuit
    # named by content, not by the checkpoint's path: same network, same bytes
    c.name = f"{circuit.name}_{hashlib.sha1(circuit.to_spice().encode()).hexdigest()[:8]}"
    circuit = circuit.model_copy(update={"name": c.name})
    spice = circuit.to_spice()
    c.info.update({"spice": spice, "lvs_spice": circuit.to_spice("lvs"),
                   "devices": len(circuit.flat_devices()),
                   "parts": sum(len(row) for row in tile.rows),
                   "area_um2": round(boundary[2] * boundary[3], 2),
                   "boundary": list(boundary), "lef": lef(c, tile.pins, boundary),
                   "verilog": verilog(c.name, tile.pins),
                   "mapping": [asdict(m) for m in tile.mapping], "supply_na": tile.supply_na,
                   "unit_device_um": [tile.unit.w, tile.unit.l],
                   "mirror_sigma": tile.mirror_sigma})
    return c


# SHA-256 of a checkpoint -> a file holding those bytes: the tile cache is keyed on content
_SOURCES: dict[str, str] = {}


@gf.cell(set_name=False)
def _tile_of_content(sha256: str, max_devices: int) -> gf.Component:
    """The tile of the checkpoint whose content is ``sha256`` (any file holding it)."""
    checkpoint = _SOURCES[sha256]
    check_budget(read_checkpoint(checkpoint)[0].architecture, max_devices)
    return tile_layout(design(checkpoint))


def bmru_tile(checkpoint: str, max_devices: int = DEFAULT_MAX_DEVICES) -> gf.Component:
    """FQ-BMRU network tile of a checkpoint: bias generator, weight arrays, BMRU units, readout.

    Ports (metal3, west edge, labelled): ``x0``.. input currents, ``y0``.. output currents,
    ``iref`` reference current (one unit current in), ``vdd``, ``vss``. Cached by the checkpoint's
    content within a process: a checkpoint rewritten in place gives its new tile.

    Args:
        checkpoint: path of the ``.safetensors`` checkpoint.
        max_devices: refuse, before building, a network whose tile would exceed this many
            transistors (:func:`~bmru_pdk.circuits.budget.check_budget`).

    Raises:
        BmruError: unreadable or invalid checkpoint, a network too large to build, or a
            parameter the mirrors cannot realise.
    """
    try:
        digest = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    except OSError as exc:
        raise BmruError(f"cannot read checkpoint {checkpoint}: {exc.strerror}") from None
    _SOURCES[digest] = str(checkpoint)
    return _tile_of_content(sha256=digest, max_devices=max_devices)


def tile_from_checkpoint(path: str | os.PathLike[str],
                         max_devices: int = DEFAULT_MAX_DEVICES) -> gf.Component:
    """The tile of the checkpoint at ``path`` (see :func:`bmru_tile`)."""
    return bmru_tile(checkpoint=str(path), max_devices=max_devices)


def _canonical(c: gf.Component) -> kdb.Layout:
    """``c``'s cell tree alone in a new layout, cells and layers created in name order: the
    file no longer depends on what else the process built before."""
    tree = kdb.Layout()
    tree.dbu = c.kcl.dbu
    tree.create_cell(c.name).copy_tree(c.kdb_cell)
    out = kdb.Layout()
    out.dbu = tree.dbu
    cells = {s.cell_index(): out.create_cell(s.name).cell_index()
             for s in sorted(tree.each_cell(), key=lambda x: x.name)}
    layers = {i: out.layer(tree.get_info(i)) for i in sorted(
        tree.layer_indexes(), key=lambda i: (tree.get_info(i).layer, tree.get_info(i).datatype))}
    for src in tree.each_cell():
        dst = out.cell(cells[src.cell_index()])
        for i, j in layers.items():
            dst.shapes(j).insert(src.shapes(i))
        # KLayout stores instances by cell index, which depends on the build history
        for inst in sorted(src.each_inst(), key=lambda i: (i.cell.name, str(i.cell_inst))):
            array = inst.cell_inst.dup()
            array.cell_index = cells[array.cell_index]
            dst.insert(array)
    return out


def write_gds(c: gf.Component, path: str | os.PathLike[str]) -> Path:
    """Write ``c`` deterministically (:func:`_canonical`, no timestamps) and without
    gdsfactory's context cell, which Debian's klayout rejects: same tile, same bytes."""
    options = kdb.SaveLayoutOptions()
    options.write_context_info = False
    options.gds2_write_timestamps = False
    _canonical(c).write(str(path), options)
    return Path(path)


def import_tile(path: str | os.PathLike[str]) -> gf.Component:
    """Read a ``tile.gds`` back as a component with its ports, rebuilt from the pin labels
    (the file carries no gdsfactory metadata)."""
    from bmru_pdk.cells.router import PAD

    c = gf.import_gds(path)
    texts = c.kdb_cell.shapes(c.kcl.layer(*LABELS[LAYER.metal3]))
    for t in texts.each(kdb.Shapes.STexts):
        x, y = t.dtext.x, t.dtext.y
        c.add_port(t.text_string, center=(x - LABEL_INSET, y), width=PAD, orientation=180,
                   layer=LAYER.metal3, port_type="electrical")
    return c


@dataclass(frozen=True)
class TileFiles:
    """What ``bmru tile`` wrote."""

    outdir: Path
    name: str
    devices: int
    area_um2: float
    seconds: float


def _mapping_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_tile(checkpoint: str | os.PathLike[str], outdir: str | os.PathLike[str],
               force: bool = False, max_devices: int = DEFAULT_MAX_DEVICES) -> TileFiles:
    """Write the tile of ``checkpoint`` into ``outdir`` (:data:`FILES`), all or nothing.

    Args:
        checkpoint: The ``.safetensors`` checkpoint.
        outdir: Output folder: new, or one this tool wrote (:func:`~bmru_pdk.fileio.output_dir`).
        force: Write beside files the tool did not write (never removing them).
        max_devices: Largest tile to build, in transistors.
    """
    import bmru_pdk

    start = time.perf_counter()
    # the cheap refusals first: a bad checkpoint or output folder before any build
    check_budget(read_checkpoint(checkpoint)[0].architecture, max_devices)
    check_output_dir(outdir, force)
    bmru_pdk.PDK.activate()
    c = tile_from_checkpoint(checkpoint, max_devices)
    info = c.info
    supply = dict(info["supply_na"])
    summary = {"cell": c.name, "checkpoint": Path(checkpoint).name, "devices": info["devices"],
               "area_um2": info["area_um2"], "size_um": info["boundary"][2:],
               "parts": info["parts"], "cells": len(c.called_cells()) + 1,
               "unit_device_um": info["unit_device_um"], "mirror_sigma": info["mirror_sigma"],
               "supply_v": VDD_V, "supply_na": supply,
               "power_nw": {k: round(v * VDD_V, 3) for k, v in supply.items()},
               "power_total_nw": round(sum(supply.values()) * VDD_V, 3)}
    outdir = Path(outdir)
    with output_dir(outdir, force=force) as tmp:
        write_gds(c, tmp / "tile.gds")
        (tmp / "tile.spice").write_text(f"* {c.name}\n{info['spice']}")
        (tmp / "tile.lvs.spice").write_text(f"* {c.name}, M cards for the gf180mcu LVS deck\n"
                                            f"{info['lvs_spice']}")
        (tmp / "tile.lef").write_text(info["lef"])
        (tmp / "tile.v").write_text(info["verilog"])
        (tmp / "mapping.csv").write_text(_mapping_csv(info["mapping"]))
        (tmp / "mapping.json").write_text(json.dumps(info["mapping"], indent=1) + "\n")
        (tmp / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return TileFiles(outdir, c.name, info["devices"], info["area_um2"],
                     time.perf_counter() - start)
