"""Characterisation of the circuit library in ngspice (gf180 typical, mismatch off, 1.8 V).

Test benches here are the single definition of how a circuit is measured: the tables, the
tests and the benchmarks all call them. Tables are written as versioned JSON under
``bmru_pdk/data/characterization/`` and read back by :mod:`bmru_pdk.circuits.mapping`.

- mirror gain I_out / I_in vs output ratio and input current, with each output at the drain
  voltage it sees in a tile: a unit copy feeding a PMOS diode (``diode`` load), or a weight or
  bias output on a summing node (``sum`` load: held at the ReLU diode's voltage at the
  reference current, :func:`sum_voltage`). Near cancellation the summing node sits at a few
  hundred mV, where an NMOS output sinks ~3.5 % less than into a PMOS diode at ~1.3 V: that
  error, relative to the sourced current, is what decides a unit's state near its thresholds;
- cell switching currents: a triangle ramp of the candidate current, slow enough that the
  read-out lag is < 1 % (the cell switches in ~1/I; a 2 ms ramp reads 5-12 % late), starting
  at zero so the cell starts OFF outside its hold band;
- cell output current vs I_gain, and supply current in both states;
- the sigma of a 1:1 unit mirror with the models' statistical mismatch on.

The tables are at the typical corner, 27 °C, 1.8 V. The measuring functions take ``corner``,
``temp_c`` and ``vdd_v`` keywords to run the same benches elsewhere (``benchmarks/
bench_corners.py``); a summing node's held voltage then follows the condition too, as the
ReLU diode that sets it in a tile does.
"""

from __future__ import annotations

import json
import time
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from bmru_pdk.circuits.builders import (
    BiasOutput,
    BiasParams,
    CellParams,
    MirrorParams,
    WeightArrayParams,
    bias_generator,
    bmru_cell,
    current_mirror,
    weight_array,
)
from bmru_pdk.circuits.model import NFET, PFET, Circuit, MosKind
from bmru_pdk.circuits.names import CLOCK
from bmru_pdk.circuits.sizing import (
    MAX_SERIES,
    UNIT,
    UnitDevice,
    pelgrom_sigma,
    ratio_limits,
    unit_ratio,
)
from bmru_pdk.errors import BmruError
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import simulate
from bmru_pdk.tech import VDD_V as VDD
from bmru_pdk.tech import Corner

TABLE_VERSION = 5  # 5: ngspice GMIN lowered to the devices' own leakage (spice.GMIN_S)
I_REF = 1.0  # the reference of every table, in software units
# The operating point: nA per software unit. Weak-inversion ratios hardly depend on the
# current level, so a checkpoint trained in units maps at any unit current; its power scales
# with it. At 0.2 nA the bundled checkpoint (trained with candidate noise, whose currents
# are larger than the first one's) draws about the published ~83 nW at 10 ms frames.
I_UNIT_NA = 0.2
DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "characterization"

# The slots every drawing is made of (unit-element grid): a stack of n units in series,
# n = MAX_SERIES .. 2, and one unit; a drawing's gain is the sum of its slots'
MIRROR_RATIOS = [round(1 / n, 6) for n in range(MAX_SERIES, 0, -1)]
# nA (software units): dense below 2, where a stack's gain bends with the current
MIRROR_CURRENTS = [0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.4, 2.0, 3.0, 5.0, 10.0]
# ReLU currents whose diode voltage a summing node sits at when a unit is near a threshold
SUM_NODE_CURRENTS = [0.3, 1.0, 3.0, 10.0]  # nA
# r_thresh (nA at I_REF = 1 nA): the smallest keeps 0.2 x it on the grid (1/8)
CELL_THRESH = [0.625, 1.25, 2.5, 5.0, 10.0]
CELL_WIDTH_FRAC = [0.2, 0.4, 0.6, 0.8]  # r_width / r_thresh wanted; drawn on the grid
CELL_GAINS = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0]  # r_gain
RAMP_MS = 512.0  # half-period of the triangle; run time does not depend on it
# The tile's frame period: with ``frame_ms`` the cell's thresholds are the levels it meets
# within one frame after a step, as the tile's cells meet them (a ramp reads the band
# wider: it travels on while a slow cell switches, and the tile's inputs step, not ramp)
FRAME_MS = 10.0
FRAME_EDGE = 0.01  # a frame-stepped input's edges, as a fraction of the frame
CLOCK_EDGE_S = 1e-6  # the frame clock's rise and fall: a logic edge, far inside a frame
# Gear integration for decks with flip-flops: the trapezoidal rule rang on their nanosecond
# edges under the frame-sized steps the decks allow and flipped a held state at the clock's
# falling edge (a held cell's bench, before its latches' feedback was made weak); Gear damps
GEAR = ".options method=gear"
FRAME_TRIALS = 16  # levels per bracket and pass: two passes resolve 1/225 of the bracket
MC_SAMPLES = 200


Load = Literal["diode", "sum"]


def spice_current(units: float) -> str:
    """A current of ``units`` software units as a SPICE value (at :data:`I_UNIT_NA`)."""
    return f"{units * I_UNIT_NA:.6g}n"


def to_units(amps: np.ndarray | float) -> np.ndarray | float:
    """A simulated current in A as software units."""
    return amps * 1e9 / I_UNIT_NA


