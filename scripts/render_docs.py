"""Render the figures of README.md and docs/*.md from ``benchmarks/results/*.json``.

A figure in the documentation lives in a marked region::

    <!-- render: NAME -->
    ...what the results give...
    <!-- /render -->

``NAME`` selects a function below (registered with ``@region``) that reads the results files
it names and returns the region's Markdown: a table or a sentence with the figures, the
results file, its sample and checkpoint where the file records them, and the command that
wrote it. Text outside the regions is never touched.

    python scripts/render_docs.py            # rewrite every region in place
    python scripts/render_docs.py --check    # exit 1 naming each region that differs
    python scripts/render_docs.py FILE...    # only these Markdown files

The renderers read the results files and nothing else: no build output, no simulation.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import re
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

from bmru_pdk.model.data import NOISE_DIR

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BUNDLED = ROOT / "bmru_pdk" / "data" / "kws_yes_d4_l2_keepers.safetensors"
# The checkpoints bundled before it, newest first, by what the docs call them: results that
# ran on one under a command without --checkpoint say so, since that command now runs the
# bundled file.
EARLIER_BUNDLES = {
    "the cascoded network": ROOT / "benchmarks" / "checkpoints" / "kws_4gate_to_cc3.safetensors",
    "the 4-gate network": ROOT / "benchmarks" / "checkpoints" / "kws_yes_d4_l2_4gate.safetensors",
    "the co-designed checkpoint": ROOT / "benchmarks" / "checkpoints" / "kws_yes_d4_l2.safetensors",
}

# Markers stand on lines of their own (so a marker quoted in code is no marker).
REGION = re.compile(r"^<!-- render: (?P<name>[\w.-]+) -->\n(?P<body>.*?)^<!-- /render -->$",
                    re.S | re.M)
OPENING = re.compile(r"^<!-- render: (?P<name>.*?) -->$", re.M)
CLOSING = re.compile(r"^<!-- /render -->$", re.M)

SAMPLES = {"heldout": "held-out sample", "sealed": "first sealed sample",
           "sealed2": "second sealed sample", "tuning": "tuning sample",
           "validation": "validation split", "test": "test split"}

# The command that writes each results file, for files that do not record their own.
COMMANDS = {
    "candidates.json": "python benchmarks/bench_candidates.py --data build/kws CKPT...",
    "candidates_codesign.json": "python benchmarks/bench_candidates.py --data build/kws --n 16 "
                                "--workers 2 --out candidates_codesign.json CKPT...",
    "candidates_0.2nA.json": "python benchmarks/bench_candidates.py --data build/kws --n 16 "
                             "--workers 2 --out candidates_0.2nA.json CKPT...",
    "cells.json": "python benchmarks/bench_cells.py",
    "circuits.json": "python benchmarks/bench_circuits.py",
    "devices.json": "python benchmarks/bench_devices.py",
    "noise.json": "python benchmarks/bench_noise.py",
    "pelgrom.json": "python benchmarks/bench_pelgrom.py",
    "signoff.json": "python benchmarks/bench_signoff.py --repeats 2",
    "training.json": "python benchmarks/bench_training.py --data build/kws",
}

# Results files whose figures are not of one checkpoint: cells, devices, mirrors; and the
# networks a bench trains or screens itself, each named (with its hash) in its own row.
CHECKPOINT_FREE = frozenset({"tasks.json", "cells.json", "circuits.json", "devices.json",
                             "placement.json",
                             "drain_matching.json", "leakage.json", "noise.json", "pelgrom.json",
                             "weight_path.json",
                             "ratio_drawings.json", "signoff.json", "training.json",
                             "candidates.json", "candidates_codesign.json",
                             "candidates_0.2nA.json", "rail_generator.json", "gmin.json"})


WORST = 6  # the utterances a per-utterance table lists


@dataclass(frozen=True)
class Attribution:
    """What a results file written before files recorded it ran on, taken from the project's
    history (the commits that wrote the file and the checkpoint). It holds only while the
    file's bytes are the ones it was made for (their digest in :data:`STALE`, where every
    such file is, being older than the fixes it names): a re-run drops it, and the file
    must then say for itself."""

    checkpoint: str = ""
    sample: str = ""


ATTRIBUTED = {
    "candidates.json": Attribution("the first retraining's candidates at 0.3 nA per unit",
                                   "tuning sample"),
    "candidates_0.2nA.json": Attribution("candidates at 0.2 nA per unit", "tuning sample"),
    "candidates_codesign.json": Attribution("candidates at 0.3 nA per unit", "tuning sample"),
}


# Runs made before a fix each kind of remark names, by file and the start of its SHA-256:
# a caption says so while the file is the one that run wrote; a re-run (a new digest) drops
# every remark at once.
GMIN = ("ngspice's default GMIN, 1e-12 S: simulated before the decks lowered it "
        "(docs/corners.md, GMIN), not re-run")
ONE_RESET = ("one reset frame: simulated before the reset grew to a frame per layer and one "
             "more (docs/compare.md, The reset), not re-run")
WHOLE_UNIT = ("cascodes sized by their outputs' whole units: drawn before each cascode had a "
              "gate per gate of its output (docs/circuits.md), not re-run")
OFF_REST = ("started off the tile's rest: simulated before runs started the bias lines at the "
            "tile's own unit's point and OFF cells on a lifted rail (docs/compare.md, The "
            "start), not re-run")
INITIAL_STATES = ("started at the model's initial states: simulated before the tile started "
                  "at its model's rest (docs/compare.md, The rest), not re-run")
STALE: dict[str, tuple[str, tuple[str, ...]]] = {
    "candidates.json": ("91311a369f77", (GMIN, ONE_RESET, INITIAL_STATES)),
    "candidates_0.2nA.json": ("d14699070e7d", (GMIN, ONE_RESET, INITIAL_STATES)),
    "candidates_4gate.json": ("457c1225d2a3", (ONE_RESET, INITIAL_STATES)),
    "candidates_4gate_cascodes.json": ("94a0d3f03ac7", (ONE_RESET, WHOLE_UNIT, INITIAL_STATES)),
    "candidates_4gate_cascodes_frame.json":
        ("190d8c3f0db0", (ONE_RESET, WHOLE_UNIT, INITIAL_STATES)),
    "candidates_4gate_levels.json": ("0171d0cc5208", (ONE_RESET, INITIAL_STATES)),
    "candidates_codesign.json": ("361f239211d4", (GMIN, ONE_RESET, INITIAL_STATES)),
    "compare_errors.json": ("7e77f07954f1", (ONE_RESET, INITIAL_STATES)),
    "compare_errors_4gate_fs-40_tuning.json": ("0c0e9a9794fc", (ONE_RESET, INITIAL_STATES)),
    "compare_errors_4gate_keeper_fs-40_tuning.json":
        ("ef91330359d5", (ONE_RESET, INITIAL_STATES)),
    "compare_errors_4gate_keeper_tuning.json": ("756405edc80f", (ONE_RESET, INITIAL_STATES)),
    "compare_errors_4gate_tuning.json": ("d480d0783235", (ONE_RESET, INITIAL_STATES)),
    "compare_errors_bundled_device_tuning.json": ("06d9eeff0b7a", (INITIAL_STATES,)),
    "compare_errors_bundled_rail_tuning30.json": ("758eee1768ab", (OFF_REST, INITIAL_STATES)),
    "compare_errors_bundled_ss-40_tuning.json": ("65bfb1dd7761", (INITIAL_STATES,)),
    "compare_errors_bundled_to_cascodes3_rail_tuning30.json":
        ("a86fdce63c33", (OFF_REST, INITIAL_STATES)),
    "compare_errors_bundled_to_cascodes_ramp_rail_tuning30.json":
        ("c5427611a932", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes3_keeper_ss-40_tuning.json":
        ("b2d74fddb57c", (OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes3_sf-40_reset6_tuning.json":
        ("253e0026ed84", (OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes3_ss-40_reset6_tuning.json":
        ("774aa3e5bda5", (OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes3_ss-40_tuning.json": ("b87d5d249434", (OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes_frame_tuning.json":
        ("108b02d20783", (ONE_RESET, WHOLE_UNIT, INITIAL_STATES)),
    "compare_errors_cascodes_held_rail_tuning30.json":
        ("6c191d48893d", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes_rail_gear_tuning30.json":
        ("8d1ea58e3cd7", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes_rail_reset1_tuning.json":
        ("f9802fbc4ee1", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes_rail_tuning.json":
        ("968be7992167", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes_rail_tuning30.json":
        ("745ad80a2f33", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_errors_cascodes_tuning.json":
        ("27b70a9bd428", (ONE_RESET, WHOLE_UNIT, INITIAL_STATES)),
    "compare_errors_keepers_device_tuning.json": ("68d929d8d8d2", (INITIAL_STATES,)),
    "compare_errors_keepers_ss-40_tuning.json": ("613b07ae8f8d", (INITIAL_STATES,)),
    "compare_errors_keepers_tuning.json": ("fbe544332d47", (INITIAL_STATES,)),
    "compare_errors_keepers_tuning30.json": ("77fad8022a32", (INITIAL_STATES,)),
    "compare_errors_rest_tuning30.json": ("08a1f78dd6b4", (INITIAL_STATES,)),
    "compare_sealed.json": ("6b3c5e571c04", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "compare_sealed_cascodes.json": ("4b52a54fb750", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "compare_sealed_cascodes_held.json": ("9052f64a18b4", (WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "drift_attribution.json": ("441913e5cc9c", (ONE_RESET,)),
    "drift_attribution_4gate.json": ("e40d735f4bf2", (ONE_RESET,)),
    "drift_attribution_bundled.json": ("9e33844ca19a", (ONE_RESET,)),
    "drift_attribution_bundled_rail.json": ("464a28b63dca", (ONE_RESET, OFF_REST)),
    "drift_attribution_cascodes.json": ("6b371cf7907a", (ONE_RESET, WHOLE_UNIT)),
    "drift_attribution_cascodes_rail.json": ("17e32c2851f9", (ONE_RESET, WHOLE_UNIT, OFF_REST)),
    "floorplan.json": ("300db18868ef", (WHOLE_UNIT,)),
    "hot_rail.json": ("bafedc4ea5f3", (GMIN, ONE_RESET, OFF_REST, INITIAL_STATES)),
    "hot_rail_generator.json": ("88fd43db2574", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "montecarlo.json": ("645cb1fdd0f6", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "montecarlo_4gate_tuning.json": ("8796e0da81fb", (ONE_RESET, INITIAL_STATES)),
    "operating_point.json": ("48d3aa810441", (GMIN, ONE_RESET, INITIAL_STATES)),
    "power.json": ("6f1b4089e211", (ONE_RESET, INITIAL_STATES)),
    "pvt_pex.json": ("8953f0270898", (ONE_RESET, INITIAL_STATES)),
    "pvt_pex_4gate_generator_125C_tuning.json":
        ("b3ed7b389283", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "pvt_pex_4gate_levels_generator_tuning.json":
        ("6beefeea722b", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "pvt_pex_4gate_levels_tuning.json": ("982db7a81ce5", (ONE_RESET, INITIAL_STATES)),
    "pvt_pex_4gate_sealed.json": ("10610a2b5d2e", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "pvt_pex_4gate_tuning.json": ("8c4d77e98fc2", (ONE_RESET, INITIAL_STATES)),
    "pvt_pex_cascoded_sealed.json": ("6affacf9b4d7", (INITIAL_STATES,)),
    "pvt_pex_cascodes.json": ("c332de798da0", (ONE_RESET, WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "pvt_pex_cascodes3_tuning.json": ("9766eee88f27", (INITIAL_STATES,)),
    "pvt_pex_cascodes_frame.json":
        ("b508d249a82d", (ONE_RESET, WHOLE_UNIT, OFF_REST, INITIAL_STATES)),
    "pvt_pex_generator_drawn.json": ("4aee51826498", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "pvt_pex_hotrail_125C.json": ("6c5ea8cad670", (GMIN, ONE_RESET, OFF_REST, INITIAL_STATES)),
    "pvt_pex_hotrail_drawn_125C.json": ("ce3912577664", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "pvt_pex_keepers_tuning.json": ("f31c40bac24c", (INITIAL_STATES,)),
    "reset_bundled.json": ("fc4131f67efa", (INITIAL_STATES,)),
    "reset_cascodes3.json": ("b90e48d83fd3", (INITIAL_STATES,)),
    "reset_keepers.json": ("8c8d8f222c7e", (INITIAL_STATES,)),
    "reset_rest.json": ("2178a3d1e357", (INITIAL_STATES,)),
    "run.json": ("8c5f392e3167", (INITIAL_STATES,)),
    "sizing.json": ("bed985eff7e8", (GMIN, ONE_RESET, INITIAL_STATES)),
    "speed.json": ("0a8b4304f20d", (GMIN, ONE_RESET, INITIAL_STATES)),
    "twin.json": ("2fc688e034e8", (ONE_RESET, OFF_REST, INITIAL_STATES)),
    "twin_4gate_tuning.json": ("461b0ddb69ea", (ONE_RESET, INITIAL_STATES)),
}


class RenderError(Exception):
    """A region that cannot be rendered: no renderer of that name, a missing or unreadable
    results file, or a file without a key the renderer reads."""


@dataclass(frozen=True)
class Results:
    """One parsed results file."""

    name: str
    data: dict[str, Any]
    digest: str

    def __getitem__(self, key: str) -> Any:
        try:
            return self.data[key]
        except KeyError:
            raise RenderError(f"benchmarks/results/{self.name} has no key {key!r}") from None

    def field(self, key: str) -> Any:
        """What the file records of the run at its top level, or in its ``compare`` (the
        results of ``make run``), or ``None``."""
        compare = self.data.get("compare")
        nested = compare.get(key) if isinstance(compare, dict) else None
        return self.data.get(key, nested)

    def attribution(self) -> Attribution | None:
        """The history's attribution, while the file is the one it was made for."""
        att = ATTRIBUTED.get(self.name)
        return att if att and self.digest.startswith(STALE[self.name][0]) else None

    def command(self) -> str:
        """The command that wrote the file (the commands, one after another, when several
        runs added to it): its own record, else the known one."""
        given = self.data.get("command") or " && ".join(self.data.get("commands", []))
        return str(given or COMMANDS.get(self.name, ""))


