"""The page tests' fixtures: the app on the embedded default behind an in-process client, and a
browser-like session that signs in through the sign-in form and sends forms with their CSRF
token, as a browser would; browsers of their own on one client, and an engagement of a new
client organisation prepared through the API."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
import pytest
from litestar.testing import AsyncTestClient

from services.auth.jwt import CSRF_COOKIE
from services.settings import Settings
from services.web.i18n import LANGUAGE_COOKIE
from tests.http_harness import ADMIN, PASSWORD, Person, Story, serving

E = TypeVar("E", bound="Engagement")


@pytest.fixture
async def site(tmp_path: Any) -> AsyncIterator[Story]:
    """The app on SQLite files under tmp_path, with the consultancy admin of the harness."""
    async with serving(Settings(data_dir=tmp_path / "data"), quick_hashes=True) as started:
        yield started


async def sign_in_by_form(
    client: AsyncTestClient[Any], email: str, password: str = PASSWORD, *, language: str = "en"
) -> httpx.Response:
    """Signs in through the sign-in page (cookies kept on the client); the answer to the POST."""
    client.cookies.clear()
    client.cookies.set(LANGUAGE_COOKIE, language)
    await client.get("/login")
    return await client.post(
        "/login",
        data={"_csrf": client.cookies.get(CSRF_COOKIE, ""), "email": email, "password": password},
        follow_redirects=False,
    )


async def send_form(
    client: AsyncTestClient[Any], path: str, data: dict[str, Any], *, csrf: bool = True
) -> httpx.Response:
    """Posts a form as the page would: with the CSRF token from the cookie, unless `csrf=False`."""
    fields = {**data}
    if csrf:
        fields["_csrf"] = client.cookies.get(CSRF_COOKIE, "")
    return await client.post(path, data=fields, follow_redirects=False)


@dataclass
class Browser:
    """Someone at a browser: cookies of their own on the shared test client, forms sent the
    way a page sends them (urlencoded, with the CSRF token and a form key)."""

    client: AsyncTestClient[Any]
    cookies: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, url: str, data: Any = None) -> httpx.Response:
        self.client.cookies.clear()
        for name, value in self.cookies.items():
            self.client.cookies.set(name, value)
        response = await self.client.request(method, url, data=data, follow_redirects=False)
        self.cookies = {cookie.name: cookie.value for cookie in self.client.cookies.jar if cookie.value}
        self.client.cookies.clear()
        return response

    async def get(self, url: str, *, expect: int = 200) -> str:
        response = await self.request("GET", url)
        assert response.status_code == expect, f"GET {url}: {response.status_code} {response.text[:3000]}"
        return response.text

    async def post(
        self, url: str, fields: dict[str, Any], *, key: str | None = None, csrf: bool = True
    ) -> httpx.Response:
        form = dict(fields)
        if csrf:
            form["_csrf"] = self.cookies.get(CSRF_COOKIE, "")
        form["_key"] = key or uuid.uuid4().hex
        return await self.request("POST", url, data=form)

    def speak(self, language: str) -> None:
        self.cookies[LANGUAGE_COOKIE] = language


async def signed_in_browser(
    client: AsyncTestClient[Any], email: str, password: str = PASSWORD, *, language: str | None = None
) -> Browser:
    """A browser of its own, signed in through the sign-in page (in `language`, if given)."""
    browser = Browser(client)
    if language is not None:
        browser.speak(language)
    await browser.get("/login")
    answer = await browser.post("/login", {"email": email, "password": password})
    assert answer.status_code == 303, answer.text
    return browser


@dataclass
class Engagement:
    """An engagement of a client organisation of its own, its theme day a month ahead."""

    story: Story
    admin: Person  # the API at the tenant, as the consultancy admin
    tenant_id: str
    engagement_id: str
    units: dict[str, str]  # name -> id

    @property
    def api(self) -> str:
        return f"/engagements/{self.engagement_id}"

    async def advance(self, *phases: str) -> None:
        for phase in phases:
            await self.admin.post(f"{self.api}/phase/advance", {"expected_phase": phase}, expect=200)


async def prepared(
    kind: type[E], story: Story, name: str, title: str, units: Sequence[str], **settings: Any
) -> E:
    """Through the API, as the consultancy admin: a tenant and organisation called `name` (under a
    slug of its own), its `units`, and an engagement of them all called `title`, prepared with
    any further `settings` of the engagement."""
    admin = await story.sign_in(ADMIN)
    tenant = await admin.post("/api/v1/tenants", {"name": name, "slug": f"region-{uuid.uuid4().hex[:12]}"})
    admin.base = f"/api/v1/tenants/{tenant['id']}"
    await admin.put("/organisation", {"name": name})
    unit_ids = {unit: (await admin.post("/organisation/units", {"name": unit}))["unit_id"] for unit in units}
    theme_day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    created = await admin.post(
        "/engagements",
        {"title": title, "theme_day": theme_day, "unit_ids": list(unit_ids.values()), **settings},
    )
    return kind(story, admin, tenant["id"], created["engagement_id"], unit_ids)
