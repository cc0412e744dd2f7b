"""A checkpoint as one typed tile description: the :class:`Circuit`, its parts row by row,
and the parameter -> element mapping with realised values.

Tile nets: inputs ``x<i>`` (layer 0), rails ``s<l>_<j>`` and unit outputs ``h<l>_<j>``
(layer l, unit j), outputs ``y<k>`` (readout rails), ``iref`` (the reference current and
NMOS gate line, the bias generator's ``vbn``), ``vbp``, ``vdd``, ``vss`` (and ``vsn``, the
NMOS source rail, in a tile drawn with one, and ``iset``, the pin its generator's set
current comes in at, in a tile that draws the generator). Layer l > 0 and
the readout take the previous layer's ``h`` as their weight-array inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.circuits import builders, mapping
from bmru_pdk.circuits import names as n
from bmru_pdk.circuits.model import VDD, VSN, VSS, Circuit, Instance, Pin
from bmru_pdk.circuits.sizing import UNIT, UnitDevice
from bmru_pdk.errors import BmruError

if TYPE_CHECKING:
    from bmru_pdk.circuits.characterize import Tables
    from bmru_pdk.model.checkpoint import Checkpoint, CircuitParameters


REF = n.REF


@dataclass(frozen=True)
class Part:
    """One instance of the tile: the typed parameters its schematic was built from (which
    select its library cell), the library cell's settings, and the schematic."""

    name: str
    params: (builders.WeightArrayParams | builders.UnitParams | builders.BiasParams
             | builders.RailGeneratorParams)
    settings: dict
    circuit: Circuit
    nets: dict[str, str]


@dataclass(frozen=True)
class Mapped:
    """One learned parameter: requested value, the device realising it, realised value."""

    parameter: str
    requested: float
    element: str
    drawn: str
    realised: float
    unit: str


@dataclass
class TileDesign:
    """Everything the layout, the schematic and the reports of a tile are made from."""

    name: str
    rows: list[list[Part]]
    pins: list[Pin]
    mapping: list[Mapped] = field(default_factory=list)
    supply_na: dict[str, float] = field(default_factory=dict)
    # the unit device every mirror is drawn from, and its 1:1 mirrors' measured sigma
    unit: UnitDevice = UNIT
    mirror_sigma: dict[str, float] = field(default_factory=dict)

    @property
    def source_rail(self) -> bool:
        """Whether the tile draws the NMOS source rail (pin ``vsn``)."""
        return any(p.name == VSN.name for p in self.pins)

    @property
    def rail_generator(self) -> builders.RailGeneratorParams | None:
        """The rail generator the tile draws, if it draws one."""
        return next((p.params for row in self.rows for p in row
                     if isinstance(p.params, builders.RailGeneratorParams)), None)

    @property
    def circuit(self) -> Circuit:
        """The tile's schematic: every part an instance."""
        return Circuit(name=self.name, pins=self.pins, doc="FQ-BMRU tile",
                       instances=[Instance(name=p.name, circuit=p.circuit, nets=p.nets)
                                  for row in self.rows for p in row])


def _ratio(value: float, name: str, tables: Tables, i_in: float = 1.0,
           i_node: float = 1.0) -> float:
    return round(mapping.signed_ratio(value, name, tables, i_in=i_in, i_node=i_node), 5)


def _weights(w: np.ndarray, layer: int | None, i_in: np.ndarray, i_node: np.ndarray,
             tables: Tables) -> tuple[tuple[float, ...], ...]:
    """Drawn ratios[i][j] (input i -> rail j) of the (d_out, d_in) weights ``w``, each
    calibrated at its input's typical current ``i_in[i]`` and its rail's ReLU current
    ``i_node[j]`` (nA)."""
    return tuple(tuple(_ratio(float(w[j, i]), n.parameter(layer, "W", j, i), tables,
                              float(i_in[i]), float(i_node[j]))
                       for j in range(w.shape[0])) for i in range(w.shape[1]))


def node_currents(p: CircuitParameters, i_ref: float) -> list[np.ndarray]:
    """ReLU current of each rail when its outputs decide (nA): a unit's band middle; the
    class rails are held at the summing-node voltage of ``i_ref``."""
    return [mapping.band_middle(layer.beta1, layer.delta) for layer in p.layers] + [
        np.full(p.W_o.shape[0], i_ref)]


def input_currents(p: CircuitParameters) -> list[np.ndarray]:
    """Typical current of each input of each weight array (layers, then the readout), nA:
    the mirror gains depend on it by ~1 % per decade, so each weight is calibrated there.
    Layer 0's inputs sit around their mid-scale current; later inputs are cell outputs, 0 or
    the source unit's alpha."""
    enc = p.meta.input
    first = np.full(p.meta.architecture.n_in, enc.offset * enc.scale_na)
    return [first, *(np.asarray(layer.alpha, float) for layer in p.layers)]


