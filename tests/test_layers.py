"""The package's layers (README, "Architecture"): each module imports only modules of its own layer
or the layers below, counting imports inside functions too, and no two modules import each other
through any chain (no import cycle)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "simulator"
# bottom to top; a module's layer is that of its longest listed prefix
LAYERS: list[tuple[str, ...]] = [
    ("simulator.errors", "simulator.vocabulary", "simulator.geom", "simulator.frames", "simulator.visibility",
     "simulator.scenario"),
    ("simulator.inputs",),
    ("simulator.scene",),
    ("simulator.build",),
    ("simulator.engine",),
    ("simulator.results",),
    ("simulator.run",),
    ("simulator.outputs",),
    ("simulator.cli", "simulator.workbench", "simulator.device", "simulator.where", "simulator"),
]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> int:
    best, layer = -1, -1
    for i, names in enumerate(LAYERS):
        for n in names:
            if (module == n or module.startswith(n + ".")) and len(n) > best:
                best, layer = len(n), i
    assert layer >= 0, f"{module} is in no layer"
    return layer


def imports() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports (anywhere in it)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    out: dict[str, set[str]] = {}
    for mod, path in modules.items():
        package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:  # ``from pkg import submodule`` imports the submodule
                    found.add(f"{target}.{a.name}" if f"{target}.{a.name}" in modules else target)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
        out[mod] = {m for m in found if m == "simulator" or m.startswith("simulator.")} - {mod}
    return out


GRAPH = imports()


@pytest.mark.parametrize("module", sorted(GRAPH))
def test_imports_only_layers_below(module):
    mine = layer_of(module)
    above = sorted(m for m in GRAPH[module] if layer_of(m) > mine)
    assert not above, f"{module} (layer {mine}) imports {above}"


def test_no_import_cycle():
    # a package's __init__ re-exporting its modules is not a cycle of theirs: edges into a package
    # __init__ from its own submodules are left out
    def edges(m: str) -> set[str]:
        return {d for d in GRAPH[m] if d in GRAPH and not m.startswith(d + ".")}

    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for d in sorted(edges(m)):
            if state.get(d) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(d):] + [d]))
            if d not in state:
                visit(d)
        path.pop()
        state[m] = 2

    for m in sorted(GRAPH):
        if m not in state:
            visit(m)


def test_the_layer_test_can_fail():
    """The checker sees an upward import and a cycle where there is one."""
    assert layer_of("simulator.run.pipeline") > layer_of("simulator.engine.exposure")
    assert layer_of("simulator.outputs.report.html") == layer_of("simulator.outputs")
    assert "simulator.scene.targets" in GRAPH["simulator.engine.exposure"]


def test_test_files_mirror_the_package_layout():
    """A test module in tests/<a>/<b>/ tests the package simulator/<a>/<b>/; tests of top-level modules
    (and of the whole) sit in tests/ itself."""
    tests = Path(__file__).resolve().parent
    found = sorted(tests.rglob("test_*.py"))
    assert len(found) > 20
    for f in found:
        folder = f.parent.relative_to(tests)
        if folder.parts:
            assert (PACKAGE / folder / "__init__.py").is_file(), f"{f.relative_to(tests)}: no such package"
            assert (f.parent / "__init__.py").is_file(), f"{folder}: not a test package"
