"""The HTTP harness the end-to-end and integration tests share: the app on a backend's
settings behind an in-process client, a consultancy admin, people signed in with bearer
tokens, and tenants onboarded under slugs of their own.

On PostgreSQL the tests of a run share one database and so one control plane: the admin may
exist already, and every tenant and user a test makes needs a name of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NamedTuple
from uuid import UUID, uuid4

import httpx
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.errors import AlreadyExists
from domain.provenance import Provenance
from domain.roles import Role
from services.asgi import create_app
from services.auth.passwords import Passwords
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.settings import Settings
from services.usecases.tenants import onboard_tenant

PASSWORD = "en lang nok adgangskode"
ADMIN = "admin@konsulenthuset.dk"
DIMENSIONS = DEFAULT_INSTRUMENT.dimension_keys


def scores(*values: int) -> dict[str, int]:
    """Scores for the seven dimensions, in the instrument's order."""
    assert len(values) == len(DIMENSIONS)
    return dict(zip(DIMENSIONS, values, strict=True))


def flat(value: int) -> dict[str, int]:
    """The same score on every dimension."""
    return dict.fromkeys(DIMENSIONS, value)


def provenance_now(tenant_id: UUID, actor_id: UUID, command: str) -> Provenance:
    """A consultant's provenance for `command`, happening and recorded now: for tests that call
    the application service directly, as a request would."""
    now = datetime.now(UTC)
    return Provenance(
        actor_id=actor_id,
        actor_role=Role.CONSULTANT,
        tenant_id=tenant_id,
        occurred_at=now,
        recorded_at=now,
        command_id=uuid4(),
        command_name=command,
        correlation_id=f"test-{command}",
    )


def at(moment: str) -> dict[str, str]:
    """The header that dates a command: when it happened."""
    return {"X-Occurred-At": moment}


async def bearer(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> dict[str, str]:
    """Signs in with a password; the headers that carry the bearer token it gives."""
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    # Bearer tokens only: the login's cookies would make later requests cookie-authenticated.
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['token']}"}


def token_for(client: AsyncTestClient[Any], user_id: UUID) -> dict[str, str]:
    """The headers with a token as login issues it, without paying for a password check."""
    token = client.app.state.jwt_auth.create_token(identifier=str(user_id))
    return {"Authorization": f"Bearer {token}"}


class Registered(NamedTuple):
    user_id: UUID
    email: str


async def register(container: Container, platform_role: Role | None = None) -> Registered:
    """A user of their own (a unique email), registered straight on the control plane."""
    email = f"{uuid4().hex[:12]}@example.dk"
    user_id: UUID = await container.offloop(
        container.control.register_user, email, "Someone", PASSWORD, platform_role, system_provenance("Test")
    )
    return Registered(user_id, email)


async def consultant_headers(story: Story, tenant_id: UUID) -> dict[str, str]:
    """The headers of a new consultant with a membership of `tenant_id`, granted straight on
    the control plane."""
    container = story.container
    consultant = await register(container, Role.CONSULTANT)
    await container.offloop(
        container.control.grant_membership,
        consultant.user_id,
        tenant_id,
        Role.CONSULTANT,
        system_provenance("Test"),
    )
    return token_for(story.client, consultant.user_id)


async def onboard(container: Container, name: str, stem: str) -> UUID:
    """A tenant onboarded straight on the container, under a slug of its own (`stem-…`)."""
    slug = f"{stem}-{uuid4().hex[:12]}"
    tenant_id: UUID = await container.offloop(
        onboard_tenant, container, name, slug, system_provenance("Test")
    )
    return tenant_id


@dataclass
class Person:
    """Someone signed in: every request goes with their bearer token, to `base` + the path."""

    client: AsyncTestClient[Any]
    headers: dict[str, str]
    base: str = ""

    async def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        expect: int = 200,
        params: Any = None,
        **headers: str,
    ) -> Any:
        response = await self.client.request(
            method, self.base + path, json=body, params=params, headers={**self.headers, **headers}
        )
        assert response.status_code == expect, f"{method} {path}: {response.status_code} {response.text}"
        return response.json() if response.content else None

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, body: object = None, **kw: Any) -> Any:
        kw.setdefault("expect", 201)
        return await self.call("POST", path, body, **kw)

    async def put(self, path: str, body: object = None, **kw: Any) -> Any:
        return await self.call("PUT", path, body, **kw)

    async def raw(self, path: str, params: Any = None) -> httpx.Response:
        """A GET whose response is wanted whole (an export), not its JSON."""
        response = await self.client.get(self.base + path, params=params, headers=self.headers)
        assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
        return response

    async def enrol(
        self, tenant_id: str, email: str, display_name: str, platform_role: str | None, role: str
    ) -> Any:
        """As an admin: a new user, made a member of the tenant in `role`; the user as created."""
        user = await self.post(
            "/api/v1/users",
            {
                "email": email,
                "display_name": display_name,
                "password": PASSWORD,
                "platform_role": platform_role,
            },
        )
        await self.post(f"/api/v1/tenants/{tenant_id}/members", {"user_id": user["id"], "role": role})
        return user


@dataclass
class Story:
    """The app and its container behind an in-process client."""

    client: AsyncTestClient[Any]
    container: Container

    async def sign_in(self, email: str) -> Person:
        return Person(self.client, await bearer(self.client, email))


class Team(NamedTuple):
    """A tenant of its own and the people of one engagement, each signed in on its API."""

    tenant_id: str
    emails: dict[str, str]  # consultant, manager, first, second
    facilitator: Person  # the consultant
    manager: Person  # the client admin
    first: Person  # the participants
    second: Person


async def tenant_with_team(story: Story, name: str, stem: str) -> Team:
    """As the consultancy admin: a tenant called `name` under a slug of its own (`stem-…`), with a
    consultant, a client admin and two participants, their addresses at `stem`.dk."""
    tag = secrets.token_hex(4)
    admin = await story.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": f"{name} {tag}", "slug": f"{stem}-{tag}"})
    tenant_id = tenant["id"]
    emails = {}
    for key, platform_role, role in (
        ("consultant", "consultant", "consultant"),
        ("manager", None, "client_admin"),
        ("first", None, "participant"),
        ("second", None, "participant"),
    ):
        emails[key] = f"{key}-{tag}@{stem}.dk"
        await admin.enrol(tenant_id, emails[key], key, platform_role, role)
    facilitator, manager, first, second = [await story.sign_in(emails[k]) for k in emails]
    for person in (facilitator, manager, first, second):
        person.base = f"/api/v1/tenants/{tenant_id}"
    return Team(tenant_id, emails, facilitator, manager, first, second)


@contextlib.asynccontextmanager
async def serving(
    settings: Settings, *, admin: str | None = ADMIN, quick_hashes: bool = False
) -> AsyncIterator[Story]:
    """The container built on `settings`, `admin` registered as a consultancy admin (if it is
    not already), and the app started on it; the app closes the container when it shuts down."""
    container = await asyncio.to_thread(build_container, settings)
    if quick_hashes:
        # Cheap hashes keep signing in quick where passwords are not the point.
        container.control.passwords = Passwords(PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    if admin is not None:
        with contextlib.suppress(AlreadyExists):
            await asyncio.to_thread(
                container.control.register_user,
                admin,
                "Birgitte",
                PASSWORD,
                Role.CONSULTANCY_ADMIN,
                system_provenance("Bootstrap"),
            )
    async with AsyncTestClient(create_app(container=container)) as client:
        yield Story(client, container)
