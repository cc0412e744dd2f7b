"""The documentation's figures are what the results files give, and its links resolve.

Every figure of README.md and docs/*.md that a results file holds stands in a region
rendered by ``scripts/render_docs.py`` from ``benchmarks/results/*.json``. These tests run
the script's check in-process (no simulation, well under a second): a region whose text
differs from its results file fails, named; a results file a region reads must exist and
parse; a results file that records the bundled checkpoint's SHA-256 must record the
bundled file's; and every relative link must reach an existing file and heading.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


sys.path.insert(0, str(ROOT / "scripts"))
rd = importlib.import_module("render_docs")
RERENDER = "run `python scripts/render_docs.py`, review the diff and commit it with the results"


def test_docs_show_what_the_results_files_give() -> None:
    findings = rd.check(rd.documents())
    assert not findings, "\n".join(map(str, findings)) + "\n" + RERENDER


def first_figure(text: str) -> tuple[str, int]:
    """The name of the first region holding a digit, and the index of that digit."""
    for m in rd.REGION.finditer(text):
        digit = re.search(r"\d", m["body"])
        if digit:
            return m["name"], m.start("body") + digit.start()
    raise AssertionError("no rendered region holds a figure")


def test_a_changed_figure_is_reported(tmp_path: Path) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    name, i = first_figure(text)
    copy = tmp_path / "README.md"
    copy.write_text(text, encoding="utf-8")
    assert rd.check([copy]) == []
    copy.write_text(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:], encoding="utf-8")
    findings = rd.check([copy])
    assert [(f.region, f.problem.startswith("differs")) for f in findings] == [(name, True)]
    assert "benchmarks/results/" in str(findings[0])
    assert rd.write([copy]) == []  # rendering puts the figure back
    assert copy.read_text(encoding="utf-8") == text


def test_unknown_and_unbalanced_regions_are_reported(tmp_path: Path) -> None:
    doc = tmp_path / "doc.md"
    doc.write_text("<!-- render: no.such.figure -->\n<!-- /render -->\n\n"
                   "<!-- render: devices.table -->\nno end marker\n", encoding="utf-8")
    problems = [str(f) for f in rd.check([doc])]
    assert any("'no.such.figure' has no renderer" in p for p in problems), problems
    assert any("unbalanced or malformed markers" in p for p in problems), problems


def used_regions() -> dict[str, list[Path]]:
    """Every region name in the documents, with the files that hold it."""
    used: dict[str, list[Path]] = {}
    for path in rd.documents():
        for name in rd.regions_in(path):
            used.setdefault(name, []).append(path)
    return used


def test_every_renderer_is_used_and_reads_results_files_that_parse() -> None:
    used = used_regions()
    assert sorted(set(rd.RENDERERS) - set(used)) == [], "renderers no document uses"
    for name in used:
        renderer = rd.RENDERERS[name]
        for results in renderer.files:
            if results in renderer.optional and not (rd.RESULTS / results).exists():
                continue  # written by a command not run yet; the region says so
            r = rd.load(results)  # raises, naming the file, when missing or not JSON
            assert r.data, f"{results} (region {name}) is empty"


def results_files() -> list[str]:
    """Every results file a rendered region reads, of those that exist."""
    return sorted({f for name in used_regions() for f in rd.RENDERERS[name].files
                   if (rd.RESULTS / f).exists()})


def bundled_hash_mismatches(data: object) -> list[str]:
    """The SHA-256 records of the bundled checkpoint, by name, that are not the bundled file's."""
    bundled = rd.sha256_file(rd.BUNDLED)
    return [sha for checkpoint, sha in rd.recorded_checkpoints(data)
            if checkpoint == rd.BUNDLED.name and sha and not bundled.startswith(sha.lower())]


@pytest.mark.parametrize("name", results_files())
def test_recorded_bundled_checkpoint_hash_is_the_bundled_files(name: str) -> None:
    """A results file that names the bundled checkpoint and records a SHA-256 describes the
    file bundled now: otherwise it is older than the checkpoint and its figures are stale."""
    wrong = bundled_hash_mismatches(rd.load(name).data)
    assert not wrong, (f"benchmarks/results/{name} records {rd.BUNDLED.name} with sha256 "
                       f"{', '.join(w[:12] for w in wrong)}, not the bundled file's "
                       f"{rd.sha256_file(rd.BUNDLED)[:12]}: re-run its benchmark")


def test_a_stale_checkpoint_hash_is_caught() -> None:
    bundled = rd.sha256_file(rd.BUNDLED)
    fresh = {"checkpoint": rd.BUNDLED.name, "checkpoint_sha256": bundled}
    stale = {"bundled": {"checkpoint": {"name": rd.BUNDLED.name, "sha256": "0" * 64}}}
    other = {"checkpoint": "other.safetensors", "sha256": "0" * 64}
    assert bundled_hash_mismatches(fresh) == bundled_hash_mismatches(other) == []
    assert bundled_hash_mismatches(stale) == ["0" * 64]
    said = [s.text for s in rd.provenance(rd.Results("x.json", fresh, ""))]
    assert f"checkpoint `{rd.BUNDLED.name}` sha256 {bundled[:12]} (the bundled file)" in said