def _other(kind: MosKind) -> MosKind:
    return PFET if kind == NFET else NFET


def slot_ratios(unit: UnitDevice, load: Load) -> list[float]:
    """The ratios a table of ``unit``'s grid measures: :data:`MIRROR_RATIOS` on one-gate
    diodes; on D-gate diodes one gate onto a held summing node (any output is k of it), and
    the unit copy (D gates) into a diode, whose voltage depends on the copy's current."""
    gates = unit.diode_gates
    if gates == 1:
        return MIRROR_RATIOS
    return [1.0] if load == "diode" else [round(1 / gates, 6)]


def diode_load(tag: str, node: str, kind: MosKind, unit: UnitDevice) -> str:
    """A unit diode of type ``kind`` on ``node`` through the 0 V sense source ``v<tag>``,
    oriented so that its current is positive in normal operation."""
    rail = "vss" if kind == NFET else "vdd"
    a, b = (node, f"l{tag}") if kind == NFET else (f"l{tag}", node)
    return (f"v{tag} {a} {b} 0\n"
            f"xl{tag} l{tag} l{tag} {rail} {rail} {kind} {_diode_size(unit)}\n")


def _diode_size(unit: UnitDevice) -> str:
    """A diode's size on the unit's grid: ``diode_gates`` unit gates in parallel."""
    gates = unit.diode_gates
    return f"w={unit.w * gates:g}u l={unit.l}u nf={gates}"


def _instance(tag: str, circuit: Circuit, nets: dict[str, str] | None = None) -> str:
    """An instance line of ``circuit``: each pin on the net of its own name, but ``nets``."""
    wired = " ".join((nets or {}).get(p.name, p.name) for p in circuit.pins)
    return f"x{tag} {wired} {circuit.name}\n"


def _biased(bias: Circuit) -> str:
    """A bias generator, its instance (lines on nets of their pins' names) and ``I_REF``
    into its reference pin (``vbn``, or the top of its cascode stack)."""
    ref = next(p.name for p in bias.pins if p.role == "bias" and p.signal == "current")
    return f"{bias.to_spice()}{_instance('b', bias)}iref vdd {ref} {spice_current(I_REF)}\n"


def _supplies(vdd_v: float = VDD) -> str:
    return f"vdd vdd 0 {vdd_v}\nvss vss 0 0\n"


def held_load(tag: str, node: str, kind: MosKind, v: float) -> str:
    """``node`` held at ``v`` by the source ``v<tag>``, oriented so that the current of a
    ``kind`` output on ``node`` (NMOS sinks, PMOS sources) is positive."""
    return f"v{tag} {node} 0 {v}\n" if kind == PFET else f"v{tag} 0 {node} {-v}\n"


@cache
def sum_voltage(i_node: float = I_REF, unit: UnitDevice = UNIT, *, corner: str = "typical",
                temp_c: float = 27.0, vdd_v: float = VDD, rail_v: float = 0.0) -> float:
    """A summing node's voltage when its ReLU's unit NMOS diode carries ``i_node`` nA: where
    weights and biases are calibrated (a unit's outputs matter near its thresholds).

    Args:
        i_node: The ReLU diode's current, nA.
        unit: The unit device.
        corner: Process corner of the run.
        temp_c: Temperature, °C.
        vdd_v: Supply voltage, V.
        rail_v: NMOS source rail, V (0: the sources on ground; :func:`~bmru_pdk.spice.simulate`).
    """
    r = simulate(f"xd d d vss vss {NFET} {_diode_size(unit)}\n"
                 f"iin vdd d {spice_current(i_node)}\n{_supplies(vdd_v)}.op\n",
                 corner=corner, temp_c=temp_c, source_rail_v=rail_v)
    return round(float(r["v(d)"][0]), 4)


def mirror_bench(circuit: Circuit, kind: MosKind, i_in: float, unit: UnitDevice = UNIT,
                 load: Load = "diode", i_node: float = I_REF, *, corner: str = "typical",
                 temp_c: float = 27.0, vdd_v: float = VDD, rail_v: float = 0.0) -> str:
    """An ``.op`` deck: ``i_in`` nA into the mirror's diode, each output through sense source
    ``vo<k>`` into a unit diode of the other type (``diode``) or held at
    ``sum_voltage(i_node)`` (``sum``) of the condition ``corner``, ``temp_c``, ``vdd_v``,
    ``rail_v``."""
    outs = [p.name for p in circuit.pins if p.name.startswith("out")]
    rail = "vss" if kind == NFET else "vdd"
    lines = [p.name for p in circuit.pins if p.role == "bias"]  # the cascodes' lines
    src = (f"iin vdd in {spice_current(i_in)}" if kind == NFET
           else f"iin in vss {spice_current(i_in)}")
    v_sum = sum_voltage(i_node, unit, corner=corner, temp_c=temp_c, vdd_v=vdd_v, rail_v=rail_v)
    loads = "".join(diode_load(f"o{k}", o, _other(kind), unit) if load == "diode"
                    else held_load(f"o{k}", o, kind, v_sum) for k, o in enumerate(outs))
    bias = _biased(bias_generator(BiasParams(i_ref=I_REF, unit=unit))) if lines else ""
    return (f"{bias}{circuit.to_spice()}xm in {' '.join([*outs, *lines])} {rail} "
            f"{circuit.name}\n{src}\n{loads}{_supplies(vdd_v)}.op\n")


