"""A per-die twin: a simulated wafer test of one Monte Carlo die, then the model with what it
measured.

A die is one ngspice mismatch seed of the extracted tile (:mod:`~bmru_pdk.analyses.montecarlo`):
the random numbers are drawn while the netlist is read, and the test bench adds only current
sources and 0 V senses, so the same seed is the same die on the tester and in use. The test
is one transient (10 ms steps), every learned element read through a sense in series with its
drain, as a probe card would:

1. all inputs at the encoding's mid-scale, each layer-0 rail lifted by an injected current
   to its band middle (the summing node's voltage sets its outputs' drain voltage): each
   layer-0 weight is its output current over its input diode's, each unit bias and readout
   bias its current;
2. inputs at zero, a slow triangle of current injected into every layer-0 summing rail: each
   unit's thresholds are the ReLU diode's current when the cell's output crosses alpha / 2
   on the way up (beta_hi) and down (beta_lo), as the cell tables read a switch; at the top,
   with every unit ON, each unit's alpha is its output current, the next array's weights
   their currents over their input diodes', the next layer's biases their currents;
3. the same on the next layer's rails (the layer below held OFF), and so on.

The twin is the torch model with those values (:func:`twin_parameters`); a die's states on
held-out utterances are scored against it and against the checkpoint's realised values.

Calibration: a binary die's one trim is the offset of its keyword score per frame (a
comparator's offset trim), chosen with the twin alone on a tuning sample (no simulation of
the die, no held-out data) for the best balanced accuracy (:func:`trim`); the die's
held-out decisions are scored with and without it.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmru_pdk.analyses import simulation as sim_
from bmru_pdk.analyses import testbench as tb
from bmru_pdk.analyses.montecarlo import within_one_point
from bmru_pdk.analyses.stats import wilson
from bmru_pdk.circuits import names
from bmru_pdk.circuits.characterize import frame_ends
from bmru_pdk.executor import Executor

if TYPE_CHECKING:
    from bmru_pdk.circuits.characterize import Tables
    from bmru_pdk.model.checkpoint import Checkpoint
    from bmru_pdk.model.samples import Utterance

SETTLE = 5  # frames at each sampled level
TRIMS = np.round(np.linspace(-1.0, 1.0, 41), 3)  # offsets tried, software units
RAMP = 150  # frames per ramp edge: slow, as a cell's switching lags its input
EDGE_FIT_S, EDGE_GUARD_S = 0.1, 0.005  # the ramp read before an edge, s


@dataclass(frozen=True)
class TwinTile:
    """The extracted tile with a sense on every measured element (``senses``: schematic path
    -> sense name) and each summing rail's net, per layer."""

    sim: sim_.SimTile
    senses: dict[str, str]
    rails: list[list[str]]


def _sense_name(path: str) -> str:
    return "t" + path.lower().replace(".", "_")


def _key(*parts: str) -> str:
    """A measured element's key: its flat schematic path (or a unit's value), lower case."""
    return names.path(*parts).lower()


def measured_paths(params: list[dict]) -> list[str]:
    """Schematic paths of the devices the test reads: input diodes and weights of every
    array, unit biases, ReLU diodes, readout biases (flat, lower case)."""
    paths: list[str] = []
    arrays = [names.weight_array(layer) for layer in range(sim_.recurrent_layers(params))]
    for name, p in zip([*arrays, names.weight_array(None)], params, strict=True):
        w = p["weight"].numpy()
        for i in range(w.shape[1]):
            if np.any(w[:, i]):
                paths.append(names.path(name, f"MXN{i}"))
            paths += [names.path(name, names.weight_device(i, j))
                      for j in range(w.shape[0]) if w[j, i]]
    for layer, p in enumerate(params[:-1]):
        for j, b in enumerate(p["bias"].numpy()):
            u = names.unit(layer, j)
            paths += [names.path(u, "relu", "MRELU"), names.path(u, "cell", "MOUT")]
            if b:
                paths.append(names.unit_bias(layer, j))
    paths += [names.bias_output(k) for k, b in enumerate(params[-1]["bias"].numpy()) if b]
    return [p.lower() for p in paths]


