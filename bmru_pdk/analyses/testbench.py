"""ngspice testbenches around a tile netlist: frame-wise input currents, probes, supply split.

The tile's top ``.subckt`` is inlined at the top level of the deck, so its internal nets are
plain node names (``v(n_1234)``) and the pins are the deck's nodes. Which extracted net is
which schematic net (e.g. the decision node ``u0_1.cell.v0`` of a unit) comes from pairing
the extracted netlist with the schematic, as LVS does.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import klayout.db as kdb
import numpy as np

from bmru_pdk.circuits import RailGeneratorParams, names, rail_bench
from bmru_pdk.circuits.characterize import FRAME_MS, GEAR, Tables, frame_clock, pwl_points
from bmru_pdk.circuits.mapping import load_tables
from bmru_pdk.errors import BmruError
from bmru_pdk.spice import SOURCE_RAIL
from bmru_pdk.tech import VDD_V

# Frame period of the simulations: real time (hop 160 at 16 kHz). A cell whose candidate
# is within a few percent of a threshold switches in ~1 / overdrive: several ms at the
# 0.2 nA unit current, so 1 ms frames would leave such cells mid-way. It is the frame the
# cell tables read in frames are met in (characterize.FRAME_MS). Input steps take a small
# fraction of a frame (characterize.FRAME_EDGE): fast against settling, slow enough for
# the solver.
FRAME_S = FRAME_MS * 1e-3

# An extracted device card: name, drain, gate, source, bulk, model.
CARD = re.compile(r"^\s*(x\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)", re.IGNORECASE)
T = TypeVar("T")
_SUBCKT = re.compile(r"^\s*\.subckt\s+(\S+)\s*(.*)$", re.IGNORECASE)
_ENDS = re.compile(r"^\s*\.ends\b", re.IGNORECASE)


@dataclass(frozen=True)
class Condition:
    """Where a tile is simulated: process corner, temperature, supply.

    Attributes:
        corner: Process corner of the gf180 models (``typical ff ss fs sf``).
        temp_c: Temperature, °C.
        vdd_v: Supply voltage, V (the front end's inputs and reference share it).
        rail_v: NMOS source rail, V above the substrate: the pin ``vsn`` of a tile drawn
            with it, or every NMOS mirror source of a tile drawn without it moved onto a
            rail (:func:`~bmru_pdk.spice.on_source_rail`, a study); 0: on ground
            (docs/corners.md, "The rail in the tile").
        rail_follows_temp: The rail is :func:`hot_rail`'s schedule, on ground at 27 °C: the
            nominal model is the tile's own, not one remade on the rail.
        rail_generator: The drawn rail is held by this
            :func:`~bmru_pdk.circuits.rail_generator`, drawn in the tile (its set current
            from an ideal source on pin ``iset``), not by an ideal source; ``rail_v``
            is then only the rail the condition's twin is characterised on. The nominal
            model is the tile's own.
    """

    corner: str = "typical"
    temp_c: float = 27.0
    vdd_v: float = VDD_V
    rail_v: float = 0.0
    rail_follows_temp: bool = False
    rail_generator: RailGeneratorParams | None = None

    @property
    def name(self) -> str:
        """``typical 27C 1.8V`` (``... rail 0.6V`` on a source rail, ``... rail generator``
        on the generator)."""
        rail = " rail generator" if self.rail_generator is not None else (
            f" rail {self.rail_v:g}V" if self.rail_v else "")
        return f"{self.corner} {self.temp_c:g}C {self.vdd_v:g}V{rail}"

    @property
    def nominal(self) -> Condition:
        """Typical 27 °C 1.8 V on this condition's rail there: where its nominal model is
        made."""
        own = self.rail_follows_temp or self.rail_generator is not None
        return Condition(rail_v=0.0 if own else self.rail_v,
                         rail_follows_temp=self.rail_follows_temp,
                         rail_generator=self.rail_generator)


NOMINAL = Condition()
# The rail that follows temperature (docs/corners.md, "The rail in the tile"): on ground up
# to REST_C, rising linearly to its top voltage at HOT_C (only the ends are measured).
REST_C, HOT_C = 27.0, 125.0


def generated_rail(corner: str = "typical", temp_c: float = 27.0, vdd_v: float = VDD_V,
                   params: RailGeneratorParams | None = None) -> Condition:
    """A condition whose drawn rail the generator ``params`` (default its defaults) holds;
    its ``rail_v``, on which the condition's twin is characterised, is the generator's DC
    rail under a tile's NMOS current (:data:`rail_bench.TILE_LOAD_NA`), to 10 mV:
    a rail of a few mV is the sink's drop when it holds the rail on ground, not a lift."""
    params = params or RailGeneratorParams()
    rail = rail_bench.operating_point(params, rail_bench.TILE_LOAD_NA, corner, temp_c, vdd_v)
    return Condition(corner, temp_c, vdd_v, rail_v=round(max(rail.rail_v, 0.0), 2),
                     rail_generator=params)


def hot_rail(temp_c: float, top_v: float) -> float:
    """The rail's voltage at ``temp_c`` when it reaches ``top_v`` at :data:`HOT_C`, V."""
    return round(top_v * max(0.0, (temp_c - REST_C) / (HOT_C - REST_C)), 4)


@dataclass(frozen=True)
class TileNetlist:
    """A tile netlist split into its library blocks and the body of its top subcircuit.

    ``parts`` names the parts whose devices draw from a supply of their own,
    :func:`supply_node` (``vdd_cells``, ...), instead of the shared ``vdd``; ``senses`` the
    0 V sources :func:`sense_drains` put in series with devices, whose currents a deck saves;
    ``tables`` the characterisation tables the tile was mapped with (its unit and reference
    currents; ``None``: the package's); ``rail_nets`` the nets a run starts the drawn rail
    generator and the reference at, by their node names
    (:func:`~bmru_pdk.circuits.names.rail_start_nodes`; ``None``: no generator drawn);
    ``held_nets`` per held layer (the first layers, all but the last of a held network)
    each unit's sampled state (net ``st`` of a held cell), which a run starts where it
    starts the layer's decision nodes (the model's rest).
    """

    top: str
    pins: list[str]
    blocks: str
    body: list[str]
    block_pins: dict[str, list[str]]
    parts: tuple[str, ...] = ()
    senses: tuple[str, ...] = ()
    tables: Tables | None = None
    rail_nets: dict[str, str] | None = None
    held_nets: tuple[tuple[str, ...], ...] = ()

    @property
    def operating_point(self) -> Tables:
        """The tables the tile was mapped with."""
        return self.tables or load_tables()

    @property
    def unit_amps(self) -> float:
        """One software unit in A: the unit current of the tile's tables."""
        return self.operating_point.i_unit_na * 1e-9


def split_top(spice: str, top: str) -> TileNetlist:
    """Split ``spice`` into the ``.subckt`` blocks other than ``top`` and ``top``'s body.

    Raises:
        BmruError: the netlist has no subcircuit ``top``.
    """
    blocks: list[str] = []
    body: list[str] = []
    block_pins: dict[str, list[str]] = {}
    pins: list[str] | None = None
    inside: str | None = None
    # one line per card: KLayout continues long pin lists on "+" lines
    for line in re.sub(r"\n\+", " ", spice).splitlines():
        m = _SUBCKT.match(line)
        if m:
            inside = m.group(1).lower()
            block_pins[inside] = m.group(2).lower().split()
            if inside == top.lower():
                pins = block_pins[inside]
                continue
        if inside == top.lower():
            if _ENDS.match(line):
                inside = None
            elif line.strip() and not line.lstrip().startswith("*"):
                body.append(line)
            continue
        if inside is not None:
            blocks.append(line)
            if _ENDS.match(line):
                inside = None
    if pins is None:
        raise BmruError(f"the netlist has no subcircuit {top}")
    return TileNetlist(top, pins, "\n".join(blocks), body, block_pins)


def sense_drains(tile: TileNetlist, cards: dict[str, tuple[str, str]]) -> TileNetlist:
    """``tile`` with a 0 V source ``v<sense>`` in series with the drain of each device card
    ``cards`` names: its current ``i(v<sense>)`` is what the devices sink from their drain net.

    Args:
        tile: The tile netlist.
        cards: Card name (lower case) -> (sense name, drain net): the card's terminal on the
            drain net (the extracted net that pairs with its schematic device's drain,
            :func:`sensed_cards`) goes through the sense. An extracted card may list its
            source first, and the source of a stacked gate is an inner net of its stack, on
            neither the drain nor the bulk: the drain is told by its net, not its position.
            The cards of one sense (a device's fingers, the drain-end gates of its stacks)
            share its drain net.

    Raises:
        BmruError: a card is not in the tile's body, has no terminal on its drain net, or
            the cards of one sense have different drain nets.
    """
    body, sources, drains, found = [], {}, {}, set()
    for card in tile.body:
        tokens = card.split()
        entry = cards.get(tokens[0].lower()) if tokens else None
        if entry is not None:
            sense, drain = entry
            # the drain's position on the card: first or third terminal
            at = next((i for i in (1, 3) if tokens[i].lower() == drain.lower()), None)
            if at is None:
                raise BmruError(f"device {tokens[0]} sensed as {sense} has no terminal on its "
                                f"drain net {drain} (it joins {tokens[1]} and {tokens[3]})")
            if drains.setdefault(sense, drain.lower()) != drain.lower():
                raise BmruError(f"the devices sensed as {sense} have different drain nets")
            sources.setdefault(sense, f"v{sense} {tokens[at]} {sense}_d 0")
            tokens[at] = f"{sense}_d"
            card = " ".join(tokens)
            found.add(tokens[0].lower())
        body.append(card)
    missing = sorted(set(cards) - found)
    if missing:
        raise BmruError(f"no device {missing[0]} in the tile netlist to sense")
    return dataclasses.replace(tile, body=body + list(sources.values()),
                               senses=tile.senses + tuple(sources))


def supply_node(part: str | None = None) -> str:
    """The supply node of ``part`` (``vdd_<part>``), or the shared ``vdd``."""
    return "vdd" if part is None else f"vdd_{part}"


@lru_cache(maxsize=2)
def cross_reference(
    extracted: str, schematic: str,
) -> tuple[kdb.NetlistCrossReference, list[kdb.Netlist]]:
    """Pair the nets and devices of ``extracted`` with ``schematic``'s, as LVS does.

    Both netlists are flattened, parallel fingers combined, and paired by KLayout's netlist
    comparer. Cached: preparing a tile for the testbench pairs nets (decision nodes) and
    devices (supplies, sense sources) of the same two netlists; treat the result as read-only.

    Returns:
        The cross reference and the two flat netlists it points into (keep them alive while
        using it).
    """
    from bmru_pdk.verification.lvs import read_schematic, set_tolerances

    flat = []
    for text in (extracted, schematic):
        netlist = read_schematic(text)
        netlist.flatten()
        netlist.purge_nets()
        netlist.combine_devices()
        set_tolerances(netlist)
        _join_source_rail(netlist.top_circuit())
        flat.append(netlist)
    xref = kdb.NetlistCrossReference()
    comparer = kdb.NetlistComparer()
    comparer.same_circuits(flat[0].top_circuit(), flat[1].top_circuit())
    try:
        comparer.compare(flat[0], flat[1], xref)
    except RuntimeError as exc:  # KLayout's comparer gives up on some netlists far apart
        raise BmruError("the extracted netlist cannot be paired with the schematic "
                        f"({str(exc).splitlines()[0]}): run LVS on the tile") from exc
    return xref, flat


def _join_source_rail(top: kdb.Circuit) -> None:
    """Join a drawn NMOS source rail into ``vss`` for pairing. KLayout's flat comparer picks
    among alike series stacks (inner nets alike, chains ending on one net) in an order that
    depends on the devices' order: on the tiny test tile drawn with the rail it mis-pairs two
    mirrors' stacks although LVS, cell by cell, matches; joined, they pair as the tile
    without the rail does. No device has terminals on both
    nets, so every device pairs as it would apart (:func:`_key` joins them too). A tile whose
    stacks still do not pair gets the error of :func:`pair_cards`, never a wrong pairing."""
    rail, vss = top.net_by_name(SOURCE_RAIL.upper()), top.net_by_name("VSS")
    if rail is not None and vss is not None:
        top.join_nets(vss, rail)
        vss.name = "VSS"  # not the joined "VSN,VSS"


def net_names(extracted: str, schematic: str, wanted: list[str]) -> dict[str, str]:
    """Names in ``extracted`` of the schematic nets ``wanted`` (flat names, ``u0_1.cell.v0``).

    Raises:
        BmruError: a wanted net has no counterpart (the layout does not match the schematic).
    """
    xref, _flat = cross_reference(extracted, schematic)
    found: dict[str, str] = {}
    for pair in xref.each_circuit_pair():
        for net in xref.each_net_pair(pair):
            if net.first() is not None and net.second() is not None:
                found[net.second().name.lower()] = net.first().name.lower()
    missing = [n for n in wanted if n.lower() not in found]
    if missing:
        raise BmruError(f"the extracted netlist has no net matching {missing[0]} of the "
                        "schematic: run LVS on the tile")
    return {n: found[n.lower()] for n in wanted}


def _key(model: str, d: str, g: str, s: str, b: str) -> tuple:
    # parallel fingers share every terminal; drain and source may be swapped; a source rail
    # is paired as vss (_join_source_rail)
    def net(name: str) -> str:
        return "vss" if name.lower() == SOURCE_RAIL else name.lower()

    return model.lower(), frozenset((net(d), net(s))), net(g), net(b)


def pair_cards(extracted: str, schematic: str, body: list[str],
               label: Callable[[str, str], T]) -> dict[str, T]:
    """A label for every device card in ``body`` from the schematic device it pairs with, as
    LVS pairs them (lower-case card name -> label).

    Args:
        extracted: The extracted netlist.
        schematic: The tile's schematic.
        body: The extracted top subcircuit's cards (:attr:`TileNetlist.body`).
        label: The label of a schematic device, called with its flat instance path
            (``u0_1.cell.MOUT``; a stacked gate's path ends in :func:`names.stack_gate`'s suffix)
            and the extracted net that pairs with its drain net (lower case).

    Raises:
        BmruError: a device or drain net has no counterpart, or the fingers of one extracted
            device pair with devices of two labels.
    """
    from bmru_pdk.verification.extract import TERMINALS

    xref, _flat = cross_reference(extracted, schematic)
    by_key: dict[tuple, T] = {}
    for pair in xref.each_circuit_pair():
        for dev in xref.each_device_pair(pair):
            ext, sch = dev.first(), dev.second()
            if ext is None or sch is None:
                name = (ext or sch).expanded_name()
                raise BmruError(f"device {name} is in one netlist only: run LVS on the tile")
            key = _key(ext.device_class().name,
                       *(ext.net_for_terminal(t).name for t in TERMINALS))
            drain = xref.other_net_for(sch.net_for_terminal(TERMINALS[0]))
            if drain is None:
                raise BmruError(f"the drain of device {sch.expanded_name()} is in one netlist "
                                "only: run LVS on the tile")
            value = label(sch.expanded_name(), drain.name.lower())
            if by_key.setdefault(key, value) != value:
                raise BmruError(f"parallel devices labelled {by_key[key]} and {value} at "
                                f"{sch.expanded_name()}: their cards cannot be told apart")
    labels: dict[str, T] = {}
    for card in body:
        m = CARD.match(card)
        if m is None:
            continue
        name, d, g, s, b, model = m.groups()
        key = _key(model, d, g, s, b)
        if key not in by_key:
            raise BmruError(f"extracted device {name} pairs with no schematic device: "
                            "run LVS on the tile")
        labels[name.lower()] = by_key[key]
    return labels


def sensed_cards(extracted: str, schematic: str, body: list[str],
                 senses: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The cards of ``body`` that carry the drain currents of the schematic devices
    ``senses`` names, for :func:`sense_drains`.

    A device's current is that of its own card (its fingers) and of the drain-end gate of
    each of its series stacks; the inner gates of a stack carry the same current again and
    are not sensed.

    Args:
        extracted: The extracted netlist.
        schematic: The tile's schematic.
        body: The extracted top subcircuit's cards (:attr:`TileNetlist.body`).
        senses: Flat schematic path of a device (lower case) -> sense name.

    Returns:
        Card name -> (sense name, the extracted net that pairs with the device's drain).

    Raises:
        BmruError: a sensed device has no extracted card (beside :func:`pair_cards`'s).
    """
    def label(path: str, drain: str) -> tuple[str, str] | None:
        device, j = names.stacked_in(path.lower())
        sense = senses.get(device) if j in (None, 0) else None
        return None if sense is None else (sense, drain)

    cards = {card: v for card, v in pair_cards(extracted, schematic, body, label).items()
             if v is not None}
    missing = set(senses.values()) - {sense for sense, _drain in cards.values()}
    if missing:
        raise BmruError(f"no extracted device for the element sensed as {sorted(missing)[0]}")
    return cards


def pwl(name: str, node: str, values_na: np.ndarray, frame_s: float, i_unit_na: float) -> str:
    """A PWL current source pushing ``values_na[k]`` software units into ``node`` during frame
    k, stepping between frames in a small fraction of the frame.

    Args:
        name: Source name (the card is ``I<name>``).
        node: Node the current flows into.
        values_na: One level per frame, in software units.
        frame_s: Frame period, s.
        i_unit_na: nA per software unit (the tile's unit current, or the characterisation
            benches').

    Returns:
        The SPICE card, drawing from node ``vfe``.
    """
    # sourced from the front-end supply, not the tile's: tile power excludes the inputs
    return f"I{name} vfe {node} PWL({pwl_points(values_na, frame_s, i_unit_na)})"


def deck(
    tile: TileNetlist,
    x_na: np.ndarray,
    frame_s: float,
    probes: list[str],
    initial: dict[str, float] | None = None,
    condition: Condition = NOMINAL,
    extra: list[str] | tuple[str, ...] = (),
    gear: bool = False,
) -> str:
    """A transient testbench: one frame per row of ``x_na``, outputs held at the summing-node
    voltage the readout weights are calibrated at (a current comparator's input), moved
    with the NMOS sources when the condition puts them on a rail.

    Args:
        tile: The tile netlist.
        x_na: (frames, n_in) input currents in software units (the checkpoint's nA), sunk by
            the ``x<i>`` pins (column i) at the tables' unit current.
        frame_s: Frame period, s.
        probes: Nets whose voltages to save.
        initial: ``.ic`` node voltages (e.g. each cell's decision node at its initial state).
        condition: Temperature and supply of the run (its corner goes to ``simulate``).
        extra: More cards (a test's probe currents).
        gear: Gear integration, as a tile with held layers always runs (:data:`GEAR`): to
            hold an unheld tile's run to the same integration.

    Returns:
        The netlist for :func:`bmru_pdk.spice.simulate`.
    """
    inputs = {p: i for p in tile.pins if (i := names.pin_index(p, "x")) is not None}
    if any(i >= x_na.shape[1] for i in inputs.values()):
        raise BmruError(f"the tile has input {max(inputs, key=inputs.__getitem__)} but the "
                        f"frames have only {x_na.shape[1]} inputs")
    outputs = [p for p in tile.pins if names.pin_index(p, "y") is not None]
    n = len(x_na)
    # the reference the tables were measured with, and the level the readout is calibrated at
    tables = tile.operating_point
    supplies = [supply_node(), *map(supply_node, tile.parts)]
    # each supply source is named as its node, so i(<node>) is its current
    vdd = condition.vdd_v
    lines = [tile.blocks, *tile.body, *(f"V{s[1:]} {s} 0 {vdd}" for s in supplies),
             f"Vfe vfe 0 {vdd}", "Vss vss 0 0", f"Iref vfe iref {tables.i_ref_spice}",
             f".temp {condition.temp_c:g}"]
    # an input whose weights are all zero has no device, hence no pin in an extracted netlist
    lines += [pwl(p, p, x_na[:, i], frame_s, tables.i_unit_na) for p, i in inputs.items()]
    # the readout holds its rails at the nominal ReLU diode's voltage above the NMOS sources
    # (a tile's own tables are made on ground: build_tile refuses others)
    if condition.rail_generator is not None:
        lines += _generated_rail(tile, outputs, tables.v_sum, condition)
    else:
        lines += [f"V{y} {y} 0 {tables.v_sum + condition.rail_v:.6g}" for y in outputs]
        if SOURCE_RAIL in tile.pins:  # a tile that draws the rail: its pin, at the condition's
            lines.append(f"V{SOURCE_RAIL} {SOURCE_RAIL} 0 {condition.rail_v:g}")
    if names.CLOCK in tile.pins:
        lines += frame_clock(frame_s, vdd)
    elif gear:
        lines.append(GEAR)
    lines += list(extra)
    if initial:
        lines.append(".ic " + " ".join(f"v({k})={v:g}" for k, v in initial.items()))
    saved = [f"v({p})" for p in probes] + [f"i(v{y})" for y in outputs]
    saved += [f"i({s})" for s in supplies] + [f"i(v{s})" for s in tile.senses]
    lines.append(".save " + " ".join(saved))
    lines.append(f".tran {frame_s / 50:.4g} {n * frame_s:.6g} 0 {frame_s / 20:.4g}")
    return "\n".join(lines)


def _generated_rail(tile: TileNetlist, outputs: list[str], v_sum: float,
                    condition: Condition) -> list[str]:
    """The start of the tile's own rail generator, and the readout's holds riding on the
    rail it makes (each output's source, whose current is the output's, in series with a
    follower of the rail).

    The set current comes in at the tile's pin ``iset`` from an ideal source, as the
    reference does at ``iref``. The generator starts at its own DC operating point under the
    tile's mean NMOS current (:func:`rail_bench.operating_point`), and the bias generator's
    gate lines at theirs on that rail (:func:`rail_bench.reference_lines`, of the tile's own
    unit device), as the decision nodes start at their states: a tile powered up long
    before. Lines started at another unit's point (the one-gate unit's, on a tile of 4-gate
    diodes) start every mirrored current off its value, and the cells switch while the
    lines charge, frames long (benchmarks/bench_reset.py). Without the reference
    started too, ngspice's operating point of the whole tile fails (gmin and source
    stepping), its fallback starts the reference low, and the servo lifts the rail while
    the reference's gate line charges, past the reset frames.

    Raises:
        BmruError: the tile does not draw the generator.
    """
    params = condition.rail_generator
    assert params is not None  # deck calls this only for a condition with a generator
    nets = tile.rail_nets
    if nets is None:
        raise BmruError("the rail generator is not drawn in this tile: build it with "
                        "--draw-rail --rail-generator")
    c = condition
    op = rail_bench.operating_point(params, rail_bench.TILE_LOAD_NA, c.corner, c.temp_c,
                                    c.vdd_v)
    tables = tile.operating_point
    lines = rail_bench.reference_lines(op.rail_v, tables.i_ref_spice, tables.unit, c.corner,
                                       c.temp_c, c.vdd_v)
    start = {SOURCE_RAIL: op.rail_v, nets["x"]: op.x_v, nets["y"]: op.y_v, nets["p"]: op.p_v,
             nets["b"]: op.b_v, names.RAIL_SET: op.set_v} | {
        nets.get(line, line): v for line, v in lines.items()}
    lines = [f"I{names.RAIL_SET} vfe {names.RAIL_SET} {params.i_set_pa:g}p",
             ".ic " + " ".join(f"v({net})={v:.4g}" for net, v in start.items())]
    for out in outputs:
        lines += [f"V{out} {out} {out}_rail {v_sum:.6g}", f"E{out} {out}_rail 0 {SOURCE_RAIL} 0 1"]
    return lines


def average(time: np.ndarray, values: np.ndarray, start: float = 0.0) -> float:
    """Time average of ``values`` from ``start`` to the end of the run."""
    keep = time >= start
    t, v = time[keep], values[keep]
    return float(np.trapezoid(v, t) / (t[-1] - t[0]))
