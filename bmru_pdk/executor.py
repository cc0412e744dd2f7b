"""Where independent jobs (one ngspice simulation per utterance, one kpex run per PEX window)
run: in this process, in local worker processes, or on a Dask distributed cluster, behind one
``map``.

``fn`` and the items must be picklable (a top-level function or a ``functools.partial`` of
one, dataclasses, numpy arrays). A :class:`~bmru_pdk.errors.BmruError` raised by a job (a
``SpiceError`` from a crashing simulator) comes back to the caller as itself, one sentence.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from bmru_pdk.errors import BmruError

Progress = Callable[[int, int], None]


class Executor:
    """Runs ``fn`` on each item; use as a context manager (``close`` frees the workers)."""

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any],
            progress: Progress | None = None) -> list:
        """``[fn(item) for item in items]``, possibly in parallel.

        Args:
            fn: The job (picklable).
            items: Its arguments, one job each.
            progress: Called with (0, total) when the jobs start, then with (done, total)
                as results arrive, in completion order.

        Returns:
            The results in the order of ``items``.
        """
        items = list(items)
        _started(progress, items)
        out = []
        for k, item in enumerate(items):
            out.append(fn(item))
            if progress:
                progress(k + 1, len(items))
        return out

    def close(self) -> None:
        """Free the workers (nothing to free in this process)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# how often a worker looks for its parent (s): a parent killed outright leaves no one to
# kill its workers, so each exits by itself within this long
PARENT_POLL_S = 0.5


def _worker_start() -> None:
    """A worker's start: Ctrl-C (sent to the whole terminal's process group) and SIGTERM are
    the parent's to act on; it kills its workers then, mid-job. A parent that dies without
    doing so (SIGKILL, or a SIGTERM to a script that does not turn it into an exception) is
    noticed by a watcher thread, which ends the worker."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        os._exit(1)  # nothing to clean up: a job's result is only ever read by the parent

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


class LocalExecutor(Executor):
    """A pool of ``workers`` local processes, started on first use.

    They are spawned, not forked: a fork would copy the parent's loaded ngspice library and
    the locks of its threads (the progress bars' refresh, torch's pool) in whatever state
    they are in. A ``map`` that ends early (a worker died, Ctrl-C, SIGTERM) kills them: their
    simulations write nothing, and their results would no longer be read.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool = None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any],
            progress: Progress | None = None) -> list:
        """See :meth:`Executor.map`."""
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed
        from concurrent.futures.process import BrokenProcessPool

        items = list(items)
        try:  # a signal while the pool starts or takes the jobs kills it too
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    self.workers, mp_context=multiprocessing.get_context("spawn"),
                    initializer=_worker_start)
            futures = [self._pool.submit(fn, item) for item in items]
            _started(progress, items)
            for done, future in enumerate(as_completed(futures), 1):
                future.result()
                if progress:
                    progress(done, len(items))
        except BrokenProcessPool as exc:
            self._kill()
            # a spawned worker re-imports the caller's main module: an unguarded script
            # starts its work again in every worker, which then dies
            raise BmruError(f"a local worker process died while running {_name(fn)} ({exc}); "
                            "a script that starts local workers needs an "
                            "'if __name__ == \"__main__\":' guard") from None
        except BaseException:
            self._kill()
            raise
        return [future.result() for future in futures]

    def _kill(self) -> None:
        """Kill the workers now, mid-job, and wait until they are gone."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # before Python 3.14 (terminate_workers) the pool's processes are reachable only here
        processes = list((pool._processes or {}).values())
        for process in processes:
            process.kill()
        pool.shutdown(cancel_futures=True)
        for process in processes:
            process.join()

    def close(self) -> None:
        """Stop the worker processes (after the jobs already running)."""
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None


def _security(address: str):  # noqa: ANN202  (distributed is imported lazily)
    """The client's security for ``address``: none on ``tcp://``, distributed's own TLS
    configuration (``distributed.comm.tls.*``) on ``tls://``."""
    scheme = address.partition("://")[0] if "://" in address else "tcp"
    if scheme == "tcp":
        return None
    if scheme != "tls":
        raise BmruError(f"scheduler address {address} must start with tcp:// or tls://")
    from distributed.security import Security

    security = Security()
    if not (security.tls_ca_file and security.tls_client_cert):
        raise BmruError(
            f"{address} needs distributed's TLS configuration: set distributed.comm.tls."
            "ca-file, client.cert and client.key in a Dask config file or as "
            "DASK_DISTRIBUTED__COMM__TLS__CA_FILE, __CLIENT__CERT and __CLIENT__KEY")
    return security


class DaskExecutor(Executor):
    """The workers of the Dask distributed cluster whose scheduler is at ``address``.

    The workers need this package, ngspice and the gf180 assets (``bmru setup``), and for
    parasitic extraction kpex (``$BMRU_KPEX`` or on ``PATH``); one worker
    thread per core (``dask worker ADDRESS --nthreads 1 --nworkers N``), as ngspice is one
    simulator per process. A ``tcp://`` scheduler runs whatever it is sent, unauthenticated:
    keep it on a trusted network, or use ``tls://`` with distributed's TLS configuration.
    """

    def __init__(self, address: str, timeout_s: float = 10.0) -> None:
        from distributed import Client

        self.address = address
        security = _security(address)
        try:
            self._client = Client(address, timeout=timeout_s, set_as_default=False,
                                  security=security)
        except Exception as exc:  # refused, timed out, malformed address: all one sentence
            raise BmruError(f"cannot reach the Dask scheduler at {address}: "
                            f"{_one_line(exc)}") from None

    def map(self, fn: Callable[[Any], Any], items: Iterable[Any],
            progress: Progress | None = None) -> list:
        """See :meth:`Executor.map`."""
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        items = list(items)
        futures = self._client.map(fn, items, pure=False)
        _started(progress, items)
        try:
            for done, future in enumerate(as_completed(futures, loop=self._client.loop), 1):
                future.result()
                if progress:
                    progress(done, len(items))
            return self._client.gather(futures)
        except BaseException as exc:
            self._client.cancel(futures)
            if isinstance(exc, KilledWorker | FutureCancelledError):
                raise BmruError(f"the Dask cluster at {self.address} lost {_name(fn)}: "
                                f"{_one_line(exc)}") from None
            raise

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster keeps running)."""
        self._client.close()


def make_executor(scheduler: str | None = None, workers: int | None = None,
                  timeout_s: float = 10.0) -> Executor:
    """The executor for ``scheduler`` / ``workers``.

    Args:
        scheduler: Address of a Dask scheduler (``tcp://host:8786``); ``None`` runs locally.
        workers: Local processes; ``None`` is one per core (ngspice runs one solver thread),
            1 runs every job in this process.
        timeout_s: How long to try to reach ``scheduler``, s.

    Raises:
        BmruError: ``workers`` is below 1 or given with ``scheduler``; the scheduler cannot
            be reached.
    """
    if scheduler is not None:
        if workers is not None:
            raise BmruError("--workers sets local processes; a Dask cluster has its own "
                            "workers, so give --scheduler or --workers, not both")
        return DaskExecutor(scheduler, timeout_s)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise BmruError(f"--workers must be at least 1, got {workers}")
    return Executor() if workers == 1 else LocalExecutor(workers)


def _started(progress: Progress | None, items: list) -> None:
    if progress:
        progress(0, len(items))


def _name(fn: Callable[..., Any]) -> str:
    return getattr(getattr(fn, "func", fn), "__name__", "a job")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