def twin_tile(sim: sim_.SimTile, extracted: str, schematic: str, top: str,
              params: list[dict]) -> TwinTile:
    """``sim`` with a drain sense on every device :func:`measured_paths` names.

    Raises:
        BmruError: an element of the mapping has no device in the extracted netlist.
    """
    senses = {p: _sense_name(p) for p in measured_paths(params)}
    cards = tb.sensed_cards(extracted, schematic, tb.split_top(extracted, top).body, senses)
    layers = sim_.recurrent_layers(params)
    d = len(params[0]["bias"])
    rails = tb.net_names(extracted, schematic, [names.rail(layer, j) for layer in range(layers)
                                                for j in range(d)])
    netlist = tb.sense_drains(sim.netlist, cards)
    return TwinTile(dataclasses.replace(sim, netlist=netlist), senses,
                    [[rails[names.rail(layer, j)] for j in range(d)] for layer in range(layers)])


def _pwl(corners: list[tuple[int, float]], frame_s: float, unit: float) -> str:
    return " ".join(f"{k * frame_s:.6g} {v * unit:.6g}" for k, v in corners)


def _levels(params: list[dict], x_mid: float) -> list[dict[str, np.ndarray]]:
    """Per layer, the injected currents (from the nominal values) that hold each unit OFF
    whatever the layer below does, lift its rail to a positive sum for reading the weights
    onto it, and offset its bias on its own ramp."""
    out = []
    for l, p in enumerate(params[:-1]):  # noqa: E741
        w, b = p["weight"].numpy(), p["bias"].numpy()
        h = np.full(w.shape[1], x_mid) if l == 0 else params[l - 1]["alpha"].numpy()
        hi, lo = p["beta_hi"].numpy(), p["beta_lo"].numpy()
        # read with the summing node where it sits near the thresholds (its voltage sets
        # the outputs' drain voltage), the layer below all ON
        target = np.maximum((hi + lo) / 2, 1.0)
        out.append({"off": -np.abs(b) - np.clip(w, 0, None) @ h - 0.5,
                    "read": target - b - w @ h, "bias": b, "top": 1.3 * hi + 0.3})
    return out


def bench(twin: TwinTile, params: list[dict], x_mid: float, frame_s: float,
          condition: tb.Condition = tb.NOMINAL) -> tuple[str, list[tuple[int, int]], int]:
    """The test deck at ``condition`` (its rail: held, or the tile's generator), each
    layer's ramp (first frame, last frame of its top) and the frame the mid-scale inputs are
    read at."""
    layers = sim_.recurrent_layers(params)
    read = 1 + SETTLE
    phase = 2 * RAMP + 2 * SETTLE
    n = read + 2 + layers * phase
    x = np.zeros((n, params[0]["weight"].shape[1]))
    x[1:read + 1] = x_mid
    levels = _levels(params, x_mid)
    # corners are frame starts: a level read at the end of frame k is held until k + 1
    ramps = [(read + 2 + l * phase, read + 2 + l * phase + RAMP + SETTLE)  # noqa: E741
             for l in range(layers)]  # noqa: E741
    extra = []
    for m, lv in enumerate(levels):
        for j, rail in enumerate(twin.rails[m]):
            off, on = float(lv["off"][j]), float(lv["read"][j])
            corners = [(0, on if m == 0 else off), (read + 1, on if m == 0 else off)]
            for l, (start, top) in enumerate(ramps):  # noqa: E741
                if m == l:  # its own ramp: the sum from -0.5 to the top and back
                    low, high = -0.5 - lv["bias"][j], lv["top"][j] - lv["bias"][j]
                    corners += [(start, low), (start + RAMP, high), (top + 1, high),
                                (top + 1 + RAMP, low), (start + phase - 2, low)]
                else:
                    level = on if m == l + 1 else off
                    corners += [(start, level), (start + phase - 2, level)]
            corners.append((n, corners[-1][1]))
            extra.append(f"Iinj{m}_{j} vfe {rail} "
                         f"PWL({_pwl(corners, frame_s, twin.sim.netlist.unit_amps)})")
    nets = [net for layer in twin.sim.decision_nets for net in layer]
    deck = tb.deck(twin.sim.netlist, x, frame_s, nets, {net: 0.0 for net in nets}, condition,
                   extra=extra)
    return deck, ramps, read


def _edge(t: np.ndarray, out: np.ndarray, level: float, i_relu: np.ndarray, rising: bool
          ) -> float | None:
    """The ReLU current when the cell's output first crosses ``level`` upwards (or last,
    downwards), as the cell tables read a switch: the ramp's straight line through the
    100 ms before the edge, at the edge (the switching itself kicks the summing node
    through the copy's drain)."""
    above = out > level
    k = np.flatnonzero(~above[:-1] & above[1:] if rising else above[:-1] & ~above[1:])
    if not len(k):
        return None
    k = int(k[0] if rising else k[-1])
    t_edge = t[k] + (level - out[k]) / (out[k + 1] - out[k]) * (t[k + 1] - t[k])
    before = (t > t_edge - EDGE_FIT_S) & (t < t_edge - EDGE_GUARD_S)
    if before.sum() < 3:
        return None
    return float(np.polyfit(t[before] - t_edge, i_relu[before], 1)[1])


