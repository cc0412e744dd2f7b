"""The figures of a compare: state-bit and decision agreement with intervals, accuracies beside
the trivial baseline, candidate and output errors, supply power, the worst utterances.

:class:`CompareResult` names the keys of ``compare.json`` (and of the flow's ``compare``
block); :func:`summarise` computes them from the per-utterance rows.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np

from bmru_pdk.analyses.stats import bootstrap_ratio, wilson

# The model's parameter sets: the checkpoint's and the values the layout realises (at the
# typical corner, 27 °C); away from it, also the values the same drawing realises at the
# simulated condition (its condition twin)
REFERENCES = ("ideal", "realised")
CONDITION_TWIN = "condition_twin"
# What the tile is held to: the model running the values its drawing realises (the unit
# grid moves each value by up to a few %; the checkpoint's own values stand beside)
HELD_TO = "realised"
_WORST = 5


class Agreement(TypedDict):
    """Tile against the model with one parameter set (``ideal`` or ``realised``)."""

    state_agreement_per_layer: list[float]
    ci95: dict[str, list]
    output_mae_na: float
    candidate_mae_na_per_layer: list[float]
    decision_agreement: float
    decisions_agreeing: int
    model_accuracy: float


class CompareResult(TypedDict, total=False):
    """What a compare measured (``compare.json``; stable keys)."""

    sample: str | None
    condition: str
    netlist: str
    i_unit_na: float
    checkpoint: str
    tile: str
    devices: dict[str, int]
    frame_s: float
    utterances: int
    failed: list[dict]
    sim_s_per_utterance: float
    ideal: Agreement
    realised: Agreement
    condition_twin: Agreement
    hardware_accuracy: float
    baseline_accuracy: float
    worst: list[dict]
    power_nw: dict
    rail_v: dict
    per_utterance: list[dict]
    device_only: dict


def summarise(checkpoint: str, tile: str, devices: dict[str, int], frame_s: float,
              per: list[dict], failed: list[dict]) -> CompareResult:
    """The figures of a compare from its per-utterance rows (the keys of ``compare.json``
    but ``sample``, ``condition``, ``netlist`` and ``i_unit_na``, which the compare adds).

    Args:
        checkpoint: The checkpoint's file name.
        tile: The tile's cell name.
        devices: Extracted devices by kind.
        frame_s: Frame period, s.
        per: One row per simulated utterance (label, decisions, agreement per reference).
        failed: The simulations that failed (index, name, simulator message).
    """
    n = len(per)
    out: CompareResult = {"checkpoint": checkpoint, "tile": tile, "devices": devices,
                 "frame_s": frame_s, "utterances": n, "failed": failed}
    if not per:
        return out
    power = [p["power_nw"] for p in per]
    out["sim_s_per_utterance"] = round(float(np.mean([p["sim_s"] for p in per])), 2)
    for ref in (*REFERENCES, CONDITION_TWIN):
        if ref not in per[0]:
            continue
        agree = np.array([p[ref]["state_agreement"] for p in per])
        frames = np.array([p["frames"] for p in per])[:, None]
        same = int(sum(p[ref]["decision"] == p["decision_hw"] for p in per))
        out[ref] = {
            "state_agreement_per_layer": [round(float(a), 5) for a in
                                          (agree * frames).sum(0) / frames.sum()],
            "ci95": {"state_agreement_per_layer": [
                         list(bootstrap_ratio(agree[:, layer] * frames[:, 0], frames[:, 0]))
                         for layer in range(agree.shape[1])],
                     "decision_agreement": list(wilson(same, n))},
            "output_mae_na": round(float(np.mean([p[ref]["output_mae_na"] for p in per])), 4),
            "candidate_mae_na_per_layer": [round(float(e), 4) for e in np.mean(
                [p[ref]["candidate_mae_na"] for p in per], 0)],
            "decision_agreement": round(float(np.mean(
                [p[ref]["decision"] == p["decision_hw"] for p in per])), 4),
            "decisions_agreeing": int(sum(p[ref]["decision"] == p["decision_hw"] for p in per)),
            "model_accuracy": round(float(np.mean([p[ref]["decision"] == p["label"]
                                                   for p in per])), 4),
        }
    out["hardware_accuracy"] = round(float(np.mean([p["decision_hw"] == p["label"]
                                                    for p in per])), 4)
    # the trivial baseline beside every accuracy: always answering the sample's commonest class
    out["baseline_accuracy"] = round(float(np.bincount([p["label"] for p in per]).max() / n), 4)
    worst = sorted(range(n), key=lambda k: (min(per[k][HELD_TO]["state_agreement"]),
                                            -per[k][HELD_TO]["output_mae_na"]))
    out["worst"] = [{"index": per[k]["index"], "name": per[k]["name"],
                     "state_agreement": per[k][HELD_TO]["state_agreement"],
                     "decision_hw": per[k]["decision_hw"],
                     "decision_model": per[k][HELD_TO]["decision"]} for k in worst[:_WORST]]
    out["power_nw"] = {"mean": round(float(np.mean(power)), 3),
                       "min": round(float(np.min(power)), 3), "max": round(float(np.max(power)), 3),
                       "by_part": {part: round(float(np.mean([p["power_by_part_nw"][part]
                                                              for p in per])), 3)
                                   for part in per[0]["power_by_part_nw"]}}
    if "rail_v" in per[0]:  # the drawn rail as the run held it (its generator, or a source)
        rail = [p["rail_v"] for p in per]
        out["rail_v"] = {"mean": round(float(np.mean(rail)), 4),
                         "min": round(float(np.min(rail)), 4), "max": round(float(np.max(rail)), 4)}
    out["per_utterance"] = per
    return out