def load(name: str) -> Results:
    """Read ``benchmarks/results/NAME``."""
    path = RESULTS / name
    try:
        raw = path.read_bytes()
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise RenderError(f"benchmarks/results/{name} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise RenderError(f"benchmarks/results/{name} is not a JSON object")
    return Results(name, data, hashlib.sha256(raw).hexdigest())


@cache
def sha256_file(path: Path) -> str:
    """SHA-256 of a file's bytes, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_checkpoints(data: Any, in_lists: bool = True) -> list[tuple[str, str]]:
    """Every (checkpoint name, recorded sha256 or "") pair a results file holds, at any depth
    (``in_lists=False``: not inside lists, whose rows are what was measured, not what it ran
    on): a ``checkpoint`` key (a name, or an object with ``name`` / ``path`` and ``sha256``)
    with ``checkpoint_sha256`` or ``sha256`` beside it."""
    found: list[tuple[str, str]] = []
    if isinstance(data, dict):
        ck = data.get("checkpoint")
        if isinstance(ck, dict):
            name = str(ck.get("name") or ck.get("path") or "")
            found.append((Path(name).name, str(ck.get("sha256") or "")))
        elif isinstance(ck, str):
            sha = data.get("checkpoint_sha256") or data.get("sha256") or ""
            found.append((Path(ck).name, str(sha)))
        elif data.get("checkpoint_sha256"):
            found.append(("", str(data["checkpoint_sha256"])))
        for value in data.values():
            found.extend(recorded_checkpoints(value, in_lists))
    elif isinstance(data, list) and in_lists:
        for value in data:
            found.extend(recorded_checkpoints(value, in_lists))
    return found


@dataclass(frozen=True)
class Said:
    """One thing known of what a results file ran on; ``attributed`` when the file does not
    record it and the project's history does."""

    text: str
    attributed: bool = False


def provenance(r: Results) -> list[Said]:
    """What the figures of a results file ran on: sample, checkpoint, frame length."""
    said: list[Said] = []
    att = r.attribution()
    sample = r.field("sample")
    if isinstance(sample, str):
        said.append(Said(SAMPLES.get(sample, f"sample {sample}")))
    elif att and att.sample:
        said.append(Said(att.sample, attributed=True))
    if r.name not in CHECKPOINT_FREE or (att and att.checkpoint):
        recorded: dict[str, str] = {}
        for n, sha in recorded_checkpoints(r.data, in_lists=False):
            recorded[n] = recorded.get(n) or sha
        hashed = {n: s for n, s in recorded.items() if s}
        if hashed:
            said.extend(Said(f"checkpoint {f'`{n}` ' if n else ''}sha256 {s[:12]}"
                             + _which_checkpoint(s)) for n, s in hashed.items())
        elif att and att.checkpoint:
            said.append(Said(att.checkpoint, attributed=True))
        elif recorded:
            said.extend(Said(f"checkpoint `{n}` by name only (no hash)") for n in recorded)
        elif att is None:
            said.append(Said("checkpoint not recorded"))
    i_unit = r.field("i_unit_na")
    if isinstance(i_unit, int | float):
        said.append(Said(f"{i_unit:g} nA per unit"))
    frame = r.field("frame_s")
    if isinstance(frame, int | float):
        said.append(Said(f"{frame * 1000:g} ms frames"))
    digest, remarks = STALE.get(r.name, ("-", ()))
    if r.digest.startswith(digest):
        said.extend(Said(words, attributed=True) for words in remarks)
    return said


def _which_checkpoint(sha: str) -> str:
    """What a recorded checkpoint hash is: the bundled file, one bundled before it or neither."""
    if sha256_file(BUNDLED).startswith(sha.lower()):
        return " (the bundled file)"
    return next((f" ({label}, bundled when this ran)" for label, file in EARLIER_BUNDLES.items()
                 if sha256_file(file).startswith(sha.lower())), "")


def caption(*results: Results, note: str = "") -> str:
    """The line under a figure: each results file, what it ran on, and its command; then
    ``note`` (run time, sample size)."""
    parts = []
    for r in results:
        said = provenance(r)
        recorded = [s.text for s in said if not s.attributed]
        attributed = [s.text for s in said if s.attributed]
        ran_on = ", ".join(recorded)
        if attributed:
            ran_on += ("; " if ran_on else "") + "not recorded in the file, from the project's " \
                "history: " + ", ".join(attributed)
        command = r.command()
        parts.append(f"`benchmarks/results/{r.name}`" + (f" ({ran_on})" if ran_on else "")
                     + (f", written by `{command}`" if command else ""))
    return "_From " + "; ".join(parts) + (f"; {note}" if note else "") + "._"


# ---------------------------------------------------------------------------------- numbers


def pct(x: float, digits: int = 1) -> str:
    """A fraction as a percentage without the sign: 0.99406 -> '99.4'."""
    return f"{100 * x:.{digits}f}"


def interval(pair: Sequence[float], digits: int = 1) -> str:
    """A fraction interval as percentages: [0.991, 0.997] -> '99.1-99.7'."""
    return f"{pct(pair[0], digits)}-{pct(pair[1], digits)}"


def num(x: float, digits: int = 0) -> str:
    """A number with a fixed number of decimals."""
    return f"{x:.{digits}f}"


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def square(size_um: Sequence[float]) -> str:
    """A device size: [4, 4] -> '4 x 4 µm'."""
    return f"{size_um[0]:g} x {size_um[1]:g} µm"


def layers(values: Sequence[float], digits: int = 1) -> str:
    """Per-layer fractions as '99.4 / 97.4'."""
    return " / ".join(pct(v, digits) for v in values)


# ---------------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Renderer:
    """A named region kind: the results files it reads (``optional`` ones may not exist yet:
    the function gets ``None`` for them) and the function that renders them."""

    name: str
    files: tuple[str, ...]
    optional: frozenset[str]
    render: Callable[..., str]

    def __call__(self) -> str:
        results = [None if f in self.optional and not (RESULTS / f).exists() else load(f)
                   for f in self.files]
        return self.render(*results).strip("\n")


RENDERERS: dict[str, Renderer] = {}


def region(name: str, *files: str, optional: Iterable[str] = ()
           ) -> Callable[[Callable[..., str]], Callable[..., str]]:
    """Register ``fn(*results)`` as the renderer of regions called ``name``."""

    def register(fn: Callable[..., str]) -> Callable[..., str]:
        if name in RENDERERS:
            raise ValueError(f"two renderers named {name!r}")
        RENDERERS[name] = Renderer(name, files, frozenset(optional), fn)
        return fn

    return register


def package_unit_current() -> float:
    """The unit current (nA per software unit) of the package's characterisation tables (the
    newest version): the operating point a tile is drawn for."""
    tables = max((ROOT / "bmru_pdk" / "data" / "characterization").glob("tables_v*.json"),
                 key=lambda p: int(p.stem.removeprefix("tables_v")))
    return float(json.loads(tables.read_text())["i_unit_na"])


def at_unit_current(points: Sequence[dict[str, Any]], key: str = "i_unit_na") -> dict[str, Any]:
    """The point of a sweep at the package's unit current."""
    i_unit = package_unit_current()
    for point in points:
        if abs(point[key] - i_unit) < 1e-9:
            return point
    raise RenderError(f"no point at the package's unit current {i_unit} nA")


def readme_link(r: Results) -> str:
    """A link from the README to a results file."""
    return f"[`{r.name}`](benchmarks/results/{r.name})"


def short_source(r: Results) -> str:
    """A results file, linked from the README, and what it ran on, for a table cell
    (attributed parts starred)."""
    ran_on = ", ".join(s.text + ("\\*" if s.attributed else "") for s in provenance(r))
    return readme_link(r) + (f": {ran_on}" if ran_on else "")


# ---------------------------------------------------------------------------------- README


def run_rows(run: Results | None) -> list[tuple[str, str, str, str]]:
    """The README's rows of ``make run``'s results file, or one saying it is not written."""
    more = "[main job](docs/usage.md#the-main-job-make-run)"
    if run is None:
        return [("`make run`: the bundled tile with parasitics against the model",
                 "not in a results file yet: `make run` writes `benchmarks/results/run.json`",
                 "—", more)]
    c, t = run["compare"], run["tile"]
    # the tile is held to the model on the values it realises
    held, dev = c["realised"], c["device_only"]["realised"]
    bits = " / ".join(f"{pct(v)} ({interval(ci)})" for v, ci in
                      zip(held["state_agreement_per_layer"],
                          held["ci95"]["state_agreement_per_layer"], strict=True))
    power = c["power_nw"]
    parts = ", ".join(f"{k.replace('_', ' ')} {num(v)}" for k, v in power["by_part"].items())
    pex = run.data.get("pex")
    parasitics = (f"; {pex['capacitors']} parasitic capacitors, {pex['total_f'] * 1e15:.0f} fF"
                  if pex else "")
    return [
        (f"`make run`: the bundled tile with parasitics against the model on the values it "
         f"realises, {c['utterances']} utterances: state bits layer 0 / 1 (95 % CI), decisions",
         f"{bits} %; **{held['decisions_agreeing']}/{c['utterances']}** "
         f"({interval(held['ci95']['decision_agreement'])} %); device-only "
         f"{layers(dev['state_agreement_per_layer'])} %; against the checkpoint's own values "
         f"{layers(c['ideal']['state_agreement_per_layer'])} %", short_source(run), more),
        ("`make run`: simulated supply power (published ~83 nW)",
         f"**{num(power['mean'])} nW** ({num(power['min'])}-{num(power['max'])}): {parts}",
         short_source(run), more),
        ("`make run`: the tile",
         f"{t['devices']} transistors, {mm2(t['area_um2'])} mm²; DRC "
         f"{'clean' if run['drc']['clean'] else 'violations'}, LVS "
         f"{'match' if run['lvs']['match'] else 'mismatch'}{parasitics}", short_source(run),
         "[tiles](docs/tile.md)"),
    ]


@region("readme.headline", "run.json", "compare_sealed.json", "pvt_pex_bundled.json",
        "montecarlo.json", "twin.json", "model.json", "tile.json", optional=("run.json",))
def readme_headline(run: Results | None, long: Results, pvt: Results, mc: Results,
                    twin: Results, model: Results, tile: Results) -> str:
    """The README's one table of headline figures, each linked to its page (held-out runs
    only: the operating-point sweep chose on the tuning sample, so it is not one of them)."""
    conds = pvt["conditions"]
    worst = {m: min((c for c in conds if c[m]), key=lambda c: worse_layer(c, m))
             for m in ("nominal", "twin")}
    met = {m: sum(bool(c[m]) and worse_layer(c, m) >= bar for c in conds)
           for m, bar in (("nominal", PVT_TARGETS[0][2]), ("twin", PVT_TARGETS[2][2]))}
    s = mc["summary"]
    t = twin["summary"]
    d4 = model["accuracy"]["bundled"]
    big = max(tile["tiles"], key=lambda row: row["devices"])
    rows = [
        *run_rows(run),
        (f"the post-layout compare on {long['utterances']} utterances of the "
         f"{SAMPLES.get(long.field('sample'), 'sample')}: state bits layer 0 / 1 (95 % CI), "
         "decisions", compare_sealed_figures(long), short_source(long),
         "[compare](docs/compare.md#headline-figures-sealed-sample-with-parasitics)"),
        (f"PVT, {len(conds)} conditions (5 corners x -40 / 27 / 125 °C, VDD +-10 %), with "
         f"parasitics, {pvt['utterances']} utterances each, the rail as `make run` draws it: "
         f"conditions where the nominal model holds >= {pct(PVT_TARGETS[0][2], 0)} % of state "
         f"bits in both layers; where the condition's twin holds >= "
         f"{pct(PVT_TARGETS[2][2], 0)} %",
         f"**{met['nominal']} of {len(conds)}**, worst "
         f"{pct(worse_layer(worst['nominal'], 'nominal'))} % ({worst['nominal']['condition']}); "
         f"{met['twin']} of {len(conds)}, worst {pct(worse_layer(worst['twin'], 'twin'))} % "
         f"({worst['twin']['condition']})",
         short_source(pvt), "[PVT](docs/pvt.md)"),
        (f"mismatch Monte Carlo, {len(mc['seeds'])} dies x {len(mc['utterances'])} utterances: "
         "state agreement with the nominal model, layer 0 / 1; each die's with the nominal "
         "tile, mean (worst die)",
         f"**{layers(m['mean'] for m in s['state_agreement_per_layer'])} %**; "
         f"{pct(s['die_agreement_with_nominal']['mean'])} % "
         f"({pct(s['die_agreement_with_nominal']['min'])} %); dies within 1 point of the "
         f"model's accuracy {s['dies_within_1_point']}",
         short_source(mc), "[Monte Carlo](docs/codesign.md#monte-carlo-at-the-operating-point)"),
        ("per-die twin (the model run with what a wafer test reads): die vs twin, mean "
         "(worst die)",
         f"**{pct(t['twin_agreement_mean'])} %** ({pct(t['twin_agreement_min'])} %), against "
         f"{pct(t['model_agreement_mean'])} % with the checkpoint",
         short_source(twin), "[twin](docs/codesign.md#the-per-die-twin)"),
        (f"keyword spotting, balanced accuracy of d = 4 (`{model['checkpoint']}`) / d = 16 "
         f"(mean over seeds), {model['test_utterances']} utterances of unseen voices",
         f"**{pct(d4['balanced_accuracy'])} / {pct(sweep_mean(model, 16))} %** "
         f"(always \"other\": {pct(d4['baseline_accuracy'])} % accuracy)",
         short_source(model), "[model](docs/codesign.md#the-model)"),
        (f"largest tile built (d = {big['d']}, every weight drawn)",
         f"{big['devices']} transistors, {big['area_um2'] / 1e6:.2f} mm², "
         f"{aspect(big)}, built in {num(big['build_s'])} s; DRC {drc_text(big)}, LVS "
         f"{lvs_text(big)}; LVS on the official deck {lvs_text(big, 'official_')}",
         readme_link(tile), "[tiles](docs/tile.md#figures)"),
    ]
    foot = ("\n\n\\* not recorded in the results file; from the project's history (the commits "
            "that wrote the file and the checkpoint).")
    starred = any("\\*" in row[2] for row in rows)
    return table(("figure", "measured", "results file: what it ran on", "more"), rows) \
        + (foot if starred else "")


# ---------------------------------------------------------------------------------- co-design


@region("operating_point.table", "operating_point.json")
def operating_point_table(op: Results) -> str:
    """Power and agreement against the unit current, per temperature (docs/codesign.md)."""
    temps = [c["temp_c"] for c in op["points"][0]["conditions"]]
    header = ["unit current"]
    for t in temps:
        header += [f"power {t:g} °C", f"state bits {t:g} °C, layer 0 / 1 (95 % CI)",
                   "decisions"]
    rows = []
    for p in op["points"]:
        row = [f"{p['i_unit_na']:g} nA"]
        for c in p["conditions"]:
            bits = " / ".join(f"{pct(v)} ({interval(ci)})" for v, ci in
                              zip(c["state_agreement_per_layer"], c["state_agreement_ci95"],
                                  strict=True))
            row += [f"{num(c['power_nw'])} nW", f"{bits} %",
                    f"{c['decisions_agreeing']}/{p['utterances']}"]
        rows.append(row)
    return table(header, rows) + "\n\n" + caption(op, note=f"{num(op['seconds'])} s")


@region("targets.table", "run.json", "montecarlo.json", "twin.json", "model.json",
        "tile.json", "sizing.json")
def targets_table(run: Results, mc: Results, twin: Results, model: Results,
                  tiles: Results, sizing: Results) -> str:
    """The co-design targets against what the results files hold (docs/codesign.md): the
    tile's own rows from ``make run`` (sealed sample; the operating-point sweep chose on the
    tuning sample, so it reports no target); the area against sigma from the sizing bench
    (tuning sample: it chooses)."""
    c = run["compare"]
    held = c["realised"]
    s = mc["summary"]
    lo, hi = s["dies_within_1_point_ci95"]
    bundled = next(t for t in tiles["tiles"] if t["name"] == "d4_bundled")
    t = twin["summary"]
    dies = twin["dies"]
    twin_layers = [statistics.fmean(d["twin_agreement_per_layer"][i] for d in dies)
                   for i in range(len(dies[0]["twin_agreement_per_layer"]))]
    d4, d16 = model["accuracy"]["bundled"], model["accuracy"]["16"]
    rows = [
        (f"simulated supply power, d = 4 tile, {c['i_unit_na']:g} nA per unit "
         f"({c['utterances']} utterances, with parasitics)",
         f"**{num(c['power_nw']['mean'])} nW**", "<= 83 nW; stretch <= 30", "`make run`"),
        ("state agreement, nominal tile vs model, layer 0 / 1 (95 % CI)",
         " / ".join(f"{pct(v)} % ({interval(ci)})" for v, ci in
                    zip(held["state_agreement_per_layer"],
                        held["ci95"]["state_agreement_per_layer"], strict=True)), ">= 99 %",
         "`make run`"),
        (f"Monte Carlo, {len(mc['seeds'])} dies: die accuracy within 1 point of the nominal "
         "model's",
         f"**{s['dies_within_1_point']}** (CI {pct(lo, 0)}-{pct(hi, 0)} %)", ">= 95 % of dies",
         "`bench_montecarlo.py`"),
        ("Monte Carlo: mean state agreement with the nominal tile",
         f"**{pct(s['die_agreement_with_nominal']['mean'])} %** with the package's unit "
         f"({len(mc['seeds'])} dies)", ">= 97 %", "`bench_montecarlo.py`"),
        ("per-die twin: agreement with the die's measured elements",
         f"**{pct(t['twin_agreement_mean'])} %** (layers {layers(twin_layers)}; worst die "
         f"{pct(t['twin_agreement_min'])}; {t['dies_twin_at_least_99']} dies >= 99 %)",
         ">= 99.5 %", "`bench_twin.py`"),
        ("balanced accuracy d = 4 (the checkpoint the model bench ran on), voices unseen in "
         "training",
         f"**{pct(d4['balanced_accuracy'])} %** ({model['test_utterances']} utterances; always "
         f"\"other\" {pct(d4['baseline_accuracy'])} % accuracy)", ">= 95 %", "`bench_model.py`"),
        ("balanced accuracy d = 16",
         f"**{pct(d16['balanced_accuracy'])} %** (seed 0; mean over "
         f"{len(model['sweep']['rows']['16']['seeds'])} seeds {pct(sweep_mean(model, 16))} %)",
         ">= 97 %",
         "`bench_model.py`"),
        ("tile area d = 4", f"**{mm2(bundled['area_um2'])} mm²** with the package's unit; "
         + ", ".join(f"{mm2(p['tile_area_um2'])} mm² at {pct(p['mirror_sigma']['nfet_03v3'])} % "
                     f"NMOS sigma (dies {pct(p['die_agreement_with_nominal']['mean'])} %)"
                     for p in sizing["points"]),
         "reported beside the sigma it buys", "`bench_tile.py`, `bench_sizing.py`"),
    ]
    return (table(("figure", "measured", "target", "command"), rows) + "\n\n"
            + caption(run, mc, twin, model, tiles, sizing))


def onsets(r: Results, prefix: str) -> int:
    """The onsets of disagreement of every kind whose name starts with ``prefix``."""
    return sum(v for k, v in r["onsets"].items() if k.startswith(prefix))


@region("compare_errors_4gate_keeper_cold.table",
        "compare_errors_4gate_keeper_fs-40_tuning.json")
@region("compare_errors_4gate_keeper.table", "compare_errors_4gate_keeper_tuning.json")
@region("compare_errors_4gate_cold.table", "compare_errors_4gate_fs-40_tuning.json")
@region("compare_errors_4gate.table", "compare_errors_4gate_tuning.json")
@region("compare_errors_cascodes_rail30.table", "compare_errors_cascodes_rail_tuning30.json")
@region("compare_errors_cascodes_frame.table", "compare_errors_cascodes_frame_tuning.json")
@region("compare_errors_cascodes.table", "compare_errors_cascodes_tuning.json")
@region("compare_errors.table", "compare_errors.json")
def compare_errors_table(r: Results) -> str:
    """Onsets of disagreement by kind (docs/codesign.md)."""
    o = r["onsets"]
    rows = [
        ("layer 0: knife edges (candidate within 1 % of a threshold)",
         f"**{onsets(r, 'layer 0: knife edge')}** (hardware high "
         f"{o['layer 0: knife edge, hardware high']}, "
         f"low {o['layer 0: knife edge, hardware low']})"),
        ("layer 0: far from a threshold", str(onsets(r, "layer 0: far"))),
        ("layer 1: inherited from layer 0", str(onsets(r, "layer 1: inherited"))),
        ("layer 1: knife edges (the hardware-fed candidate within 1 % of a threshold)",
         str(onsets(r, "layer 1: knife edge"))),
        ("layer 1: dynamic (the hardware-fed candidate, not near a threshold, does not "
         "explain the state)", f"**{onsets(r, 'layer 1: dynamic')}** (hardware high "
         f"{o.get('layer 1: dynamic, hardware high', 0)}, "
         f"low {o.get('layer 1: dynamic, hardware low', 0)})"),
    ]
    on = r["cell_switch_on"]
    held = f", held to the {r['held_to']}" if r.field("held_to") else ""
    where = f"{r['utterances']} utterances" + (f", {r['condition']}{held}"
                                               if r.field("condition") else "") + (
        ", with parasitic capacitances" if r.field("pex") else "")
    at = f" of the tile's unit at {r['condition']}" if r.field("condition") else ""
    if r.field("keeper"):
        where += ", every cell with the keeper"
        at += " with the keeper"
    split, frames = (r.field(k) for k in ("layer1_dynamic_by_layer0_switches",
                                          "frames_by_layer0_switches"))
    if split is not None:
        keys = ("0", "1", "2+")
        of = f" (of {' / '.join(str(frames.get(k, 0)) for k in keys)} frames)" if frames else ""
        rows.append(("layer 1 dynamic, by layer-0 units switching into the frame: none / "
                     "one / two or more", " / ".join(str(split.get(k, 0)) for k in keys) + of))
    how = r.field("layer1_dynamic")
    if how is not None:
        rows.append(("layer 1 dynamic: the cell held its state / its state is the update from "
                     "the inputs of the frame before / lasting more than a frame",
                     " / ".join(str(how.get(k, 0)) for k in ("held", "late input",
                                                              "lasts 2+"))))
    if r.field("state_agreement"):
        rows.append(("state bits agreeing, layer 0 / 1",
                     " / ".join(f"{pct(a, 2)} %" for a in r["state_agreement"])))
    if r.field("offset_copy_gain_of"):  # earlier files read it through another tile's gain
        rows.append(("layer 0: the hardware's candidate less the model's, mean near the "
                     "thresholds, per unit (nA)",
                     " / ".join(f"{v:+.3f}" for v in r["layer0_candidate_offset_na"])))
    return (table(("onsets of disagreement", where), rows)
            + f"\n\nA bare cell{at} switching on peaks at {on['peak_na']:.2f} units and settles at "
            f"{on['settled_na']:.2f} (overshoot {pct(on['peak_na'] / on['settled_na'] - 1, 0)} %)."
            + "\n\n" + caption(r))


def compare_errors_side_by_side(runs: tuple[Results, ...], header: tuple[str, ...]) -> str:
    """Two or more compare diagnostics of one tile's network, a column each."""

    def dynamic(key: str) -> list[str]:
        return [str(r["layer1_dynamic"].get(key, 0)) for r in runs]

    rows = [
        ("state bits agreeing, layer 0 / 1",
         *(" / ".join(f"{pct(a, 2)} %" for a in r["state_agreement"]) for r in runs)),
        ("layer-0 onsets of disagreement", *(str(onsets(r, "layer 0")) for r in runs)),
        ("layer-1 onsets: inherited from layer 0 / knife edges / dynamic",
         *(f"{onsets(r, 'layer 1: inherited')} / {onsets(r, 'layer 1: knife edge')} / "
           f"{onsets(r, 'layer 1: dynamic')}" for r in runs)),
        ("layer-1 dynamic: the cell held its state / its state is the update from the "
         "inputs of the frame before", *(f"{h} / {late}" for h, late in zip(
             dynamic("held"), dynamic("late input"), strict=True))),
        ("layer-1 dynamic: lasting one frame / more", *(f"{a} / {b}" for a, b in zip(
            dynamic("lasts 1"), dynamic("lasts 2+"), strict=True))),
    ]
    # files written before the bench classified by the sensed candidate have neither key
    if all({"sensed explains it", "cell did not follow"} & r["layer1_dynamic"].keys()
           for r in runs):
        rows += [("layer-1 dynamic: the cell's sensed end-of-frame candidate explains its state "
                  "/ the cell did not follow it", *(f"{a} / {b}" for a, b in zip(
                      dynamic("sensed explains it"), dynamic("cell did not follow"),
                      strict=True))),
                 ("layer-1 dynamic: a layer-0 unit feeding it through a negative weight "
                  "switched on into the frame", *dynamic("negative input on"))]
    if all(r.field("offset_copy_gain_of") for r in runs):
        rows += [("layer-0 knife edges: hardware high / low", *(
            f"{r['onsets'].get('layer 0: knife edge, hardware high', 0)} / "
            f"{r['onsets'].get('layer 0: knife edge, hardware low', 0)}" for r in runs)),
            ("layer 0: the hardware's candidate less the model's, mean near the thresholds, "
             "per unit (nA)", *(" / ".join(f"{v:+.3f}" for v in r["layer0_candidate_offset_na"])
                                for r in runs))]
    if all(r.field("cell_switch_on") for r in runs):
        rows.append(("a bare cell switching on (alpha 2): peak / settled, units", *(
            f"{r['cell_switch_on']['peak_na']:.2f} / {r['cell_switch_on']['settled_na']:.2f}"
            for r in runs)))
    if any(r.field("power_nw") for r in runs):
        rows.append(("simulated supply power, mean", *(
            f"{num(r['power_nw'])} nW" if r.field("power_nw") else "not recorded"
            for r in runs)))
    last = runs[-1]
    where = (last["condition"] if len({r["condition"] for r in runs}) == 1
             else "at the condition each column names")
    pex = {bool(r.field("pex")) for r in runs}
    netlist = ("with or without parasitic capacitances as each column says" if len(pex) > 1
               else "with parasitic capacitances" if pex.pop() else "device-only")
    return (table(header, rows) + f"\n\n{last['utterances']} utterances each, "
            f"{where}, held to the {last['held_to']}, {netlist}.\n\n" + caption(*runs))


@region("compare_errors.reset", "compare_errors_cascodes_rail_reset1_tuning.json",
        "compare_errors_cascodes_rail_tuning.json")
def compare_errors_reset(one: Results, default: Results) -> str:
    """The same tile after one reset frame and after the testbench's (docs/compare.md)."""
    return compare_errors_side_by_side((one, default), ("", *(
        f"after {r['reset_frames']} reset frame{'s' if r['reset_frames'] > 1 else ''}"
        for r in (one, default))))


@region("compare_errors.held", "compare_errors_cascodes_rail_tuning30.json",
        "compare_errors_cascodes_rail_gear_tuning30.json",
        "compare_errors_cascodes_held_rail_tuning30.json")
def compare_errors_held(unclocked: Results, gear: Results, held: Results) -> str:
    """The cascoded network's tile unclocked (with each integration) and held
    (docs/compare.md)."""
    return compare_errors_side_by_side((unclocked, gear, held), (
        "", "unclocked cascade", "unclocked, Gear integration",
        "held: layer 0 sampled on the frame clock (Gear)"))


@region("compare_errors.cold_slow", "compare_errors_cascodes3_ss-40_tuning.json",
        "compare_errors_cascodes3_keeper_ss-40_tuning.json",
        "compare_errors_cascodes3_ss-40_reset6_tuning.json",
        "compare_errors_cascodes3_sf-40_reset6_tuning.json")
def compare_errors_cold_slow(plain: Results, kept: Results, longer: Results,
                             sf: Results) -> str:
    """The per-gate cascoded tile at ss -40 °C: its cells as drawn, each with the keeper of
    its output switch's tail node, and as drawn after a longer reset; and at sf -40 °C after
    the longer reset (docs/pvt.md)."""
    return compare_errors_side_by_side((plain, kept, longer, sf), (
        "", f"{plain['condition']}: cells as drawn, {plain['reset_frames']} reset frames",
        f"{kept['condition']}: every cell with the keeper (tables without it)",
        f"{longer['condition']}: cells as drawn, {longer['reset_frames']} reset frames",
        f"{sf['condition']}: cells as drawn, {sf['reset_frames']} reset frames"))


@region("compare_errors.cold_keepers", "compare_errors_bundled_ss-40_tuning.json",
        "compare_errors_keepers_ss-40_tuning.json")
def compare_errors_cold_keepers(bundled: Results, keepers: Results) -> str:
    """The cascoded tile (bundled then) at ss -40 °C on the fixed start, and its network
    moved onto the tables of the unit with keepers, drawn with them (docs/pvt.md)."""
    return compare_errors_side_by_side((bundled, keepers), (
        "", "cascoded network (bundled then), its tile",
        "moved onto the keeper unit's tables, every cell drawn with its keeper"))


@region("compare_errors.keepers_typical", "compare_errors_keepers_tuning.json")
def compare_errors_keepers_typical(keepers: Results) -> str:
    """The keeper network's tile at typical 27 °C: where its layer 0's disagreements start
    (docs/pvt.md)."""
    return compare_errors_side_by_side((keepers,), ("", "keeper network, its tile"))


@region("compare_errors.device_only", "compare_errors_bundled_device_tuning.json",
        "compare_errors_keepers_device_tuning.json")
def compare_errors_device_only(bundled: Results, keepers: Results) -> str:
    """The cascoded tile (bundled then) and the keeper network's, device-only, at typical
    27 °C (docs/compare.md)."""
    return compare_errors_side_by_side((bundled, keepers), (
        "", "cascoded network (bundled then), its tile",
        "keeper network (bundled since), its tile"))


@region("compare_errors.cascode_sizing", "compare_errors_bundled_rail_tuning30.json",
        "compare_errors_bundled_to_cascodes_ramp_rail_tuning30.json",
        "compare_errors_bundled_to_cascodes3_rail_tuning30.json")
def compare_errors_cascode_sizing(plain: Results, by_units: Results, per_gate: Results) -> str:
    """The bundled network on its own tile and moved onto the cascoded grid, its cascodes
    sized by their outputs' whole units and with a gate per output gate (docs/compare.md)."""
    return compare_errors_side_by_side((plain, by_units, per_gate), (
        "", "4-gate network, its 4-gate tile", "moved onto the cascoded grid: cascodes of "
        "whole units", "moved onto the cascoded grid: a cascode gate per output gate"))


@region("reset.keepers_start", "reset_keepers.json", "reset_keepers_rest.json")
@region("reset.rest_network", "reset_rest.json")
@region("reset.table", "reset_bundled.json", "reset_cascodes3.json")
def reset_table(*runs: Results) -> str:
    """Frames of zero input each extracted tile takes to come to rest at each condition, from
    where its run started (docs/compare.md, The start and The rest)."""
    def rest(h: dict, frames: int) -> str:
        if h["frames_to_rest"] is not None:
            return str(h["frames_to_rest"])
        off = ", ".join(f"layer {k} unit {j}" for k, units in enumerate(h["disagreeing_at_end"])
                        for j in units)
        return f"not within {frames} ({off} differs)"

    header = ["condition"]
    for r in runs:
        # files from before bench_reset recorded its start began at the initial states
        start = "its model's rest" if r.field("start") == "rest" else "the initial states"
        header += [f"`{r['checkpoint']}`, started at {start}: tile, held to the nominal model",
                   "held to its twin",
                   "the model, from its initial states"]
    by_condition = [r["conditions"] for r in runs]
    rows = [(cs[0]["condition"], *(cell for r, c in zip(runs, cs, strict=True) for cell in (
        rest(c["nominal"], r["frames"]), rest(c["twin"], r["frames"]),
        str(c["nominal"]["model_frames_to_rest"]))))
        for cs in zip(*by_condition, strict=True)]
    notes = "; ".join(f"tile `{r['tile']}` ({r['transistors']} transistors), "
                      f"{'with' if r['pex'] else 'without'} parasitic capacitances, "
                      f"{r['frames']} frames of zero input per condition, {num(r['seconds'])} s"
                      for r in runs)
    return table(header, rows) + "\n\n" + caption(*runs, note=notes)


@region("reset.rest_units", "reset_cascodes3.json")
def reset_rest_units(r: Results) -> str:
    """Each unit whose rest the tile and a model disagree on: the candidate the tile formed
    beside the models' bias and thresholds, nA (docs/compare.md, The start)."""
    rows = []
    for c in r["conditions"]:
        differs = {(k, j) for model in ("nominal", "twin")
                   for k, units in enumerate(c[model]["disagreeing_at_end"]) for j in units}
        held = [c[m] for m in ("nominal", "twin")]
        for k, j in sorted(differs):
            tile_state = c["tile_states"][-1].split()[k][j]
            rows.append((c["condition"], f"layer {k} unit {j}",
                         f"{num(c['tile_candidates_na'][k][j], 2)} "
                         f"({'ON' if tile_state == '1' else 'OFF'})",
                         *(" / ".join(num(h[f"{key}_na"][k][j], 2)
                                      for key in ("bias", "beta_lo", "beta_hi"))
                           + f" ({'ON' if h['rest'][k][j] else 'OFF'})" for h in held)))
    # at zero input a layer-0 candidate is its bias alone: how far the tile's sits from the twin's
    drift = table(["condition", "layer 0: tile's candidate against the twin's bias, each unit"],
                  [(c["condition"], ", ".join(
                      f"{100 * (t / b - 1):+.1f} %" for t, b in zip(
                          c["tile_candidates_na"][0], c["twin"]["bias_na"][0], strict=True)
                      if b > 0)) for c in r["conditions"]])
    rest = table([
        "condition", "unit", "tile: candidate at the last frame's end, nA (state)",
        "nominal model: bias / beta_lo / beta_hi, nA (rest)",
        "condition's twin: bias / beta_lo / beta_hi, nA (rest)"], rows)
    return drift + "\n\n" + rest + "\n\n" + caption(
        r, note="a unit of negative bias (its candidate zero) left out of the first table; the "
                "tile's candidate is the current sensed into its cell with the ReLU copy's gain "
                "at the condition divided out")


@region("reset.keepers_units", "reset_keepers.json")
def reset_keepers_units(r: Results) -> str:
    """The keeper tile's rest against its model's (docs/compare.md, The rest)."""
    return reset_table(r) + "\n\n" + reset_rest_units(r)


@region("compare_errors.rest30", "compare_errors_keepers_tuning30.json",
        "compare_errors_rest_tuning30.json")
def compare_errors_rest30(keepers: Results, rest: Results) -> str:
    """The keeper network and the rest network on 30 tuning utterances (docs/compare.md,
    The rest)."""
    return compare_errors_side_by_side((keepers, rest), (
        "", "keeper network (bundled)", "rest network (`--rest-margin 0.2`)"))


@region("compare_errors.keepers50", "compare_errors_keepers_tuning50.json")
def compare_errors_keepers50(r: Results) -> str:
    """The keeper tile on 50 tuning utterances, its noise clips among them, and the
    utterances its layer 1 agrees least on (docs/compare.md, The rest)."""
    worst = sorted(r["per_utterance"], key=lambda u: u["state_agreement"][-1])[:WORST]
    rows = [(f"`{u['name']}`", str(u["label"]),
             " / ".join(f"{pct(a)} %" for a in u["state_agreement"])) for u in worst]
    noise = [u["state_agreement"][-1] for u in r["per_utterance"]
             if u["name"].startswith(f"{NOISE_DIR}/")]
    return (compare_errors_side_by_side((r,), ("", "keeper network (bundled), its tile"))
            + "\n\n" + table(("utterance", "label (1: yes)", "state bits, layer 0 / 1"), rows)
            + f"\n\nNoise clips among the {len(r['per_utterance'])}: {len(noise)}, "
              f"{sum(a < 1 for a in noise)} of them with a layer-1 bit off the model; "
              f"layer 1 on the least agreeing of them: {pct(min(noise))} %.")


@region("fragility.summary", "fragility.json")
def fragility_summary(r: Results) -> str:
    """What a cell deciding against its model costs the network, by kind of utterance and
    flipped layer, and the utterances where an exposed flip loses units (docs/compare.md,
    One frame off)."""
    rows = [(kind, str(k), str(s["utterances"]), str(layer["first_frame_lost"]),
             str(layer["any_frame_lost"]), str(layer["exposed_lost"]))
            for kind, s in r["summary"].items() for k, layer in enumerate(s["layers"])]
    exposed = sorted((u for u in r["per_utterance"]
                      if any(layer["exposed_lost"] for layer in u["layers"])),
                     key=lambda u: (not u["noise"], -max(x["exposed_lost"] for x in u["layers"])))
    listed = table(("utterance", *(f"layer {k}: units an exposed flip loses (at the first frame)"
                                   for k in range(len(exposed[0]["layers"])))),
                   [(f"`{u['name']}`", *(f"{x['exposed_lost']} ({x['first_frame_exposed_lost']})"
                                         for x in u["layers"]))
                    for u in exposed[:2 * WORST]])
    return (table(("", "flipped layer", "utterances",
                   "a flip at the first frame loses a unit", "a flip at any frame does",
                   "an exposed flip does"), rows)
            + "\n\nAn exposed flip (in any layer) loses a unit to the end in "
            + " and ".join(f"{s['exposed_lost']} of the {s['utterances']} {kind}"
                           for kind, s in r["summary"].items())
            + (f"; validation balanced accuracy {pct(r['validation_balanced'], 2)} %"
               if r.field("validation_balanced") is not None else "") + "."
            + f" Exposed: the flipped unit's candidate within {pct(r['exposed_within'], 0)} % "
              f"of a threshold. The {min(len(exposed), 2 * WORST)} of the {len(exposed)} "
              "utterances with an exposed loss listed, noise clips first:\n\n" + listed
            + "\n\n" + caption(r, note=f"{num(r['seconds'])} s"))


def passes_remedy_rule(candidate: Results, bundled: Results) -> bool:
    """docs/compare.md's rule for a remedy, model screen: no noise clip with an exposed
    loss, no more words with one than the bundled network, validation balanced accuracy
    within a point of its."""
    mine, base = candidate["summary"], bundled["summary"]
    return (mine["noise clips"]["exposed_lost"] == 0
            and mine["words"]["exposed_lost"] <= base["words"]["exposed_lost"]
            and candidate["validation_balanced"] >= bundled["validation_balanced"] - 0.01)


@region("fragility.screens", "fragility.json", "fragility_margin0.1.json",
        "fragility_margin0.2.json", "fragility_cn0.2.json", "fragility_mm0.1.json")
def fragility_screens(bundled: Results, *candidates: Results) -> str:
    """Fine-tunes of the bundled network screened by the rule for a remedy, model only
    (docs/compare.md, One frame off)."""
    rows = []
    for r in (bundled, *candidates):
        change = " ".join(f"`--{part}`" for part in r["training_command"].split(" --")[1:]
                          if part.split()[0] in ("margin", "mismatch", "candidate-noise"))

        def of(kind: str, r: Results = r) -> str:
            return f"{r['summary'][kind]['exposed_lost']} of {r['summary'][kind]['utterances']}"

        rows.append(("bundled network" if r is bundled else f"fine-tuned with {change}",
                     f"{pct(r['validation_balanced'], 2)} %", of("words"), of("noise clips"),
                     "-" if r is bundled else "yes" if passes_remedy_rule(r, bundled) else "no"))
    return (table(("network", "validation balanced accuracy", "words with an exposed loss",
                   "noise clips with an exposed loss", "passes the rule"), rows)
            + "\n\n" + caption(bundled, *candidates))


@region("fragility.against_tile", "fragility_tuning50.json",
        "compare_errors_keepers_tuning50.json")
def fragility_against_tile(flips: Results, tile: Results) -> str:
    """The model's flips beside the keeper tile's agreement, utterance by utterance, on the
    same 50 tuning utterances (docs/compare.md, One frame off)."""
    agreement = {u["name"]: u["state_agreement"] for u in tile["per_utterance"]}
    near = flips["exposed_within"]

    def exposed_loss(u: dict) -> bool:
        return any(x["exposed_lost"] for x in u["layers"])

    def exposed_costly(u: dict) -> bool:
        return any(x["costly_margin"] is not None and x["costly_margin"] < near
                   for x in u["layers"])

    rows = sorted(((agreement[u["name"]][-1], u) for u in flips["per_utterance"]),
                  key=lambda r: r[0])
    groups = []
    for what, test in (("an exposed loss", exposed_loss), ("an exposed costly flip",
                                                             exposed_costly)):
        for has in (True, False):
            a = [layer1 for layer1, u in rows if test(u) == has]
            if a:
                groups.append((("with " if has else "without ") + what, str(len(a)),
                               f"{pct(sum(a) / len(a), 2)} %", f"{pct(min(a))} %",
                               str(sum(x < 0.99 for x in a))))
    summary = table(("", "utterances", "tile layer 1, mean", "least", "below 99 %"), groups)

    def margin(m: float | None) -> str:
        return "none" if m is None else f"{pct(m, 0)} %"

    worst = table(("utterance", "tile, layer 0 / 1", "an exposed loss",
                   *(f"nearest costly flip of layer {k}"
                     for k in range(len(rows[0][1]["layers"])))),
                  [(f"`{u['name']}`", " / ".join(f"{pct(a)} %" for a in agreement[u["name"]]),
                    "yes" if any(x["exposed_lost"] for x in u["layers"]) else "no",
                    *(margin(x["costly_margin"]) for x in u["layers"]))
                   for _, u in rows[:WORST]])
    return ("A costly flip changes at least 1 % of the state bits; an exposed one lies within "
            f"{pct(near, 0)} % of a threshold.\n\n" + summary + "\n\nThe utterances the "
            "tile agrees least on in layer 1, and how near a threshold each layer's nearest "
            "costly flip lies:\n\n" + worst + "\n\n" + caption(flips, tile))


@region("in_situ.units", "in_situ.json")
def in_situ_units(r: Results) -> str:
    """Each unit's values as its tables realise them and as the nominal tile's own test
    reads them (docs/compare.md, The cells in their tile)."""
    def cell(pair: list[float]) -> str:
        ours, tile = pair
        moved = f" ({100 * (tile / ours - 1):+.0f} %)" if ours else ""
        return f"{ours:.2f} / {tile:.2f}{moved}"

    rows = [(u["unit"], *(cell(u[key]) for key in ("bias", "beta_lo", "beta_hi", "alpha")))
            for u in r["units"]]
    return (table(("unit", "bias, nA: tables / tile", "beta_lo", "beta_hi", "alpha"), rows)
            + "\n\n" + caption(r, note=f"{r['condition']}, "
                                 + ("with" if r["pex"] else "without")
                                 + f" parasitic capacitances, {num(r['seconds'])} s"))


@region("in_situ.against_tile", "in_situ.json", "compare_errors_keepers_tuning50.json")
def in_situ_against_tile(twin: Results, tile: Results) -> str:
    """Where the model with the tile's own values parts from the realised model, beside
    where the tile does, on the same tuning utterances (docs/compare.md, The cells in their
    tile)."""
    agreement = {u["name"]: u["state_agreement"] for u in tile["per_utterance"]}
    rows = []
    for parts in (True, False):
        a = [agreement[u["name"]][-1] for u in twin["per_utterance"]
             if (u["agreement"][-1] < 1) == parts]
        if a:
            rows.append(("the model with the tile's values " + ("parts from" if parts else
                                                                  "agrees with")
                         + " the realised model in layer 1", str(len(a)),
                         f"{pct(sum(a) / len(a), 2)} %", f"{pct(min(a))} %",
                         str(sum(x < 0.99 for x in a))))
    return (f"The model with the tile's values against the realised model, state bits: "
            f"{layers(twin['agreement'])} % in layers 0 / 1.\n\n"
            + table(("utterances where", "utterances", "tile layer 1, mean", "least",
                     "below 99 %"), rows) + "\n\n" + caption(twin, tile))


@region("compare_errors.hum", "compare_errors_keepers_hum_tuning.json")
def compare_errors_hum(r: Results) -> str:
    """The keeper tile on the tuning sample's hum clips, one row each (docs/compare.md, One
    frame off)."""
    rows = [(f"`{u['name']}`", " / ".join(f"{pct(a)} %" for a in u["state_agreement"]))
            for u in r["per_utterance"]]
    onsets = ", ".join(f"{kind} {n}" for kind, n in r["onsets"].items()) or "none"
    return (table(("utterance", "state bits, layer 0 / 1"), rows)
            + f"\n\nOnsets of disagreement: {onsets}; of layer 1's dynamic ones: "
            + ", ".join(f"{kind} {n}" for kind, n in r["layer1_dynamic"].items() if n)
            + ".\n\n" + caption(r, note=f"{r['condition']}, with parasitic capacitances"))


@region("sizing.table", "sizing.json")
def sizing_table(r: Results) -> str:
    """Unit device, area, power and Monte Carlo per target sigma (docs/codesign.md)."""
    rows = []
    for p in r["points"]:
        die = p["die_agreement_with_nominal"]
        lo, hi = p["dies_within_1_point_ci95"]
        rows.append((
            f"{pct(p['target_sigma'], 2).rstrip('0').rstrip('.')} %",
            square(p["unit_um"]),
            f"{pct(p['mirror_sigma']['nfet_03v3'])} / {pct(p['mirror_sigma']['pfet_03v3'])} %",
            f"{p['tile_area_um2'] / 1e6:.3f} mm²",
            f"{num(p['simulated_power_nw'])} nW",
            f"{layers(p['nominal_state_agreement_per_layer'])} %",
            f"{pct(die['mean'], 2)} % ({pct(die['min'])} %)",
            f"{p['dies_within_1_point']} (CI {pct(lo, 0)}-{pct(hi, 0)} %)",
            p["decisions_agreeing"],
        ))
    header = ("target sigma", "unit", "measured sigma NMOS / PMOS", "tile area",
              "simulated power", "nominal tile vs model, layer 0 / 1",
              "die vs mismatch-free tile, mean (worst)", "dies within 1 point",
              "decisions agreeing")
    return (table(header, rows) + "\n\n"
            + caption(r, note=f"{r['seeds']} dies x {r['utterances']} utterances per "
                       f"target, {num(r['seconds'])} s"))


@region("montecarlo_4gate.table", "montecarlo_4gate_tuning.json")
@region("montecarlo.table", "montecarlo.json")
def montecarlo_table(r: Results) -> str:
    """The Monte Carlo figures at the operating point (docs/codesign.md), and of the network
    trained for the 4-gate grid (docs/pvt.md)."""
    s = r["summary"]
    per_layer = s["state_agreement_per_layer"]
    die = s["die_agreement_with_nominal"]
    acc = s["die_accuracy"]
    lo, hi = s["dies_within_1_point_ci95"]
    power = s["power_nw"]
    rows = [
        ("state agreement with the nominal model (the realised values), mean, layer 0 / 1",
         f"**{pct(per_layer[0]['mean'])} / {pct(per_layer[1]['mean'])} %** (no mismatch: "
         f"{layers(s['nominal_state_agreement_per_layer'])} %)", ">= 97 % per layer"),
        ("each die's agreement with the nominal tile, mean (worst die)",
         f"**{pct(die['mean'])} % ({pct(die['min'])} %)**", ">= 97 %"),
        ("dies within 1 point of the nominal model's accuracy (95 % CI)",
         f"**{s['dies_within_1_point']} ({pct(lo, 0)}-{pct(hi, 0)} %)**", ">= 95 % of dies"),
        ("decisions agreeing with the nominal model", s["decisions_agreeing"], ""),
        (f"die accuracy (always \"other\" {pct(s['commonest_class_accuracy'], 0)} % on these "
         f"{len(r['utterances'])})",
         f"{pct(acc['min'], 0)}-{pct(acc['max'], 0)} % (model {pct(s['model_accuracy'], 0)} %)",
         ""),
        ("power", f"{num(power['mean'])} nW ({num(power['min'])}-{num(power['max'])})", ""),
    ]
    return (table(("figure", f"{len(r['seeds'])} dies x {len(r['utterances'])} utterances",
                   "target"), rows)
            + "\n\n" + caption(r, note=f"{s['samples']} simulations, {num(r['seconds'])} s"))


@region("montecarlo.distribution", "montecarlo.json")
def montecarlo_distribution(r: Results) -> str:
    """State agreement over the Monte Carlo runs, per layer (docs/noise.md)."""
    s = r["summary"]
    runs, dies = s["state_agreement_per_layer"], s["state_agreement_per_seed_per_layer"]
    nominal = s["agreement_with_nominal_per_layer"]
    spread = ("min", "p5", "p50", "p95", "max")
    rows = [
        (f"mismatch off (these {len(r['utterances'])} utterances)",
         *(f"{pct(v)} %" for v in s["nominal_state_agreement_per_layer"])),
        (f"with mismatch, mean over {s['samples']} (die, utterance) runs",
         *(f"**{pct(layer['mean'])} %**" for layer in runs)),
        ("min / p5 / median / p95 / max",
         *(listing(pct(layer[k]) for k in spread) + " %" for layer in runs)),
        ("per die (mean over the utterances), min..max",
         *(f"{pct(layer['min'])}..{pct(layer['max'])} %" for layer in dies)),
        ("agreement with the mismatch-free tile, mean",
         *(f"{pct(layer['mean'])} %" for layer in nominal)),
    ]
    return (table(("", *(f"layer {i}" for i in range(len(runs)))), rows) + "\n\n"
            + caption(r, note=f"{num(r['seconds'])} s"))


@region("twin_4gate.table", "twin_4gate_tuning.json")
@region("twin.table", "twin.json")
def twin_table(r: Results) -> str:
    """Die against the checkpoint and against its twin (docs/codesign.md; the network trained
    for the 4-gate grid, docs/pvt.md)."""
    dies = r["dies"]
    s = r["summary"]

    def mean_layer(key: str, layer: int) -> float:
        return statistics.fmean(d[key][layer] for d in dies)

    rows = [
        ("the checkpoint's realised values", f"{pct(mean_layer('model_agreement_per_layer', 0))} %",
         f"{pct(mean_layer('model_agreement_per_layer', 1))} %",
         f"{pct(s['model_agreement_mean'])} % ({pct(s['model_agreement_min'])} %)"),
        ("**the die's twin**", f"**{pct(mean_layer('twin_agreement_per_layer', 0))} %**",
         f"**{pct(mean_layer('twin_agreement_per_layer', 1))} %**",
         f"**{pct(s['twin_agreement_mean'])} % ({pct(s['twin_agreement_min'])} %)**"),
    ]
    lo, hi = s["dies_twin_at_least_99_ci95"]
    return (table(("state bits of the die agreeing with", "layer 0", "layer 1",
                   "both, mean (worst die)"), rows)
            + f"\n\nDecisions: the die agrees with its twin on {s['decisions_with_twin']}, with "
            f"the checkpoint on {s['decisions_with_model']}; {s['dies_twin_at_least_99']} dies "
            f"agree with their twin on >= 99 % of state bits (95 % CI {pct(lo, 0)}-{pct(hi, 0)} "
            f"%). Die accuracy {pct(s['die_accuracy_mean'])} % mean (model "
            f"{pct(s['model_accuracy'], 0)} %), {s['dies_accuracy_within_1_point']} dies within "
            f"a point of the model; after each die's keyword-score offset, chosen with its twin "
            f"on tuning utterances: {pct(s['die_accuracy_trimmed_mean'])} %, "
            f"{s['dies_accuracy_trimmed_within_1_point']}.\n\n"
            + caption(r, note=f"{num(r['seconds'])} s"))


def network(name: str) -> str:
    """A row of model.json's per-network figures: 'bundled' -> 'bundled d = 4', '16' -> 'd = 16'."""
    return "bundled d = 4" if name == "bundled" else f"d = {name}"


def sweep_mean(model: Results, d: int, key: str = "balanced_accuracy") -> float:
    """The mean of one figure over the seeds the bench trained ``d`` with."""
    return statistics.fmean(model["sweep"]["rows"][str(d)][key])


@region("model.table", "model.json")
def model_table(r: Results) -> str:
    """Accuracy, balanced accuracy and mismatch robustness per d, the first seed's network
    beside the bundled one (docs/codesign.md)."""
    rows = []
    for d, a in r["accuracy"].items():
        mm = r["mismatch"][d]
        lo, hi = a["accuracy_ci95"]
        draws = {v["draws"] for v in mm.values()}
        rows.append((
            network(d),
            f"{pct(a['accuracy'])} % ({interval((lo, hi))})",
            f"**{pct(a['balanced_accuracy'])} %**",
            f"{pct(a['false_reject_at_5pct_fa'])} % ({interval(a['false_reject_ci95'])})",
            f"{pct(a['baseline_accuracy'])} %",
            " / ".join(pct(v["balanced_mean"]) for v in mm.values()) + " %"
            + f" ({', '.join(str(n) for n in sorted(draws))} draws)",
            f"{num(a['training_s'])} s, best epoch {a['best_epoch']} of {a['epochs_run']}",
        ))
    sigmas = " / ".join(k.replace("%", "") for k in next(iter(r["mismatch"].values())))
    t = r["training"]
    return (table(("network", "accuracy (95 % CI)", "balanced",
                   "false rejects at 5 % false accepts (95 % CI)", "always \"other\"",
                   f"balanced under {sigmas} % mismatch", "training"), rows)
            + f"\n\n{r['test_utterances']} test utterances; every d trained alike: "
            f"{pct(t['mismatch'], 0)} % element mismatch, {t['candidate_noise']:g}-unit "
            f"candidate noise, {t['epochs']} epochs, patience {t['patience']}; each d's row is "
            "its first seed's network.\n\n" + caption(r))


@region("model.sweep", "model.json")
def model_sweep(r: Results) -> str:
    """Test figures against d over every seed, beside the published curve (docs/codesign.md)."""
    def spread(values: Sequence[float]) -> str:
        if len(values) == 1:
            return pct(values[0])
        return (f"{pct(statistics.fmean(values))} ± {pct(statistics.stdev(values))} "
                f"({pct(min(values))}-{pct(max(values))})")

    published = r["sweep"]["published_accuracy"]
    rows = [(d, ", ".join(str(s) for s in row["seeds"]),
             f"**{spread(row['balanced_accuracy'])} %**", f"{spread(row['accuracy'])} %",
             f"{pct(statistics.fmean(row['false_reject_at_5pct_fa']))} %",
             f"{pct(published[d])} %" if d in published else "-")
            for d, row in sorted(r["sweep"]["rows"].items(), key=lambda kv: int(kv[0]))]
    base = r["accuracy"]["bundled"]["baseline_accuracy"]
    return (table(("d", "seeds", "balanced: mean ± sd (range)", "accuracy: mean ± sd (range)",
                   "false rejects at 5 % false accepts, mean", "published accuracy"), rows)
            + f"\n\n{r['test_utterances']} test utterances of voices never heard in training; "
            f"always \"other\" {pct(base)} %. The published column is the published work's "
            "accuracy (5 seeds, real speech), not a figure of this bench."
            + reused_text(r) + "\n\n" + caption(r))


def reused_text(r: Results) -> str:
    """What ``--reuse`` took from an earlier run of the bench instead of training it."""
    reused = r["sweep"]["reused"]
    if not reused:
        return ""
    runs = sum(len(row["seeds"]) for row in r["sweep"]["rows"].values())
    return (f" {len(reused)} of the {runs} networks were trained by an earlier run of the same "
            "settings and evaluated here (`--reuse`; the file lists each with its hash).")


def candidate_label(name: str) -> str:
    """A readable label for a screened checkpoint's file name."""
    stem = name.removesuffix(".safetensors")
    if stem == "old_bundled":
        return "first checkpoint"
    if stem == "d4_m0.0":
        return "no mismatch, 800 per word"
    m = re.fullmatch(r"d4_m0\.05_s(\d+)", stem)
    if m:
        return f"5 % mismatch, seed {m[1]}"
    m = re.fullmatch(r"sc_(?P<terms>.*)_s(?P<seed>\d+)", stem)
    if m:
        terms = m["terms"].split("_")
        words = ["noise 0.1" if t == "n0.1" else "current" if t.startswith("c") else t
                 for t in terms]
        return " + ".join(words) + f", seed {m['seed']}"
    return f"`{name}`"


def candidate_rows(r: Results, unit: str = "") -> list[tuple[str, ...]]:
    """One row per screened checkpoint."""
    rows = []
    for row in r["rows"]:
        cells = [candidate_label(row["checkpoint"]),
                 f"{pct(row['validation_balanced'])} % "
                 f"({pct(row['validation_balanced_mismatch_5pct'])} %)"]
        if unit:
            cells.append(unit)
        cells += [f"{row['model_power_nw']} nW", f"{row['tile_power_nw']} nW",
                  f"{layers(row['state_agreement_per_layer'])} %", row["decisions_agreeing"]]
        rows.append(tuple(cells))
    return rows


@region("candidates_4gate_cascodes_frame.table", "candidates_4gate_cascodes_frame.json")
@region("candidates_4gate_cascodes.table", "candidates_4gate_cascodes.json")
@region("candidates_4gate_levels.table", "candidates_4gate_levels.json")
@region("candidates_4gate.table", "candidates_4gate.json")
@region("candidates.table", "candidates.json")
def candidates_table(r: Results) -> str:
    """A screen of candidate checkpoints: the first retraining's (docs/codesign.md), the
    4-gate grid's, with its currents continuous, on the grid, and with the drain-matching
    cascodes (docs/pvt.md)."""
    gates = r.data.get("diode_gates", 1)
    grid = f", tiles on the grid of {gates}-gate diodes" if gates > 1 else ""
    return (table(("checkpoint", "validation balanced (5 % mismatch)", "model power estimate",
                   "tile power", "tile vs model, state bits layer 0 / 1", "decisions"),
                  candidate_rows(r))
            + f"\n\n{r['tuning_utterances']} tuning utterances per tile{grid}.\n\n"
            + caption(r))


@region("candidates_codesign.table", "candidates_codesign.json", "candidates_0.2nA.json")
def candidates_codesign_table(at_03: Results, at_02: Results) -> str:
    """The co-design screen at two unit currents (docs/codesign.md)."""
    rows = candidate_rows(at_03, "0.3 nA") + candidate_rows(at_02, "0.2 nA")
    return (table(("checkpoint", "validation balanced (5 % mismatch)", "unit current",
                   "model power estimate", "tile power", "tile vs model, state bits layer 0 / 1",
                   "decisions"), rows)
            + f"\n\n{at_03['tuning_utterances']} tuning utterances per tile.\n\n"
            + caption(at_03, at_02))


@region("training.table", "training.json")
def training_table(r: Results) -> str:
    """Training recipes over seeds (docs/codesign.md)."""
    rows = []
    for name, recipe in r["recipes"].items():
        ms = recipe["mean_sd"]
        best = max(run["validation_balanced"] for run in recipe["runs"])
        rows.append((name, f"{pct(ms['validation_balanced'][0])} % "
                     f"({pct(ms['validation_balanced'][1])})", f"{pct(best)} %",
                     f"{pct(ms['validation_balanced_mismatch_5pct'][0])} %",
                     f"{num(ms['model_power_nw'][0])} nW"))
    return (table(("recipe", f"validation balanced, mean (sd) over {r['seeds']} seeds",
                   "best seed", "same under 5 % mismatch", "model power estimate"), rows)
            + f"\n\nModel power estimate at {r['i_unit_na']:g} nA per unit, mean over seeds; "
            f"{num(r['seconds'])} s, {_trained(r)}.\n\n" + caption(r))


def _trained(r: Results) -> str:
    """How many of a training bench's checkpoints its run trained (the others were kept)."""
    runs = sum(len(recipe["runs"]) for recipe in r["recipes"].values())
    return (f"{r['trained_here']} of the {runs} checkpoints trained in the run (the others "
            "kept from before)")


@region("tasks.table", "tasks.json")
def tasks_table(r: Results) -> str:
    """Sequence tasks: FQ-BMRU against the signed BMRU and a GRU (docs/tasks.md)."""
    archs = list(next(iter(r["tasks"].values()))["architectures"])
    rows = []
    for name, t in r["tasks"].items():
        cells = []
        for a in archs:
            mean, sd = t["architectures"][a]["test_accuracy_mean_sd"]
            cells.append(f"{pct(mean)} %" + (f" ± {pct(sd)}" if sd is not None else "")
                         + f" ({t['architectures'][a]['parameters']})")
        rows.append((name, f"{pct(t['majority_baseline'])} %", *cells))
    b = r["budget"]
    return (table(("task", "always the commonest class",
                   *(f"{a}: test accuracy, mean ± sd (parameters)" for a in archs)), rows)
            + "\n\n" + caption(r, note=f"{len(r['seeds'])} seeds, {b['epochs']} epochs, "
                               f"d = {b['d']}, {b['layers']} layers, data seed "
                               f"{r['data_seed']}, {num(r['seconds'])} s"))


# ---------------------------------------------------------------------------------- compare, PVT


def compare_table_text(r: Results, c: dict[str, Any], digits: int, note: str = "",
                       model: str = "ideal", tile: str = "") -> str:
    """A compare's headline table (``c``: its figures, in ``r`` or nested in it): agreement
    with ``model`` (``ideal``: the checkpoint's own values; ``realised``: the values the tile
    draws), with parasitics and device-only."""
    full, dev = c[model], c["device_only"][model]
    n = c["utterances"]
    rows = []
    for layer in range(len(full["state_agreement_per_layer"])):
        rows.append((
            f"state bits, layer {layer} (95 % CI)",
            f"**{pct(full['state_agreement_per_layer'][layer], digits)} %** "
            f"({interval(full['ci95']['state_agreement_per_layer'][layer], digits)})",
            f"{pct(dev['state_agreement_per_layer'][layer], digits)} % "
            f"({interval(dev['ci95']['state_agreement_per_layer'][layer], digits)})"))
    rows.append(("decisions agreeing (95 % CI)",
                 f"**{full['decisions_agreeing']} / {n}** "
                 f"({interval(full['ci95']['decision_agreement'])} %)",
                 f"{dev['decisions_agreeing']} / {n} "
                 f"({interval(dev['ci95']['decision_agreement'])} %)"))
    rows.append(("accuracy: model / tile / always \"other\"",
                 f"{pct(full['model_accuracy'])} % / {pct(c['hardware_accuracy'])} % / "
                 f"{pct(c['baseline_accuracy'])} %",
                 f"{pct(dev['model_accuracy'])} % / "
                 f"{pct(c['device_only']['hardware_accuracy'])} %"))
    power = c["power_nw"]
    parts = ", ".join(f"{k.replace('_', ' ')} {num(v)}" for k, v in power["by_part"].items())
    rows.append(("supply power", f"{num(power['mean'])} nW mean ({num(power['min'])}-"
                 f"{num(power['max'])}): {parts}",
                 f"{num(c['device_only']['power_nw']['mean'])} nW"))
    rows.append(("ngspice time", f"{c['sim_s_per_utterance']:.2f} s per utterance", ""))
    where = ", ".join(w for w in (f"{n} utterances", c.get("condition", "")) if w)
    return (table(("figure", "with parasitics", "device-only"), rows)
            + f"\n\n{where}; tile `{tile or c['tile']}`; with parasitics: "
            f"{c['netlist']}.\n\n" + caption(r, note=note))


@region("compare.table", "run.json", optional=("run.json",))
def compare_table(r: Results | None) -> str:
    """`make run`'s compare against the model on the realised values (docs/compare.md)."""
    if r is None:
        return run_summary(None)
    return compare_table_text(r, r["compare"], 1, model="realised", tile=r["tile"]["cell"])


@region("compare.worst", "run.json")
def compare_worst(r: Results) -> str:
    """`make run`'s worst utterances by state agreement, with the decisions (docs/compare.md)."""
    rows = [(f"`{w['name']}`", " / ".join(f"{pct(v)} %" for v in w["state_agreement"]),
             f"{w['decision_hw']} / {w['decision_model']}") for w in r["compare"]["worst"]]
    return (table(("utterance", "state bits, layer 0 / 1", "decision: tile / model (1: yes)"),
                  rows) + "\n\n" + caption(r))


@region("compare_sealed_cascodes_held.table", "compare_sealed_cascodes_held.json")
@region("compare_sealed_cascodes.table", "compare_sealed_cascodes.json")
@region("compare_sealed.table", "compare_sealed.json")
def compare_sealed_table(r: Results) -> str:
    """The long compare on the sealed sample, held to the values the tile realises
    (docs/compare.md)."""
    return compare_table_text(r, r.data, 2, model="realised")


def agreement_cells(a: dict[str, Any]) -> list[str]:
    """A PVT row's agreement with one model: bits per layer and decisions, with intervals."""
    bits = [f"{pct(v)} % ({interval(ci)})" for v, ci in
            zip(a["state_agreement_per_layer"], a["state_ci95_per_layer"], strict=True)]
    lo, hi = a["decision_ci95"]
    return [*bits, f"{a['decisions_agreeing']} ({pct(lo, 0)}-{pct(hi, 0)} %)"]


@region("pvt_keepers.table", "pvt_pex_keepers_tuning.json")
@region("pvt_cascodes_per_gate.table", "pvt_pex_cascodes3_tuning.json")
@region("pvt_cascodes_frame.table", "pvt_pex_cascodes_frame.json")
@region("pvt_cascodes.table", "pvt_pex_cascodes.json")
@region("pvt_4gate_levels.table", "pvt_pex_4gate_levels_tuning.json")
@region("pvt_4gate.table", "pvt_pex_4gate_tuning.json")
@region("pvt_bundled.table", "pvt_pex_bundled.json")
@region("pvt_cascoded_sealed.table", "pvt_pex_cascoded_sealed.json")
@region("pvt_4gate_sealed.table", "pvt_pex_4gate_sealed.json")
@region("pvt_pex.table", "pvt_pex.json")
def pvt_pex_table(r: Results) -> str:
    """PVT with parasitics, against the nominal model and the condition's twin (docs/pvt.md)."""
    rows, untwinned = [], []
    for c in r["conditions"]:
        model = c["nominal"]["model_accuracy"]
        if c["twin"] is None:
            untwinned.append(f"{c['condition']}: {c['twin_error']}")
        rows.append((c["condition"], *agreement_cells(c["nominal"]),
                     *(agreement_cells(c["twin"]) if c["twin"] else ["-"] * 3),
                     f"{pct(c['hardware_accuracy'], 0)} / {pct(model, 0)} / "
                     f"{pct(c['baseline_accuracy'], 0)} %", num(c["power_nw"]["mean"])))
    failed = sum(c["failed"] for c in r["conditions"])
    n = r["utterances"]
    missing = ("\n\nNo twin where the condition's tables could not be made: "
               + "; ".join(untwinned) + ".") if untwinned else ""
    return (table(("condition", "nominal: layer 0 bits (95 % CI)", "layer 1 bits",
                   f"decisions of {n}", "twin: layer 0 bits", "layer 1 bits",
                   f"decisions of {n}", "tile / nominal model / baseline accuracy",
                   "power, nW"), rows) + missing
            + "\n\n" + caption(r, note=f"tile `{r['tile']}` ({r['transistors']} transistors"
                               + grid_said(r) + "), "
                               f"{'with' if r['pex'] else 'without'} parasitic capacitances, "
                               f"{n} utterances per condition, {failed} failed simulations, "
                               f"{num(r['seconds'])} s"))


def grid_said(r: Results) -> str:
    """What a PVT file's tile and models were drawn and read with: ``, every ratio k of D
    gates`` on a grid of D-gate diodes, the cascodes, the keepers, and models of frame-read
    thresholds."""
    gates = r.data.get("diode_gates", 1)
    return (f", every ratio k of {gates} gates" if gates > 1 else "") + (
        ", with the drain-matching cascodes" if r.data.get("cascodes") else "") + (
        " and the cells' keepers" if r.data.get("keepers") else "") + (
        f"; models of the cell thresholds read within a {r['model_frame_ms']:g} ms frame"
        if r.data.get("model_frame_ms") else "")


def worse_layer(c: dict[str, Any], model: str) -> float:
    """A PVT condition's lower state agreement of the two layers against ``model``."""
    return min(c[model]["state_agreement_per_layer"])


# issue 25's targets at every PVT condition: (model, figure, least value)
PVT_TARGETS = (("nominal", "state bits, each layer", 0.97), ("nominal", "decisions", 0.95),
               ("twin", "state bits, each layer", 0.99))


def target_rows(conditions: list[dict[str, Any]], n: int) -> list[tuple[str, ...]]:
    """How many PVT conditions meet each of issue 25's targets, and the worst."""
    rows = []
    for model, figure, least in PVT_TARGETS:
        def value(c: dict[str, Any], model: str = model, figure: str = figure) -> float:
            if figure == "decisions":
                return c[model]["decisions_agreeing"] / n
            return worse_layer(c, model)

        conds = [c for c in conditions if c[model]]
        worst = min(conds, key=value)
        met = sum(value(c) >= least for c in conds)
        without = len(conditions) - len(conds)
        rows.append((f"{'nominal model' if model == 'nominal' else 'condition twin'}: {figure}",
                     f">= {pct(least, 0)} %", f"{met} of {len(conds)}"
                     + (f" ({without} without tables)" if without else ""),
                     f"{pct(value(worst))} % ({worst['condition']})"))
    return rows


TARGET_HEADER = ("figure", "target", "conditions meeting it", "worst")


@region("pvt_keepers.targets", "pvt_pex_keepers_tuning.json")
@region("pvt_cascodes_per_gate.targets", "pvt_pex_cascodes3_tuning.json")
@region("pvt_cascodes_frame.targets", "pvt_pex_cascodes_frame.json")
@region("pvt_cascodes.targets", "pvt_pex_cascodes.json")
@region("pvt_4gate_levels.targets", "pvt_pex_4gate_levels_tuning.json")
@region("pvt_4gate.targets", "pvt_pex_4gate_tuning.json")
@region("pvt_bundled.targets", "pvt_pex_bundled.json")
@region("pvt_cascoded_sealed.targets", "pvt_pex_cascoded_sealed.json")
@region("pvt_4gate_sealed.targets", "pvt_pex_4gate_sealed.json")
@region("pvt.targets", "pvt_pex.json")
def pvt_targets(r: Results) -> str:
    """How many PVT conditions meet each target, and the worst (docs/pvt.md)."""
    return (table(TARGET_HEADER, target_rows(r["conditions"], r["utterances"]))
            + "\n\n" + caption(r))


POWER_TARGET_NW = 83.0  # issue 25's supply power target


@region("pvt_keepers.rule", "pvt_pex_cascoded_sealed.json", "pvt_pex_cascodes3_tuning.json",
        "pvt_pex_keepers_tuning.json")
def pvt_keepers_rule(sealed: Results, bundled: Results, keepers: Results) -> str:
    """The bundle rule set before the keeper network's screen, part by part, from the two
    tuning screens, at the conditions where the cascoded network's sealed run missed the
    nominal model's target (docs/pvt.md)."""
    least = PVT_TARGETS[0][2]
    missed = [c["condition"] for c in sealed["conditions"] if worse_layer(c, "nominal") < least]
    before = {c["condition"]: c for c in bundled["conditions"]}
    after = {c["condition"]: c for c in keepers["conditions"]}
    rows = [("nominal model, each layer, every condition", f">= {pct(least, 0)} %",
             f"{pct(min(worse_layer(c, 'nominal') for c in after.values()))} % worst",
             "yes" if all(worse_layer(c, "nominal") >= least for c in after.values())
             else "no")]
    for name in missed:
        old, new = (c[name]["nominal"]["state_agreement_per_layer"][1]
                    for c in (before, after))
        rows.append((f"layer 1, {name}", f">= the bundled network's {pct(old)} %",
                     f"{pct(new)} %", "yes" if new >= old else "no"))
    power = max(c["power_nw"]["mean"] for c in after.values())
    rows.append(("supply power, every condition", f"<= {num(POWER_TARGET_NW)} nW",
                 f"{num(power)} nW most", "yes" if power <= POWER_TARGET_NW else "no"))
    return (table(("part of the rule", "needs", "keeper network", "met"), rows)
            + "\n\n" + caption(sealed, bundled, keepers))


@region("pvt_hotrail.targets", "pvt_pex_hotrail_125C.json", "pvt_pex.json")
def pvt_hotrail_targets(r: Results, ground: Results) -> str:
    """The targets over the 17 conditions with the rail following temperature: the rail's
    run at 125 °C, the run on ground below, where the rail is on ground (docs/pvt.md)."""
    if r["utterances"] != ground["utterances"] or r["sample"] != ground["sample"]:
        raise RenderError("the rail's run and the run on ground differ in their utterances")
    conds = [c for c in ground["conditions"] if c["temp_c"] < r["temp_c"]] + r["conditions"]
    return (table(TARGET_HEADER, target_rows(conds, r["utterances"]))
            + "\n\n" + caption(r, ground, note=f"{len(conds)} conditions: at 125 °C the "
                                 "rail's run, below it the run on ground"))


def condition_key(c: dict[str, Any]) -> tuple[str, float, float]:
    """A PVT row's corner, temperature and supply (its name also says its rail)."""
    return c["corner"], c["temp_c"], c["vdd_v"]


@region("pvt_hotrail.table", "pvt_pex_hotrail_125C.json", "pvt_pex.json")
def pvt_hotrail_table(r: Results, ground: Results) -> str:
    """PVT with the NMOS source rail following temperature beside the same run on ground
    (docs/pvt.md)."""
    return rail_table(r, ground, "on ground")


@region("pvt_4gate_levels_generator.table", "pvt_pex_4gate_levels_generator_tuning.json",
        "pvt_pex_4gate_levels_tuning.json")
@region("pvt_4gate_generator.table", "pvt_pex_4gate_generator_125C_tuning.json",
        "pvt_pex_4gate_tuning.json")
@region("pvt_generator.table", "pvt_pex_generator_drawn.json", "pvt_pex.json")
def pvt_generator_table(r: Results, ground: Results) -> str:
    """PVT with the drawn rail held by the rail generator beside the run on ground
    (docs/pvt.md)."""
    if not r.field("rail_generator"):
        raise RenderError("pvt_generator.table wants a run on the rail generator")
    return rail_table(r, ground, "on ground")


@region("pvt_4gate_levels_generator.targets", "pvt_pex_4gate_levels_generator_tuning.json")
@region("pvt_generator.targets", "pvt_pex_generator_drawn.json")
def pvt_generator_targets(r: Results) -> str:
    """The targets over the 17 conditions on the rail generator (docs/pvt.md)."""
    return (table(TARGET_HEADER, target_rows(r["conditions"], r["utterances"]))
            + "\n\n" + caption(r))


@region("pvt_drawnrail.table", "pvt_pex_hotrail_drawn_125C.json", "pvt_pex_hotrail_125C.json")
def pvt_drawnrail_table(r: Results, rewired: Results) -> str:
    """The tile drawn with the rail beside the default tile's netlist re-wired onto it, on
    the same schedule (docs/pvt.md)."""
    if not r.field("drawn_rail") or rewired.field("drawn_rail"):
        raise RenderError("pvt_drawnrail.table wants a drawn rail's run and a re-wired one")
    return rail_table(r, rewired, "re-wired")


def rail_table(r: Results, beside: Results, label: str) -> str:
    """A rail's PVT run per condition, with ``beside``'s nominal agreement at the same
    condition in a column headed ``label``."""
    before = {condition_key(c): c for c in beside["conditions"] if "nominal" in c}
    rows = []
    for c in r["conditions"]:
        g = before.get(condition_key(c))
        was = ("-" if g is None else
               " / ".join(f"{pct(a)} %" for a in g["nominal"]["state_agreement_per_layer"]))
        twin = (" / ".join(f"{pct(a)} %" for a in c["twin"]["state_agreement_per_layer"])
                if c["twin"] else "-")
        # the rail as the run measured it (its mean) where the file records it
        measured = c.get("rail_v_measured")
        rail = f"{c['rail_v']:g}" + (f" / {measured['mean']:.3f}" if measured else "")
        rows.append((f"{c['corner']} {c['temp_c']:g}C {c['vdd_v']:g}V", rail,
                     *agreement_cells(c["nominal"]), was, twin, num(c["power_nw"]["mean"])))
    n = r["utterances"]
    held = (f"rail held by the rail generator, {generator_held(r)} (rail column: "
            "its DC rail alone under the tile's load, `rail_bench.TILE_LOAD_NA`, to 10 mV, "
            "where the twin's tables are made / the rail's mean over the runs, measured)"
            if r.field("rail_generator") else
            f"rail rising from 0 V at 27 °C to {r['hot_rail_v']:g} V at 125 °C")
    return (table(("condition", "rail, V", "nominal: layer 0 bits (95 % CI)", "layer 1 bits",
                   f"decisions of {n}", f"{label}: layer 0 / 1 bits", "twin: layer 0 / 1 bits",
                   "power, nW"), rows)
            + "\n\n" + caption(r, beside, note=(
                f"{held}{', drawn (pin vsn)' if r.field('drawn_rail') else ''}; tile "
                f"`{r['tile']}` ({r['transistors']} transistors), "
                f"{'with' if r['pex'] else 'without'} parasitic capacitances, {n} utterances "
                f"per condition, {sum(c['failed'] for c in r['conditions'])} failed "
                f"simulations, {num(r['seconds'])} s")))


def rail_screen(r: Results, label: Callable[[dict], str],
                rail: Callable[[dict], str]) -> list[tuple[str, ...]]:
    """The rows of a rail screen at 125 °C: ``label(row)``, each corner's agreement per layer
    after ``rail(corner)``, the worst layer and the power range."""
    return [(label(row), *(rail(c) + " / ".join(pct(a) for a in c["state_agreement_per_layer"])
                           for c in row["corners"].values()),
             f"{pct(row['worst_layer'])} %",
             "-".join(num(f(v["power_nw"] for v in row["corners"].values())) for f in (min, max)))
            for row in r["rails"]]


@region("hot_rail.table", "hot_rail.json")
def hot_rail_table(r: Results) -> str:
    """The rail screen at 125 °C on the tuning sample (docs/corners.md)."""
    corners = list(r["rails"][0]["corners"])
    rows = rail_screen(r, lambda row: f"{row['rail_v']:g}" + (
        " (chosen)" if row["rail_v"] == r["chosen_rail_v"] else ""), lambda _c: "")
    return (table(("rail, V", *(f"{k} 125 °C: layer 0 / 1 bits, %" for k in corners),
                   "worst layer", "power, nW"), rows)
            + "\n\n" + caption(r, note=f"{r['utterances']} utterances per point, device-only "
                                        f"netlist, tile `{r['tile']}`, {num(r['seconds'])} s"))


@region("rail_generator.table", "rail_generator.json", "leakage.json")
def rail_generator_table(r: Results, leak: Results) -> str:
    """The rail generator on its own at the 17 conditions (docs/corners.md)."""
    loads = r["loads_na"]
    smallest = min(leak["thresholds_units"]) * leak["i_unit_na"] * 1e3  # pA
    n_off = max(leak["n_off"])
    rows = []
    for c in r["conditions"]:
        pts = c["points"]
        worst = max(p["off_unit_leak_pa"] for p in pts)
        rows.append((c["condition"], " / ".join(f"{p['rail_v']:.3f}" for p in pts),
                     " / ".join(f"{p['x_v']:.2f}" for p in pts),
                     " / ".join(f"{max(p['off_unit_leak_pa'], 0.0):.2f}" for p in pts),
                     f"{pct(n_off * worst / smallest)} %",
                     f"{max(p['supply_na'] for p in pts) * 1e3:.0f}"))
    steps = "; ".join(
        f"{s['corner']} 125 °C: rail {s['up']['rail_before_v']:.3f} -> "
        f"{s['up']['rail_after_v']:.3f} V, {num(s['up']['excursion_v'] * 1e3)} mV at most "
        f"from where it settles, within 5 mV after {s['up']['settle_ms']:g} ms (back down: "
        f"{num(s['down']['excursion_v'] * 1e3)} mV, {s['down']['settle_ms']:g} ms)"
        for s in r["steps"])
    loads_s = " / ".join(f"{x:g}" for x in loads)
    return (table(("condition", f"rail at {loads_s} nA, V", "servo node x, V",
                   "OFF unit leakage, pA (net of GMIN)",
                   f"{n_off} OFF units against the smallest threshold ({smallest:.0f} pA), worst",
                   "generator's own supply, pA"), rows)
            + f"\n\nLoad stepped {loads[1]:g} -> {loads[2]:g} nA and back: {steps}. "
            f"Devices: " + ", ".join(f"{k} {v}" for k, v in r["devices"].items())
            + f"; {num(r['gate_area_um2'])} µm² of gate; set current "
            f"{r['set_current_pa']:g} pA.\n\n"
            + caption(r, leak, note=f"{num(r['seconds'])} s"))


def generator_held(r: Results) -> str:
    """How a run on the rail generator simulated it: drawn in the tile, or (files made
    before it was) its schematic beside the tile."""
    return ("drawn in the tile, its set current on pin iset" if r.field("generator_drawn")
            else "its schematic beside the tile")


@region("hot_rail.generator", "hot_rail_generator.json")
def hot_rail_generator(r: Results) -> str:
    """The tile on the generator's rail, and on an ideal source at its DC rail
    (docs/corners.md)."""
    corners = list(r["rails"][0]["corners"])

    def rail(c: dict) -> str:  # the DC rail, then the run's mean where the file records it
        measured = c.get("rail_v_measured")
        return f"{c['rail_v']:.3f}" + (f" / {measured['mean']:.3f}" if measured else "") + ": "

    rows = rail_screen(r, lambda row: row["rail"], rail)
    measured = " (DC / measured)" if r["rails"][0]["corners"][corners[0]].get(
        "rail_v_measured") else ""
    return (table(("rail held by", *(f"{k} 125 °C: rail V{measured}: layer 0 / 1 bits, %"
                                     for k in corners),
                   "worst layer", "power, nW"), rows)
            + "\n\n" + caption(r, note=(
                f"{r['utterances']} utterances per point, device-only netlist, tile "
                f"`{r['tile']}` drawn with the rail, the generator {generator_held(r)}; its DC "
                "rail taken at "
                f"{r['generator_load_na']:g} nA, {num(r['seconds'])} s")))


# ---------------------------------------------------------------------------------- power, speed


@region("power.bundled", "power.json")
def power_bundled(r: Results) -> str:
    """Power by part of the bundled tile against the estimate and the paper (docs/power.md)."""
    b = r["bundled"]
    p, est, pub = b["power_nw"], b["model_estimate_nw"], b["published_nw"]
    rows = [
        ("cells (recurrent core)", f"**{num(p['cells'])} nW**", f"{num(est['cells'])} nW",
         f"~{pub['cells']} nW"),
        ("fc mirrors", f"{num(p['fc_mirrors'])} nW (layer 0: {num(p['fc_w0'])}, layer 1: "
         f"{num(p['fc_w1'])}, readout: {num(p['fc_wo'])})", f"{num(est['fc_mirrors'])} nW",
         f"~{pub['fc_mirrors']} nW"),
        ("biases", f"{num(p['biases'])} nW", f"{num(est['biases'])} nW", "—"),
        ("total", f"**{num(p['total'])} nW**", f"{num(est['total'])} nW", f"~{pub['total']} nW"),
    ]
    return (table(("part", "simulated (ngspice, extracted)", "model-level estimate",
                   "published"), rows)
            + "\n\n" + caption(r, note=f"{b['utterances']} utterances of {b['frames']} frames, "
                               f"{b['transistors']} extracted transistors"))


@region("power.sweep", "power.json")
def power_sweep(r: Results) -> str:
    """Power by part against d, fixed weights (docs/power.md)."""
    rows = []
    for s in r["sweeps"]["fixed"]:
        p = s["power_nw"]
        rows.append((str(s["d"]), str(s["transistors"]),
                     *(num(p[k]) for k in ("cells", "fc_w0", "fc_w1", "fc_wo", "fc_mirrors",
                                           "biases", "total")),
                     num(s["model_estimate_nw"]["total"]), f"{s['sim_s']:.1f}"))
    return (table(("d", "transistors", "cells", "fc_w0", "fc_w1", "fc_wo", "fc mirrors",
                   "biases", "total", "model estimate", "ngspice s"), rows)
            + "\n\n" + caption(r, note=f"{r['frames']} frames of random input per tile"))


@region("power.exponents", "power.json")
def power_exponents(r: Results) -> str:
    """Fitted exponents of power against d (docs/power.md)."""
    e = r["exponents"]
    names = (("cells", "cells (recurrent)"), ("fc_w1", "fc_w1 (d x d mirrors)"),
             ("fc_mirrors", "fc mirrors, all arrays"), ("biases", "biases"), ("total", "total"))
    rows = [(label, f"{e['fixed']['all'][k]:.2f}", f"{e['fixed']['d_ge_8'][k]:.2f}",
             f"{e['init']['all'][k]:.2f}", f"{e['init']['d_ge_8'][k]:.2f}")
            for k, label in names]
    return (table(("part", "fixed, all d", "fixed, d >= 8", "init, all d", "init, d >= 8"), rows)
            + "\n\n" + caption(r))


def span(values: Iterable[float], digits: int) -> str:
    """'lo-hi' of some numbers, or the one number when they round alike."""
    vals = sorted(values)
    lo, hi = num(vals[0], digits), num(vals[-1], digits)
    return lo if lo == hi else f"{lo}-{hi}"


def sci(x: float) -> str:
    """2.1e5 -> '2.1 x 10^5'."""
    mantissa, _, exponent = f"{x:.1e}".partition("e")
    return f"{mantissa} x 10^{int(exponent)}"


@region("speed.table", "speed.json")
def speed_table(r: Results) -> str:
    """Torch model against ngspice, per utterance (docs/power.md)."""
    s = r["software_vs_ngspice"]
    size = r["ngspice_vs_size"]
    rows = [
        ("torch model, one utterance per call", f"{s['model_s_per_utterance'] * 1e3:.2f} ms",
         f"**{sci(s['ratio_mean'])}** (min {sci(s['ratio_min'])})"),
        (f"torch model, batch of {s['batch']}",
         f"{s['model_batched_s_per_utterance'] * 1e6:.0f} µs", f"**{sci(s['ratio_batched'])}**"),
        ("ngspice, extracted tile (transient run only)",
         f"{s['ngspice_s_per_utterance']:.1f} s", ""),
    ]
    by_d: dict[str, list[dict[str, Any]]] = {}
    for point in size["points"]:
        by_d.setdefault(point["source"].rpartition("d=")[2], []).append(point)
    spans = ", ".join(
        f"{span((p['s_per_frame'] for p in pts), 2)} s at "
        f"{span((p['transistors'] for p in pts), 0)} transistors" for pts in by_d.values())
    return (table(("", "time per utterance", "ngspice / model"), rows)
            + f"\n\nngspice time per frame grows as transistors^{size['exponent']:g} over the "
            f"power sweep's tiles ({len(size['points'])} runs: {spans}); the bundled tile's "
            f"{s['frames']}-frame runs take {size['bundled']['s_per_frame']:.3f} s per frame."
            + "\n\n" + caption(r, note=f"{s['utterances']} utterances, {s['transistors']} "
                               "extracted transistors"))


# ---------------------------------------------------------------------------------- PEX, tiles


@region("pex.wires", "pex.json")
def pex_wires(r: Results) -> str:
    """Coupling against spacing and isolated wires against the formula (docs/pex.md)."""
    coupling = r["structures"]["coupling_aF_per_um_by_space_um"]
    wires = r["structures"]["isolated_wire_100um"]
    widths = " / ".join(f"{w['width_um']:g}" for w in wires)
    return (table(("spacing (µm)", *coupling), [("coupling (aF/µm)",
                                                 *(f"{v:.1f}" for v in coupling.values()))])
            + f"\n\nAn isolated 100 µm metal1 wire, {widths} µm wide: "
            + " / ".join(f"{w['kpex_fF']:.1f}" for w in wires) + " fF, "
            + " / ".join(pct(-w["kpex_vs_formula"]) for w in wires)
            + " % below the Sakurai-Tamaru formula.\n\n" + caption(r))


def tile_label(name: str) -> str:
    """'d4_bundled' -> 'd4 (bundled)'."""
    size, _, kind = name.partition("_")
    return f"{size} ({kind})" if kind else size


@region("signoff.times", "signoff.json")
def signoff_times(r: Results) -> str:
    """Cold, warm and unchanged sign-off runs on the bundled tile (docs/signoff.md)."""
    def median(values: Sequence[float]) -> str:
        return num(statistics.median(values), 1)

    return (table(("run", "time (s), median of the runs", "what the deck checks"), [
        ("cold: a new output folder", median(r["cold_s"]), f"all {r['cells']} cells"),
        ("warm: one cell changed", median(r["warm_s"]),
         f"{r['checked_cells_warm']} cells: the changed one and those that place it"),
        ("unchanged", median(r["unchanged_s"]), "nothing (the cached verdict)")])
        + f"\n\nWarm over cold: {r['warm_over_cold']:.2f} (target <= "
        f"{r['target_warm_over_cold']:g}); the warm run's markers equal a full run's: "
        f"{'yes' if r['warm_markers_equal_full_run'] else 'no'}.\n\n" + caption(r))


@region("pex.tiles", "pex.json")
def pex_tiles(r: Results) -> str:
    """Capacitance per tile (docs/pex.md)."""
    rows = []
    for t in r["tiles"]:
        roles = t["by_role"]
        summing, decision = roles["summing"], roles["decision"]
        how = ("whole" if t["windows"] == 1 else
               f"{t['windows']} windows, {t['workers']} at a time")
        rows.append((tile_label(t["name"]), str(t["devices"]), str(t["capacitors"]), how,
                     f"{num(t['pex_s'])} s", f"{num(t['kpex_peak_mb'])} MB",
                     f"{t['total_fF'] / 1000:.2f} pF",
                     f"{t['between_nets_fF'] / 1000:.2f} pF",
                     f"{t['to_substrate_net_fF'] / 1000:.2f} pF",
                     f"{num(summing['min_fF'])}-{num(summing['max_fF'])} fF (median "
                     f"{num(summing['median_fF'])})",
                     f"{decision['min_fF']:.1f}-{decision['max_fF']:.1f} fF"))
    return (table(("tile", "transistors", "capacitors", "extracted", "PEX time",
                   "kpex peak memory, at most", "total", "between nets",
                   "to the substrate net", "summing nets", "decision nodes"), rows)
            + "\n\n" + caption(r, note=r["engine"]))


@region("pex.windows", "pex.json")
def pex_windows(r: Results) -> str:
    """Windows against a whole extraction, and PEX time against tile size (docs/pex.md)."""
    checked = next(t for t in r["tiles"] if "windowed_vs_whole" in t)
    a = checked["windowed_vs_whole"]
    text = (f"{tile_label(checked['name'])} in {a['windows']} windows against whole: each of "
            f"its {a['nets_over_1fF']} nets above 1 fF within {pct(a['max_rel_diff'], 2)} % "
            f"(median {pct(a['median_rel_diff'], 3)} %), the total within "
            f"{pct(abs(a['total_rel_diff']), 3)} %; whole {num(a['whole_pex_s'])} s, in windows "
            f"{num(a['windowed_pex_s'])} s.")
    windowed = [t for t in r["tiles"] if t["windows"] > 1 and t.get("pex_s")]
    if len(windowed) >= 2:
        first, last = windowed[0], windowed[-1]
        slope = (math.log(last["pex_s"] / first["pex_s"])
                 / math.log(last["devices"] / first["devices"]))
        peak = max(t["kpex_peak_mb"] for t in windowed)
        own = max(t["bench_peak_mb"] for t in windowed)
        text += (f" PEX time against transistors, {tile_label(first['name'])} to "
                 f"{tile_label(last['name'])} (both in windows): exponent {slope:.2f}; the "
                 f"largest kpex run at most {num(peak)} MB, the bench's own process "
                 f"{num(own)} MB. "
                 f"{tile_label(last['name'])}'s {last['kpex_runs']} kpex runs took "
                 f"{num(last['kpex_s'])} s in all, {num(last['pex_s'])} s of wall time "
                 f"{last['workers']} at a time.")
    return sentence(text, r)


@region("pex.nets", "pex.json")
def pex_nets(r: Results) -> str:
    """The first tile's nets by role (docs/pex.md)."""
    t = r["tiles"][0]
    supply = t["per_net_fF"]["supply"]
    roles = t["by_role"]
    parts = [f"`{net}` {num(c)} fF" for net, c in sorted(supply.items(), key=lambda x: -x[1])]
    names = {"unit_output": "unit outputs", "input": "inputs", "output": "class outputs"}
    parts += [f"{label} {num(roles[role]['min_fF'])}-{num(roles[role]['max_fF'])} fF"
              for role, label in names.items()]
    return sentence(f"{tile_label(t['name'])}: " + ", ".join(parts) + ".", r)


def drc_text(t: dict) -> str:
    """A tile's DRC outcome and time, or that it did not finish in the bench's budget."""
    if t["drc_clean"] is None:
        return "not finished in the budget"
    return f"{'clean' if t['drc_clean'] else 'violations'} ({num(t['drc_s'])} s)"


def lvs_text(t: dict, engine: str = "") -> str:
    """A tile's LVS outcome and time on the project's engine (or, ``engine="official_"``, the
    official deck), or that it did not finish in the bench's budget."""
    match, seconds = t[f"{engine}lvs_match"], t[f"{engine}lvs_s"]
    if match is None:
        return "not finished in the budget"
    return f"{'match' if match else 'mismatch'} ({num(seconds, 1)} s)"


def aspect(t: dict) -> str:
    """A tile's aspect ratio, the longer side first: '1.2 : 1 (tall)'."""
    ratio = t["aspect"]
    return (f"{num(max(ratio, 1 / ratio), 2)} : 1 "
            f"({'tall' if ratio > 1 else 'wide' if ratio < 1 else 'square'})")


def exponent_text(r: Results) -> str:
    """The build-time exponent over the dense tiles, and the LVS time's between the two
    largest dense tiles the project's engine finished."""
    if r["build_exponent"] is None:
        return "One dense size: no build-time exponent."
    low, high = r["exponent_range"]
    text = (f"Build time grows as transistors^{r['build_exponent']:.2f} from d = {low} to "
            f"d = {high} (least-squares slope of the log-log fit; "
            f"{r['build_exponent_endpoints']:.2f} between the end points).")
    done = [t for t in r["tiles"] if t["name"].endswith("_dense") and t["lvs_s"]]
    if len(done) >= 2:
        a, b = done[-2:]
        slope = math.log(b["lvs_s"] / a["lvs_s"]) / math.log(b["devices"] / a["devices"])
        text += (f" LVS time (the project's engine) grows as transistors^{slope:.2f} from "
                 f"d = {a['d']} to d = {b['d']}.")
    return text


@region("tile.table", "tile.json")
def tile_table(r: Results) -> str:
    """Tiles from d = 4 to the largest dense one: size, shape, build, DRC, LVS (docs/tile.md)."""
    rows = []
    for t in r["tiles"]:
        rows.append((tile_label(t["name"]), f"{t['n_in']} x {t['d']} x {t['layers']}",
                     str(t["devices"]), f"{num(t['size_um'][0])} x {num(t['size_um'][1])}",
                     aspect(t), f"{t['area_um2'] / 1e6:.3f}", num(t["area_per_transistor_um2"]),
                     f"{t['build_s']:.3g} s", f"{t['build_s_per_device']:.4f}", drc_text(t),
                     lvs_text(t), lvs_text(t, "official_")))
    trained = [f"{tile_label(t['name'])} `{t['checkpoint']}` sha256 "
               f"{t['checkpoint_sha256'][:12]}, {t['weights_drawn']} of {t['weights']} weights "
               "drawn" for t in r["tiles"] if "checkpoint" in t]
    return (table(("tile", "n_in x d x L", "transistors", "size (µm)", "aspect", "area (mm²)",
                   "µm² / transistor", "build", "s / transistor", "DRC (official deck)",
                   "LVS", "LVS (official deck)"), rows)
            + f"\n\n{r['networks']}"
            + (f" ({'; '.join(trained)})" if trained else "") + f". {exponent_text(r)}\n\n"
            + caption(r))


@region("tile.area", "floorplan.json")
def tile_area(r: Results) -> str:
    """Where each tile's area goes (docs/tile.md)."""
    rows = []
    for t in r["tiles"]:
        s = t["share"]
        rows.append((tile_label(t["name"]), str(t["unit_rows"]), str(t["devices"]),
                     " x ".join(num(v) for v in t["size_um"]), num(t["aspect"], 2),
                     num(t["area_um2"] / 1e6, 3), num(t["area_per_transistor_um2"]),
                     f"{pct(s['arrays'])} % ({num(t['arrays_um2_per_transistor'])})",
                     f"{pct(s['units'])} % ({num(t['units_um2_per_transistor'])})",
                     f"{pct(s['between_cells'])} %",
                     f"{pct(s['west_margin'])} % ({num(t['west_margin_um'])} µm)",
                     f"{pct(s['other_margins'])} %", f"{num(t['build_peak_mb'])} MB"))
    return (table(("tile", "unit rows", "transistors", "size (µm)", "height : width",
                   "area (mm²)", "µm² / transistor", "arrays (their µm² / transistor)",
                   "units (their µm² / transistor)", "between the cells",
                   "west margin: spine, pin columns, rings (its width)", "other margins",
                   "build's peak memory"), rows)
            + f"\n\n{r['networks']}. The bias generator holds the rest of the area.\n\n"
            + caption(r))


@region("platform.table", "tile_platforms.json")
def platform_table(r: Results) -> str:
    """Fastest build per tile and environment (docs/platform.md)."""
    envs = r["environments"]
    header = ["tile", "transistors"] + [
        f"Python {e['python'].rsplit('.', 1)[0]}, gdsfactory {e['gdsfactory']}, kfactory "
        f"{e['kfactory']}" for e in envs.values()]
    names = [t["name"] for t in next(iter(envs.values()))["tiles"]]
    rows = []
    for name in names:
        cells = []
        devices = ""
        for e in envs.values():
            t = next(t for t in e["tiles"] if t["name"] == name)
            devices = str(t["devices"])
            cells.append(f"{t['build_s_min']:.2f} s ({t['build_s_per_device'] * 1e3:.1f} ms "
                         "/ transistor)")
        rows.append((tile_label(name), devices, *cells))
    runs = {len(t["build_s"]) for e in envs.values() for t in e["tiles"]}
    return (table(header, rows) + "\n\n"
            + caption(r, note="run in each environment, fastest of "
                      + "/".join(str(n) for n in sorted(runs)) + " builds"))


# ---------------------------------------------------------------------------------- elements


@region("pelgrom.table", "pelgrom.json")
def pelgrom_table(r: Results) -> str:
    """Sigma of a 1:1 mirror against device area, and the fitted A (docs/circuits.md)."""
    points = [p for p in r["points"] if p["i_na"] == 1.0]
    sizes = sorted({(p["w_um"], p["l_um"]) for p in points}, key=lambda s: s[0] * s[1])
    rows = []
    for w, length in sizes:
        by_kind = {p["kind"]: p for p in points if (p["w_um"], p["l_um"]) == (w, length)}
        n, p = by_kind["nfet_03v3"], by_kind["pfet_03v3"]
        rows.append((f"{w:g} x {length:g}", f"{pct(n['sigma'])} % ({interval(n['sigma_ci95'])})",
                     f"{pct(p['sigma'])} % ({interval(p['sigma_ci95'])})",
                     f"{pct(n['pelgrom_estimate'])} / {pct(p['pelgrom_estimate'])} %",
                     f"{n['mean_gain']:.2f} / {p['mean_gain']:.2f}"))
    fits = {(f["kind"], f["i_na"]): f for f in r["fits"]}
    currents = sorted({f["i_na"] for f in r["fits"]})

    def fitted(kind: str) -> str:
        return " / ".join(f"{fits[(kind, i)]['a_pct_um']:.1f}" for i in currents)

    n1, p1 = fits[("nfet_03v3", 1.0)], fits[("pfet_03v3", 1.0)]
    worst = max(f["worst_residual_pct"] for f in r["fits"])
    return (table(("W x L (µm)", "NMOS 1 nA", "PMOS 1 nA", "estimate NMOS / PMOS",
                   "mean copy gain NMOS / PMOS"), rows)
            + f"\n\nFitted A (sigma x sqrt(W L)) at {' / '.join(f'{i:g}' for i in currents)} nA: "
            f"NMOS {fitted('nfet_03v3')} % µm, PMOS {fitted('pfet_03v3')} % µm (worst point "
            f"{worst:g} % off its fit). Area for a "
            f"target sigma at 1 nA (NMOS / PMOS): 5 %: {num(n1['area_for_5pct_um2'])} / "
            f"{num(p1['area_for_5pct_um2'])} µm²; 2 %: {num(n1['area_for_2pct_um2'])} / "
            f"{num(p1['area_for_2pct_um2'])} µm²; 1 %: {num(n1['area_for_1pct_um2'])} / "
            f"{num(p1['area_for_1pct_um2'])} µm².\n\n"
            + caption(r, note=f"{r['n']} mirrors per point, {r['seconds']:g} s"))


@region("circuits.table", "circuits.json")
def circuits_table(r: Results) -> str:
    """Requested against simulated element values (docs/circuits.md)."""
    w = r["weight_error"]
    cell, unit = r["cell_error"], r["unit_error"]
    g = r["gate_area"]

    def maxes(errors: dict[str, Any]) -> str:
        return " / ".join(f"{errors[k]['max_pct']:g} %" for k in ("beta_hi", "beta_lo", "alpha"))

    def both(requested: str, realised: str) -> tuple[str, str]:
        return f"max {requested}", f"max {realised}"

    b = r["bias_error"]
    rows = [
        (f"weight, {w['1nA']['n']} values, input 1 nA",
         f"max {w['1nA']['max_pct']:g} %, mean {w['1nA']['mean_pct']:g} %",
         f"max {w['1nA_realised']['max_pct']:g} %, mean {w['1nA_realised']['mean_pct']:g} %"),
        ("same weights (calibrated at 1 nA), input 0.1 nA / 10 nA",
         f"max {w['0.1nA']['max_pct']:g} % / {w['10nA']['max_pct']:g} % (mean "
         f"{w['0.1nA']['mean_pct']:g} % / {w['10nA']['mean_pct']:g} %)", "-"),
        (f"bias b, {b['requested']['n']} values",
         *both(f"{b['requested']['max_pct']:g} %", f"{b['realised']['max_pct']:g} %")),
        (f"cell beta_hi / beta_lo / alpha, {cell['beta_hi']['n']} points",
         *both(maxes(cell), maxes(cell["realised"]))),
        ("unit (through the ReLU) beta_hi / beta_lo / alpha",
         *both(maxes(unit), maxes(unit["realised"]))),
        ("gate area: weight 0.3 / 1 / 10; cell",
         f"{g['weight_0.3_um2']:g} / {g['weight_1_um2']:g} / {g['weight_10_um2']:g} µm²; "
         f"{g['cell_um2']:g} µm²", "-"),
        ("1:1 mirror sigma NMOS / PMOS (statistical mode)",
         f"{pct(r['mismatch_sigma_1to1']['nfet_03v3'])} / "
         f"{pct(r['mismatch_sigma_1to1']['pfet_03v3'])} %", "-"),
        ("characterisation run time", f"{r['characterize_seconds']:g} s", "-"),
    ]
    return (table(("quantity", "simulated (schematic) vs requested",
                   "simulated vs realised (what the model runs)"), rows) + "\n\n"
            + caption(r, note=f"{r['bench_seconds']:g} s"))


@region("placement.table", "placement.json")
def placement_table(r: Results) -> str:
    """A mirror's output errors under a linear gradient, per placement (docs/circuits.md)."""
    rows = [(f"{row['kind'].split('_')[0].upper()}", row["placement"], f"{row['row_um']:g}",
             *(f"{e:+.2f} ({c:g})" for e, c in zip(row["error_pct"],
                                                    row["centroid_from_diode_um"], strict=True)))
            for row in r["rows"]]
    ratios = r["rows"][0]["ratios"]
    return (table(("mirror", "placement", "span of the devices' centres, µm",
                   *(f"output {Fraction(x).limit_denominator(8)}: error % (centroid from "
                     "the diode, µm)" for x in ratios)), rows)
            + "\n\n" + caption(r, note=f"gradient {r['gradient_mv_per_100um']:g} mV per 100 µm "
                                      f"of threshold; {num(r['seconds'], 1)} s"))


@region("cells.table", "cells.json")
def cells_table(r: Results) -> str:
    """Area and generation time per library cell (docs/circuits.md)."""
    rows = []
    for name, c in r["cells"].items():
        per_weight = c.get("area_per_weight_um2")
        rows.append((name, str(c["devices"]),
                     f"{num(c['area_um2'])} ({c['width_um']:.1f} x {c['height_um']:.1f})",
                     num(c["gate_area_um2"]), f"{per_weight:.1f}" if per_weight else "—",
                     f"{c['generate_s']:.2f}", "match" if c["lvs_match"] else "mismatch"))
    return (table(("cell", "devices", "area µm² (w x h µm)", "gate area µm²",
                   "area per weight µm²", "generation s", "LVS"), rows)
            + "\n\n" + caption(r, note=f"weights drawn with seed {r['seed']}"))


@region("devices.table", "devices.json")
def devices_table(r: Results) -> str:
    """Device arrays through the official deck and LVS (docs/benchmarks.md)."""
    arrays = r["arrays"]
    header = ["", *(f"{a['transistors']} transistors" for a in arrays)]
    rows = [
        ("layout build", *(f"{a['build_s']:.2f} s" for a in arrays)),
        ("official-deck DRC (clean)", *(f"{a['drc_s']:.1f} s" for a in arrays)),
        ("LVS (match)", *(f"{a['lvs_s']:.2f} s" for a in arrays)),
    ]
    return (table(header, rows)
            + f"\n\nDevice generation, warm: {r['generation_s_per_device'] * 1e3:.1f} ms per "
            "device.\n\n" + caption(r, note=r["machine"]))


# ---------------------------------------------------------------------------------- corners


def worst(values: Iterable[float]) -> float:
    """The value of largest magnitude, with its sign."""
    return max(values, key=abs)


def signed(x: float) -> str:
    """A fraction as a signed percentage, two decimals: 0.0053 -> '+0.53'."""
    return f"{100 * x:+.2f}"


def over(before: Sequence[str], after: Sequence[str], kinds: int) -> str:
    """The element types outside tolerance, and in brackets after the trim."""
    if not after:
        trimmed = "-"
    elif len(after) == kinds:
        trimmed = "all"
    elif sorted(after) == sorted(before):
        trimmed = "same"
    else:
        trimmed = ", ".join(after)
    return f"{', '.join(before) or '-'} ({trimmed})"


@region("corners.deviation", "corners.json")
def corners_deviation(r: Results) -> str:
    """Each element's deviation from its typical 27 °C value per condition (docs/corners.md)."""
    weights = r["weights"]
    groups = {
        "weights -1/-2/-4": [i for i, w in enumerate(weights) if w <= -1],
        "+1/+2/+4": [i for i, w in enumerate(weights) if w >= 1],
        "-0.5": [i for i, w in enumerate(weights) if -1 < w < 0],
        "+0.5": [i for i, w in enumerate(weights) if 0 < w < 1],
    }
    cells = r["cells"]
    small = [i for i, c in enumerate(cells) if c["beta_hi"] == min(c["beta_hi"] for c in cells)]
    large = [i for i in range(len(cells)) if i not in small]
    lo_small = " / ".join(f"{cells[i]['beta_hi'] - cells[i]['delta']:.1g}" for i in small)
    rows = []
    for c in r["conditions"]:
        dev = c["deviation"]
        row = [c["condition"], f"{c['v_sum']:.3f}"]
        row += [signed(worst(dev["weight"][i] for i in idx)) for idx in groups.values()]
        row += [signed(dev["bias"][0]), signed(worst(dev["alpha"])),
                signed(worst(dev["beta_hi"][i] for i in small)),
                signed(worst(dev["beta_hi"][i] for i in large)),
                signed(worst(dev["beta_lo"][i] for i in small)),
                signed(worst(dev["beta_lo"][i] for i in large)),
                f"{c['reference_trim']:.3f}",
                over(c["exceeds"], c["exceeds_after_trim"], len(r["tolerance"]))]
        rows.append(row)
    hi_small = listing(format(cells[i]["beta_hi"], ".0f") for i in small)
    hi_large = ", ".join(format(cells[i]["beta_hi"], ".0f") for i in large)
    header = ["condition", "v_sum V", *groups, "bias +1", "alpha", f"beta_hi {hi_small} nA",
              f"beta_hi {hi_large} nA", f"beta_lo {lo_small} nA", "beta_lo, larger cells",
              "trim", "over tolerance (after trim)"]
    return table(header, rows) + "\n\n" + caption(r, note=f"{num(r['seconds'])} s")


@region("corners.mirrors", "corners.json")
def corners_mirrors(r: Results) -> str:
    """The bare mirrors' spread over the conditions (docs/corners.md)."""
    ratios = r["ratios"]
    conds = r["conditions"]

    def spread(key: str, idx: Sequence[int]) -> str:
        values = [c["deviation"][key][i] for c in conds for i in idx]
        return f"{signed(min(values))}..{signed(max(values))} %"

    whole = [i for i, x in enumerate(ratios) if x >= 1]
    sub = [i for i, x in enumerate(ratios) if x < 1]
    parts = []
    for kind in ("nmos", "pmos"):
        for current in r["mirror_currents_na"]:
            key = f"{kind}_{current:g}nA"
            parts.append(f"{kind.upper()} at {current:g} nA: ratios "
                         f"{listing(format(ratios[i], 'g') for i in whole)} {spread(key, whole)}, "
                         f"ratio {listing(format(ratios[i], 'g') for i in sub)} "
                         f"{spread(key, sub)}")
    copy = [v for c in conds for v in c["deviation"]["copy_diode"]]
    return sentence(f"Bare mirrors onto a summing node over the {len(conds)} conditions: "
                    + "; ".join(parts) + f". The unit NMOS copy into a PMOS diode: "
                    f"{signed(min(copy))}..{signed(max(copy))} %.", r)


@region("corners.unit_ratios", "corners.json")
def corners_unit_ratios(r: Results) -> str:
    """Each drawing's mirror output drift over the conditions, against its target
    (docs/corners.md)."""
    conds = r["conditions"]
    rows = []
    for kind in ("nmos", "pmos"):
        for name, d in r["unit_ratio_drawings"].items():
            spans, within = [], []
            for key in ("drift", "share_drift"):
                values = [c["unit_ratios"][kind][name][key] for c in conds]
                spans.append(f"{signed(min(values))}..{signed(max(values))}")
                within.append("yes" if max(map(abs, values)) <= d["target"] else "no")
            if name == r["unit_ratio_reference"]:
                spans[1], within[1] = "(reference)", "-"
            rows.append((kind.upper(), name, d["drawing"],
                         "after (circuit)" if d["circuit"] else "before", *spans,
                         f"+-{100 * d['target']:g}", " / ".join(within)))
    header = ("mirror", "output", "drawn as", "drawing", "gain drift %",
              f"share of the {r['unit_ratio_reference']}-unit output, drift %", "target +- %",
              "within (gain / share)")
    return table(header, rows) + "\n\n" + caption(r)


def pa(na: float) -> str:
    """A current in nA as pA: whole pA from 100 pA up, else one decimal."""
    x = na * 1000
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}"


