"""The circuit cell library as layout: each cell builds its :class:`Circuit` from typed
parameters and draws it (:func:`circuit_layout`), so layout and schematic share one source.

Every cell's ports are the circuit's pins (metal3, west end of the pin's track, labelled
for LVS); ``c.info["spice"]`` holds the circuit's schematic (:func:`schematic`).
"""

from __future__ import annotations

from typing import Literal

import gdsfactory as gf

from bmru_pdk.cells.crossbar import BAND, draw_crossbar
from bmru_pdk.cells.placer import Placement, place_row
from bmru_pdk.cells.router import next_row_y, route
from bmru_pdk.circuits import builders
from bmru_pdk.circuits.model import NFET, PFET, Circuit, clock_guards
from bmru_pdk.circuits.sizing import UNIT, UnitDevice

_KIND = {"nfet": NFET, "pfet": PFET}


def _unit(unit_um: float, diode_gates: int = 1, cascodes: bool = False) -> UnitDevice:
    return UnitDevice(w=unit_um, l=unit_um, diode_gates=diode_gates, cascodes=cascodes)


def circuit_layout(circuit: Circuit, placement: Placement = "grouped",
                   dummies: bool = False, rows: list[list[str]] | None = None) -> gf.Component:
    """Place and route every transistor of ``circuit`` (instances flattened) in rows.

    The device cells stay instances. ``info`` records the schematic, the circuit name, the
    device count and the area (µm²).

    Args:
        circuit: what to draw.
        placement: ``grouped``, ``interdigitated`` or ``centroid`` (see
            :mod:`bmru_pdk.cells.placer`).
        dummies: dummy poly gates at both ends of every device.
        rows: device names of each row, bottom-up, every device once; default one row.
    """
    c = gf.Component()
    devices = circuit.flat_devices()
    by_name = {d.name: d for d in devices}
    groups = [[by_name[n] for n in row] for row in rows] if rows else [devices]
    if sorted(d.name for g in groups for d in g) != sorted(by_name):
        raise ValueError(f"rows of {circuit.name} must hold every device once")
    guards = clock_guards(circuit.pins)
    placed = [place_row(c, groups[0], placement, dummies)]
    for group in groups[1:]:
        placed.append(place_row(c, group, placement, dummies,
                                next_row_y(placed[-1], group, guards)))
    route(c, placed, [p.name for p in circuit.pins], guards)
    return _record(c, circuit)


def _record(c: gf.Component, circuit: Circuit) -> gf.Component:
    """``c`` with the schematic, circuit name, device count and area (µm²) in ``info``."""
    c.info.update({"circuit": circuit.name, "spice": circuit.to_spice(),
                   "devices": len(circuit.flat_devices()),
                   "area_um2": round(c.xsize * c.ysize, 2)})
    return c


def schematic(component: gf.Component) -> str:
    """The SPICE schematic (``.subckt`` blocks) a library cell was drawn from."""
    return component.info["spice"]


@gf.cell
def current_mirror(kind: Literal["nfet", "pfet"] = "nfet",
                   ratios: tuple[float, ...] = (1.0, 2.0),
                   placement: Placement = "grouped", dummies: bool = False,
                   unit_um: float = UNIT.w, diode_gates: int = 1,
                   source_rail: bool = False) -> gf.Component:
    """Current mirror: diode-connected input and one output per ratio.

    Ports: ``in``, ``out0``.., ``vss`` (and ``vsn``; NMOS) or ``vdd`` (PMOS).

    Args:
        kind: ``nfet`` (input and outputs sink) or ``pfet`` (they source).
        ratios: output width / diode width, one per output.
        placement: ``grouped`` (one block per transistor), ``interdigitated`` (unit
            fingers of the diode and the outputs dealt out in turn) or ``centroid`` (the
            diode in the middle, each output's fingers in mirrored pairs around it: a linear
            gradient cancels; docs/circuits.md).
        dummies: dummy poly gates at both ends of every device (edge effects).
        unit_um: side of the square unit device every mirror is drawn from, µm.
        diode_gates: unit gates of every diode; above 1 every ratio is k of them, whole
            gates only (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        source_rail: every NMOS mirror source on port ``vsn``, bulks on ``vss`` (the rail a
            hot tile holds above ground).
    """
    return circuit_layout(builders.current_mirror(builders.MirrorParams(
        kind=_KIND[kind], ratios=list(ratios), unit=_unit(unit_um, diode_gates),
        source_rail=source_rail)),
        placement, dummies)