def measure_mirror(kind: MosKind, ratios: list[float], i_in: float, unit: UnitDevice = UNIT,
                   load: Load = "diode", i_node: float = I_REF, *, corner: str = "typical",
                   temp_c: float = 27.0, vdd_v: float = VDD, rail_v: float = 0.0) -> np.ndarray:
    """Gain I_out / I_in of each output of a mirror with ``ratios``, at ``i_in`` nA.

    Args:
        kind: Mirror type.
        ratios: Drawn output ratios.
        i_in: Input current, nA.
        unit: The unit device.
        load: What each output drives (see :func:`mirror_bench`).
        i_node: ReLU current of the summing node a ``sum`` load is held at, nA.
        corner: Process corner of the run.
        temp_c: Temperature, °C.
        vdd_v: Supply voltage, V.
        rail_v: NMOS source rail, V (0: on ground).
    """
    # what the tile cascodes: NMOS copies into PMOS diodes, PMOS outputs onto NMOS diodes
    cascode = kind == PFET or load == "diode"
    circuit = current_mirror(MirrorParams(kind=kind, ratios=ratios, unit=unit, cascode=cascode))
    r = simulate(mirror_bench(circuit, kind, i_in, unit, load, i_node, corner=corner,
                              temp_c=temp_c, vdd_v=vdd_v, rail_v=rail_v),
                 corner=corner, temp_c=temp_c, source_rail_v=rail_v)
    return to_units(np.array([r[f"i(vo{k})"][0] for k in range(len(ratios))])) / i_in


def _rail_load(tag: str, node: str, signed: float, unit: UnitDevice, v_sum: float) -> str:
    """What a rail sees in a tile near a unit's thresholds: a summing node at the ReLU diode's
    voltage ``v_sum``, whichever way the output drives it."""
    return held_load(tag, node, PFET if signed > 0 else NFET, v_sum)


def measure_weight_row(ratios: list[float], i_in: float = I_REF, unit: UnitDevice = UNIT, *,
                       corner: str = "typical", temp_c: float = 27.0,
                       vdd_v: float = VDD, rail_v: float = 0.0) -> np.ndarray:
    """Signed gains x0 -> rail j of a one-input weight array with drawn signed ``ratios``.

    Args:
        ratios: Drawn signed ratios of the row's outputs.
        i_in: Input current, nA.
        unit: The unit device.
        corner: Process corner of the run.
        temp_c: Temperature, °C.
        vdd_v: Supply voltage, V.
        rail_v: NMOS source rail, V (0: on ground).
    """
    arr = weight_array(WeightArrayParams(ratios=[ratios], unit=unit))
    lines = [p.name for p in arr.pins if p.role == "bias"]  # the cascodes' lines
    bias = _biased(bias_generator(BiasParams(i_ref=I_REF, unit=unit))) if lines else ""
    v_sum = sum_voltage(I_REF, unit, corner=corner, temp_c=temp_c, vdd_v=vdd_v, rail_v=rail_v)
    loads = "".join(_rail_load(f"s{j}", f"s{j}", r, unit, v_sum) for j, r in enumerate(ratios))
    r = simulate(f"{bias}{arr.to_spice()}{_instance('w', arr)}"
                 f"iin vdd x0 {spice_current(i_in)}\n"
                 f"{loads}{_supplies(vdd_v)}.op\n", corner=corner, temp_c=temp_c,
                 source_rail_v=rail_v)
    return to_units(np.array([np.sign(q) * r[f"i(vs{j})"][0] for j, q in enumerate(ratios)])
                    ) / i_in


def measure_bias(ratios: dict[str, float], unit: UnitDevice = UNIT, *, corner: str = "typical",
                 temp_c: float = 27.0, vdd_v: float = VDD,
                 rail_v: float = 0.0) -> dict[str, float]:
    """Signed output currents (nA) of a bias generator with outputs of drawn signed
    ``ratios`` (> 0 sources, < 0 sinks), reference ``I_REF``.

    Args:
        ratios: Output name -> drawn signed ratio.
        unit: The unit device.
        corner: Process corner of the run.
        temp_c: Temperature, °C.
        vdd_v: Supply voltage, V.
        rail_v: NMOS source rail, V (0: on ground).
    """
    bias = bias_generator(BiasParams(i_ref=I_REF, unit=unit, outputs=[
        BiasOutput(name=n, ratio=abs(q), flow="source" if q > 0 else "sink")
        for n, q in ratios.items()]))
    v_sum = sum_voltage(I_REF, unit, corner=corner, temp_c=temp_c, vdd_v=vdd_v, rail_v=rail_v)
    loads = "".join(_rail_load(n, n, q, unit, v_sum) for n, q in ratios.items())
    r = simulate(f"{_biased(bias)}{loads}{_supplies(vdd_v)}.op\n",
                 corner=corner, temp_c=temp_c, source_rail_v=rail_v)
    return {n: float(np.sign(q) * to_units(r[f"i(v{n})"][0])) for n, q in ratios.items()}