@region("leakage.remedies", "leakage.json")
def leakage_remedies(r: Results) -> str:
    """What an OFF unit output leaks, and what each remedy leaves of it on a summing node, at
    125 °C and typical 27 °C (docs/corners.md)."""
    conds = r["conditions"]
    hot_c = max(c["temp_c"] for c in conds)
    hot = [c for c in conds if c["temp_c"] == hot_c]
    nominal = next(c for c in conds if c["condition"] == "typical 27C 1.8V")
    shown = [nominal, *hot]
    past = r["gate_past_v"]

    def parts(d: dict[str, float]) -> list[str]:
        return [*(num(d[k], 2) for k in ("off", "gate_past", "junction")), f"{d['gidl']:.0g}",
                pct(d["channel"] / d["off"], 0)]

    decomposition = table(
        ("condition", "v_sum V", "NMOS OFF, pA", f"gate {past:g} V below its source",
         "drain junction", "GIDL", "channel %", "PMOS OFF, pA", f"gate {past:g} V above its source",
         "drain junction", "GIDL", "channel %"),
        [(c["condition"], num(c["v_sum"], 3), *parts(c["decomposition"]["nmos"]),
          *parts(c["decomposition"]["pmos"])) for c in shown])
    rails = {f"rail_{v:g}": f"NMOS sources on {v:g} V" for v in r["source_rails_v"]}
    names = {"none": "none",
             "pmos_dummies": f"{listing(map(str, r['pmos_dummies'].values()))} PMOS units OFF",
             "replica": "N NMOS units OFF, copied by a PMOS unit mirror", **rails}
    rows = [(c["condition"], n, *(
        f"{x['net_pa'][0]:.1f} ({listing(f'{100 * s:+.1f}' for s in x['shift'])})"
        for x in (c["remedies"][k]["by_n"][n] for k in names)))
        for c in shown for n in map(str, r["n_off"])]
    shifts = listing(format(t, "g") for t in r["thresholds_units"])
    remedies = table(("condition", f"N OFF outputs: pA (shift of the {shifts} threshold, %)",
                      *names.values()), rows)
    smallest, last = r["thresholds_units"][0], str(r["n_off"][-1])
    budget = table(
        ("condition", f"unit current for {pct(r['target'], 0)} % of the {smallest:g} threshold,"
         f" N = {listing(map(str, r['n_off']))}, nA",
         f"OFF units a node may hold at {r['i_unit_na']:g} nA per unit: none / "
         + listing(rails.values()),
         f"N = {last} inputs ON at one unit: node error, pA, per remedy as above"),
        [(c["condition"], f"{listing(num(x, 2) for x in units)} (power x "
          f"{listing(num(x / r['i_unit_na'], 1) for x in units)})",
          listing(str(x) for x in c["floor_budget"]["max_off_units"].values()),
          listing(f"{c['remedies'][k]['by_n'][last]['on_error_pa'][0]:+.1f}" for k in names))
         for c in hot for units in [c["floor_budget"]["unit_current_na"].values()]])

    def largest(k: str, within: list[dict[str, Any]]) -> str:
        return f"{100 * worst(c['remedies'][k]['by_n'][last]['shift'][0] for c in within):+.1f}"

    top = list(rails)[-1]
    held = [c["remedies"][top]["v_node"] for c in conds]
    below = [c for c in conds if c["temp_c"] < hot_c]
    text = (
        f"Largest shift of the {smallest:g} threshold with N = {last} over the {len(conds)} "
        "conditions, %: " + "; ".join(f"{names[k]} {largest(k, conds)}" for k in names)
        + f" (below {hot_c:g} °C, without remedy, {largest('none', below)}). The thresholds "
        f"realise {listing(num(x, 1) for x in nominal['remedies']['none']['threshold_pa'])} pA "
        f"at typical 27 °C with the NMOS sources on ground, "
        f"{listing(num(x, 1) for x in nominal['remedies'][top]['threshold_pa'])} pA on "
        f"{r['source_rails_v'][-1]:g} V, whose nodes sit at {num(min(held), 2)}-"
        f"{num(max(held), 2)} V over the conditions (at least "
        f"{num(min(c['vdd_v'] - c['remedies'][top]['v_node'] for c in conds), 2)} V below VDD).")
    return "\n\n".join((decomposition, remedies, budget,
                        sentence(text, r, note=f"{num(r['seconds'])} s")))


