"""Parasitic capacitance extraction with KLayout-PEX (``kpex``, its 2.5D engine, gf180mcuD).

KPEX needs Python >= 3.12, so it runs as a program from a venv of its own: the one
``BMRU_KPEX`` names, else ``kpex`` on ``PATH`` (:func:`kpex_program`). It reads
connectivity from an LVS database, not from a GDS (for a GDS it would launch the KLayout
application for an LVS deck of its own): :func:`~bmru_pdk.verification.extract.write_pex_lvsdb`
writes one from this project's extraction, in the layer names of KPEX's gf180mcuD technology.
The capacitors KPEX finds (between nets, and from each net to the substrate) go into the
extracted device netlist, inside its ``.subckt``, so it simulates directly with ngspice.
A layout larger than one window is extracted window by window, in parallel on this machine
or on a Dask cluster's workers (:mod:`~bmru_pdk.verification.pex_windows` says how each
capacitance is counted once).
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import klayout.db as kdb

from bmru_pdk.errors import BmruError, ToolMissingError
from bmru_pdk.executor import Executor
from bmru_pdk.fileio import write_text
from bmru_pdk.spice import spice_number
from bmru_pdk.verification import pex_windows
from bmru_pdk.verification.extract import (
    NFET,
    SUBSTRATE,
    device_counts,
    load_layout,
    pex_lvsdb,
    pex_netlist,
    to_spice,
)

PDK = "gf180mcuD"
# The setting naming the kpex program (an installed package has no checkout to look in).
ENV = "BMRU_KPEX"
# Names KPEX gives the substrate when no net of the layout is it (no p-taps, no nfets): the
# gf180mcuD tech's substrate net name, and its internal substrate layer.
_KPEX_SUBSTRATE = ("SUB", "VSUBS")

_CARD = re.compile(r"^(C\S*)\s+(\S+)\s+(\S+)\s+(\S+)", re.IGNORECASE)
_SUBCKT = re.compile(r"^\.subckt\s", re.IGNORECASE)
_ENDS = re.compile(r"^\.ends\b", re.IGNORECASE)
_MOS = re.compile(rf"^X\S*\s+\S+\s+\S+\s+\S+\s+(\S+)\s+{NFET}\b", re.IGNORECASE)
_VERSION = re.compile(r"created by KLayout-PEX (\S+)")
# A window's side (µm): small enough that KPEX's time per window stays near-linear in its
# area, large enough that the halo around it (2 x 16 µm) adds little (35 % at 200 µm).
WINDOW_UM = 200.0
# Layouts up to this area are extracted whole by default: there the square term of KPEX's
# time (about 5e-7 of the linear one per µm² of layout, on tiles) is smaller than what
# windows add (their halos, 1.5 s to start each kpex).
WHOLE_UP_TO_MM2 = 0.5
_LOG = re.compile(r"^\[[^\]]+\] \[(\w+)\]\s+(.*)$")


@dataclass(frozen=True)
class Capacitor:
    """One extracted capacitance between two nets (``b`` may be the substrate)."""

    name: str
    a: str
    b: str
    farads: float


@dataclass
class PexResult:
    """Extracted devices plus parasitic capacitances, and the figures of the run.

    Attributes:
        spice: the device netlist with the capacitors inside its ``.subckt``.
        devices: the device netlist alone (:func:`~bmru_pdk.verification.extract.extract`'s
            form, the same net names).
        capacitors: every extracted capacitance, on those net names.
        net_capacitance_f: each net's total capacitance (to every other net and the
            substrate), F.
        substrate: the net the substrate capacitances go to: the p-taps' net (e.g. ``vss``),
            or ``SUBSTRATE`` (then a pin of the ``.subckt``) where no device or tap reaches it.
        runtime_s: the whole run (our extraction, kpex, parsing); ``kpex_s`` kpex alone
            (summed over the windows, which run side by side).
        windows: how many windows the layout was cut into (1: extracted whole);
            ``kpex_runs`` how many of them kpex extracted (equal windows are extracted once,
            and a cache's windows not at all).
    """

    gds: str
    topcell: str
    spice: str
    devices: str
    capacitors: list[Capacitor]
    net_capacitance_f: dict[str, float]
    substrate: str
    runtime_s: float
    kpex_s: float
    kpex_version: str = ""
    device_counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    windows: int = 1
    kpex_runs: int = 1

    @property
    def total_f(self) -> float:
        """Sum of all extracted capacitances, F."""
        return sum(c.farads for c in self.capacitors)

    @property
    def substrate_f(self) -> float:
        """Sum of the capacitances to the substrate net, F."""
        return sum(c.farads for c in self.capacitors if self.substrate in (c.a, c.b))

    def summary(self) -> str:
        """One line: capacitor count, totals, the largest nets, the run time."""
        coupling = self.total_f - self.substrate_f
        nets = sorted(((c, n) for n, c in self.net_capacitance_f.items()
                       if n != self.substrate), reverse=True)[:3]
        largest = ", ".join(f"{n} {c * 1e15:.3g} fF" for c, n in nets) or "none"
        return (f"PEX {self.topcell}: {len(self.capacitors)} capacitors, "
                f"{self.total_f * 1e15:.4g} fF ({coupling * 1e15:.4g} fF between nets, "
                f"{self.substrate_f * 1e15:.4g} fF to {self.substrate}), largest nets: "
                f"{largest}; {self.runtime_s:.1f} s")

    def to_json(self) -> str:
        """Stable-key JSON report (capacitances in F)."""
        return json.dumps({
            "gds": self.gds,
            "topcell": self.topcell,
            "engine": f"KLayout-PEX {self.kpex_version} 2.5D ({PDK})",
            "runtime_s": round(self.runtime_s, 3),
            "kpex_s": round(self.kpex_s, 3),
            "windows": self.windows,
            "kpex_runs": self.kpex_runs,
            "devices": self.device_counts,
            "capacitors": len(self.capacitors),
            "substrate": self.substrate,
            "total_f": self.total_f,
            "substrate_f": self.substrate_f,
            "net_capacitance_f": self.net_capacitance_f,
            "warnings": self.warnings,
        }, indent=2)


def kpex_program() -> Path:
    """The ``kpex`` program: the one ``$BMRU_KPEX`` names, else ``kpex`` on ``PATH``.

    In a checkout ``scripts/setup_pex.sh`` installs kpex in ``.venv-pex``, and ``make`` and
    the tests point ``BMRU_KPEX`` at it.

    Raises:
        ToolMissingError: ``BMRU_KPEX`` is set but not an executable file (a wrong setting is
            not passed over for another kpex), or it is unset and no ``kpex`` is on ``PATH``.
    """
    named = os.environ.get(ENV)
    if named:
        path = Path(named).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        where = f"{ENV}={named} is not an executable file"
    else:
        found = shutil.which("kpex")
        if found:
            return Path(found)
        where = f"{ENV} is not set and no kpex is on PATH"
    raise ToolMissingError(f"parasitic extraction needs KLayout-PEX (kpex), and {where}: set "
                           f"{ENV} to a kpex program (in a checkout, scripts/setup_pex.sh "
                           "installs one as .venv-pex/bin/kpex)")


def _joined(spice: str) -> list[str]:
    """SPICE lines with ``+`` continuations joined."""
    lines: list[str] = []
    for line in spice.splitlines():
        if line.startswith("+") and lines:
            lines[-1] += " " + line[1:].strip()
        else:
            lines.append(line.strip())
    return lines


def _nets(spice: str) -> set[str]:
    """The pins and device nodes of the top ``.subckt`` of an extracted netlist."""
    nets: set[str] = set()
    for line in _joined(spice):
        if _SUBCKT.match(line):
            nets.update(line.split()[2:])
        elif line[:1].upper() == "X":
            nets.update(line.split()[1:5])
    return nets


def _messages(log: Path, stderr: str) -> tuple[list[str], list[str]]:
    """KPEX's warnings and errors from its run log; a crash's last stderr line as an error."""
    found: dict[str, list[str]] = defaultdict(list)
    level = ""
    for line in log.read_text(errors="replace").splitlines() if log.is_file() else []:
        m = _LOG.match(line)
        if m:
            level = m.group(1)
            found[level].append(m.group(2).strip())
        elif level and line.strip():  # a message's further lines
            found[level][-1] += " " + line.strip()
    errors = found["ERROR"] + found["CRITICAL"]
    tail = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    if tail and (not errors or "Error" in tail[-1]):
        errors.append(tail[-1])
    return found["WARNING"], errors


class _Runs:
    """The kpex processes of one extraction, killed together when it stops early (a signal,
    a failed window); none starts after that."""

    def __init__(self) -> None:
        self._procs: set[subprocess.Popen] = set()
        self._lock = threading.Lock()
        self._stopped = False

    def start(self, cmd: list[str]) -> subprocess.Popen:
        with self._lock:
            if self._stopped:
                raise BmruError("the parasitic extraction was stopped")
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            self._procs.add(proc)
            return proc

    def done(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.discard(proc)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            for proc in self._procs:
                proc.kill()


def _run_kpex(lvsdb: Path, top: str, out: Path, timeout: float | None, runs: _Runs
              ) -> tuple[str, list[str]]:
    """Run kpex's 2.5D engine on ``lvsdb``; its SPICE netlist and warnings."""
    netlist = out / "pex.spice"
    cmd = [str(kpex_program()), "extract", "--pdk", PDK, "--2.5D", "--lvsdb", str(lvsdb),
           "--cell", top, "--out-dir", str(out / "run"), "--out-netlist", str(netlist)]
    with runs.start(cmd) as proc:
        try:
            _, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise BmruError(f"kpex did not finish extracting {top} within {timeout:g} s"
                            ) from None
        except BaseException:  # a signal: the context's exit would wait for kpex to end
            proc.kill()
            raise
        finally:
            runs.done(proc)
    logs = sorted((out / "run").glob("*/kpex.log"))
    warnings, errors = _messages(logs[0] if logs else out / "none", stderr)
    if proc.returncode or not netlist.is_file():
        why = "; ".join(errors) or f"exit code {proc.returncode}, no netlist written"
        raise BmruError(f"kpex failed to extract the parasitics of {top}: {why}")
    return netlist.read_text(), warnings


def _cards(spice: str) -> list[tuple[str, str, str, float]]:
    """The C cards of KPEX's netlist: name, its two nets, farads."""
    return [(m.group(1), m.group(2), m.group(3), spice_number(m.group(4)))
            for m in map(_CARD.match, _joined(spice)) if m]


def _capacitors(spice: str, nets: set[str], substrate: str) -> list[Capacitor]:
    """The C cards of KPEX's netlist, on our net names (its substrate name mapped)."""
    def node(name: str) -> str:
        if name in nets:
            return name
        if name in _KPEX_SUBSTRATE:
            return substrate
        raise BmruError(f"kpex wrote a capacitor on net {name}, which the extracted netlist "
                        "does not have")

    return [Capacitor(name, node(a), node(b), farads) for name, a, b, farads in _cards(spice)]


def _merge(devices: str, caps: list[Capacitor], substrate: str, header: str) -> str:
    """The device netlist with the C cards inside its ``.subckt``; the substrate becomes a pin
    when no device reaches it (a test structure without taps)."""
    lines = devices.rstrip("\n").splitlines()
    end = next(i for i in range(len(lines) - 1, -1, -1) if _ENDS.match(lines[i]))
    cards = [header] + [f"{c.name} {c.a} {c.b} {c.farads:.6g}" for c in caps]
    lines[end:end] = cards
    if substrate not in _nets(devices) and any(substrate in (c.a, c.b) for c in caps):
        start = next(i for i, ln in enumerate(lines) if _SUBCKT.match(ln))
        while lines[start + 1].startswith("+"):
            start += 1
        lines[start] += f" {substrate}"
    return "\n".join(lines) + "\n"


def _substrate(devices: str) -> str:
    """Our substrate net: where the nfet bulks are (tied by the p-taps), else SUBSTRATE."""
    for line in _joined(devices):
        m = _MOS.match(line)
        if m:
            return m.group(1)
    return SUBSTRATE


@dataclass
class _Found:
    """What the kpex runs found: capacitors on our nets, and the runs' figures."""

    capacitors: list[Capacitor]
    kpex_s: float
    version: str
    warnings: list[str]
    windows: int = 1
    runs: int = 1


def _version(spice: str) -> str:
    m = _VERSION.search(spice)
    return m.group(1) if m else ""


def _whole(lvsdb: Path, top: str, devices: str, substrate: str, folder: Path,
           timeout: float | None) -> _Found:
    """One kpex run over the whole layout."""
    start = time.perf_counter()
    spice, warnings = _run_kpex(lvsdb, top, folder, timeout, _Runs())
    return _Found(_capacitors(spice, _nets(devices), substrate), time.perf_counter() - start,
                  _version(spice), warnings)


def _window_run(lvsdb: Path, where: str, out: Path, timeout: float | None, runs: _Runs
                ) -> pex_windows.WindowRun:
    """kpex on one window (``where`` names it in an error)."""
    start = time.perf_counter()
    try:
        spice, warnings = _run_kpex(lvsdb, pex_windows.TOP, out, timeout, runs)
    except BmruError as exc:
        raise BmruError(f"{exc} ({where})") from None
    return pex_windows.WindowRun(_cards(spice), time.perf_counter() - start, _version(spice),
                                 warnings)


@dataclass(frozen=True)
class WindowJob:
    """One window's kpex run as a cluster worker gets it: the window's LVS database,
    gzip-compressed (a worker shares no file system with the client, and the text database
    compresses well), where the window lies, and the time kpex may take."""

    lvsdb_gz: bytes
    where: str
    timeout: float | None


def run_window(job: WindowJob) -> pex_windows.WindowRun:
    """kpex on one window, in a temporary folder of the worker's (a cluster worker's job)."""
    with tempfile.TemporaryDirectory(prefix="bmru-pex-window-") as tmp:
        lvsdb = Path(tmp) / "window.lvsdb"
        lvsdb.write_bytes(gzip.decompress(job.lvsdb_gz))
        return _window_run(lvsdb, job.where, Path(tmp), job.timeout, _Runs())


class _Threads:
    """Windows extracted by kpex processes of this machine, ``workers`` at a time, each
    started as soon as its window is cut; on a stop every running kpex is killed."""

    def __init__(self, workers: int, timeout: float | None, folder: Path) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers)
        self._runs = _Runs()
        self._timeout, self._folder = timeout, folder
        self._futures: dict[str, Future] = {}

    def submit(self, key: str, window: pex_windows.Window, where: str) -> None:
        out = self._folder / f"run{len(self._futures)}"
        self._futures[key] = self._pool.submit(_window_run, window.lvsdb, where, out,
                                               self._timeout, self._runs)

    def results(self) -> dict[str, pex_windows.WindowRun]:
        return {key: future.result() for key, future in self._futures.items()}

    def stop(self) -> None:
        self._runs.stop()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class _Cluster:
    """Windows extracted by an executor's workers (a Dask cluster's), all sent once every
    window is cut; a stop leaves the executor to end its jobs."""

    def __init__(self, executor: Executor, timeout: float | None) -> None:
        self._executor, self._timeout = executor, timeout
        self._jobs: dict[str, WindowJob] = {}

    def submit(self, key: str, window: pex_windows.Window, where: str) -> None:
        self._jobs[key] = WindowJob(gzip.compress(window.lvsdb.read_bytes()), where,
                                    self._timeout)

    def results(self) -> dict[str, pex_windows.WindowRun]:
        runs = self._executor.map(run_window, list(self._jobs.values()))
        return dict(zip(self._jobs, runs, strict=True))

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass


