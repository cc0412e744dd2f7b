"""``bmru signoff``: the verdict in every format, waivers, incremental DRC, exit codes, and
the official LVS deck on gf180 devices the project's engine does not know.

The DRC runs are batched: one module fixture signs a small hierarchical layout off cold
(through the CLI), again after one cell changed (incremental), and a third time unchanged
(cached: no deck run). SARIF and JUnit have no schema file offline here (and no
``jsonschema``): the checks below hold the structure both schemas require, with every
property name from the SARIF 2.1.0 specification (unknown names are refused).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

import klayout.db as kdb
import pytest
from markdown_it import MarkdownIt
from pydantic import BaseModel, ConfigDict, Field

from bmru_pdk import assets, signoff
from bmru_pdk.errors import BmruError, ToolMissingError
from bmru_pdk.verification import drc, official_lvs

BMRU = [sys.executable, "-m", "bmru_pdk"]
M1 = (34, 0)


def _design(path: Path, gap: float) -> Path:
    """Metal1 pads in five cells placed in TOP: EDIT sits ``1 - gap`` µm right of NEAR (a
    space violation across the cell boundary for ``gap`` > 0.77); FAR holds a too narrow
    strip (M1.1), BAD a too small pad (M1.3), both far from EDIT."""
    ly = kdb.Layout()
    ly.dbu = 0.001

    def cell(name: str, *boxes: tuple[float, float, float, float]) -> kdb.Cell:
        c = ly.create_cell(name)
        for b in boxes:
            c.shapes(ly.layer(*M1)).insert(kdb.DBox(*b))
        return c

    top = cell("TOP", (0, 0, 2, 2))
    placed = {"NEAR": (cell("NEAR", (0, 0, 2, 2)), 60),
              "EDIT": (cell("EDIT", (1 - gap, 0, 2, 2)), 62),
              "FAR": (cell("FAR", (0, 0, 2, 2), (3, 0, 3.2, 2)), 300),
              "BAD": (cell("BAD", (0, 0, 0.34, 0.34)), 150)}
    for c, x in placed.values():
        top.insert(kdb.DCellInstArray(c.cell_index(), kdb.DTrans(kdb.DVector(x, 0))))
    ly.write(str(path))
    return path


FAR_M11 = {"rule": "M1.1", "cell": "FAR", "box": [2.9, -0.1, 3.3, 2.1],
           "reason": "test structure, kept narrow on purpose"}
UNUSED = {"rule": "M1.3", "cell": "BAD", "box": [10, 10, 11, 11], "reason": "elsewhere"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A cold run (CLI), an incremental one after EDIT moved, a cached one (CLI)."""
    d = tmp_path_factory.mktemp("signoff")
    before, after = _design(d / "before.gds", 0), _design(d / "after.gds", 0.9)
    netlist = d / "top.spice"  # a transistor the metal-only layout does not have
    netlist.write_text(".subckt TOP a b\nM1 a b a vss nfet_03v3 W=1u L=1u\n.ends\n")
    waivers = d / "waivers.json"
    waivers.write_text(json.dumps({"waivers": [FAR_M11, UNUSED]}))
    cold = subprocess.run([*BMRU, "signoff", str(before), str(netlist), "-o", str(d / "cold"),
                           "--waivers", str(waivers), "--engine", "official"],
                          capture_output=True, text=True, cwd=d)
    shutil.copytree(d / "cold", d / "warm")
    warm = signoff.run(after, None, d / "warm", waivers=waivers)
    shutil.copytree(d / "warm", d / "cached")
    everything = d / "all.toml"
    everything.write_text("".join(f'[[waivers]]\nrule = "{r}"\ncell = "{c}"\nreason = "ok"\n'
                                  for r, c in (("M1.1", "FAR"), ("M1.3", "BAD"),
                                               ("M1.2a", "NEAR"), ("M1.2a", "EDIT"))))
    cached = subprocess.run([*BMRU, "signoff", str(after), "-o", str(d / "cached"),
                             "--waivers", str(everything)], capture_output=True, text=True)
    return {"dir": d, "cold": cold, "warm": warm, "cached": cached}