@region("corners.leakage", "corners.json")
def corners_leakage(r: Results) -> str:
    """The leakage floor per condition (docs/corners.md)."""
    keys = ("cell_supply_pa", "cell_bias_supply_pa", "cell_out_pa", "row_supply_pa",
            "row_rail_max_pa")
    parts = {"cells": "cells", "fc_mirrors": "mirrors", "biases": "biases"}
    rows = []
    for c in r["conditions"]:
        own, default = c["leakage"], c["leakage_default_gmin"]
        tile = c["tile_zero"]
        total = f"{pa(tile['supply_na'])} pA"
        if tile["supply_na"] * 1000 >= 100:
            total += " (" + ", ".join(f"{name} {num(tile['by_part_na'][k] * 1000)}"
                                      for k, name in parts.items()) + ")"
        rows.append((c["condition"], *(f"{own[k]:.2f} ({default[k]:.1f})" for k in keys), total,
                     f"{pa(c['tile_zero_default_gmin']['supply_na'])} pA",
                     ", ".join(f"{v:.2f}" for v in tile["outputs_pa"].values()) + " pA"))
    return (table(("condition", "cell", "its bias generator", "cell output (OFF)",
                   "weight row of 8", "worst rail", "tile, zero reference", "tile, default GMIN",
                   "tile outputs y0, y1"), rows) + "\n\n" + caption(r))


