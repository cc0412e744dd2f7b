"""Tiles from checkpoints: the ``bmru_tile`` gf cell and the ``bmru tile`` job.

The tile is hierarchical: each distinct library cell (per parameter set) is one cell,
placed as instances and routed at the top (:mod:`bmru_pdk.layouts.floorplan`). Its
schematic comes from the same :class:`~bmru_pdk.circuits.design.TileDesign`.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import gdsfactory as gf
import klayout.db as kdb

from bmru_pdk.cells import crossbar, library
from bmru_pdk.circuits import builders
from bmru_pdk.circuits.budget import DEFAULT_MAX_DEVICES, check_budget
from bmru_pdk.circuits.characterize import Tables
from bmru_pdk.circuits.design import TileDesign, design, realise
from bmru_pdk.circuits.mapping import tables_for
from bmru_pdk.circuits.model import Circuit, clock_guards
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import check_output_dir, output_dir
from bmru_pdk.layers import LABELS, LAYER
from bmru_pdk.layouts.aspect import ASPECT, check_aspect, check_unit_rows
from bmru_pdk.layouts.floorplan import LABEL_INSET, Placement, place_and_route, row_width
from bmru_pdk.layouts.lef import lef
from bmru_pdk.layouts.verilog import verilog
from bmru_pdk.model.checkpoint import Checkpoint, open_checkpoint
from bmru_pdk.tech import VDD_V

FILES = ("tile.gds", "tile.spice", "tile.lvs.spice", "tile.lef", "tile.v", "mapping.csv",
         "mapping.json", "summary.json")


# The library cell of each kind of part, by the typed parameters its schematic came from
CELLS: dict[type, Callable[..., gf.Component]] = {
    builders.WeightArrayParams: library.weight_array,
    builders.UnitParams: library.bmru_unit,
    builders.BiasParams: library.bias_generator,
    builders.RailGeneratorParams: library.rail_generator,
}


def _placements(tile: TileDesign, aspect: float, unit_rows: int) -> list[list[Placement]]:
    """Every part's library cell (the units in ``unit_rows`` rows); the weight arrays banded
    to the row width that gives the tile ``aspect``
    (:func:`~bmru_pdk.layouts.floorplan.row_width`), where that differs from their default
    outline."""
    parts = [p for row in tile.rows for p in row]
    arrays = {p.name: p for p in parts if isinstance(p.params, builders.WeightArrayParams)}
    cells = {p.name: CELLS[type(p.params)](
        **p.settings, **({"rows": unit_rows} if isinstance(p.params, builders.UnitParams)
                         else {}))
        for p in parts if p.name not in arrays}
    shapes = {name: crossbar.shape(p.circuit, len(p.params.ratios)) for name, p in arrays.items()}
    others = [[Placement(p.name, cells[p.name], p.nets) for p in row] for row in tile.rows
              if row[0].name not in arrays]
    width = row_width(list(shapes.values()), others, aspect)
    for name, part in arrays.items():
        band = shapes[name].band(width)
        wider = band < crossbar.BAND or shapes[name].rails > crossbar.BAND
        cells[name] = library.weight_array(**part.settings, **({"band": band} if wider else {}))
    return [[Placement(p.name, cells[p.name], p.nets) for p in row] for row in tile.rows]


def tile_layout(tile: TileDesign, aspect: float = ASPECT, unit_rows: int = 1) -> gf.Component:
    """Place and route the parts of ``tile``; ports are the tile pins on metal3, the outputs
    on the east edge, every other pin on the west edge.

    Named by content (a hash of its schematic, and of ``aspect`` and ``unit_rows`` where not
    the default), not by the checkpoint's path: the same network gives the same cell, built
    once per layout. ``info`` holds the schematic, the device count, the area (µm²), the
    boundary and the unit rows, for a user placing the component.

    Args:
        tile: The typed tile description.
        aspect: Height : width the floorplan aims at (weight arrays banded to suit).
        unit_rows: Rows each unit is drawn in: 1, or 2 (NMOS under PMOS, about half as
            wide; :func:`~bmru_pdk.cells.library.bmru_unit`).
    """
    circuit = tile.circuit
    key = (circuit.to_spice() + ("" if aspect == ASPECT else f"\n* aspect {aspect}")
           + ("" if unit_rows == 1 else f"\n* unit rows {unit_rows}"))
    name = f"{circuit.name}_{hashlib.sha1(key.encode()).hexdigest()[:8]}"
    if gf.kcl.layout.cell(name) is not None:  # built before in this layout: the same cell
        return gf.Component(base=gf.kcl[name].base)
    c = gf.Component()
    rows = _placements(tile, aspect, unit_rows)
    rings = [p.name for role in ("ground", "supply") for p in tile.pins if p.role == role]
    outputs = [p.name for p in tile.pins if p.role == "output"]
    boundary = place_and_route(c, rows, [p.name for p in tile.pins], rings, east=outputs,
                               guards=clock_guards(tile.pins))
    c.name = name
    c.info.update({"spice": circuit.model_copy(update={"name": name}).to_spice(),
                   "devices": len(circuit.flat_devices()),
                   "area_um2": round(boundary[2] * boundary[3], 2),
                   "boundary": list(boundary), "unit_rows": unit_rows})
    return c


def bmru_tile(checkpoint: str, max_devices: int = DEFAULT_MAX_DEVICES,
              aspect: float = ASPECT, source_rail: bool = False,
              rail_generator: bool = False, unit_rows: int = 1) -> gf.Component:
    """FQ-BMRU network tile of a checkpoint: bias generator, weight arrays, BMRU units, readout.

    Ports (metal3, labelled): ``x0``.. input currents, ``iref`` reference current (one unit
    current in), ``vdd``, ``vss`` (and ``vsn``) on the west edge; ``y0``.. output currents
    on the east edge. Mapped with the package's characterisation tables (:func:`build_tile`
    takes others).

    Args:
        checkpoint: path of the ``.safetensors`` checkpoint.
        max_devices: refuse, before building, a network whose tile would exceed this many
            transistors (:func:`~bmru_pdk.circuits.budget.check_budget`).
        aspect: height : width the floorplan aims at.
        source_rail: draw the NMOS source rail, pin ``vsn`` with a power ring of its own.
        rail_generator: draw the rail's generator (its defaults,
            :class:`~bmru_pdk.circuits.RailGeneratorParams`) beside the bias generator;
            needs ``source_rail``.
        unit_rows: rows each unit is drawn in (1, or 2: NMOS under PMOS).

    Raises:
        BmruError: unreadable or invalid checkpoint, a network too large to build, a
            parameter the mirrors cannot realise, or ``unit_rows`` other than 1 or 2.
    """
    return build_tile(open_checkpoint(checkpoint), max_devices=max_devices, aspect=aspect,
                      source_rail=source_rail,
                      rail_generator=builders.RailGeneratorParams() if rail_generator else None,
                      unit_rows=unit_rows).component


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
    middle = c.dbbox().center().x
    texts = c.kdb_cell.shapes(c.kcl.layer(*LABELS[LAYER.metal3]))
    for t in texts.each(kdb.Shapes.STexts):
        x, y = t.dtext.x, t.dtext.y
        west = x < middle
        c.add_port(t.text_string, center=(x - LABEL_INSET if west else x + LABEL_INSET, y),
                   width=PAD, orientation=180 if west else 0, layer=LAYER.metal3,
                   port_type="electrical")
    return c


@dataclass(frozen=True)
class TileBuild:
    """The tile of one checkpoint: the design, its component and everything written of it.

    Attributes:
        checkpoint: The checkpoint it was built from.
        design: The typed tile description (parts, pins, parameter map, supply estimate).
        tables: The characterisation tables it was mapped with (its operating point).
        component: The layout.
        seconds: Build time (design, layout), s.
        outdir: Where :func:`write_tile` put its files (``None``: not written).
    """

    checkpoint: Checkpoint
    design: TileDesign
    tables: Tables
    component: gf.Component
    seconds: float
    outdir: Path | None = None

    @property
    def name(self) -> str:
        """The tile's cell name (content-derived)."""
        return self.component.name

    @property
    def schematic(self) -> Circuit:
        """The tile's schematic, named as its cell, each part's subcircuit named as the
        layout cell drawn of it: LVS pairs the two by name and compares each part once."""
        cells = {inst.name: inst.cell.name for inst in self.component.insts}
        circuit = self.design.circuit
        instances = [i.model_copy(update={"circuit": i.circuit.model_copy(
            update={"name": cells[i.name]})}) for i in circuit.instances]
        return circuit.model_copy(update={"name": self.name, "instances": instances})

    @property
    def devices(self) -> int:
        """Transistors (a series stack counts each of its gates)."""
        return sum(d.transistors for d in self.design.circuit.flat_devices())

    def mapping_at(self, tables: Tables) -> list[dict]:
        """The parameter -> element table with the values this tile's drawn ratios realise
        under ``tables`` (another corner, temperature or supply): the condition twin's."""
        params = self.checkpoint.circuit_parameters()
        return [asdict(m) for m in realise(self.design, params, tables)]

    @property
    def boundary(self) -> tuple[float, float, float, float]:
        """(x0, y0, width, height) of the tile, µm, lower-left corner at the origin."""
        return tuple(self.component.info["boundary"])  # type: ignore[return-value]

    @property
    def area_um2(self) -> float:
        """Boundary area, µm²."""
        return round(self.boundary[2] * self.boundary[3], 2)

    @property
    def mapping(self) -> list[dict]:
        """The parameter -> element table, one row per learned parameter."""
        return [asdict(m) for m in self.design.mapping]

    @property
    def summary(self) -> dict:
        """What ``summary.json`` holds (stable keys)."""
        supply = dict(self.design.supply_na)
        return {"cell": self.name, "checkpoint": self.checkpoint.name, "devices": self.devices,
                "area_um2": self.area_um2, "size_um": list(self.boundary[2:]),
                "aspect": round(self.boundary[3] / self.boundary[2], 3),
                "unit_rows": self.component.info["unit_rows"],
                "parts": sum(len(row) for row in self.design.rows),
                "cells": len(self.component.called_cells()) + 1,
                "unit_device_um": [self.design.unit.w, self.design.unit.l],
                "source_rail": self.design.source_rail,
                "rail_generator": self.design.rail_generator is not None,
                "mirror_sigma": self.design.mirror_sigma,
                "supply_v": VDD_V, "supply_na": supply,
                "power_nw": {k: round(v * VDD_V, 3) for k, v in supply.items()},
                "power_total_nw": round(sum(supply.values()) * VDD_V, 3)}


