"""Signing in, joining a table by code, choosing a language, and what a page does for someone
not signed in: on the embedded default, through the pages as a browser uses them."""

from __future__ import annotations

import re

from services.auth.jwt import AUTH_COOKIE
from services.web.i18n import LANGUAGE_COOKIE
from tests.http_harness import ADMIN, Story
from tests.web.conftest import send_form, sign_in_by_form


async def test_the_front_door_leads_to_the_sign_in_page_in_danish(site: Story) -> None:
    front = await site.client.get("/", follow_redirects=False)
    assert front.status_code in (302, 303)
    assert front.headers["location"] == "/login"
    page = await site.client.get("/login")
    assert page.status_code == 200
    assert '<html lang="da">' in page.text
    assert "Log ind" in page.text
    assert 'name="_csrf"' in page.text


async def test_english_is_one_choice_away_and_is_remembered(site: Story) -> None:
    await site.client.get("/login")
    chosen = await send_form(site.client, "/language", {"language": "en", "next": "/login"})
    assert chosen.status_code == 303
    assert chosen.headers["location"] == "/login"
    assert site.client.cookies.get(LANGUAGE_COOKIE) == "en"
    page = await site.client.get("/login")
    assert '<html lang="en">' in page.text
    assert "Sign in" in page.text


async def test_signing_in_sets_the_session_and_goes_home(site: Story) -> None:
    answer = await sign_in_by_form(site.client, ADMIN)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portfolio"
    assert site.client.cookies.get(AUTH_COOKIE)
    organisations = await site.client.get("/organisations")
    assert organisations.status_code == 200


async def test_a_wrong_password_is_said_on_the_form(site: Story) -> None:
    answer = await sign_in_by_form(site.client, ADMIN, "not the password", language="da")
    assert answer.status_code == 401
    assert "Forkert e-mail eller adgangskode." in answer.text
    assert not site.client.cookies.get(AUTH_COOKIE)


async def test_a_malformed_email_is_named_next_to_its_field(site: Story) -> None:
    answer = await sign_in_by_form(site.client, "x", "y")
    assert answer.status_code == 400
    assert re.search(r'id="f-email-error"[^>]*>[^<]+<', answer.text)
    assert 'aria-invalid="true"' in answer.text


async def test_a_form_without_its_csrf_token_is_refused(site: Story) -> None:
    await site.client.get("/login")
    answer = await send_form(site.client, "/login", {"email": ADMIN, "password": "x"}, csrf=False)
    assert answer.status_code == 403
    assert "text/html" in answer.headers["content-type"]


async def test_only_local_addresses_are_followed_after_signing_in(site: Story) -> None:
    await site.client.get("/login")
    answer = await send_form(
        site.client,
        "/login",
        {"email": ADMIN, "password": "en lang nok adgangskode", "next": "https://elsewhere.example/"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portfolio"


async def test_a_page_sends_someone_not_signed_in_to_sign_in_and_back(site: Story) -> None:
    answer = await site.client.get("/organisations", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=%2Forganisations"
    # The API keeps answering with problem details.
    api = await site.client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.headers["content-type"].startswith("application/problem+json")


async def test_a_wrong_join_code_is_said_next_to_the_code(site: Story) -> None:
    await site.client.get("/join")
    answer = await send_form(site.client, "/join", {"code": "WXYZ-2345"})
    assert answer.status_code == 400
    assert 'id="f-code-error"' in answer.text


async def test_the_assets_come_from_the_app_itself(site: Story) -> None:
    for address in ("/login", "/schema"):
        page = await site.client.get(address)
        sources = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
        assert sources, address
        assert all(not s.startswith(("http://", "https://", "//")) for s in sources), (address, sources)
    for asset in (
        "/static/vendor/htmx.min.js",
        "/static/vendor/rapidoc-min.js",
        "/static/js/balkort.js",
        "/static/css/balkort.css",
    ):
        answer = await site.client.get(asset)
        assert answer.status_code == 200, asset
        assert answer.content