def test_cold_run_exit_code_and_verdict(runs: dict) -> None:
    cold = runs["cold"]
    assert cold.returncode == 1, cold.stderr
    assert cold.stderr.strip() == (f"warning: waiver {signoff.Waiver(**UNUSED).describe()} "
                                   "matched no violation")
    data = json.loads((runs["dir"] / "cold" / "signoff.json").read_text())
    assert list(data) == ["format", "version", "verdict", "gds", "netlist", "topcell",
                          "runtime_s", "drc", "lvs", "pex", "warnings", "reports"]
    assert list(data["drc"]) == ["gds", "report", "clean", "runtime_s", "counts", "violations",
                                 "deck", "deck_s", "mode", "cells", "changed_cells",
                                 "checked_cells", "waived", "unused_waivers"]
    assert (data["verdict"], data["topcell"], data["drc"]["mode"]) == ("fail", "TOP", "full")
    assert data["drc"]["counts"] == {"M1.3": 1}  # FAR's M1.1 is waived, BAD's M1.3 is not
    assert [(w["rule"], w["cell"], w["reason"]) for w in data["drc"]["waived"]] == [
        ("M1.1", "FAR", FAR_M11["reason"])]
    assert data["drc"]["unused_waivers"] == [UNUSED]
    lvs = data["lvs"]
    assert (lvs["engine"], lvs["chosen_by"], lvs["match"]) == ("official", "flag", False)
    assert lvs["runs"]["official"]["mismatches"] == [{
        "kind": "device", "message": "schematic device M1 (NFET_03V3 W=1 L=1) in TOP has no "
                                     "match in the layout"}]
    assert data["pex"] is None and all(d["runtime_s"] >= 0 for d in (data, data["drc"], lvs))
    assert data["reports"] == ["drc.lyrdb", "lvs-official.lvsdb"]
    assert {p.name for p in (runs["dir"] / "cold").iterdir()} == {
        "signoff.json", "signoff.junit.xml", "signoff.sarif", "summary.md", "drc.lyrdb",
        "lvs-official.lvsdb", "signoff-cache.json", "bmru-manifest.json"}


def test_junit_has_the_structure_of_the_junit_schema(runs: dict) -> None:
    root = ET.parse(runs["dir"] / "cold" / "signoff.junit.xml").getroot()
    assert root.tag == "testsuites"
    counts = ("tests", "failures", "errors", "skipped")
    for suite in root:
        assert suite.tag == "testsuite" and suite.get("name")
        assert float(suite.get("time")) >= 0
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("skipped")) == sum(c.find("skipped") is not None for c in cases)
        assert {c.tag for c in suite} <= {"testcase", "system-out", "properties"}
        for case in cases:
            assert case.get("name") and case.get("classname")
            assert all(child.tag in ("failure", "skipped", "error") and child.get("message")
                       for child in case)
    for key in counts:
        assert int(root.get(key)) == sum(int(s.get(key)) for s in root)
    cases = {(s.get("name"), c.get("name")): c for s in root for c in s.findall("testcase")}
    assert cases["gf180mcu-drc", "M1.3"].find("failure") is not None
    assert "waived" in cases["gf180mcu-drc", "M1.1 (waived)"].find("skipped").get("message")
    assert "NFET_03V3" in cases["lvs", "official"].find("failure").text
    assert "matched no violation" in root.find("testsuite/system-out").text


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Message(_Strict):
    text: str = Field(min_length=1)


class _Region(_Strict):
    startLine: int = Field(ge=1)
    message: _Message | None = None


class _ArtifactLocation(_Strict):
    uri: str = Field(min_length=1)


class _PhysicalLocation(_Strict):
    artifactLocation: _ArtifactLocation
    region: _Region


class _LogicalLocation(_Strict):
    name: str
    kind: str


class _Location(_Strict):
    physicalLocation: _PhysicalLocation
    logicalLocations: list[_LogicalLocation]


class _Suppression(_Strict):
    kind: Literal["inSource", "external"]
    justification: str


class _Result(_Strict):
    ruleId: str
    level: Literal["none", "note", "warning", "error"]
    message: _Message
    locations: list[_Location] = Field(min_length=1)
    partialFingerprints: dict[str, str] = {}
    suppressions: list[_Suppression] = []


