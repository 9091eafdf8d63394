"""The package's shape: imports point down the pipeline, never up, never in a circle.

Read from the source with `ast` (every import, including those inside functions and under
TYPE_CHECKING), against the declared order of layers below. A module may import the
modules of its own part (`publisher.feeds.*` each other) and of any lower layer; two
parts of one layer never import each other.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "publisher"

# Lowest first. A part is a top-level module or package of `publisher`.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "durations", "errors", "options"),  # the ground: version, errors, options
    ("atomic", "gcpause", "lock", "parallel", "stopping"),  # tools for every stage
    ("config",),  # publisher.toml as values
    ("store",),  # the SQLite state
    ("content",),  # posts (and the cleaning feeds and emails share)
    ("inputs",),  # what a run reads, stamped (stdlib only: the quiet check reads it)
    ("feeds", "delivery"),  # feed files; moving ready messages
    ("newsletters",),  # plan, render, one message per subscriber
    ("web", "quiet"),  # the subscriber pages; what a complete run keeps for quiet minutes
    ("pipeline", "checks"),  # a run top to bottom; every problem at once
    ("schedule",),  # runs on a clock
    ("cli",),  # the command line
    ("main",),  # the console script: a cron minute with nothing to do ends there
)
RANK = {part: n for n, parts in enumerate(LAYERS) for part in parts}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def imports(path: Path, module: str = "") -> set[str]:
    """Every `publisher` module that the file `path` (module `module`, by default the one
    it is under ROOT) imports, by full name."""
    module = module or module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.add(base)
            # `from publisher.x import y`: y may be a module of its own.
            found.update(f"{base}.{a.name}" for a in node.names)
    return {name for name in found if name == "publisher" or name.startswith("publisher.")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {
        name: {i for i in imports(path) if i in modules} - {name} for name, path in modules.items()
    }


def test_every_part_has_a_layer() -> None:
    parts = {part_of(m) for m in graph()}
    assert parts - RANK.keys() == set(), "add the new part to LAYERS"


def upward(deps: dict[str, set[str]]) -> list[str]:
    """Each import of a part from a part that is not below it."""
    wrong = []
    for module, imported in sorted(deps.items()):
        mine = part_of(module)
        for dep in sorted(imported):
            theirs = part_of(dep)
            if theirs != mine and RANK[theirs] >= RANK[mine]:
                wrong.append(f"{module} imports {dep} ({theirs} is not below {mine})")
    return wrong


def cycles(deps: dict[str, set[str]]) -> list[str]:
    """Each circle of imports between modules, as 'a -> b -> a'."""
    # A package and its own modules are one room: `from publisher.feeds import x` inside
    # publisher.feeds.y is how a module reaches its package's face, not a circle.
    edges = {
        m: {d for d in ds if not (d.startswith(m + ".") or m.startswith(d + "."))}
        for m, ds in deps.items()
    }
    found: list[str] = []
    state: dict[str, int] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for dep in sorted(edges.get(module, ())):
            if state.get(dep) == 1:
                found.append(" -> ".join([*path[path.index(dep) :], dep]))
            elif dep not in state:
                visit(dep, [*path, dep])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return found


def test_no_import_goes_up_or_sideways() -> None:
    assert upward(graph()) == []


def test_no_import_cycle() -> None:
    assert cycles(graph()) == []


def test_the_checks_catch_what_they_are_for() -> None:
    assert upward({"publisher.store.x": {"publisher.cli"}}) == [
        "publisher.store.x imports publisher.cli (cli is not below store)"
    ]
    assert upward({"publisher.feeds.x": {"publisher.delivery"}}) == [
        "publisher.feeds.x imports publisher.delivery (delivery is not below feeds)"
    ]
    assert upward({"publisher.cli": {"publisher.store", "publisher.cli.run"}}) == []
    assert cycles({"publisher.a": {"publisher.b"}, "publisher.b": {"publisher.a"}}) == [
        "publisher.a -> publisher.b -> publisher.a"
    ]
    assert (
        cycles({"publisher.feeds": {"publisher.feeds.x"}, "publisher.feeds.x": {"publisher.feeds"}})
        == []
    )


def test_imports_are_read_inside_functions_and_relative(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    source = "def f():\n    from publisher.cli import main\n    from . import journal\n"
    probe.write_text(source, encoding="utf-8")
    found = imports(probe, "publisher.store.probe")
    assert {"publisher.cli", "publisher.cli.main", "publisher.store.journal"} <= found
