"""Per-die twins of the bundled checkpoint's extracted tile: each Monte Carlo die tested as a
wafer tester would (:mod:`bmru_pdk.analyses.twin`), the model run with what the test
measured, and the die's states on held-out utterances scored against its twin and against
the checkpoint's realised values.

Usage: ``python benchmarks/bench_twin.py [--seeds 32] [--n 10] [--sample sealed2]
[--workers W | --scheduler ADDR] [--checkpoint CKPT --tables DIR] [--draw-rail
[--rail-generator]] [--out NAME]``. Prints
the summary and writes ``benchmarks/results/twin.json`` (or ``NAME.json``; the options as
``bench_montecarlo.py``'s) (one ~15 s test and n ~3 s utterance runs per die, spread
over the executor's workers). Each die's trim is chosen with its twin on
``TUNING_N`` utterances of the tuning sample.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench_montecarlo import run_dies

from bmru_pdk.analyses import twin
from bmru_pdk.fileio import write_text
from bmru_pdk.model import samples

RESULTS = Path(__file__).parent / "results"
TUNING_N = 100  # utterances of the tuning sample each die's trim is chosen on (twin only)


def main() -> None:
    def engine(checkpoint: Path, *args: object, **kwargs: object) -> dict:
        tuning = samples.load_utterances(checkpoint, None, TUNING_N, "tuning")
        return twin.run(checkpoint, *args, tuning=tuning, **kwargs)

    args, result = run_dies(__doc__, engine)
    s = result["summary"]
    ci = s["dies_twin_at_least_99_ci95"]
    print(f"{s['dies']} dies x {s['utterances']} utterances, {result['seconds']} s")
    print(f"state agreement with the die's twin: mean {s['twin_agreement_mean']:.2%} "
          f"(worst die {s['twin_agreement_min']:.2%}); dies >= 99 %: "
          f"{s['dies_twin_at_least_99']} (95 % CI {ci[0]:.0%}-{ci[1]:.0%})")
    print(f"with the checkpoint's realised values: mean {s['model_agreement_mean']:.2%} "
          f"(worst die {s['model_agreement_min']:.2%})")
    print(f"decisions: twin {s['decisions_with_twin']}, model {s['decisions_with_model']}")
    for key, name in (("accuracy", "untrimmed"), ("accuracy_trimmed", "trimmed on its twin")):
        ci = s[f"dies_{key}_within_1_point_ci95"]
        print(f"dies {name}: accuracy mean {s[f'die_{key}_mean']:.1%} (model "
              f"{s['model_accuracy']:.1%}), within 1 point of the model "
              f"{s[f'dies_{key}_within_1_point']} (95 % CI {ci[0]:.0%}-{ci[1]:.0%})")
    name = f"{args.out or 'twin'}.json"
    write_text(RESULTS / name, json.dumps(result, indent=1) + "\n")
    print(f"wrote {RESULTS / name}")


if __name__ == "__main__":
    main()