class _Rule(_Strict):
    id: str
    shortDescription: _Message


class _Driver(_Strict):
    name: str
    version: str
    rules: list[_Rule]


class _Tool(_Strict):
    driver: _Driver


class _Notification(_Strict):
    level: Literal["none", "note", "warning", "error"]
    message: _Message


class _Invocation(_Strict):
    executionSuccessful: bool
    toolExecutionNotifications: list[_Notification]


class _Run(_Strict):
    tool: _Tool
    invocations: list[_Invocation]
    results: list[_Result]


class _Sarif(_Strict):
    schema_: str = Field(alias="$schema")
    version: Literal["2.1.0"]
    runs: list[_Run] = Field(min_length=1, max_length=1)


def test_sarif_has_the_structure_of_sarif_2_1_0(runs: dict) -> None:
    sarif = _Sarif.model_validate_json((runs["dir"] / "cold" / "signoff.sarif").read_text())
    run = sarif.runs[0]
    assert {r.ruleId for r in run.results} <= {r.id for r in run.tool.driver.rules}
    by_rule = {r.ruleId: r for r in run.results}
    assert set(by_rule) == {"M1.1", "M1.3", "LVS.device"}
    bad = by_rule["M1.3"].locations[0]
    assert bad.physicalLocation.artifactLocation.uri == "before.gds"  # relative to the cwd
    assert "cell BAD" in bad.physicalLocation.region.message.text
    assert bad.logicalLocations[0].name == "BAD"
    assert not by_rule["M1.3"].suppressions  # unwaived
    assert by_rule["M1.1"].suppressions[0].justification == FAR_M11["reason"]
    assert "NFET_03V3" in by_rule["LVS.device"].message.text
    assert run.invocations[0].toolExecutionNotifications[0].level == "warning"


def test_summary_renders_with_counts_mismatches_and_links(runs: dict) -> None:
    folder = runs["dir"] / "cold"
    text = (folder / "summary.md").read_text()
    html = MarkdownIt("commonmark").enable("table").render(text)
    assert html.count("<table>") == 3  # steps, violations by rule, waived
    assert "<td>M1.3</td>\n<td>1</td>" in html
    assert "<td>M1.1</td>\n<td>FAR</td>\n<td>1</td>" in html
    assert "NFET_03V3" in html.split("LVS mismatches")[1]
    links = [ln.split('"')[1] for ln in html.split("<a href=")[1:]]
    assert links == ["drc.lyrdb", "lvs-official.lvsdb"]
    assert all((folder / ln).is_file() for ln in links)


def test_one_cell_change_rechecks_only_what_it_touches(runs: dict) -> None:
    step = runs["warm"].drc
    assert step.mode == "incremental"
    assert step.changed == ["EDIT", "TOP"]
    assert step.checked == ["EDIT", "NEAR", "TOP"]  # FAR and BAD keep their cached verdicts
    found = sorted((v.rule, v.cell) for v in step.result.violations)
    # what a full run of the changed layout reports: the space across the EDIT / NEAR
    # boundary (in both cells), and the cached markers of the cells not re-checked
    assert found == [("M1.1", "FAR"), ("M1.2a", "EDIT"), ("M1.2a", "NEAR"), ("M1.3", "BAD")]
    assert [v.cell for v, _ in step.waived] == ["FAR"]
    # the merged marker database reads back as the deck's own
    violations, descriptions = drc.parse_lyrdb(runs["dir"] / "warm" / "drc.lyrdb")
    assert sorted((v.rule, v.cell) for v in violations) == found
    assert "0.23" in descriptions["M1.2a"]


def test_unchanged_layout_keeps_the_cached_verdict(runs: dict) -> None:
    cached = runs["cached"]
    assert cached.returncode == 0, cached.stderr  # every violation waived
    data = json.loads((runs["dir"] / "cached" / "signoff.json").read_text())
    assert (data["verdict"], data["drc"]["mode"], data["drc"]["deck_s"]) == ("pass", "cached", 0)
    assert data["drc"]["checked_cells"] == [] and len(data["drc"]["waived"]) == 4
    assert "4 violation(s) waived" in cached.stdout


