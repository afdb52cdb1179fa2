"""The OpenAPI document is a contract a client can be generated from, and the server keeps it.

- Every command declares `Idempotency-Key`; every conditional one `If-Match` (and honours it);
  every command `X-Occurred-At`; the QR codes `X-Join-Code`; the engagement's read its `ETag`;
  every 429 and 503 answer `Retry-After`.
- Request bodies say that unknown fields are refused (and they are), and the limits of list
  items and of a rating's `scores`; status fields and counts by status name their values.
- A tenant's slug addresses it: a read is redirected to the id for a caller who may use the
  tenant; an unknown slug, and another tenant's slug, answer the same 404.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any
from uuid import UUID

import pytest

from domain.agreements import AgreementStatus, CheckInStatus
from domain.cards import CardStatus
from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.roles import Role
from domain.tenant import Tenant
from services.settings import Settings
from tests.http_harness import ADMIN, Person, Story, consultant_headers, register, serving, token_for

SCHEMA_PATH = "/schema/openapi.json"
METHODS = ("get", "put", "post", "delete", "patch")
# Unsafe operations the idempotency middleware leaves alone: signing in and out, opening and
# taking up an invitation by its link (which answers with a token), joining with a
# code, and issuing a join code (its answer is shown once and never kept).
UNKEYED = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/join"),
    ("post", "/api/v1/auth/invitation"),
    ("post", "/api/v1/auth/invitation/accept"),
    ("post", "/api/v1/tenants/{tenant_id}/engagements/{engagement_id}/units/{unit_id}/join-codes"),
}
ENGAGEMENT = "/api/v1/tenants/{tenant_id}/engagements/{engagement_id}"
CONDITIONAL = [
    ("post", f"{ENGAGEMENT}/ratings"),
    ("post", f"{ENGAGEMENT}/cards"),
    ("post", f"{ENGAGEMENT}/phase/advance"),
    ("put", f"{ENGAGEMENT}/rounds"),
    ("post", f"{ENGAGEMENT}/proposals/{{proposal_id}}/decision"),
    ("post", "/api/v1/tenants/{tenant_id}/organisation/units"),
]
# Commands that create their aggregate, or do not pass a version on: no If-Match to honour.
UNCONDITIONAL = [
    ("post", "/api/v1/tenants/{tenant_id}/engagements"),
    ("put", "/api/v1/tenants/{tenant_id}/organisation"),
    ("post", "/api/v1/tenants/{tenant_id}/members"),
]


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, quick_hashes=True) as started:
        yield started


@pytest.fixture
async def document(tmp_path: Any) -> AsyncIterator[dict[str, Any]]:
    async with serving(Settings(data_dir=tmp_path / "data"), admin=None) as started:
        response = await started.client.get(SCHEMA_PATH)
        assert response.status_code == 200
        yield response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def headers_of(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}


def component(document: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = document["components"]["schemas"][name]
    return schema


# -- headers ------------------------------------------------------------------------------------


def test_every_command_declares_an_idempotency_key(document: dict[str, Any]) -> None:
    unsafe = [(m, p, op) for m, p, op in operations(document) if m != "get" and p.startswith("/api/v1/")]
    assert len(unsafe) > 30
    for method, path, operation in unsafe:
        declared = "Idempotency-Key" in headers_of(operation)
        assert declared is ((method, path) not in UNKEYED), f"{method.upper()} {path}"
    assert all("Idempotency-Key" not in headers_of(op) for m, _, op in operations(document) if m == "get")


def test_conditional_commands_declare_if_match_and_dated_ones_x_occurred_at(document: dict[str, Any]) -> None:
    paths = document["paths"]
    for method, path in CONDITIONAL:
        declared = headers_of(paths[path][method])
        assert "If-Match" in declared, f"{method.upper()} {path}"
        assert "X-Occurred-At" in declared, f"{method.upper()} {path}"
        assert declared["If-Match"]["required"] is False
    for method, path in UNCONDITIONAL:
        assert "If-Match" not in headers_of(paths[path][method]), f"{method.upper()} {path}"
    conditional = [(m, p) for m, p, op in operations(document) if "If-Match" in headers_of(op)]
    assert len(conditional) >= 25
    assert all(m != "get" for m, _ in conditional)
    assert headers_of(paths["/api/v1/tenants/{tenant_id}/engagements"]["post"])["X-Occurred-At"][
        "schema"
    ] == {
        "type": "string",
        "format": "date-time",
    }


def test_join_code_etag_and_retry_after_are_declared(document: dict[str, Any]) -> None:
    paths = document["paths"]
    codes = f"{ENGAGEMENT}/units/{{unit_id}}/join-codes/{{code_id}}"
    for picture in ("qr.svg", "qr.png"):
        assert headers_of(paths[f"{codes}/{picture}"]["get"])["X-Join-Code"]["required"] is True
    assert "ETag" in paths[ENGAGEMENT]["get"]["responses"]["200"]["headers"]
    answers = [(s, r) for _, _, op in operations(document) for s, r in op["responses"].items()]
    retried = [r for s, r in answers if s in ("429", "503")]
    assert len(retried) > 60
    assert all("Retry-After" in r.get("headers", {}) for r in retried)
    errors = [r for s, r in answers if s[0] in "45"]
    assert all("application/problem+json" in r["content"] for r in errors)


# -- bodies and values --------------------------------------------------------------------------


def test_request_bodies_refuse_unknown_fields_and_say_their_limits(document: dict[str, Any]) -> None:
    refs = [
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for _, _, op in operations(document)
        if "$ref"
        in op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    ]
    assert len(refs) > 30
    open_bodies = {
        name for name in refs if component(document, name).get("additionalProperties") is not False
    }
    # These bodies are read leniently (a field they do not know is ignored), and say nothing.
    assert open_bodies == {"Credentials", "NewTenant", "NewMembership", "RoleChange", "NewUser"}
    split_names = component(document, "SplitUnit")["properties"]["names"]
    assert split_names["items"]["maxLength"] == 200
    assert split_names["items"]["minLength"] == 1
    scores = component(document, "SubmitRating")["properties"]["scores"]
    assert scores["minProperties"] == 1
    assert scores["maxProperties"] == 50
    assert scores["additionalProperties"] == {"type": "integer", "minimum": 0, "maximum": 100}
    assert scores["propertyNames"]["maxLength"] == 200
    assert all(f"`{key}`" in scores["description"] for key in DEFAULT_INSTRUMENT.dimension_keys)


def test_status_fields_and_counts_name_their_values(document: dict[str, Any]) -> None:
    def values(name: str, field: str) -> list[str]:
        declared: list[str] = component(document, name)["properties"][field]["enum"]
        return declared

    assert values("CardOut", "status") == [s.value for s in CardStatus]
    assert values("AgreementOut", "status") == [s.value for s in AgreementStatus]
    assert values("ProposalOut", "status") == [s.value for s in ProposalStatus]
    assert values("CheckInOut", "status") == [s.value for s in CheckInStatus]
    assert values("ThemeDayBoard", "phase") == [p.value for p in Phase]
    by_status = component(document, "EngagementDashboard")["properties"]["proposals_by_status"]
    assert by_status["propertyNames"]["enum"] == [s.value for s in ProposalStatus]


def test_the_description_says_how_a_slug_addresses_a_tenant(document: dict[str, Any]) -> None:
    description = document["info"]["description"]
    assert "/api/v1/tenants/{slug}/" in description
    assert "308" in description
    assert "Idempotency-Key" in description


# -- the server keeps what the document says ----------------------------------------------------


async def organisation(story: Story) -> tuple[str, Person]:
    admin = await story.sign_in(ADMIN)
    slug = f"kontrakt-{secrets.token_hex(4)}"
    tenant = await admin.post("/api/v1/tenants", {"name": "Kontrakt Kommune", "slug": slug})
    consultant = Person(story.client, await consultant_headers(story, UUID(tenant["id"])))
    consultant.base = f"/api/v1/tenants/{tenant['id']}"
    await consultant.put("/organisation", {"name": "Kontrakt Kommune"})
    return slug, consultant


async def test_an_unknown_field_is_refused_and_a_stale_if_match_conflicts(story: Story) -> None:
    _, consultant = await organisation(story)
    await consultant.post("/organisation/units", {"name": "Hjemmeplejen", "colour": "red"}, expect=400)
    await consultant.post(
        "/organisation/units", {"name": "Hjemmeplejen"}, **{"If-Match": '"999"'}, expect=409
    )
    # A digit to str.isdigit that int() does not read: the pattern's [0-9], not a 500.
    superscript = await story.client.post(
        f"{consultant.base}/organisation/units",
        json={"name": "Hjemmeplejen"},
        headers={**consultant.headers, "If-Match": '"²"'.encode("latin-1")},
    )
    assert superscript.status_code == 400, superscript.text
    version = (await consultant.get("/organisation"))["version"]
    await consultant.post("/organisation/units", {"name": "Hjemmeplejen"}, **{"If-Match": f'"{version}"'})


async def test_every_audit_row_has_the_details_its_event_type_declares(story: Story) -> None:
    _, consultant = await organisation(story)
    units = [(await consultant.post("/organisation/units", {"name": name}))["unit_id"] for name in ("Ø", "Æ")]
    engagement = await consultant.post(
        "/engagements", {"title": "Temadag", "theme_day": "2031-05-01", "unit_ids": units}
    )
    path = f"/engagements/{engagement['engagement_id']}"
    await consultant.put(f"{path}/rounds", {"rounds": 4})
    await consultant.post(f"{path}/phase/advance", {"expected_phase": "prepared"}, expect=200)
    document = (await story.client.get(SCHEMA_PATH)).json()
    declared = component(document, "AuditRow")["properties"]["details"]["x-details-by-event-type"]
    rows = (await consultant.get("/audit"))["items"]
    recorded = {row["event_type"] for row in rows}
    assert recorded >= {"Established", "UnitAdded", "Prepared", "RoundsSet", "PhaseAdvanced"}
    for row in rows:
        schema = declared[f"{row['aggregate_type']}.{row['event_type']}"]
        assert set(row["details"]) == set(schema["properties"]), row["event_type"]
        for field, value in row["details"].items():
            assert value in schema["properties"][field].get("enum", [value]), (row["event_type"], field)


async def test_a_slug_is_redirected_to_the_tenant_id_for_its_users(story: Story) -> None:
    slug, consultant = await organisation(story)
    tenant_id = consultant.base.rsplit("/", 1)[-1]
    client = story.client
    read = await client.get(
        f"/api/v1/tenants/{slug}/organisation",
        params={"as_of": "2030-01-01T00:00:00Z"},
        headers=consultant.headers,
        follow_redirects=False,
    )
    assert read.status_code == 308
    assert (
        read.headers["location"] == f"/api/v1/tenants/{tenant_id}/organisation?as_of=2030-01-01T00%3A00%3A00Z"
    )
    assert "private" in read.headers["cache-control"]
    followed = await client.get(read.headers["location"], headers=consultant.headers)
    assert followed.status_code == 200
    assert (
        await client.get(f"/api/v1/tenants/{slug}", headers=consultant.headers, follow_redirects=False)
    ).headers["location"] == f"/api/v1/tenants/{tenant_id}"
    page = await client.get(f"/t/{slug}/audit", headers=consultant.headers, follow_redirects=False)
    assert page.status_code == 307
    assert page.headers["location"] == f"/t/{tenant_id}/audit"
    # A command goes to the address it names: refused, with the id to send it to.
    command = await client.post(
        f"/api/v1/tenants/{slug}/organisation/units", json={"name": "Tandplejen"}, headers=consultant.headers
    )
    assert command.status_code == 400
    assert tenant_id in command.text
    admin = await story.sign_in(ADMIN)
    by_admin = await client.get(f"/api/v1/tenants/{slug}", headers=admin.headers, follow_redirects=False)
    assert by_admin.status_code == 308


async def test_an_unknown_slug_and_another_tenants_slug_answer_the_same_404(story: Story) -> None:
    slug, _ = await organisation(story)
    stranger = await register(story.container, Role.CONSULTANT)
    other_slug, other = await organisation(story)
    client = story.client
    asking = {
        "stranger": token_for(client, stranger.user_id),
        "other tenant's consultant": other.headers,
        "nobody": {},
    }
    unknown = await client.get("/api/v1/tenants/no-such-tenant/organisation", headers=other.headers)
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    for who, headers in asking.items():
        for method in ("GET", "PUT"):
            answer = await client.request(
                method,
                f"/api/v1/tenants/{slug}/organisation",
                json={"name": "Kontrakt Kommune"},
                headers=headers,
                follow_redirects=False,
            )
            assert answer.status_code == 404, who
            assert answer.json() == unknown.json(), who
            assert "location" not in answer.headers, who
            assert str(Tenant.create_id(slug)) not in answer.text, who
    own = await client.get(
        f"/api/v1/tenants/{other_slug}/organisation", headers=other.headers, follow_redirects=False
    )
    assert own.status_code == 308