def test_checkpoint_records_are_found_in_every_form() -> None:
    data = {"checkpoint": "kws_yes_d4_l2.safetensors", "checkpoint_sha256": "ab12",
            "rows": [{"checkpoint": {"path": "x/other.safetensors", "sha256": "cd34"}}],
            "bundled": {"checkpoint": "kws_yes_d4_l2.safetensors"},
            "run": {"checkpoint_sha256": "ef56"}}
    assert rd.recorded_checkpoints(data) == [
        ("kws_yes_d4_l2.safetensors", "ab12"), ("other.safetensors", "cd34"),
        ("kws_yes_d4_l2.safetensors", ""), ("", "ef56")]
    assert rd.recorded_checkpoints(data, in_lists=False) == [
        ("kws_yes_d4_l2.safetensors", "ab12"), ("kws_yes_d4_l2.safetensors", ""), ("", "ef56")]


def run_results() -> dict:
    """A results file of ``make run`` as ``benchmarks/run_results.py`` writes it (the keys the
    renderers read, made-up figures)."""
    agreement = {"state_agreement_per_layer": [0.994, 0.978], "decisions_agreeing": 48,
                 "model_accuracy": 0.88,
                 "ci95": {"state_agreement_per_layer": [[0.991, 0.997], [0.969, 0.986]],
                          "decision_agreement": [0.865, 0.989]}}
    # the checkpoint's own values, beside the realised ones the tile is held to
    ideal = {**agreement, "state_agreement_per_layer": [0.98, 0.97], "decisions_agreeing": 47,
             "model_accuracy": 0.86}
    return {
        "command": "make run", "checkpoint": rd.BUNDLED.name,
        "checkpoint_sha256": rd.sha256_file(rd.BUNDLED),
        "tile": {"cell": "bmru_tile_x", "checkpoint": rd.BUNDLED.name, "devices": 244,
                 "area_um2": 87826.0},
        "drc": {"clean": True, "runtime_s": 17.7}, "lvs": {"match": True, "runtime_s": 0.2},
        "pex": {"capacitors": 1354, "total_f": 2.09e-12},
        "compare": {"sample": "sealed", "netlist": "devices and 1354 parasitic capacitors",
                    "utterances": 50, "frame_s": 0.01, "i_unit_na": 0.2,
                    "sim_s_per_utterance": 3.9, "realised": agreement, "ideal": ideal,
                    "hardware_accuracy": 0.88, "baseline_accuracy": 0.86,
                    "power_nw": {"mean": 77.1, "min": 69.0, "max": 90.0,
                                 "by_part": {"biases": 9.0, "cells": 26.0, "fc_mirrors": 42.0}},
                    "device_only": {"utterances": 50, "realised": agreement, "ideal": ideal}},
    }


def test_make_run_results_are_rendered_once_written(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    for f in rd.RESULTS.glob("*.json"):
        (tmp_path / f.name).symlink_to(f)
    monkeypatch.setattr(rd, "RESULTS", tmp_path)
    (tmp_path / "run.json").unlink(missing_ok=True)
    assert "not in a results file yet" in rd.RENDERERS["readme.headline"]()
    (tmp_path / "run.json").write_text(json.dumps(run_results()), encoding="utf-8")
    table = rd.RENDERERS["readme.headline"]()
    assert "not in a results file yet" not in table
    assert "99.4 (99.1-99.7) / 97.8 (96.9-98.6) %; **48/50**" in table
    assert "against the checkpoint's own values 98.0 / 97.0 %" in table
    assert "**77 nW** (69-90)" in table
    assert f"sealed sample, checkpoint `{rd.BUNDLED.name}` sha256" in table
    assert "(the bundled file), 0.2 nA per unit, 10 ms frames" in table
    paragraph = rd.RENDERERS["run.summary"]()
    assert "244 transistors, 0.088 mm², DRC clean in 17.7 s, LVS match" in paragraph


# ------------------------------------------------------------------------------------ links

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)|<img[^>]*\ssrc=\"([^\"]+)\"")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
CODE = re.compile(r"`[^`\n]*`")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a Markdown file's headings (repeated headings get -1, -2, ...)."""
    seen: dict[str, int] = {}
    out = set()
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M):
        base = slug(m[1])
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(path: Path) -> list[str]:
    """Every relative link of a Markdown file whose file or heading does not exist."""
    text = CODE.sub("", FENCE.sub("", path.read_text(encoding="utf-8")))
    broken = []
    for m in LINK.finditer(text):
        target = m[1] or m[2]
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(f"{path.name}: {target} (no such file)")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{path.name}: {target} (no such heading in {dest.name})")
    return broken


def test_relative_links_reach_a_file_and_heading() -> None:
    broken = [b for path in rd.documents() for b in broken_links(path)]
    assert not broken, "\n".join(broken)


def test_a_broken_link_is_caught(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title: `one`, two\n\n## Title: `one`, two\n",
                                   encoding="utf-8")
    doc = tmp_path / "b.md"
    doc.write_text("[ok](a.md#title-one-two) [twice](a.md#title-one-two-1) [code](`x.md`)\n"
                   "[gone](c.md) [bad](a.md#nowhere) <img src=\"d.png\" alt=\"\">\n"
                   "```\n[in a fence](e.md)\n```\n", encoding="utf-8")
    assert broken_links(doc) == ["b.md: c.md (no such file)",
                                 "b.md: a.md#nowhere (no such heading in a.md)",
                                 "b.md: d.png (no such file)"]