class CellPoint(BaseModel):
    """What one ramp of a cell measured (currents in nA)."""

    model_config = ConfigDict(frozen=True)

    beta_hi: float
    beta_lo: float
    alpha: float
    i_vdd_off: float
    i_vdd_on: float


def _cell_deck(cell: Circuit, source: str, tran: str, *, vdd_v: float,
               unit: UnitDevice) -> str:
    """A cell (or unit) on its own supply ``vddc``, biased as in a tile of ``unit``, its
    input (net ``in``) driven by the PWL points ``source``, its output into a unit NMOS
    diode through ``vout``; then the ``tran`` line."""
    bias = bias_generator(BiasParams(i_ref=I_REF, unit=unit))
    inp = next(p for p in cell.pins if p.role == "input")
    # a cell's input diode sources its current (a sink drives it), a unit's rail sinks it
    src = "in vss" if inp.flow == "source" else "vdd in"
    return (f"{_biased(bias)}{cell.to_spice()}"
            f"{_instance('c', cell, {'vdd': 'vddc', inp.name: 'in'})}vddc vddc 0 {vdd_v}\n"
            f"iin {src} pwl({source})\n"
            f"{diode_load('out', 'out', NFET, unit)}{_supplies(vdd_v)}{tran}\n")


def cell_bench(cell: Circuit, top: float, ramp_ms: float = RAMP_MS, *,
               vdd_v: float = VDD, unit: UnitDevice = UNIT) -> str:
    """A transient deck for a cell or a BMRU unit: reference ``I_REF`` into a bias generator,
    the input current (a cell's ``in``, a unit's ``sum``) a triangle 0 -> ``top`` nA -> 0
    (after a zero reset frame), the output into a unit NMOS diode through ``vout``; the
    circuit alone on supply ``vddc``; every supply at ``vdd_v``; bias generator and load
    of ``unit`` devices, as in a tile of that unit."""
    t0, t1, t2 = ramp_ms / 50, ramp_ms * 1.02, ramp_ms * 2.02
    return _cell_deck(cell, f"0 0 {t0}m 0 {t1}m {spice_current(top)} {t2}m 0",
                      f".tran {ramp_ms / 1000:g}m {t2}m", vdd_v=vdd_v, unit=unit)


def frame_bench(cell: Circuit, values: np.ndarray, frame_ms: float = FRAME_MS, *,
                vdd_v: float = VDD, unit: UnitDevice = UNIT) -> str:
    """:func:`cell_bench` with the input held at ``values[k]`` (nA) through frame k of
    ``frame_ms``, stepping between frames as the tile testbench's inputs do; the decision
    node is ``xc.v0``; a held cell's clock pin gets :func:`frame_clock`."""
    clock = frame_clock(frame_ms * 1e-3, vdd_v) if any(p.name == CLOCK for p in cell.pins) else []
    return _cell_deck(cell, pwl_points(values, frame_ms * 1e-3, I_UNIT_NA),
                      "\n".join([*clock, f".tran {frame_ms / 50:g}m {len(values) * frame_ms:g}m"]),
                      vdd_v=vdd_v, unit=unit)


def pwl_points(values: np.ndarray, frame_s: float, i_unit_na: float) -> str:
    """PWL points holding ``values[k]`` software units through frame k, stepping between
    frames within :data:`FRAME_EDGE` of a frame (the tile testbench's inputs too)."""
    points = [(0.0, values[0])]
    for k in range(1, len(values)):
        t = k * frame_s
        points += [(t - FRAME_EDGE * frame_s, values[k - 1]), (t, values[k])]
    return " ".join(f"{t:.6g} {v * i_unit_na * 1e-9:.6g}" for t, v in points)


def frame_clock(frame_s: float, vdd_v: float) -> list[str]:
    """The frame clock of held cells (a held cell's bench, a tile's held layers): rising at
    the moment a frame's states are read (:func:`frame_ends`, before the next frame's inputs
    step), high for half a frame; driven from outside, as the inputs are; then
    :data:`GEAR`.
    """
    return [f"Vclk {CLOCK} 0 PULSE(0 {vdd_v:g} {(1 - 2 * FRAME_EDGE) * frame_s:.6g} "
            f"{CLOCK_EDGE_S:g} {CLOCK_EDGE_S:g} {frame_s / 2:.6g} {frame_s:.6g})", GEAR]


def frame_ends(time: np.ndarray, values: np.ndarray, frame_s: float, n: int) -> np.ndarray:
    """``values`` just before the end of each of ``n`` frames (after settling)."""
    at = (np.arange(n) + 1 - 2 * FRAME_EDGE) * frame_s
    return np.interp(at, time, values)


def ramp_input(t: np.ndarray, top: float, ramp_ms: float = RAMP_MS) -> np.ndarray:
    """The candidate current (nA) of :func:`cell_bench` at times ``t`` (s)."""
    ms = np.array([0, ramp_ms / 50, ramp_ms * 1.02, ramp_ms * 2.02]) * 1e-3
    return np.interp(t, ms, [0, 0, top, 0])


