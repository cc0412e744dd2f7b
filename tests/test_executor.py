"""The simulation executor: inline, local processes and a Dask cluster give the same results."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from bmru_pdk.analyses import compare as cmp
from bmru_pdk.errors import BmruError
from bmru_pdk.executor import Executor, LocalExecutor, make_executor
from bmru_pdk.model import samples
from bmru_pdk.model.checkpoint import random_checkpoint
from bmru_pdk.spice import SpiceError, simulate

# The tiny network and frames of test_compare.py (thresholds well clear of the inputs)
FRAMES = np.array([[3, 0], [3, 3], [0, 0], [5, 1], [1, 5], [2, 2], [4, 0], [0, 4]], float)
BROKEN = "X1 d g 0 0 nfet_typo w=1u l=1u\nV1 d 0 1\nV2 g 0 1\n.op\n"


def _slow_square(k: int) -> int:
    """Later items finish first, so completion order differs from input order."""
    time.sleep(0.1 * (3 - k % 3))
    return k * k


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_local_processes_keep_the_input_order() -> None:
    calls: list[tuple[int, int]] = []
    with make_executor(workers=2) as ex:
        assert isinstance(ex, LocalExecutor)
        out = ex.map(_slow_square, range(6), lambda k, n: calls.append((k, n)))
    assert out == Executor().map(_slow_square, range(6)) == [k * k for k in range(6)]
    assert calls == [(k, 6) for k in range(7)]


def test_crash_in_a_worker_is_one_sentence() -> None:
    with make_executor(workers=2) as ex, pytest.raises(SpiceError, match="ngspice failed") as err:
        ex.map(simulate, [BROKEN])
    assert "\n" not in str(err.value)


def test_unreachable_scheduler_is_one_sentence() -> None:
    address = f"tcp://127.0.0.1:{_closed_port()}"
    with pytest.raises(BmruError, match=f"cannot reach the Dask scheduler at {address}: ") as err:
        make_executor(address, timeout_s=1)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("scheduler", "workers", "message"), [
    (None, 0, "--workers must be at least 1, got 0"),
    ("tcp://127.0.0.1:8786", 2, "give --scheduler or --workers, not both"),
])
def test_bad_executor_options(scheduler: str | None, workers: int, message: str) -> None:
    with pytest.raises(BmruError, match=message):
        make_executor(scheduler, workers)


def test_cli_rejects_bad_workers(tmp_path: Path) -> None:
    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    proc = subprocess.run([sys.executable, "-m", "bmru_pdk", "compare", str(ckpt),
                           "--workers", "0", "-o", str(tmp_path / "out")],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr == "error: --workers must be at least 1, got 0\n"


def _untimed(figures: dict) -> dict:
    """``figures`` without the simulation run times."""
    out = {k: v for k, v in figures.items() if k != "sim_s_per_utterance"}
    out["per_utterance"] = [{k: v for k, v in p.items() if k != "sim_s"}
                            for p in figures["per_utterance"]]
    return out


def test_compare_on_a_dask_cluster_equals_the_inline_run(tmp_path: Path) -> None:
    from distributed import LocalCluster

    ckpt = random_checkpoint(n_in=2, d=1, layers=1, seed=1, path=tmp_path / "c.safetensors")
    utterances = [samples.Utterance("a", 0, FRAMES), samples.Utterance("b", 0, FRAMES[::-1])]
    inline = cmp.compare(ckpt, utterances, tmp_path / "inline")
    calls: list[tuple[int, int]] = []
    with (LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                       dashboard_address=None) as cluster,
          make_executor(cluster.scheduler_address) as ex):
        remote = cmp.compare(ckpt, utterances, tmp_path / "dask", executor=ex,
                             progress=lambda k, n: calls.append((k, n)))
        with pytest.raises(SpiceError, match="ngspice failed") as err:
            ex.map(simulate, [BROKEN])
    assert "\n" not in str(err.value)
    assert calls == [(0, 2), (1, 2), (2, 2)]
    assert _untimed(remote) == _untimed(inline)
    assert remote["ideal"]["state_agreement_per_layer"] == [1.0]


def test_tls_scheduler_with_distributeds_own_configuration(tmp_path: Path) -> None:
    import shutil

    import dask
    from distributed import LocalCluster
    from distributed.security import Security

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    pem = {"ca_file": str(cert), **{f"{who}_{part}": str(cert if part == "cert" else key)
                                    for who in ("scheduler", "worker", "client")
                                    for part in ("cert", "key")}}
    security = Security(**{f"tls_{k}": v for k, v in pem.items()}, require_encryption=True)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tls",
                      security=security, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tls://")
        with pytest.raises(BmruError, match="needs distributed's TLS configuration"):
            make_executor(address, timeout_s=5)
        config = {"distributed.comm.tls.ca-file": str(cert),
                  "distributed.comm.tls.client.cert": str(cert),
                  "distributed.comm.tls.client.key": str(key)}
        with dask.config.set(config), make_executor(address, timeout_s=10) as ex:
            assert ex.map(_slow_square, [1, 2]) == [1, 4]


ORPHAN_SCRIPT = '''
import os, signal, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing


def job(folder):
    open(os.path.join(folder, str(os.getpid())), "w").close()
    time.sleep(120)


def ignore():
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)


if __name__ == "__main__":
    mode, folder = sys.argv[1:]
    if mode == "executor":
        from bmru_pdk.executor import LocalExecutor
        LocalExecutor(2).map(job, [folder, folder])
    else:  # workers that ignore signals and nothing else
        pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=ignore)
        list(pool.map(job, [folder, folder]))
'''


def _alive(pid: int) -> bool:
    """Running (a zombie nobody has reaped yet is gone)."""
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("mode", ["executor", "bare"])
def test_workers_end_when_their_parent_is_killed(tmp_path: Path, mode: str) -> None:
    """A parent killed outright (SIGKILL: no handler runs) cannot kill its workers, which
    ignore SIGTERM: each watches its parent and exits within a poll (0.5 s); 10 s allows a
    loaded machine's scheduling. Workers that only ignore signals outlive it (and are killed
    here)."""
    script = tmp_path / "orphans.py"
    script.write_text(ORPHAN_SCRIPT)
    pids_dir = tmp_path / "pids"
    pids_dir.mkdir()
    parent = subprocess.Popen([sys.executable, str(script), mode, str(pids_dir)])
    deadline = time.monotonic() + 120
    while len(list(pids_dir.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [int(p.name) for p in pids_dir.iterdir()]
    assert len(workers) == 2
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.2)
    survivors = [w for w in workers if _alive(w)]
    for w in survivors:
        os.kill(w, signal.SIGKILL)
    assert survivors == ([] if mode == "executor" else workers)
