"""ngspice with the gf180 BSIM4 models, through PySpice's shared-library front end.

This is the only module that imports PySpice. It handles PySpice 1.5's quirks with
ngspice 39: the version warning, stderr notes taken for errors, vectors returned as arrays.

Netlists are data: :func:`check_netlist` refuses every line through which ngspice would run
commands (``.control`` blocks, ``*#`` lines; its commands reach the shell and the file
system), read or write another file (``.include``, ``.lib``, file parameters) or load code
(XSPICE models that run programs or libraries). :func:`simulate` checks every deck it is
given; :func:`circuit_text` is the same reading for tools that take the circuit alone.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import logging
import re
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Literal

import numpy as np

from bmru_pdk import assets
from bmru_pdk.errors import BmruError, ToolMissingError
from bmru_pdk.fileio import signals_held, write_text

Corner = Literal["typical", "ff", "ss", "fs", "sf"]
CORNERS: tuple[str, ...] = ("typical", "ff", "ss", "fs", "sf")

# ngspice's shared library is one simulator per process: serialise its use.
_LOCK = threading.Lock()

# The NMOS source rail (docs/corners.md, "Leakage remedies"): a node above the substrate
# that the sources of every NMOS mirror device sit on while their bulks stay on vss, so the
# body effect raises their threshold voltage and cuts their channel leakage when hot.
SOURCE_RAIL = "vsn"
# ngspice's own GMIN (1e-12 S) puts ~1 pA a volt across every junction: at 0.2 nA a unit
# several percent of a small mirror's output, and more than the devices' own junction
# leakage below ~100 °C, a current silicon does not carry (docs/corners.md, "GMIN"). Every
# deck lowers it below that leakage; a bench that shows what the default did asks for it.
GMIN_S = 1e-15
NGSPICE_GMIN_S = 1e-12
# An NMOS card: name | drain | gate | source | bulk model nfet_03v3. An extractor names a
# symmetric device's diffusions either way round, so the side on vss may be either.
_NMOS_CARD = re.compile(r"^(\s*x\S+\s+)(\S+)(\s+\S+\s+)(\S+)(\s+\S+\s+nfet_03v3\b)",
                        re.IGNORECASE | re.MULTILINE)


class SpiceError(BmruError):
    """ngspice rejected the netlist or the run failed; the message carries its log."""


class UnsafeNetlistError(SpiceError):
    """A netlist holds a line through which ngspice would run commands, use files or load
    code; the message names the line."""


# Dot cards that describe a circuit or an analysis. Any other (.include, .lib, .osdi, a
# card of a newer ngspice) is refused rather than judged.
_CARDS = frozenset({
    ".subckt", ".ends", ".model", ".param", ".func", ".global", ".ic", ".nodeset", ".temp",
    ".option", ".options", ".opt", ".title", ".end", ".op", ".dc", ".ac", ".tran", ".noise",
    ".tf", ".sens", ".pz", ".disto", ".pss", ".sp", ".four", ".meas", ".measure", ".save",
    ".print", ".plot", ".probe", ".width", ".if", ".elseif", ".else", ".endif",
})
# XSPICE code models that read files, run a program (d_process) or load a library (d_cosim)
_CODE_MODELS = frozenset({"filesource", "d_source", "d_state", "table2d", "table3d",
                          "d_process", "d_cosim"})
_DOT_WORD = re.compile(r"\.\w*")
_MODEL_TYPE = re.compile(r"^\.model\s+\S+\s+(\w+)", re.IGNORECASE)
# rawfile=, file=, input_file=, process_file=: a parameter that names a file
_FILE_PARAMETER = re.compile(r"\b(\w*file\w*)\s*=", re.IGNORECASE)
_LIBRARY = (".inc", ".lib", ".endl")


def _dot_word(card: str) -> str:
    """The dot word a card starts with, lower case (``""`` for other cards)."""
    m = _DOT_WORD.match(card.lstrip())
    return m.group().lower() if m else ""


def _cards(text: str) -> Iterator[tuple[int, str]]:
    """The cards of ``text`` as ngspice joins them: (number of the first line, the card with
    its ``+`` continuation lines), comments and blank lines left out; ``*#`` lines, which
    ngspice runs as commands, are cards. Lines are split as PySpice hands them to ngspice."""
    first, card = 0, ""
    for number, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or (s.startswith("*") and not s.startswith("*#")):
            continue
        if s.startswith("+") and card:
            card += " " + s[1:]
            continue
        if card:
            yield first, card
        first, card = number, s
    if card:
        yield first, card


def _hazard(card: str) -> str | None:
    """What ``card`` would make ngspice do beyond simulating a circuit, or None."""
    word = _dot_word(card)
    if card.startswith("*#"):
        return "a '*#' line, which ngspice runs as a control command"
    # ngspice matches these by prefix: .controls opens a block as .control does
    if word.startswith((".control", ".endc")):
        return (f"a {word} line: ngspice runs the commands of a control block, and they "
                "reach the shell and the file system")
    if word.startswith(_LIBRARY):
        return (f"a {word} line, which reads another file (bmru adds the gf180 models "
                "itself)")
    if word and word not in _CARDS:
        return f"a {word} line, which is not a circuit or analysis card"
    model = _MODEL_TYPE.match(card)
    if model and model.group(1).lower() in _CODE_MODELS:
        return f"a {model.group(1)} model, which reads files or runs other programs"
    parameter = _FILE_PARAMETER.search(card)
    if parameter:
        return f"the parameter {parameter.group(1)}=, which names a file"
    return None


def check_netlist(text: str, source: str) -> None:
    """Refuse a netlist that would make ngspice do more than simulate a circuit.

    Args:
        text: The netlist.
        source: What to call it in the message (a path).

    Raises:
        UnsafeNetlistError: The first line that runs commands (``.control`` blocks, ``*#``
            lines), reads or writes another file (``.include``, ``.lib``, a ``file=``
            parameter), loads code (XSPICE ``d_process``, ``d_cosim``), or is a dot card
            that is neither circuit nor analysis.
    """
    for number, card in _cards(text):
        found = _hazard(card)
        if found:
            raise UnsafeNetlistError(f"line {number} of {source} holds {found}; a netlist "
                                     "may hold only circuit and analysis cards")


def circuit_text(text: str) -> str:
    """``text`` without what only a simulator reads: ``.control`` blocks and model-library
    lines (``.include``, ``.lib``, ``.endl``), for a reader that takes the circuit alone and
    follows none of them (LVS reads a simulation deck as a schematic)."""
    kept, control = [], False
    for line in text.splitlines():
        word = _dot_word(line)
        control = word.startswith(".control") or (control and not word.startswith(".endc"))
        if not (control or word.startswith((".endc", *_LIBRARY))):
            kept.append(line)
    return "\n".join(kept)


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
    """The lines that load the gf180 models for ``corner``, and ngspice's GMIN at
    :data:`GMIN_S` (a later ``.options gmin`` of the deck overrides it).

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
        f".options gmin={GMIN_S:g}\n"
    )


