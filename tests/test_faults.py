"""Fault injection through the real ``bmru`` command: a full disk, a file size limit, a
read-only file system, a folder without write permission, SIGINT and SIGTERM mid-run,
hostile netlists, corrupt characterisation tables and a layout with two top cells.

Each fault must end in one sentence on stderr (no traceback), exit code 2 (130 / 143 for
the signals), nothing half-written, no file of the user's changed and no process left.

The file system faults run the tool in private Linux namespaces (``unshare``), so nothing
is mounted outside the test and root's right to write anywhere does not hide a fault; a
test whose namespace cannot be made here is skipped, saying why.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import klayout.db as kdb
import numpy as np
import pytest
from test_bad_inputs import BMRU, one_sentence, run_bmru, snapshot

from bmru_pdk.circuits.characterize import table_path
from bmru_pdk.model.bundled import bundled_checkpoint

# ``sh -c`` scripts run in a new mount namespace: $1 is the folder to mount over, the rest
# the command; the folder's listing afterwards goes to $1.left, outside the mount
TMPFS = ('d=$1; shift; mount -t tmpfs -o size=256k tmpfs "$d" || exit 97; '
         '"$@"; rc=$?; ls -A "$d" > "$d.left"; exit $rc')
READ_ONLY = ('d=$1; shift; mount --bind "$d" "$d" && mount -o remount,bind,ro "$d" || exit 97; '
             'exec "$@"')
NO_MOUNT = 97


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A user's folder: the bundled checkpoint and a note of their own."""
    (tmp_path / "notes.txt").write_text("my notes\n")
    (tmp_path / "good.safetensors").write_bytes(bundled_checkpoint().read_bytes())
    return tmp_path