@gf.cell
def bias_generator(outputs: tuple[tuple[str, float, Literal["sink", "source"]], ...] = (),
                   unit_um: float = UNIT.w, diode_gates: int = 1,
                   source_rail: bool = False, cascodes: bool = False) -> gf.Component:
    """Bias generator: reference diode on ``vbn``, PMOS line ``vbp``, optional outputs.

    Ports: ``vbn`` (reference current in), ``vbp``, one per output, ``vdd``, ``vss`` (and
    ``vsn``); with ``cascodes`` the cascodes' lines ``vbnc`` (now the reference's way in)
    and ``vbpc``.

    Args:
        outputs: (name, ratio to the reference, ``sink`` or ``source``) per output.
        unit_um: side of the square unit device every mirror is drawn from, µm.
        diode_gates: unit gates of every diode; above 1 every ratio is k of them, whole
            gates only (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        source_rail: every NMOS mirror source on port ``vsn``, bulks on ``vss`` (the rail a
            hot tile holds above ground).
        cascodes: the cascodes' replicas and lines, and the drain-matching cascodes of the
            PMOS line's copy and the PMOS outputs.
    """
    return circuit_layout(builders.bias_generator(builders.BiasParams(outputs=[
        builders.BiasOutput(name=n, ratio=r, flow=f) for n, r, f in outputs],
        unit=_unit(unit_um, diode_gates, cascodes), source_rail=source_rail)))


@gf.cell
def bmru_cell(r_thresh: float = 2.0, r_width: float = 0.8, r_gain: float = 1.0,
              unit_um: float = UNIT.w, diode_gates: int = 1,
              source_rail: bool = False, keeper: bool = False, cascodes: bool = False,
              held: bool = False) -> gf.Component:
    """The hysteretic FQ-BMRU cell (9 transistors, input diode, output copy).

    Ports: ``in`` (candidate current, sourced), ``vbn``, ``out``, ``vdd``, ``vss`` (and
    ``vsn``; ``clk`` when ``held``).

    Args:
        r_thresh: I_thresh (beta_hi) / reference, the width ratio of ``M2``.
        r_width: I_width (delta) / reference, of ``M8``; below ``r_thresh``.
        r_gain: I_gain (alpha) / reference, of ``M5``.
        unit_um: side of the square unit device every mirror is drawn from, µm.
        diode_gates: unit gates of every diode; above 1 every ratio is k of them, whole
            gates only (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        source_rail: every NMOS mirror source on port ``vsn``, bulks on ``vss`` (the rail a
            hot tile holds above ground).
        keeper: draw the keeper of the output switch's tail node, ``MK``
            (:class:`~bmru_pdk.circuits.builders.CellParams`).
        cascodes: the drain-matching cascodes of the switch tails and the output, on ports
            ``vbnc``, ``vbpc`` (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        held: the output holds the state sampled at each rising edge of port ``clk``
            (:func:`~bmru_pdk.circuits.builders.sampler`).
    """
    return circuit_layout(builders.bmru_cell(builders.CellParams(
        r_thresh=r_thresh, r_width=r_width, r_gain=r_gain,
        unit=_unit(unit_um, diode_gates, cascodes), source_rail=source_rail, keeper=keeper,
        held=held)))


@gf.cell
def relu_node(unit_um: float = UNIT.w, diode_gates: int = 1,
              source_rail: bool = False, cascodes: bool = False) -> gf.Component:
    """Summing node with ReLU: NMOS diode on ``sum`` and its copy sinking from ``c``.

    Ports: ``sum``, ``c``, ``vss`` (and ``vsn``).

    Args:
        unit_um: side of the square unit device every mirror is drawn from, µm.
        diode_gates: unit gates of every diode; above 1 every ratio is k of them, whole
            gates only (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        source_rail: every NMOS mirror source on port ``vsn``, bulks on ``vss`` (the rail a
            hot tile holds above ground).
        cascodes: the copy's drain-matching cascode, on port ``vbnc``.
    """
    return circuit_layout(builders.relu_node(builders.ReluParams(
        unit=_unit(unit_um, diode_gates, cascodes), source_rail=source_rail)))


@gf.cell
def rail_generator(replicas: int = 128, follower_bias: int = 16, sink: float = 0.125,
                   cap: int = 12, replica_block: int = 16, unit_um: float = UNIT.w
                   ) -> gf.Component:
    """Generator of the NMOS source rail: a leakage servo of OFF replicas and the flipped
    voltage follower that holds the rail (:func:`bmru_pdk.circuits.builders.rail_generator`).

    The replicas fill rows of two blocks at the bottom; above them the servo's NMOS, the
    follower and its bias, then the PMOS copy of the replicas' leakage and the capacitor.
    Ports: ``vsn`` (the rail), ``iset`` (set current in), ``vdd``, ``vss``.

    Args:
        replicas: OFF unit NMOS devices whose leakage is servoed.
        follower_bias: the follower's bias, as a ratio to the set current.
        sink: ratio of the sink that carries the tile's NMOS current.
        cap: unit gates of the PMOS capacitor on the servo's node.
        replica_block: replica gates per device, each device a block of a row.
        unit_um: side of the square unit device every mirror is drawn from, µm.
    """
    circuit = builders.rail_generator(builders.RailGeneratorParams(
        replicas=replicas, follower_bias=follower_bias, sink=sink, cap=cap,
        replica_block=replica_block, unit=_unit(unit_um)))
    blocks = [d.name for d in circuit.flat_devices() if d.param == "replicas"]
    rows = [blocks[k:k + 2] for k in range(0, len(blocks), 2)]
    rows += [["MNR", "MNS", "MNB", "MF", "MS", "MPB", "MPY"], ["MPD", "MPC", "MCX"]]
    return circuit_layout(circuit, rows=rows)


