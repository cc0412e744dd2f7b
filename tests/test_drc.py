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
    report = tmp_path / "seeded.lyrdb"
    result = drc.run(seeded_drc_gds, report)
    assert not result.clean
    assert {"M1.3", "M1.1", "CO.11", "CO.6"} <= set(result.counts)
    width = next(v for v in result.violations if v.rule == "M1.1")
    assert width.cell == "TOP" and width.bbox[0] == pytest.approx(2.0, abs=0.01)
    assert "Metal1" in result.descriptions["M1.1"] or "M1" in result.descriptions["M1.1"]
    assert report.is_file() and not list(tmp_path.glob("*.part"))

    suite = ET.fromstring(result.to_junit())
    assert int(suite.get("failures")) == len(result.counts)
    data = json.loads(result.to_json())
    assert data["clean"] is False and data["counts"]["M1.1"] == 1


def test_cli_exit_codes(seeded_drc_gds: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    proc = subprocess.run([*BMRU, "drc", str(seeded_drc_gds), "--json", str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1, proc.stderr
    assert "M1.1" in proc.stdout and json.loads(out.read_text())["counts"]["M1.3"] == 1

    missing = subprocess.run([*BMRU, "drc", str(tmp_path / "nope.gds")],
                             capture_output=True, text=True)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: the layout") and "does not exist" in missing.stderr


def test_not_a_gds_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gds"
    bad.write_text("this is not a layout")
    with pytest.raises(BmruError, match="klayout failed"):
        drc.run(bad)
    assert not bad.with_suffix(".lyrdb").exists()