def measure(twin: TwinTile, params: list[dict], x_mid: float, frame_s: float,
            seed: int | None, condition: tb.Condition = tb.NOMINAL) -> dict:
    """Run the test on the die of ``seed`` (``None``: mismatch off) at ``condition`` and read
    every element.

    Returns:
        ``{path: value}``: signed gains of weights, signed currents (software units) of
        biases, ``u<l>_<j>.beta_hi`` / ``.beta_lo`` / ``.alpha`` per unit.
    """
    from bmru_pdk.spice import SOURCE_RAIL, simulate

    deck, ramps, read_inputs = bench(twin, params, x_mid, frame_s, condition)
    drawn = SOURCE_RAIL in twin.sim.netlist.pins  # else the NMOS sources move onto it
    r = simulate(deck, mismatch=seed is not None, seed=seed, corner=condition.corner,
                 source_rail_v=0.0 if drawn else condition.rail_v)
    t = r["time"]
    unit = twin.sim.netlist.unit_amps

    def current(name: str) -> np.ndarray:
        """What the device sinks from its drain net, units (sources are negative)."""
        return r[f"i(v{twin.senses[name]})"] / unit

    def at(name: str, frame: int) -> float:
        """:func:`current` at the end of ``frame``."""
        return float(frame_ends(t, current(name), frame_s, frame + 1)[-1])

    def gains(array: str, w: np.ndarray, frame: int, out: dict) -> None:
        for i in range(w.shape[1]):
            if not np.any(w[:, i]):
                continue
            i_in = at(_key(array, f"MXN{i}"), frame)
            for j in np.flatnonzero(w[:, i]):
                device = _key(array, names.weight_device(i, j))
                out[device] = -at(device, frame) / i_in

    values: dict[str, float] = {}
    gains(names.weight_array(0), params[0]["weight"].numpy(), read_inputs, values)
    values |= {n: -at(n, read_inputs) for n in twin.senses if names.role_of(n) == "bias"}
    arrays = [names.weight_array(layer) for layer in range(1, sim_.recurrent_layers(params))]
    arrays.append(names.weight_array(None))
    # each layer's biases are read while its rails are lifted: inputs, or the layer below ON
    reads = [read_inputs] + [top for _start, top in ramps]
    for l, ((start, top), p) in enumerate(zip(ramps, params[:-1], strict=True)):  # noqa: E741
        window = (t >= start * frame_s) & (t <= (top + 1 + RAMP) * frame_s)
        for j in range(len(p["bias"])):
            u, bias = names.unit(l, j), _key(names.unit_bias(l, j))
            if bias in twin.senses:
                values[bias] = -at(bias, reads[l])
            alpha = -at(_key(u, "cell", "MOUT"), top)
            values[_key(u, "alpha")] = alpha
            out = -current(_key(u, "cell", "MOUT"))[window]
            relu = current(_key(u, "relu", "MRELU"))[window]
            for key, rising in (("beta_hi", True), ("beta_lo", False)):
                edge = _edge(t[window], out, alpha / 2, relu, rising)
                if edge is not None:
                    values[_key(u, key)] = edge
        gains(arrays[l], params[l + 1]["weight"].numpy(), top, values)
    return values


def twin_parameters(params: list[dict], values: dict) -> list[dict]:
    """``params`` (the checkpoint's realised values, torch tensors) with every measured value
    put in; an element the test could not read (a unit that never switched) keeps its own."""
    import torch

    out = [{k: v.clone() for k, v in p.items()} for p in params]
    arrays = [names.weight_array(layer) for layer in range(sim_.recurrent_layers(params))]
    for name, p in zip([*arrays, names.weight_array(None)], out, strict=True):
        w = p["weight"]
        for j in range(w.shape[0]):
            for i in range(w.shape[1]):
                w[j, i] = values.get(_key(name, names.weight_device(i, j)), float(w[j, i]))
    for layer, p in enumerate(out[:-1]):
        for j in range(len(p["bias"])):
            p["bias"][j] = values.get(_key(names.unit_bias(layer, j)), float(p["bias"][j]))
            for key in ("beta_hi", "beta_lo", "alpha"):
                p[key][j] = values.get(_key(names.unit(layer, j), key), float(p[key][j]))
        p["beta_lo"] = torch.minimum(p["beta_lo"], p["beta_hi"])
        p["delta"] = p["beta_hi"] - p["beta_lo"]
    for k in range(len(out[-1]["bias"])):
        out[-1]["bias"][k] = values.get(_key(names.bias_output(k)), float(out[-1]["bias"][k]))
    return out