def measure_cell(cell: Circuit, top: float, ramp_ms: float = RAMP_MS, *,
                 corner: str = "typical", temp_c: float = 27.0,
                 vdd_v: float = VDD, unit: UnitDevice = UNIT,
                 rail_v: float = 0.0) -> CellPoint | None:
    """Switching currents, ON output and supply of a cell (or unit) on a ramp to ``top`` nA.

    Args:
        cell: The cell (or BMRU unit).
        top: Peak of the input ramp, nA.
        ramp_ms: Half-period of the triangle, ms.
        corner: Process corner of the run.
        temp_c: Temperature, °C.
        vdd_v: Supply voltage, V.
        unit: The unit device of the bench's bias generator and load.
        rail_v: NMOS source rail, V (0: on ground).

    Returns:
        The measured point, or None if the output is not OFF at zero input and ON at the
        peak. A switching edge may ring (ON, a sub-ms drop, ON again): the first OFF->ON
        edge on the way up and the last ON->OFF edge on the way down are read.
    """
    r = simulate(cell_bench(cell, top, ramp_ms, vdd_v=vdd_v, unit=unit), corner=corner,
                 temp_c=temp_c, source_rail_v=rail_v)
    t = r["time"]
    i_in = ramp_input(t, top, ramp_ms)
    out = to_units(r["i(vout)"])
    i_vdd = -to_units(r["i(vddc)"])
    peak = int(np.argmax(i_in))
    # the ON level at the ramp's peak: max() would catch the switching overshoot
    alpha = float(np.median(out[i_in >= 0.9 * top]))
    on = out > alpha / 2
    if alpha < 0.05 or on[0] or on[-1] or not on[peak]:
        return None
    rise = int(np.flatnonzero(~on[:peak] & on[1:peak + 1])[0])
    fall = peak + int(np.flatnonzero(on[peak:-1] & ~on[peak + 1:])[-1])
    up, down = (float(i_in[i:i + 2].mean()) for i in (rise, fall))
    mid = (up + down) / 2
    # supply at the middle of the hold band: OFF on the way up, ON on the way down
    i_off = float(np.interp(mid, i_in[:peak], i_vdd[:peak]))
    i_on = float(np.interp(mid, i_in[peak:][::-1], i_vdd[peak:][::-1]))
    return CellPoint(beta_hi=up, beta_lo=down, alpha=alpha, i_vdd_off=i_off, i_vdd_on=i_on)


def frame_thresholds(cell: Circuit, ramp: CellPoint, frame_ms: float = FRAME_MS, *,
                     corner: str = "typical", temp_c: float = 27.0, vdd_v: float = VDD,
                     unit: UnitDevice = UNIT, rail_v: float = 0.0) -> tuple[float, float] | None:
    """The cell's (or unit's) switching currents as a tile at ``frame_ms`` frames meets them:
    ``(beta_hi, beta_lo)``, the smallest input that switches it ON, and the largest that
    switches it OFF, by the end of the frame it steps to, from the middle of its hold band.

    Each trial is three frames: a reset (zero input: OFF; 1.5 ``ramp.beta_hi``: ON), the
    middle of the band, the trial level; the state is the decision node ``v0`` at the trial
    frame's end, read as the tile testbench reads it. Two passes of :data:`FRAME_TRIALS`
    levels bisect a bracket as wide as the ramp's band on either side of its middle.

    Args:
        cell: The cell (its decision node is net ``v0``).
        ramp: Its switching currents on the slow ramp (:func:`measure_cell`): the brackets.
        frame_ms: The frame period, ms.
        corner, temp_c, vdd_v, unit, rail_v: The condition and bench, as
            :func:`measure_cell`'s.

    Returns:
        The two currents (nA), or None if a bracket's ends do not switch as a clean loop
        would (its near end switching, its far end not).
    """
    mid = (ramp.beta_hi + ramp.beta_lo) / 2
    half = ramp.beta_hi - mid
    on, off = (mid, ramp.beta_hi + half), (max(ramp.beta_lo - half, half / 8), mid)
    frame_s = frame_ms * 1e-3
    for _ in range(2):
        up, down = np.linspace(*on, FRAME_TRIALS), np.linspace(*off, FRAME_TRIALS)
        values = np.concatenate([[0.0, mid, c] for c in up]
                                + [[1.5 * ramp.beta_hi, mid, c] for c in down])
        r = simulate(frame_bench(cell, values, frame_ms, vdd_v=vdd_v, unit=unit),
                     corner=corner, temp_c=temp_c, source_rail_v=rail_v)
        state = frame_ends(r["time"], r["xc.v0"], frame_s, len(values))[2::3] > vdd_v / 2
        switched_on, still_on = state[:FRAME_TRIALS], state[FRAME_TRIALS:]
        if switched_on[0] or not switched_on[-1] or still_on[0] or not still_on[-1]:
            return None
        k = int(np.argmax(switched_on))  # the first level that switched ON
        j = int(np.argmax(still_on)) - 1  # the last level that switched OFF
        on, off = (up[k - 1], up[k]), (down[j], down[j + 1])
    return float(np.mean(on)), float(np.mean(off))


