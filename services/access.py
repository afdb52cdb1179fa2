"""Who may do what: the one vocabulary of access, below both adapters.

A named access (`READ`, `PLAN`, `TAKE_PART_AT_TABLE`, ...) says once who holds it: which roles
within a tenant, or which platform roles, and whether a unit table (a participant without an
account, joined by a unit's join code) may use it too. Everything else is derived from it:

- a route's options for the guards (`opt=PLAN.opt()`, read by `services.auth.guards`), so a
  route's decorator names the access it needs and never spells roles of its own;
- the callers it lets through (`Policy.allows`), which the isolation matrix
  (`tests/integration/test_isolation_matrix.py`) expects of every route.

Which access each route needs is declared by each adapter beside its routes, as a table keyed by
method and path template exactly as Litestar reports it (`route.path`, with the parameter types):
the API in `services/http/policy.py`, the pages in each area's modules under `services/web/`,
gathered in `services/web/routes.py`. Each adapter hands its table to `DECLARED` as it is loaded; the
combined table is the specification the matrix checks the running app against. It is written
out by hand and does not read the routes' own options: a route that grants more, or less, than
declared is caught, and a route missing from the tables fails the check.

Scopes:

- `PUBLIC`: no token needed (sign-in, liveness, the OpenAPI documents).
- `ACCOUNT`: any valid token of an account (not a join code's); there is no tenant in the path,
  and the route answers only with what the caller may see (its own account, the tenants it may
  act in, shared instruments).
- `PLATFORM`: no tenant in the path; only callers with one of the listed platform roles,
  whatever their tenants.
- `TENANT`: the path names a tenant. Callers holding one of the listed roles in that tenant may
  call it; in any other tenant they are refused. Consultancy admins act in every tenant; a
  consultant not assigned to the tenant holds no role there.
- `CLOSED`: nobody. `OPTIONS` on a tenant path is never authenticated (the JWT middleware skips
  `OPTIONS`), so the tenant guard refuses it with 401, whoever asks.

`OPTIONS` is answered by Litestar for every path; it is not listed per route but follows one
rule (see `RouteTable.policy_for`): `PUBLIC` on paths without a tenant, `CLOSED` on tenant paths.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from domain.roles import Role

# Where a tenant's API routes and its pages live: every path under them names its tenant.
TENANT_PATH_PREFIX = "/api/v1/tenants/{tenant_id:uuid}"
PAGE_TENANT_PREFIX = "/t/{tenant_id:uuid}"
# The same, as a request's path starts (before the router has parsed the tenant's id).
TENANT_PATH_STARTS = tuple(prefix.partition("{")[0] for prefix in (TENANT_PATH_PREFIX, PAGE_TENANT_PREFIX))

# The keys of a route's options that the guards read.
ROLES_OPT = "roles"
UNIT_SCOPE_OPT = "unit_scope"


class Caller(str, Enum):
    """Every kind of caller an access decides for."""

    CONSULTANCY_ADMIN = "consultancy_admin"
    CONSULTANT = "consultant"  # assigned to the tenant
    CLIENT_ADMIN = "client_admin"
    PARTICIPANT = "participant"
    AUDITOR = "auditor"
    UNASSIGNED_CONSULTANT = "unassigned_consultant"  # a consultant, but not of this tenant
    # A participant without an account, joined by a unit's join code: acts only as that unit
    # in that engagement (the path's unit and the one the matrix's card and dialogue are of).
    UNIT_TABLE = "unit_table"

    @property
    def platform_role(self) -> Role | None:
        """The caller's role on the platform, whatever the tenant."""
        return _PLATFORM_ROLES.get(self)

    @property
    def tenant_role(self) -> Role | None:
        """The role the caller holds in its own tenant by membership (a unit table acts by its
        join code instead, and an unassigned consultant holds none)."""
        return _TENANT_ROLES.get(self)