def _common(unit: UnitDevice, source_rail: bool) -> dict:
    """The library cells' settings every part shares: ``unit_um`` (none for the default
    unit's side), ``diode_gates`` (none for one), ``source_rail`` and ``cascodes`` (only
    when set), so a default tile's cell names do not change."""
    return ({} if unit.one_gate == UNIT else {"unit_um": unit.w}) | (
        {} if unit.diode_gates == 1 else {"diode_gates": unit.diode_gates}) | (
        {"source_rail": True} if source_rail else {}) | (
        {"cascodes": True} if unit.cascodes else {})


def _supplies(source_rail: bool) -> dict[str, str]:
    """A part's supply pins and their tile nets (the same names)."""
    return {p.name: p.name for p in (VDD, VSS, *([VSN] if source_rail else []))}


def _bias_lines(circuit: Circuit, unit: UnitDevice) -> dict[str, str]:
    """The tile nets of ``circuit``'s bias-line pins (:func:`names.bias_line_nets`)."""
    nets = n.bias_line_nets(unit.cascodes)
    return {p.name: nets[p.name] for p in circuit.pins if p.name in nets}


def _weight_part(name: str, ratios: tuple[tuple[float, ...], ...], inputs: list[str],
                 rails: list[str], unit: UnitDevice, source_rail: bool) -> Part:
    params = builders.WeightArrayParams(ratios=[list(r) for r in ratios], unit=unit,
                                        source_rail=source_rail)
    circuit = builders.weight_array(params)
    nets = ({f"x{i}": net for i, net in enumerate(inputs)}
            | {f"s{j}": net for j, net in enumerate(rails)})
    return Part(name, params, {"ratios": ratios} | _common(unit, source_rail), circuit,
                nets | _bias_lines(circuit, unit) | _supplies(source_rail))


def _rail_generator_part(params: builders.RailGeneratorParams, unit: UnitDevice) -> Part:
    # the generator is its own circuit, characterised on one-gate diodes whatever the grid
    unit = unit.one_gate
    params = params.model_copy(update={"unit": unit})
    settings = {"replicas": params.replicas, "follower_bias": params.follower_bias,
                "sink": params.sink, "cap": params.cap, "replica_block": params.replica_block}
    return Part(n.RAIL_GENERATOR, params, settings | _common(unit, False),
                builders.rail_generator(params),
                {VSN.name: VSN.name, "iset": n.RAIL_SET} | _supplies(False))


# The tile's rail pin when its own generator holds the rail: a test point, not a ground to
# strap (LEF USE ANALOG, no power ring)
GENERATED_VSN = Pin(name=VSN.name, role="analog", signal="voltage",
                    doc="NMOS source rail, held by the tile's own generator: leave it "
                        "unconnected (a test point; a source on it overrides the generator)")


