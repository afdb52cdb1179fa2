"""The shape of the house, measured from the source: import circles, imports that run back up
the floors, long files, where each command is spelled, and regular expressions over the domain's
messages. `python -m tests.architecture` prints the figures; `tests/unit/test_architecture.py`
holds them to their bounds (docs/adr/0026).

The floors, from the top: the app factory and the CLI; the adapters (`services.http`,
`services.web`, and `services.requests`, the request helpers both share without being either);
the use cases (`services.usecases`, and the demo, which gives their commands); the application
and the composition root (the rest of `services`); the read model (`projections`); the domain. An import "runs back up"
when a module imports one on a higher floor; `services.http` and `services.web` are siblings and
import neither the other.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("domain", "projections", "services")
LONG_FILE_LINES = 600
# Files over the bound that are tables (data a person reads as a table), not code.
TABLES: frozenset[str] = frozenset()
ADAPTERS = ("services.http", "services.web")
_FLOORS: tuple[tuple[str, int], ...] = (
    ("services.asgi", 6),
    ("services.cli", 6),
    ("services.demo", 6),
    ("services.http", 5),
    ("services.web", 5),
    ("services.requests", 4),
    ("services.usecases", 3),
    ("services", 2),
    ("projections", 1),
    ("domain", 0),
)
_REGEX_CALL = re.compile(r"\bre\.(compile|match|fullmatch|search|sub|findall|finditer|split)\(")


def floor(module: str) -> int:
    for prefix, level in _FLOORS:
        if module == prefix or module.startswith(prefix + "."):
            return level
    raise ValueError(module)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def source_files() -> dict[str, Path]:
    return {
        _module_name(path): path for package in PACKAGES for path in sorted((ROOT / package).rglob("*.py"))
    }


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(module: str, path: Path, known: set[str]) -> Iterator[str]:
    """The project's modules `module` imports, at any depth of its code, except under
    `if TYPE_CHECKING:` (those name types, not dependencies at run time)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _resolve(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield from _resolve(candidate if candidate in known else base, known)
        stack.extend(ast.iter_child_nodes(node))


def _resolve(name: str, known: set[str]) -> Iterator[str]:
    while name and name not in known:
        name = name.rpartition(".")[0]
    if name:
        yield name


def import_graph() -> dict[str, set[str]]:
    files = source_files()
    known = set(files)
    return {
        module: {target for target in _imported(module, path, known) if target != module}
        for module, path in files.items()
    }


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(start: str) -> None:
        nonlocal counter
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if floor(target) > floor(module)
    )


def adapter_crossings(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Imports from one adapter package into the other."""

    def adapter(module: str) -> str | None:
        return next((a for a in ADAPTERS if module == a or module.startswith(a + ".")), None)

    return sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if adapter(module) and adapter(target) and adapter(module) != adapter(target)
    )


def long_files() -> list[tuple[str, int]]:
    found = []
    for path in source_files().values():
        lines = len(path.read_text(encoding="utf-8").splitlines())
        relative = str(path.relative_to(ROOT))
        if lines > LONG_FILE_LINES and relative not in TABLES:
            found.append((relative, lines))
    return sorted(found, key=lambda item: -item[1])


def regexes_over_domain_messages() -> list[tuple[str, int]]:
    """Regular expressions in modules that handle the domain's errors: each one reads the
    domain's English back instead of its code."""
    found = []
    for path in source_files().values():
        text = path.read_text(encoding="utf-8")
        if "DomainError" not in text or path.is_relative_to(ROOT / "domain"):
            continue
        count = len(_REGEX_CALL.findall(text))
        if count:
            found.append((str(path.relative_to(ROOT)), count))
    return found


@dataclass
class CommandSpelling:
    name: str
    files: list[str] = field(default_factory=list)


# Clients of the use cases that give commands the way a test or a benchmark does, not places
# where a command is defined or offered: the demo's seed data.
_COMMAND_CLIENTS = frozenset({"demo.py"})
_COMMAND_NAME = re.compile(r"\b(?:execute|submit|dispatch|run)\([^)]*?\"([A-Z][A-Za-z]+)\"", re.S)


def command_spellings() -> list[CommandSpelling]:
    """For each command the adapters give, the files outside `domain/` that name it: its
    command name (`SubmitRating`) or the application method the adapters call for it. The
    demo's seed data is a client, like the tests, and is not counted."""
    files = {
        str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
        for path in source_files().values()
        if not path.is_relative_to(ROOT / "domain") and path.name not in _COMMAND_CLIENTS
    }
    names: set[str] = set()
    for text in files.values():
        # SQL keywords given to a cursor's execute() are not commands.
        names.update(name for name in _COMMAND_NAME.findall(text) if not name.isupper())
        names.update(
            re.findall(r"^class ([A-Z][A-Za-z]+)\((?:Command|msgspec\.Struct, tag=True)", text, re.M)
        )
    spellings = []
    for name in sorted(names):
        method = re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()
        pattern = re.compile(rf"\b{name}\b|[.\s]{method}\(")
        spelled = sorted(path for path, text in files.items() if pattern.search(text))
        spellings.append(CommandSpelling(name, spelled))
    return spellings


def report() -> str:
    graph = import_graph()
    found_circles = circles(graph)
    upward = upward_imports(graph)
    crossings = adapter_crossings(graph)
    long = long_files()
    regexes = regexes_over_domain_messages()
    spellings = command_spellings()
    widest = max((len(s.files) for s in spellings), default=0)
    lines = [
        f"modules: {len(graph)}",
        f"import circles: {len(found_circles)}",
        *(f"  {' <-> '.join(c)}" for c in found_circles),
        f"imports running back up: {len(upward)}",
        *(f"  {a} -> {b}" for a, b in upward),
        f"imports between the adapters: {len(crossings)}",
        f"files over {LONG_FILE_LINES} lines (not tables): {len(long)}",
        *(f"  {p} {n}" for p, n in long),
        f"regular expressions over domain messages: {sum(n for _, n in regexes)}",
        *(f"  {p} {n}" for p, n in regexes),
        f"commands: {len(spellings)}; most files a command is spelled in: {widest}",
        *(f"  {s.name}: {len(s.files)} {' '.join(s.files)}" for s in spellings if len(s.files) > 3),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(report() + "\n")