@cache
def _shared():  # noqa: ANN202  (PySpice has no type hints)
    """This process's ngspice, started once."""
    ngspice_library()
    # PySpice warns on every start that it does not know ngspice 39; it works with it.
    logging.getLogger("PySpice").setLevel(logging.CRITICAL)
    from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi

    class Ngspice(NgSpiceShared):
        """PySpice's front end, with background runs that can be waited for."""

        def __init__(self, *args: object, **kwargs: object) -> None:
            self.finished = threading.Event()
            super().__init__(*args, **kwargs)

        @staticmethod
        def _background_thread_running(exited, ngspice_id, user_data) -> int:  # noqa: ANN001
            # ngspice calls with True when its thread has ended; PySpice's own callback
            # returns None where C wants an int, a warning on stderr every run
            if exited:
                ffi.from_handle(user_data).finished.set()
            return 0

    # ngspice runs ./.spiceinit when it starts (shell commands included): start it in an
    # empty folder, so the .spiceinit of a checkout under test never runs
    with signals_held(), tempfile.TemporaryDirectory() as empty, contextlib.chdir(empty):
        ng = Ngspice.new_instance()
        ng.exec_command("set ngbehavior=hs")
        # One solver thread: two runs at once on two cores otherwise slow each other 100x.
        ng.exec_command("set num_threads=1")
    return ng


