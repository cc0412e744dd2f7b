"""Imports point down the pipeline only: a module never imports from a later stage."""

from __future__ import annotations

import ast
from pathlib import Path

import bmru_pdk

PACKAGE = Path(bmru_pdk.__file__).parent
# Stages in pipeline order (README's package map): the first match of a module's dotted
# name (below ``bmru_pdk``) decides its stage.
STAGES = [
    ("tech and engines", ("", "errors", "fileio", "assets", "layers", "rules", "tech",
                          "spice")),
    ("model", ("model",)),
    ("circuits", ("circuits",)),
    ("cells and layouts", ("cells", "layouts", "pdk")),
    ("verification engines", ("verification",)),
    ("analyses", ("analyses",)),
    ("flow and CLI", ("flow", "demo", "cli", "__main__")),
]


def stage(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "bmru_pdk":
        return None
    top = parts[1] if len(parts) > 1 else ""
    return next(k for k, (_, names) in enumerate(STAGES) if top in names)


def imports(path: Path) -> list[str]:
    """Every module ``path`` imports, at the top or inside functions."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
    return out


def upward(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("bmru_pdk", *path.relative_to(root).with_suffix("").parts))
        module = module.removesuffix(".__init__")
        here = stage(module)
        for target in imports(path):
            there = stage(target)
            if there is not None and there > here:
                found.append(f"{module} ({STAGES[here][0]}) imports {target} "
                             f"({STAGES[there][0]})")
    return sorted(set(found))


def test_no_module_imports_from_a_later_stage() -> None:
    assert upward(PACKAGE) == []


def test_the_check_sees_an_upward_import(tmp_path: Path) -> None:
    (tmp_path / "circuits").mkdir()
    (tmp_path / "circuits" / "bad.py").write_text(
        "def f():\n    from bmru_pdk.analyses.compare import compare\n")
    assert upward(tmp_path) == ["bmru_pdk.circuits.bad (circuits) imports "
                                "bmru_pdk.analyses.compare (analyses)",
                                "bmru_pdk.circuits.bad (circuits) imports "
                                "bmru_pdk.analyses.compare.compare (analyses)"]
