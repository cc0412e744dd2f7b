"""Which calibrated element moves at each PVT condition, and by how much: mirror copy gains,
realised weights and biases, the cell's beta_hi / beta_lo / alpha, and the leakage floor.

The characterisation tables calibrate every element at the typical corner, 27 °C, 1.8 V. This
re-runs the same benches (``bmru_pdk.circuits.characterize``) at the five process corners x
-40 / 27 / 125 °C and at VDD 1.62 / 1.98 V (typical, 27 °C), 17 conditions, and reports each
figure as its deviation from the typical 27 °C 1.8 V value. The drift of a mirror output's
gain is measured per drawing: whole unit gates (1, 2), series stacks of unit gates (1/2, 1/4:
the circuit's), and one narrower finger (1/2, 1/4: the drawing the stacks replaced). The
leakage floor is the supply current with zero input and zero reference current, of a cell with
its bias generator, of a weight row, and of the bundled checkpoint's extracted tile. A global
trim of the reference current (one factor per condition: the one that minimises the worst
deviation, relative to its tolerance, of the currents mirrored from it) is computed from the
measurement, and what it leaves is reported.

Usage: ``python benchmarks/bench_corners.py``. Prints the tables and writes
``benchmarks/results/corners.json`` and ``corners.png``. About 3.5 minutes on one core (most
of it the tile's supply; ``--no-tile`` skips it).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import provenance

from bmru_pdk.analyses.testbench import VDD_V, Condition, supply_node
from bmru_pdk.circuits import (
    NFET,
    PFET,
    BiasParams,
    Circuit,
    MirrorParams,
    WeightArrayParams,
    bias_generator,
    bmru_cell,
    current_mirror,
    mapping,
    weight_array,
)
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.model import MosKind
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import CORNERS, GMIN_S, NGSPICE_GMIN_S, SpiceError, simulate

RESULTS = Path(__file__).parent / "results"
CONDITIONS = [Condition(c, t) for c in CORNERS for t in (-40.0, 27.0, 125.0)] + [
    Condition("typical", 27.0, 0.9 * VDD_V), Condition("typical", 27.0, 1.1 * VDD_V)]
NOMINAL = Condition()
RATIOS = [0.5, 1.0, 2.0, 4.0]
MIRROR_CURRENTS = [1.0, 3.0]  # nA
WEIGHTS = [s * w for w in RATIOS for s in (1, -1)]  # realised through a weight-array row
BIASES = {"bp": 1.0, "bn": -1.0}  # nA
# (beta_hi, delta / beta_hi, alpha), nA: cells near the bottom, middle and top of the range
CELLS = [(1.0, 0.5, 1.0), (2.0, 0.5, 2.0), (4.0, 0.5, 4.0)]
# What a compare tolerates: currents forming the candidate (weights, biases, alpha) and the
# thresholds it is compared with
TOLERANCE = {"weight": 0.02, "bias": 0.02, "alpha": 0.02, "beta_hi": 0.05, "beta_lo": 0.05}
REFERENCED = ("bias", "beta_hi", "beta_lo", "alpha")  # the currents mirrored from I_REF
# Drawings of one mirror output whose drift is compared: name -> (ratio, one narrower finger).
# Whole units and series stacks of unit gates are what the circuit draws; a narrower finger
# (width ratio x the unit's) is how a sub-unit ratio was drawn before the unit grid.
DRAWINGS = {"1": (1.0, False), "2": (2.0, False), "1/2 stack": (0.5, False),
            "1/4 stack": (0.25, False), "1/2 narrow": (0.5, True), "1/4 narrow": (0.25, True)}
UNIT_OUTPUT = "1"  # the output every other one's share is taken of
DRIFT_TARGET = {"whole": 0.005, "series": 0.01}  # the targets, +- fraction


def _kw(c: Condition) -> dict:
    return {"corner": c.corner, "temp_c": c.temp_c, "vdd_v": c.vdd_v}


def mirrors(c: Condition) -> dict[str, list[float]]:
    """Copy gains: NMOS and PMOS mirrors onto a summing node at 1 and 3 nA, and the unit
    NMOS copy into a PMOS diode (a positive weight's row copy, the ReLU copy into a cell)."""
    out = {f"{k[0]}mos_{i:g}nA": ch.measure_mirror(k, RATIOS, i, load="sum", **_kw(c)).tolist()
           for k in (NFET, PFET) for i in MIRROR_CURRENTS}
    out["copy_diode"] = [float(ch.measure_mirror(NFET, [1.0], i, load="diode", **_kw(c))[0])
                         for i in MIRROR_CURRENTS]
    return out


def drawing_class(name: str) -> str:
    """Which target a drawing is held to: ``whole`` units or ``series`` (sub-unit) ratios.

    Args:
        name: A key of ``DRAWINGS``.
    """
    return "whole" if DRAWINGS[name][0] >= 1 else "series"


def drawing_text(name: str) -> str:
    """How a drawing's output is drawn, in words: ``series stack of 2 unit gates``.

    Args:
        name: A key of ``DRAWINGS``.
    """
    ratio, narrow = DRAWINGS[name]
    if narrow:
        return f"one finger of {ratio:g} x the unit's width"
    if ratio >= 1:
        return "1 unit gate" if ratio == 1 else f"{ratio:g} unit gates in parallel"
    return f"series stack of {round(1 / ratio)} unit gates"


def drawings_mirror(kind: MosKind) -> Circuit:
    """One mirror with an output ``MO<k>`` per drawing of ``DRAWINGS``, in its order.

    The circuit draws every ratio from unit gates; a narrow drawing's output is redrawn as
    one finger of the ratio's width, as ``tests/test_unit_ratios.py`` does.

    Args:
        kind: Mirror type.
    """
    mirror = current_mirror(MirrorParams(kind=kind, ratios=[r for r, _ in DRAWINGS.values()]))
    devices = {d.name: d for d in mirror.devices}
    for k, (ratio, narrow) in enumerate(DRAWINGS.values()):
        if narrow:
            out = devices[f"MO{k}"]
            devices[out.name] = out.model_copy(update={"w": out.w * ratio, "fingers": 1,
                                                       "stacks": ()})
    return mirror.model_copy(update={"devices": list(devices.values())})


def unit_ratios(c: Condition) -> dict[str, dict[str, dict[str, float]]]:
    """Gain of each drawing's output at 1 software unit in (the tables' reference), outputs
    held at the condition's summing-node voltage, and its share of the unit output.

    Args:
        c: The condition.

    Returns:
        Per kind (``nmos``, ``pmos``), per drawing: ``gain`` (I_out / I_in) and ``share``
        (I_out / the ``UNIT_OUTPUT`` output's current).
    """
    out = {}
    for kind in (NFET, PFET):
        r = simulate(ch.mirror_bench(drawings_mirror(kind), kind, ch.I_REF, load="sum",
                                     **_kw(c)), corner=c.corner, temp_c=c.temp_c)
        i = {name: float(r[f"i(vo{k})"][0]) for k, name in enumerate(DRAWINGS)}
        out[f"{kind[0]}mos"] = {name: {"gain": float(ch.to_units(x)) / ch.I_REF,
                                       "share": x / i[UNIT_OUTPUT]} for name, x in i.items()}
    return out


def unit_ratio_drift(rows: list[dict]) -> None:
    """Add to each drawing of each row its ``drift`` and ``share_drift``: the gain and the
    share relative to their typical 27 °C 1.8 V values (in place).

    Args:
        rows: The conditions' rows, each with ``unit_ratios``; one of them nominal.
    """
    nom = next(r for r in rows if r["condition"] == NOMINAL.name)["unit_ratios"]
    for row in rows:
        for kind, drawings in row["unit_ratios"].items():
            for name, x in drawings.items():
                x["drift"] = x["gain"] / nom[kind][name]["gain"] - 1
                x["share_drift"] = x["share"] / nom[kind][name]["share"] - 1


def drift_range(rows: list[dict], kind: str, name: str, key: str = "drift") -> tuple[float,
                                                                                      float]:
    """The smallest and largest ``key`` of one drawing over the conditions.

    Args:
        rows: The conditions' rows, after :func:`unit_ratio_drift`.
        kind: ``nmos`` or ``pmos``.
        name: A key of ``DRAWINGS``.
        key: ``drift`` or ``share_drift``.
    """
    values = [r["unit_ratios"][kind][name][key] for r in rows]
    return min(values), max(values)


def weights(c: Condition, ratios: list[float]) -> list[float]:
    """Realised signed weights of a one-input row drawn for ``WEIGHTS``, input 1 nA."""
    return ch.measure_weight_row(ratios, 1.0, **_kw(c)).tolist()


def cells(c: Condition, circuits: list[Circuit]) -> list[dict[str, float] | None]:
    """beta_hi, beta_lo, alpha (nA) of each cell; None where it showed no clean loop."""
    out = []
    for (hi, _, _), cell in zip(CELLS, circuits, strict=True):
        p = ch.measure_cell(cell, 2 * hi, **_kw(c))
        out.append(None if p is None else {"beta_hi": p.beta_hi, "beta_lo": p.beta_lo,
                                           "alpha": p.alpha})
    return out


def _supplies(c: Condition, gmin: float = GMIN_S) -> str:
    return f"vdd vdd 0 {c.vdd_v}\nvss vss 0 0\n.options gmin={gmin:g}\n"


def _supply_pa(r: object, nodes: list[str]) -> float:
    # a source delivering current carries a negative current in ngspice
    return float(-sum(r[f"i({n})"][0] for n in nodes) * 1e12)  # type: ignore[index]


def leakage(c: Condition, cell: Circuit, row_ratios: list[float],
            gmin: float = GMIN_S) -> dict[str, float]:
    """Supply current (pA) with zero input and zero reference: a cell (with its bias generator
    and output diode, the cell on ``vddc``) and a weight row (rails held at the summing-node
    voltage); the current each leaves in its outputs (pA). ``gmin``: ngspice's GMIN, S
    (the project's unless given: ngspice's own default is ``NGSPICE_GMIN_S``)."""
    bias = bias_generator(BiasParams())
    nets = " ".join({"vdd": "vddc"}.get(p.name, p.name) for p in cell.pins)
    r = simulate(f"{bias.to_spice()}{cell.to_spice()}xb vbn vbp vdd vss {bias.name}\n"
                 f"iref vdd vbn 0\nxc {nets} {cell.name}\nvddc vddc 0 {c.vdd_v}\n"
                 f"iin in vss 0\n{ch.diode_load('out', 'out', NFET, ch.UNIT)}"
                 f"{_supplies(c, gmin)}.op\n", corner=c.corner, temp_c=c.temp_c)
    arr = weight_array(WeightArrayParams(ratios=[row_ratios]))
    rails = [f"s{j}" for j in range(len(row_ratios))]
    v_sum = ch.sum_voltage(**_kw(c))
    w = simulate(f"{arr.to_spice()}xw x0 {' '.join(rails)} vdd vss {arr.name}\niin vdd x0 0\n"
                 + "".join(f"v{s} {s} 0 {v_sum}\n" for s in rails)
                 + f"{_supplies(c, gmin)}.op\n", corner=c.corner, temp_c=c.temp_c)
    return {"cell_supply_pa": _supply_pa(r, ["vddc"]),
            "cell_bias_supply_pa": _supply_pa(r, ["vdd"]),
            "cell_out_pa": float(r["i(vout)"][0] * 1e12),
            "row_supply_pa": _supply_pa(w, ["vdd"]),
            # into the rails: + sourced by PMOS outputs, - sunk by NMOS outputs
            "row_rail_max_pa": float(max(abs(w[f"i(v{s})"][0]) for s in rails) * 1e12)}


def tile_deck(tile, v_sum: float, vdd_v: float, i_ref_na: float,  # noqa: ANN001
              gmin: float = GMIN_S) -> str:
    """An ``.op`` deck of the tile with every input at zero and the reference at
    ``i_ref_na``, outputs held at the summing-node voltage (the testbench's conventions)."""
    supplies = [supply_node(), *map(supply_node, tile.parts)]
    lines = [tile.blocks, *tile.body, *(f"V{s[1:]} {s} 0 {vdd_v}" for s in supplies),
             f"Vfe vfe 0 {vdd_v}", "Vss vss 0 0", f"Iref vfe iref {i_ref_na}n"]
    lines += [f"I{p} vfe {p} 0" for p in tile.pins if p.startswith("x")]
    lines += [f"V{p} {p} 0 {v_sum}" for p in tile.pins if p.startswith("y")]
    return "\n".join([*lines, f".options gmin={gmin:g}", ".op"])


def tile_supply(tile, c: Condition, i_ref_na: float,  # noqa: ANN001
                gmin: float = GMIN_S) -> dict:
    """The tile's supply current (nA), total and by part, and its output currents (pA)."""
    deck = tile_deck(tile, mapping.tables_from_environment().v_sum, c.vdd_v, i_ref_na, gmin)
    try:
        r = simulate(deck, corner=c.corner, temp_c=c.temp_c)
    except SpiceError as exc:
        return {"failed": str(exc)[:300]}
    parts = {p: _supply_pa(r, [supply_node(p)]) / 1e3 for p in tile.parts}
    total = _supply_pa(r, [supply_node()]) / 1e3 + sum(parts.values())
    outs = {p: float(r[f"i(v{p})"][0] * 1e12) for p in tile.pins if p.startswith("y")}
    return {"supply_na": total, "by_part_na": parts, "outputs_pa": outs}


def _dev(x: float | None, ref: float | None) -> float | None:
    return None if x is None or ref is None else x / ref - 1


def reference_trim(dev: dict[str, list[float | None]]) -> float:
    """The factor on the reference current that minimises the worst deviation, relative to its
    tolerance, of the currents derived from it.

    Every threshold, alpha and bias is a mirror of the one reference, so a trim of it scales
    them all by one factor; the weights are ratios of signal currents and do not move.
    """
    devs = [(1 + x, TOLERANCE[q]) for q in REFERENCED for x in dev[q] if x is not None]
    if not devs:
        return 1.0
    trims = np.exp(np.linspace(-0.2, 0.2, 4001))
    worst = np.max([np.abs(k * trims - 1) / tol for k, tol in devs], axis=0)
    return float(trims[int(np.argmin(worst))])


def analyse(rows: list[dict]) -> None:
    """Add to each row its deviations from the nominal row, the reference trim and what the
    trim leaves, and which elements exceed the compare's tolerance (in place)."""
    nom = next(r for r in rows if r["condition"] == NOMINAL.name)
    for row in rows:
        dev: dict[str, list[float | None]] = {
            k: [_dev(x, y) for x, y in zip(v, nom["mirrors"][k], strict=True)]
            for k, v in row["mirrors"].items()}
        dev["weight"] = [_dev(x, y) for x, y in zip(row["weights"], nom["weights"], strict=True)]
        dev["bias"] = [_dev(row["bias"][n], nom["bias"][n]) for n in BIASES]
        for q in ("beta_hi", "beta_lo", "alpha"):
            dev[q] = [None if p is None else _dev(p[q], n[q])
                      for p, n in zip(row["cells"], nom["cells"], strict=True)]
        row["deviation"] = dev
        trim = reference_trim(dev)
        row["reference_trim"] = trim
        row["after_trim"] = {q: [None if x is None else (1 + x) * trim - 1 for x in dev[q]]
                             for q in REFERENCED}
        worst = {q: max((abs(x) for x in dev[q] if x is not None), default=None)
                 for q in TOLERANCE}
        trimmed = {q: max((abs(x) for x in row["after_trim"][q] if x is not None), default=None)
                   for q in TOLERANCE if q != "weight"}
        trimmed["weight"] = worst["weight"]
        row["worst"], row["worst_after_trim"] = worst, trimmed
        row["exceeds"] = [q for q, v in worst.items() if v is None or v > TOLERANCE[q]]
        row["exceeds_after_trim"] = [q for q, v in trimmed.items()
                                     if v is None or v > TOLERANCE[q]]


def _pct(x: float | None) -> str:
    return "  fail" if x is None else f"{100 * x:+6.2f}"


def report_unit_ratios(rows: list[dict]) -> None:
    """Print each drawing's drift range over the conditions against its target."""
    print(f"\nmirror output drift over the {len(rows)} conditions, 1 unit in, outputs on the "
          "summing node: gain, and share of the unit output (%), min..max; target +-"
          + ", +-".join(f"{100 * v:g} % {k}" for k, v in DRIFT_TARGET.items()))
    for kind in ("nmos", "pmos"):
        for name in DRAWINGS:
            lo, hi = drift_range(rows, kind, name)
            s_lo, s_hi = drift_range(rows, kind, name, "share_drift")
            target = DRIFT_TARGET[drawing_class(name)]
            verdict = "within" if max(-lo, hi) <= target else "over"
            print(f"{kind.upper()} {name:>11} | gain {_pct(lo)}..{_pct(hi)} | share "
                  f"{_pct(s_lo)}..{_pct(s_hi)} | +-{100 * target:g} % {verdict}")


def report(rows: list[dict]) -> None:
    """Print the tables."""
    print("\ncopy gain, deviation from typical 27C 1.8V (%), ratios " + "/".join(
        f"{r:g}" for r in RATIOS) + "; unit NMOS copy into a PMOS diode")
    for row in rows:
        d = row["deviation"]
        parts = [" ".join(_pct(x) for x in d[k]) for k in ("nmos_1nA", "pmos_1nA",
                                                          "nmos_3nA", "pmos_3nA")]
        print(f"{row['condition']:>20} | N1 {parts[0]} | P1 {parts[1]} | N3 {parts[2]} | "
              f"P3 {parts[3]} | copy {' '.join(_pct(x) for x in d['copy_diode'])}")
    print("\nrealised elements, deviation (%): weights " + "/".join(f"{w:+g}" for w in WEIGHTS)
          + "; biases; cells (beta_hi, beta_lo, alpha) at beta_hi " + "/".join(
              f"{c[0]:g}" for c in CELLS) + " nA; trim; worst after trim")
    for row in rows:
        d, w = row["deviation"], row["worst_after_trim"]
        cells_ = " | ".join(" ".join(_pct(d[q][k]) for q in ("beta_hi", "beta_lo", "alpha"))
                            for k in range(len(CELLS)))
        after = " ".join(f"{q} {'fail' if v is None else f'{100 * v:.1f}'}"
                         for q, v in w.items())
        print(f"{row['condition']:>20} | w {' '.join(_pct(x) for x in d['weight'])} | "
              f"b {' '.join(_pct(x) for x in d['bias'])} | {cells_} | "
              f"x{row['reference_trim']:.4f} | {after} | over: {','.join(row['exceeds']) or '-'}"
              f" -> {','.join(row['exceeds_after_trim']) or '-'}")
    print(f"\nleakage floor (zero input, zero reference), GMIN {GMIN_S:g} S / ngspice's "
          "default: cell, its bias generator, cell output, weight row of 8, its worst rail "
          "(pA); tile (nA); tile with the reference at the unit current (nA)")
    for row in rows:
        lk, ld = row["leakage"], row["leakage_default_gmin"]
        tile = " / ".join("fail" if "failed" in row[k] else f"{row[k]['supply_na']:.3f}"
                          for k in ("tile_zero", "tile_zero_default_gmin"))
        q = row["tile_quiescent"]
        figures = " ".join(f"{lk[k]:8.2f}/{ld[k]:<7.2f}" for k in (
            "cell_supply_pa", "cell_bias_supply_pa", "cell_out_pa", "row_supply_pa",
            "row_rail_max_pa"))
        print(f"{row['condition']:>20} | {figures} | tile {tile} | "
              f"{'fail' if 'failed' in q else round(q['supply_na'], 1)}")
    report_unit_ratios(rows)


def plot(rows: list[dict], path: Path) -> None:
    """Heat map of the deviations (conditions down, elements across) and the leakage floor
    against temperature."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = ([f"N r{r:g}" for r in RATIOS] + [f"P r{r:g}" for r in RATIOS] + ["copy"]
            + [f"w{w:+g}" for w in WEIGHTS] + list(BIASES)
            + [f"{q} {c[0]:g}" for c in CELLS for q in ("hi", "lo", "a")])

    def values(d: dict) -> list[float]:
        cell = [d[q][k] for k in range(len(CELLS)) for q in ("beta_hi", "beta_lo", "alpha")]
        xs = d["nmos_1nA"] + d["pmos_1nA"] + d["copy_diode"][:1] + d["weight"] + d["bias"] + cell
        return [np.nan if x is None else 100 * x for x in xs]

    data = np.array([values(r["deviation"]) for r in rows])
    fig, (a, b) = plt.subplots(1, 2, figsize=(15, 0.32 * len(rows) + 2),
                               gridspec_kw={"width_ratios": [3, 1]})
    im = a.imshow(data, cmap="RdBu_r", vmin=-10, vmax=10, aspect="auto")
    for (i, j), v in np.ndenumerate(data):
        a.text(j, i, "x" if np.isnan(v) else f"{v:.1f}", ha="center", va="center", fontsize=5.5)
    a.set_xticks(range(len(cols)), cols, fontsize=7, rotation=60)
    a.set_yticks(range(len(rows)), [r["condition"] for r in rows], fontsize=7)
    fig.colorbar(im, ax=a, label="deviation from typical 27 °C 1.8 V, %")
    temps = sorted({r["temp_c"] for r in rows})
    for key, label in (("cell_supply_pa", "cell"), ("row_supply_pa", "weight row of 8")):
        for corner, style in (("typical", "o-"), ("ff", "^--"), ("ss", "v:")):
            ys = [next(r["leakage"][key] for r in rows if r["corner"] == corner
                       and r["temp_c"] == t and r["vdd_v"] == VDD_V) for t in temps]
            b.semilogy(temps, ys, style, label=f"{label}, {corner}")
    tile = [(r["temp_c"], r["tile_zero"]["supply_na"] * 1e3) for r in rows
            if r["corner"] == "typical" and r["vdd_v"] == VDD_V and "supply_na" in r["tile_zero"]]
    if tile:
        b.semilogy(*zip(*tile, strict=True), "s-k", label="d = 4 tile, typical")
    b.set(xlabel="temperature, °C", ylabel="supply current, pA",
          title=f"zero input, zero reference (GMIN {GMIN_S:g} S)")
    b.grid(True, which="both", alpha=0.3)
    b.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def circuit_ratios(cell: Circuit) -> dict[str, float]:
    """The drawn ratios of a cell's bias transistors (its learned parameters' elements)."""
    return {d.param: round(d.ratio, 4) for d in cell.devices if d.param}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-tile", action="store_true",
                        help="skip the bundled tile's supply (no layout, extraction)")
    args = parser.parse_args()
    start = time.perf_counter()
    # every circuit is drawn once, from the typical tables, as a tile draws it
    row_ratios = [mapping.signed_ratio(w, f"weight[0][{j}]") for j, w in enumerate(WEIGHTS)]
    bias_ratios = {n: mapping.signed_ratio(b, n) for n, b in BIASES.items()}
    circuits = [bmru_cell(mapping.cell_params(a, hi * (1 - f), hi * f)) for hi, f, a in CELLS]
    from bmru_pdk.model import bundled_checkpoint

    tile = None
    with tempfile.TemporaryDirectory() as tmp:
        if not args.no_tile:
            from bmru_pdk.analyses.simulation import extracted_tile

            tile = extracted_tile(bundled_checkpoint(), Path(tmp) / "tile")[2].netlist
    rows = []
    for c in CONDITIONS:
        t0 = time.perf_counter()
        row = {"condition": c.name, "corner": c.corner, "temp_c": c.temp_c, "vdd_v": c.vdd_v,
               "v_sum": ch.sum_voltage(**_kw(c)), "mirrors": mirrors(c),
               "unit_ratios": unit_ratios(c),
               "weights": weights(c, row_ratios),
               "bias": ch.measure_bias(bias_ratios, **_kw(c)), "cells": cells(c, circuits),
               "leakage": leakage(c, circuits[1], row_ratios),
               "leakage_default_gmin": leakage(c, circuits[1], row_ratios, NGSPICE_GMIN_S)}
        if tile is not None:
            row["tile_zero"] = tile_supply(tile, c, 0.0, GMIN_S)
            row["tile_zero_default_gmin"] = tile_supply(tile, c, 0.0, NGSPICE_GMIN_S)
            # cells are bistable: at zero input the DC solution may leave some ON
            i_unit = mapping.tables_from_environment().i_unit_na
            row["tile_quiescent"] = tile_supply(tile, c, i_unit)
        row["seconds"] = round(time.perf_counter() - t0, 2)
        rows.append(row)
        print(f"{c.name:>20}: {row['seconds']} s", flush=True)
    analyse(rows)
    unit_ratio_drift(rows)
    if tile is None:
        for row in rows:
            for key in ("tile_zero", "tile_zero_default_gmin", "tile_quiescent"):
                row[key] = {"failed": "not run (--no-tile)"}
    report(rows)
    made = {"command": provenance.command()} | (
        {} if tile is None else provenance.checkpoint(bundled_checkpoint()))
    result = {**made, "ratios": RATIOS, "mirror_currents_na": MIRROR_CURRENTS, "weights": WEIGHTS,
              "weight_row_ratios": row_ratios, "biases_na": BIASES, "bias_ratios": bias_ratios,
              # the cell as mapped (nA), and its bias transistors' drawn ratios apart: the
              # parameters' names (beta_hi, delta, alpha) would otherwise replace the figures
              "cells": [{"beta_hi": hi, "delta_fraction": f, "delta": hi * f, "alpha": a,
                         "drawn_ratios": circuit_ratios(cell)}
                        for (hi, f, a), cell in zip(CELLS, circuits, strict=True)],
              "tolerance": TOLERANCE,
              "unit_ratio_drawings": {name: {"ratio": r, "drawing": drawing_text(name),
                                             "circuit": not narrow,
                                             "target": DRIFT_TARGET[drawing_class(name)]}
                                      for name, (r, narrow) in DRAWINGS.items()},
              "unit_ratio_reference": UNIT_OUTPUT,
              "seconds": round(time.perf_counter() - start, 1),
              "conditions": rows}
    write_text(RESULTS / "corners.json", json.dumps(result, indent=1) + "\n")
    plot(rows, RESULTS / "corners.png")
    print(f"{result['seconds']} s; wrote {RESULTS / 'corners.json'} and corners.png")


if __name__ == "__main__":
    main()
