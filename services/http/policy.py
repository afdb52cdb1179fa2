"""Who may call which route: the declared access policy of the HTTP API.

This table is the specification the routes are checked against (the isolation matrix in
`tests/integration/test_isolation_matrix.py` walks the app's route table and calls every
route as every kind of caller). It is written out by hand on purpose and does not read the
routes' own `opt["roles"]` or guards: a route that grants more, or less, than declared here
is caught, and a route missing from the table fails the check.

Keys are the method and the path template exactly as Litestar reports it (`route.path`,
with the parameter types, e.g. `/api/v1/tenants/{tenant_id:uuid}`).

Scopes:

- `PUBLIC`: no token needed (sign-in, liveness, the OpenAPI documents).
- `ACCOUNT`: any valid token of an account (not a join code's); there is no tenant in the path, and the route answers only
  with what the caller may see (its own account, the tenants it may act in, shared
  instruments).
- `PLATFORM`: no tenant in the path; only the listed callers, whatever their tenants.
- `TENANT`: the path names a tenant. The listed callers may call it in a tenant where they
  hold that role; in any other tenant they are refused. Consultancy admins act in every
  tenant; a consultant not assigned to the tenant holds no role there.
- `CLOSED`: nobody. `OPTIONS` on a tenant path is never authenticated (the JWT middleware
  skips `OPTIONS`) so the tenant guard refuses it with 401, whoever asks.

`OPTIONS` is answered by Litestar for every path; it is not listed per route but follows
one rule (see `policy_for`): `PUBLIC` on paths without a tenant, `CLOSED` on tenant paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

TENANT_PATH_PREFIX = "/api/v1/tenants/{tenant_id:uuid}"
# The pages of one client organisation.
PAGE_TENANT_PREFIX = "/t/{tenant_id:uuid}"


class Caller(str, Enum):
    """Every kind of caller the policy decides for."""

    CONSULTANCY_ADMIN = "consultancy_admin"
    CONSULTANT = "consultant"  # assigned to the tenant
    CLIENT_ADMIN = "client_admin"
    PARTICIPANT = "participant"
    AUDITOR = "auditor"
    UNASSIGNED_CONSULTANT = "unassigned_consultant"  # a consultant, but not of this tenant
    # A participant without an account, joined by a unit's join code: acts only as that unit
    # in that engagement (the path's unit and the one the matrix's card and dialogue are of).
    UNIT_TABLE = "unit_table"


class Scope(str, Enum):
    PUBLIC = "public"
    ACCOUNT = "account"
    PLATFORM = "platform"
    TENANT = "tenant"
    CLOSED = "closed"


@dataclass(frozen=True)
class Policy:
    """Who may call one route. `allowed` is ignored for `PUBLIC`, `ACCOUNT` and `CLOSED`."""

    scope: Scope
    allowed: frozenset[Caller] = frozenset()

    @property
    def needs_token(self) -> bool:
        return self.scope is not Scope.PUBLIC

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
        if caller is Caller.UNASSIGNED_CONSULTANT:
            return False
        if caller is Caller.CONSULTANCY_ADMIN:
            return caller in self.allowed
        return own_tenant and caller in self.allowed


# -- Who, by name ------------------------------------------------------------------------------

_ADMIN = Caller.CONSULTANCY_ADMIN
# Everyone holding a role in the tenant: reads.
TENANT_READERS = frozenset(
    {_ADMIN, Caller.CONSULTANT, Caller.CLIENT_ADMIN, Caller.PARTICIPANT, Caller.AUDITOR}
)
# Those who run engagements: phases, rounds, the schedule, the closing plenary, members.
TENANT_FACILITATORS = frozenset({_ADMIN, Caller.CONSULTANT})
# The planning group with them: organisation, preparation, follow-up decisions, check-ins.
TENANT_PLANNERS = TENANT_FACILITATORS | {Caller.CLIENT_ADMIN}
# Those at the tables on the theme day: mapping, ratings, cards, dialogues, wrap-ups.
TENANT_PARTICIPANTS = TENANT_FACILITATORS | {Caller.PARTICIPANT}
# The record of who did what: the consultancy, the client's management and its auditors.
TENANT_AUDIT_READERS = TENANT_PLANNERS | {Caller.AUDITOR}
# Reads a unit table may make of its own engagement: the document, board, cards, relations, live.
TENANT_READERS_AND_UNIT_TABLES = TENANT_READERS | {Caller.UNIT_TABLE}
# Acting as its own unit: mapping, ratings, cards, dialogues, wrap-ups.
TENANT_PARTICIPANTS_AND_UNIT_TABLES = TENANT_PARTICIPANTS | {Caller.UNIT_TABLE}
# Platform administration.
CONSULTANCY_ADMINS = frozenset({_ADMIN})
# The consultancy's staff, assigned to a tenant or not.
CONSULTANCY_STAFF = frozenset({_ADMIN, Caller.CONSULTANT, Caller.UNASSIGNED_CONSULTANT})

PUBLIC = Policy(Scope.PUBLIC)
ACCOUNT = Policy(Scope.ACCOUNT)
CLOSED = Policy(Scope.CLOSED)


def platform(allowed: frozenset[Caller]) -> Policy:
    return Policy(Scope.PLATFORM, allowed)


def tenant(allowed: frozenset[Caller]) -> Policy:
    return Policy(Scope.TENANT, allowed)


READ = tenant(TENANT_READERS)
FACILITATE = tenant(TENANT_FACILITATORS)
PLAN = tenant(TENANT_PLANNERS)
TAKE_PART = tenant(TENANT_PARTICIPANTS)
AUDIT = tenant(TENANT_AUDIT_READERS)
READ_AT_TABLE = tenant(TENANT_READERS_AND_UNIT_TABLES)
TAKE_PART_AT_TABLE = tenant(TENANT_PARTICIPANTS_AND_UNIT_TABLES)

_T = TENANT_PATH_PREFIX
_E = f"{_T}/engagements/{{engagement_id:uuid}}"

# -- The table ---------------------------------------------------------------------------------

POLICY: dict[tuple[str, str], Policy] = {
    # Public: liveness, sign-in, the API's own documentation.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,  # names its checks' states, nothing of any tenant
    # Only Prometheus, with BALKORT_METRICS_TOKEN: no product token opens it (docs/adr/0023).
    ("GET", "/metrics"): CLOSED,
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/join"): PUBLIC,  # a join code for a token; wrong codes are rate limited
    ("GET", "/schema"): PUBLIC,
    ("GET", "/schema/rapidoc"): PUBLIC,
    ("GET", "/schema/openapi.json"): PUBLIC,
    ("GET", "/schema/{path:str}"): PUBLIC,
    # The signed-in account: answers only about the caller and what it may see.
    ("POST", "/api/v1/auth/logout"): ACCOUNT,
    ("GET", "/api/v1/me"): ACCOUNT,
    ("GET", "/api/v1/tenants"): ACCOUNT,  # only the tenants the caller may act in
    # Roles offered to the caller, and taking one up: only the caller's own invitations.
    ("GET", "/api/v1/me/invitations"): ACCOUNT,
    ("POST", "/api/v1/me/invitations/{invitation_id:uuid}/accept"): ACCOUNT,
    # Instruments: shared by the consultancy, read by everyone signed in, loaded by admins.
    ("GET", "/api/v1/instruments"): ACCOUNT,
    ("GET", "/api/v1/instruments/{instrument_id:uuid}"): ACCOUNT,
    ("POST", "/api/v1/instruments"): platform(CONSULTANCY_ADMINS),
    ("POST", "/api/v1/instruments/{instrument_id:uuid}/versions"): platform(CONSULTANCY_ADMINS),
    # Platform administration: onboarding tenants, registering users.
    ("POST", "/api/v1/tenants"): platform(CONSULTANCY_ADMINS),
    ("POST", "/api/v1/users"): platform(CONSULTANCY_ADMINS),
    # The consultancy's portfolio: staff only, over the tenants each may act in.
    ("GET", "/api/v1/portfolio"): platform(CONSULTANCY_STAFF),
    # A tenant and its members.
    ("GET", _T): READ,
    # Who may change whose role within these is a rule of its own (docs/adr/0017).
    ("POST", f"{_T}/members"): FACILITATE,
    ("PUT", f"{_T}/members/{{user_id:uuid}}"): FACILITATE,
    ("DELETE", f"{_T}/members/{{user_id:uuid}}"): FACILITATE,
    # The organisation: units, renames, mergers, splits, retirements.
    ("GET", f"{_T}/organisation"): READ,
    ("PUT", f"{_T}/organisation"): PLAN,
    ("POST", f"{_T}/organisation/units"): PLAN,
    ("POST", f"{_T}/organisation/mergers"): PLAN,
    ("POST", f"{_T}/organisation/units/{{unit_id:uuid}}/rename"): PLAN,
    ("POST", f"{_T}/organisation/units/{{unit_id:uuid}}/retire"): PLAN,
    ("POST", f"{_T}/organisation/units/{{unit_id:uuid}}/split"): PLAN,
    # Engagements: preparation and phases.
    ("GET", f"{_T}/engagements"): READ,
    ("POST", f"{_T}/engagements"): PLAN,
    ("GET", _E): READ_AT_TABLE,
    ("PUT", f"{_E}/preparation"): PLAN,
    ("PUT", f"{_E}/rounds"): FACILITATE,
    ("POST", f"{_E}/phase/advance"): FACILITATE,
    ("POST", f"{_E}/phase/back"): FACILITATE,
    # Join codes for the unit tables: issued, listed, revoked, printed as QR codes by facilitators.
    ("POST", f"{_E}/units/{{unit_id:uuid}}/join-codes"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/join-codes"): FACILITATE,
    ("POST", f"{_E}/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/revoke"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/qr.svg"): FACILITATE,
    ("GET", f"{_E}/units/{{unit_id:uuid}}/join-codes/{{code_id:uuid}}/qr.png"): FACILITATE,
    # The theme day: mapping and ratings, dance cards, the schedule, dialogues, wrap-ups.
    ("PUT", f"{_E}/units/{{unit_id:uuid}}/relations"): TAKE_PART_AT_TABLE,
    ("GET", f"{_E}/relations"): READ_AT_TABLE,
    ("POST", f"{_E}/ratings"): TAKE_PART_AT_TABLE,
    ("GET", f"{_E}/cards"): READ_AT_TABLE,
    ("POST", f"{_E}/cards"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/cards/{{card_id:uuid}}/accept"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/cards/{{card_id:uuid}}/decline"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/cards/{{card_id:uuid}}/withdraw"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/schedule"): FACILITATE,
    ("PUT", f"{_E}/cards/{{card_id:uuid}}/round"): FACILITATE,
    ("POST", f"{_E}/dialogues"): TAKE_PART_AT_TABLE,
    ("POST", f"{_E}/dialogues/{{dialogue_id:uuid}}/outcomes"): TAKE_PART_AT_TABLE,
    ("PUT", f"{_E}/wrap-ups/{{unit_id:uuid}}"): TAKE_PART_AT_TABLE,
    # Erasing a person's name from the dialogues: the planning group, on a data subject's request.
    ("POST", f"{_E}/participants/redactions"): PLAN,
    ("POST", f"{_E}/closing-plenary"): FACILITATE,
    # The follow-up meeting and afterwards: decisions and check-ins.
    ("GET", f"{_E}/agreements"): READ,
    ("POST", f"{_E}/agreements/{{agreement_id:uuid}}/decision"): PLAN,
    ("POST", f"{_E}/agreements/{{agreement_id:uuid}}/check-ins"): PLAN,
    ("GET", f"{_E}/proposals"): READ,
    ("POST", f"{_E}/proposals/{{proposal_id:uuid}}/decision"): PLAN,
    # Read models and live updates.
    ("GET", f"{_E}/board"): READ_AT_TABLE,
    ("GET", f"{_E}/matrix"): READ,
    ("GET", f"{_E}/dashboard"): READ,
    ("GET", f"{_E}/events"): READ_AT_TABLE,
    ("GET", f"{_T}/longitudinal"): READ,
    # The audit trail, its exports and decision lineage.
    ("GET", f"{_T}/audit"): AUDIT,
    ("GET", f"{_T}/audit/export.csv"): AUDIT,
    ("GET", f"{_T}/audit/export.jsonl"): AUDIT,
    # The verifiable hash chain over the trail: its export and its check.
    ("GET", f"{_T}/audit/export/chain.jsonl"): AUDIT,
    ("GET", f"{_T}/audit/verify"): AUDIT,
    ("GET", f"{_T}/lineage/{{kind:str}}/{{entity_id:str}}"): AUDIT,
}


@cache
def declared() -> dict[tuple[str, str], Policy]:
    """The whole table: the API's routes above and the pages', declared beside their handlers
    (`services/web/*_pages.py`); read when first asked, since the pages import this module."""
    from services.web.routes import WEB_POLICY

    overlap = POLICY.keys() & WEB_POLICY.keys()
    if overlap:
        raise RuntimeError(f"routes declared twice: {sorted(overlap)}")
    return {**POLICY, **WEB_POLICY}


def is_tenant_path(path: str) -> bool:
    return any(
        path == prefix or path.startswith(f"{prefix}/") for prefix in (TENANT_PATH_PREFIX, PAGE_TENANT_PREFIX)
    )


def policy_for(method: str, path: str) -> Policy | None:
    """The declared policy of `method` on `path` (a Litestar path template), or None when the
    route is not declared. `OPTIONS` follows one rule for every declared path."""
    method = method.upper()
    table = declared()
    if method == "OPTIONS":
        if all(declared_path != path for _, declared_path in table):
            return None
        return CLOSED if is_tenant_path(path) else PUBLIC
    return table.get((method, path))
