"""Signing in, onboarding client organisations, and the HTTP layer's guarantees around them:
authentication, tenant guard, CSRF, problem details and idempotency keys.

Runs on every backend: the embedded default (SQLite, idempotency keys in memory) and
PostgreSQL with Redis (idempotency keys in Redis).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import jwt as pyjwt
import pytest
from litestar.testing import AsyncTestClient

from domain.roles import Role
from services.asgi import create_app
from services.auth.jwt import AUTH_COOKIE, CSRF_COOKIE, jwt_secret
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.settings import Settings

PASSWORD = "correct horse battery staple"
PROBLEM_JSON = "application/problem+json"


@dataclass
class Api:
    client: AsyncTestClient  # type: ignore[type-arg]
    container: Container
    settings: Settings
    admin_email: str

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        response = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['token']}"}

    async def register(self, role: Role | None = None) -> str:
        email = f"{uuid4().hex[:10]}@example.dk"
        await self.container.offloop(
            self.container.control.register_user, email, "Someone", PASSWORD, role, system_provenance("Test")
        )
        return email


def unique_slug() -> str:
    return f"org-{uuid4().hex[:12]}"


@pytest.fixture
async def api(backend: Settings) -> AsyncIterator[Api]:
    container = await asyncio.to_thread(build_container, backend)
    admin_email = f"admin-{uuid4().hex[:10]}@example.dk"
    container.control.register_user(
        admin_email, "Platform Admin", PASSWORD, Role.CONSULTANCY_ADMIN, system_provenance("Bootstrap")
    )
    # The app closes the container when the client shuts it down.
    async with AsyncTestClient(create_app(container=container)) as client:
        yield Api(client=client, container=container, settings=backend, admin_email=admin_email)


def assert_problem(response: object, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(PROBLEM_JSON)  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["status"] == status
    assert {"type", "title", "status"} <= body.keys()
    return body


async def test_login_me_and_bad_password(api: Api) -> None:
    bad = await api.client.post("/api/v1/auth/login", json={"email": api.admin_email, "password": "nope"})
    assert_problem(bad, 401)
    unknown = await api.client.post("/api/v1/auth/login", json={"email": "nobody@x.dk", "password": PASSWORD})
    assert_problem(unknown, 401)

    response = await api.client.post(
        "/api/v1/auth/login", json={"email": api.admin_email, "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["user"]["platform_role"] == "consultancy_admin"
    assert AUTH_COOKIE in response.cookies
    assert CSRF_COOKIE in response.cookies
    set_cookies = response.headers.get_list("set-cookie")
    auth_cookie = next(c for c in set_cookies if c.startswith(f"{AUTH_COOKIE}="))
    assert "HttpOnly" in auth_cookie
    assert "SameSite=lax" in auth_cookie
    assert "HttpOnly" not in next(c for c in set_cookies if c.startswith(f"{CSRF_COOKIE}="))

    api.client.cookies.clear()
    me = await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["email"] == api.admin_email
    assert me.headers["x-request-id"]


async def test_unauthenticated_tampered_and_expired_tokens_get_401(api: Api) -> None:
    assert_problem(await api.client.get("/api/v1/me"), 401)
    headers = await api.login(api.admin_email)
    token = headers["Authorization"].removeprefix("Bearer ")
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    api.client.cookies.clear()
    assert_problem(await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {tampered}"}), 401)

    user = await api.container.offloop(api.container.control.user_by_email, api.admin_email)
    past = datetime.now(UTC) - timedelta(hours=2)
    expired = pyjwt.encode(
        {"sub": str(user.id), "iat": past, "exp": past + timedelta(minutes=5)},
        jwt_secret(api.settings),
        algorithm="HS256",
    )
    assert_problem(await api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}), 401)
    assert (await api.client.get("/healthz")).status_code == 200


async def test_consultancy_admin_onboards_a_tenant_and_assigns_a_consultant(api: Api) -> None:
    admin = await api.login(api.admin_email)
    slug = unique_slug()
    created = await api.client.post(
        "/api/v1/tenants", json={"name": "Region Nord", "slug": slug}, headers=admin
    )
    assert created.status_code == 201, created.text
    tenant = created.json()
    assert tenant["slug"] == slug
    assert await api.container.offloop(
        api.container.tenants.exists, api.container.control.tenant_id_for(slug)
    )

    again = await api.client.post("/api/v1/tenants", json={"name": "Other", "slug": slug}, headers=admin)
    assert assert_problem(again, 409)["rule"] == "already_exists"

    consultant_email = await api.register(Role.CONSULTANT)
    consultant = await api.login(consultant_email)
    path = f"/api/v1/tenants/{tenant['id']}"
    # Not assigned yet: refused, and the tenant's existence is not confirmed.
    assert_problem(await api.client.get(path, headers=consultant), 403)
    assert_problem(await api.client.get(f"/api/v1/tenants/{uuid4()}", headers=consultant), 403)
    assert tenant["id"] not in [
        t["id"] for t in (await api.client.get("/api/v1/tenants", headers=consultant)).json()
    ]
    # Only consultancy admins onboard tenants.
    denied = await api.client.post(
        "/api/v1/tenants", json={"name": "X", "slug": unique_slug()}, headers=consultant
    )
    assert_problem(denied, 403)

    granted = await api.client.post(
        f"{path}/members", json={"email": consultant_email, "role": "consultant"}, headers=admin
    )
    assert granted.status_code == 201, granted.text
    consultant = await api.login(consultant_email)
    assert (await api.client.get(path, headers=consultant)).json()["name"] == "Region Nord"
    assert [t["id"] for t in (await api.client.get("/api/v1/tenants", headers=consultant)).json()] == [
        tenant["id"]
    ]

    # An assigned consultant adds a client admin, but may not appoint consultants.
    client_admin_email = await api.register()
    ok = await api.client.post(
        f"{path}/members", json={"email": client_admin_email, "role": "client_admin"}, headers=consultant
    )
    assert ok.status_code == 201, ok.text
    other = await api.register()
    refused = await api.client.post(
        f"{path}/members", json={"email": other, "role": "consultant"}, headers=consultant
    )
    assert_problem(refused, 403)
    # A client admin cannot manage members.
    client_admin = await api.login(client_admin_email)
    assert_problem(
        await api.client.post(
            f"{path}/members", json={"email": other, "role": "auditor"}, headers=client_admin
        ),
        403,
    )


async def test_admin_registers_users(api: Api) -> None:
    admin = await api.login(api.admin_email)
    email = f"{uuid4().hex[:10]}@Example.dk"
    body = {"email": email, "display_name": "Karen", "password": PASSWORD, "platform_role": "consultant"}
    created = await api.client.post("/api/v1/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["email"] == email.lower()
    assert "password_hash" not in created.json()
    assert assert_problem(await api.client.post("/api/v1/users", json=body, headers=admin), 409)["rule"] == (
        "already_exists"
    )
    await api.login(email.lower())


async def test_cookie_authenticated_post_needs_the_csrf_header(api: Api) -> None:
    response = await api.client.post(
        "/api/v1/auth/login", json={"email": api.admin_email, "password": PASSWORD}
    )
    csrf = response.cookies[CSRF_COOKIE]
    body = {"name": "Via cookie", "slug": unique_slug()}
    assert_problem(await api.client.post("/api/v1/tenants", json=body), 403)
    assert_problem(
        await api.client.post("/api/v1/tenants", json=body, headers={"X-CSRF-Token": "forged"}), 403
    )
    accepted = await api.client.post("/api/v1/tenants", json=body, headers={"X-CSRF-Token": csrf})
    assert accepted.status_code == 201, accepted.text
    # Reads need no token.
    assert (await api.client.get("/api/v1/me")).status_code == 200


async def test_malformed_requests_get_problem_details_naming_the_field(api: Api) -> None:
    admin = await api.login(api.admin_email)
    api.client.cookies.clear()
    wrong_type = await api.client.post(
        "/api/v1/tenants", json={"name": 5, "slug": unique_slug()}, headers=admin
    )
    body = assert_problem(wrong_type, 400)
    assert body["errors"] == [{"field": "name", "message": "Expected `str`, got `int`"}]

    missing = await api.client.post("/api/v1/tenants", json={"name": "No slug"}, headers=admin)
    assert [e["field"] for e in assert_problem(missing, 400)["errors"]] == ["slug"]  # type: ignore[union-attr]

    broken = await api.client.post(
        "/api/v1/tenants", content=b'{"name": "x",', headers={**admin, "Content-Type": "application/json"}
    )
    assert [e["field"] for e in assert_problem(broken, 400)["errors"]] == ["body"]  # type: ignore[union-attr]

    bad_slug = await api.client.post(
        "/api/v1/tenants", json={"name": "X", "slug": "Not A Slug"}, headers=admin
    )
    assert [e["field"] for e in assert_problem(bad_slug, 400)["errors"]] == ["slug"]  # type: ignore[union-attr]

    assert_problem(await api.client.get("/api/v1/nowhere", headers=admin), 404)


async def test_one_idempotency_key_creates_one_tenant_however_often_it_is_sent(api: Api) -> None:
    admin = await api.login(api.admin_email)
    api.client.cookies.clear()
    key = uuid4().hex
    body = {"name": "Kommune Syd", "slug": unique_slug()}
    before = len(await api.container.offloop(api.container.control.tenants))

    responses = await asyncio.gather(
        *(
            api.client.post("/api/v1/tenants", json=body, headers={**admin, "Idempotency-Key": key})
            for _ in range(20)
        )
    )

    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 19
    tenants = await api.container.offloop(api.container.control.tenants)
    assert len(tenants) == before + 1
    assert [t.slug for t in tenants].count(body["slug"]) == 1

    later = await api.client.post("/api/v1/tenants", json=body, headers={**admin, "Idempotency-Key": key})
    assert later.status_code == 201
    assert later.content == responses[0].content
    assert later.headers["idempotent-replayed"] == "true"

    other_body = await api.client.post(
        "/api/v1/tenants", json={**body, "name": "Changed"}, headers={**admin, "Idempotency-Key": key}
    )
    assert_problem(other_body, 422)


async def test_conflicts_are_not_kept_so_a_retry_runs_again(api: Api) -> None:
    admin = await api.login(api.admin_email)
    api.client.cookies.clear()
    slug = unique_slug()
    first = await api.client.post("/api/v1/tenants", json={"name": "A", "slug": slug}, headers=admin)
    assert first.status_code == 201
    key = uuid4().hex
    clash = {"name": "B", "slug": slug}
    for _ in range(2):
        response = await api.client.post(
            "/api/v1/tenants", json=clash, headers={**admin, "Idempotency-Key": key}
        )
        assert_problem(response, 409)
        assert "idempotent-replayed" not in response.headers


async def test_idempotency_keys_unavailable_refuses_keyed_writes_only(tmp_path: object) -> None:
    from pathlib import Path

    settings = Settings(data_dir=Path(str(tmp_path)) / "data", redis_url="redis://127.0.0.1:1/0")
    container = await asyncio.to_thread(build_container, settings)
    email = f"admin-{uuid4().hex[:10]}@example.dk"
    container.control.register_user(
        email, "Admin", PASSWORD, Role.CONSULTANCY_ADMIN, system_provenance("Bootstrap")
    )
    async with AsyncTestClient(create_app(container=container)) as client:
        login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['token']}"}
        client.cookies.clear()
        keyed = await client.post(
            "/api/v1/tenants",
            json={"name": "A", "slug": unique_slug()},
            headers={**admin, "Idempotency-Key": "k1"},
        )
        assert_problem(keyed, 503)
        assert keyed.headers["retry-after"]
        plain = await client.post("/api/v1/tenants", json={"name": "A", "slug": unique_slug()}, headers=admin)
        assert plain.status_code == 201


async def test_openapi_document_and_browsable_ui(api: Api) -> None:
    document = await api.client.get("/schema/openapi.json")
    assert document.status_code == 200
    spec = document.json()
    assert spec["info"]["title"] == "Balkort"
    post_tenants = spec["paths"]["/api/v1/tenants"]["post"]
    assert "application/problem+json" in post_tenants["responses"]["409"]["content"]
    assert "Onboards a client organisation" in post_tenants["description"]
    assert (await api.client.get("/schema")).status_code == 200
