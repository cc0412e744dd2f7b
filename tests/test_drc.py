"""The official deck through bmru_pdk.verification.drc and ``bmru drc``."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bmru_pdk.errors import BmruError
from bmru_pdk.verification import drc

BMRU = [sys.executable, "-m", "bmru_pdk"]


def test_seeded_violations_are_reported_by_rule(seeded_drc_gds: Path, tmp_path: Path) -> None:
    """One deck run through the CLI: exit code, every report format, each rule by name."""
    report, out, junit = tmp_path / "seeded.lyrdb", tmp_path / "r.json", tmp_path / "r.xml"
    proc = subprocess.run([*BMRU, "drc", str(seeded_drc_gds), "--report", str(report),
                           "--json", str(out), "--junit", str(junit)],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "M1.1" in proc.stdout
    assert not list(tmp_path.glob("*.part"))

    violations, descriptions = drc.parse_lyrdb(report)
    rules = {v.rule for v in violations}
    assert {"M1.3", "M1.1", "CO.11", "CO.6"} <= rules
    width = next(v for v in violations if v.rule == "M1.1")
    assert width.cell == "TOP" and width.bbox[0] == pytest.approx(2.0, abs=0.01)
    assert "0.23" in descriptions["M1.1"]

    data = json.loads(out.read_text())
    assert data["clean"] is False and data["counts"]["M1.1"] == 1 and data["counts"]["M1.3"] == 1
    suite = ET.parse(junit).getroot()
    assert int(suite.get("failures")) == len(data["counts"])


def test_missing_layout_exits_2(tmp_path: Path) -> None:
    missing = subprocess.run([*BMRU, "drc", str(tmp_path / "nope.gds")],
                             capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: the layout") and "does not exist" in missing.stderr


def test_not_a_gds_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gds"
    bad.write_text("this is not a layout")
    with pytest.raises(BmruError, match="is not a layout file"):
        drc.run(bad)
    assert not bad.with_suffix(".lyrdb").exists()
