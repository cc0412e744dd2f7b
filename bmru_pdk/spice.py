"""ngspice with the gf180 BSIM4 models, through PySpice's shared-library front end.

This is the only module that imports PySpice. It handles PySpice 1.5's quirks with
ngspice 39: the version warning, stderr notes taken for errors, vectors returned as arrays.
"""

from __future__ import annotations

import ctypes.util
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from bmru_pdk import assets
from bmru_pdk.errors import BmruError, ToolMissingError

Corner = Literal["typical", "ff", "ss", "fs", "sf"]
CORNERS: tuple[str, ...] = ("typical", "ff", "ss", "fs", "sf")

# ngspice's shared library is one simulator per process: serialise its use.
_LOCK = threading.Lock()


class SpiceError(BmruError):
    """ngspice rejected the netlist or the run failed; the message carries its log."""


@dataclass
class SimResult:
    """Vectors of one analysis, by lower-case ngspice name (``v(out)`` is ``out``)."""

    plot: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    log: str = ""

    def __getitem__(self, name: str) -> np.ndarray:
        key = name.lower()
        if key.startswith("v(") and key.endswith(")"):
            key = key[2:-1]
        if key.startswith("i(") and key.endswith(")"):
            key = f"{key[2:-1]}#branch"
        try:
            return self.vectors[key]
        except KeyError:
            known = sorted(self.vectors)
            raise KeyError(f"no vector {name!r} in plot {self.plot}: {known}") from None


def ngspice_library() -> str:
    """The ngspice shared library PySpice will load, or a clear error."""
    lib = ctypes.util.find_library("ngspice")
    if lib is None:
        raise ToolMissingError(
            "the ngspice shared library is not installed: "
            "run 'apt-get install ngspice libngspice0 libngspice0-dev' (or 'make setup')"
        )
    return lib


def model_header(corner: str = "typical", mismatch: bool = False) -> str:
    """The lines that load the gf180 models for ``corner``.

    Args:
        corner: process corner, one of ``CORNERS``.
        mismatch: keep the models' statistical mismatch on (Monte Carlo); off by default
            so runs repeat exactly.
    """
    if corner not in CORNERS:
        raise SpiceError(f"unknown process corner {corner!r}: choose one of {', '.join(CORNERS)}")
    models = assets.model_dir()
    return (
        f".include {models / 'design.ngspice'}\n"
        f".lib {models / 'sm141064.ngspice'} {corner}\n"
        f".param sw_stat_mismatch={1 if mismatch else 0}\n"
    )


def _shared():  # noqa: ANN202  (PySpice has no type hints)
    ngspice_library()
    # PySpice warns on every start that it does not know ngspice 39; it works with it.
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared

    ng = NgSpiceShared.new_instance()
    ng.exec_command("set ngbehavior=hs")
    # One solver thread: two runs at once on two cores otherwise slow each other 100x.
    ng.exec_command("set num_threads=1")
    return ng


# SPICE scale suffixes (case-insensitive; "meg" before "m")
_SCALE = {"t": 1e12, "g": 1e9, "meg": 1e6, "k": 1e3, "mil": 25.4e-6, "m": 1e-3, "u": 1e-6,
          "n": 1e-9, "p": 1e-12, "f": 1e-15}
_NUMBER = re.compile(r"^([-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)(meg|mil|[tgkmunpf])?",
                     re.IGNORECASE)
_TRAN = re.compile(r"^\s*\.tran\s+(\S+)\s+(\S+)", re.IGNORECASE | re.MULTILINE)
_TEMP = re.compile(r"^\s*\.temp\b", re.IGNORECASE | re.MULTILINE)


def spice_number(text: str) -> float:
    """``"1m"`` -> 1e-3, ``"2.5meg"`` -> 2.5e6, ``"1e-6s"`` -> 1e-6 (units after the scale
    are ignored, as SPICE does)."""
    m = _NUMBER.match(text.strip())
    if m is None:
        raise SpiceError(f"{text!r} is not a SPICE number")
    return float(m.group(1)) * _SCALE.get((m.group(2) or "").lower(), 1.0)


def _tran_stop(netlist: str) -> float | None:
    """The stop time of the deck's ``.tran`` line, s, if it has one."""
    m = _TRAN.search(netlist)
    return None if m is None else spice_number(m.group(2))


# stderr lines of ngspice that report progress, not failure
_NOTES = ("note:", "warning:", "trying gmin", "trying source", "supplies reduced",
          "gmin stepping", "source stepping")


def _errors(stderr: str) -> list[str]:
    """The lines of ngspice's stderr that are not progress notes."""
    return [ln for ln in stderr.splitlines()
            if ln.strip() and not ln.strip().lower().startswith(_NOTES)]


