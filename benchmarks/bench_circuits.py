"""Circuit library figures: characterisation run time, parameter errors after mapping
(simulated against the requested value: the grid's snap and the tables' error; and against
the realised value the model runs: the tables' error alone), supply power and gate area per
cell.

Run: ``python benchmarks/bench_circuits.py`` (writes ``benchmarks/results/circuits.json``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from bmru_pdk.circuits import bmru_cell, bmru_unit, mapping
from bmru_pdk.circuits import characterize as ch
from bmru_pdk.circuits.sizing import unit_ratio
from bmru_pdk.fileio import write_text

RESULTS = Path(__file__).resolve().parent / "results" / "circuits.json"
WEIGHTS = [round(float(w), 4) for w in np.geomspace(0.3, 15.0, 8)]
BIASES = [0.3, 1.0, 3.0, 10.0]
# beta_hi points inside the tables' range (mapping.ranges(): from 0.71 nA at tables v5)
CELL_HI = [0.8, 1.0, 2.0, 4.0, 7.0]
CELL_FRAC = [0.25, 0.5, 0.75]
ALPHA = 2.0


def _err(got: float, want: float) -> float:
    return abs(got / want - 1)


def _summary(errors: list[float]) -> dict[str, float]:
    return {"max_pct": round(100 * max(errors), 2),
            "mean_pct": round(100 * float(np.mean(errors)), 2), "n": len(errors)}


def weights() -> dict[str, dict[str, float]]:
    """Weight errors at the reference input (the mapping's) and across 0.1-10 nA."""
    signed = [s * w for w in WEIGHTS for s in (1, -1)]
    ratios = [mapping.signed_ratio(w, "weight") for w in signed]
    out = {}
    for i_in in (0.1, 1.0, 10.0):
        gains = ch.measure_weight_row(ratios, i_in)
        out[f"{i_in:g}nA"] = _summary([_err(g, w) for g, w in zip(gains, signed, strict=True)])
        if i_in == 1.0:
            out["1nA_realised"] = _summary([_err(g, mapping.realised_gain(r))
                                            for g, r in zip(gains, ratios, strict=True)])
    return out


def biases() -> dict[str, dict[str, float]]:
    wanted = {f"b{k}": s * b for k, (b, s) in enumerate((b, s) for b in BIASES for s in (1, -1))}
    ratios = {n: mapping.signed_ratio(b, n) for n, b in wanted.items()}
    got = ch.measure_bias(ratios)
    return {"requested": _summary([_err(got[n], b) for n, b in wanted.items()]),
            "realised": _summary([_err(got[n], mapping.realised_gain(r))
                                  for n, r in ratios.items()])}


def cells(unit: bool) -> dict[str, object]:
    """Switching and output errors of cells (or whole units, through the ReLU) on a grid."""
    keys = ("beta_hi", "beta_lo", "alpha")
    errs: dict[str, list[float]] = {k: [] for k in keys}
    real: dict[str, list[float]] = {k: [] for k in keys}
    power = []
    for hi in CELL_HI:
        for f in CELL_FRAC:
            delta = hi * f
            if unit:
                params = mapping.unit_params(ALPHA, hi - delta, delta, 0.0)
                drawn, circuit = params.cell, bmru_unit(params)
                relu = mapping.copy_gain(hi)
            else:
                drawn = mapping.cell_params(ALPHA, hi - delta, delta)
                circuit, relu = bmru_cell(drawn), 1.0
            p = ch.measure_cell(circuit, 2 * hi)
            if p is None:
                raise RuntimeError(f"no hysteresis loop at beta_hi={hi}, delta={delta}")
            got = (p.beta_hi, p.beta_lo, p.alpha)
            for k, g, want, realised in zip(keys, got, (hi, hi - delta, ALPHA),
                                            mapping.cell_values(drawn, relu), strict=True):
                errs[k].append(_err(g, want))
                real[k].append(_err(g, realised))
            if f == CELL_FRAC[1]:
                power.append((hi, ch.VDD * p.i_vdd_off, ch.VDD * p.i_vdd_on))
    return {**{k: _summary(v) for k, v in errs.items()},
            "realised": {k: _summary(v) for k, v in real.items()},
            "supply_nw_mid_hold_band": [{"beta_hi_na": h, "off": round(a, 2), "on": round(b, 2)}
                                        for h, a, b in power]}


def areas() -> dict[str, float]:
    """Gate area (W x L, µm²; not layout area) of a weight and of a cell."""
    drawn = [unit_ratio(abs(mapping.signed_ratio(w, "weight"))) for w in (0.3, 1.0, 10.0)]
    cell = bmru_cell(mapping.cell_params(ALPHA, 1.0, 1.0))
    return {**{f"weight_{w:g}_um2": round(r.units * ch.UNIT.w * ch.UNIT.l, 2)
               for w, r in zip((0.3, 1.0, 10.0), drawn, strict=True)},
            "cell_um2": round(sum(d.area for d in cell.devices), 1)}


def main() -> None:
    """Run every figure and write the JSON."""
    t0 = time.perf_counter()
    tables = ch.characterize()
    t_char = time.perf_counter() - t0
    result = {
        "characterize_seconds": round(t_char, 1),
        "mismatch_sigma_1to1": tables.mismatch_sigma,
        "weight_error": weights(),
        "bias_error": biases(),
        "cell_error": cells(unit=False),
        "unit_error": cells(unit=True),
        "gate_area": areas(),
        "bench_seconds": 0.0,
    }
    result["bench_seconds"] = round(time.perf_counter() - t0, 1)
    write_text(RESULTS, json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
