"""Imports run one way: no module cycles, not even inside functions.

The graph is built from the source (``ast``), so an import hidden in a function body
counts like one at the top. Rules (STYLE.md, docs/architecture.md): ``models_store``
never imports ``demos``; ``accounts`` imports neither ``demos`` nor ``models_store``;
inside ``demos`` the areas stand side by side on one floor:
``lessons.views → widgets.registry → widgets.<key> → {people.selectors, ml, common,
models_store}`` and ``people → ml → models_store → portal.lib``; ``portal.lib`` (the
floor) imports nothing of the project but itself.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "accounts", "demos", "models_store")
FORBIDDEN = {
    "models_store": ("demos", "accounts"),
    "accounts": ("demos", "models_store"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imported_modules(name: str, path: Path, known: set[str]) -> set[str]:
    """Project modules that ``name`` imports anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add(submodule if submodule in known else base)
    # A package's (empty) __init__ is not an edge worth following.
    return {
        target
        for target in targets
        if target in known and target != name and not target.endswith("__init__")
    }


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: every group of two or more modules that import in a loop."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_graph_sees_function_local_imports(tmp_path) -> None:
    source = tmp_path / "a.py"
    source.write_text("def f():\n    from demos.people import services\n")
    known = {"demos.people.services", "demos.people"}
    assert imported_modules("a", source, known) == {"demos.people.services"}


def test_a_loop_of_two_modules_is_found() -> None:
    graph = {"a": {"b"}, "b": {"a"}, "c": {"a"}}
    assert strongly_connected(graph) == [["a", "b"]]


def test_project_modules_import_each_other_without_cycles() -> None:
    assert strongly_connected(import_graph()) == []


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones(package: str) -> None:
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if name.split(".")[0] == package
        for target in targets
        if target.split(".")[0] in FORBIDDEN[package]
    )
    assert wrong == []


def area(module: str) -> str:
    """The area a module belongs to: ``demos.<area>``, ``portal.lib`` or the package."""
    parts = module.split(".")
    if parts[0] in ("demos", "portal") and len(parts) > 2:
        return ".".join(parts[:2])
    return parts[0]


# area -> (areas it must not import, single modules it may import anyway)
AREA_RULES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "portal.lib": (("demos", "accounts", "models_store", "portal"), ()),
    "demos.common": (
        ("demos.ml", "demos.widgets", "demos.people", "demos.lessons"),
        (),
    ),
    "demos.ml": (("demos.widgets", "demos.people", "demos.lessons"), ()),
    "demos.people": (("demos.widgets", "demos.lessons"), ()),
    "demos.lessons": (
        ("demos.widgets", "demos.people"),
        ("demos.widgets.registry", "demos.people.selectors"),
    ),
    "demos.widgets": (("demos.lessons", "demos.people"), ("demos.people.selectors",)),
    # The instructor's pages only read: the course's quiz texts and mistake names,
    # and the person demo's reads (its matcher against the students' own boxes).
    "demos.teach": (
        ("demos.widgets", "demos.people", "demos.lessons", "demos.ml"),
        (
            "demos.lessons.quizzes",
            "demos.lessons.exercise_checks",
            "demos.people.selectors",
        ),
    ),
}


def _is_in(module: str, area_name: str) -> bool:
    return module == area_name or module.startswith(area_name + ".")


@pytest.mark.parametrize("source", sorted(AREA_RULES))
def test_areas_import_only_the_areas_below_them(source: str) -> None:
    forbidden, allowed = AREA_RULES[source]
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in import_graph().items()
        if area(name) == source
        for target in targets
        if target not in allowed
        and area(target) != source
        and any(_is_in(target, other) for other in forbidden)
    )
    assert wrong == []


def test_the_area_rule_sees_a_widget_reaching_into_people_services() -> None:
    forbidden, allowed = AREA_RULES["demos.widgets"]
    target = "demos.people.services"
    assert target not in allowed
    assert any(_is_in(target, other) for other in forbidden)
