"""The front door: every command has one handler in the one table, the use cases never reach
for a request, and neither adapter imports the other's modules for its work."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path
from uuid import uuid4

import pytest

import services.usecases
from services.usecases import HANDLERS, Command, follow_up, handle, organisation
from services.usecases.bus import handles

ROOT = Path(__file__).resolve().parents[2]


def _command_classes() -> set[type[Command[object]]]:
    found: set[type[Command[object]]] = set()
    pending = list(Command.__subclasses__())
    while pending:
        kind = pending.pop()
        if kind.__module__.startswith("services."):
            found.add(kind)
        pending.extend(kind.__subclasses__())
    return found


def test_every_command_has_exactly_one_handler_in_the_table() -> None:
    commands = _command_classes()
    assert commands, "the use cases define commands"
    assert commands == set(HANDLERS)


def test_a_command_is_entered_in_the_table_once() -> None:
    with pytest.raises(ValueError, match="has a handler already"):
        handles(organisation.AddUnit)(lambda app, command, provenance, expected: None)


def test_a_command_without_a_handler_is_refused_by_name() -> None:
    class Unheard(Command[None], frozen=True, kw_only=True):
        pass

    with pytest.raises(LookupError, match="no handler for Unheard"):
        handle(None, Unheard(), None)  # type: ignore[arg-type]


def test_a_command_is_recorded_under_its_class_name_and_a_decision_under_what_was_decided() -> None:
    tenant_id = uuid4()
    assert organisation.AddUnit(tenant_id=tenant_id, name="Visitationen").command_name == "AddUnit"
    decided = {
        accepted: follow_up.DecideAgreement(
            engagement_id=uuid4(),
            agreement_id=uuid4(),
            accepted=accepted,
            rationale="",
            decided_by="Direktionen",
        ).command_name
        for accepted in (True, False)
    }
    assert decided == {True: "AcceptAgreement", False: "RejectAgreement"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_use_cases_never_import_litestar_nor_an_adapter() -> None:
    package = Path(inspect.getfile(services.usecases)).parent
    for path in sorted(package.glob("*.py")):
        for name in _imports(path):
            assert not name.startswith("litestar"), f"{path.name} imports {name}"
            assert not name.startswith(("services.http", "services.web", "services.requests")), (
                f"{path.name} imports {name}"
            )


def test_the_api_package_does_not_assemble_the_pages() -> None:
    for path in sorted((ROOT / "services" / "http").rglob("*.py")):
        if path.name == "policy.py":  # the access vocabulary reads the pages' table of callers
            continue
        assert not any(name.startswith("services.web") for name in _imports(path)), path.name


def test_a_command_may_not_hide_its_name_behind_a_field() -> None:
    class Named(Command[None], frozen=True, kw_only=True):
        command_name: str  # type: ignore[assignment]

    with pytest.raises(TypeError, match="hides its command_name"):
        handles(Named)(lambda app, command, provenance, expected: None)