def _wire_pairs(path: Path, shift: float) -> Path:
    """Two labelled pairs of metal1 wires 0.8 mm apart, so the layout (0.64 mm²) is extracted
    in windows, two of them holding shapes; the upper pair moved ``shift`` µm right."""
    ly = kdb.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("TOP")
    for k, (x, y) in enumerate(((0, 0), (740 + shift, 799))):
        for j, dy in enumerate((0, -1.5)):
            top.shapes(ly.layer(*M1)).insert(kdb.DBox(x, y + dy, x + 50, y + dy + 0.5))
            top.shapes(ly.layer(34, 10)).insert(kdb.DText(f"n{k}{j}", x + 1, y + dy + 0.25))
    ly.write(str(path))
    return path


def test_pex_rerun_extracts_only_the_windows_that_changed(tmp_path: Path) -> None:
    from bmru_pdk.verification import pex

    try:
        pex.kpex_program()
    except ToolMissingError as exc:
        pytest.skip(f"KLayout-PEX is not installed (run scripts/setup_pex.sh): {exc}")
    gds, out = _wire_pairs(tmp_path / "a.gds", 0), tmp_path / "out"
    first = signoff.run(gds, None, out, pex=True).pex
    assert first.windows == first.kpex_runs == 2
    again = signoff.run(gds, None, out, pex=True).pex
    assert again.kpex_runs == 0 and again.capacitors == first.capacitors
    # the upper pair moved: its window runs again, the other comes from the cache
    moved = signoff.run(_wire_pairs(tmp_path / "b.gds", 2.0), None, out, pex=True).pex
    assert moved.kpex_runs == 1
    # the folder keeps this layout's two windows, not the moved pair's old one
    assert len(list((out / signoff.PEX_CACHE).glob("*.json"))) == 2


def test_waivers_read_from_json_and_toml(tmp_path: Path) -> None:
    as_json = tmp_path / "w.json"
    as_json.write_text(json.dumps({"waivers": [FAR_M11]}))
    as_toml = tmp_path / "w.toml"
    as_toml.write_text('[[waivers]]\nrule = "M1.1"\ncell = "FAR"\nbox = [2.9, -0.1, 3.3, 2.1]\n'
                       f'reason = "{FAR_M11["reason"]}"\n')
    assert signoff.read_waivers(as_json) == signoff.read_waivers(as_toml)
    waiver = signoff.read_waivers(as_json)[0]
    inside = drc.Violation("M1.1", "FAR", (3.0, 0.0, 3.2, 2.0))
    outside = drc.Violation("M1.1", "FAR", (5.0, 0.0, 5.2, 2.0))
    other = drc.Violation("M1.1", "NEAR", (3.0, 0.0, 3.2, 2.0))
    kept, waived, unused = signoff.apply_waivers([inside, outside, other], [waiver])
    assert (kept, [v for v, _ in waived], unused) == ([outside, other], [inside], [])


@pytest.mark.parametrize(("content", "message"), [
    ('{"waivers": [{"rule": "M1.1", "cell": "X"}]}', "invalid at waivers.0.reason"),
    ('{"waivers": [{"rule": "M1.1", "cell": "X", "box": [2, 0, 1, 1], "reason": "r"}]}',
     "x1 <= x2"),
    ("{not json", "is not valid JSON"),
])
def test_bad_waiver_file_is_one_sentence_exit_2(tmp_path: Path, content: str,
                                                 message: str) -> None:
    gds = _design(tmp_path / "d.gds", 0)
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    proc = subprocess.run([*BMRU, "signoff", str(gds), "-o", str(tmp_path / "o"),
                           "--waivers", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: the waiver file") and message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.parametrize("args", [["nope.gds"], ["d.gds", "nope.spice"],
                                  ["d.gds", "--engine", "magic"]])
