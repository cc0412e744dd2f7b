"""Rewrite ``tests/data/cell_hashes.json``, the GDS references of ``tests/test_cell_library.py``.

Run it after a change meant to alter the cell layouts, review the diff and commit it with the
change::

    python scripts/update_cell_references.py            # rewrite the references
    python scripts/update_cell_references.py --check    # compare only: exit 1 naming changes
    python scripts/update_cell_references.py --output F # write F instead

The cases and their fingerprints are the test module's (every cell registered in the PDK at
its defaults, the variants). Every case is built twice in this process, the cell caches
cleared between: a case whose two builds differ is not deterministic, and nothing is
written (exit 1).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests" / "test_cell_library.py"


def _test_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("test_cell_library", TESTS)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the references, write nothing")
    parser.add_argument("--output", type=Path, default=None,
                        help="file to write (default: the references)")
    args = parser.parse_args(argv)

    import gdsfactory as gf

    from bmru_pdk import PDK

    tests = _test_module()
    PDK.activate()
    first = {name: tests.fingerprint(c) for name, c in tests.build_cases().items()}
    gf.clear_cache()
    second = {name: tests.fingerprint(c) for name, c in tests.build_cases().items()}
    unstable = tests.differences(second, first)
    if unstable:
        print("two builds in one process differ:", *unstable, sep="\n  ", file=sys.stderr)
        return 1
    if args.check:
        changed = tests.differences(first, tests.read_references())
        print(*changed or ["every case matches its reference"], sep="\n")
        return 1 if changed else 0
    out = args.output or tests.REFERENCES
    out.parent.mkdir(parents=True, exist_ok=True)
    data = {"about": "GDS fingerprints of the cases of tests/test_cell_library.py; "
                     "regenerate with python scripts/update_cell_references.py",
            "cells": first}
    out.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
    print(f"{len(first)} cases -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