GMIN_LOADS = {"diode": "into a diode", "sum": "onto a summing node"}


@region("gmin.table", "gmin.json")
def gmin_table(r: Results) -> str:
    """The tables' mirror gains and cell currents under ngspice's default GMIN and the
    project's (docs/corners.md)."""
    rows = [(f"{m['kind'].split('_')[0].upper()}, {GMIN_LOADS[m['load']]}",
             *(f"{a:.4f} -> {b:.4f} ({(b / a - 1) * 100:+.1f} %)"
               for a, b in zip(m["gain_default"], m["gain_lowered"], strict=True)))
            for m in r["mirrors"]]
    cells = ", ".join(f"{k} {pct(v)} %" for k, v in r["cell_largest_shift"].items())
    ratios = r["mirrors"][0]["ratios"]
    return (table(("mirror, load", *(f"ratio {Fraction(x).limit_denominator(8)}"
                                     for x in ratios)), rows)
            + "\n\nThe cell's switching currents and gain over the tables' grid, largest "
            f"shift: {cells}.\n\n" + caption(r, note=f"{num(r['seconds'])} s"))


@region("grid_snap.table", "grid_snap.json")
def grid_snap_table(r: Results) -> str:
    """The bundled checkpoint on the tile's grid and snapped to k of D gates, against its own
    values (docs/corners.md)."""
    def name(row: dict) -> str:
        return ("the tile's grid (realised values)" if row["gates"] is None else
                f"k of {row['gates']}: steps of 1/{row['gates']} unit")

    rows = [(name(row), layers(row["state_agreement"]), pct(row["decisions_agree"]),
             f"{pct(row['accuracy'])} ({interval(row['accuracy_interval'])})")
            for row in r["rows"]]
    learned = r["learned"]
    rows.append(("the checkpoint's own values", "-", "-",
                 f"{pct(learned['accuracy'])} ({interval(learned['accuracy_interval'])})"))
    return (table(("grid", "state agreement with the checkpoint %, layer 0 / 1",
                   "decisions agree %", "accuracy % (95 % interval)"), rows)
            + f"\n\nAlways answering the commonest class: {pct(r['commonest_class_accuracy'])} %"
            f" of the {r['utterances']} utterances.\n\n"
            + caption(r, note=f"{num(r['seconds'])} s"))


