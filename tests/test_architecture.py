"""The shape of gate/: no import cycles and no module over the house limit of 300 lines."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gate

PACKAGE_ROOT = Path(gate.__file__).resolve().parent
MAX_LINES = 300


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def gate_modules() -> dict[str, Path]:
    """Every module of the gate package, by dotted name."""
    return {_module_name(path): path for path in sorted(PACKAGE_ROOT.rglob("*.py"))}


def _imported(tree: ast.AST, *, module: str, is_package: bool, known: set[str]) -> Iterator[str]:
    """Every gate module ``tree`` imports, at any depth: in functions, ``TYPE_CHECKING`` blocks, everywhere."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                # ``from gate.x import name`` imports the module gate.x.name when that is a module.
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in known else base


def import_graph() -> dict[str, set[str]]:
    modules = gate_modules()
    known = set(modules)
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = _imported(tree, module=name, is_package=path.name == "__init__.py", known=known)
        graph[name] = {target for target in targets if target in known and target != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(frozenset(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_gate_package_has_no_import_cycle() -> None:
    """Imports inside gate/ point one way, counting those in functions and TYPE_CHECKING blocks."""
    found = cycles(import_graph())
    assert not found, "import cycles in gate/: " + "; ".join(" <-> ".join(sorted(c)) for c in found)


def test_the_cycle_finder_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    """A cycle hidden in a function body or a TYPE_CHECKING block is still a cycle."""
    source_a = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from gate.b import thing\n"
    source_b = "def late():\n    from gate import a\n"
    known = {"gate", "gate.a", "gate.b"}
    graph = {
        "gate.a": set(_imported(ast.parse(source_a), module="gate.a", is_package=False, known=known)),
        "gate.b": set(_imported(ast.parse(source_b), module="gate.b", is_package=False, known=known)),
    }
    assert graph == {"gate.a": {"gate.b", "typing"}, "gate.b": {"gate.a"}}
    assert cycles({name: targets & known for name, targets in graph.items()}) == [frozenset({"gate.a", "gate.b"})]


def test_no_gate_module_is_longer_than_the_house_limit() -> None:
    """Every module in gate/ fits in 300 lines: a longer one wants splitting along a real seam."""
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in gate_modules().items()}
    too_long = {name: lines for name, lines in sorted(lengths.items()) if lines > MAX_LINES}
    assert not too_long, f"modules over {MAX_LINES} lines: {too_long}"


#: Calls that change the whole interpreter; only the console entry point (gate/console.py) may make them.
PROCESS_WIDE_CALLS = {
    ("sys", "setswitchinterval"),
    ("sys", "setrecursionlimit"),
    ("gc", "disable"),
    ("gc", "freeze"),
    ("gc", "set_threshold"),
}


def test_only_the_console_entry_point_changes_interpreter_wide_settings() -> None:
    """Library modules never call sys.setswitchinterval, gc.disable and the like; gate/console.py (main_exit) may."""
    found = []
    for name, path in gate_modules().items():
        if name == "gate.console":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)):
                continue
            if (node.value.id, node.attr) in PROCESS_WIDE_CALLS:
                found.append(f"{name}:{node.lineno} {node.value.id}.{node.attr}")
    assert not found, found


def test_the_architecture_page_lists_every_module() -> None:
    """docs/ARCHITECTURE.md's one-line-per-module tree names every module in gate/, so a newcomer's map is whole."""
    page = (PACKAGE_ROOT.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    tree = page[page.index("## Every module, one line each"):]
    missing = []
    for path in sorted(PACKAGE_ROOT.rglob("*.py")):
        family = path.parent.name if path.parent != PACKAGE_ROOT else None
        line = next((line for line in tree.splitlines() if line.strip().startswith(path.name + " ")), None)
        heading = f"  {family}/" if family else None
        if line is None or (heading is not None and heading not in tree):
            missing.append(str(path.relative_to(PACKAGE_ROOT)))
    assert not missing, f"add these to docs/ARCHITECTURE.md: {missing}"