_PLATFORM_ROLES = {
    Caller.CONSULTANCY_ADMIN: Role.CONSULTANCY_ADMIN,
    Caller.CONSULTANT: Role.CONSULTANT,
    Caller.UNASSIGNED_CONSULTANT: Role.CONSULTANT,
}
_TENANT_ROLES = {
    Caller.CONSULTANCY_ADMIN: Role.CONSULTANCY_ADMIN,
    Caller.CONSULTANT: Role.CONSULTANT,
    Caller.CLIENT_ADMIN: Role.CLIENT_ADMIN,
    Caller.PARTICIPANT: Role.PARTICIPANT,
    Caller.AUDITOR: Role.AUDITOR,
}


class UnitScope(str, Enum):
    """Where the unit a unit table acts as is found on a route open to unit tables
    (`opt={"unit_scope": ...}`). A route that names none is closed to them."""

    READ = "read"  # a read of its own engagement
    PATH_UNIT = "path:unit_id"
    BODY_UNIT = "body:unit_id"  # rating, or answering / withdrawing a card: the acting unit
    BODY_FROM_UNIT = "body:from_unit"  # sending a card
    CARD_IN_BODY = "body:card_id"  # recording a dialogue: a unit of the card
    DIALOGUE_IN_PATH = "path:dialogue_id"  # adding to a dialogue: a unit of the dialogue


class Scope(str, Enum):
    PUBLIC = "public"
    ACCOUNT = "account"
    PLATFORM = "platform"
    TENANT = "tenant"
    CLOSED = "closed"


@dataclass(frozen=True)
class Policy:
    """One named access: who may call a route that needs it.

    `roles`: for `TENANT`, the roles within the path's tenant that hold it; for `PLATFORM`, the
    platform roles; ignored otherwise. `unit_tables`: a unit table may use it too, as its own
    unit (only within a tenant, and only where a participant may)."""

    scope: Scope
    roles: frozenset[Role] = frozenset()
    unit_tables: bool = False

    def __post_init__(self) -> None:
        if self.unit_tables and (self.scope is not Scope.TENANT or Role.PARTICIPANT not in self.roles):
            raise ValueError("only a tenant's access that participants hold may be open to unit tables")

    @property
    def needs_token(self) -> bool:
        return self.scope is not Scope.PUBLIC

    @property
    def allowed(self) -> frozenset[Caller]:
        """The callers this access lets in (in their own tenant, for a tenant's access)."""
        if self.scope is Scope.PLATFORM:
            return frozenset(c for c in Caller if c.platform_role in self.roles)
        if self.scope is not Scope.TENANT:
            return frozenset()
        members = {c for c in Caller if c.tenant_role in self.roles}
        return frozenset(members | ({Caller.UNIT_TABLE} if self.unit_tables else set()))

    def allows(self, caller: Caller, *, own_tenant: bool = True) -> bool:
        """Whether `caller`, with a valid token, is let through. `own_tenant`: the path names
        the caller's own tenant (True) or another tenant (False); only tenant routes care."""
        if self.scope is Scope.PUBLIC:
            return True
        if self.scope is Scope.ACCOUNT:
            return caller is not Caller.UNIT_TABLE
        if self.scope is Scope.CLOSED:
            return False
        if self.scope is Scope.PLATFORM:
            return caller in self.allowed
        if caller is Caller.CONSULTANCY_ADMIN:  # holds its role in every tenant
            return caller in self.allowed
        return own_tenant and caller in self.allowed

    def at_tables(self) -> Policy:
        """The same access, open to unit tables as well."""
        return replace(self, unit_tables=True)

    def opt(self, unit_scope: UnitScope | None = None) -> dict[str, Any]:
        """The options of a tenant's route that needs this access, for the guards: the roles
        that hold it and, when unit tables may use it, where the acting unit is found (which
        such a route must say, and no other route may)."""
        if self.scope is not Scope.TENANT:
            raise ValueError(f"route options derive from a tenant's access, not a {self.scope.value} one")
        if self.unit_tables != (unit_scope is not None):
            raise ValueError(
                "a route open to unit tables names where the acting unit is found, and no other does"
            )
        options: dict[str, Any] = {ROLES_OPT: self.roles}
        if unit_scope is not None:
            options[UNIT_SCOPE_OPT] = unit_scope
        return options


def platform(roles: frozenset[Role]) -> Policy:
    return Policy(Scope.PLATFORM, roles)


