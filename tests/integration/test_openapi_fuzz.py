"""Fuzzing the HTTP API against its own OpenAPI document with schemathesis, in-process.

On each backend, one tenant is set up through the API and run up to a dialogue with an
agreement and a proposal, so that every path parameter can name something real. Schemathesis
loads `/schema/openapi.json` from the app itself; every operation then gets a fixed budget of
generated requests, valid and invalid ones (seeded, so a CI run sends the same requests),
signed in as a consultancy admin and, with a smaller budget, as the tenant's client admin. A
share of the well-formed ids in paths and bodies is swapped for real ones, so requests reach
the handlers and not only the 403/404 in front of them.

Each answer must be:

- no server error (`not_a_server_error`; an app that raises mid-stream counts as one);
- a status code the operation declares (`status_code_conformance`);
- of a content type the operation declares for that status (`content_type_conformance`);
- a body that validates against the declared schema (`response_schema_conformance`);
- with the declared response headers (`response_headers_conformance`).

Every case of the budget runs and every failure is kept (one line per operation, check and
status, with the first request that showed it), rather than stopping at the first: the
operations are driven one by one with `operation.as_strategy()`, since
`schemathesis.pytest.from_fixture` does not run under pytest 9.2 (it sets `Item._nodeid`).

Then a stateful run (`schema.as_state_machine()`) chains calls along the links schemathesis
infers between operations (the document declares none), with the same checks.
"""

from __future__ import annotations

import json
import uuid
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from domain.default_instrument import DEFAULT_INSTRUMENT_ID, DIMENSIONS
from domain.roles import Role
from projections.lineage import NodeKind
from services.asgi import create_app
from services.auth.passwords import Passwords
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings

pytestmark = pytest.mark.slow

SCHEMA_PATH = "/schema/openapi.json"
PASSWORD = "correct horse battery staple"
SEED = 20250311
# Generated requests per operation in the fuzzing phase.
CONSULTANCY_ADMIN_EXAMPLES = 25
CLIENT_ADMIN_EXAMPLES = 8
STATEFUL_SCENARIOS = 20
STATEFUL_STEPS = 10
# A live stream is cut after its first event (`max-stream-events`), or after this long without
# one: its first event waits for the read models to settle, which takes a while on a loaded machine.
REQUEST_TIMEOUT_SECONDS = 30.0
STREAM_TIMEOUT_SECONDS = 10.0

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]

HYPOTHESIS_SETTINGS = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
    "print_blob": False,
}


# Signing out revokes the token it is sent with: each of its cases signs a token of its own out.
SIGN_OUT_PATH = "/api/v1/auth/logout"


@dataclass
class World:
    app: Litestar
    tokens: dict[str, str]
    user_ids: dict[str, UUID]
    # Real ids by the name of the path parameter or body field they fill.
    ids: dict[str, list[str]]


# -- Setting the tenant up, through the API ------------------------------------------------------