def measure_switch_on(cell: Circuit, top: float = 3.0, *, corner: str = "typical",
                      temp_c: float = 27.0, vdd_v: float = VDD,
                      unit: UnitDevice = UNIT) -> tuple[float, float]:
    """A cell's output (units) at its peak and settled, after its input steps from 0 to
    ``top`` units at 1 ms: bias generator and output load of ``unit`` devices, as
    :func:`cell_bench`'s. How far the peak overshoots alpha is what a next layer can latch."""
    bias = bias_generator(BiasParams(i_ref=I_REF, unit=unit))
    r = simulate(f"{_biased(bias)}{cell.to_spice()}{_instance('c', cell)}"
                 f"iin in vss pwl(0 0 1m 0 1.01m {spice_current(top)})\n"
                 f"{diode_load('out', 'out', NFET, unit)}{_supplies(vdd_v)}.tran 1u 5m\n",
                 corner=corner, temp_c=temp_c)
    out = to_units(r["i(vout)"][r["time"] > 1e-3])
    return float(out.max()), float(out[-1])


def measure_mismatch(kind: MosKind, unit: UnitDevice = UNIT, n: int = MC_SAMPLES,
                     i_in: float = I_REF) -> float:
    """Sigma of the gain of ``n`` independent 1:1 unit mirrors, statistical mismatch on."""
    return float(mismatch_gains(kind, unit, n, i_in).std(ddof=1))


def mismatch_gains(kind: MosKind, unit: UnitDevice = UNIT, n: int = MC_SAMPLES,
                   i_in: float = I_REF, seed: int = 1) -> np.ndarray:
    """Gains of ``n`` independent 1:1 mirrors of ``unit`` devices at ``i_in`` nA, each with
    its own draw of the models' statistical mismatch (``seed`` fixes the draws)."""
    circuit = current_mirror(MirrorParams(kind=kind, ratios=[1.0], unit=unit))
    rail = "vss" if kind == NFET else "vdd"
    lines = [circuit.to_spice()]
    for k in range(n):
        src = (f"ii{k} vdd i{k} {spice_current(i_in)}" if kind == NFET
               else f"ii{k} i{k} vss {spice_current(i_in)}")
        lines += [f"xm{k} i{k} o{k} {rail} {circuit.name}", src,
                  diode_load(f"o{k}", f"o{k}", _other(kind), unit)]
    # a fixed seed: the stored sigma repeats
    r = simulate("\n".join(lines) + _supplies() + f".options seed={seed}\n.op\n", mismatch=True)
    return to_units(np.array([r[f"i(vo{k})"][0] for k in range(n)])) / i_in


class MirrorTable(BaseModel):
    """Gain of a mirror output vs drawn ratio and input current, at one output load (for a
    summing node: at the voltage its ReLU diode has carrying ``i_node_na``)."""

    kind: MosKind
    load: Load
    i_node_na: float | None = None
    v_out: float | None = None
    ratios: list[float]
    currents_na: list[float]
    gain: list[list[float]]  # [current][ratio]


class CellTable(BaseModel):
    """Cell switching currents (nA) on the grid r_thresh x r_width / r_thresh, r_gain = 1;
    None where the cell showed no clean loop. ``r_width`` is what each point drew: the
    unit-grid drawing nearest ``width_frac`` x r_thresh."""

    r_thresh: list[float]
    width_frac: list[float]
    r_width: list[list[float]]
    beta_hi: list[list[float | None]]
    beta_lo: list[list[float | None]]
    i_vdd_off: list[list[float | None]]
    i_vdd_on: list[list[float | None]]


class GainTable(BaseModel):
    """Cell ON output current (nA) vs r_gain at r_thresh = 2.5, r_width = 1."""

    r_gain: list[float]
    alpha: list[float]


# Currents (nA), gains, grid values and conditions of the tables: the mapping interpolates
# in their logarithm, so each must be above zero
_POSITIVE = frozenset({"vdd", "i_ref_na", "i_unit_na", "ramp_ms", "frame_ms", "i_node_na",
                       "ratios", "r_width", "currents_na", "gain", "r_thresh", "width_frac",
                       "beta_hi", "beta_lo", "i_vdd_off", "i_vdd_on", "r_gain", "alpha"})


def _bad_number(value: object, where: str, positive: bool) -> str | None:
    """The first number in ``value`` (nested dicts and lists, at path ``where``) that is NaN
    or infinite, or not above zero when ``positive``, said as a sentence; None if none."""
    if isinstance(value, dict):
        items = ((f"{where}.{k}" if where else str(k), v, positive or k in _POSITIVE)
                 for k, v in value.items())
    elif isinstance(value, list):
        items = ((f"{where}[{k}]", v, positive) for k, v in enumerate(value))
    else:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        if not np.isfinite(value):
            return f"{where} is {value}, not a number"
        return f"{where} is {value:g}, not above zero" if positive and value <= 0 else None
    return next((bad for w, v, p in items if (bad := _bad_number(v, w, p))), None)