def test_usage_errors_exit_2(tmp_path: Path, args: list[str]) -> None:
    _design(tmp_path / "d.gds", 0)
    proc = subprocess.run([*BMRU, "signoff", *args, "-o", "o"], capture_output=True, text=True,
                          cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


# ------------------------------------------------ gf180 devices on the official deck

COMP, POLY, NPLUS, PPLUS, NWELL, CONT = (22, 0), (30, 0), (32, 0), (31, 0), (21, 0), (33, 0)
DUALGATE, SAB, RES_MK, DIODE_MK = (55, 0), (49, 0), (110, 5), (115, 5)
METAL5, FUSETOP, VIA5, METALTOP = (81, 0), (75, 0), (82, 0), (53, 0)
CAP_MK, MIM_L_MK = (117, 5), (117, 10)

# one of each device, as the official deck names it; the size each test layout draws
SCHEMATIC = {
    "nfet_06v0": "M1 d1 g1 s1 vss nfet_06v0 W=2u L=0.7u",
    "pfet_06v0": "M2 d2 g2 s2 vdd pfet_06v0 W=2u L=0.55u",
    "ppolyf_u": "R1 a b vss ppolyf_u W=1u L=10u",
    "cap_mim_2f0fF": "C1 bot top cap_mim_2f0fF W=5u L=5u",
    "diode_pd2nw_03v3": "D1 p n diode_pd2nw_03v3 A=4p P=8u",
}
WRONG = {"nfet_06v0": ("W=2u", "W=2.2u"), "pfet_06v0": ("L=0.55u", "L=0.6u"),
         "ppolyf_u": ("L=10u", "L=11u"), "cap_mim_2f0fF": ("W=5u", "W=6u"),
         "diode_pd2nw_03v3": ("A=4p", "A=5p")}


def _devices(path: Path) -> Path:
    """One 6 V nfet and pfet, an unsalicided p+ poly resistor, a MIM capacitor (Metal5 /
    FuseTop / MetalTop) and a p+/nwell diode, side by side, each with labelled Metal1 (or
    Metal5 / MetalTop) terminals: the layers and markers the official deck extracts them
    from (DRC is not the point here)."""
    ly = kdb.Layout()
    ly.dbu = 0.001
    top = ly.create_cell("DEVICES")

    def box(layer: tuple[int, int], x1: float, y1: float, x2: float, y2: float) -> None:
        top.shapes(ly.layer(*layer)).insert(kdb.DBox(x1, y1, x2, y2))

    def label(layer: tuple[int, int], text: str, x: float, y: float) -> None:
        top.shapes(ly.layer(layer[0], 10)).insert(kdb.DText(text, x, y))

    def contact(x: float, y: float, net: str) -> None:
        box(CONT, x - 0.11, y - 0.11, x + 0.11, y + 0.11)
        box(M1, x - 0.2, y - 0.2, x + 0.2, y + 0.2)
        label(M1, net, x, y)

    def tap(x: float, y: float, implant: tuple[int, int], net: str) -> None:
        box(COMP, x - 0.3, y - 0.3, x + 0.3, y + 0.3)
        box(implant, x - 0.5, y - 0.5, x + 0.5, y + 0.5)
        contact(x, y, net)

    def mos(x: float, w: float, length: float, implant: tuple[int, int], k: int) -> None:
        box(COMP, x, 0, x + 2 + length, w)
        box(POLY, x + 1, -0.5, x + 1 + length, w + 1.2)
        contact(x + 0.5, w / 2, f"s{k}")
        contact(x + 1.5 + length, w / 2, f"d{k}")
        contact(x + 1 + length / 2, w + 0.9, f"g{k}")
        box(implant, x - 0.3, -0.3, x + 2.3 + length, w + 0.3)
        box(DUALGATE, x - 1, -1, x + 4, w + 2.5)  # 6 V gate oxide

    mos(0, 2, 0.7, NPLUS, 1)
    tap(-3, 1, PPLUS, "vss")
    mos(20, 2, 0.55, PPLUS, 2)
    box(NWELL, 17, -1.5, 25, 5)
    tap(18, 1, NPLUS, "vdd")
    # ppolyf_u: 1 µm wide p+ poly, 10 µm between the salicide block's edges
    box(POLY, 40, 0, 52, 1)
    box(PPLUS, 39.7, -0.3, 52.3, 1.3)
    box(SAB, 41, -0.3, 51, 1.3)
    box(RES_MK, 41, -0.3, 51, 1.3)
    contact(40.5, 0.5, "a")
    contact(51.5, 0.5, "b")
    # MIM (option B on 6 metals): Metal5 bottom plate, FuseTop 5 x 5 µm top plate
    box(METAL5, 60, 0, 68, 8)
    label(METAL5, "bot", 60.5, 0.5)
    box(FUSETOP, 61, 1, 66, 6)
    box(CAP_MK, 60, 0, 68, 8)
    box(MIM_L_MK, 60, 0, 68, 8)
    box(VIA5, 63.37, 3.37, 63.63, 3.63)
    box(METALTOP, 61, 1, 66, 6)
    label(METALTOP, "top", 63.5, 3.5)
    # p+ / nwell diode, 2 x 2 µm
    box(NWELL, 77, -2, 84, 4)
    tap(78, 1, NPLUS, "n")
    box(COMP, 80, 0, 82, 2)
    box(PPLUS, 79.8, -0.2, 82.2, 2.2)
    box(DIODE_MK, 79.8, -0.2, 82.2, 2.2)
    contact(81, 1, "p")
    ly.write(str(path))
    return path


def _netlist(path: Path, wrong: str | None = None) -> Path:
    lines = [ln.replace(*WRONG[wrong]) if dev == wrong else ln for dev, ln in SCHEMATIC.items()]
    pins = "d1 g1 s1 vss d2 g2 s2 vdd a b bot top p n"
    path.write_text(f".subckt DEVICES {pins}\n" + "\n".join(lines) + "\n.ends\n")
    return path


@pytest.fixture(scope="module")
def devices(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        assets.lvs_deck()
    except ToolMissingError as err:
        pytest.skip(f"official LVS deck unavailable: {err}")
    return _devices(tmp_path_factory.mktemp("devices") / "devices.gds")


def test_official_deck_extracts_and_matches_each_device(devices: Path, tmp_path: Path) -> None:
    result = official_lvs.run(devices, _netlist(tmp_path / "ok.spice"), tmp_path / "ok.lvsdb")
    assert result.match, result.summary()
    assert result.devices == dict.fromkeys(sorted(SCHEMATIC), 1)
    assert result.topcell == "DEVICES" and (tmp_path / "ok.lvsdb").is_file()
    assert result.runtime_s > 0


@pytest.mark.parametrize("device", sorted(WRONG))
def test_official_deck_catches_a_wrong_parameter(devices: Path, tmp_path: Path,
                                                 device: str) -> None:
    result = official_lvs.run(devices, _netlist(tmp_path / "wrong.spice", device))
    assert not result.match
    assert [m.kind for m in result.mismatches] == ["parameter"]
    assert device.lower() in result.mismatches[0].message.lower()
    others = set(SCHEMATIC) - {device}
    assert not any(o.lower() in result.mismatches[0].message.lower() for o in others)


def test_engine_choice_and_where_the_engines_disagree(devices: Path, tmp_path: Path) -> None:
    own = tmp_path / "own.spice"
    own.write_text(".subckt T d g s vss\nXM1 d g s vss nfet_03v3 w=1u l=1u\n.ends\n")
    assert signoff.netlist_engine(own) == "own"
    netlist = _netlist(tmp_path / "ok.spice")
    assert signoff.netlist_engine(netlist) == "official"
    step = signoff.check_lvs(devices, netlist, tmp_path, signoff.Engine.both)
    assert set(step.runs) == {"own", "official"} and not step.match
    assert step.runs["official"].match
    # the project's reader knows no three-terminal resistor: it cannot check the netlist
    assert "cannot check it" in step.runs["own"].mismatches[0].message
    assert step.disagreements[0].startswith("verdict: the project's engine says mismatch")
    assert ("cap_mim_2f0fF: 0 devices extracted by the project's engine, 1 by the official "
            "gf180mcu deck") in step.disagreements
    assert (tmp_path / "lvs-official.lvsdb").is_file()
    with pytest.raises(BmruError, match="does not exist"):
        signoff.check_lvs(devices, tmp_path / "nope.spice", tmp_path, signoff.Engine.auto)