class Api:
    """Just enough of the API to set a tenant up, as the consultancy admin, through schemathesis's
    own in-process client (the app's lifespan runs on its event loop)."""

    def __init__(self, client: asgi.ASGIClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def send(self, method: str, path: str, body: Any, expect: int) -> Any:
        response = self.client.request(method, path, json=body, headers=self.headers)
        assert response.status_code == expect, (method, path, response.status_code, response.text)
        return response.json() if response.content else None


def _set_up(client: asgi.ASGIClient, token: str, client_admin_id: UUID) -> dict[str, list[str]]:
    """A tenant with an organisation and an engagement run up to a dialogue with an agreement
    and a proposal; the client admin a member of it. The ids, by parameter name."""
    api = Api(client, token)
    slug = f"fuzz-{uuid.uuid4().hex[:12]}"
    tenant = api.send("POST", "/api/v1/tenants", {"name": "Region Fuzz", "slug": slug}, 201)
    tenant_id = tenant["id"]
    base = f"/api/v1/tenants/{tenant_id}"
    api.send("POST", f"{base}/members", {"user_id": str(client_admin_id), "role": "client_admin"}, 201)
    api.send("PUT", f"{base}/organisation", {"name": "Region Fuzz"}, 200)
    units = [
        api.send("POST", f"{base}/organisation/units", {"name": name}, 201)["unit_id"]
        for name in ("Visitationen", "Hjemmeplejen", "Akutteamet", "Sygeplejen")
    ]
    visit, home, *_ = units
    prepared = api.send(
        "POST",
        f"{base}/engagements",
        {"title": "Fuzz", "theme_day": "2025-03-11", "unit_ids": units[:3]},
        201,
    )
    engagement = f"{base}/engagements/{prepared['engagement_id']}"
    for phase in ("prepared", "theme_day_open"):
        api.send("POST", f"{engagement}/phase/advance", {"expected_phase": phase}, 200)
    api.send("PUT", f"{engagement}/units/{visit}/relations", {"counterpart_ids": [home]}, 200)
    rating = api.send(
        "POST",
        f"{engagement}/ratings",
        {"unit_id": visit, "counterpart_id": home, "scores": {d.key: 2 for d in DIMENSIONS}},
        201,
    )
    api.send("POST", f"{engagement}/phase/advance", {"expected_phase": "mapping"}, 200)
    card = api.send(
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
    api.send("POST", f"{engagement}/cards/{card_id}/accept", {"unit_id": home}, 200)
    api.send("POST", f"{engagement}/schedule", {}, 200)
    api.send("POST", f"{engagement}/phase/advance", {"expected_phase": "dance_cards"}, 200)
    outcome = api.send(
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
    dialogue_id = outcome["dialogue_id"]
    return {
        "tenant_id": [tenant_id],
        "engagement_id": [prepared["engagement_id"]],
        "unit_id": units,
        "card_id": [card_id],
        "dialogue_id": [dialogue_id],
        "agreement_id": outcome["agreement_ids"],
        "proposal_id": outcome["proposal_ids"],
        "rating_id": [rating["rating_id"]],
        "instrument_id": [str(DEFAULT_INSTRUMENT_ID)],
        "user_id": [str(client_admin_id)],
        # Lineage nodes, as `kind:entity_id`.
        "node": [
            f"dialogue:{dialogue_id}",
            f"dance_card:{card_id}",
            f"rating:{rating['rating_id']}",
            *(f"agreement:{a}" for a in outcome["agreement_ids"]),
            *(f"proposal:{p}" for p in outcome["proposal_ids"]),
        ],
    }


@pytest.fixture
def world(backend: Settings) -> Iterator[World]:
    """The app on a tenant of its own, for one test: schemathesis ends the app's lifespan (and so
    closes the container) when the test that started it ends. On PostgreSQL the tests share a
    control plane, so the users have addresses of their own."""
    container = build_container(backend)
    # Nobody's password is the point here; cheap hashes keep users quick to register.
    container.control.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    provenance = system_provenance("Test")
    stem = uuid.uuid4().hex[:12]
    admin_id = container.control.register_user(
        f"fuzz-admin-{stem}@example.dk", "Birgitte", PASSWORD, Role.CONSULTANCY_ADMIN, provenance
    )
    client_admin_id = container.control.register_user(
        f"fuzz-client-admin-{stem}@example.dk", "Karen", PASSWORD, None, provenance
    )
    app = create_app(container=container)
    user_ids = {"consultancy_admin": admin_id, "client_admin": client_admin_id}
    tokens = {
        caller: app.state.jwt_auth.create_token(identifier=str(user_id))
        for caller, user_id in user_ids.items()
    }
    try:
        with asgi.get_client(app) as client:
            ids = _set_up(client, tokens["consultancy_admin"], client_admin_id)
        yield World(app=app, tokens=tokens, user_ids=user_ids, ids=ids)
    finally:
        # The lifespan runs on schemathesis's event loop; ending it closes the container.
        asgi.shutdown_lifespans()


# -- The schema, with real ids for a share of the cases ------------------------------------------

ID_FIELDS = {
    "unit_id": "unit_id",
    "counterpart_id": "unit_id",
    "from_unit": "unit_id",
    "to_unit": "unit_id",
    "unit_a": "unit_id",
    "unit_b": "unit_id",
    "card_id": "card_id",
    "motivating_rating_id": "rating_id",
    "user_id": "user_id",
    "instrument_id": "instrument_id",
}
ID_LISTS = {"unit_ids": "unit_id", "counterpart_ids": "unit_id"}
NODE_KINDS = frozenset(kind.value for kind in NodeKind)


def _is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _real_path_parameters(ids: dict[str, list[str]], parameters: Any) -> st.SearchStrategy[Any]:
    """With the well-formed ids swapped for real ones, or as generated. A malformed value is left
    alone: it is what a negative case negates, and it must reach the app as generated."""
    if not isinstance(parameters, dict):
        return st.just(parameters)
    draws: dict[str, st.SearchStrategy[Any]] = {
        name: st.sampled_from(ids[name])
        for name, value in parameters.items()
        if name in ids and _is_uuid(value)
    }
    real = st.fixed_dictionaries(draws)
    if "kind" in parameters and "entity_id" in parameters and parameters["kind"] in NODE_KINDS:
        # A lineage node: the kind and the id of the same thing.
        node = st.sampled_from(ids["node"]).map(
            lambda n: dict(zip(("kind", "entity_id"), n.split(":"), strict=True))
        )
        real = st.tuples(real, node).map(lambda both: {**both[0], **both[1]})
    elif not draws:
        return st.just(parameters)
    # The real ids first: Hypothesis leans towards the first alternative.
    return st.one_of(real.map(lambda chosen: {**parameters, **chosen}), st.just(parameters))


def _real_body(ids: dict[str, list[str]], body: Any) -> st.SearchStrategy[Any]:
    """With its well-formed ids (at the top level) swapped for real ones, or as generated."""
    if not isinstance(body, dict):
        return st.just(body)
    draws: dict[str, st.SearchStrategy[Any]] = {}
    for key, value in body.items():
        if key in ID_FIELDS and _is_uuid(value):
            draws[key] = st.sampled_from(ids[ID_FIELDS[key]])
        elif key in ID_LISTS and isinstance(value, list) and value and all(_is_uuid(v) for v in value):
            pool = ids[ID_LISTS[key]]
            draws[key] = st.lists(st.sampled_from(pool), min_size=1, max_size=len(pool), unique=True)
    if not draws:
        return st.just(body)
    return st.one_of(st.fixed_dictionaries(draws).map(lambda chosen: {**body, **chosen}), st.just(body))


def load_schema(world: World) -> schemathesis.BaseSchema:
    """The app's OpenAPI document, loaded from the app, with the real ids swapped in."""
    config = schemathesis.Config.from_dict({"seed": SEED, "max-stream-events": 1})
    schema = schemathesis.openapi.from_asgi(SCHEMA_PATH, world.app, config=config)

    @schema.hook
    def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: Any) -> Any:
        return _real_path_parameters(world.ids, path_parameters)

    @schema.hook
    def flatmap_body(context: schemathesis.HookContext, body: Any) -> Any:
        return _real_body(world.ids, body)

    return schema


# -- The run and its figures ---------------------------------------------------------------------


@dataclass
class Finding:
    """One kind of failure on one operation, with the first case that showed it."""

    operation: str
    check: str
    status: int
    title: str
    message: str
    request: str
    response: str
    count: int = 0


@dataclass
class Report:
    caller: str
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    findings: dict[tuple[str, str, int, str], Finding] = field(default_factory=dict)

    @property
    def cases(self) -> int:
        return sum(sum(c.values()) for c in self.statuses.values())

    def reached(self) -> list[str]:
        """The operations that answered 2xx at least once."""
        return sorted(op for op, counts in self.statuses.items() if any(200 <= s < 300 for s in counts))

    def record(
        self, case: schemathesis.Case, response: schemathesis.Response, failures: list[Failure]
    ) -> None:
        self.statuses[_operation_of(case)][response.status_code] += 1
        for failure in failures:
            check = failure.checks[0] if failure.checks else type(failure).__name__
            self._find(case, check, response.status_code, failure.title, failure.message, response.text)

    def crash(self, case: schemathesis.Case, error: Exception) -> None:
        """The app raised instead of answering, or after it had started a streamed answer (the
        client sees the connection drop): a server error with no status to show, kept as 0."""
        self.statuses[_operation_of(case)][0] += 1
        cause = _root_cause(error)
        self._find(case, "not_a_server_error", 0, "The app raised", f"{type(cause).__name__}: {cause}", "")

    def _find(
        self, case: schemathesis.Case, check: str, status: int, title: str, message: str, body: str
    ) -> None:
        operation = _operation_of(case)
        key = (operation, check, status, title)
        if key not in self.findings:
            self.findings[key] = Finding(
                operation=operation,
                check=check,
                status=status,
                title=title,
                message=message,
                request=_request_of(case),
                response=body[:600],
            )
        self.findings[key].count += 1

    def summary(self) -> str:
        by_check = Counter(f.check for f in self.findings.values())
        lines = [
            f"{self.caller}: {len(self.statuses)} operations, {self.cases} cases, "
            f"{len(self.reached())} operations answered 2xx; "
            f"failures by check (distinct operation/status): {dict(by_check)}"
        ]
        for operation, counts in sorted(self.statuses.items()):
            lines.append(f"  {operation}: " + ", ".join(f"{s}x{n}" for s, n in sorted(counts.items())))
        for f in sorted(self.findings.values(), key=lambda f: (f.check, f.operation, f.status)):
            lines.append(
                f"- [{f.check}] {f.operation} -> {f.status} ({f.count}x): {f.title}\n"
                f"  {f.message.strip()[:400]}\n  request: {f.request}\n  response: {f.response}"
            )
        return "\n".join(lines)


def _operation_of(case: schemathesis.Case) -> str:
    return f"{case.method.upper()} {case.operation.path}"


def _root_cause(error: BaseException) -> BaseException:
    while True:
        if isinstance(error, BaseExceptionGroup) and error.exceptions:
            error = error.exceptions[0]
        elif error.__cause__ is not None:
            error = error.__cause__
        else:
            return error


def _request_of(case: schemathesis.Case) -> str:
    body = (
        ""
        if case.body is None or not case.media_type
        else f" body={json.dumps(case.body, default=str)[:400]}"
    )
    query = f"?{urlencode(case.query, doseq=True)}" if case.query else ""
    return f"{case.method.upper()} {case.formatted_path}{query}{body}"


NOT_READY = "urn:balkort:problem:not-ready"


def _is_not_ready(response: schemathesis.Response) -> bool:
    """The designed answer while a tenant's read models are being built from its events: 503,
    `not-ready`, with `Retry-After`. Transient, declared, and not a fault of the server."""
    if response.status_code != 503 or "retry-after" not in {k.lower() for k in response.headers}:
        return False
    try:
        return bool(json.loads(response.content).get("type") == NOT_READY)
    except (ValueError, AttributeError):
        return False


def _failures(
    case: schemathesis.Case, response: schemathesis.Response, headers: dict[str, str]
) -> list[Failure]:
    try:
        case.validate_response(response, checks=CHECKS, headers=headers)
    except FailureGroup as group:
        found = list(group.exceptions)
    except Failure as failure:
        found = [failure]
    else:
        return []
    if _is_not_ready(response):
        found = [f for f in found if "not_a_server_error" not in (f.checks or ())]
    return found


def _timeout_for(operation: schemathesis.APIOperation) -> float:
    """The live stream never ends by itself: it is cut once it has been quiet for a while."""
    return STREAM_TIMEOUT_SECONDS if operation.path.endswith("/events") else REQUEST_TIMEOUT_SECONDS


def headers_for(world: World, caller: str, operation: schemathesis.APIOperation) -> dict[str, str]:
    """The caller's bearer token; a fresh one for signing out, which revokes what it is sent with."""
    if operation.path == SIGN_OUT_PATH:
        token = world.app.state.jwt_auth.create_token(identifier=str(world.user_ids[caller]))
        return {"Authorization": f"Bearer {token}"}
    return {"Authorization": f"Bearer {world.tokens[caller]}"}


def fuzz(world: World, caller: str, max_examples: int) -> Report:
    """Every operation of the schema, `max_examples` generated requests each (positive and
    negative), as `caller`; every failure is kept, not only the first."""
    schema = load_schema(world)
    report = Report(caller)
    for result in schema.get_all_operations():
        operation = result.ok()
        _fuzz_operation(operation, lambda op=operation: headers_for(world, caller, op), max_examples, report)
    return report


def _fuzz_operation(
    operation: schemathesis.APIOperation,
    credentials: Callable[[], dict[str, str]],
    max_examples: int,
    report: Report,
) -> None:
    label = f"{operation.method.upper()} {operation.path}"
    timeout = _timeout_for(operation)
    strategy = st.one_of(
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE),
    )

    @seed(SEED + zlib.crc32(label.encode()))
    @settings(max_examples=max_examples, **HYPOTHESIS_SETTINGS)
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        headers = credentials()
        try:
            response = case.call(headers=headers, timeout=timeout)
        except Exception as error:  # every case runs: a crash is kept, not shrunk
            report.crash(case, error)
            return
        report.record(case, response, _failures(case, response, headers))

    run()


def assert_clean(report: Report, *, must_reach: int) -> None:
    if report.findings:
        pytest.fail(report.summary(), pytrace=False)
    reached = report.reached()
    assert len(reached) >= must_reach, (
        f"only {len(reached)} operations answered 2xx, so the fuzzing hardly reached the handlers: "
        f"{reached}\n{report.summary()}"
    )


def test_every_operation_as_a_consultancy_admin(world: World) -> None:
    report = fuzz(world, "consultancy_admin", CONSULTANCY_ADMIN_EXAMPLES)
    print(report.summary())
    assert_clean(report, must_reach=30)


def test_every_operation_as_a_client_admin(world: World) -> None:
    report = fuzz(world, "client_admin", CLIENT_ADMIN_EXAMPLES)
    print(report.summary())
    assert_clean(report, must_reach=10)


def test_stateful_sequences_as_a_consultancy_admin(world: World) -> None:
    """Sequences of calls along the links schemathesis infers between operations (the schema
    declares none): ids a response returns feed the next request's parameters."""
    schema = load_schema(world)
    report = Report("consultancy_admin, stateful")

    class Sequences(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            headers = headers_for(world, "consultancy_admin", case.operation)
            return {"headers": headers, "timeout": _timeout_for(case.operation)}

        def call(self, case: schemathesis.Case, **kwargs: Any) -> schemathesis.Response:
            try:
                return case.call(**kwargs)
            except Exception as error:
                report.crash(case, error)
                raise

        def validate_response(
            self, response: schemathesis.Response, case: schemathesis.Case, *args: Any, **kwargs: Any
        ) -> None:
            headers = {"Authorization": f"Bearer {world.tokens['consultancy_admin']}"}
            report.record(case, response, _failures(case, response, headers))

    # One scenario per run: the server's state moves on between runs, so Hypothesis could not
    # replay (or shrink) a scenario anyway, and it refuses to when it notices the difference.
    for scenario in range(STATEFUL_SCENARIOS):
        seed(SEED + scenario)(Sequences)
        Sequences.run(
            settings=settings(
                max_examples=1,
                stateful_step_count=STATEFUL_STEPS,
                phases=[Phase.generate],
                **HYPOTHESIS_SETTINGS,
            )
        )
    print(report.summary())
    assert_clean(report, must_reach=1)