def _namespace(*flags: str) -> list[str]:
    """``unshare FLAGS``, or a skip saying why this machine cannot make the namespace."""
    if shutil.which("unshare") is None:
        pytest.skip("unshare (util-linux) is not installed")
    probe = subprocess.run(["unshare", *flags, "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"user namespaces are not permitted here (unshare {' '.join(flags)}: "
                    f"{probe.stderr.strip()})")
    return ["unshare", *flags]


def _mounted(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """``proc``, or a skip when its namespace could not mount the folder."""
    if proc.returncode == NO_MOUNT:
        pytest.skip(f"mounting in a user namespace failed: {proc.stderr.strip()}")
    return proc


def test_disk_full_on_a_small_tmpfs(home: Path) -> None:
    """``bmru tile`` writing a 620 kB GDS into a 256 kB tmpfs: ENOSPC from the real write."""
    (home / "full").mkdir()
    wrapper = [*_namespace("--user", "--map-root-user", "--mount"), "sh", "-c", TMPFS, "sh",
               home / "full"]
    proc = _mounted(run_bmru("tile", "good.safetensors", "-o", "full/out", cwd=home,
                             wrapper=wrapper))
    one_sentence(proc, "cannot write", "full/out", "No space left on device")
    assert (home / "full.left").read_text() == ""  # nothing left on the full disk


def _file_size_limit(size: int) -> Callable[[], None]:
    """A child's start: files may not grow past ``size`` bytes, and a write past it fails
    with EFBIG instead of SIGXFSZ killing the process."""
    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    return limit


def test_file_size_limit(home: Path) -> None:
    """Writes past RLIMIT_FSIZE: the disk-full path without a mount, on any machine. The
    GDS of ``bmru tile`` (KLayout's writer, 620 kB past 200 kB) and the CSV of ``bmru
    simulate`` (Python's, past 1 kB)."""
    (home / "ramp.cir").write_text("V1 a 0 PWL(0 0 1m 1)\nR1 a 0 1k\n.tran 10u 1m\n")
    before = snapshot(home)
    proc = run_bmru("tile", "good.safetensors", "-o", "out", cwd=home,
                    preexec_fn=_file_size_limit(200_000))
    one_sentence(proc, f"cannot write {home / 'out'}", "File too large")
    proc = run_bmru("simulate", "ramp.cir", "-o", "v.csv", cwd=home,
                    preexec_fn=_file_size_limit(1000))
    one_sentence(proc, "cannot write v.csv: File too large")
    assert snapshot(home) == before


def test_read_only_file_system(home: Path) -> None:
    """An output folder on a file system mounted read-only (a bind mount): EROFS."""
    (home / "ro").mkdir()
    (home / "ro" / "mine.txt").write_text("kept\n")
    before = snapshot(home)
    wrapper = [*_namespace("--user", "--map-root-user", "--mount"), "sh", "-c", READ_ONLY,
               "sh", home / "ro"]
    proc = _mounted(run_bmru("tile", "good.safetensors", "-o", "ro/out", cwd=home,
                             wrapper=wrapper))
    one_sentence(proc, "cannot write ro/out", "Read-only file system")
    assert snapshot(home) == before


def test_folder_without_write_permission(home: Path) -> None:
    """An output folder's parent without write permission (chmod 555): EACCES. Root writes
    through any mode, so as root the tool runs in a user namespace, where it is nobody."""
    wrapper = _namespace("--user") if os.geteuid() == 0 else []
    (home / "locked").mkdir()
    (home / "locked").chmod(0o555)
    try:
        proc = run_bmru("tile", "good.safetensors", "-o", "locked/out", cwd=home,
                        wrapper=wrapper)
    finally:
        (home / "locked").chmod(0o755)
    one_sentence(proc, "cannot access locked/out", "Permission denied")
    assert not any((home / "locked").iterdir())


def _live_processes(group: int) -> list[str]:
    """The processes of process group ``group`` that have not exited (zombies excluded:
    only their parent, which may be gone, can reap them)."""
    live = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # exited while listed
        state, _ppid, pgrp = text.rpartition(")")[2].split()[:3]
        if int(pgrp) == group and state != "Z":
            live.append(text.partition(" ")[0])
    return live


@pytest.mark.parametrize(("sig", "workers", "code", "message"), [
    (signal.SIGINT, "1", 130, "error: interrupted"),
    (signal.SIGTERM, "2", 143, "error: terminated"),
], ids=["sigint-in-process", "sigterm-workers"])
def test_signal_stops_compare(tmp_path: Path, sig: int, workers: str, code: int,
                              message: str) -> None:
    """A signal while ``bmru compare`` simulates (ngspice in this process with one worker,
    in two worker processes with two) ends it within 5 s: exit 128 + signal, one line, no
    output and no temporary folder, no process left (the second test replaces a folder bmru
    wrote, which must stay as it was). The signal comes 3 s after the extracted netlist is
    written: ngspice is then simulating the first of 8 utterances (a signal at any other
    moment must end the command the same way)."""
    from bmru_pdk.model.checkpoint import random_checkpoint

    ckpt = random_checkpoint(n_in=13, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    if sig == signal.SIGTERM:
        assert run_bmru("tile", ckpt, "-o", "out", cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path)
    proc = subprocess.Popen([*BMRU, "compare", str(ckpt), "--n", "8", "--no-pex", "--workers",
                             workers, "-o", "out"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    signalled(proc, sig, lambda: bool(list(tmp_path.glob(".out.*.part/extracted.spice"))),
              "an extracted netlist", 3, code, message)
    assert snapshot(tmp_path) == before


def signalled(proc: subprocess.Popen, sig: int, ready: Callable[[], bool], what: str,
              settle_s: float, code: int, message: str) -> None:
    """Send ``sig`` to ``proc`` (its own process group) ``settle_s`` after ``ready()``
    holds (``what``, within 120 s); it must end within 5 s with exit ``code``, ``message``
    as its only stderr line, and no process of its group left."""
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, f"no {what} after 120 s"
            time.sleep(0.05)
        time.sleep(settle_s)
        assert proc.poll() is None, "the command ended before the signal"
        sent = time.monotonic()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=5)
        took = time.monotonic() - sent
        deadline = time.monotonic() + 3  # multiprocessing's resource tracker exits by itself
        while _live_processes(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        left = _live_processes(proc.pid)
    finally:  # a failure leaves no process behind either (workers outlive a killed parent)
        if _live_processes(proc.pid):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == code, (proc.returncode, stderr)
    assert stderr.strip() == message, stderr
    assert took < 5
    assert left == []


def _kpex_running(group: int) -> bool:
    """Whether a kpex process of process group ``group`` runs."""
    for pid in _live_processes(group):
        try:
            if b"kpex" in Path(f"/proc/{pid}/cmdline").read_bytes():
                return True
        except OSError:
            continue  # exited while listed
    return False


@pytest.mark.parametrize(("sig", "how", "code", "message"), [
    (signal.SIGINT, "--whole", 130, "error: interrupted"),
    (signal.SIGTERM, "--windows", 143, "error: terminated"),
], ids=["sigint-whole", "sigterm-windows"])
def test_signal_stops_pex(tmp_path: Path, sig: int, how: str, code: int, message: str) -> None:
    """A signal to ``bmru extract --pex`` alone (not to the kpex it runs, as a terminal's
    Ctrl-C would be) while kpex extracts, whole or in windows two at a time, ends it within
    5 s: exit 128 + signal, one line, no output, no kpex left running."""
    from bmru_pdk.errors import ToolMissingError
    from bmru_pdk.model.checkpoint import random_checkpoint
    from bmru_pdk.verification import pex

    try:
        pex.kpex_program()
    except ToolMissingError as exc:
        pytest.skip(f"KLayout-PEX is not installed (run scripts/setup_pex.sh): {exc}")
    ckpt = random_checkpoint(d=2, path=tmp_path / "c.safetensors")
    assert run_bmru("tile", ckpt, "-o", "out", cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path)
    proc = subprocess.Popen([*BMRU, "extract", "out/tile.gds", "-o", "p.spice", "--pex", how,
                             "--window-um", "100", "--workers", "2"], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    signalled(proc, sig, lambda: _kpex_running(proc.pid), "kpex", 1, code, message)
    assert snapshot(tmp_path) == before


# a worker pool a signal caught half-built (its queues' named semaphores made, the pool not
# yet handed to the executor that would kill it), then the interrupted command's fast exit
HALF_BUILT_POOL = """
import multiprocessing, os, sys
from concurrent.futures import ProcessPoolExecutor
from bmru_pdk.cli import _free_semaphores
pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
if sys.argv[1] == "free":
    _free_semaphores()
os._exit(143)
"""


@pytest.mark.parametrize(("free", "warned"), [("free", False), ("keep", True)])
def test_signal_exit_frees_a_half_built_pool(free: str, warned: bool) -> None:
    """The exit after a signal unlinks the semaphores of a pool it caught half-built, so
    multiprocessing's resource tracker has no leak to warn of on stderr (the one line the
    signal tests require). Without it (the negative case) the tracker warns."""
    proc = subprocess.run([sys.executable, "-c", HALF_BUILT_POOL, free], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 143
    assert ("leaked semaphore" in proc.stderr) is warned, proc.stderr


# (name, netlist, line named, words): each would run ``touch pwned``, read or write a file,
# or load code; none may do anything but be refused
BENIGN = "* divider\nV1 a 0 1\nR1 a b 1k\nR2 b 0 1k\n"
HOSTILE = [
    ("control", BENIGN + ".op\n.control\nshell touch pwned\n.endc\n", 6, ".control line"),
    ("control prefix", BENIGN + ".op\n  .CONTROLS\nshell touch pwned\n.ENDC\n", 6,
     ".controls line"),
    ("star hash", BENIGN + "*# shell touch pwned\n.op\n", 5, "'*#' line"),
    ("include", BENIGN + ".op\n.include evil.cir\n", 6, ".include line"),
    ("lib", BENIGN + ".lib evil.cir tt\n.op\n", 5, ".lib line"),
    ("rawfile", BENIGN + ".options rawfile=pwned\n.op\n", 5, "parameter rawfile="),
    ("file source", BENIGN + "A1 %v([s]) filesrc\n.model filesrc\n+ filesource (file=\"x\")\n"
     ".op\n", 6, "filesource model"),
    ("process", BENIGN + ".model p d_process (process_file=\"sh\")\n.op\n", 5,
     "d_process model"),
    ("unknown card", BENIGN + ".osdi evil.osdi\n.op\n", 5, ".osdi line"),
]


@pytest.mark.parametrize(("kind", "netlist", "line", "words"), HOSTILE,
                         ids=[h[0] for h in HOSTILE])
def test_hostile_netlist_refused(tmp_path: Path, kind: str, netlist: str, line: int,
                                 words: str) -> None:
    """``bmru simulate`` refuses, naming the line, before ngspice sees the deck: nothing
    runs (no ``pwned``), nothing is written. ``evil.cir`` runs the shell if included."""
    (tmp_path / "evil.cir").write_text(".control\nshell touch pwned\n.endc\n")
    (tmp_path / "hostile.cir").write_text(netlist)
    before = snapshot(tmp_path)
    proc = run_bmru("simulate", "hostile.cir", "-o", "v.csv", cwd=tmp_path)
    one_sentence(proc, f"line {line} of hostile.cir", words)
    assert snapshot(tmp_path) == before  # no pwned, no v.csv


def test_benign_netlist_and_a_checkouts_spiceinit(tmp_path: Path) -> None:
    """A netlist of circuit and analysis cards (comments naming .control, a .model, .param,
    .options, .print) simulates; a ``.spiceinit`` in the working folder, which ngspice runs
    on start, does not run."""
    (tmp_path / ".spiceinit").write_text("shell touch pwned\n")
    (tmp_path / "ok.cir").write_text(
        "* no .control here\n.param r=1k\n.model dd d (is=1e-14)\nV1 a 0 1\n"
        "R1 a b {r}\nD1 b 0 dd\n.options reltol=1e-4\n.op\n.print dc v(b)\n.end\n")
    proc = run_bmru("simulate", "ok.cir", "-o", "v.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "v.csv").read_text().startswith("a,b,")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(("where", "value", "field", "words"), [
    (("mirrors", 2, "gain", 1, 5), float("nan"), "mirrors[2].gain[1][5]", "is nan, not a number"),
    (("cell", "i_vdd_on", 0, 0), -0.5, "cell.i_vdd_on[0][0]", "is -0.5, not above zero"),
], ids=["nan", "negative-current"])
def test_corrupt_tables_refused(home: Path, where: tuple[str | int, ...], value: float,
                               field: str, words: str) -> None:
    """A tables folder holding a NaN or a negative current draws no tile: one sentence names
    the file and the field."""
    tables = json.loads(table_path().read_text())
    node = tables
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    (home / "tables").mkdir()
    table_path(home / "tables").write_text(json.dumps(tables))
    before = snapshot(home)
    proc = run_bmru("tile", "good.safetensors", "-o", "out", cwd=home,
                    env={"BMRU_TABLES": str(home / "tables")})
    one_sentence(proc, str(table_path(home / "tables")), field, words)
    assert snapshot(home) == before


def test_layout_with_two_top_cells(tmp_path: Path) -> None:
    """drc, lvs and extract name both top cells and ask for one, and name them for a cell
    the layout does not hold; given one, extract runs and drc checks that one (A is clean,
    B a metal1 line 0.1 µm wide)."""
    layout = kdb.Layout()
    for name, width in (("A", 1000), ("B", 100)):
        layout.create_cell(name).shapes(layout.layer(34, 0)).insert(kdb.Box(0, 0, width, 1000))
    layout.write(str(tmp_path / "two.gds"))
    (tmp_path / "ok.spice").write_text(".subckt A a\n.ends\n")
    before = snapshot(tmp_path)
    for topcell, words in (([], ["two.gds needs exactly one top cell (found: A, B)",
                                 "--topcell"]),
                           (["--topcell", "X"], ["two.gds has no cell named X (top cells: A, B)"])):
        one_sentence(run_bmru("drc", "two.gds", *topcell, cwd=tmp_path), *words)
        one_sentence(run_bmru("lvs", "two.gds", "ok.spice", *topcell, cwd=tmp_path), *words)
        one_sentence(run_bmru("extract", "two.gds", *topcell, "-o", "x.spice", cwd=tmp_path),
                     *words)
    assert snapshot(tmp_path) == before
    proc = run_bmru("extract", "two.gds", "--topcell", "A", "-o", "x.spice", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = run_bmru("drc", "two.gds", "--topcell", "A", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("DRC clean"), proc.stdout
    proc = run_bmru("drc", "two.gds", "--topcell", "B", "--json", "b.json", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    found = json.loads((tmp_path / "b.json").read_text())["violations"]
    assert "M1.1" in {v["rule"] for v in found} and {v["cell"] for v in found} == {"B"}


def test_layout_with_a_cell_connected_to_nothing(tmp_path: Path) -> None:
    """A top cell placing a cell that connects to nothing of its own (a labelled metal1
    wire, no device), a pfet on nets of its own and an nfet: KLayout leaves such cells out
    of their parent's circuit unless told otherwise, which made a second top circuit (a
    traceback in lvs and extract --pex) and lost the pfet from the flattened netlist."""
    import gdsfactory as gf

    import bmru_pdk
    from bmru_pdk.cells.devices import nfet, pfet
    from bmru_pdk.errors import ToolMissingError
    from bmru_pdk.verification import pex

    bmru_pdk.PDK.activate()
    wire = gf.Component("lone_wire")
    wire.add_polygon([(0, 0), (2, 0), (2, 0.5), (0, 0.5)], layer=(34, 0))
    wire.add_label("net_a", position=(1, 0.25), layer=(34, 10))
    top = gf.Component("parent")
    top << wire
    (top << pfet()).dmove((0, 5))
    (top << nfet()).dmove((8, 5))
    top.write_gds(tmp_path / "h.gds", with_metadata=False)
    (tmp_path / "h.spice").write_text(
        ".subckt parent SUBSTRATE\nXN nd ng ns SUBSTRATE nfet_03v3 w=1u l=0.28u\n"
        "XP pd pg ps pb pfet_03v3 w=1u l=0.28u\n.ends\n")
    proc = run_bmru("lvs", "h.gds", "h.spice", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout.startswith("LVS match: parent"), (
        proc.stdout, proc.stderr)
    proc = run_bmru("extract", "h.gds", "-o", "x.spice", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "x.spice").read_text().lower()
    assert text.count(".subckt") == 1 and "pfet_03v3 w=1u" in text and "nfet_03v3 w=1u" in text
    try:
        pex.kpex_program()
    except ToolMissingError as exc:
        pytest.skip(f"KLayout-PEX is not installed (run scripts/setup_pex.sh): {exc}")
    proc = run_bmru("extract", "--pex", "h.gds", "-o", "p.spice", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "p.spice").read_text().lower().count(".subckt") == 1


def test_characterize_refuses_an_unmeasurable_cell(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """``bmru characterize --tables`` where the cell shows no clean loop on the alpha bench
    (the benches replaced by stand-ins, run in this process): one sentence naming what
    could not be measured, exit code 2 and no tables folder."""
    from bmru_pdk.circuits import characterize as ch
    from bmru_pdk.cli import main

    monkeypatch.setattr(ch, "measure_cell", lambda *a, **kw: None)
    monkeypatch.setattr(ch, "measure_mirror",
                        lambda kind, ratios, *a, **kw: np.asarray(ratios, float))
    monkeypatch.setattr(ch, "sum_voltage", lambda *a, **kw: 1.0)
    monkeypatch.setattr(ch, "measure_mismatch", lambda *a, **kw: 0.05)
    monkeypatch.setattr("sys.argv", ["bmru", "characterize", "--quick", "--tables",
                                     str(tmp_path / "tables")])
    (tmp_path / "notes.txt").write_text("my notes\n")
    before = snapshot(tmp_path)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
    finally:  # main() installs its own handlers
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    proc = subprocess.CompletedProcess(["bmru"], exit_.value.code, "", capsys.readouterr().err)
    one_sentence(proc, "no clean loop", "r_gain 0.25", "alpha", "could not be measured")
    assert snapshot(tmp_path) == before
