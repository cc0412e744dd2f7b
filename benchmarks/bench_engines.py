"""Keyword spotting of the bundled checkpoint (the software model, no circuit) on voices it
never heard: the sealed sample (espeak-ng voices no dataset split holds) and the flite
sample (another speech engine: the bundled checkpoint was trained on espeak-ng alone).

For each sample, ``--per-word`` utterances of every word of the checkpoint's task (its
silence clips cut from the sample's background noise): majority-vote accuracy with its
Wilson 95 % interval, balanced accuracy, false rejects at 5 % false accepts, and the
always-the-commonest-class baseline beside them. Evaluation only: nothing is chosen on it.

Run: ``.venv/bin/python benchmarks/bench_engines.py [--per-word 60]`` ->
``benchmarks/results/engines.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import provenance

from bmru_pdk.analyses.stats import wilson
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, load_checkpoint
from bmru_pdk.model import train as engine
from bmru_pdk.model.data import get_task
from bmru_pdk.model.samples import SAMPLES
from bmru_pdk.model.synth import generate

RESULTS = Path(__file__).parent / "results"
SAMPLE_NAMES = ("sealed", "flite")


def evaluate(sample: str, per_word: int, tmp: Path) -> dict:
    """The bundled model's figures on ``per_word`` utterances a word of ``sample``."""
    model = load_checkpoint(bundled_checkpoint())
    task = model.meta.training.task if model.meta.training else "binary"
    spec = SAMPLES[sample]
    words = tuple(w for w in get_task(task).words if w != "silence")
    root = generate(tmp / sample, words, per_word=per_word, seed=spec.seed,
                    voices=spec.voices, speakers=spec.speakers)
    ds = engine.prepare_data(root, task=task, seed=spec.seed, encoding=model.meta.input,
                             splits=spec.split)
    x = [ds.x[s] for s in spec.split]
    y = [ds.y[s] for s in spec.split]
    import torch

    m = engine.evaluate(model, torch.cat(x), torch.cat(y))
    n = int(sum(len(v) for v in y))
    return {"sample": sample, "utterances": n, "accuracy": round(m.accuracy, 4),
            "accuracy_ci95": list(wilson(round(m.accuracy * n), n)),
            "balanced_accuracy": round(m.balanced_accuracy, 4),
            "false_reject_at_5pct_fa": m.false_reject_at_5pct_fa,
            "baseline_accuracy": round(m.baseline_accuracy, 4), "confusion": m.confusion}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-word", type=int, default=60, help="utterances per word")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as t:
        rows = [evaluate(s, args.per_word, Path(t)) for s in SAMPLE_NAMES]
    for r in rows:
        print(f"{r['sample']}: {r['utterances']} utterances, accuracy {r['accuracy']:.3f} "
              f"{r['accuracy_ci95']}, balanced {r['balanced_accuracy']:.3f}, false rejects at "
              f"5 % false accepts {r['false_reject_at_5pct_fa']}, always the commonest class "
              f"{r['baseline_accuracy']:.3f}")
    out = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
           "per_word": args.per_word, "samples": rows}
    write_text(RESULTS / "engines.json", json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS / 'engines.json'}")


if __name__ == "__main__":
    main()