def _run(ng) -> None:  # noqa: ANN001
    """Run the loaded circuit in ngspice's background thread and wait for it here.

    ngspice calls back into Python (its output) from the thread it works in, where the
    exception of a signal handler is swallowed; a foreground run would also take Ctrl-C for
    itself. So this thread only waits, in Python: a signal interrupts the wait, and the run
    is halted before the exception goes on. Every call that makes ngspice work in this
    thread holds the signals until it returns (:func:`~bmru_pdk.fileio.signals_held`).
    """
    from PySpice.Spice.NgSpice.Shared import NgSpiceCommandError

    ng.finished.clear()
    # the run's first lines may come before the call returns: they are judged after it
    with signals_held(), contextlib.suppress(NgSpiceCommandError):
        ng.exec_command("bg_run")
    try:
        while not ng.finished.wait(0.1):
            pass
    except BaseException:
        # it reports the halt as an error; it returns once the thread has stopped
        with signals_held(), contextlib.suppress(Exception):
            ng.exec_command("bg_halt")
        raise


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
    source_rail_v: float = 0.0,
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
        title: first line of the deck, and the netlist's name in messages.
        temp_c: circuit temperature, °C, written as a ``.temp`` line; None leaves the deck's
            own (ngspice's default is 27 °C). A deck that sets ``.temp`` itself (the tile
            testbench does) must not be given one here too: two lines would leave the
            temperature to whichever ngspice reads last.
        source_rail_v: with a value above zero, every NMOS whose source is on ``vss`` is
            moved onto the rail :data:`SOURCE_RAIL` held at this voltage (its bulk stays on
            ``vss``): :func:`on_source_rail`.

    Returns:
        The vectors of the analysis as numpy arrays.

    Raises:
        UnsafeNetlistError: ``netlist`` holds more than circuit and analysis cards
            (:func:`check_netlist`); nothing was run.
        SpiceError: ngspice failed, or ``temp_c`` is not finite or given to a deck that has
            a ``.temp`` line.
    """
    from PySpice.Spice.NgSpice.Shared import NgSpiceCircuitError

    options = "" if seed is None else f".options seed={int(seed)}\n"
    if temp_c is not None:
        if not np.isfinite(temp_c):
            raise SpiceError(f"temperature {temp_c} °C is not a number")
        if _TEMP.search(netlist):
            raise SpiceError(f"temperature {temp_c:g} °C given to a deck that sets its own "
                             "with a .temp line")
        options += f".temp {temp_c:g}\n"
    check_netlist(netlist, title)
    if source_rail_v:
        netlist = on_source_rail(netlist, source_rail_v)
    # one title line, whatever the name holds
    deck = (f"* {' '.join(title.split())}\n{model_header(corner, mismatch)}{options}"
            f"{netlist.rstrip()}\n.end\n")
    with _LOCK:
        ng = _shared()
        log: list[str] = []
        try:
            with signals_held():  # ngspice works in this thread: see _run
                ng.destroy()
                ng.load_circuit(deck)
            log += _log(ng)  # parse messages: the run clears them
            _run(ng)
        except (NgSpiceCircuitError, NameError) as exc:
            raise SpiceError(f"ngspice failed: {_problems(log + _log(ng))}") from exc
        # PySpice would fail a run on any stderr line but "Warning:", so ngspice's notes on
        # gmin or source stepping (a hot operating point) end a good run; the end-time
        # check below still catches a run that stopped
        if _errors(ng.stderr):
            raise SpiceError(f"ngspice failed: {_problems(log + _log(ng))}")
        log += _log(ng)
        with signals_held():
            plot = ng.last_plot
            vectors = {} if not plot or plot == "const" else {
                name.lower(): np.array(vec._data if hasattr(vec, "_data") else vec, dtype=float)
                for name, vec in ng.plot(None, plot).items()
            }
            ng.remove_circuit()
        if not vectors:
            raise SpiceError(f"ngspice produced no results: {_problems(log)}")
    stop = _tran_stop(netlist)
    end = vectors["time"][-1] if "time" in vectors and len(vectors["time"]) else None
    # a transient that ends early is a failure, never data to interpolate over
    if stop is not None and (end is None or end < stop * (1 - 1e-6)):
        raise SpiceError(f"ngspice stopped at t = {end or 0:.4g} s of the {stop:.4g} s asked "
                         f"for: {_problems(log)}")
    return SimResult(plot, vectors, "\n".join(log))


def check_source_rail(rail_v: float, name: str = "an NMOS source rail of") -> None:
    """Refuse a source rail that is not a voltage between 0 (exclusive) and 1 V: above that
    the NMOS nodes leave the PMOS outputs no headroom at 1.8 V.

    Raises:
        SpiceError: naming the rail as ``name`` (``--source-rail`` on the command line).
    """
    if not (np.isfinite(rail_v) and 0 < rail_v <= 1.0):
        raise SpiceError(f"{name} {rail_v:g} V is not between 0 and 1 V")


def on_source_rail(netlist: str, rail_v: float) -> str:
    """``netlist`` with every NMOS diffusion on ``vss`` moved onto the global node
    :data:`SOURCE_RAIL`, held ``rail_v`` above ground; bulks and every other terminal stay.

    In a circuit of the builders only sources sit on ``vss`` (every NMOS with its source
    there is a mirror device: a diode or an output; the cell's switches have theirs on
    their tails); an extracted netlist may call either diffusion of a device its drain.
    The netlists name their ground ``vss`` (the builders' and the extracted tile's
    convention), so one global node reaches into every subcircuit without new pins.

    Raises:
        SpiceError: ``rail_v`` is out of range (:func:`check_source_rail`).
    """
    check_source_rail(rail_v)
    def move(m: re.Match[str]) -> str:
        d, s = (SOURCE_RAIL if n.lower() == "vss" else n for n in (m.group(2), m.group(4)))
        return f"{m.group(1)}{d}{m.group(3)}{s}{m.group(5)}"

    moved = _NMOS_CARD.sub(move, netlist)
    return f".global {SOURCE_RAIL}\nV{SOURCE_RAIL} {SOURCE_RAIL} 0 {rail_v:g}\n{moved}"


def write_csv(result: SimResult, path: Path) -> None:
    """Write every vector of ``result`` as one CSV column (atomically)."""
    names = sorted(result.vectors, key=lambda n: (n != "time", n))
    rows = np.column_stack([result.vectors[n] for n in names])
    lines = [",".join(names)] + [",".join(f"{v:.9g}" for v in row) for row in rows]
    write_text(path, "\n".join(lines) + "\n")
