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
import time
from collections.abc import Callable
from pathlib import Path

import klayout.db as kdb
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
    try:
        deadline = time.monotonic() + 120
        while not list(tmp_path.glob(".out.*.part/extracted.spice")):
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no extracted netlist after 120 s"
            time.sleep(0.05)
        time.sleep(3)
        assert proc.poll() is None, "compare ended before the signal"
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
    assert snapshot(tmp_path) == before


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
    """drc, lvs and extract name both top cells and ask for one; given one, extract runs."""
    layout = kdb.Layout()
    for name in ("A", "B"):
        layout.create_cell(name).shapes(layout.layer(34, 0)).insert(kdb.Box(0, 0, 1000, 1000))
    layout.write(str(tmp_path / "two.gds"))
    (tmp_path / "ok.spice").write_text(".subckt A a\n.ends\n")
    before = snapshot(tmp_path)
    words = ["two.gds needs exactly one top cell (found: A, B)", "--topcell"]
    one_sentence(run_bmru("drc", "two.gds", cwd=tmp_path), *words)
    one_sentence(run_bmru("lvs", "two.gds", "ok.spice", cwd=tmp_path), *words)
    one_sentence(run_bmru("extract", "two.gds", "-o", "x.spice", cwd=tmp_path), *words)
    assert snapshot(tmp_path) == before
    proc = run_bmru("extract", "two.gds", "--topcell", "A", "-o", "x.spice", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