def _mapping_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def build_tile(checkpoint: Checkpoint, tables: Tables | None = None,
               max_devices: int = DEFAULT_MAX_DEVICES, aspect: float = ASPECT,
               source_rail: bool = False,
               rail_generator: builders.RailGeneratorParams | None = None,
               unit_rows: int = 1) -> TileBuild:
    """Design and lay out the tile of ``checkpoint``.

    Args:
        checkpoint: The checkpoint, read once (:func:`~bmru_pdk.model.open_checkpoint`).
        tables: Characterisation tables to map with (``None``: the package's of the
            network's grid, :func:`~bmru_pdk.circuits.mapping.tables_for`).
        max_devices: Largest tile to build, in transistors (refused before any work).
        aspect: Height : width the floorplan aims at, within :data:`ASPECTS`.
        source_rail: Draw the NMOS source rail: pin ``vsn`` (every NMOS mirror source, with
            a metal4 ring between ``vss``'s and ``vdd``'s), bulks on ``vss``.
        rail_generator: Draw this generator of the rail in the tile (needs ``source_rail``).
        unit_rows: Rows each unit is drawn in: 1, or 2 (NMOS under PMOS, about half as wide).

    Raises:
        BmruError: a network too large to build, a parameter the mirrors cannot realise, an
            aspect ratio out of range, ``unit_rows`` other than 1 or 2, tables that do not
            draw the levels the network was trained on, tables made on an NMOS source rail
            for a tile that does not draw one (its NMOS sources are on vss), or a generator
            without the rail.
    """
    start = time.perf_counter()
    check_aspect(aspect)
    check_unit_rows(unit_rows)
    check_budget(checkpoint.meta.architecture, max_devices)
    tables = tables_for(checkpoint.meta.realisability, tables)
    if tables.source_rail_v and not source_rail:
        raise BmruError(f"the tables were characterised with the NMOS sources on a "
                        f"{tables.source_rail_v:g} V rail, which this tile does not draw: "
                        "draw it (--draw-rail) or map with tables made on ground")
    tile = design(checkpoint, tables, source_rail, rail_generator)
    return TileBuild(checkpoint, tile, tables, tile_layout(tile, aspect, unit_rows),
                     time.perf_counter() - start)


