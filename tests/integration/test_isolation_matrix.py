"""The isolation matrix: every route x every caller x every situation, against the declared
access of each route: the API's table (`services/http/policy.py`) and the pages' (beside their
handlers, gathered in `services/web/routes.py`), both in the one vocabulary of `services/access.py`.

Two tenants ("own" and "other"), each with an organisation, units and an engagement run up
to a dialogue with an agreement and a proposal, so every path parameter names something
real. Callers: a consultancy admin, the own tenant's consultant, client admin, participant
and auditor, a consultant assigned to neither tenant, and a unit table: a participant without
an account, joined with a join code for one unit of the own tenant's engagement. The test walks the app's route
table (a route without a policy entry fails it) and calls each route:

- as each caller in the own tenant and in the other tenant, with a valid token;
- as each caller with an expired and with a tampered token;
- without a token.

Refused calls answer 401 (token missing, expired or tampered) or 403 (role or tenant):
never 2xx, never a 404 that would tell whether something exists, never 500. Allowed calls
never answer 401 or 403; anything else is fine, since the bodies are minimal (`{}`): a 400
for the body still shows that authorisation let the call through. No 2xx answer to a caller
carries an id of a tenant the caller may not act in: zero cross-tenant reads.

Requests go straight to the ASGI app on the test's own event loop, concurrently in batches;
a streaming answer (server-sent events) is cut after its first second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import jwt as pyjwt
from argon2 import PasswordHasher
from litestar import Litestar
from litestar.routes import HTTPRoute

from domain.default_instrument import DEFAULT_INSTRUMENT_ID, DIMENSIONS
from domain.roles import Role
from services.access import Caller, Policy, RouteTable, Scope, is_tenant_path
from services.asgi import create_app
from services.auth.jwt import jwt_secret
from services.auth.passwords import Passwords
from services.bootstrap import Container, build_container
from services.controlplane import ControlPlane, system_provenance
from services.http.policy import POLICY as API_POLICY
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from services.web.routes import WEB_POLICY

# What the routes are checked against: each adapter's declared table, handed over here.
DECLARED = RouteTable(api=API_POLICY, pages=WEB_POLICY)
BATCH = 24
STREAM_CUT_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 30.0
PASSWORD = "correct horse battery staple"
OWN, OTHER, NO_TOKEN, EXPIRED, TAMPERED = (
    "own tenant",
    "other tenant",
    "no token",
    "expired token",
    "tampered token",
)

# Path parameters that are not a tenant's: the same in both tenants.
SHARED_PARAMS = {
    "instrument_id": str(DEFAULT_INSTRUMENT_ID),
    "path": "openapi.yaml",
    "file_path": "css/balkort.css",
    # Nobody's invitation: accepting it answers 404 to whoever may call the route.
    "invitation_id": str(uuid4()),
    # No token signed here: turning messages off or opening a link by it answers 404 (400 for an empty form) to anyone.
    "token": "not-a-token",
    # A personal code's slip number: which unit's slip follows from the path's tenant and unit.
    "slip": "1",
}
TENANT_MEMBERS = {
    Caller.CONSULTANT: Role.CONSULTANT,
    Caller.CLIENT_ADMIN: Role.CLIENT_ADMIN,
    Caller.PARTICIPANT: Role.PARTICIPANT,
    Caller.AUDITOR: Role.AUDITOR,
}
PLATFORM_ROLES = {
    Caller.CONSULTANCY_ADMIN: Role.CONSULTANCY_ADMIN,
    Caller.CONSULTANT: Role.CONSULTANT,
    Caller.UNASSIGNED_CONSULTANT: Role.CONSULTANT,
}


@dataclass
class Answer:
    status: int
    body: bytes
    location: str = ""


@dataclass
class TenantIds:
    """What one tenant's paths are filled with."""

    tenant_id: UUID
    params: dict[str, str] = field(default_factory=dict)
    # A join code for the path's unit, kept out of the walk (which revokes `code_id`).
    table_code: str = ""

    @property
    def secrets(self) -> set[str]:
        """Every id of this tenant: none may reach a caller who may not act in it."""
        return {v for k, v in self.params.items() if k not in ("kind",)}