@region("drift_attribution_cascodes_rail.table", "drift_attribution_cascodes_rail.json")
@region("drift_attribution_bundled_rail.table", "drift_attribution_bundled_rail.json")
@region("drift_attribution_cascodes.table", "drift_attribution_cascodes.json")
@region("drift_attribution_bundled.table", "drift_attribution_bundled.json")
@region("drift_attribution_4gate.table", "drift_attribution_4gate.json")
@region("drift_attribution.table", "drift_attribution.json")
def drift_attribution_table(r: Results) -> str:
    """Per PVT condition, the model's agreement with the nominal model when one group of
    elements moves to its condition values, and when every group but one does
    (docs/corners.md)."""
    groups = r["groups"]

    def one(key: str, said: str) -> str:
        rows = [(c["condition"], layers(c["all"]["state_agreement"]),
                 *(layers(c[key][g]["state_agreement"]) for g in groups))
                for c in r["conditions"] if "error" not in c]
        heads = (f"{g} ({r['elements'][g]})" for g in groups)
        return said + "\n\n" + table(("condition", "every element moved", *heads), rows)

    failed = [c for c in r["conditions"] if "error" in c]
    unmade = "".join(f"\n\nNo tables at {c['condition']}: {c['error']}." for c in failed)

    n = r["elements"]["PMOS outputs"] + r["elements"]["NMOS outputs"]
    gates = r.data.get("diode_gates", 1)
    grid = (f"Drawn on the grid of {gates}-gate diodes (every ratio k of {gates} whole gates), "
            "mapped and characterised on it at every condition. " if gates > 1 else "") + (
        "The same drawing with the replica-biased cascodes, realised with their tables at "
        "typical 27 °C and at every condition; the model only. " if r.data.get("cascodes")
        else "") + (
        "Each condition's tables made on the NMOS source rail the tile's drawn generator "
        "holds there. " if r.data.get("rail_generator") else "")
    return (grid
            + one("only", "State agreement with the nominal model %, layer 0 / 1, with only the "
                          f"group of each column (its elements of the {n}) moved to its values "
                          "at the condition:")
            + "\n\n"
            + one("all_but", "The same with every element moved but the group of each column "
                             "(that group held at its nominal values):")
            + unmade + "\n\n" + caption(r, note=f"{r['utterances']} utterances; "
                                        f"{num(r['seconds'])} s"))