def _balanced(pred: np.ndarray, labels: np.ndarray) -> float:
    return float(np.mean([np.mean(pred[labels == k] == k) for k in np.unique(labels)]))


def decisions(scores: np.ndarray, offset: float) -> np.ndarray:
    """Majority votes of per-frame ``scores`` (..., frames, 2) with ``offset`` added to the
    keyword's (class 1) score."""
    frames = (scores[..., 1] + offset > scores[..., 0]).astype(int)
    return (frames.sum(-1) * 2 > frames.shape[-1]).astype(int)


def trim(model, params: list[dict], tuning: list[Utterance]) -> float:  # noqa: ANN001
    """The keyword-score offset (of :data:`TRIMS`) that gives ``params`` the best balanced
    accuracy on ``tuning``; ties go to the smallest offset."""
    import torch

    layers = sim_.recurrent_layers(params)
    x = np.stack([sim_.with_reset(u.x_na, layers) for u in tuning])
    with torch.no_grad():
        scores = model(torch.from_numpy(x.astype(np.float32)),
                       params=params).numpy()[:, sim_.reset_frames(layers):]
    labels = np.array([u.label for u in tuning])
    score = {float(t): _balanced(decisions(scores, t), labels) for t in TRIMS}
    return max(score, key=lambda t: (score[t], -abs(t)))


def _job(twin: TwinTile, params: list[dict], rest: list[np.ndarray], x_mid: float,
         frame_s: float, condition: tb.Condition, job: tuple[str, int, np.ndarray | None]
         ) -> dict | sim_.HardwareRun:
    """One simulation: the test of a die, or an utterance on it (started at ``rest``)."""
    kind, seed, x_na = job
    if kind == "test":
        return measure(twin, params, x_mid, frame_s, seed, condition)
    return sim_.simulate_utterance(twin.sim.netlist, twin.sim.decision_nets, rest, x_na, frame_s,
                                  mismatch=True, seed=seed, condition=condition)


