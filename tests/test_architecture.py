"""Imports point down the pipeline only: a module never imports from a later stage, nor
reaches into another module's private (``_``) names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import bmru_pdk

PACKAGE = Path(bmru_pdk.__file__).parent
# Stages in pipeline order (docs/usage.md#package-map): the first match of a module's dotted
# name (below ``bmru_pdk``) decides its stage.
STAGES = [
    ("tech and engines", ("", "errors", "executor", "fileio", "assets", "layers", "rules", "tech",
                          "spice")),
    ("model", ("model",)),
    ("circuits", ("circuits",)),
    ("cells and layouts", ("cells", "layouts", "pdk")),
    ("verification engines", ("verification",)),
    ("analyses", ("analyses",)),
    ("flow and CLI", ("flow", "demo", "signoff", "cli", "__main__")),
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


def is_module(name: str, root: Path = PACKAGE) -> bool:
    """Whether ``name`` is a module or package of the package at ``root``."""
    parts = name.split(".")
    if parts[0] != "bmru_pdk":
        return False
    path = root.joinpath(*parts[1:])
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def is_private(name: str) -> bool:
    """``_name``, not a dunder such as ``__version__``."""
    return name.startswith("_") and not name.endswith("__")


def dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]``; None for anything but names and attributes."""
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else [*base, node.attr]
    return None


def private_uses(source: str, module: str, root: Path = PACKAGE) -> list[str]:
    """Private names of other modules that ``source`` (the module ``module``) reaches.

    Both ways count: ``from bmru_pdk.x import _y``, and ``m._y`` where ``m`` is bound to a
    module of the package (``import bmru_pdk.x as m``, ``from bmru_pdk import x as m``,
    ``import bmru_pdk.x`` then ``bmru_pdk.x._y``). Private aliases (``import x as _x``) are
    fine: they reach only public names.
    """
    tree = ast.parse(source)
    is_package = root.joinpath(*module.split(".")[1:], "__init__.py").is_file()
    package = module if is_package else module.rpartition(".")[0]  # of relative imports
    bound: dict[str, str] = {}  # local name -> module it is bound to
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    bound[a.asname] = a.name
                else:
                    bound[a.name.split(".")[0]] = a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0]
                source_module = f"{base}.{node.module}" if node.module else base
            else:
                source_module = node.module or ""
            if not is_module(source_module, root) or source_module == module:
                continue
            for a in node.names:
                if is_private(a.name):
                    found.append(f"{module} imports {a.name} from {source_module}")
                elif is_module(f"{source_module}.{a.name}", root):
                    bound[a.asname or a.name] = f"{source_module}.{a.name}"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and is_private(node.attr)):
            continue
        chain = dotted(node.value)
        if chain is None or chain[0] not in bound:
            continue
        target = ".".join([bound[chain[0]], *chain[1:]])
        if is_module(target, root) and target != module:
            found.append(f"{module} uses {target}.{node.attr}")
    return found


def private_uses_in(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        module = ".".join(("bmru_pdk", *path.relative_to(root).with_suffix("").parts))
        found += private_uses(path.read_text(), module.removesuffix(".__init__"), root)
    return sorted(set(found))


def test_the_shared_constants_load_without_gdsfactory() -> None:
    # every stage imports bmru_pdk.tech (the supply), the model and circuits ones included
    code = "import sys, bmru_pdk.tech; assert 'gdsfactory' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_module_uses_another_modules_private_names() -> None:
    assert private_uses_in(PACKAGE) == []


def test_the_check_sees_private_names_across_modules() -> None:
    source = (
        "import bmru_pdk.verification.pex\n"
        "from bmru_pdk import spice as _spice\n"
        "from bmru_pdk.analyses import testbench as tb\n"
        "from bmru_pdk.verification.lvs import _clean, run\n"
        "def f(netlist):\n"
        "    _spice.simulate(netlist)\n"  # a private alias of a public name: fine
        "    tb._EDGE, bmru_pdk.verification.pex._joined(netlist)\n"
        "    return run._private\n"  # an attribute of a function, not of a module
    )
    assert sorted(private_uses(source, "bmru_pdk.analyses.bad")) == [
        "bmru_pdk.analyses.bad imports _clean from bmru_pdk.verification.lvs",
        "bmru_pdk.analyses.bad uses bmru_pdk.analyses.testbench._EDGE",
        "bmru_pdk.analyses.bad uses bmru_pdk.verification.pex._joined",
    ]