def _log(ng) -> list[str]:  # noqa: ANN001
    text = "\n".join(s for s in (ng.stdout, ng.stderr) if s)
    return [ln for ln in text.splitlines() if ln.strip() and "can't find init file" not in ln]


def _problems(lines: list[str]) -> str:
    """The lines of an ngspice log that say what went wrong."""
    bad = [ln for ln in lines if any(w in ln.lower() for w in (
        "error", "could not", "unknown", "singular", "abort", "fatal", "too small",
        "interrupted", "condition met"))]
    return "; ".join(dict.fromkeys(bad or lines[-5:]))


def simulate(
    netlist: str,
    *,
    corner: str = "typical",
    mismatch: bool = False,
    seed: int | None = None,
    title: str = "bmru-pdk",
    temp_c: float | None = None,
) -> SimResult:
    """Run ``netlist`` (devices, sources and one analysis line) with the gf180 models.

    Args:
        netlist: SPICE body: may hold ``.subckt`` blocks, instances, sources, ``.ic`` and one
            analysis (``.op``, ``.dc``, ``.tran``); no ``.end`` needed.
        corner: process corner.
        mismatch: statistical mismatch on (Monte Carlo).
        seed: seed of ngspice's random numbers (``.options seed``): a Monte Carlo sample
            repeats with its seed, across processes too; None draws a new sample each run.
            Without mismatch nothing is random and the seed changes nothing.
        title: first line of the deck.
        temp_c: circuit temperature, °C, written as a ``.temp`` line; None leaves the deck's
            own (ngspice's default is 27 °C). A deck that sets ``.temp`` itself (the tile
            testbench does) must not be given one here too: two lines would leave the
            temperature to whichever ngspice reads last.

    Returns:
        The vectors of the analysis as numpy arrays.

    Raises:
        SpiceError: ngspice failed, or ``temp_c`` is not finite or given to a deck that has
            a ``.temp`` line.
    """
    from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError, NgSpiceCommandError

    options = "" if seed is None else f".options seed={int(seed)}\n"
    if temp_c is not None:
        if not np.isfinite(temp_c):
            raise SpiceError(f"temperature {temp_c} °C is not a number")
        if _TEMP.search(netlist):
            raise SpiceError(f"temperature {temp_c:g} °C given to a deck that sets its own "
                             "with a .temp line")
        options += f".temp {temp_c:g}\n"
    deck = f"* {title}\n{model_header(corner, mismatch)}{options}{netlist.rstrip()}\n.end\n"
    with _LOCK:
        ng = _shared()
        ng.destroy()
        log: list[str] = []
        try:
            ng.load_circuit(deck)
            log += _log(ng)  # parse messages: ng.run() clears them
            ng.run()
        except NgSpiceCommandError as exc:
            # PySpice fails a run on any stderr line but "Warning:", so ngspice's notes on
            # gmin or source stepping (a hot operating point) end a good run; the end-time
            # check below still catches a run that stopped
            if _errors(ng.stderr):
                raise SpiceError(f"ngspice failed: {_problems(log + _log(ng))}") from exc
        except (NgSpiceCircuitError, NameError) as exc:
            raise SpiceError(f"ngspice failed: {_problems(log + _log(ng))}") from exc
        log += _log(ng)
        plot = ng.last_plot
        if not plot or plot == "const":
            raise SpiceError(f"ngspice produced no results: {_problems(log)}")
        vectors = {
            name.lower(): np.array(vec._data if hasattr(vec, "_data") else vec, dtype=float)
            for name, vec in ng.plot(None, plot).items()
        }
        ng.remove_circuit()
    stop = _tran_stop(netlist)
    end = vectors["time"][-1] if "time" in vectors and len(vectors["time"]) else None
    # a transient that ends early is a failure, never data to interpolate over
    if stop is not None and (end is None or end < stop * (1 - 1e-6)):
        raise SpiceError(f"ngspice stopped at t = {end or 0:.4g} s of the {stop:.4g} s asked "
                         f"for: {_problems(log)}")
    return SimResult(plot, vectors, "\n".join(log))


def write_csv(result: SimResult, path: Path) -> None:
    """Write every vector of ``result`` as one CSV column (atomically)."""
    from bmru_pdk.fileio import write_text

    names = sorted(result.vectors, key=lambda n: (n != "time", n))
    rows = np.column_stack([result.vectors[n] for n in names])
    lines = [",".join(names)] + [",".join(f"{v:.9g}" for v in row) for row in rows]
    write_text(path, "\n".join(lines) + "\n")