class Tables(BaseModel):
    """All characterisation tables of one run.

    Every number is finite, and every current, gain and grid value above zero: tables that
    say otherwise are refused, naming the field, before a tile is drawn from them.
    """

    version: int = TABLE_VERSION
    corner: Corner = "typical"
    temp_c: float = 27.0
    vdd: float = VDD
    source_rail_v: float = 0.0  # the NMOS sources' rail the benches ran on (0: ground)
    i_ref_na: float = I_REF
    i_unit_na: float  # nA per software unit the benches ran at (no default: it must be said)
    unit: UnitDevice = UNIT
    ramp_ms: float = RAMP_MS
    # the cell table's switching currents: met within one frame of this period after a step
    # (as the tile's cells meet them); None: on the ramp, which a slow cell overshoots
    frame_ms: float | None = None
    mirrors: list[MirrorTable]
    cell: CellTable
    gain: GainTable
    mismatch_sigma: dict[str, float]
    pelgrom_sigma: dict[str, float]
    seconds: float

    @model_validator(mode="after")
    def _numbers(self) -> Tables:
        bad = _bad_number(self.model_dump(), "", False)
        if bad:
            raise ValueError(bad)
        return self

    @property
    def i_ref_spice(self) -> str:
        """The reference current as a SPICE value, at the tables' unit current."""
        return f"{self.i_ref_na * self.i_unit_na:.6g}n"

    @property
    def v_sum(self) -> float:
        """The summing-node voltage at the reference current: where the class rails are
        held, the level their weights are calibrated at."""
        return next(m.v_out for m in self.mirrors if m.i_node_na == self.i_ref_na)


def characterize(quick: bool = False, unit: UnitDevice = UNIT, *, corner: Corner = "typical",
                 temp_c: float = 27.0, vdd_v: float = VDD, rail_v: float = 0.0,
                 mismatch_sigma: dict[str, float] | None = None,
                 frame_ms: float | None = None) -> Tables:
    """Run every sweep (sequentially: ngspice runs one simulation per process).

    Args:
        quick: coarse grids (a smoke run), not for the package tables.
        unit: the unit device every mirror and cell of the tiles these tables map is drawn
            from (:func:`~bmru_pdk.circuits.sizing.unit_for_sigma` for a target sigma).
        corner: process corner of every bench (the mismatch sigma is the typical corner's).
        temp_c: temperature, °C.
        vdd_v: supply, V.
        rail_v: the NMOS source rail, V (0: every NMOS source on ground, as the tile draws
            them; above 0, the rail of docs/corners.md "Leakage remedies", not drawn yet).
        mismatch_sigma: the unit's measured 1:1 mirror sigma per kind, when known (another
            condition's tables of the same unit): it is the typical corner's at every
            condition, so its Monte Carlo is not run again.
        frame_ms: the cell table's switching currents as met within one frame of this
            period after a step (:func:`frame_thresholds`), as a tile's cells meet them;
            None: on the slow ramp (every table before these).

    Raises:
        BmruError: the cell of a gain-table point showed no clean loop (no ON output to
            measure) at this condition.
    """
    start = time.perf_counter()
    at = {"corner": corner, "temp_c": temp_c, "vdd_v": vdd_v, "rail_v": rail_v}
    ratios = slot_ratios(unit, "sum")
    copies = slot_ratios(unit, "diode")
    currents = [1.0] if quick else MIRROR_CURRENTS
    # unit copies into PMOS diodes; weight and bias outputs on summing nodes
    mirrors = [MirrorTable(kind=NFET, load="diode", ratios=copies, currents_na=currents,
                           gain=[measure_mirror(NFET, copies, i, unit, **at).round(6).tolist()
                                 for i in currents])]
    for node in [I_REF] if quick else SUM_NODE_CURRENTS:
        mirrors += [MirrorTable(kind=k, load="sum", i_node_na=node,
                                v_out=sum_voltage(node, unit, **at), ratios=ratios,
                                currents_na=currents,
                                gain=[measure_mirror(k, ratios, i, unit, load="sum", i_node=node,
                                                     **at).round(6).tolist() for i in currents])
                    for k in (NFET, PFET)]
    gates = unit.diode_gates
    lo, top = ratio_limits(gates)  # a grid of wider diodes draws a narrower range
    fracs = CELL_WIDTH_FRAC[::2] if quick else CELL_WIDTH_FRAC
    thresh = [round(unit_ratio(t, diode_gates=gates).value, 6)
              for t in (CELL_THRESH[1:3] if quick else CELL_THRESH)
              if lo <= t * fracs[0] and t <= top]
    widths = [[round(unit_ratio(f * t, diode_gates=gates).value, 6) for f in fracs]
              for t in thresh]

    def cell(r_thresh: float, r_width: float, r_gain: float, top: float,
             in_frames: bool = False) -> CellPoint | None:
        circuit = bmru_cell(CellParams(r_thresh=r_thresh, r_width=r_width, r_gain=r_gain,
                                       unit=unit, keeper=unit.keepers))
        point = measure_cell(circuit, top, unit=unit, **at)
        if point is None or not (in_frames and frame_ms):
            return point
        met = frame_thresholds(circuit, point, frame_ms, unit=unit, **at)
        return None if met is None else point.model_copy(
            update={"beta_hi": met[0], "beta_lo": met[1]})

    grid = [[cell(t, w, 1.0, 2 * t, in_frames=True) for w in row]
            for t, row in zip(thresh, widths, strict=True)]

    def field(name: str) -> list[list[float | None]]:
        return [[None if p is None else round(getattr(p, name), 5) for p in row] for row in grid]

    table = CellTable(r_thresh=thresh, width_frac=fracs, r_width=widths,
                      beta_hi=field("beta_hi"), beta_lo=field("beta_lo"),
                      i_vdd_off=field("i_vdd_off"), i_vdd_on=field("i_vdd_on"))
    gains = [g for g in (CELL_GAINS[:2] if quick else CELL_GAINS) if g <= top]
    alphas = []
    for g in gains:
        p = cell(2.5, 1.0, g, 5.0)
        if p is None:  # the gain table has no gaps: tables without this point are none
            raise BmruError(f"the cell at r_gain {g:g} (r_thresh 2.5, r_width 1, ramp to 5 nA) "
                            f"showed no clean loop at {corner} {temp_c:g} °C {vdd_v:g} V, so "
                            "its ON output alpha could not be measured")
        alphas.append(round(p.alpha, 5))
    n_mc = 40 if quick else MC_SAMPLES
    sigma = mismatch_sigma or {k: round(measure_mismatch(k, unit, n=n_mc), 5) for k in (NFET, PFET)}
    return Tables(
        corner=corner, temp_c=temp_c, vdd=vdd_v, source_rail_v=rail_v, frame_ms=frame_ms,
        i_unit_na=I_UNIT_NA,  # read now: a study of another operating point sets it
        unit=unit, mirrors=mirrors, cell=table,
        gain=GainTable(r_gain=gains, alpha=alphas),
        mismatch_sigma=sigma,
        pelgrom_sigma={k: round(pelgrom_sigma(k, unit), 5) for k in (NFET, PFET)},
        seconds=round(time.perf_counter() - start, 2))