def run(
    checkpoint: str | os.PathLike[str] | Checkpoint,
    utterances: list[Utterance],
    seeds: list[int],
    frame_s: float = tb.FRAME_S,
    progress: Callable[[int, int], None] | None = None,
    executor: Executor | None = None,
    tables: Tables | None = None,
    tuning: list[Utterance] | None = None,
    source_rail: bool = False,
    condition: tb.Condition = tb.NOMINAL,
) -> dict:
    """Test every die, build its twin, and score the die's states on ``utterances`` against
    the twin and against the checkpoint's realised values.

    Args:
        checkpoint: The checkpoint (a path is read once).
        utterances: Held-out input sequences (the test itself uses none).
        seeds: ngspice seeds, one die each.
        frame_s: Frame period, s.
        progress: Called with (done, total) as simulations finish.
        executor: Where the simulations run (default: one after another in this process).
        tables: Characterisation tables to map with (``None``: the package's).
        tuning: Binary tasks: the sample each die's trim is chosen on, with its twin.
        source_rail: Draw the NMOS source rail (pin ``vsn``), held at the condition's rail
            voltage or by the condition's rail generator, drawn in the tile.
        condition: Corner, temperature, supply and rail of the test and the utterances.

    Returns:
        ``dies`` (per seed: the measured values' spread, agreement per layer with the twin
        and with the realised model, decisions, accuracy without and with its trim) and
        ``summary``.
    """
    import torch

    from bmru_pdk.model.checkpoint import open_checkpoint

    checkpoint = open_checkpoint(checkpoint)
    model = checkpoint.model()
    with tempfile.TemporaryDirectory() as tmp:
        build, x, sim = sim_.extracted_tile(checkpoint, Path(tmp), tables=tables,
                                            source_rail=source_rail,
                                            rail_generator=condition.rail_generator)
    with torch.no_grad():
        params = sim_.realised_parameters(model, build.mapping)
        rest = sim_.rest_states(model, params)
    twin = twin_tile(sim, x.spice, build.schematic.to_spice(), build.name, params)
    x_mid = model.meta.input.offset * model.meta.input.scale_na
    jobs = [("test", q, None) for q in seeds]
    jobs += [("utterance", q, u.x_na) for q in seeds for u in utterances]
    out = iter((executor or Executor()).map(partial(_job, twin, params, rest, x_mid,
                                                    frame_s, condition), jobs, progress))
    tests = [next(out) for _ in seeds]
    realised = [sim_.model_utterance(model, params, u.x_na) for u in utterances]
    dies = []
    for seed, values in zip(seeds, tests, strict=True):
        with torch.no_grad():
            tw = twin_parameters(params, values)
        offset = trim(model, tw, tuning) if tuning else 0.0
        rows_ = []
        for u, (st_m, sc_m) in zip(utterances, realised, strict=True):
            hw = next(out)
            st_t, sc_t = sim_.model_utterance(model, tw, u.x_na)
            die = sim_.majority_vote(hw.scores)
            rows_.append({
                "twin": [float((a == b).mean()) for a, b in zip(hw.states, st_t, strict=True)],
                "model": [float((a == b).mean()) for a, b in zip(hw.states, st_m, strict=True)],
                "decision_twin": die == sim_.majority_vote(sc_t),
                "decision_model": die == sim_.majority_vote(sc_m),
                "correct": die == u.label,
                "correct_trimmed": (int(decisions(hw.scores, offset)) == u.label
                                    if tuning else die == u.label)})
        dies.append({"seed": seed, "measured": len(values),
                     "twin_agreement_per_layer": np.mean([r["twin"] for r in rows_], 0).round(5)
                     .tolist(),
                     "model_agreement_per_layer": np.mean([r["model"] for r in rows_], 0)
                     .round(5).tolist(),
                     "decisions_with_twin": sum(r["decision_twin"] for r in rows_),
                     "decisions_with_model": sum(r["decision_model"] for r in rows_),
                     "accuracy": float(np.mean([r["correct"] for r in rows_])),
                     "trim": offset,
                     "accuracy_trimmed": float(np.mean([r["correct_trimmed"] for r in rows_]))})
    model_accuracy = float(np.mean([sim_.majority_vote(sc) == u.label
                                    for u, (_st, sc) in zip(utterances, realised, strict=True)]))
    return {"checkpoint": checkpoint.name, **sim_.build_record(build), "frame_s": frame_s,
            "drawn_rail": source_rail, "rail_generator": condition.rail_generator is not None,
            "seeds": seeds, "utterances": [u.name for u in utterances], "dies": dies,
            "summary": summary(dies, len(utterances)) | dies_accuracy(dies, model_accuracy)}


def dies_accuracy(dies: list[dict], model_accuracy: float) -> dict:
    """The dies' accuracy without and with their trims, against the model's with the realised
    values (Monte Carlo compares with the checkpoint's own values: the same dies, another
    reference): the mean, and the dies within one point of the model (Wilson interval)."""
    out = {"model_accuracy": round(model_accuracy, 5), "model_values": "realised"}
    for key in ("accuracy", "accuracy_trimmed"):
        acc = np.array([d[key] for d in dies])
        close, ci = within_one_point(acc, model_accuracy)
        out[f"die_{key}_mean"] = round(float(acc.mean()), 5)
        out[f"dies_{key}_within_1_point"] = f"{close}/{len(dies)}"
        out[f"dies_{key}_within_1_point_ci95"] = ci
    return out


def summary(dies: list[dict], n: int) -> dict:
    """Mean agreement (all layers pooled) of the dies with their twins and with the realised
    model; the share of dies whose twin agrees on >= 99 % of state bits (Wilson interval)."""
    twin = np.array([np.mean(d["twin_agreement_per_layer"]) for d in dies])
    model = np.array([np.mean(d["model_agreement_per_layer"]) for d in dies])
    good = int(np.sum(twin >= 0.99))
    return {"dies": len(dies), "utterances": n,
            "twin_agreement_mean": round(float(twin.mean()), 5),
            "twin_agreement_min": round(float(twin.min()), 5),
            "model_agreement_mean": round(float(model.mean()), 5),
            "model_agreement_min": round(float(model.min()), 5),
            "dies_twin_at_least_99": f"{good}/{len(dies)}",
            "dies_twin_at_least_99_ci95": [round(v, 4) for v in wilson(good, len(dies))],
            "decisions_with_twin": f"{sum(d['decisions_with_twin'] for d in dies)}/"
                                   f"{n * len(dies)}",
            "decisions_with_model": f"{sum(d['decisions_with_model'] for d in dies)}/"
                                    f"{n * len(dies)}"}
