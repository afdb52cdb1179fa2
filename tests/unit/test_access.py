"""The one access vocabulary (`services/access.py`): each named access lets in the callers it
names, a route's guard options are derived from the access it needs, and the declared table of
every route is combined from the adapters' own tables without one adapter importing the other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domain.roles import Role
from services.access import (
    ACCOUNT,
    ADMINISTER,
    AUDIT,
    CLOSED,
    FACILITATE,
    PLAN,
    PUBLIC,
    READ,
    READ_AT_TABLE,
    SEE_PORTFOLIO,
    TAKE_PART,
    TAKE_PART_AT_TABLE,
    Caller,
    Policy,
    RouteTable,
    Scope,
    UnitScope,
)

ROOT = Path(__file__).resolve().parents[2]
_ADMIN, _CONSULTANT = Caller.CONSULTANCY_ADMIN, Caller.CONSULTANT
_CLIENT_ADMIN, _PARTICIPANT, _AUDITOR = Caller.CLIENT_ADMIN, Caller.PARTICIPANT, Caller.AUDITOR

# Who each access lets in, spelt out caller by caller (in the caller's own tenant).
EXPECTED = {
    "READ": (READ, {_ADMIN, _CONSULTANT, _CLIENT_ADMIN, _PARTICIPANT, _AUDITOR}),
    "FACILITATE": (FACILITATE, {_ADMIN, _CONSULTANT}),
    "PLAN": (PLAN, {_ADMIN, _CONSULTANT, _CLIENT_ADMIN}),
    "TAKE_PART": (TAKE_PART, {_ADMIN, _CONSULTANT, _PARTICIPANT}),
    "AUDIT": (AUDIT, {_ADMIN, _CONSULTANT, _CLIENT_ADMIN, _AUDITOR}),
    "READ_AT_TABLE": (
        READ_AT_TABLE,
        {_ADMIN, _CONSULTANT, _CLIENT_ADMIN, _PARTICIPANT, _AUDITOR, Caller.UNIT_TABLE},
    ),
    "TAKE_PART_AT_TABLE": (TAKE_PART_AT_TABLE, {_ADMIN, _CONSULTANT, _PARTICIPANT, Caller.UNIT_TABLE}),
    "ADMINISTER": (ADMINISTER, {_ADMIN}),
    "SEE_PORTFOLIO": (SEE_PORTFOLIO, {_ADMIN, _CONSULTANT, Caller.UNASSIGNED_CONSULTANT}),
    "ACCOUNT": (ACCOUNT, set(Caller) - {Caller.UNIT_TABLE}),
    "PUBLIC": (PUBLIC, set(Caller)),
    "CLOSED": (CLOSED, set()),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_named_access_lets_in_exactly_the_callers_it_names(name: str) -> None:
    access, expected = EXPECTED[name]

    assert {c for c in Caller if access.allows(c)} == expected


@pytest.mark.parametrize(
    "access", [READ, FACILITATE, PLAN, TAKE_PART, AUDIT, READ_AT_TABLE, TAKE_PART_AT_TABLE]
)
def test_in_another_tenant_only_a_consultancy_admin_holding_the_access_is_let_in(access: Policy) -> None:
    assert {c for c in Caller if access.allows(c, own_tenant=False)} == {Caller.CONSULTANCY_ADMIN}


def test_a_route_takes_its_guard_options_from_the_access_it_needs() -> None:
    assert PLAN.opt() == {"roles": frozenset({Role.CONSULTANCY_ADMIN, Role.CONSULTANT, Role.CLIENT_ADMIN})}
    assert TAKE_PART_AT_TABLE.opt(UnitScope.BODY_UNIT) == {
        "roles": frozenset({Role.CONSULTANCY_ADMIN, Role.CONSULTANT, Role.PARTICIPANT}),
        "unit_scope": UnitScope.BODY_UNIT,
    }


@pytest.mark.parametrize(
    ("access", "unit_scope"),
    [
        (READ, UnitScope.READ),  # closed to unit tables: no unit to find
        (READ_AT_TABLE, None),  # open to unit tables: where is the acting unit?
        (ADMINISTER, None),  # no tenant: the platform guard decides
        (ACCOUNT, None),
    ],
)
def test_route_options_that_would_say_something_else_than_the_access_are_refused(
    access: Policy, unit_scope: UnitScope | None
) -> None:
    with pytest.raises(ValueError, match=r"route options|unit tables"):
        access.opt(unit_scope)


def test_only_an_access_participants_hold_within_a_tenant_opens_to_unit_tables() -> None:
    with pytest.raises(ValueError, match="participants hold"):
        FACILITATE.at_tables()
    with pytest.raises(ValueError, match="participants hold"):
        Policy(Scope.PLATFORM, frozenset({Role.PARTICIPANT}), unit_tables=True)


def test_the_declared_table_combines_the_adapters_tables_and_refuses_a_route_declared_twice() -> None:
    api = {("GET", "/api/v1/me"): ACCOUNT, ("GET", "/api/v1/tenants/{tenant_id:uuid}"): READ}
    pages = {("GET", "/t/{tenant_id:uuid}"): READ}
    table = RouteTable(api=api, pages=pages)

    assert table.policy_for("get", "/t/{tenant_id:uuid}") is READ
    assert table.policy_for("GET", "/nowhere") is None
    assert table.policy_for("OPTIONS", "/api/v1/me") is PUBLIC
    assert table.policy_for("OPTIONS", "/api/v1/tenants/{tenant_id:uuid}") is CLOSED
    assert table.policy_for("OPTIONS", "/nowhere") is None
    table.declare("pages", {**pages, ("GET", "/t/{tenant_id:uuid}/history"): READ})  # again: replaced
    with pytest.raises(RuntimeError, match="declared twice"):
        table.declare("pages", {("GET", "/api/v1/me"): ACCOUNT})


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_the_vocabulary_lies_below_both_adapters_and_the_pages_take_it_from_there() -> None:
    below = _imports(ROOT / "services" / "access.py")
    assert not {m for m in below if m.startswith(("services.", "litestar", "projections"))}, below
    for page in sorted((ROOT / "services" / "web").glob("*.py")):
        assert not _imports(page) & {"services.http.policy", "services.http.access"}, page.name
    assert "services.web.routes" not in _imports(ROOT / "services" / "http" / "policy.py")


async def test_every_tenant_route_takes_its_guard_options_from_the_access_declared_for_it(
    tmp_path: Path,
) -> None:
    """The options the guards read are those of the declared access: a quick reading of the
    app's route table, before the isolation matrix calls every route as every caller."""
    from litestar.routes import HTTPRoute

    from services.asgi import create_app
    from services.bootstrap import build_container
    from services.http.policy import POLICY
    from services.settings import Settings
    from services.web.routes import WEB_POLICY

    declared = RouteTable(api=POLICY, pages=WEB_POLICY)
    container = build_container(Settings(data_dir=tmp_path / "data"))
    try:
        app = create_app(container=container)
    finally:
        await container.close()
    differ = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or "tenant_id" not in route.path_parameters:
            continue
        for handler in route.route_handlers:
            for method in sorted(handler.http_methods - {"OPTIONS"}):
                access = declared.policy_for(method, route.path)
                assert access is not None, f"{method} {route.path} is not declared"
                given = handler.opt
                if given.get("roles") != access.roles or ("unit_scope" in given) != access.unit_tables:
                    differ.append(f"{method} {route.path}")
    assert not differ, "routes whose options are not those of their declared access:\n" + "\n".join(differ)
