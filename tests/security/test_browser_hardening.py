"""What every response tells the browser: a content security policy that allows no inline script
or style, no framing by another site, no MIME sniffing, no referrer to other sites, and HSTS
with Secure cookies when the app is served over HTTPS; and pages that need nothing the policy
forbids, checked in the HTML of every page and in a real browser that reports violations.

The walk goes over the app's whole route table, with the ids of a tenant run up to a dialogue
with an agreement and a proposal (the isolation matrix's set-up), as the consultancy admin, as
a unit table joined with a code, and signed out."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from litestar import Litestar

from services.settings import Settings
from tests.http_harness import ADMIN, PASSWORD, serving
from tests.integration.test_isolation_matrix import Caller, fill, http_routes, open_matrix

STREAM_CUT_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 60.0
# What every response carries, whoever asks and whatever the answer.
ALWAYS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
}


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def is_html(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/html")


async def fetch(app: Litestar, url: str, token: str | None = None) -> Answer:
    """A GET straight into the ASGI app; a stream (server-sent events) is cut after a second."""
    path, _, query = url.partition("?")
    headers = [(b"host", b"testserver"), (b"cookie", b"balkort_lang=da")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    done = asyncio.Event()
    delivered = False
    answer = Answer(0, {}, b"")
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": b"", "more_body": False}
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), STREAM_CUT_SECONDS)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.status = int(message["status"])
            for name, value in message.get("headers", ()):
                answer.headers[bytes(name).decode("latin-1").lower()] = bytes(value).decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                done.set()

    await asyncio.wait_for(app(scope, receive, send), REQUEST_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    answer.body = b"".join(chunks)
    return answer


class InlineFinder(HTMLParser):
    """Collects what a policy without 'unsafe-inline' would block: script and style elements
    with content, style attributes, event handler attributes and javascript: addresses."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._inside: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and "src" not in named:
            self.found.append("<script> without src")
        for name, value in attrs:
            if name == "style":
                self.found.append(f'<{tag} style="{value}">')
            if name.startswith("on"):
                self.found.append(f'<{tag} {name}="{value}">')
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f'<{tag} {name}="{value}">')