@dataclass(frozen=True)
class Case:
    method: str
    path: str  # the template, as the policy keys it
    url: str
    caller: Caller | None
    situation: str
    policy: Policy
    headers: tuple[tuple[bytes, bytes], ...]
    forbidden: frozenset[str]  # ids no 2xx answer may carry


async def call(
    app: Litestar, method: str, url: str, headers: tuple[tuple[bytes, bytes], ...], body: bytes | None = None
) -> Answer:
    """One request straight into the ASGI app (the body: `{}` unless given); a stream still
    going after a second is cut."""
    if body is None:
        body = b"{}" if method in {"POST", "PUT", "PATCH"} else b""
    path, _, query = url.partition("?")
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # A form's CSRF pair (cookie and echo): the matrix checks who may call a route, not
            # the CSRF check, which has tests of its own.
            (b"cookie", b"csrf_token=matrix"),
            (b"x-csrf-token", b"matrix"),
            *headers,
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    done = asyncio.Event()
    delivered = False
    status = 0
    location = ""
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), STREAM_CUT_SECONDS)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, location
        if message["type"] == "http.response.start":
            status = int(message["status"])
            location = next(
                (
                    bytes(v).decode("latin-1")
                    for k, v in message.get("headers", ())
                    if k.lower() == b"location"
                ),
                "",
            )
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    try:
        await asyncio.wait_for(app(scope, receive, send), REQUEST_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception as error:  # an escaped exception is a 500 to the matrix
        return Answer(500, f"{type(error).__name__}: {error}".encode())
    return Answer(status, b"".join(chunks), location)


# -- The two tenants -----------------------------------------------------------------------------


@dataclass
class Matrix:
    app: Litestar
    settings: Settings
    own: TenantIds
    other: TenantIds
    users: dict[Caller, UUID]  # for the unit table: its join code's id
    unit_table_token: str


def _bearer(token: str) -> tuple[tuple[bytes, bytes], ...]:
    return ((b"authorization", f"Bearer {token}".encode()),)


class Api:
    """Just enough of the API to set a tenant up, as the consultancy admin."""

    def __init__(self, app: Litestar, token: str, tenant_id: UUID) -> None:
        self.app = app
        self.headers = _bearer(token)
        self.base = f"/api/v1/tenants/{tenant_id}"

    async def send(self, method: str, suffix: str, data: Any, expect: int) -> Any:
        body = json.dumps(data).encode()
        path = f"{self.base}{suffix}"
        answer = await call(self.app, method, path, self.headers, body)
        assert answer.status == expect, (method, path, answer.status, answer.body)
        return json.loads(answer.body) if answer.body else None


async def _set_up_tenant(app: Litestar, container: Container, admin_token: str) -> TenantIds:
    """Onboards a tenant and runs an engagement up to a dialogue with an agreement and a proposal."""
    slug = f"iso-{uuid4().hex[:12]}"
    await container.offloop(onboard_tenant, container, "Region Isolation", slug, system_provenance("Test"))
    tenant_id = ControlPlane.tenant_id_for(slug)
    api = Api(app, admin_token, tenant_id)
    await api.send("PUT", "/organisation", {"name": "Region Isolation"}, 200)
    units = []
    for name in ("Visitationen", "Hjemmeplejen", "Akutteamet"):
        units.append((await api.send("POST", "/organisation/units", {"name": name}, 201))["unit_id"])
    visit, home, _acute = units
    # Ahead, so that join codes (which expire with the theme day) can be issued.
    theme_day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    prepared = await api.send(
        "POST", "/engagements", {"title": "Isolation", "theme_day": theme_day, "unit_ids": units}, 201
    )
    engagement = f"/engagements/{prepared['engagement_id']}"
    for phase in ("prepared", "theme_day_open"):
        await api.send("POST", f"{engagement}/phase/advance", {"expected_phase": phase}, 200)
    await api.send("PUT", f"{engagement}/units/{visit}/relations", {"counterpart_ids": [home]}, 200)
    rating = await api.send(
        "POST",
        f"{engagement}/ratings",
        {"unit_id": visit, "counterpart_id": home, "scores": {d.key: 2 for d in DIMENSIONS}},
        201,
    )
    await api.send("POST", f"{engagement}/phase/advance", {"expected_phase": "mapping"}, 200)
    card = await api.send(
        "POST",
        f"{engagement}/cards",
        {
            "from_unit": visit,
            "to_unit": home,
            "topic": "Overlevering",
            "motivating_rating_id": rating["rating_id"],
        },
        201,
    )
    card_id = card["card_id"]
    await api.send("POST", f"{engagement}/cards/{card_id}/accept", {"unit_id": home}, 200)
    await api.send("POST", f"{engagement}/schedule", {}, 200)
    await api.send("POST", f"{engagement}/phase/advance", {"expected_phase": "dance_cards"}, 200)
    outcome = await api.send(
        "POST",
        f"{engagement}/dialogues",
        {
            "card_id": card_id,
            "notes": "Fredage halter",
            "agreements": [{"text": "Tavlemøde tirsdag"}],
            "proposals": [{"text": "Elektronisk tavle"}],
        },
        201,
    )
    codes = f"{engagement}/units/{visit}/join-codes"
    table_code = (await api.send("POST", codes, {}, 201))["code"]
    revocable = (await api.send("POST", codes, {}, 201))["id"]
    return TenantIds(
        tenant_id=tenant_id,
        table_code=table_code,
        params={
            "tenant_id": str(tenant_id),
            "engagement_id": prepared["engagement_id"],
            # The unit of the card and dialogue: a unit table of it may act on them.
            "unit_id": visit,
            "counterpart_id": home,
            "code_id": revocable,
            "card_id": card_id,
            "dialogue_id": outcome["dialogue_id"],
            "agreement_id": outcome["agreement_ids"][0],
            "proposal_id": outcome["proposal_ids"][0],
            "kind": "dialogue",
            "entity_id": outcome["dialogue_id"],
            # A member's id of this tenant alone; nobody holds a role under it, so changing or
            # removing it answers 404 to whoever may call the route, and the walk disturbs no caller.
            "user_id": str(uuid4()),
            # Nobody invited under it: resending or withdrawing answers 404 to whoever may call.
            "invitee_id": str(uuid4()),
        },
    )


async def _register(container: Container, platform_role: Role | None) -> UUID:
    user_id: UUID = await container.offloop(
        container.control.register_user,
        f"iso-{uuid4().hex[:12]}@example.dk",
        "Someone",
        PASSWORD,
        platform_role,
        system_provenance("Test"),
    )
    return user_id


@asynccontextmanager
async def open_matrix(backend: Settings) -> AsyncIterator[Matrix]:
    """The app, running (its lifespan is entered and left in the same task), over two tenants."""
    container = await asyncio.to_thread(build_container, backend)
    # Nobody signs in with a password here; cheap hashes keep registering the callers quick.
    container.control.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    app = create_app(container=container)
    async with app.lifespan():
        users = {
            caller: await _register(container, PLATFORM_ROLES.get(caller))
            for caller in Caller
            if caller is not Caller.UNIT_TABLE
        }
        admin_token = app.state.jwt_auth.create_token(identifier=str(users[Caller.CONSULTANCY_ADMIN]))
        own = await _set_up_tenant(app, container, admin_token)
        other = await _set_up_tenant(app, container, admin_token)
        for caller, role in TENANT_MEMBERS.items():
            await container.offloop(
                container.control.grant_membership,
                users[caller],
                own.tenant_id,
                role,
                system_provenance("Test"),
            )
        assert not own.secrets & other.secrets, "the two tenants must not share an id"
        joined = await call(app, "POST", "/api/v1/join", (), json.dumps({"code": own.table_code}).encode())
        assert joined.status == 200, joined.body
        table = json.loads(joined.body)
        users[Caller.UNIT_TABLE] = UUID(
            pyjwt.decode(table["token"], options={"verify_signature": False})["sub"]
        )
        yield Matrix(
            app=app, settings=backend, own=own, other=other, users=users, unit_table_token=table["token"]
        )


# -- The walk ------------------------------------------------------------------------------------


def http_routes(app: Litestar) -> list[tuple[str, HTTPRoute]]:
    """Every (method, route) the app answers, OPTIONS included."""
    return [
        (method, route)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for method in sorted(route.methods)
    ]


def fill(route: HTTPRoute, ids: TenantIds) -> str:
    values = {**SHARED_PARAMS, **ids.params}
    missing = [name for name in route.path_parameters if name not in values]
    assert not missing, f"{route.path}: no value to fill path parameter(s) {missing}; add one to the matrix"
    return route.path_format.format(**{name: values[name] for name in route.path_parameters})


def expired_token(settings: Settings, user_id: UUID, *, join: bool = False) -> str:
    past = datetime.now(UTC) - timedelta(hours=2)
    return pyjwt.encode(
        {
            "sub": str(user_id),
            "iat": past,
            "exp": past + timedelta(minutes=5),
            **({"join": True} if join else {}),
        },
        jwt_secret(settings),
        algorithm="HS256",
    )


SIGN_OUT_PATHS = frozenset({"/api/v1/auth/logout", "/logout"})


def tampered(token: str) -> str:
    return token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")


def build_cases(m: Matrix) -> tuple[list[Case], list[str]]:
    """Every case of the matrix, and the routes the policy does not declare."""
    create = m.app.state.jwt_auth.create_token
    tokens = {c: create(identifier=str(u)) for c, u in m.users.items()}
    tokens[Caller.UNIT_TABLE] = m.unit_table_token
    valid = {c: _bearer(t) for c, t in tokens.items()}
    expired = {
        c: _bearer(expired_token(m.settings, u, join=c is Caller.UNIT_TABLE)) for c, u in m.users.items()
    }
    broken = {c: _bearer(tampered(t)) for c, t in tokens.items()}

    def fresh(caller: Caller) -> tuple[tuple[bytes, bytes], ...]:
        join = {"join": True} if caller is Caller.UNIT_TABLE else None
        return _bearer(create(identifier=str(m.users[caller]), token_extras=join))

    own_ids, other_ids = frozenset(m.own.secrets), frozenset(m.other.secrets)
    # The ids a caller may never be shown: those of every tenant it holds no role in.
    forbidden = {
        caller: frozenset()
        if caller is Caller.CONSULTANCY_ADMIN
        else other_ids | (own_ids if caller is Caller.UNASSIGNED_CONSULTANT else frozenset())
        for caller in Caller
    }
    cases: list[Case] = []
    missing: list[str] = []
    for method, route in http_routes(m.app):
        policy = DECLARED.policy_for(method, route.path)
        if policy is None:
            missing.append(f"{method} {route.path}")
            continue
        tenant_route = is_tenant_path(route.path)
        own_url = fill(route, m.own)
        other_url = fill(route, m.other)

        def case(
            url: str,
            caller: Caller | None,
            situation: str,
            headers: tuple[tuple[bytes, bytes], ...],
            *,
            method: str = method,
            route: HTTPRoute = route,
            policy: Policy = policy,
        ) -> Case:
            ids = forbidden[caller] if caller is not None else other_ids | own_ids
            return Case(method, route.path, url, caller, situation, policy, headers, ids)

        # Signing out ends the token it is made with: those cases each get a token of their own.
        signs_out = route.path in SIGN_OUT_PATHS
        for caller in Caller:
            cases.append(case(own_url, caller, OWN, fresh(caller) if signs_out else valid[caller]))
            if tenant_route:
                cases.append(case(other_url, caller, OTHER, valid[caller]))
            cases.append(case(own_url, caller, EXPIRED, expired[caller]))
            cases.append(case(own_url, caller, TAMPERED, broken[caller]))
        cases.append(case(own_url, None, NO_TOKEN, ()))
        if tenant_route:
            cases.append(case(other_url, None, NO_TOKEN, ()))
    return cases, missing


def _let_through(case: Case) -> bool:
    if case.caller is None or case.situation in (EXPIRED, TAMPERED):
        return not case.policy.needs_token
    return case.policy.allows(case.caller, own_tenant=case.situation == OWN)


def _is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/schema", "/healthz"))


def _signed_out(case: Case, answer: Answer) -> bool:
    """Refused for want of a valid token: 401, or on a page the way to the sign-in page."""
    if answer.status == 401:
        return True
    return _is_page(case.path) and answer.status == 303 and answer.location.startswith("/login?next=")


def verdict(case: Case, answer: Answer) -> str | None:
    """What is wrong with `answer` to `case`, or None when it is what the policy says."""
    status, policy = answer.status, case.policy
    if status >= 500 or status < 100:
        return "server error"
    if not policy.needs_token:
        return "a public route refused" if status in (401, 403) else None
    if case.caller is None or case.situation in (EXPIRED, TAMPERED):
        return None if _signed_out(case, answer) else "answered without a valid token (expected 401)"
    allowed = policy.allows(case.caller, own_tenant=case.situation == OWN)
    if not allowed:
        expected = 401 if policy.scope is Scope.CLOSED else 403
        if expected == 401 and _signed_out(case, answer):
            return None
        if status != expected:
            return f"not refused (expected {expected})"
        return None
    if status in (401, 403) or _signed_out(case, answer):
        return "refused although the policy allows it"
    if 200 <= status < 300:
        text = answer.body.decode("utf-8", "replace")
        shown = sorted(i for i in case.forbidden if i in text and i not in case.url)
        if shown:
            return f"cross-tenant read: the answer carries ids of a tenant the caller may not act in {shown}"
    return None


async def test_every_route_answers_every_caller_as_the_policy_declares(backend: Settings) -> None:
    answers: list[Answer] = []
    async with open_matrix(backend) as matrix:
        cases, missing = build_cases(matrix)
        for start in range(0 if not missing else len(cases), len(cases), BATCH):
            batch = cases[start : start + BATCH]
            answers += await asyncio.gather(*(call(matrix.app, c.method, c.url, c.headers) for c in batch))
    # Asserted once the app has stopped, so that a failure reads plainly.
    assert not missing, "routes without an entry in services/http/policy.py:\n" + "\n".join(sorted(missing))

    leaks = []
    for case, answer in zip(cases, answers, strict=True):
        problem = verdict(case, answer)
        if problem is not None:
            who = case.caller.value if case.caller else "anonymous"
            body = answer.body[:300].decode("utf-8", "replace")
            leaks.append(
                f"{case.method} {case.path} as {who} ({case.situation}): {answer.status} {problem}; {body}"
            )

    routes = {(c.method, c.path) for c in cases}
    let_through = [a.status for c, a in zip(cases, answers, strict=True) if _let_through(c)]
    refused = len(cases) - len(let_through)
    print(
        f"\nisolation matrix: {len(routes)} routes (method x path, OPTIONS included) x {len(Caller)} callers"
        f" x ({OWN}, {OTHER}, {EXPIRED}, {TAMPERED}) + {NO_TOKEN}: {len(cases)} cases checked"
        f" ({len(let_through)} to be let through, {sum(200 <= s < 300 for s in let_through)} of them 2xx;"
        f" {refused} to be refused), {len(leaks)} leaks found"
    )
    assert not leaks, f"{len(leaks)} answers break the policy:\n" + "\n".join(leaks)