def design(checkpoint: Checkpoint, tables: Tables | None = None,
           source_rail: bool = False,
           rail_generator: builders.RailGeneratorParams | None = None) -> TileDesign:
    """The tile of a checkpoint, every learned parameter mapped to one device.

    Args:
        checkpoint: The checkpoint, read once (:func:`~bmru_pdk.model.open_checkpoint`).
        tables: The characterisation tables to map with (``None``: the package's of the
            network's grid, :func:`~bmru_pdk.circuits.mapping.tables_for`).
        source_rail: Draw the NMOS source rail: every NMOS mirror source on pin ``vsn``,
            bulks on ``vss`` (tied to ``vss`` it is the tile without the rail).
        rail_generator: Draw this generator of the rail (needs ``source_rail``) beside the
            bias generator, its set current in at a pin of its own (``iset``): a set
            current copied from the reference, whose diode sits on the rail, would fall
            whenever the rail rises (its gate line charging from the reference) and let
            the servo lift the rail further (docs/corners.md, "The rail generator drawn").
            Every cell has the keeper of its output switch's tail node when the tables'
            unit has (:class:`~bmru_pdk.circuits.sizing.UnitDevice`).

    Raises:
        BmruError: unreadable or invalid checkpoint, or a parameter the mirrors cannot realise
            (the message names it, e.g. ``layers.0.W[2][1]``, and the realisable range).
    """
    if rail_generator is not None and not source_rail:
        raise BmruError("the rail generator holds the NMOS source rail: draw the rail too "
                        "(--draw-rail)")
    p = checkpoint.circuit_parameters()
    arch = p.meta.architecture
    tables = mapping.tables_for(p.meta.realisability, tables)
    i_ref, unit = tables.i_ref_na, tables.unit
    if unit.w != unit.l:
        raise BmruError(f"the tables' unit device is {unit.w} x {unit.l} µm: tiles are drawn "
                        "from square units (characterise with 'bmru characterize --sigma')")
    inputs = [n.input_pin(i) for i in range(arch.n_in)]
    outputs = [n.output_pin(k) for k in range(arch.n_classes)]
    rows: list[list[Part]] = []
    currents, nodes = input_currents(p), node_currents(p, i_ref)
    held_layers = arch.held_layers  # they hold their outputs on the frame clock
    for l, layer in enumerate(p.layers):  # noqa: E741  (layer index as in the checkpoint)
        rails = [n.rail(l, j) for j in range(arch.d)]
        rows.append([_weight_part(n.weight_array(l), _weights(layer.W, l, currents[l],
                                                    nodes[l], tables), inputs, rails, unit,
                                  source_rail)])
        units = []
        for j in range(arch.d):
            try:
                up = mapping.unit_params(float(layer.alpha[j]), float(layer.beta1[j]),
                                         float(layer.delta[j]), float(layer.b[j]), tables)
            except BmruError as exc:
                raise BmruError(f"layers.{l} unit {j}: {exc}") from None
            c = up.cell
            held = l in held_layers
            options = {"keeper": unit.keepers, "held": held}
            settings = {"r_thresh": c.r_thresh, "r_width": c.r_width, "r_gain": c.r_gain,
                        "r_bias": round(up.r_bias, 5)} | {k: v for k, v in options.items() if v}
            params = builders.UnitParams(
                cell=builders.CellParams(r_thresh=c.r_thresh, r_width=c.r_width,
                                         r_gain=c.r_gain, unit=unit, source_rail=source_rail,
                                         **options),
                r_bias=settings["r_bias"])
            circuit = builders.bmru_unit(params)
            units.append(Part(n.unit(l, j), params, settings | _common(unit, source_rail),
                              circuit, {"sum": rails[j], "out": n.unit_output(l, j)}
                              | _bias_lines(circuit, unit) | _supplies(source_rail)
                              | ({n.CLOCK: n.CLOCK} if held else {})))
        rows.append(units)  # one row per layer: the floorplan wraps it to the arrays' width
        inputs = [n.unit_output(l, j) for j in range(arch.d)]
    readout = _weights(p.W_o, None, currents[-1], nodes[-1], tables)
    rows.append([_weight_part(n.weight_array(None), readout, inputs, outputs, unit,
                              source_rail)])
    # readout biases are outputs of the bias generator onto the y rails
    signed = {y: _ratio(float(b) / i_ref, n.parameter(None, "b", k), tables) for k, (y, b) in
              enumerate(zip(outputs, p.b_o, strict=True))}
    bias_out = tuple((y, abs(r), "source" if r > 0 else "sink") for y, r in signed.items() if r)
    bias_params = builders.BiasParams(outputs=[
        builders.BiasOutput(name=y, ratio=r, flow=f) for y, r, f in bias_out], unit=unit,
        source_rail=source_rail)
    bias = builders.bias_generator(bias_params)
    rows.insert(0, [Part(n.BIAS, bias_params,
                         {"outputs": bias_out} | _common(unit, source_rail), bias,
                         _bias_lines(bias, unit) | _supplies(source_rail)
                         | {y: y for y, _, _ in bias_out})])
    if rail_generator is not None:
        rows[0].append(_rail_generator_part(rail_generator, unit))
    pins = [Pin(name=x, role="input", signal="current", flow="sink", doc="input current")
            for x in map(n.input_pin, range(arch.n_in))]
    pins += [Pin(name=y, role="output", signal="current", flow="source", doc="class score")
             for y in outputs]
    pins += [Pin(name=REF, role="bias", signal="current", flow="sink",
                 doc=f"reference current in ({i_ref * tables.i_unit_na:g} nA)"), VDD, VSS]
    pins += [GENERATED_VSN if rail_generator else VSN] if source_rail else []
    pins += [builders.CLOCK_PIN] if held_layers else []
    pins += [] if rail_generator is None else [Pin(
        name=n.RAIL_SET, role="bias", signal="current", flow="sink",
        doc=f"the rail generator's set current in ({rail_generator.i_set_pa:g} pA)")]
    tile = TileDesign(name="bmru_tile", rows=rows, pins=pins, unit=unit,
                      mirror_sigma=tables.mismatch_sigma)
    tile.mapping = realise(tile, p, tables)
    tile.supply_na = _supply(p, i_ref, tables.i_unit_na) | (
        {} if rail_generator is None else
        {"rail_generator": round(_generator_supply_pa(rail_generator) * 1e-3, 4)})
    return tile


