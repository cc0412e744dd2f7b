"""DRC with the official gf180mcu deck, run headless by the ``klayout`` program.

The deck is KLayout Ruby DSL, so it needs the klayout executable (not the pip module).
Deep mode keeps the hierarchy: each marker is reported in the cell that holds it, which
maps markers of a side-by-side sweep straight back to their device cells.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bmru_pdk import assets
from bmru_pdk.errors import BmruError, ToolMissingError
from bmru_pdk.fileio import atomic_path, write_text
from bmru_pdk.verification.extract import load_layout


@dataclass(frozen=True)
class Violation:
    """One DRC marker: the rule, the cell holding it, its bounding box in that cell (µm)."""

    rule: str
    cell: str
    bbox: tuple[float, float, float, float]


@dataclass
class DrcResult:
    """The outcome of one deck run."""

    gds: str
    report: str
    runtime_s: float
    violations: list[Violation] = field(default_factory=list)
    descriptions: dict[str, str] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not self.violations

    @property
    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(v.rule for v in self.violations).items()))

    def by_cell(self) -> dict[str, dict[str, int]]:
        """Rule counts per cell, for sweeps placed side by side."""
        out: dict[str, Counter[str]] = {}
        for v in self.violations:
            out.setdefault(v.cell, Counter())[v.rule] += 1
        return {c: dict(sorted(n.items())) for c, n in sorted(out.items())}

    def to_json(self) -> str:
        return json.dumps(
            {
                "gds": self.gds,
                "report": self.report,
                "clean": self.clean,
                "runtime_s": round(self.runtime_s, 2),
                "counts": self.counts,
                "violations": [asdict(v) for v in self.violations],
            },
            indent=2,
        )

    def to_junit(self) -> str:
        """One JUnit test case per violated rule (or one passing case), for CI dashboards."""
        suite = ET.Element(
            "testsuite", name="gf180mcu-drc", tests=str(max(1, len(self.counts))),
            failures=str(len(self.counts)), time=f"{self.runtime_s:.2f}",
        )
        if self.clean:
            ET.SubElement(suite, "testcase", classname="drc", name=Path(self.gds).name)
        for rule, n in self.counts.items():
            case = ET.SubElement(suite, "testcase", classname="drc", name=rule)
            first = next(v for v in self.violations if v.rule == rule)
            fail = ET.SubElement(
                case, "failure", message=f"{n} violation(s) of {rule}: "
                f"{self.descriptions.get(rule, '')}",
            )
            fail.text = f"first in cell {first.cell} at {first.bbox}"
        return ET.tostring(suite, encoding="unicode")

    def summary(self) -> str:
        if self.clean:
            return f"DRC clean: {self.gds} ({self.runtime_s:.1f} s)"
        lines = [f"DRC: {len(self.violations)} violation(s) in {self.gds}"]
        lines += [f"  {rule}: {n}  {self.descriptions.get(rule, '')}"
                  for rule, n in self.counts.items()]
        return "\n".join(lines)


def _bbox(value: str) -> tuple[float, float, float, float]:
    # values look like "polygon: (x,y;x,y;...)" or "edge-pair: (x,y;x,y)|(x,y;x,y)"
    body = value.split(":", 1)[-1]
    nums = [float(n) for n in body.replace("(", " ").replace(")", " ").replace("|", ";")
            .replace("/", ";").replace(";", ",").split(",") if n.strip()]
    xs, ys = nums[0::2], nums[1::2]
    return (min(xs), min(ys), max(xs), max(ys))


def parse_lyrdb(path: str | Path) -> tuple[list[Violation], dict[str, str]]:
    """Read a KLayout report database: the markers and the rule descriptions."""
    root = ET.parse(path).getroot()
    descriptions = {
        c.findtext("name", ""): c.findtext("description", "")
        for c in root.iter("category")
    }
    violations = []
    for item in root.iter("item"):
        rule = item.findtext("category", "").strip("'")
        cell = item.findtext("cell", "")
        for value in item.iter("value"):
            if value.text and ":" in value.text:
                violations.append(Violation(rule, cell, _bbox(value.text)))
                break
    return violations, descriptions


# Loaded before a gf180 deck (klayout -rm): the decks' logger runs ``pmap`` for every line it
# prints (memory use), a process per line, hundreds a run whatever the layout, that tells a
# user nothing; the answer is a placeholder instead.
NO_PMAP = """module Kernel
  alias_method :bmru_backtick, :`
  def `(cmd)
    cmd.to_s.start_with?("pmap ") ? (" " * 10 + "n/a") : bmru_backtick(cmd)
  end
end
"""


def klayout_program() -> str:
    """The path of the ``klayout`` executable, or a clear error."""
    exe = shutil.which("klayout")
    if exe is None:
        raise ToolMissingError(
            "the 'klayout' program is not installed: "
            "run 'apt-get install klayout' (or 'make setup')"
        )
    return exe


def run(
    gds: str | Path,
    report: str | Path | None = None,
    *,
    threads: int = 2,
    topcell: str | None = None,
    timeout: float = 3600,
) -> DrcResult:
    """Run the official gf180mcu deck on ``gds`` and return its markers.

    Args:
        gds: layout to check.
        report: where to write the ``.lyrdb`` (default: beside the GDS).
        threads: deck threads (``thr``).
        topcell: top cell to check (default: the layout's only top cell).
        timeout: seconds before the run is abandoned.

    Raises:
        BmruError: ``gds`` is not a readable layout, has no single top cell (without
            ``topcell``) or no cell ``topcell``; klayout failed or timed out.
    """
    gds = Path(gds)
    # a file that is not a layout, or one without a single top cell, is one sentence before
    # the deck's start-up, not its Ruby error after
    _, top = load_layout(gds, topcell)
    report = Path(report) if report else gds.with_suffix(".lyrdb")
    exe = klayout_program()
    deck = assets.drc_deck()
    with atomic_path(report) as tmp, tempfile.TemporaryDirectory(prefix="bmru-drc-") as work:
        prelude = Path(work) / "prelude.rb"
        prelude.write_text(NO_PMAP)
        cmd = [exe, "-b", "-rm", str(prelude), "-r", str(deck), "-rd", f"input={gds.resolve()}",
               "-rd", f"report={tmp.resolve()}", "-rd", f"thr={threads}", "-rd", "run_mode=deep",
               "-rd", f"topcell={top.name}"]  # the cell chosen above, named or the only one
        start = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise BmruError(f"DRC of {gds} did not finish within {timeout:.0f} s") from exc
        runtime = time.perf_counter() - start
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            lines = (proc.stdout + proc.stderr).strip().splitlines() or ["no output"]
            # the deck's Ruby error is one line; the backtrace under it says nothing to a user
            why = next((ln for ln in lines if "ERROR" in ln), lines[-1]).strip()
            raise BmruError(f"klayout failed to run the DRC deck on {gds}: {why}")
        violations, descriptions = parse_lyrdb(tmp)
    return DrcResult(str(gds), str(report), runtime, violations, descriptions)


def write_outputs(result: DrcResult, json_path: Path | None, junit_path: Path | None) -> None:
    """Write the optional JSON and JUnit reports atomically."""
    if json_path:
        write_text(json_path, result.to_json())
    if junit_path:
        write_text(junit_path, result.to_junit())
