"""The sign-off gate: DRC, LVS and (when asked) parasitics on any gf180 layout, one verdict.

``bmru signoff GDS [NETLIST] -o DIR`` writes into ``DIR`` (whole or not at all, as every
output folder): ``signoff.json`` (the verdict and each step with its run time, stable keys),
``signoff.junit.xml``, ``signoff.sarif`` (SARIF 2.1.0 for code scanning), ``summary.md`` (for
a pull-request comment), the reports (``drc.lyrdb``, ``lvs.lvsdb`` / ``lvs-official.lvsdb``,
``pex.spice``) and ``signoff-cache.json``, the cells' hashes and verdicts the next run
starts from; with parasitics of a layout extracted in windows, ``pex-cache/``, each window's
kpex result by its content, so a rerun extracts only the windows a change reaches.

LVS runs the project's strict engine (:mod:`bmru_pdk.verification.lvs`) when every device of
the schematic is an ``nfet_03v3`` / ``pfet_03v3`` and the official gf180mcu deck
(:mod:`bmru_pdk.verification.official_lvs`) otherwise; ``--engine`` chooses, ``both`` runs
both and reports where they disagree.

Waivers (:func:`read_waivers`) take a violation out of the verdict, never out of the
reports: each waived violation is listed apart in every format, and a waiver that matches
nothing is a warning.

Incremental DRC
---------------
Each cell has two hashes: ``local`` (its own shapes and where it places which cells, by
name) and ``full`` (its own shapes and the full hashes of the cells it places, so a change
anywhere below a cell changes it). A rerun into the same folder compares them with the cache:

- nothing changed: the cached verdict stands, the deck does not run;
- the top cell changed locally, or no usable cache (another deck, another top cell): the
  whole layout is checked;
- otherwise the changed region R is the outline, in the top cell, of every placement of a
  locally changed (or new) cell, reached through the cells that changed only below. The deck
  runs on a copy of the layout holding every cell that changed (the changed cells and every
  cell that places them, up to the top) with only their placements that come within
  2 x :data:`HALO_UM` of R; an unchanged cell is placed whole, never cut. The new verdict
  takes from that run the markers within :data:`HALO_UM` of R, and from the cache every
  marker further away, in unchanged cells and in the changed cells' unchanged parts alike.

This is exact for rules that look no further than :data:`HALO_UM` from a marker: every width,
space, enclosure and overlap rule of the deck, and the 20 µm tap distances (DF.13, DF.14).
Its limits: a rule on a whole merged shape (area, length, holes) or on connectivity (the
same-net spacings) sees within the window only the part of a shape or net that reaches into
it. A net joined far away looks unconnected there, which needs the larger different-net
spacing: a false marker, never a missed one; a merged shape larger than the window could
hide an upper size limit (the deck's are >= 50 µm, for MIM, LDMOS and resistor markers) in
an incremental run. LDMOS's 40 µm spacing (MDP.17a) is beyond the halo. Markers are kept in
the cell the run that found them named. A full run (a new output folder) is the reference.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import time
import tomllib
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Literal

import klayout.db as kdb
import klayout.rdb as rdb
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

import bmru_pdk
from bmru_pdk import assets
from bmru_pdk.errors import BmruError
from bmru_pdk.executor import Executor
from bmru_pdk.fileio import output_dir, write_text
from bmru_pdk.verification import drc, lvs, official_lvs
from bmru_pdk.verification import pex as pex_engine
from bmru_pdk.verification.drc import DrcResult, Violation
from bmru_pdk.verification.extract import DEVICES, load_layout
from bmru_pdk.verification.lvs import LvsResult
from bmru_pdk.verification.pex import PexResult

HALO_UM = 20.0
CACHE = "signoff-cache.json"
PEX_CACHE = "pex-cache"
FILES = {"json": "signoff.json", "junit": "signoff.junit.xml", "sarif": "signoff.sarif",
         "summary": "summary.md", "lyrdb": "drc.lyrdb", "own": "lvs.lvsdb",
         "official": "lvs-official.lvsdb", "pex": "pex.spice"}
_FORMAT, _VERSION = "bmru-signoff", 1
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_DECK = f"{assets.DRC_DECK.requirement} {next(iter(assets.DRC_DECK.files.values()))}"
_ENGINE_NAMES = {"own": "the project's engine", "official": "the official gf180mcu deck"}


class Engine(str, Enum):
    """Which LVS engine checks the netlist."""

    auto = "auto"
    own = "own"
    official = "official"
    both = "both"


# ---------------------------------------------------------------------------- waivers


class Waiver(BaseModel):
    """One accepted DRC violation: a rule in a cell, optionally only inside a box (µm, in
    the cell's coordinates), and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule: str = Field(min_length=1)
    cell: str = Field(min_length=1)
    box: tuple[float, float, float, float] | None = None
    reason: str = Field(min_length=1)

    @model_validator(mode="after")
    def _ordered(self) -> Waiver:
        if self.box and not (self.box[0] <= self.box[2] and self.box[1] <= self.box[3]):
            raise ValueError("box must be [x1, y1, x2, y2] with x1 <= x2 and y1 <= y2")
        return self

    def covers(self, v: Violation) -> bool:
        """Whether this waiver accepts ``v`` (its box holds the marker, to 1 nm)."""
        if (v.rule, v.cell) != (self.rule, self.cell):
            return False
        if self.box is None:
            return True
        x1, y1, x2, y2 = self.box
        eps = 1e-3
        return (v.bbox[0] >= x1 - eps and v.bbox[1] >= y1 - eps and v.bbox[2] <= x2 + eps
                and v.bbox[3] <= y2 + eps)

    def describe(self) -> str:
        """One line naming the waiver."""
        where = f" in box {list(self.box)}" if self.box else ""
        return f"{self.rule} in cell {self.cell}{where} ({self.reason})"


class _WaiverFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    waivers: list[Waiver]


def read_waivers(path: str | Path) -> list[Waiver]:
    """Read and validate a waiver file: JSON (``.json``) or TOML (``.toml``).

    JSON: ``{"waivers": [{"rule": "M1.2a", "cell": "top", "box": [0, 0, 5, 5],
    "reason": "..."}]}``; TOML: one ``[[waivers]]`` table per waiver with the same keys.

    Raises:
        BmruError: a missing or unreadable file, or an entry that is not a waiver.
    """
    path = Path(path)
    toml = path.suffix.lower() == ".toml"
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise BmruError(f"cannot read the waiver file {path}: "
                        f"{getattr(exc, 'strerror', None) or exc}") from None
    try:
        raw = tomllib.loads(text) if toml else json.loads(text)
    except ValueError as exc:  # JSONDecodeError and TOMLDecodeError are ValueErrors
        raise BmruError(f"the waiver file {path} is not valid {'TOML' if toml else 'JSON'}: "
                        f"{exc}") from None
    try:
        return _WaiverFile.model_validate(raw).waivers
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "the top level"
        raise BmruError(f"the waiver file {path} is invalid at {where}: {err['msg']}") from None


def apply_waivers(violations: list[Violation], waivers: list[Waiver]
                  ) -> tuple[list[Violation], list[tuple[Violation, Waiver]], list[Waiver]]:
    """Split violations by the waivers that cover them.

    Args:
        violations: every DRC marker.
        waivers: the accepted ones (:func:`read_waivers`).

    Returns:
        The violations no waiver covers, each waived one with the first waiver covering it,
        and the waivers that covered nothing.
    """
    kept, waived, used = [], [], set()
    for v in violations:
        k = next((k for k, w in enumerate(waivers) if w.covers(v)), None)
        if k is None:
            kept.append(v)
        else:
            waived.append((v, waivers[k]))
            used.add(k)
    return kept, waived, [w for k, w in enumerate(waivers) if k not in used]


# ------------------------------------------------------------------- incremental DRC


class CellHash(BaseModel):
    """A cell's content hashes: ``local`` (own shapes, placements of cells by name) and
    ``full`` (own shapes, placements with the full hashes of the placed cells)."""

    model_config = ConfigDict(frozen=True)

    full: str
    local: str


def _members(inst: kdb.Instance) -> list[kdb.DCplxTrans]:
    """The transformations (µm) of every member of a placement (one, or an array's)."""
    t = inst.dcplx_trans
    if not inst.is_regular_array():
        return [t]
    return [kdb.DCplxTrans(inst.da * i + inst.db * j) * t
            for i in range(inst.na) for j in range(inst.nb)]


def _subtree(layout: kdb.Layout, top: kdb.Cell) -> list[int]:
    """The cells below ``top`` and ``top`` itself, each after every cell it places."""
    wanted = set(top.called_cells()) | {top.cell_index()}
    return [ci for ci in layout.each_cell_bottom_up() if ci in wanted]


def cell_hashes(layout: kdb.Layout, top: kdb.Cell) -> dict[str, CellHash]:
    """The content hashes of ``top`` and every cell below it.

    Args:
        layout: the layout read.
        top: the top cell checked.

    Returns:
        :class:`CellHash` by cell name.
    """
    infos = sorted(layout.layer_indexes(), key=lambda li: str(layout.get_info(li)))
    hashes: dict[int, CellHash] = {}
    for ci in _subtree(layout, top):
        cell = layout.cell(ci)
        own = hashlib.sha256(f"dbu {layout.dbu}\n".encode())
        for li in infos:
            shapes = sorted(str(s) for s in cell.shapes(li).each())
            if shapes:
                own.update(f"layer {layout.get_info(li)}\n{chr(10).join(shapes)}\n".encode())
        placed = sorted(
            (inst.cell.name, hashes[inst.cell_index].full, str(inst.cplx_trans),
             str((inst.a, inst.b, inst.na, inst.nb)) if inst.is_regular_array() else "")
            for inst in cell.each_inst())
        local, full = own.copy(), own
        local.update(repr([(n, t, a) for n, _, t, a in placed]).encode())
        full.update(repr([(h, t, a) for _, h, t, a in placed]).encode())
        hashes[ci] = CellHash(full=full.hexdigest(), local=local.hexdigest())
    return {layout.cell(ci).name: h for ci, h in hashes.items()}


class _Cache(BaseModel):
    """``signoff-cache.json``: the cells' hashes and the per-cell DRC verdict of a run."""

    format: Literal["bmru-signoff-cache"]
    version: Literal[1]
    deck: str
    halo_um: float
    top: str
    cells: dict[str, CellHash]
    violations: dict[str, list[tuple[str, float, float, float, float]]]
    descriptions: dict[str, str]


def _read_cache(path: Path, top: str) -> _Cache | None:
    """The cache of the last run into the folder, if it is one this run can build on."""
    try:
        cache = _Cache.model_validate_json(path.read_bytes())
    except (OSError, ValidationError):
        return None
    if (cache.deck, cache.halo_um, cache.top) != (_DECK, HALO_UM, top):
        return None
    return cache


def _cache_json(top: str, hashes: dict[str, CellHash], result: DrcResult) -> str:
    """The cache of a run: the cells' hashes and every marker of ``result``, by cell."""
    verdicts: dict[str, list[tuple[str, float, float, float, float]]] = defaultdict(list)
    for v in sorted(result.violations, key=_key):
        verdicts[v.cell].append((v.rule, *v.bbox))
    rules = {v.rule for v in result.violations}
    cache = _Cache(format="bmru-signoff-cache", version=1, deck=_DECK, halo_um=HALO_UM, top=top,
                   cells=dict(sorted(hashes.items())),
                   violations=dict(sorted(verdicts.items())),
                   descriptions={r: d for r, d in sorted(result.descriptions.items())
                                 if r in rules})
    return cache.model_dump_json(indent=1) + "\n"


def _key(v: Violation) -> tuple:
    """What makes a marker the same marker: rule, cell, box."""
    return (v.rule, v.cell, v.bbox)


class _Placements:
    """Every placement of a cell in the top cell's coordinates (µm), found on demand."""

    def __init__(self, layout: kdb.Layout, top: kdb.Cell) -> None:
        self.layout = layout
        self.below = set(_subtree(layout, top))
        self.known: dict[int, list[kdb.DCplxTrans]] = {top.cell_index(): [kdb.DCplxTrans()]}

    def of(self, name: str) -> list[kdb.DCplxTrans] | None:
        """The placements of the cell ``name``; ``None`` for a cell not below the top."""
        cell = self.layout.cell(name)
        if cell is None or cell.cell_index() not in self.below:
            return None
        return self._of(cell.cell_index())

    def _of(self, ci: int) -> list[kdb.DCplxTrans]:
        if ci not in self.known:
            out = []
            for parent in self.layout.cell(ci).each_parent_inst():
                pci = parent.parent_cell_index()
                if pci in self.below:
                    out += [t * m for t in self._of(pci) for m in _members(parent.child_inst())]
            self.known[ci] = out
        return self.known[ci]

    def near(self, v: Violation, zone: list[kdb.DBox]) -> list[bool] | None:
        """For each placement of ``v``'s marker: whether it touches ``zone``; ``None`` for a
        marker in a cell the layout does not place (it could be anywhere)."""
        ts = self.of(v.cell)
        if ts is None:
            return None
        box = kdb.DBox(*v.bbox)
        return [any(box.transformed(t).touches(z) for z in zone) for t in ts]


@dataclass
class _Plan:
    """What a rerun checks: the changed cells and the region they changed (outlines in top
    coordinates)."""

    changed: list[str]
    region: list[kdb.DBox]


def _plan(layout: kdb.Layout, top: kdb.Cell, hashes: dict[str, CellHash],
          cache: _Cache) -> _Plan | None:
    """The incremental plan, or ``None`` when the top cell itself changed (check it all)."""
    def status(name: str) -> str:
        old = cache.cells.get(name)
        if old is None or old.local != hashes[name].local:
            return "changed"
        return "same" if old.full == hashes[name].full else "below"

    if status(top.name) == "changed":
        return None
    region: list[kdb.DBox] = []
    stack = [(top, kdb.DCplxTrans())]
    while stack:
        cell, t = stack.pop()
        for inst in cell.each_inst():
            s = status(inst.cell.name)
            for m in [] if s == "same" else _members(inst):
                if s == "changed":
                    region.append(inst.cell.dbbox().transformed(t * m))
                else:
                    stack.append((inst.cell, t * m))
    changed = sorted(n for n in hashes if status(n) != "same")
    return _Plan(changed, region)


def _pruned(layout: kdb.Layout, top: kdb.Cell, window: list[kdb.DBox]) -> kdb.Layout:
    """A copy of the layout in which every cell keeps only the placements that reach
    ``window`` (top coordinates) and all of its own shapes; a cell placed several times
    keeps what any of its placements needs."""
    copy = layout.dup()
    order = list(reversed(_subtree(copy, copy.cell(top.name))))  # each before what it places
    windows: dict[int, list[kdb.DBox]] = {order[0]: window}
    for ci in order:
        win = windows.get(ci)
        if not win:
            continue  # no placement of it is kept
        for inst in list(copy.cell(ci).each_inst()):
            box = inst.cell.dbbox()
            kept = [(m, [w for w in win if box.transformed(m).touches(w)])
                    for m in _members(inst)]
            kept = [(m, near) for m, near in kept if near]
            if not kept:
                inst.delete()
            for m, near in kept:
                windows.setdefault(inst.cell_index, []).extend(
                    w.transformed(m.inverted()) for w in near)
    return copy


def _write_lyrdb(path: Path, top: str, result: DrcResult) -> None:
    """A KLayout marker database of ``result`` (for a verdict merged from several runs)."""
    db = rdb.ReportDatabase("gf180mcu DRC")
    db.description = "official gf180mcu deck: merged verdict of an incremental sign-off"
    db.top_cell_name = top
    categories: dict[str, rdb.RdbCategory] = {}
    cells: dict[str, rdb.RdbCell] = {}
    for v in result.violations:
        if v.rule not in categories:
            categories[v.rule] = db.create_category(v.rule)
            categories[v.rule].description = result.descriptions.get(v.rule, "")
        if v.cell not in cells:
            cells[v.cell] = db.create_cell(v.cell)
        item = db.create_item(cells[v.cell].rdb_id(), categories[v.rule].rdb_id())
        item.add_value(kdb.DBox(*v.bbox))
    db.save(str(path))


@dataclass
class DrcStep:
    """The DRC step: every violation found, and how the run was made.

    Attributes:
        top: the top cell checked.
        result: every violation of the layout (merged from the cache and the rerun when
            incremental); its ``runtime_s`` is the whole step's.
        mode: ``full``, ``incremental`` (part of the layout re-checked) or ``cached``.
        cells: cells in the layout.
        changed: cells whose content changed since the cached run (every cell when full).
        checked: cells the deck ran on.
        deck_s: the deck's own run time (0 when cached).
        waived: each waived violation and the waiver that took it.
        unused: waivers that matched no violation.
    """

    top: str
    result: DrcResult
    mode: str
    cells: int
    changed: list[str]
    checked: list[str]
    deck_s: float
    waived: list[tuple[Violation, Waiver]] = field(default_factory=list)
    unused: list[Waiver] = field(default_factory=list)

    @property
    def unwaived(self) -> DrcResult:
        """The result without the waived violations: what the verdict is made of."""
        taken = {_key(v) for v, _ in self.waived}
        return dataclasses.replace(
            self.result, violations=[v for v in self.result.violations if _key(v) not in taken])


def check_drc(gds: Path, report: Path, cache_path: Path, cache_in: Path | None,
              topcell: str | None = None) -> DrcStep:
    """DRC with the official deck, re-checking only what changed since the cache.

    Args:
        gds: layout to check.
        report: where to write the ``.lyrdb`` of the verdict.
        cache_path: where to write the new cache.
        cache_in: the previous run's cache, if any.
        topcell: top cell to check (default: the layout's only one).

    Returns:
        The step: every marker, merged from the cache and the rerun when incremental (see the
        module docstring), and what was checked.

    Raises:
        BmruError: an unreadable layout, or the deck fails.
    """
    start = time.perf_counter()
    layout, top = load_layout(gds, topcell)
    hashes = cell_hashes(layout, top)
    cache = _read_cache(cache_in, top.name) if cache_in else None
    plan = _plan(layout, top, hashes, cache) if cache else None
    names = sorted(hashes)
    if plan is None:
        result = drc.run(gds, report, topcell=topcell)
        mode, changed, checked, deck_s = "full", names, names, result.runtime_s
    else:
        result, checked, deck_s = _rerun(gds, report, layout, top, set(hashes), cache, plan)
        mode, changed = ("incremental" if plan.changed else "cached"), plan.changed
    result.gds, result.runtime_s = str(gds), time.perf_counter() - start
    write_text(cache_path, _cache_json(top.name, hashes, result))
    return DrcStep(top.name, result, mode, len(hashes), changed, checked, deck_s)


def _rerun(gds: Path, report: Path, layout: kdb.Layout, top: kdb.Cell, cells: set[str],
           cache: _Cache, plan: _Plan) -> tuple[DrcResult, list[str], float]:
    """The verdict from the cache and a deck run on what changed (``cells``: the cells of the
    layout now): result, cells checked, deck time."""
    near = [b.enlarged(HALO_UM, HALO_UM) for b in plan.region]
    removed = set(cache.cells) - cells  # what placed them changed: it is re-checked
    cached = [Violation(rule, cell, (x1, y1, x2, y2))
              for cell, items in cache.violations.items() if cell not in removed
              for rule, x1, y1, x2, y2 in items]
    placements = _Placements(layout, top)
    # a marker of a cell no layout has (a name the deck made) stays: it may be anywhere
    violations = [v for v in cached if not all(placements.near(v, near) or [False])]
    descriptions = dict(cache.descriptions)
    checked, deck_s = [], 0.0
    if plan.region:
        pruned = _pruned(layout, top, [b.enlarged(2 * HALO_UM, 2 * HALO_UM)
                                       for b in plan.region])
        ptop = pruned.cell(top.name)
        checked = sorted(pruned.cell(ci).name for ci in _subtree(pruned, ptop))
        with tempfile.TemporaryDirectory(prefix="bmru-signoff-") as tmp:
            part = Path(tmp) / "changed.gds"
            options = kdb.SaveLayoutOptions()
            options.write_context_info = False
            options.select_cell(ptop.cell_index())
            pruned.write(str(part), options)
            rerun = drc.run(part, Path(tmp) / "changed.lyrdb", topcell=top.name)
        in_window = _Placements(pruned, ptop)
        violations += [v for v in rerun.violations if any(in_window.near(v, near) or [True])]
        descriptions.update(rerun.descriptions)
        deck_s = rerun.runtime_s
    unique = sorted({_key(v): v for v in violations}.values(), key=_key)
    used = {v.rule for v in unique}
    result = DrcResult(str(gds), str(report), 0.0, unique,
                       {r: d for r, d in descriptions.items() if r in used})
    _write_lyrdb(report, top.name, result)
    return result, checked, deck_s


# --------------------------------------------------------------------------------- LVS


def netlist_engine(netlist: Path) -> Literal["own", "official"]:
    """The LVS engine for a schematic.

    Args:
        netlist: SPICE schematic.

    Returns:
        ``own`` (the project's engine) when every device the project's reader reads in it is
        an ``nfet_03v3`` / ``pfet_03v3``; ``official`` (the gf180mcu deck) otherwise, also
        when that reader cannot read it (a device it does not know).
    """
    try:
        reference = lvs.read_schematic(netlist)
    except BmruError:
        return "official"  # devices the project's reader does not know
    models = {c.name.lower() for c in reference.each_device_class()}
    return "own" if models <= set(DEVICES) else "official"


@dataclass
class LvsStep:
    """The LVS step: each engine's result, and where two engines disagree."""

    engine: Engine
    chosen_by: str  # "flag" or "netlist"
    runs: dict[str, LvsResult]
    disagreements: list[str] = field(default_factory=list)

    @property
    def match(self) -> bool:
        """Every engine run finds a match and they agree."""
        return all(r.match for r in self.runs.values()) and not self.disagreements

    @property
    def runtime_s(self) -> float:
        """All engine runs together, s."""
        return sum(r.runtime_s for r in self.runs.values())


def engine_disagreements(own: LvsResult, official: LvsResult) -> list[str]:
    """Where two engines' results on one layout and netlist differ.

    Args:
        own: the project's engine's result.
        official: the official deck's result.

    Returns:
        One line per difference: the verdict, then each device model counted differently.
    """
    out = []
    if own.match != official.match:
        said = {True: "match", False: "mismatch"}
        out.append(f"verdict: {_ENGINE_NAMES['own']} says {said[own.match]}, "
                   f"{_ENGINE_NAMES['official']} says {said[official.match]}")
    counts = [Counter({k.lower(): n for k, n in r.devices.items()}) for r in (own, official)]
    names = {k.lower(): k for r in (own, official) for k in r.devices}  # the deck's spelling
    for model in sorted(set(counts[0]) | set(counts[1])):
        if counts[0][model] != counts[1][model]:
            out.append(f"{names[model]}: {counts[0][model]} devices extracted by "
                       f"{_ENGINE_NAMES['own']}, {counts[1][model]} by "
                       f"{_ENGINE_NAMES['official']}")
    return out


def check_lvs(gds: Path, netlist: Path, folder: Path, engine: Engine,
              topcell: str | None = None) -> LvsStep:
    """LVS of a layout against its schematic with the chosen engine, or both.

    Args:
        gds: layout file.
        netlist: SPICE schematic.
        folder: where the LVS databases are written (``lvs.lvsdb``, ``lvs-official.lvsdb``).
        engine: ``auto`` chooses by the netlist (:func:`netlist_engine`).
        topcell: cell to check; default the layout's only top cell.

    Returns:
        Each engine's result (database paths relative to ``folder``) and, with ``both``,
        their disagreements; a netlist the project's engine cannot read is then one of them.

    Raises:
        BmruError: a missing netlist, or an engine that fails (the official deck always).
    """
    if not netlist.is_file():
        raise BmruError(f"the schematic netlist {netlist} does not exist")
    chosen = Engine(netlist_engine(netlist)) if engine is Engine.auto else engine
    names = ["own", "official"] if chosen is Engine.both else [chosen.value]
    runs = {}
    for name in names:
        run_engine = lvs.run if name == "own" else official_lvs.run
        try:
            runs[name] = run_engine(gds, netlist, lvsdb=folder / FILES[name], topcell=topcell)
        except BmruError as err:
            if chosen is not Engine.both or name != "own":
                raise
            # beside the official deck, a netlist the project's engine cannot read is a
            # disagreement to report, not an error
            runs[name] = LvsResult(str(gds), str(netlist), topcell or "", None, 0.0, [
                lvs.Mismatch("circuit", f"the project's engine cannot check it: {err}")])
            continue
        runs[name].lvsdb = FILES[name]
    found = engine_disagreements(runs["own"], runs["official"]) if chosen is Engine.both else []
    return LvsStep(chosen, "netlist" if engine is Engine.auto else "flag", runs, found)


# ------------------------------------------------------------------------------ result


def _uri(path: str) -> str:
    """A SARIF artifact URI: relative to the working directory where it can be."""
    p = Path(path)
    if not p.is_absolute():
        return p.as_posix()
    try:
        return p.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return p.as_uri()


def _box(bbox: tuple[float, ...]) -> str:
    """A marker's box for a message: ``(x1, y1, x2, y2) µm``."""
    return "(" + ", ".join(f"{x:g}" for x in bbox) + ") µm"


@dataclass
class SignoffResult:
    """One sign-off: each step's typed result and the folder they were written to."""

    outdir: Path
    gds: str
    netlist: str | None
    topcell: str
    drc: DrcStep
    lvs: LvsStep | None
    pex: PexResult | None
    runtime_s: float

    @property
    def ok(self) -> bool:
        """DRC clean but for waived violations, and LVS (when run) a match."""
        return self.drc.unwaived.clean and (self.lvs is None or self.lvs.match)

    @property
    def warnings(self) -> list[str]:
        """Waivers that matched no violation."""
        return [f"waiver {w.describe()} matched no violation" for w in self.drc.unused]

    def reports(self) -> list[str]:
        """The databases written beside the verdict, relative to the folder."""
        names = [FILES["lyrdb"], *(r.lvsdb for r in (self.lvs.runs.values() if self.lvs else ())
                                   if r.lvsdb)]
        return names + ([FILES["pex"]] if self.pex else [])

    def figures(self) -> dict:
        """``signoff.json``: the verdict and every step, with stable keys."""
        step = self.drc
        drc_json = json.loads(step.unwaived.to_json())
        drc_json |= {
            "deck": assets.DRC_DECK.requirement, "deck_s": round(step.deck_s, 2),
            "mode": step.mode, "cells": step.cells, "changed_cells": step.changed,
            "checked_cells": step.checked,
            "waived": [{**dataclasses.asdict(v), "reason": w.reason} for v, w in step.waived],
            "unused_waivers": [w.model_dump() for w in step.unused],
        }
        lvs_json = None if self.lvs is None else {
            "engine": self.lvs.engine.value, "chosen_by": self.lvs.chosen_by,
            "match": self.lvs.match, "runtime_s": round(self.lvs.runtime_s, 2),
            "runs": {k: json.loads(r.to_json()) for k, r in self.lvs.runs.items()},
            "disagreements": self.lvs.disagreements,
        }
        pex_json = None if self.pex is None else {
            **json.loads(self.pex.to_json()), "netlist": FILES["pex"]}
        return {
            "format": _FORMAT, "version": _VERSION,
            "verdict": "pass" if self.ok else "fail",
            "gds": self.gds, "netlist": self.netlist, "topcell": self.topcell,
            "runtime_s": round(self.runtime_s, 2),
            "drc": drc_json, "lvs": lvs_json, "pex": pex_json,
            "warnings": self.warnings,
            "reports": self.reports(),
        }

    def to_junit(self) -> str:
        """JUnit XML: a suite per step; waived rules as skipped cases."""
        root = ET.Element("testsuites", name="bmru signoff")
        suite = ET.fromstring(self.drc.unwaived.to_junit())
        by_rule: dict[str, list[Waiver]] = defaultdict(list)
        for _, w in self.drc.waived:
            by_rule[w.rule].append(w)
        for rule, ws in sorted(by_rule.items()):
            case = ET.SubElement(suite, "testcase", classname="drc", name=f"{rule} (waived)")
            reasons = "; ".join(sorted({w.reason for w in ws}))
            ET.SubElement(case, "skipped", message=f"{len(ws)} violation(s) waived: {reasons}")
        if self.warnings:
            ET.SubElement(suite, "system-out").text = "\n".join(
                f"warning: {w}" for w in self.warnings)
        suite.set("time", f"{self.drc.result.runtime_s:.2f}")
        root.append(suite)
        if self.lvs:
            suite = ET.SubElement(root, "testsuite", name="lvs",
                                  time=f"{self.lvs.runtime_s:.2f}")
            for name, r in self.lvs.runs.items():
                case = ET.SubElement(suite, "testcase", classname="lvs", name=name,
                                     time=f"{r.runtime_s:.2f}")
                if not r.match:
                    fail = ET.SubElement(case, "failure", message=f"{len(r.mismatches)} "
                                         f"difference(s) between {r.gds} and {r.schematic}")
                    fail.text = "\n".join(f"{m.kind}: {m.message}" for m in r.mismatches)
            if self.lvs.engine is Engine.both:
                case = ET.SubElement(suite, "testcase", classname="lvs", name="engines agree")
                if self.lvs.disagreements:
                    fail = ET.SubElement(case, "failure", message="the engines disagree")
                    fail.text = "\n".join(self.lvs.disagreements)
        if self.pex:
            suite = ET.SubElement(root, "testsuite", name="pex", time=f"{self.pex.runtime_s:.2f}")
            ET.SubElement(suite, "testcase", classname="pex", name=self.pex.topcell,
                          time=f"{self.pex.runtime_s:.2f}")
        for suite in root:
            cases = suite.findall("testcase")
            suite.set("tests", str(len(cases)))
            suite.set("failures", str(sum(c.find("failure") is not None for c in cases)))
            suite.set("errors", "0")
            suite.set("skipped", str(sum(c.find("skipped") is not None for c in cases)))
        for key in ("tests", "failures", "errors", "skipped"):
            root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
        root.set("time", f"{self.runtime_s:.2f}")
        return ET.tostring(root, encoding="unicode")

    def to_sarif(self) -> str:
        """SARIF 2.1.0: a result per DRC violation (waived ones suppressed) and per LVS
        difference."""
        rules: dict[str, str] = {}
        results = []
        gds = _uri(self.gds)
        waived = {_key(v): w for v, w in self.drc.waived}
        for v in self.drc.result.violations:
            description = self.drc.result.descriptions.get(v.rule, "")
            rules.setdefault(v.rule, description or v.rule)
            where = f"cell {v.cell}, box {_box(v.bbox)}"
            result = {
                "ruleId": v.rule, "level": "error",
                # the deck's descriptions start with the rule's name
                "message": {"text": f"{description or v.rule} ({where})"},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": gds},
                                         "region": {"startLine": 1, "message": {"text": where}}},
                    "logicalLocations": [{"name": v.cell, "kind": "module"}],
                }],
                "partialFingerprints": {"bmruDrcMarker/v1": hashlib.sha256(
                    repr(_key(v)).encode()).hexdigest()},
            }
            if _key(v) in waived:
                result["suppressions"] = [{"kind": "external",
                                           "justification": waived[_key(v)].reason}]
            results.append(result)
        for name, r in (self.lvs.runs.items() if self.lvs else ()):
            for m in r.mismatches:
                rule = f"LVS.{m.kind}"
                rules.setdefault(rule, f"layout and schematic differ: {m.kind}")
                results.append(self._lvs_result(rule, f"{_ENGINE_NAMES[name]}: {m.message}"))
        for text in self.lvs.disagreements if self.lvs else ():
            rules.setdefault("LVS.engines", "the two LVS engines disagree")
            results.append(self._lvs_result("LVS.engines", text))
        run = {
            "tool": {"driver": {
                "name": "bmru signoff", "version": bmru_pdk.__version__,
                "rules": [{"id": k, "shortDescription": {"text": d}} for k, d in rules.items()],
            }},
            "invocations": [{
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": w}} for w in self.warnings],
            }],
            "results": results,
        }
        return json.dumps({"$schema": _SARIF_SCHEMA, "version": "2.1.0", "runs": [run]},
                          indent=1)

    def _lvs_result(self, rule: str, text: str) -> dict:
        """A SARIF result of an LVS difference, located in the netlist."""
        artifact = _uri(self.netlist or self.gds)
        return {"ruleId": rule, "level": "error", "message": {"text": text},
                "locations": [{
                    "physicalLocation": {"artifactLocation": {"uri": artifact},
                                         "region": {"startLine": 1}},
                    "logicalLocations": [{"name": self.topcell, "kind": "module"}],
                }]}

    def to_markdown(self) -> str:
        """A short summary for a pull-request comment; report links relative to the folder."""
        step, unwaived = self.drc, self.drc.unwaived
        icon = "✅ pass" if self.ok else "❌ fail"
        lines = [f"## gf180mcu sign-off: {icon}", "",
                 f"`{self.gds}`" + (f" vs `{self.netlist}`" if self.netlist else "")
                 + f", top cell `{self.topcell}`", "",
                 "| step | verdict | time |", "|---|---|---|"]
        drc_verdict = ("clean" if unwaived.clean else
                       f"{len(unwaived.violations)} violation(s) of {len(unwaived.counts)} "
                       "rule(s)") + (f", {len(step.waived)} waived" if step.waived else "")
        how = {"full": "all cells", "cached": "unchanged, cached verdict",
               "incremental": f"{len(step.checked)} of {step.cells} cells re-checked"}
        lines.append(f"| DRC (official gf180mcu deck; {how[step.mode]}) | {drc_verdict} | "
                     f"{step.result.runtime_s:.1f} s |")
        for name, r in (self.lvs.runs.items() if self.lvs else ()):
            counts = ", ".join(f"{n} {c}" for c, n in r.devices.items()) or "no devices"
            verdict = "match" if r.match else f"{len(r.mismatches)} mismatch(es)"
            lines.append(f"| LVS ({_ENGINE_NAMES[name]}) | {verdict}: {counts} | "
                         f"{r.runtime_s:.1f} s |")
        if self.pex:
            lines.append(f"| PEX (KLayout-PEX) | {len(self.pex.capacitors)} capacitors, "
                         f"{self.pex.total_f * 1e15:.4g} fF | {self.pex.runtime_s:.1f} s |")
        if unwaived.violations:
            lines += ["", "### DRC violations by rule", "", "| rule | count | description |",
                      "|---|---|---|"]
            lines += [f"| {rule} | {n} | {_cell(unwaived.descriptions.get(rule, ''))} |"
                      for rule, n in unwaived.counts.items()]
        if step.waived:
            lines += ["", "### Waived", "", "| rule | cell | count | reason |", "|---|---|---|---|"]
            groups = Counter((v.rule, v.cell, w.reason) for v, w in step.waived)
            lines += [f"| {rule} | {cell} | {n} | {_cell(reason)} |"
                      for (rule, cell, reason), n in sorted(groups.items())]
        problems = [f"{_ENGINE_NAMES[name]}, {m.kind}: {m.message}"
                    for name, r in (self.lvs.runs.items() if self.lvs else ())
                    for m in r.mismatches]
        problems += [f"engines disagree: {d}" for d in (self.lvs.disagreements if self.lvs
                                                        else ())]
        if problems:
            lines += ["", "### LVS mismatches", ""] + [f"- {p}" for p in problems]
        if self.warnings:
            lines += ["", "### Warnings", ""] + [f"- {w}" for w in self.warnings]
        links = " · ".join(f"[{name}]({name})" for name in self.reports())
        lines += ["", f"Reports: {links} (open `.lyrdb` / `.lvsdb` in KLayout's marker and "
                  "netlist browsers)", ""]
        return "\n".join(lines)

    def summary(self) -> str:
        """Plain-text verdict for the terminal."""
        lines = [self.drc.unwaived.summary()]
        if self.drc.waived:
            lines.append(f"  {len(self.drc.waived)} violation(s) waived")
        lines += [r.summary() for r in (self.lvs.runs.values() if self.lvs else ())]
        lines += [f"LVS engines disagree: {d}" for d in (self.lvs.disagreements if self.lvs
                                                         else ())]
        if self.pex:
            lines.append(self.pex.summary())
        lines.append(f"sign-off {'pass' if self.ok else 'FAIL'} -> {self.outdir}")
        return "\n".join(lines)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _extract_pex(gds: Path, topcell: str | None, previous: Path, cache: Path,
                 executor: Executor | None) -> PexResult:
    """Parasitics of ``gds``; a layout over the whole-extraction size runs in windows (one per
    core at a time, or on ``executor``), each taken from the previous run's cache when its
    content is unchanged; ``cache`` keeps this layout's windows for the next run."""
    reuse = previous if previous.is_dir() and not previous.is_symlink() else None
    return pex_engine.extract_pex(gds, topcell=topcell, workers=os.cpu_count() or 1,
                                  cache=cache, reuse=reuse, executor=executor)


