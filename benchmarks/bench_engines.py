"""Keyword spotting of the bundled checkpoint (the software model, no circuit) on voices it
never heard: the sealed sample (espeak-ng voices no dataset split holds) and the flite
sample (another speech engine: the bundled checkpoint was trained on espeak-ng alone).

For each sample, ``--per-word`` utterances of every word of the checkpoint's task (its
silence clips cut from the sample's background noise): majority-vote accuracy with its
Wilson 95 % interval, balanced accuracy, false rejects at 5 % false accepts, and the
always-the-commonest-class baseline beside them. Evaluation only: nothing is chosen on it.

With ``--train-seeds N``: the bundled checkpoint's recipe (``bmru train --d 4 --layers 2
--epochs 120 --patience 30 --mismatch 0.05 --candidate-noise 0.1``, stopped on the validation
split) trained N seeds on each of two datasets of ``bmru kws-data --per-word 800 --seed 0``:
espeak-ng alone (the bundled checkpoint's data) and ``--engines espeak-ng,flite``; each
model scored on the sealed sample and on the flite voice the two-engine split holds out
(its test voice, at all its vocal-tract lengths: a voice no model heard), ``--per-word``
utterances a word of each.

Run: ``.venv/bin/python benchmarks/bench_engines.py [--per-word 60] [--train-seeds 3]`` ->
``benchmarks/results/engines.json``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import provenance

from bmru_pdk.analyses.stats import wilson
from bmru_pdk.fileio import write_text
from bmru_pdk.model import bundled_checkpoint, load_checkpoint
from bmru_pdk.model import train as engine
from bmru_pdk.model.data import get_task
from bmru_pdk.model.samples import SAMPLES, Sample
from bmru_pdk.model.synth import (
    ESPEAK,
    FLITE,
    FLITE_TAG,
    WORDS_BINARY,
    flite_voice,
    generate,
    speaker_splits,
)

RESULTS = Path(__file__).parent / "results"
SAMPLE_NAMES = ("sealed", "flite")


def speak(name: str, spec: Sample, per_word: int, tmp: Path) -> Path:
    """``per_word`` utterances a word of the binary task, spoken as ``spec`` says."""
    words = tuple(w for w in get_task("binary").words if w != "silence")
    return generate(tmp / name, words, per_word=per_word, seed=spec.seed, voices=spec.voices,
                    speakers=spec.speakers)


def evaluate(model: Any, name: str, root: Path, spec: Sample) -> dict:
    """A model's figures on the utterances of ``root`` (spoken as ``spec``)."""
    import torch

    ds = engine.prepare_data(root, task="binary", seed=spec.seed, encoding=model.meta.input,
                             splits=spec.split)
    y = torch.cat([ds.y[s] for s in spec.split])
    m = engine.evaluate(model, torch.cat([ds.x[s] for s in spec.split]), y)
    n = len(y)
    return {"sample": name, "utterances": n, "accuracy": round(m.accuracy, 4),
            "accuracy_ci95": list(wilson(round(m.accuracy * n), n)),
            "balanced_accuracy": round(m.balanced_accuracy, 4),
            "false_reject_at_5pct_fa": m.false_reject_at_5pct_fa,
            "baseline_accuracy": round(m.baseline_accuracy, 4), "confusion": m.confusion}


def trained(seeds: int, eval_sets: dict[str, tuple[Path, Sample]], tmp: Path) -> dict:
    """The bundled recipe trained on espeak-ng alone and on both engines, each model scored
    on every evaluation set."""
    from bmru_pdk.model.schema import Realisability

    out = {}
    for name, engines in (("espeak-ng", (ESPEAK,)), ("espeak-ng + flite", (ESPEAK, FLITE))):
        root = generate(tmp / name, WORDS_BINARY, per_word=800, seed=0, engines=engines)
        data = engine.prepare_data(root, "binary", seed=0)
        runs = []
        for seed in range(seeds):
            path = tmp / f"{name}_{seed}.safetensors"
            config = engine.TrainConfig(
                d=4, layers=2, epochs=120, patience=30, seed=seed, mismatch=0.05,
                candidate_noise=0.1, realisability=Realisability(i_max=20.0), threads=1)
            engine.train(data, config, path, dataset_name=name, progress=False)
            model = load_checkpoint(path)
            runs.append({"seed": seed, **{k: evaluate(model, k, r, spec)
                                          for k, (r, spec) in eval_sets.items()}})
            print(f"{name} seed {seed}: " + ", ".join(
                f"{k} balanced {runs[-1][k]['balanced_accuracy']:.3f}" for k in eval_sets),
                flush=True)
        out[name] = runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-word", type=int, default=60, help="utterances per word")
    parser.add_argument("--train-seeds", type=int, default=0,
                        help="also train the bundled recipe on one and on two engines")
    args = parser.parse_args()
    bundled = load_checkpoint(bundled_checkpoint())
    held = tuple(v for v, k in speaker_splits(0, (ESPEAK, FLITE)).items()
                 if v.startswith(FLITE_TAG) and k == "test")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        samples = {s: (speak(s, SAMPLES[s], args.per_word, tmp), SAMPLES[s])
                   for s in SAMPLE_NAMES}
        rows = [evaluate(bundled, s, root, spec) for s, (root, spec) in samples.items()]
        unheard = Sample(SAMPLES["flite"].seed, None, held)
        eval_sets = {"sealed": samples["sealed"],
                     "flite test voice": (speak("held", unheard, args.per_word, tmp), unheard)}
        training = trained(args.train_seeds, eval_sets, tmp) if args.train_seeds else None
    for r in rows:
        print(f"{r['sample']}: {r['utterances']} utterances, accuracy {r['accuracy']:.3f} "
              f"{r['accuracy_ci95']}, balanced {r['balanced_accuracy']:.3f}, false rejects at "
              f"5 % false accepts {r['false_reject_at_5pct_fa']}, always the commonest class "
              f"{r['baseline_accuracy']:.3f}")
    out = {"command": provenance.command(), **provenance.checkpoint(bundled_checkpoint()),
           "per_word": args.per_word, "samples": rows}
    if training:
        out["training"] = {"seeds": args.train_seeds,
                           "flite_test_voice": flite_voice(held[0])[0],
                           "runs": training}
    write_text(RESULTS / "engines.json", json.dumps(out, indent=1) + "\n")
    print(f"wrote {RESULTS / 'engines.json'}")


if __name__ == "__main__":
    main()
