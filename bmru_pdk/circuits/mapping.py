"""Learned parameters -> drawn ratios (and so widths), by inverse lookup in the tables.

The tables (:mod:`bmru_pdk.circuits.characterize`) are at the reference current
``I_REF`` = 1 software unit, which is the tables' unit current ``i_unit_na`` (the operating
point): a tile's reference sunk into its bias generator must be that current. Weights are
the gain from an input current ``x<i>`` of a weight array to its rail; bias b, thresholds
and alpha are currents in software units (the checkpoint's "nA").

Every drawn ratio is on the unit-element grid (:func:`~bmru_pdk.circuits.sizing.unit_grid`:
whole units in parallel, series stacks of units beside them; or, for tables of a unit
device with D-gate diodes, k whole gates of a D-gate diode's). The tables hold the gain of
one slot of each kind, one unit and a stack of n units (one gate on D-gate diodes); a
drawing's gain is the sum of its slots' (parallel slots add their currents at one gate and
drain voltage). A learned value is realised by the drawing whose characterised value is
nearest, or by the one with the fewest transistors among those within
:data:`SNAP_TOLERANCE` of it; the model then runs the realised values.

A value outside what the tables cover raises :class:`BmruError` naming the parameter, its
value and the realisable range.
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from bmru_pdk.circuits.builders import CellParams, UnitParams
from bmru_pdk.circuits.characterize import (
    DATA_DIR,
    TABLE_VERSION,
    Load,
    MirrorTable,
    Tables,
    table_path,
)
from bmru_pdk.circuits.model import NFET, PFET, MosKind
from bmru_pdk.circuits.sizing import MAX_SERIES, unit_grid, unit_ratio
from bmru_pdk.errors import BmruError
from bmru_pdk.model.schema import Realisability

_ITERATIONS = 30
# A value read back from a checkpoint's float32 storage: a grid level at a table's end (a
# drawing the tables hold) may come back this far (relative) outside it.
_STORED = 1e-5
# A drawing this close to the wanted value (relative) is as good as the nearest: well inside
# the 5 % sigma of a 1:1 unit mirror's random mismatch, which a chip adds to it anyway (and
# the model runs the realised value). Among drawings this close, the one with the fewest
# transistors (then units) is drawn: each stacked gate costs simulation time.
SNAP_TOLERANCE = 0.02
# The environment variable naming a folder of tables other than the package's (another
# unit device or operating point, from 'bmru characterize --tables DIR'): read by the entry
# points (:func:`tables_from_environment`), never at import, and passed down explicitly.
TABLES_ENV = "BMRU_TABLES"
# The package's tables of every grid it ships: one-gate diodes with series stacks (the
# default), 4-gate diodes, 4-gate diodes with the drain-matching cascodes, and those with the
# cells' keepers (``bmru characterize --diode-gates 4 [--cascodes [--keepers]]``), whose
# networks train on their levels (``bmru train --tables``)
GRID_DIRS = (DATA_DIR, DATA_DIR.with_name("characterization_4gate"),
             DATA_DIR.with_name("characterization_4gate_cc"),
             DATA_DIR.with_name("characterization_4gate_cc_keepers"))


@cache
def load_tables(folder: Path | None = None, version: int = TABLE_VERSION) -> Tables:
    """The characterisation tables in ``folder`` (``None``: the package's own).

    Raises:
        BmruError: No tables of ``version`` there, or a file that is not valid tables (a
            NaN, an infinite or a non-positive current among them): the sentence names
            the file and the field.
    """
    where = DATA_DIR if folder is None else Path(folder)
    path = table_path(where, version)
    if not path.exists():
        named = "the package" if folder is None else str(folder)
        raise BmruError(f"no characterisation tables of version {version} in {named}: "
                        "run 'bmru characterize'")
    try:
        return Tables.model_validate(json.loads(path.read_text()))
    except ValidationError as exc:
        raise BmruError(f"{path} holds no valid characterisation tables: "
                        f"{_first_error(exc)}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BmruError(f"{path} is not characterisation tables: {exc}") from None


def _first_error(exc: ValidationError) -> str:
    """The first problem pydantic found, with its field (``mirrors[0].kind``)."""
    error = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    what = str(error["ctx"]["error"]) if error["type"] == "value_error" else error["msg"]
    return f"{where.lstrip('.')} {what[0].lower()}{what[1:]}" if where else what


def tables_from_environment() -> Tables:
    """The tables the environment selects (:data:`TABLES_ENV`), else the package's: for entry
    points (the CLI, benchmarks) only."""
    folder = os.environ.get(TABLES_ENV)
    try:
        return load_tables(Path(folder) if folder else None)
    except BmruError as exc:
        raise BmruError(f"{exc} ({TABLES_ENV})" if folder else str(exc)) from None


def environment_tables() -> Tables | None:
    """The tables :data:`TABLES_ENV` names, read at an entry point and passed down, else
    ``None``: the package's tables of the network's grid (:func:`tables_for`)."""
    return tables_from_environment() if os.environ.get(TABLES_ENV) else None


def tables_for(window: Realisability, tables: Tables | None = None) -> Tables:
    """The tables a network trained within ``window`` maps with: ``tables`` (``None``: the
    package's). A network trained on a grid's levels is drawn only with tables that draw
    those levels (another grid or operating point would draw other values than it runs):
    without ``tables`` the package's tables of its grid (:data:`GRID_DIRS`).

    Raises:
        BmruError: ``tables`` that do not draw the window's levels, or no package tables
            that do.
    """
    if window.weight_levels is None:
        return tables or load_tables()
    for candidate in [tables] if tables is not None else [load_tables(d) for d in GRID_DIRS]:
        if _same_levels(window, realisability(candidate)):
            return candidate
    which = "these tables do not" if tables is not None else "no tables of the package"
    raise BmruError(f"the network was trained on the levels of a grid {which} draw: map it "
                    f"with the tables it was trained with ({TABLES_ENV})")


def _same_levels(a: Realisability, b: Realisability) -> bool:
    """Whether two windows hold the same levels, as far as float32 storage can tell."""
    def close(x: object, y: object) -> bool:
        if x is None or y is None:
            return x is y
        u, v = np.asarray(x, float), np.asarray(y, float)
        return u.shape == v.shape and bool(np.allclose(u, v, rtol=_STORED, atol=0))

    return all(close(getattr(a, k), getattr(b, k)) for k in
               ("weight_levels", "bias_levels", "threshold_levels", "alpha_levels"))


def _interp_rows(x: float, xp: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``np.interp(x, xp, rows[:, k])`` for every column k at once, with numpy's own
    arithmetic (the same bits): x is clipped to the ends of ``xp``."""
    if x >= xp[-1]:
        return rows[-1].copy()
    if x <= xp[0]:
        return rows[0].copy()
    j = int(np.searchsorted(xp, x, side="right")) - 1
    slope = (rows[j + 1] - rows[j]) / (xp[j + 1] - xp[j])
    return slope * (x - xp[j]) + rows[j]


def _gains_at(m: MirrorTable, i_in: float) -> np.ndarray:
    """The gain row at input current ``i_in`` nA (interpolated in log current)."""
    return _interp_rows(math.log(i_in), np.log(m.currents_na), np.array(m.gain))


def _row(kind: MosKind, t: Tables, i_in: float, load: Load,
         i_node: float) -> tuple[list[float], np.ndarray]:
    """Slot ratios and their gains at input current ``i_in`` nA; on a summing node,
    interpolated (in log current) between the tables of the ReLU currents around ``i_node``."""
    tabs = sorted((m for m in t.mirrors if m.kind == kind and m.load == load),
                  key=lambda m: m.i_node_na or 0.0)
    rows = np.array([_gains_at(m, i_in) for m in tabs])
    if len(tabs) == 1:
        return tabs[0].ratios, rows[0]
    ln = np.log([m.i_node_na for m in tabs])
    return tabs[0].ratios, _interp_rows(math.log(i_node), ln, rows)


@cache
def _slot_counts(gates: int) -> np.ndarray:
    """(grid drawing, slot) -> how many slots of that kind the drawing has; slot n - 1 is a
    stack of n gates (slot 0: one gate), on the grid of ``gates``-gate diodes."""
    grid = unit_grid(gates)
    counts = np.zeros((len(grid), MAX_SERIES))
    for i, r in enumerate(grid):
        counts[i, 0] = r.whole
        for n in r.stacks:
            counts[i, n - 1] += 1
    return counts


@cache
def _grid_cost(gates: int) -> np.ndarray:
    """Transistors, then gates, of every grid drawing, as one sortable number."""
    return np.array([r.transistors * 1000 + r.units for r in unit_grid(gates)])


def _slot_gains(kind: MosKind, t: Tables, i_in: float, load: Load,
                i_node: float) -> np.ndarray:
    """Gain of one slot of each kind (one gate, a stack of 2 .. MAX_SERIES gates); on a grid
    of D-gate diodes one gate alone (ratio 1 / D), the other slots zero."""
    ratios, gains = _row(kind, t, i_in, load, i_node)
    gates = t.unit.diode_gates
    slots = np.zeros(MAX_SERIES)
    if gates > 1:  # its one drawing, k gates (characterize.slot_ratios): a gate's share
        slots[0] = gains[0] / (ratios[0] * gates)
        return slots
    for n in range(1, MAX_SERIES + 1):
        k = next((k for k, r in enumerate(ratios) if abs(r * n - 1) < 1e-3), None)
        if k is None:
            raise BmruError(f"the tables have no {kind} slot of {n} units in series: "
                            "run 'bmru characterize'")
        slots[n - 1] = gains[k]
    return slots


def grid_gains(kind: MosKind, t: Tables, i_in: float, load: Load = "sum",
                i_node: float = 1.0) -> np.ndarray:
    """Characterised gain of every drawing of the unit grid (in the grid's order), at input
    current ``i_in`` nA onto a summing node at ReLU current ``i_node`` (``sum``) or into a
    PMOS diode."""
    return _slot_counts(t.unit.diode_gates) @ _slot_gains(kind, t, i_in, load, i_node)


def mirror_gain(kind: MosKind, ratio: float, i_in: float = 1.0, tables: Tables | None = None,
                load: Load = "sum", i_node: float = 1.0) -> float:
    """Characterised I_out / I_in of a mirror output drawn as ``ratio`` (a grid drawing) at
    ``i_in`` nA, on a summing node whose ReLU carries ``i_node`` nA (``sum``) or into a PMOS
    diode (``diode``)."""
    t = tables or load_tables()
    r = unit_ratio(ratio, diode_gates=t.unit.diode_gates)
    slots = _slot_gains(kind, t, i_in, load, i_node)
    return float(r.whole * slots[0] + sum(slots[n - 1] for n in r.stacks))


def copy_gain(i_in: float = 1.0, tables: Tables | None = None) -> float:
    """Gain of a unit NMOS copy into a PMOS diode (a weight row's ``MXC``, the bias
    generator's ``vbp``, a unit's ReLU copy into its cell) at ``i_in`` nA."""
    return mirror_gain(NFET, 1.0, i_in, tables, load="diode")


def gain_range(kind: MosKind, tables: Tables | None = None, i_in: float = 1.0,
               i_node: float = 1.0) -> tuple[float, float]:
    """Smallest and largest gain the unit grid draws at ``i_in`` nA on a summing node."""
    g = grid_gains(kind, tables or load_tables(), i_in, i_node=i_node)
    return float(g.min()), float(g.max())


def _pick(err: np.ndarray, cost: np.ndarray) -> int:
    """Index of the drawing realising a value: the one of least relative error ``err``, or
    the cheapest (``cost``) among those within :data:`SNAP_TOLERANCE`."""
    close = np.flatnonzero(err <= SNAP_TOLERANCE)
    if not len(close):
        return int(np.argmin(err))
    return int(close[np.lexsort((err[close], cost[close]))[0]])


def _cost(value: float, gates: int) -> int:
    r = unit_ratio(value, diode_gates=gates)
    return r.transistors * 1000 + r.units


def _invert(xs: list[float], ys: np.ndarray, target: float) -> float:
    """x with y(x) = target, log-log interpolation; ys increase with xs."""
    return float(np.exp(np.interp(math.log(target), np.log(ys), np.log(xs))))


def snap_bound(kind: MosKind, gain: float, tables: Tables | None = None) -> float:
    """The largest relative error the grid can leave on ``gain`` (at 1 nA onto a summing
    node): half the relative gap between the drawings' gains around it, or the tolerance."""
    g = np.sort(grid_gains(kind, tables or load_tables(), 1.0))
    k = int(np.clip(np.searchsorted(g, gain), 1, len(g) - 1))
    return max(float(g[k] / g[k - 1] - 1) / 2, SNAP_TOLERANCE)


def signed_ratio(gain: float, name: str, tables: Tables | None = None,
                 i_in: float = 1.0, i_node: float = 1.0) -> float:
    """Drawn signed ratio (a unit-grid value) of the output that realises a signed ``gain``.

    A negative gain is an NMOS output on the input's NMOS diode; a positive gain a PMOS
    output on the PMOS diode fed by a unit NMOS copy (weight-array rows, the bias
    generator's ``vbp``), so its drawing compensates that copy's gain too.

    Args:
        gain: the requested gain (weight, or bias b / I_REF).
        name: the parameter's name for the error message (``weight[2][0]``, ``b[1]``).
        tables: tables to use (the package's by default).
        i_in: the input current the gain is calibrated at, nA (weights: their input's
            typical current; biases: the reference).
        i_node: the ReLU current of the summing node the output drives when it matters
            (its unit near a threshold), nA.

    Raises:
        BmruError: ``|gain|`` is outside the characterised range of its polarity.
    """
    if gain == 0:
        return 0.0
    t = tables or load_tables()
    kind = NFET if gain < 0 else PFET
    scale = 1.0 if kind == NFET else copy_gain(i_in, t)
    gains = grid_gains(kind, t, i_in, i_node=i_node) * scale
    lo, hi = float(gains.min()), float(gains.max())
    if t.unit.diode_gates > 1:  # a grid value k / D draws as the k gates nearest it
        ends = np.sort(gains)
        lo, hi = lo / math.sqrt(ends[1] / ends[0]), hi * math.sqrt(ends[-1] / ends[-2])
    if not lo <= abs(gain) <= hi:
        lo, hi = (lo, hi) if gain > 0 else (-hi, -lo)
        sign = "positive" if gain > 0 else "negative"
        raise BmruError(f"{name}={gain:.4g} cannot be realised: {sign} values must be within "
                        f"{lo:.4g}..{hi:.4g} (unit-element grid, characterised)")
    gates = t.unit.diode_gates
    r = unit_grid(gates)[_pick(np.abs(np.log(gains / abs(gain))), _grid_cost(gates))].value
    return r if kind == PFET else -r


def _share(t: Tables, ratio: float) -> float:
    """Characterised current (in units of the reference) of an NMOS output drawn as grid
    value ``ratio`` on the reference's gate line: the cell's bias currents. A stack carries
    more than its nominal 1/n, so the cell tables are read in these currents, not in the
    nominal ratios."""
    return mirror_gain(NFET, ratio, t.i_ref_na, t, i_node=t.i_ref_na)


def _cell_at_current(t: Tables, i_thresh: float, i_width: float) -> tuple[float, float]:
    """Characterised (beta_hi, beta_lo) in nA of a bare cell whose I_thresh and I_width
    outputs carry ``i_thresh`` and ``i_width`` (units of the reference): each row of the
    tables (scaled by its I_thresh) interpolated in its I_width / I_thresh, then the rows in
    log I_thresh."""
    c = t.cell
    rt = np.array([_share(t, r) for r in c.r_thresh])
    fracs = np.array([[_share(t, w) for w in row] for row in c.r_width]) / rt[:, None]
    x = np.clip(math.log(i_thresh), math.log(rt[0]), math.log(rt[-1]))
    f = i_width / i_thresh

    def at(grid: list[list[float | None]]) -> float:
        g = np.array(grid, dtype=float) / rt[:, None]
        row = [np.interp(f, fracs[i], g[i]) for i in range(len(rt))]
        return float(np.interp(x, np.log(rt), row)) * i_thresh

    return at(c.beta_hi), at(c.beta_lo)


def _cell_at(t: Tables, r_thresh: float, r_width: float) -> tuple[float, float]:
    """Characterised (beta_hi, beta_lo) in nA of a bare cell drawn with these grid ratios."""
    return _cell_at_current(t, _share(t, r_thresh), _share(t, r_width))


def _alpha_at(t: Tables, r_gain: float) -> float:
    """Characterised cell output (nA) of a drawn I_gain ratio (read in its current)."""
    g = t.gain
    shares = np.log([_share(t, r) for r in g.r_gain])
    return float(np.exp(np.interp(math.log(_share(t, r_gain)), shares, np.log(g.alpha))))


def _nearest_drawings(t: Tables, share: float, k: int = 4) -> list[float]:
    """The ``k`` grid values whose NMOS share of the reference is nearest ``share``."""
    g = grid_gains(NFET, t, t.i_ref_na, i_node=t.i_ref_na)
    order = np.argsort(np.abs(np.log(g / share)))[:k]
    return [unit_grid(t.unit.diode_gates)[i].value for i in order]


def cell_values(p: CellParams, input_gain: float = 1.0,
                tables: Tables | None = None) -> tuple[float, float, float]:
    """Characterised (beta_hi, beta_lo, alpha) in nA of a cell drawn with ``p``'s ratios; the
    thresholds refer to the current that reaches ``in`` through ``input_gain``."""
    t = tables or load_tables()
    hi, lo = _cell_at(t, p.r_thresh, p.r_width)
    return hi / input_gain, lo / input_gain, _alpha_at(t, p.r_gain)


def realised_gain(ratio: float, tables: Tables | None = None, i_in: float = 1.0,
                  i_node: float = 1.0) -> float:
    """Characterised signed gain of a drawn signed ratio at input current ``i_in`` nA onto a
    summing node at ReLU current ``i_node``: the inverse of :func:`signed_ratio`."""
    if ratio == 0:
        return 0.0
    t = tables or load_tables()
    if ratio < 0:
        return -mirror_gain(NFET, -ratio, i_in, t, i_node=i_node)
    return mirror_gain(PFET, ratio, i_in, t, i_node=i_node) * copy_gain(i_in, t)


def ranges(tables: Tables | None = None) -> dict[str, tuple[float, float]]:
    """What the mapping realises: magnitude of a weight (gain) or of a bias / I_REF in either
    polarity, beta_hi (nA, at a bare cell's input), delta / beta_hi and alpha (nA)."""
    t = tables or load_tables()
    copy = copy_gain(tables=t)
    (lo_n, hi_n), (lo_p, hi_p) = gain_range(NFET, t), gain_range(PFET, t)
    c = t.cell
    return {"gain": (max(lo_n, lo_p * copy), min(hi_n, hi_p * copy)),
            "beta_hi": (_cell_at(t, c.r_thresh[0], c.r_width[0][0])[0],
                        _cell_at(t, c.r_thresh[-1], c.r_width[-1][0])[0]),
            "delta_fraction": (c.width_frac[0], c.width_frac[-1]),
            "alpha": (min(t.gain.alpha), max(t.gain.alpha))}


# how far inside the characterised ranges a network is trained: the snap to the nearest
# drawing and a table's interpolation stay within them (the defaults' margin, schema.py)
REALISABLE_MARGIN = 0.03


def realisability(tables: Tables | None = None, margin: float = REALISABLE_MARGIN
                  ) -> Realisability:
    """The window a network trained for ``tables`` keeps within: ``margin`` inside what the
    tables realise. On a grid of D-gate diodes every value is one the grid draws, at the
    value its tables give it (its levels; the window is their hull): the weights and biases
    k of D gates of either polarity (nothing between), calibrated at an input of one unit
    onto a summing node at one unit; the cell's thresholds and output its drawings'."""
    t = tables or load_tables()
    gates = t.unit.diode_gates
    if gates > 1:
        grid = [r.value for r in unit_grid(gates)]
        # every drawing of either polarity, k of D gates, at its calibration point
        gains = tuple(sorted(realised_gain(s * v, t) for v in grid for s in (-1, 1)))
        mags = np.abs(gains)
        pairs = tuple(_threshold_levels(t))
        alphas = tuple(_alpha_at(t, v) for v in grid if t.gain.r_gain[0] <= v <= t.gain.r_gain[-1])
        fractions = [1 - low / high for high, low in pairs]
        return Realisability(
            w_min=mags.min(), w_max=mags.max(), i_min=mags.min() * t.i_ref_na,
            i_max=mags.max() * t.i_ref_na, beta_hi_min=pairs[0][0], beta_hi_max=pairs[-1][0],
            delta_frac_min=min(fractions), delta_frac_max=max(fractions),
            alpha_min=min(alphas), alpha_max=max(alphas), weight_levels=gains,
            bias_levels=tuple(g * t.i_ref_na for g in gains), threshold_levels=pairs,
            alpha_levels=alphas)
    r = ranges(t)
    lo, hi = r["gain"][0] * (1 + margin), r["gain"][1] * (1 - margin)
    (b_lo, b_hi), (f_lo, f_hi), (a_lo, a_hi) = r["beta_hi"], r["delta_fraction"], r["alpha"]
    # a unit's thresholds are its summing node's current: the cell sees the ReLU's copy of it
    b_lo, b_hi = b_lo / copy_gain(b_lo, t), b_hi / copy_gain(b_hi, t)
    return Realisability(
        w_min=lo, w_max=hi, i_min=lo * t.i_ref_na, i_max=hi * t.i_ref_na,
        beta_hi_min=b_lo * (1 + margin), beta_hi_max=b_hi * (1 - margin),
        delta_frac_min=f_lo + margin / 3, delta_frac_max=f_hi - margin / 3,
        alpha_min=a_lo * (1 + margin), alpha_max=a_hi * (1 - margin))


def _threshold_levels(t: Tables) -> list[tuple[float, float]]:
    """(beta_hi, beta_lo) in nA at a unit's summing node of every cell drawing the tables
    cover and :func:`cell_params` accepts: the bare cell's thresholds divided by the ReLU
    copy's gain at beta_hi, as :func:`unit_params` compensates it."""
    c = t.cell
    grid = [r.value for r in unit_grid(t.unit.diode_gates)]
    hi_range = ranges(t)["beta_hi"]
    levels = []
    for a in (a for a in grid if c.r_thresh[0] <= a <= c.r_thresh[-1]):
        for b in (b for b in grid if c.width_frac[0] <= b / a <= c.width_frac[-1]):
            hi, lo = _cell_at(t, a, b)
            if not (_inside(hi, *hi_range)
                    and _inside(1 - lo / hi, c.width_frac[0], c.width_frac[-1])):
                continue
            gain = copy_gain(hi, t)
            for _ in range(_ITERATIONS):  # the copy's gain at its own current: fixed point
                gain = copy_gain(hi / gain, t)
            levels.append((hi / gain, lo / gain))
    if not levels:
        raise BmruError("the tables' cell realises no threshold pair on their grid: "
                        "run 'bmru characterize' over a wider range")
    return sorted(levels)


def _inside(x: float, lo: float, hi: float) -> bool:
    """``lo <= x <= hi``, as far as a float32-stored value can tell (:data:`_STORED`)."""
    return lo * (1 - _STORED) <= x <= hi * (1 + _STORED)


def cell_params(alpha: float, beta_lo: float, delta: float, input_gain: float = 1.0,
                tables: Tables | None = None) -> CellParams:
    """Cell ratios that switch ON at beta_hi = beta_lo + delta, OFF at beta_lo, output alpha.

    Args:
        alpha: output current when ON, nA.
        beta_lo: switch-off current, nA.
        delta: hysteresis width beta_hi - beta_lo, nA.
        input_gain: gain from the current the thresholds refer to to the cell's ``in`` pin
            (the ReLU copy in a unit); 1 for a bare cell.
        tables: tables to use (the package's by default).

    Raises:
        BmruError: a parameter is outside the characterised range.
    """
    t = tables or load_tables()
    c = t.cell
    hi_t, lo_t = (beta_lo + delta) * input_gain, beta_lo * input_gain
    fr = c.width_frac
    limits = ranges(t)
    hi_range = limits["beta_hi"]
    if not _inside(hi_t, *hi_range):
        raise BmruError(f"beta_hi = beta_lo + delta = {beta_lo + delta:.4g} nA cannot be "
                        f"realised: it must be within {hi_range[0] / input_gain:.4g}.."
                        f"{hi_range[1] / input_gain:.4g} nA")
    if not _inside(delta / (beta_lo + delta), fr[0], fr[-1]):
        raise BmruError(f"delta={delta:.4g} nA cannot be realised: it must be within "
                        f"{fr[0]:g}..{fr[-1]:g} x beta_hi (= {beta_lo + delta:.4g} nA)")
    # the bias currents that give the thresholds, then the drawings nearest them
    i_t, f = hi_t, delta / (beta_lo + delta)
    for _ in range(_ITERATIONS):  # each quantity mostly depends on one current: fixed point
        hi, lo = _cell_at_current(t, i_t, i_t * f)
        i_t *= hi_t / hi
        f = float(np.clip(f * (hi_t - lo_t) / (hi - lo), fr[0], fr[-1]))
    pairs = [(a, b) for a in _nearest_drawings(t, i_t) for b in _nearest_drawings(t, i_t * f)
             if b < a]
    err = np.array([max(abs(math.log(hi / hi_t)), abs(math.log(lo / lo_t))) for hi, lo in
                    (_cell_at(t, a, b) for a, b in pairs)])
    gates = t.unit.diode_gates
    cost = np.array([_cost(a, gates) + _cost(b, gates) for a, b in pairs])
    r_thresh, r_width = pairs[_pick(err, cost)]
    lo_a, hi_a = limits["alpha"]
    if not _inside(alpha, lo_a, hi_a):
        raise BmruError(f"alpha={alpha:.4g} nA cannot be realised: it must be within "
                        f"{lo_a:.4g}..{hi_a:.4g} nA")
    g = t.gain
    shares = [_share(t, r) for r in g.r_gain]
    gains = _nearest_drawings(t, _invert(shares, np.array(g.alpha), alpha))
    err = np.array([abs(math.log(_alpha_at(t, x) / alpha)) for x in gains])
    r_gain = gains[_pick(err, np.array([_cost(x, gates) for x in gains]))]
    return CellParams(r_thresh=round(r_thresh, 6), r_width=round(r_width, 6),
                      r_gain=round(r_gain, 6))


def band_middle(beta_lo: float, delta: float) -> float:
    """The candidate current (nA) at the middle of a unit's hysteresis band: its summing
    node's ReLU current when the weights and bias driving it decide its state."""
    return beta_lo + delta / 2


def unit_params(alpha: float, beta_lo: float, delta: float, b: float,
                tables: Tables | None = None) -> UnitParams:
    """A BMRU unit's drawn ratios for its learned (alpha, beta_lo, delta, b).

    The thresholds refer to the summing-node current: the ReLU copy between it and the
    cell is compensated at the threshold's current level.
    """
    t = tables or load_tables()
    relu = copy_gain(beta_lo + delta, t)
    return UnitParams(cell=cell_params(alpha, beta_lo, delta, relu, t),
                      r_bias=signed_ratio(b / t.i_ref_na, "b", t,
                                          i_node=band_middle(beta_lo, delta)))