@region("cell_thresholds.table", "cell_thresholds.json")
def cell_thresholds_table(r: Results) -> str:
    """The cell's switching currents on the tables' ramp and as met within a frame, per cell
    of the grid, and on ramps of other speeds for one cell (docs/compare.md)."""
    rows = []
    for c in r["cells"]:
        (r_hi, r_lo), (f_hi, f_lo) = c["ramp"], c["frame"]
        rows.append((f"{c['r_thresh']:g}", f"{c['r_width']:g}", f"{r_hi:.3f} / {r_lo:.3f}",
                     f"{f_hi:.3f} / {f_lo:.3f}",
                     f"{100 * (f_hi / r_hi - 1):+.1f} / {100 * (f_lo / r_lo - 1):+.1f}",
                     f"{100 * ((f_hi - f_lo) / (r_hi - r_lo) - 1):+.0f}"))
    t_hi, t_lo = r["one_cell"]
    ramps = [(f"{p['ramp_ms']:g} ms" + (" (the tables')" if p["ramp_ms"] == r["ramp_ms"]
                                         else ""), f"{p['beta_hi']:.3f} / {p['beta_lo']:.3f}")
             for p in r["ramps"]]
    return (table(("r_thresh", "r_width", f"ramp ({r['ramp_ms']:g} ms): ON / OFF, units",
                   f"within a {r['frame_ms']:g} ms frame: ON / OFF",
                   "change, % ON / OFF", "hysteresis width, %"), rows)
            + f"\n\nThe cell r_thresh {t_hi:g}, r_width {t_lo:g} on triangles of each "
            "half-period:\n\n" + table(("ramp", "ON / OFF, units"), ramps)
            + "\n\n" + caption(r, note=f"{r['seconds']:g} s"))


@region("drain_matching.table", "drain_matching.json")
def drain_matching_table(r: Results) -> str:
    """Each mirror output's gain drift per drain-matching remedy, and what each remedy adds and
    needs (docs/corners.md)."""
    remedies, drawings = r["remedies"], r["drawings"]
    kinds = ("nmos", "pmos")

    def drift_table(gmin: str) -> str:
        rows = []
        for kind in kinds:
            for name, d in drawings.items():
                spans = (rem["kinds"][kind]["drift"][gmin][name] for rem in remedies.values())
                cells = [f"{x['min_pct']:+.2f}..{x['max_pct']:+.2f} "
                         + ("yes" if x["within"] else "no") for x in spans]
                rows.append((kind.upper(), name, f"+-{100 * d['target']:g}", *cells))
        return table(("mirror", "output", "target +- %", *remedies), rows)

    def where(conditions: list[str]) -> str:
        return "all" if len(conditions) == len(r["conditions"]) else ", ".join(conditions) or "-"

    rows = []
    for name, rem in remedies.items():
        for kind in kinds:
            added, h = rem["added"][kind], rem["kinds"][kind]["headroom"]
            drain = max((x["drain_mv_worst"] for x in rem["kinds"][kind]["drift"]["default"]
                         .values()), key=abs)
            rows.append((name, kind.upper(), f"{drain:+.1f}",
                         listing(map(str, added["per_output"].values())),
                         str(added["per_mirror"]), str(added["shared"]),
                         f"{added['own_wells_per_output']} / {added['own_wells_per_mirror']}",
                         *(num(h[k], 2) for k in ("input_v_max", "bias_v_max", "needs_v_max",
                                                  "sum_v_min")),
                         where(h["short_conditions"]), num(h["vdd_needed_v"], 2),
                         where(h["supply_short_conditions"])))
    cost = table(("remedy", "mirror", "an output's V_DS minus its diode's, mV (worst)",
                  f"unit gates added per output ({listing(drawings)})", "per mirror",
                  "shared by the polarity", "n-wells of their own per output / per mirror",
                  "input node V (max)", "bias node V (max)", "unit output needs V (max)",
                  "summing node V (min)", "summing node short of it at", "VDD needed V (max)",
                  "VDD short at"), rows)
    return "\n\n".join((
        "Gain drift over the conditions, % (min..max), and whether within the target; "
        "ngspice's default GMIN:", drift_table("default"),
        f"The same with GMIN {r['gmin']['physical']:g} S (the devices' own junction leakage):",
        drift_table("physical"),
        "What each remedy adds, and its headroom (voltages from the mirror's rail, over the "
        f"conditions; an output needs {r['saturation_ut']} U_T across its cascode, or across "
        "itself without one; VDD needed: the bias branches with a saturated source feeding "
        "them, and a PMOS output down to the summing node):", cost,
        caption(r, note=f"{num(r['seconds'])} s")))


@region("weight_path.table", "weight_path.json")
def weight_path_table(r: Results) -> str:
    """A positive weight's whole path per drain-matching variant: its gain's drift below and
    at 125 °C, and the copy's headroom (docs/corners.md)."""
    conditions = r["conditions"]
    hot = [k for k, c in enumerate(conditions) if c.split()[1] == "125C"]
    rows = []
    for name, runs in r["variants"].items():
        for i_in, x in runs.items():
            drift = x["drift_pct"]
            cool = [d for k, d in enumerate(drift) if k not in hot]
            warm = [drift[k] for k in hot]
            m = x["min_v"]
            cascode = m["copy_cascode_vds"]
            rows.append((name, i_in, num(x["nominal_gain"], 4),
                         f"{min(cool):+.2f}..{max(cool):+.2f}",
                         "yes" if x["within_below_100C"] else "no",
                         f"{min(warm):+.1f}..{max(warm):+.1f}", num(1000 * m["copy_vds"]),
                         "-" if cascode is None else num(1000 * cascode)))
    sat = r["saturation_v"]
    return "\n\n".join((
        f"A unit positive weight's gain (rail over input current) and its drift from typical "
        f"27 °C 1.8 V, %; within +-{r['target_pct']:g} % below 100 °C; the copy's smallest "
        f"drain-source voltage over the conditions (a device needs {r['saturation_ut']} U_T, "
        f"{num(1000 * min(sat.values()))}-{num(1000 * max(sat.values()))} mV from -40 to "
        "125 °C); on ground, no NMOS source rail:",
        table(("variant", "input, units", "gain at typical 27 °C", "drift below 100 °C, %",
               "within", "drift at 125 °C, %", "copy V_DS min, mV", "copy's cascode V_DS min, mV"),
              rows),
        caption(r, note=f"{num(r['seconds'])} s")))


@region("remedies.headroom", "drain_matching.json", "leakage.json")
def remedies_headroom(drain: Results, leak: Results) -> str:
    """Whether the PMOS own-well cascode and the leakage's NMOS source rail fit one supply
    together, per condition (docs/corners.md)."""
    pmos = drain["remedies"]["cascode, own well"]["kinds"]["pmos"]["conditions"]["default"]
    rails = leak["source_rails_v"]
    rows, short = [], {v: [] for v in rails}
    for c in pmos:
        margins = [c["sum_v"] - v - c["needs_v"] for v in rails]
        for v, m in zip(rails, margins, strict=True):
            if m < 0:
                short[v].append(c["condition"])
        rows.append((c["condition"], num(c["needs_v"], 3), num(c["sum_v"], 3),
                     *(f"{m:+.3f}" for m in margins)))
    text = " ".join(
        f"With the sources on {v:g} V the cascoded PMOS outputs run short at "
        f"{len(conds)} of {len(pmos)} conditions" + (f" ({', '.join(conds)})" if conds else "")
        + "." for v, conds in short.items())
    return "\n\n".join((table(
        ("condition", "PMOS output with its own-well cascode needs, V from VDD",
         "VDD - summing node, NMOS sources on ground, V",
         *(f"margin with the NMOS sources on {v:g} V, V" for v in rails)), rows),
        sentence(text, drain, leak)))


@region("ratio_drawings.table", "ratio_drawings.json")
def ratio_drawings_table(r: Results) -> str:
    """Each drawing of a mirror ratio from unit gates: its gain drift on the tile's and on a
    grid's summing node, its area and its leakage at its diode's current density; each
    diode's voltage; the gates a grid draws per weight (docs/corners.md)."""
    conds, gmin, hot = r["conditions"], r["gmin"]["physical"], f"{r['hot_c']:g} °C"
    groups = {"stacks": "(a) series stacks", "parallel": "(b) k of D in parallel",
              "mixed": "(c) a stack from a wider diode", "whole": "whole ratio"}

    def where(names: list[str]) -> str:
        if len(names) > 3:
            return f"{len(names)} of {len(conds)}"
        return ", ".join(names) or "-"

    def drift(e: dict[str, Any]) -> list[str]:
        spans = [f"{signed(e[g]['min'])}..{signed(e[g]['max'])} "
                 + ("yes" if e[g]["within"] else "no") for g in ("default", "physical")]
        hot_span = e["hot_physical"]
        return [*spans, where(e["physical"]["over_at"]),
                f"{signed(hot_span['min'])}..{signed(hot_span['max'])}"]

    def gates(n: int | str) -> str:
        return f"{n} unit gate" + ("s" if int(n) > 1 else "")

    columns = ("target +- %", "gain drift %, default GMIN", f"gain drift %, GMIN {gmin:g} S",
               f"over target at (GMIN {gmin:g} S)", f"at {hot}, GMIN {gmin:g} S")
    tile, grid = [], []
    for kind, entries in r["summary"]["tile"].items():
        for name, e in entries.items():
            d = r["drawings"][name]
            target = f"+-{100 * d['target']:g}"
            tile.append((kind.upper(), name, d["ratio_text"], groups[d["group"]],
                         f"{d['output']}, from a diode of {gates(d['diode_gates'])}",
                         f"{d['diode_gates']} + {d['output_gates']}", target, *drift(e)))
            grid.append((kind.upper(), name, target, *drift(r["summary"]["grid"][kind][name]),
                         pct(max(r["off_share_hot"][kind][name].values()))))
    diodes = table(
        ("mirror", "diode", "each gate's current at one unit in, units",
         "voltage from its rail, V (lowest, where)", f"below {r['saturation_ut']} U_T at"),
        [(kind.upper(), gates(n), "1" if n == "1" else f"1/{n}",
          f"{num(x['min_v'], 3)} ({x['min_at']})", ", ".join(x["unsaturated"]) or "-")
         for kind, by_diode in r["diodes"].items() for n, x in by_diode.items()])
    weights = next(iter(r["grids"].values()))["output_gates"]
    grids = table(
        ("grid", *(f"weight {w}" for w in weights), "diode gates per input"),
        [(name, *("-" if x is None else str(x) for x in g["output_gates"].values()),
          str(g["diode_gates"])) for name, g in r["grids"].items()])
    return "\n\n".join((
        f"On the tile's summing node (its ReLU diode one unit gate, at one unit): gain drift at "
        f"one unit in over the {len(conds)} conditions, % (min..max), and whether within the "
        f"target, with ngspice's default GMIN and with GMIN {gmin:g} S (the devices' own "
        f"junction leakage); the conditions over target with GMIN {gmin:g} S; the drift at "
        f"{hot} alone:",
        table(("mirror", "output", "ratio of the input", "drawing", "drawn as",
               "unit gates, diode + output", *columns), tile),
        "On a grid's summing node (its ReLU diode as wide as the mirror's, D unit gates, at one "
        f"unit); last, each output's current with its input at zero at {hot} (its gates OFF), "
        "as a share of its current at one unit in, the largest over the corners, %:",
        table(("mirror", "output", *columns, f"OFF at zero input, {hot}"), grid),
        f"Each diode at one unit in, GMIN {gmin:g} S: its drain is its gate, and below "
        f"{r['saturation_ut']} U_T its channel is not saturated:", diodes,
        "Output gates a grid draws per weight (the output's ratio to its input, software units; "
        "'-': not on the grid), and the diode gates it draws per input:", grids,
        caption(r, note=f"{num(r['seconds'])} s")))


# ---------------------------------------------------------------------------------- noise


def noise_cell(x: dict[str, Any], long_run: bool) -> str:
    """A suppression with its flipped frames (ngspice) or flip rate (the long model run)."""
    if x["flipped_frames"] == 0:
        return f"no flip in {x['frames']} frames" if long_run else \
            f"{x['suppression']:.3g}x (0 flips)"
    if long_run:
        return f"{x['suppression']:.2g}x ({pct(x['flipped_frames'] / x['frames'], 2)} % of frames)"
    return f"{x['suppression']:.2g}x ({x['flipped_frames']} flips)"


def noise_text(r: Results, per_frame: str) -> str:
    """The suppression sweep at one noise rate."""
    sweep = r["sweeps"][per_frame]
    rows = []
    for i, x in enumerate(sweep["bmru"]["spice"]):
        row = [f"{pct(x['input_deviation'])} %"]
        for dut in ("bmru", "comparator", "no_m9"):
            row += [noise_cell(sweep[dut]["spice"][i], False),
                    noise_cell(sweep[dut]["model_long"][i], True)]
        rows.append(row)
    return (table(("input deviation", "BMRU unit, ngspice", "BMRU unit, model",
                   "comparator at band centre, ngspice", "comparator, model",
                   "no M9 at beta_hi, ngspice", "no M9, model"), rows)
            + "\n\n" + caption(r, note=f"{per_frame} noise sample(s) a frame, ngspice on "
                               f"{r['frames']} frames, the model on {r['model_frames']}"))


@region("noise.duts", "noise.json")
def noise_duts(r: Results) -> str:
    """The unit and its two controls as measured (docs/noise.md)."""
    names = {"bmru": "BMRU unit", "comparator": "comparator at band centre (no M9)",
             "no_m9": "no M9, threshold at beta_hi"}
    rows = [(names.get(k, k), f"{d['beta_lo']:.3f}", f"{d['beta_hi']:.3f}", f"{d['alpha']:.3f}",
             f"{d['i_vdd_off']:.2f} / {d['i_vdd_on']:.2f}") for k, d in r["duts"].items()]
    u = r["unit_ratios"]
    return (table(("circuit", "beta_lo", "beta_hi", "alpha", "supply OFF / ON"), rows)
            + f"\n\nDrawn with I_thresh = {u['r_thresh']:g}, I_width = {u['r_width']:g}, "
            f"I_gain = {u['r_gain']:g} x I_REF; clean levels at least "
            f"{r['margin_of_delta']:g} delta clear of both thresholds.\n\n" + caption(r))


@region("noise.fast", "noise.json")
def noise_fast(r: Results) -> str:
    """Noise suppression, 4 samples a frame (docs/noise.md)."""
    return noise_text(r, "4")


@region("noise.slow", "noise.json")
def noise_slow(r: Results) -> str:
    """Noise suppression, 1 sample a frame (docs/noise.md)."""
    return noise_text(r, "1")


# ---------------------------------------------------------------------------------- benchmarks.md


def listing(values: Iterable[str]) -> str:
    """'a / b / c'."""
    return " / ".join(values)


def sentence(text: str, *results: Results, note: str = "") -> str:
    """A paragraph of figures, then where they come from."""
    return text + "\n\n" + caption(*results, note=note)


def mm2(um2: float) -> str:
    """µm² as mm², three decimals."""
    return f"{um2 / 1e6:.3f}"