def run(
    gds: str | Path,
    netlist: str | Path | None,
    outdir: str | Path,
    *,
    pex: bool = False,
    engine: Engine = Engine.auto,
    waivers: str | Path | None = None,
    topcell: str | None = None,
    force: bool = False,
    executor: Executor | None = None,
) -> SignoffResult:
    """Sign off ``gds``: DRC, LVS against ``netlist`` (when given), parasitics with ``pex``.

    Args:
        gds: layout to check.
        netlist: schematic SPICE netlist; ``None`` skips LVS.
        outdir: folder for the verdict and reports (see the module docstring); the cache of
            its previous run makes DRC incremental.
        pex: also extract the parasitic capacitances (KLayout-PEX).
        engine: LVS engine (``auto``: by the netlist's devices).
        waivers: waiver file (:func:`read_waivers`).
        topcell: top cell (default: the layout's only one).
        force: write into a folder holding files bmru did not write (they are kept).
        executor: where a large layout's PEX windows are extracted (a Dask cluster's
            workers); default this machine, one kpex run per core at a time.

    Raises:
        BmruError: bad input (missing files, a bad waiver file) or a tool failure.
    """
    start = time.perf_counter()
    gds, outdir = Path(gds), Path(outdir)
    if not gds.is_file():
        raise BmruError(f"the layout {gds} does not exist")
    if netlist is not None and not Path(netlist).is_file():
        raise BmruError(f"the schematic netlist {netlist} does not exist")
    accepted = read_waivers(waivers) if waivers else []
    previous = outdir / CACHE
    with output_dir(outdir, force=force) as tmp:
        step = check_drc(gds, tmp / FILES["lyrdb"], tmp / CACHE,
                         previous if previous.is_file() else None, topcell)
        step.result.report = FILES["lyrdb"]
        _, step.waived, step.unused = apply_waivers(step.result.violations, accepted)
        lvs_step = (check_lvs(gds, Path(netlist), tmp, engine, topcell)
                    if netlist is not None else None)
        pex_result = (_extract_pex(gds, topcell, outdir / PEX_CACHE, tmp / PEX_CACHE,
                                   executor) if pex else None)
        if pex_result:
            pex_engine.write(pex_result, tmp / FILES["pex"])
        result = SignoffResult(outdir, str(gds), None if netlist is None else str(netlist),
                               step.top, step, lvs_step, pex_result, 0.0)
        result.runtime_s = time.perf_counter() - start
        write_text(tmp / FILES["json"], json.dumps(result.figures(), indent=2) + "\n")
        write_text(tmp / FILES["junit"], result.to_junit())
        write_text(tmp / FILES["sarif"], result.to_sarif() + "\n")
        write_text(tmp / FILES["summary"], result.to_markdown())
    return result