def tenant(roles: frozenset[Role]) -> Policy:
    return Policy(Scope.TENANT, roles)


# -- Who may do what ---------------------------------------------------------------------------

PUBLIC = Policy(Scope.PUBLIC)
ACCOUNT = Policy(Scope.ACCOUNT)
CLOSED = Policy(Scope.CLOSED)

_ADMIN = Role.CONSULTANCY_ADMIN
# Everyone holding a role in the tenant: reads.
READ = tenant(frozenset(Role))
# Those who run engagements: phases, rounds, the schedule, the closing plenary, members.
FACILITATE = tenant(frozenset({_ADMIN, Role.CONSULTANT}))
# The planning group with them: organisation, preparation, follow-up decisions, check-ins.
PLAN = tenant(FACILITATE.roles | {Role.CLIENT_ADMIN})
# Those at the tables on the theme day: mapping, ratings, cards, dialogues, wrap-ups.
TAKE_PART = tenant(FACILITATE.roles | {Role.PARTICIPANT})
# The record of who did what (the audit trail and lineage): the consultancy, the client's
# management and its auditors, not every participant of a theme day.
AUDIT = tenant(PLAN.roles | {Role.AUDITOR})
# Reads a unit table may make of its own engagement: the document, board, cards, relations, live.
READ_AT_TABLE = READ.at_tables()
# Acting as its own unit: mapping, ratings, cards, dialogues, wrap-ups.
TAKE_PART_AT_TABLE = TAKE_PART.at_tables()

# The consultancy's staff by platform role, assigned to a tenant or not: the portfolio.
CONSULTANCY_STAFF = frozenset({_ADMIN, Role.CONSULTANT})
# Platform administration: onboarding tenants, registering users, loading instruments.
ADMINISTER = platform(frozenset({_ADMIN}))
SEE_PORTFOLIO = platform(CONSULTANCY_STAFF)

# The roles holding an access, by the names the handlers' own checks of what to show use
# (whether to offer a facilitator's controls, a planner's forms, a participant's).
FACILITATORS = FACILITATE.roles
PLANNERS = PLAN.roles
PARTICIPANTS = TAKE_PART.roles
PORTFOLIO_ROLES = SEE_PORTFOLIO.roles


# -- The declared table ------------------------------------------------------------------------

Route = tuple[str, str]  # method, path template


def is_tenant_path(path: str) -> bool:
    return any(
        path == prefix or path.startswith(f"{prefix}/") for prefix in (TENANT_PATH_PREFIX, PAGE_TENANT_PREFIX)
    )


class RouteTable:
    """The access every route needs, combined from the tables the adapters declare."""

    def __init__(self, **tables: Mapping[Route, Policy]) -> None:
        self._routes: dict[Route, Policy] = {}
        self._declared_by: dict[Route, str] = {}
        for adapter, routes in tables.items():
            self.declare(adapter, routes)

    def declare(self, adapter: str, routes: Mapping[Route, Policy]) -> None:
        """Adds `adapter`'s routes (replacing what it declared before); a route another adapter
        declares too is an error."""
        twice = sorted(r for r in routes if self._declared_by.get(r, adapter) != adapter)
        if twice:
            raise RuntimeError(f"routes declared twice: {twice}")
        self._routes.update(routes)
        self._declared_by.update(dict.fromkeys(routes, adapter))

    @property
    def routes(self) -> Mapping[Route, Policy]:
        return dict(self._routes)

    def policy_for(self, method: str, path: str) -> Policy | None:
        """The declared access of `method` on `path` (a Litestar path template), or None when
        the route is not declared. `OPTIONS` follows one rule for every declared path."""
        method = method.upper()
        if method == "OPTIONS":
            if all(declared_path != path for _, declared_path in self._routes):
                return None
            return CLOSED if is_tenant_path(path) else PUBLIC
        return self._routes.get((method, path))


# Every adapter's table, as each is loaded (`services/http/policy.py`, `services/web/routes.py`).
DECLARED = RouteTable()


def policy_for(method: str, path: str) -> Policy | None:
    """The declared access of a route, in the tables the adapters have declared so far."""
    return DECLARED.policy_for(method, path)