def write_tile(build: TileBuild, outdir: str | os.PathLike[str], force: bool = False) -> TileBuild:
    """Write ``build``'s files (:data:`FILES`) into ``outdir``, all or nothing.

    Args:
        build: The tile.
        outdir: Output folder: new, or one this tool wrote (:func:`~bmru_pdk.fileio.output_dir`).
        force: Write beside files the tool did not write (never removing them).

    Returns:
        ``build`` with its ``outdir``.
    """
    outdir = Path(outdir)
    schematic = build.schematic
    with output_dir(outdir, force=force) as tmp:
        write_gds(build.component, tmp / "tile.gds")
        (tmp / "tile.spice").write_text(f"* {build.name}\n{schematic.to_spice()}")
        (tmp / "tile.lvs.spice").write_text(f"* {build.name}, M cards for the gf180mcu LVS "
                                            f"deck\n{schematic.to_spice('lvs')}")
        (tmp / "tile.lef").write_text(lef(build.component, build.design.pins, build.boundary))
        (tmp / "tile.v").write_text(verilog(build.name, build.design.pins))
        (tmp / "mapping.csv").write_text(_mapping_csv(build.mapping))
        (tmp / "mapping.json").write_text(json.dumps(build.mapping, indent=1) + "\n")
        (tmp / "summary.json").write_text(json.dumps(build.summary, indent=2) + "\n")
    return dataclasses.replace(build, outdir=outdir)


def tile_files(checkpoint: str | os.PathLike[str] | Checkpoint, outdir: str | os.PathLike[str],
               force: bool = False, max_devices: int = DEFAULT_MAX_DEVICES,
               tables: Tables | None = None, aspect: float = ASPECT,
               source_rail: bool = False,
               rail_generator: builders.RailGeneratorParams | None = None,
               unit_rows: int = 1) -> TileBuild:
    """The ``bmru tile`` job: read the checkpoint, build its tile, write it into ``outdir``.

    The cheap refusals come first: a bad checkpoint, a network over ``max_devices``, an
    aspect ratio out of range or an output folder holding files of the user's end the job
    before any build.
    """
    ckpt = open_checkpoint(checkpoint)
    check_aspect(aspect)
    check_unit_rows(unit_rows)
    check_budget(ckpt.meta.architecture, max_devices)
    check_output_dir(outdir, force)
    return write_tile(build_tile(ckpt, tables, max_devices, aspect, source_rail,
                                 rail_generator, unit_rows), outdir, force=force)