@gf.cell
def weight_array(ratios: tuple[tuple[float, ...], ...] = ((1.0, -1.0),),
                 unit_um: float = UNIT.w, diode_gates: int = 1, band: int = BAND,
                 source_rail: bool = False, cascodes: bool = False
                 ) -> gf.Component:
    """Signed weight matrix drawn as a crossbar (:mod:`bmru_pdk.cells.crossbar`): PMOS
    mirror outputs source onto the column rails, NMOS ones sink.

    Ports: ``x0``.. (inputs), ``s0``.. (summing rails), with ``cascodes`` and a positive
    weight ``vbnc`` and ``vbpc``, ``vdd``, ``vss`` (and ``vsn``).

    Args:
        ratios: ``ratios[i][j]`` the signed drawn ratio from input i to rail j (0: none).
        unit_um: side of the square unit device every mirror is drawn from, µm.
        diode_gates: unit gates of every diode; above 1 every ratio is k of them, whole
            gates only (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        band: rails side by side; more rails stack in bands of this many (the array's
            outline: a tile sets it for its aspect ratio).
        source_rail: every NMOS mirror source on port ``vsn``, bulks on ``vss`` (the rail a
            hot tile holds above ground).
        cascodes: the drain-matching cascodes of each input's copy (gates on ``vbnc``) and
            of each PMOS weight (gates on ``vbpc``).
    """
    circuit = builders.weight_array(builders.WeightArrayParams(
        ratios=[list(r) for r in ratios], unit=_unit(unit_um, diode_gates, cascodes),
        source_rail=source_rail))
    return _record(draw_crossbar(circuit, len(ratios), band), circuit)


@gf.cell
def bmru_unit(r_thresh: float = 2.0, r_width: float = 0.8, r_gain: float = 1.0,
              r_bias: float = 0.0, unit_um: float = UNIT.w, diode_gates: int = 1,
              source_rail: bool = False, keeper: bool = False, cascodes: bool = False,
              rows: int = 1, held: bool = False) -> gf.Component:
    """BMRU unit: summing node with ReLU, bias transistor and cell.

    Ports: ``sum``, ``vbn``, ``vbp``, ``out``, ``vdd``, ``vss`` (and ``vsn``; with
    ``cascodes`` ``vbnc``, ``vbpc``; ``clk`` when ``held``).

    Args:
        r_thresh: I_thresh / reference of the cell.
        r_width: I_width / reference of the cell.
        r_gain: I_gain / reference of the cell.
        r_bias: bias b / reference: > 0 sources into ``sum``, < 0 sinks, 0 draws none.
        unit_um: side of the square unit device every mirror is drawn from, µm.
        diode_gates: unit gates of every diode; above 1 every ratio is k of them, whole
            gates only (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).
        source_rail: every NMOS mirror source on port ``vsn``, bulks on ``vss`` (the rail a
            hot tile holds above ground).
        keeper: draw the cell's keeper of its output switch's tail node
            (:class:`~bmru_pdk.circuits.builders.CellParams`).
        cascodes: the drain-matching cascodes (the ReLU copy, the switch tails, the output,
            a positive bias), on ports ``vbnc``, ``vbpc``.
        rows: 1 draws every transistor in one row; 2 the NMOS in a row under the PMOS, a
            unit about half as wide (its width, not its transistors, grows with the ratios
            it draws, so a long unit sets a tile's width).
        held: the cell's output holds the state sampled at each rising edge of port
            ``clk`` (:func:`~bmru_pdk.circuits.builders.sampler`).

    Raises:
        ValueError: ``rows`` other than 1 or 2.
    """
    if rows not in (1, 2):
        raise ValueError(f"a unit is drawn in 1 or 2 rows, not {rows}")
    cell = builders.CellParams(r_thresh=r_thresh, r_width=r_width, r_gain=r_gain,
                               unit=_unit(unit_um, diode_gates, cascodes),
                               source_rail=source_rail, keeper=keeper, held=held)
    circuit = builders.bmru_unit(builders.UnitParams(cell=cell, r_bias=r_bias))
    devices = circuit.flat_devices()
    by_kind = [[d.name for d in devices if (d.kind == NFET) == nmos] for nmos in (True, False)]
    return circuit_layout(circuit, rows=by_kind if rows == 2 else None)