def _generator_supply_pa(p: builders.RailGeneratorParams) -> float:
    """The rail generator's draw from ``vdd`` when hot, pA: the replicas' leakage at the
    target and its copy into the servo node, the set current's copy that biases the
    follower, and the follower's bias (the set current itself comes in at its pin, as the
    reference does)."""
    return (3 + p.follower_bias) * p.i_set_pa


def realise(tile: TileDesign, p: CircuitParameters, tables: Tables) -> list[Mapped]:
    """One row per learned parameter of ``p``: the value the drawn ``tile`` realises under
    ``tables`` (zeros draw no device: element ``-``).

    With the tables the tile was mapped with this is its mapping table; with another
    condition's tables, what the same drawing realises there.
    """
    devices = {d.name: d for d in tile.circuit.flat_devices()}
    rows: list[Mapped] = []

    def weight(parameter: str, value: float, element: str, scale: float, unit: str,
               i_in: float, i_node: float) -> None:
        if value == 0:
            rows.append(Mapped(parameter, 0.0, "-", "-", 0.0, unit))
            return
        d = devices[element]
        ratio = d.ratio * (1 if d.kind == "pfet_03v3" else -1)
        rows.append(Mapped(parameter, value, element, d.drawing,
                           mapping.realised_gain(ratio, tables, i_in, i_node) * scale, unit))

    i_ref = tables.i_ref_na
    currents, nodes = input_currents(p), node_currents(p, i_ref)
    for l, layer in enumerate(p.layers):  # noqa: E741
        for j in range(layer.W.shape[0]):
            for i in range(layer.W.shape[1]):
                weight(n.parameter(l, "W", j, i), float(layer.W[j, i]),
                       n.path(n.weight_array(l), n.weight_device(i, j)), 1, "",
                       float(currents[l][i]), float(nodes[l][j]))
        for j in range(layer.W.shape[0]):
            u = n.unit(l, j)
            weight(n.parameter(l, "b", j), float(layer.b[j]), n.path(u, "MB"), i_ref, "nA", i_ref,
                   float(nodes[l][j]))
            drawn = {k: devices[n.path(u, "cell", m)].ratio
                     for k, m in (("r_thresh", "M2"), ("r_width", "M8"), ("r_gain", "M5"))}
            relu = mapping.copy_gain(float(layer.beta_hi[j]), tables)
            hi, lo, alpha = mapping.cell_values(builders.CellParams(**drawn), relu, tables)
            for name, m, value, real in (
                    ("beta1", "M2", layer.beta1[j], lo), ("delta", "M8", layer.delta[j], hi - lo),
                    ("alpha", "M5", layer.alpha[j], alpha)):
                element = n.path(u, "cell", m)
                rows.append(Mapped(n.parameter(l, name, j), float(value), element,
                                   devices[element].drawing, real, "nA"))
    for k in range(p.W_o.shape[0]):
        for j in range(p.W_o.shape[1]):
            weight(n.parameter(None, "W", k, j), float(p.W_o[k, j]),
                   n.path(n.weight_array(None), n.weight_device(j, k)), 1, "",
                   float(currents[-1][j]), i_ref)
    for k, b in enumerate(p.b_o):
        weight(n.parameter(None, "b", k), float(b), n.path(n.BIAS, f"MO_{n.output_pin(k)}"),
               i_ref, "nA", i_ref, i_ref)
    return rows


def _supply(p: CircuitParameters, i_ref: float, i_unit_na: float) -> dict[str, float]:
    """Estimated supply current by part, nA at ``i_unit_na`` nA per software unit: every unit
    ON with its candidate at beta_hi,
    layer-0 inputs at their mid-scale current, later inputs at the units' alpha.

    A sourced current is counted once where it leaves ``vdd`` (PMOS diodes and outputs);
    sinks return it to ``vss``. A unit draws its candidate twice (input diode and copy), its
    I_gain and I_width branches, its output alpha and a sourced bias; a weight row with
    positive weights its PMOS diode current and each positive weight times the input.
    """
    enc = p.meta.input
    x = np.full(p.meta.architecture.n_in, enc.offset * enc.scale_na)
    out = {"bias": 2 * i_ref + float(np.sum(p.b_o_pos))}
    for l, layer in enumerate(p.layers):  # noqa: E741
        out[f"layers.{l}.weights"] = _weight_supply(layer.W, x)
        out[f"layers.{l}.units"] = float(np.sum(2 * layer.beta_hi + 2 * layer.alpha
                                                + 2 * layer.delta + layer.b_pos))
        x = layer.alpha
    out["readout.weights"] = _weight_supply(p.W_o, x)
    return {k: round(v * i_unit_na, 4) for k, v in out.items()}


def _weight_supply(w: np.ndarray, x: np.ndarray) -> float:
    has_pos = (w > 0).any(axis=0)
    return float(np.sum(x * has_pos) + np.sum(np.maximum(w, 0) @ x))
