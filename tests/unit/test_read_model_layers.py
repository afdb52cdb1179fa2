"""The read model sits below the services, and the composition root below the adapters: both
read from the imports themselves (tests/architecture.py), so a new import that runs back up
fails here before it becomes a circle."""

from __future__ import annotations

from tests.architecture import import_graph

ADAPTERS = ("services.http", "services.web")


def _within(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def _reached_from(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    stack = [start]
    while stack:
        for target in graph[stack.pop()]:
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def test_the_read_model_imports_nothing_from_the_services() -> None:
    graph = import_graph()
    upward = sorted(
        (module, target)
        for module, targets in graph.items()
        if _within(module, ("projections",))
        for target in targets
        if _within(target, ("services",))
    )
    assert upward == []


def test_the_composition_root_reaches_no_adapter_through_any_import() -> None:
    graph = import_graph()
    reached = _reached_from(graph, "services.bootstrap")
    assert sorted(m for m in reached if _within(m, ADAPTERS)) == []


def test_the_read_models_processes_sit_beside_the_composition_root_not_in_the_read_model() -> None:
    graph = import_graph()
    for moved in ("projections.worker", "projections.commands"):
        assert moved not in graph
    assert {"services.readmodel.worker", "services.readmodel.commands"} <= set(graph)