def table_path(directory: Path = DATA_DIR, version: int = TABLE_VERSION) -> Path:
    """Where version ``version`` of the tables lives."""
    return directory / f"tables_v{version}.json"


def write_tables(tables: Tables, directory: Path = DATA_DIR) -> Path:
    """Write ``tables`` as JSON (and the mirror tables as CSV beside it)."""
    path = table_path(directory, tables.version)
    write_text(path, json.dumps(tables.model_dump(), indent=1) + "\n")
    for m in tables.mirrors:
        rows = ["i_in_na," + ",".join(f"r={r:g}" for r in m.ratios)]
        rows += [f"{i:g}," + ",".join(f"{g:.5f}" for g in gs)
                 for i, gs in zip(m.currents_na, m.gain, strict=True)]
        node = "" if m.i_node_na is None else f"_{m.i_node_na:g}nA"
        write_text(directory / f"mirror_{m.kind}_{m.load}{node}_v{tables.version}.csv",
                   "\n".join(rows) + "\n")
    return path


def plot_tables(tables: Tables, directory: Path) -> list[Path]:
    """PNG plots of the tables into ``directory``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    shown = [m for m in tables.mirrors if m.i_node_na in (None, tables.i_ref_na)]
    fig, axes = plt.subplots(1, len(shown), figsize=(5 * len(shown), 4), sharey=True)
    for ax, m in zip(axes, shown, strict=True):
        for i, gs in zip(m.currents_na, m.gain, strict=True):
            ax.semilogx(m.ratios, np.array(gs) / np.array(m.ratios), "o-", label=f"{i:g} nA")
        ax.set(title=f"{m.kind} mirror, {m.load} load", xlabel="drawn ratio W_out / W_unit",
               ylabel="gain / drawn ratio")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(title="I_in")
    paths.append(_save(fig, directory / "mirror_gain.png"))

    c = tables.cell
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for j, f in enumerate(c.width_frac):
        t = [x for x, row in zip(c.r_thresh, c.beta_hi, strict=True) if row[j] is not None]
        hi = [row[j] for row in c.beta_hi if row[j] is not None]
        lo = [row[j] for row in c.beta_lo if row[j] is not None]
        (line,) = ax.loglog(t, hi, "^-", label=f"ON, I_width = {f:g} I_thresh")
        ax.loglog(t, lo, "v--", color=line.get_color(), label="OFF")
    ax.loglog(c.r_thresh, c.r_thresh, "k:", lw=0.8, label="I_thresh")
    ax.set(title="cell switching currents", xlabel="I_thresh (drawn), nA",
           ylabel="switching current, nA")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    paths.append(_save(fig, directory / "cell_thresholds.png"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    g = tables.gain
    a1.loglog(g.r_gain, g.alpha, "o-", label="measured")
    a1.loglog(g.r_gain, g.r_gain, "k:", label="ideal")
    a1.set(title="cell output vs I_gain", xlabel="I_gain (drawn), nA", ylabel="alpha, nA")
    a1.legend()
    for name, rows in (("OFF", c.i_vdd_off), ("ON", c.i_vdd_on)):
        pw = [np.mean([VDD * x for x in row if x is not None]) for row in rows]
        a2.semilogx(c.r_thresh, pw, "o-", label=name)
    a2.set(title="cell supply power (mid hold band)", xlabel="I_thresh, nA", ylabel="nW")
    a2.legend()
    for ax in (a1, a2):
        ax.grid(True, which="both", alpha=0.3)
    paths.append(_save(fig, directory / "cell_gain_power.png"))
    return paths


def _save(fig, path: Path) -> Path:  # noqa: ANN001  (matplotlib figure)
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
