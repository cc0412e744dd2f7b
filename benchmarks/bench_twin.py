"""Per-die twins of the bundled checkpoint's extracted tile: each Monte Carlo die tested as a
wafer tester would (:mod:`bmru_pdk.analyses.twin`), the model run with what the test
measured, and the die's states on held-out utterances scored against its twin and against
the checkpoint's realised values.

Usage: ``python benchmarks/bench_twin.py [--seeds 32] [--n 10] [--sample heldout]
[--workers W | --scheduler ADDR]``. Prints the summary and writes
``benchmarks/results/twin.json`` (one ~10 s test and n ~3 s utterance runs per die, spread
over the executor's workers).
"""

from __future__ import annotations

import json
from pathlib import Path

from bench_montecarlo import run_dies

from bmru_pdk.analyses import twin
from bmru_pdk.fileio import write_text

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    _args, result = run_dies(__doc__, twin.run)
    s = result["summary"]
    ci = s["dies_twin_at_least_99_ci95"]
    print(f"{s['dies']} dies x {s['utterances']} utterances, {result['seconds']} s")
    print(f"state agreement with the die's twin: mean {s['twin_agreement_mean']:.2%} "
          f"(worst die {s['twin_agreement_min']:.2%}); dies >= 99 %: "
          f"{s['dies_twin_at_least_99']} (95 % CI {ci[0]:.0%}-{ci[1]:.0%})")
    print(f"with the checkpoint's realised values: mean {s['model_agreement_mean']:.2%} "
          f"(worst die {s['model_agreement_min']:.2%})")
    print(f"decisions: twin {s['decisions_with_twin']}, model {s['decisions_with_model']}")
    write_text(RESULTS / "twin.json", json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS / 'twin.json'}")


if __name__ == "__main__":
    main()