def inline_code(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def directives(policy: str) -> dict[str, set[str]]:
    """A content security policy by directive: `script-src 'self'` -> {"script-src": {"'self'"}}."""
    parsed: dict[str, set[str]] = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        if name:
            parsed[name.lower()] = set(sources)
    return parsed


def missing_headers(answer: Answer, *, reference: bool = False) -> list[str]:
    """What is wrong with a response's headers: each of ALWAYS, and a policy that allows
    scripts and (outside the API reference) styles from the app only, no plugins, no <base>,
    and no framing at all."""
    wrong = [
        f"{name}: {answer.headers.get(name)!r}"
        for name, value in ALWAYS.items()
        if answer.headers.get(name) != value
    ]
    policy = directives(answer.headers.get("content-security-policy", ""))
    expected = {
        "default-src": {"'self'"},
        "script-src": {"'self'"},
        "style-src": {"'self'", "'unsafe-inline'"} if reference else {"'self'"},
        "object-src": {"'none'"},
        "base-uri": {"'none'"},
        "frame-ancestors": {"'none'"},
        "form-action": {"'self'"},
    }
    wrong += [
        f"content-security-policy {name}: {sorted(policy.get(name, ()))}"
        for name, sources in expected.items()
        if policy.get(name) != sources
    ]
    return wrong


async def test_every_response_carries_the_policy_and_no_page_carries_inline_script_or_style(
    tmp_path: Path,
) -> None:
    async with open_matrix(Settings(data_dir=tmp_path / "data")) as m:
        admin = m.app.state.jwt_auth.create_token(identifier=str(m.users[Caller.CONSULTANCY_ADMIN]))
        urls = [fill(route, m.own) for method, route in http_routes(m.app) if method == "GET"]
        # A page that is not there: the error page has to keep to the policy too.
        urls.append(f"/t/{m.own.tenant_id}/e/{uuid4()}/board")
        problems: list[str] = []
        pages = 0
        for url in urls:
            unit_page = "/u/" in url
            for token in (m.unit_table_token if unit_page else admin, None):
                answer = await fetch(m.app, url, token)
                reference = url == "/schema" or url.startswith("/schema/")
                problems += [
                    f"GET {url} ({answer.status}): {w}" for w in missing_headers(answer, reference=reference)
                ]
                if answer.is_html and not reference:
                    pages += 1
                    problems += [
                        f"GET {url} ({answer.status}): {w}" for w in inline_code(answer.body.decode())
                    ]
        assert pages > 30, "the walk reached too few pages"
        assert not problems, "\n".join(problems)


async def test_served_over_https_responses_carry_hsts_and_cookies_are_secure(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", public_url="https://balkort.example")
    assert settings.cookie_secure
    async with serving(settings, quick_hashes=True) as site:
        page = await site.client.get("/login")
        assert page.headers["strict-transport-security"].startswith("max-age=")
        signed_in = await site.client.post("/api/v1/auth/login", json={"email": ADMIN, "password": PASSWORD})
        assert signed_in.status_code == 200
        cookies = page.headers.get_list("set-cookie") + signed_in.headers.get_list("set-cookie")
        assert len(cookies) >= 2
        for cookie in cookies:
            assert "; secure" in cookie.lower(), cookie
    async with serving(Settings(data_dir=tmp_path / "plain"), quick_hashes=True) as site:
        page = await site.client.get("/login")
        assert "strict-transport-security" not in page.headers


# -- In a real browser (last in this module: Playwright's sync API is stopped before other
# modules' asynchronous tests run) ----------------------------------------------------------------

LISTEN_FOR_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`);
});
"""


# What an injected script would do, were it allowed to run: the policy must stop it.
INJECT_A_SCRIPT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.__ran = true;";
  document.head.appendChild(script);
  return window.__ran === true;
}"""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """`balkort serve` on the seeded demo, as the browser tests run it."""
    from tests.browser.conftest import served_demo

    with served_demo(tmp_path_factory.mktemp("hardening-app")) as app:
        yield app


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    assert os.access(CHROMIUM, os.X_OK), f"Chromium is missing at {CHROMIUM}: run `make services`"
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.mark.browser
def test_the_main_pages_run_in_a_browser_without_a_single_policy_violation(
    served: Any, chromium: Any
) -> None:
    from tests.browser.conftest import ACTION_TIMEOUT_MS, CLIENT_ADMIN, CONSULTANT, sign_in

    tenant, engagement = served.tenant_id, served.engagements[max(served.engagements)]
    unit = next(iter(served.units.values()))
    base = f"/t/{tenant}/e/{engagement}"
    visits = {
        CONSULTANT: [
            "/portfolio",
            f"/t/{tenant}",
            f"{base}/console",
            f"{base}/board",
            f"{base}/schedule",
            f"{base}/join-codes/print",
            f"{base}/u/{unit}/now",
            f"{base}/u/{unit}/relations",
            f"{base}/u/{unit}/rate",
            f"{base}/u/{unit}/cards",
            f"{base}/dashboard",
            f"{base}/matrix",
            f"/t/{tenant}/history",
            f"/t/{tenant}/e/{uuid4()}/board",  # an error page
            "/schema",
        ],
        CLIENT_ADMIN: [f"{base}/follow-up", f"{base}/agreements", f"{base}/report", f"/t/{tenant}/audit"],
    }
    seen: list[str] = []
    violations: list[str] = []
    console: list[str] = []
    for email, paths in visits.items():
        context = chromium.new_context(base_url=served.base_url)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.add_init_script(LISTEN_FOR_VIOLATIONS)
        context.add_cookies([{"name": "balkort_lang", "value": "en", "url": served.base_url}])
        page = context.new_page()
        page.on("console", lambda message: console.append(message.text))
        sign_in(page, email)
        for path in [*paths, "/login"] if email == CONSULTANT else paths:
            page.goto(path)
            page.wait_for_load_state("load")
            if path == "/schema":
                # RapiDoc draws the reference once it has the OpenAPI document.
                page.wait_for_selector("rapi-doc", state="attached")
                page.wait_for_load_state("networkidle")
            seen.append(path)
            violations += [f"{path}: {v}" for v in page.evaluate("window.__violations")]
        context.close()
    # The live board keeps listening under the policy: its event stream opens.
    context = chromium.new_context(base_url=served.base_url)
    context.add_init_script(LISTEN_FOR_VIOLATIONS)
    context.add_cookies([{"name": "balkort_lang", "value": "en", "url": served.base_url}])
    page = context.new_page()
    sign_in(page, CONSULTANT)
    page.goto(f"{base}/board")
    page.wait_for_function(
        "document.querySelector('[data-live-status]').textContent"
        " === document.querySelector('[data-live-source]').getAttribute('data-live-on')"
    )
    violations += [f"board (live): {v}" for v in page.evaluate("window.__violations")]
    # The policy is in force, and the listener hears it: a script slipped into the page does not run.
    assert page.evaluate(INJECT_A_SCRIPT) is False, "an injected inline script ran"
    page.wait_for_function("window.__violations.length > 0")
    assert page.evaluate("window.__violations.length") == 1
    context.close()
    blocked = [line for line in console if re.search(r"Content Security Policy|Refused to", line)]
    assert len(seen) > 10
    assert not violations, "\n".join(violations)
    assert not blocked, "\n".join(blocked)
