"""The page tests' fixtures: the app on the embedded default behind an in-process client, and a
browser-like session that signs in through the sign-in form and sends forms with their CSRF
token, as a browser would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from services.auth.jwt import CSRF_COOKIE
from services.settings import Settings
from services.web.i18n import LANGUAGE_COOKIE
from tests.http_harness import PASSWORD, Story, serving


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