@region("run.summary", "run.json", optional=("run.json",))
def run_summary(run: Results | None) -> str:
    """``make run``'s figures in one paragraph, once its results file exists
    (docs/benchmarks.md)."""
    if run is None:
        return ("`benchmarks/results/run.json` is not written yet: `make run` writes it, then "
                "`python scripts/render_docs.py` renders it here and in the README.")
    c, t, drc, lvs = run["compare"], run["tile"], run["drc"], run["lvs"]
    held, dev = c["realised"], c["device_only"]["realised"]
    n = c["utterances"]
    bits = " / ".join(f"{pct(v)} % ({interval(ci)})" for v, ci in
                      zip(held["state_agreement_per_layer"],
                          held["ci95"]["state_agreement_per_layer"], strict=True))
    power = c["power_nw"]
    tile = (f"Tile `{t['cell']}`: {t['devices']} transistors, {mm2(t['area_um2'])} mm², DRC "
            f"{'clean' if drc['clean'] else 'violations'} in {drc['runtime_s']:g} s, LVS "
            f"{'match' if lvs['match'] else 'mismatch'}.")
    figures = (f"Simulated netlist: {c['netlist']}; {n} utterances: {num(power['mean'])} nW "
               f"({num(power['min'])}-{num(power['max'])}), state bits against the model on the "
               f"realised values {bits}, decisions {held['decisions_agreeing']} / {n}; against "
               f"the checkpoint's own values {layers(c['ideal']['state_agreement_per_layer'])} "
               f"%, {c['ideal']['decisions_agreeing']} / {n}; device-only "
               f"{layers(dev['state_agreement_per_layer'])} %, {dev['decisions_agreeing']} / "
               f"{c['device_only']['utterances']}.")
    accuracy = (f"Accuracy: model {pct(held['model_accuracy'], 0)} % (checkpoint's values "
                f"{pct(c['ideal']['model_accuracy'], 0)} %), tile "
                f"{pct(c['hardware_accuracy'], 0)} %, always the commonest class "
                f"{pct(c['baseline_accuracy'], 0)} %; {c['sim_s_per_utterance']:g} s per "
                "simulation.")
    return sentence(f"{tile} {figures} {accuracy}", run)


@region("tile.summary", "tile.json")
def tile_summary(r: Results) -> str:
    """Tiles in one paragraph (docs/benchmarks.md)."""
    tiles = r["tiles"]
    big = max(tiles, key=lambda t: t["devices"])
    return sentence(
        f"Tiles {listing(tile_label(t['name']) for t in tiles)}: "
        f"{listing(str(t['devices']) for t in tiles)} transistors, "
        f"{listing(mm2(t['area_um2']) for t in tiles)} mm² ({r['networks']}); d = "
        f"{big['d']} builds in {num(big['build_s'])} s, DRC {drc_text(big)}, LVS "
        f"{lvs_text(big)}, LVS on the official deck {lvs_text(big, 'official_')}. "
        f"{exponent_text(r)} Area per transistor "
        f"{listing(num(t['area_per_transistor_um2']) for t in tiles)} µm². Estimated supply "
        f"power of the d4 tile, every unit ON: {num(tiles[0]['power_total_nw'])} nW.", r)


@region("engines.table", "engines.json")
def engines_table(r: Results) -> str:
    """The bundled model on voices and an engine it never heard (docs/model.md)."""
    names = {"sealed": "sealed: espeak-ng voices no split holds", "flite": "flite: another engine"}
    rows = [(names.get(s["sample"], s["sample"]), str(s["utterances"]),
             f"**{pct(s['accuracy'])} %** ({interval(s['accuracy_ci95'])})",
             f"{pct(s['baseline_accuracy'])} %", f"{pct(s['balanced_accuracy'])} %",
             f"{pct(s['false_reject_at_5pct_fa'])} %") for s in r["samples"]]
    return (table(("sample", "utterances", "accuracy (95 % CI)", "always the commonest class",
                   "balanced accuracy", "false rejects at 5 % false accepts"), rows)
            + "\n\n" + caption(r, note=f"{r['per_word']} utterances per word and the "
                                 "silence clips"))


@region("engines.training", "engines.json")
def engines_training(r: Results) -> str:
    """The bundled recipe trained on one and on two engines, on unheard voices
    (docs/model.md)."""
    t = r["training"]

    def cell(runs: list[dict], sample: str, key: str) -> str:
        values = [run[sample][key] for run in runs]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{pct(statistics.mean(values))} ± {pct(sd)} %"

    sets = [k for k in next(iter(t["runs"].values()))[0] if k != "seed"]
    rows = [(name, *(cell(runs, k, key) for k in sets
                     for key in ("accuracy", "balanced_accuracy", "false_reject_at_5pct_fa")))
            for name, runs in t["runs"].items()]
    header = ["training data"] + [f"{k}: {what}" for k in sets for what in (
        "accuracy", "balanced", "false rejects at 5 % false accepts")]
    first = next(iter(t["runs"].values()))[0]
    baselines = ", ".join(f"{k} {pct(first[k]['baseline_accuracy'])} %" for k in sets)
    return (table(header, rows) + "\n\n" + caption(r, note=(
        f"mean ± sd over {t['seeds']} seeds; the flite test voice is `{t['flite_test_voice']}`"
        f"; always the commonest class: {baselines}")))


@region("model.summary", "model.json")
def model_summary(r: Results) -> str:
    """The model's accuracy in one paragraph (docs/benchmarks.md)."""
    parts = []
    for d, a in r["accuracy"].items():
        parts.append(f"{network(d)} {pct(a['accuracy'])} % accuracy "
                     f"({interval(a['accuracy_ci95'])}), balanced "
                     f"{pct(a['balanced_accuracy'])} %, false rejects at 5 % false accepts "
                     f"{pct(a['false_reject_at_5pct_fa'])} %")
    robust = "; ".join(
        f"{listing(pct(v['balanced_mean']) for v in mm.values())} % ({network(d)})"
        for d, mm in r["mismatch"].items())
    sigmas = listing(k.replace("%", "") for k in next(iter(r["mismatch"].values())))
    baseline = next(iter(r["accuracy"].values()))["baseline_accuracy"]
    return sentence(
        f"{r['test_utterances']} test utterances of voices never heard in training, always "
        f"\"other\" {pct(baseline)} %: " + "; ".join(parts) + f". Balanced accuracy under "
        f"{sigmas} % element mismatch: {robust}.", r)


@region("twin.summary", "twin.json")
def twin_summary(r: Results) -> str:
    """The per-die twin in one paragraph (docs/benchmarks.md)."""
    s = r["summary"]
    return sentence(
        f"{s['dies']} dies x {s['utterances']} utterances: the dies' states agree "
        f"{pct(s['twin_agreement_mean'])} % with their twins (worst die "
        f"{pct(s['twin_agreement_min'])} %; {s['dies_twin_at_least_99']} dies reach >= 99 %) "
        f"against {pct(s['model_agreement_mean'])} % with the checkpoint; decisions "
        f"{s['decisions_with_twin']} with the twin, {s['decisions_with_model']} with the "
        "checkpoint.", r)


@region("operating_point.summary", "operating_point.json")
def operating_point_summary(r: Results) -> str:
    """Power and agreement against the unit current in one paragraph (docs/benchmarks.md)."""
    points = r["points"]
    temps = [c["temp_c"] for c in points[0]["conditions"]]
    at = at_unit_current(points)
    bits = "; ".join(f"{layers(c['state_agreement_per_layer'])} % at {t:g} °C"
                     for t, c in zip(temps, at["conditions"], strict=True))
    powers = listing(num(p["conditions"][0]["power_nw"]) for p in points)
    currents = listing(format(p["i_unit_na"], "g") for p in points)
    return sentence(
        f"Supply power {powers} nW at {currents} nA per unit ({temps[0]:g} °C); at "
        f"{at['i_unit_na']:g} nA the state bits of layers 0 / 1 agree {bits} "
        f"({at['utterances']} utterances per point).", r)


def ratio_of(text: str) -> int:
    """The count of a 'k/n' figure."""
    return int(text.partition("/")[0])


@region("sizing.summary", "sizing.json")
def sizing_summary(r: Results) -> str:
    """Sizing from a target sigma in one paragraph (docs/benchmarks.md)."""
    pts = r["points"]
    powers = [p["simulated_power_nw"] for p in pts]
    within = [ratio_of(p["dies_within_1_point"]) for p in pts]
    return sentence(
        f"Targets {listing(pct(p['target_sigma'], 2).rstrip('0').rstrip('.') for p in pts)} % "
        f"give {listing(format(p['unit_um'][0], 'g') for p in pts)} µm units (measured "
        f"{listing(pct(p['mirror_sigma']['nfet_03v3']) for p in pts)} % NMOS), tiles of "
        f"{listing(mm2(p['tile_area_um2']) for p in pts)} mm², {num(min(powers))}-"
        f"{num(max(powers))} nW at every size; Monte Carlo dies agree with the mismatch-free "
        f"tile {listing(pct(p['die_agreement_with_nominal']['mean'], 2) for p in pts)} % "
        f"(target >= 97 %), dies within a point of the model {min(within)}-{max(within)} of "
        f"{r['seeds']} at every size.", r)


@region("training.summary", "training.json")
def training_summary(r: Results) -> str:
    """Training recipes in one paragraph (docs/benchmarks.md)."""
    recipes = "; ".join(f"{name} {pct(recipe['mean_sd']['validation_balanced'][0])} %"
                        for name, recipe in r["recipes"].items())
    return sentence(f"d = 4, {r['seeds']} seeds each, validation split: mean balanced "
                    f"accuracy {recipes}.", r)


def pvt_range(r: Results, model: str) -> str:
    """The spread of a PVT run over its conditions against one model (``nominal``, ``twin``)."""
    conds = [c for c in r["conditions"] if c[model]]
    lo, hi = (f(conds, key=lambda c: worse_layer(c, model)) for f in (min, max))
    decisions = [c[model]["decisions_agreeing"] for c in conds]
    return (f"the worse layer's state bits {pct(worse_layer(lo, model))} % ({lo['condition']}) "
            f"to {pct(worse_layer(hi, model))} % ({hi['condition']}), decisions {min(decisions)}-"
            f"{max(decisions)} of {r['utterances']}"
            + (f", over the {len(conds)} conditions with tables"
               if len(conds) < len(r["conditions"]) else ""))


@region("benchmarks.checkpoints")
def checkpoint_status() -> str:
    """Which results files ran on the bundled network and which on each one bundled before it
    (docs/benchmarks.md): the re-runs still owed."""
    files = [BUNDLED, *EARLIER_BUNDLES.values()]
    on: dict[Path, list[str]] = {file: [] for file in files}
    for path in sorted(RESULTS.glob("*.json")):
        shas = {s.lower() for _, s in recorded_checkpoints(load(path.name).data, in_lists=False)
                if s}
        for file in files:
            if any(sha256_file(file).startswith(s) for s in shas):
                on[file].append(f"`{path.name}`")
    earlier = "\n\n".join(
        f"On {label} (`{file.name}`), to be re-run on the bundled one where it "
        f"is still the figure: {', '.join(on[file]) or 'none'}."
        for label, file in EARLIER_BUNDLES.items())
    return (f"On the bundled network (`{BUNDLED.name}`): {', '.join(on[BUNDLED]) or 'none'}."
            f"\n\n{earlier}")


@region("pvt.summary", "pvt_pex_bundled.json")
def pvt_summary(r: Results) -> str:
    """PVT in one paragraph (docs/benchmarks.md)."""
    powers = [c["power_nw"]["mean"] for c in r["conditions"]]
    return sentence(f"{len(r['conditions'])} conditions, {r['utterances']} utterances each, "
                    f"with parasitics. Against the nominal model: {pvt_range(r, 'nominal')}. "
                    f"Against each condition's twin: {pvt_range(r, 'twin')}. Power "
                    f"{num(min(powers))}-{num(max(powers))} nW.", r)


@region("pex.summary", "pex.json")
def pex_summary(r: Results) -> str:
    """Parasitics per tile in one paragraph (docs/benchmarks.md)."""
    parts = []
    for t in r["tiles"]:
        summing = t["by_role"]["summing"]
        decision = t["by_role"]["decision"]
        parts.append(f"{tile_label(t['name'])} ({t['devices']} transistors) "
                     f"{num(t['pex_s'])} s, kpex peak at most {num(t['kpex_peak_mb'])} MB, "
                     f"{t['total_fF'] / 1000:.2f} pF (summing nets {num(summing['min_fF'])}-"
                     f"{num(summing['max_fF'])} fF, decision nodes {decision['min_fF']:.1f}-"
                     f"{decision['max_fF']:.1f} fF)")
    return sentence("; ".join(parts) + ".", r)


@region("power.summary", "power.json", "speed.json")
def power_summary(power: Results, speed: Results) -> str:
    """Power and speed in one paragraph (docs/benchmarks.md)."""
    b = power["bundled"]["power_nw"]
    big = power["sweeps"]["fixed"][-1]
    e = power["exponents"]["fixed"]["d_ge_8"]
    s = speed["software_vs_ngspice"]
    return sentence(
        f"The bundled tile drew {num(b['total'])} nW simulated (cells {num(b['cells'])}, fc "
        f"mirrors {num(b['fc_mirrors'])}, biases {num(b['biases'])}; published ~"
        f"{power['bundled']['published_nw']['total']} nW), the d = {big['d']} tile "
        f"{num(big['power_nw']['total'])} nW; over d >= 8 the cells grow with exponent "
        f"{e['cells']:.2f} and the d x d mirrors with {e['fc_w1']:.2f}. The torch model is "
        f"{sci(s['ratio_mean'])} times faster than ngspice one utterance per call, "
        f"{sci(s['ratio_batched'])} times batched; ngspice time per frame grows as transistors^"
        f"{speed['ngspice_vs_size']['exponent']:g}.", power, speed)


@region("compare_errors.summary", "compare_errors.json")
def compare_errors_summary(r: Results) -> str:
    """The compare's remaining disagreements in one paragraph (docs/benchmarks.md)."""
    on = r["cell_switch_on"]
    return sentence(
        f"{r['utterances']} utterances: of {onsets(r, 'layer 0')} layer-0 onsets of "
        f"disagreement, {onsets(r, 'layer 0: knife edge')} are knife edges within 1 % of a "
        f"threshold; of {onsets(r, 'layer 1')} layer-1 onsets, "
        f"{onsets(r, 'layer 1: inherited')} are inherited from layer 0, "
        f"{onsets(r, 'layer 1: knife edge')} knife edges and {onsets(r, 'layer 1: dynamic')} "
        f"dynamic. A bare cell overshoots alpha by "
        f"{pct(on['peak_na'] / on['settled_na'] - 1, 0)} % at switch-on.", r)


@region("noise.summary", "noise.json")
def noise_summary(r: Results) -> str:
    """Noise suppression in one paragraph (docs/benchmarks.md)."""
    parts = []
    for per_frame, sweep in r["sweeps"].items():
        cells = [f"{x['suppression']:.3g}x at {pct(x['input_deviation'])} %"
                 + (f" ({x['flipped_frames']} flipped frames)" if x["flipped_frames"] else "")
                 for x in sweep["bmru"]["spice"][:3]]
        parts.append(f"with {per_frame} noise sample(s) a frame " + ", ".join(cells))
    return sentence("A BMRU unit in ngspice suppresses input noise " + "; ".join(parts)
                    + " (suppression: input deviation over output deviation).", r)


@region("montecarlo.summary", "montecarlo.json")
def montecarlo_summary(r: Results) -> str:
    """The Monte Carlo in one paragraph (docs/benchmarks.md, docs/noise.md)."""
    s = r["summary"]
    per_layer = s["state_agreement_per_layer"]
    die = s["die_agreement_with_nominal"]
    lo, hi = s["dies_within_1_point_ci95"]
    return sentence(
        f"{len(r['seeds'])} dies x {len(r['utterances'])} utterances: state agreement with "
        f"the nominal model {pct(per_layer[0]['mean'])} / {pct(per_layer[1]['mean'])} % mean "
        f"({layers(s['nominal_state_agreement_per_layer'])} % without mismatch), each die's "
        f"agreement with the nominal tile {pct(die['mean'])} % mean (worst "
        f"{pct(die['min'])} %; target >= 97 %), dies within 1 point of its accuracy "
        f"{s['dies_within_1_point']} (95 % CI {pct(lo, 0)}-{pct(hi, 0)} %; target >= 95 %), "
        f"decisions agreeing {s['decisions_agreeing']}.", r,
        note=f"{num(r['seconds'])} s")


@region("pelgrom.summary", "pelgrom.json")
def pelgrom_summary(r: Results) -> str:
    """Mirror mismatch against area in one paragraph (docs/benchmarks.md)."""
    square = [p for p in r["points"] if p["i_na"] == 1.0 and p["w_um"] == p["l_um"]]

    def sigmas(kind: str) -> str:
        return listing(pct(p["sigma"]) for p in square if p["kind"] == kind)

    sizes = sorted({p["w_um"] for p in square})
    fits = {f["kind"]: f["a_pct_um"] for f in r["fits"] if f["i_na"] == 1.0}
    return sentence(
        f"Sigma of a 1:1 mirror's copy gain {sigmas('nfet_03v3')} % (NMOS) and "
        f"{sigmas('pfet_03v3')} % (PMOS) at {listing(f'{w:g} x {w:g}' for w in sizes)} µm, "
        f"1 nA, {r['n']} mirrors each; Pelgrom A {fits['nfet_03v3']:.1f} % µm NMOS, "
        f"{fits['pfet_03v3']:.1f} % µm PMOS.", r)


@region("circuits.summary", "circuits.json", "cells.json")
def circuits_summary(circuits: Results, cells: Results) -> str:
    """Circuits and cells in one paragraph (docs/benchmarks.md)."""
    cell = circuits["cell_error"]
    worst = max(cell[k]["max_pct"] for k in ("beta_hi", "beta_lo"))
    bmru = cells["cells"]["bmru_cell"]
    return sentence(
        f"Requested vs simulated weights within {circuits['weight_error']['1nA']['max_pct']:g} % "
        f"at 1 nA, cell thresholds within {worst:g} %; a BMRU cell is {bmru['devices']} "
        f"transistors in {num(bmru['area_um2'])} µm².", circuits, cells)


@region("compare_sealed.summary", "compare_sealed.json")
def compare_sealed_summary(r: Results) -> str:
    """The long compare in one paragraph (docs/benchmarks.md)."""
    return sentence(f"{r['utterances']} utterances with parasitics, against the model on the "
                    f"values the tile realises: {compare_sealed_figures(r)}.", r,
                    note=f"{num(r['seconds'])} s")


def compare_sealed_figures(r: Results) -> str:
    """The long compare's agreement with the model on the values the tile realises, with
    parasitics: state bits per layer and decisions, with intervals."""
    f = r["realised"]
    bits = " / ".join(f"{pct(v, 2)} % ({interval(ci, 2)})" for v, ci in
                      zip(f["state_agreement_per_layer"], f["ci95"]["state_agreement_per_layer"],
                          strict=True))
    return (f"state bits {bits} in layers 0 / 1, decisions {f['decisions_agreeing']} / "
            f"{r['utterances']} ({interval(f['ci95']['decision_agreement'])} %)")


# ---------------------------------------------------------------------------------- documents


def documents() -> list[Path]:
    """The Markdown files that may hold regions: README.md and docs/*.md."""
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@dataclass(frozen=True)
class Finding:
    """A region whose text is not what the results give, or that cannot be rendered."""

    path: Path
    region: str
    problem: str

    def __str__(self) -> str:
        return f"{shown(self.path)}: region '{self.region}' {self.problem}"


def shown(path: Path) -> Path:
    """A path as printed: relative to the checkout when inside it."""
    try:
        return path.relative_to(ROOT)
    except ValueError:
        return path


def body(rendered: str) -> str:
    """A region's text between its markers: the rendering with a blank line either side, so
    tables and paragraphs stand as blocks of their own."""
    return f"\n{rendered}\n\n"


def render_text(text: str, path: Path) -> tuple[str, list[Finding]]:
    """``text`` with every region rendered, and the findings: regions that were stale (their
    old text differed) or could not be rendered (kept as they were)."""
    findings: list[Finding] = []
    opened = [m["name"] for m in OPENING.finditer(text)]
    closed = [m["name"] for m in REGION.finditer(text)]
    if len(opened) != len(closed) or len(CLOSING.findall(text)) != len(closed):
        findings.append(Finding(path, ",".join(opened), "has unbalanced or malformed markers "
                                "(`<!-- render: NAME -->` ... `<!-- /render -->`, each marker "
                                "on a line of its own)"))

    def replace(m: re.Match[str]) -> str:
        name = m["name"]
        renderer = RENDERERS.get(name)
        if renderer is None:
            findings.append(Finding(path, name, f"has no renderer in scripts/render_docs.py "
                                    f"(known: {', '.join(sorted(RENDERERS))})"))
            return m[0]
        try:
            new = body(renderer())
        except RenderError as exc:
            findings.append(Finding(path, name, f"cannot be rendered: {exc}"))
            return m[0]
        if new != m["body"]:
            files = ", ".join(f"benchmarks/results/{f}" for f in renderer.files)
            findings.append(Finding(path, name, f"differs from what {files} gives"))
        return f"<!-- render: {name} -->\n{new}<!-- /render -->"

    return REGION.sub(replace, text), findings


def regions_in(path: Path) -> list[str]:
    """The names of the regions of a Markdown file, in order."""
    return [m["name"] for m in REGION.finditer(path.read_text(encoding="utf-8"))]


def check(paths: Iterable[Path]) -> list[Finding]:
    """Every finding in these files; nothing is written."""
    findings: list[Finding] = []
    for path in paths:
        findings += render_text(path.read_text(encoding="utf-8"), path)[1]
    return findings


def write(paths: Iterable[Path]) -> list[Finding]:
    """Rewrite the regions of these files in place; the findings that remain (regions that
    cannot be rendered) are returned."""
    left: list[Finding] = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new, findings = render_text(text, path)
        if new != text:
            path.write_text(new, encoding="utf-8")
            print(f"rewrote {shown(path)}: "
                  + ", ".join(f.region for f in findings if f.problem.startswith("differs")))
        left += [f for f in findings if not f.problem.startswith("differs")]
    return left


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: rewrite (default) or ``--check``; exit 1 when a region is stale or
    cannot be rendered."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 naming every region that differs")
    parser.add_argument("files", nargs="*", type=Path,
                        help="Markdown files (default: README.md and docs/*.md)")
    args = parser.parse_args(argv)
    paths = [p.resolve() for p in args.files] or documents()
    findings = check(paths) if args.check else write(paths)
    for finding in findings:
        print(finding, file=sys.stderr)
    if findings and args.check:
        print("run `python scripts/render_docs.py` to render them", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