def kpex_version() -> str:
    """The kpex program's own version line (``kpex 0.6.12``)."""
    proc = subprocess.run([str(kpex_program()), "--version"], capture_output=True, text=True,
                          timeout=120, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode or not lines:
        raise BmruError(f"kpex --version failed (exit code {proc.returncode})")
    return lines[-1]


def _by_windows(layout: kdb.Layout, top: kdb.Cell, lvs: kdb.LayoutToNetlist, substrate: str,
                folder: Path, window_um: float, runner: _Threads | _Cluster,
                cache: pex_windows.WindowCache | None) -> _Found:
    """kpex window by window on ``runner``; each capacitance counted once."""
    nets = pex_windows.NetShapes(lvs)
    placed: list[pex_windows.Window] = []
    stored: dict[str, pex_windows.WindowRun] = {}
    sent: set[str] = set()
    try:
        for core in pex_windows.cores(layout, top, round(window_um / layout.dbu)):
            window = pex_windows.make_window(layout, top, nets, core, substrate, folder)
            if window is None:
                continue
            placed.append(window)
            if window.key in stored or window.key in sent:  # an equal window runs once
                continue
            run = cache.get(window.key) if cache else None
            if run is None:
                box = window.core.to_dtype(layout.dbu)
                runner.submit(window.key, window, f"the window of {top.name} at x "
                              f"{box.left:g}..{box.right:g} µm, y {box.bottom:g}..{box.top:g} µm")
                sent.add(window.key)
            else:
                stored[window.key] = run
        results = {**stored, **runner.results()}
    except BaseException:
        runner.stop()
        raise
    finally:
        runner.close()
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for window in placed:
        for _, a, b, farads in results[window.key].cards:
            part = pex_windows.share(a, b)
            if part:
                ends = sorted(pex_windows.net_of(n, window, substrate) for n in (a, b))
                totals[(ends[0], ends[1])] += part * farads
    fresh = {key: r for key, r in results.items() if not r.cached}
    if cache:
        for key, r in fresh.items():
            cache.put(key, r)
    caps = [Capacitor(f"C{k}", a, b, farads)
            for k, ((a, b), farads) in enumerate(sorted(totals.items()), start=1)]
    return _Found(caps, sum(r.seconds for r in fresh.values()),
                  next((r.version for r in results.values()), ""),
                  sorted({w for r in results.values() for w in r.warnings}), len(placed),
                  len(fresh))


def extract_pex(gds: str | Path, topcell: str | None = None, *,
                timeout: float | None = None, windows: bool | None = None,
                window_um: float = WINDOW_UM, workers: int = 1,
                cache: str | Path | None = None, reuse: str | Path | None = None,
                executor: Executor | None = None) -> PexResult:
    """Extract the devices and parasitic capacitances of a layout.

    Args:
        gds: layout file.
        topcell: cell to extract; default the layout's only top cell.
        timeout: seconds to give each kpex run; default no limit.
        windows: extract in windows (True), whole in one kpex run, whose time grows with the
            square of the layout's size (False), or whole up to ``WHOLE_UP_TO_MM2`` and in
            windows beyond (None). A layout within one window is extracted whole.
        window_um: the largest side of a window's core.
        workers: kpex runs at a time on this machine (windows).
        cache: a folder keeping each window's kpex result by its content, so that a later
            extraction runs kpex only on the windows a change reaches (windows only).
        reuse: an earlier extraction's cache folder, read only: its windows are taken as
            if they were in ``cache``, which then holds this layout's windows and no others
            (a gate that keeps one extraction's cache per output folder).
        executor: where the windows' kpex runs go instead of this machine's ``workers``
            (:func:`~bmru_pdk.executor.make_executor` of a Dask scheduler, whose workers
            have kpex); each window is sent as its compressed LVS database.

    Returns:
        The netlist with the capacitors, the device netlist alone (same net names), each
        capacitor, each net's total capacitance and the run time.

    Raises:
        ToolMissingError: kpex is not installed.
        BmruError: unreadable layout, or kpex failed (with its own reasons).
    """
    start = time.perf_counter()
    kpex_program()  # before any work: a missing tool is the likeliest failure
    layout, top = load_layout(gds, topcell)
    title = f"{top.name} extracted from {Path(gds).name}"
    box = top.dbbox()
    with tempfile.TemporaryDirectory(prefix="bmru-pex-") as tmp:
        folder = Path(tmp)
        if windows is None:
            windows = box.width() * box.height() > WHOLE_UP_TO_MM2 * 1e6
        if not windows or max(box.width(), box.height()) <= window_um:
            lvsdb = folder / "layout.lvsdb"
            devices, counts = pex_lvsdb(layout, top, lvsdb, title)
            substrate = _substrate(devices)
            found = _whole(lvsdb, top.name, devices, substrate, folder, timeout)
        else:
            lvs = pex_netlist(layout, top)
            devices, counts = to_spice(lvs.netlist(), title), device_counts(lvs.netlist())
            substrate = _substrate(devices)
            store = (pex_windows.WindowCache(Path(cache), kpex_version(),
                                             Path(reuse) if reuse is not None else None)
                     if cache is not None else None)
            runner = (_Threads(max(1, workers), timeout, folder) if executor is None
                      else _Cluster(executor, timeout))
            found = _by_windows(layout, top, lvs, substrate, folder, window_um, runner, store)
    caps = found.capacitors
    per_net: dict[str, float] = defaultdict(float)
    for c in caps:
        per_net[c.a] += c.farads
        per_net[c.b] += c.farads
    windows = f", {found.windows} windows" if found.windows > 1 else ""
    header = (f"* parasitic capacitances: KLayout-PEX {found.version} 2.5D ({PDK}{windows}), "
              f"{len(caps)} capacitors, {sum(c.farads for c in caps) * 1e15:.6g} fF")
    return PexResult(
        gds=str(gds), topcell=top.name,
        spice=_merge(devices, caps, substrate, header),
        devices=devices, capacitors=caps,
        net_capacitance_f=dict(sorted(per_net.items())), substrate=substrate,
        runtime_s=time.perf_counter() - start, kpex_s=found.kpex_s, kpex_version=found.version,
        device_counts=counts, warnings=found.warnings, windows=found.windows,
        kpex_runs=found.runs)


def write(result: PexResult, path: str | Path) -> None:
    """Write the netlist with parasitics atomically."""
    write_text(path, result.spice)
