"""What every results file records of how it was made: the command and the checkpoint."""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bmru_pdk.circuits.characterize import Tables


def command() -> str:
    """This run's command line, as a reader would type it from the repository's root."""
    return "python benchmarks/" + " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])


def checkpoint(path: str | os.PathLike[str]) -> dict[str, str]:
    """The checkpoint a run read: its file name and the SHA-256 of its bytes."""
    path = Path(path)
    return {"checkpoint": path.name,
            "checkpoint_sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def results_name(name: str) -> str:
    """A results file's name given on a command line (``--out``): a bare name, written into
    ``benchmarks/results`` beside the others, never a path to somewhere else."""
    if not name or Path(name).name != name or name in (".", ".."):
        raise argparse.ArgumentTypeError(f"{name!r} is not a file name: --out names a file "
                                         "in benchmarks/results, without a folder")
    return name


def network_options(parser: argparse.ArgumentParser) -> None:
    """``--checkpoint`` and ``--tables``: a bench run on another network than the bundled
    one, mapped with other tables (a grid of D-gate diodes for a network trained for it)."""
    parser.add_argument("--checkpoint", type=Path, default=None,
                        help="the network (default the bundled one)")
    parser.add_argument("--tables", type=Path, default=None,
                        help="tables to map with (default the package's)")


def tables(args: argparse.Namespace) -> Tables | None:
    """The tables ``--tables`` names, else those ``BMRU_TABLES`` names, else ``None`` (the
    package's tables of the network's grid: :func:`bmru_pdk.circuits.mapping.tables_for`)."""
    from bmru_pdk.circuits.mapping import environment_tables, load_tables

    return load_tables(args.tables) if args.tables else environment_tables()


def rail_options(parser: argparse.ArgumentParser) -> None:
    """``--draw-rail`` and ``--rail-generator``, as ``bmru compare``'s: the tile as
    ``make run`` draws it."""
    parser.add_argument("--draw-rail", action="store_true",
                        help="draw the NMOS source rail (pin vsn)")
    parser.add_argument("--rail-generator", action="store_true",
                        help="hold the drawn rail with the rail generator drawn in the tile")


def nominal_rail(parser: argparse.ArgumentParser, args: argparse.Namespace) -> dict:
    """The ``source_rail`` and typical-27 °C ``condition`` the rail options ask for."""
    from bmru_pdk.analyses import testbench as tb

    if args.rail_generator and not args.draw_rail:
        parser.error("--rail-generator holds the drawn rail: add --draw-rail")
    return {"source_rail": args.draw_rail,
            "condition": tb.generated_rail() if args.rail_generator else tb.NOMINAL}
