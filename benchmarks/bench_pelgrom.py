"""Mismatch at the element: sigma of a 1:1 current mirror's copy gain against device area
W x L, NMOS and PMOS, at the tile's operating currents, from the gf180 models' statistical
mode (Pelgrom: sigma = A / sqrt(W L)).

Each point simulates ``--n`` independent mirrors (each device its own mismatch draw, one
seed per point) in one ngspice operating point; the interval of each sigma is the
chi-square 95 % interval of a normal sample's standard deviation. The fitted A is the
least-squares slope of sigma over 1 / sqrt(W L) through the origin, per type and current;
``sizing.pelgrom_sigma`` (the models' A_VT over n U_T) is printed beside it.

Run: ``.venv/bin/python benchmarks/bench_pelgrom.py [--n 200]`` ->
``benchmarks/results/pelgrom.json`` and ``pelgrom.png`` (about a second per point).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from scipy import stats

from bmru_pdk.circuits.characterize import I_UNIT_NA, mismatch_gains
from bmru_pdk.circuits.model import NFET, PFET
from bmru_pdk.circuits.sizing import UnitDevice, pelgrom_sigma

RESULTS = Path(__file__).parent / "results"
# (W, L) in µm: from the smallest unit a mirror could use to four times the project's 4 x 4
SIZES = ((1.0, 1.0), (2.0, 2.0), (2.0, 4.0), (4.0, 4.0), (8.0, 4.0), (8.0, 8.0))
CURRENTS_NA = (0.3, 1.0, 3.0)  # absolute: the tile's currents at 0.3 nA per unit and above


def interval(sigma: float, n: int) -> tuple[float, float]:
    """95 % interval of a standard deviation estimated from ``n`` normal samples."""
    return (sigma * math.sqrt((n - 1) / stats.chi2.ppf(0.975, n - 1)),
            sigma * math.sqrt((n - 1) / stats.chi2.ppf(0.025, n - 1)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="mirrors per point")
    args = parser.parse_args()
    start = time.perf_counter()
    points, fits = [], []
    seed = 1
    for kind in (NFET, PFET):
        for i_na in CURRENTS_NA:
            rows = []
            for w, length in SIZES:
                unit = UnitDevice(w=w, l=length)
                gains = mismatch_gains(kind, unit, args.n, i_na / I_UNIT_NA, seed=seed)
                seed += 1
                sigma = float(gains.std(ddof=1))
                lo, hi = interval(sigma, args.n)
                rows.append({"kind": kind, "i_na": i_na, "w_um": w, "l_um": length,
                             "area_um2": w * length, "mean_gain": round(float(gains.mean()), 5),
                             "sigma": round(sigma, 5), "sigma_ci95": [round(lo, 5), round(hi, 5)],
                             "pelgrom_estimate": round(pelgrom_sigma(kind, unit), 5)})
                print(rows[-1], flush=True)
            x = np.array([1 / math.sqrt(r["area_um2"]) for r in rows])
            y = np.array([r["sigma"] for r in rows])
            a = float(x @ y / (x @ x))
            fits.append({"kind": kind, "i_na": i_na, "a_pct_um": round(100 * a, 3),
                         "worst_residual_pct": round(float(np.max(np.abs(y / (a * x) - 1))) * 100,
                                                     1),
                         "area_for_5pct_um2": round((a / 0.05) ** 2, 2),
                         "area_for_2pct_um2": round((a / 0.02) ** 2, 2),
                         "area_for_1pct_um2": round((a / 0.01) ** 2, 2)})
            print(fits[-1], flush=True)
            points += rows
    result = {"n": args.n, "seconds": round(time.perf_counter() - start, 1), "fits": fits,
              "points": points}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "pelgrom.json").write_text(json.dumps(result, indent=2) + "\n")
    plot(points, fits, RESULTS / "pelgrom.png")
    print(f"{len(points)} points, {result['seconds']} s")


def plot(points: list[dict], fits: list[dict], png: Path) -> None:
    """Sigma (with its interval) over 1 / sqrt(W L), each fit as a line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, kind in zip(axes, (NFET, PFET), strict=True):
        for k, fit in enumerate(f for f in fits if f["kind"] == kind):
            rows = [p for p in points if p["kind"] == kind and p["i_na"] == fit["i_na"]]
            x = np.array([1 / math.sqrt(p["area_um2"]) for p in rows])
            y = np.array([p["sigma"] for p in rows]) * 100
            err = np.array([[p["sigma"] - p["sigma_ci95"][0], p["sigma_ci95"][1] - p["sigma"]]
                            for p in rows]).T * 100
            ax.errorbar(x, y, yerr=err, fmt="o", color=f"C{k}", capsize=2,
                        label=f"{fit['i_na']:g} nA: A = {fit['a_pct_um']:.2f} % µm")
            ax.plot([0, x.max()], [0, x.max() * fit["a_pct_um"]], color=f"C{k}", lw=0.8)
        ax.set_title(kind)
        ax.set_xlabel("1 / sqrt(W L)  (1/µm)")
        ax.legend(fontsize=8)
    axes[0].set_ylabel("sigma of the 1:1 copy gain (%)")
    fig.tight_layout()
    fig.savefig(png, dpi=120)


if __name__ == "__main__":
    main()
