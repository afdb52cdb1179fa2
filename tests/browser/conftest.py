"""Real-browser tests: the app as `balkort serve` runs it, on the demo data, driven by Chromium.

The server is a subprocess on a free port with a data directory of its own (the embedded
default: SQLite files, memory channels), seeded with `balkort demo seed`; it is started once
for the tests in this folder and stopped after them. Chromium is Debian's package
(/usr/bin/chromium, installed by `make services`), driven by Playwright's sync API; Playwright's
own browser download is not used. Tests fail, never skip, when the browser is missing.

Every page a test looks at can be checked with `Browsing.check`: a full-page screenshot under
test-artifacts/screenshots/ and axe-core's accessibility rules, failing on serious or critical
violations, on uncaught script errors and on server errors behind the page.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from axe_playwright_python.sync_playwright import Axe  # type: ignore[import-untyped]
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    Response,
    expect,
    sync_playwright,
)

from services.demo import DEMO_PASSWORD, DEMO_TENANT_SLUG

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
START_SECONDS = 60
# Waits in the browser: long enough for a loaded CI machine, short enough to fail in time.
ACTION_TIMEOUT_MS = 15_000
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
# What a page loads besides itself: a failure to load one is a broken page.
_ASSETS = frozenset({"stylesheet", "script", "image", "font", "media"})
LOG_TAIL_LINES = 150

CONSULTANT = "konsulent@balkort.example"
ADMIN = "admin@balkort.example"
CLIENT_ADMIN = "leder@soeby.example"
AUDITOR = "revisor@soeby.example"

# Settings the test server must not inherit: it always runs on the embedded default.
_INHERITED_SETTINGS = re.compile(r"^(BALKORT_.*|DATABASE_URL|REDIS_URL)$")


@dataclass(frozen=True)
class LiveApp:
    """The served app and what the demo seeded in it."""

    base_url: str
    log_path: Path
    tenant_id: UUID
    engagements: dict[int, UUID]  # the demo's engagements by year
    units: dict[str, UUID]  # the demo organisation's active units by name

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def api(self, path: str, email: str = CONSULTANT) -> Any:
        """GET an API path as a demo user (bearer token): ids the pages are reached by."""
        login = _get_json(self.url("/api/v1/auth/login"), body={"email": email, "password": DEMO_PASSWORD})
        return _get_json(self.url(path), login["token"])

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no server log: {error})"
        return "\n".join(text.splitlines()[-lines:])


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _balkort() -> str:
    command = Path(sys.executable).with_name("balkort")
    if not command.exists():
        pytest.fail(f"the balkort command is not installed next to {sys.executable}: run `make install`")
    return str(command)


def _server_environment(data_dir: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not _INHERITED_SETTINGS.match(key)}
    env["BALKORT_DATA_DIR"] = str(data_dir)
    env["NO_COLOR"] = "1"
    return env


def _get_json(url: str, token: str | None = None, body: dict[str, str] | None = None) -> Any:
    headers = {"Accept": "application/json"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310 - our own server
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(
                f"balkort serve exited with {process.returncode} before answering; its log:\n"
                f"{log_path.read_text(errors='replace')}",
                pytrace=False,
            )
        try:
            if _get_json(f"{base_url}/healthz").get("status") == "ok":
                return
        except (OSError, urllib.error.URLError, ValueError):
            pass
        time.sleep(0.2)
    pytest.fail(
        f"balkort serve did not answer /healthz within {START_SECONDS} s; its log:\n"
        f"{log_path.read_text(errors='replace')}",
        pytrace=False,
    )


def _when_ready(read: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + START_SECONDS
    while True:
        try:
            answer = read()
        except urllib.error.HTTPError as error:
            # 503: the tenant's read models are still being built from its events (Retry-After).
            if error.code not in (404, 503) or time.monotonic() > deadline:
                raise
        else:
            if answer:
                return answer
            if time.monotonic() > deadline:
                return answer
        time.sleep(0.25)


def _demo_ids(base_url: str) -> tuple[UUID, dict[int, UUID], dict[str, UUID]]:
    """The demo tenant's engagements and units, read through the API as the consultant."""
    login = _get_json(f"{base_url}/api/v1/auth/login", body={"email": CONSULTANT, "password": DEMO_PASSWORD})
    token = login["token"]
    tenants = {t["slug"]: t for t in _get_json(f"{base_url}/api/v1/tenants", token)}
    tenant_id = UUID(tenants[DEMO_TENANT_SLUG]["id"])
    # The read models catch up with the seeded events in the background after the server starts.
    listed = _when_ready(lambda: _get_json(f"{base_url}/api/v1/tenants/{tenant_id}/engagements/", token))
    engagements = {int(e["title"].rsplit(" ", 1)[-1]): UUID(e["engagement_id"]) for e in listed}
    organisation = _get_json(f"{base_url}/api/v1/tenants/{tenant_id}/organisation/", token)
    units = {u["name"]: UUID(u["unit_id"]) for u in organisation["units"] if u["status"] == "active"}
    return tenant_id, engagements, units


def balkort_command(home: Path, *args: str, settings: dict[str, str] | None = None) -> str:
    """Run `balkort <args>` on the data directory under `home` (as an operator would), failing
    the test with its output when it fails; its standard output."""
    env = _server_environment(home / "var") | (settings or {})
    done = subprocess.run(
        [_balkort(), *args], env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode != 0:
        pytest.fail(f"balkort {' '.join(args[:2])} failed:\n{done.stdout}\n{done.stderr}", pytrace=False)
    return done.stdout


@contextlib.contextmanager
def serving(
    home: Path, settings: dict[str, str] | None = None, *, public: bool = False
) -> Iterator[tuple[str, Path]]:
    """`balkort serve` on a free port over the data directory under `home`, with `settings`
    (BALKORT_*) besides the data directory, and its own address as the public URL when `public`
    (the links in its messages then lead back to it); its base URL and log, stopped on leaving."""
    log_path = home / "serve.log"
    env = _server_environment(home / "var") | (settings or {})
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    if public:
        env["BALKORT_PUBLIC_URL"] = base_url
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [_balkort(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_healthy(process, base_url, log_path)
        yield base_url, log_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


@contextlib.contextmanager
def served_demo(home: Path) -> Iterator[LiveApp]:
    """`balkort serve` on a freshly seeded demo under `home`, stopped on leaving."""
    balkort_command(home, "demo", "seed")
    with serving(home) as (base_url, log_path):
        tenant_id, engagements, units = _demo_ids(base_url)
        yield LiveApp(base_url, log_path, tenant_id, engagements, units)


@pytest.fixture(scope="package")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """`balkort serve` on the seeded demo, for every test in this folder."""
    with served_demo(tmp_path_factory.mktemp("browser-app")) as app:
        yield app


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    # Package scope: Playwright's sync API owns an event loop while it runs, so it is stopped
    # before the asynchronous tests of other folders start theirs.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium is missing at {CHROMIUM}: run `make services` (it installs Debian's chromium "
            "package); browser tests fail rather than skip.",
            pytrace=False,
        )
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    try:
        yield launched
    finally:
        launched.close()


@dataclass
class Browsing:
    """Browser contexts for one test (closed after it) and the checks every page gets."""

    app: LiveApp
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)
    # Problems seen since the last check: uncaught script errors, server errors, console errors.
    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    def context(self, *, language: str | None = "en", phone: bool = False) -> BrowserContext:
        """A fresh browser (no cookies): English through the language cookie unless
        `language=None` (then the app's default, Danish); a phone's screen and touch when `phone`."""
        options: dict[str, Any] = {
            "base_url": self.app.base_url,
            "locale": "da-DK" if language in (None, "da") else "en-GB",
            "timezone_id": "Europe/Copenhagen",
        }
        if phone:
            options.update(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
        else:
            options.update(viewport=DESKTOP)
        context = self.browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        if language is not None:
            context.add_cookies([{"name": "balkort_lang", "value": language, "url": self.app.base_url}])
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def page(self, *, language: str | None = "en", phone: bool = False) -> Page:
        return self.context(language=language, phone=phone).new_page()

    def signed_in(self, email: str, *, phone: bool = False, password: str = DEMO_PASSWORD) -> Page:
        """A page of a new browser, signed in through the sign-in form."""
        page = self.page(phone=phone)
        sign_in(page, email, password)
        expect(page).not_to_have_url(re.compile(r"/login"))
        return page

    def joined(self, code: str, *, phone: bool = False) -> Page:
        """A page of a new browser that joined a unit table with its code on /join."""
        page = self.page(phone=phone)
        page.goto("/join")
        page.get_by_label("Join code").fill(code)
        page.get_by_role("button", name="Join", exact=True).click()
        expect(page).not_to_have_url(re.compile(r"/join"))
        return page

    def check(self, page: Page, name: str, *, axe: bool = True) -> None:
        """Screenshot the page as `name` and hold it to the accessibility rules."""
        page.wait_for_load_state("load")
        screenshot(page, name)
        self.checked.append(name)
        problems, self.problems[:] = list(self.problems), []
        assert not problems, f"{name} ({page.url}):\n" + "\n".join(problems)
        if axe:
            assert_accessible(page, name)

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()

    def _watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"script error on {page.url}: {error}"))
        page.on("response", self._answered)
        page.on(
            "console",
            lambda message: self.console.append(f"{message.type}: {message.text} ({page.url})"),
        )

    def _answered(self, response: Response) -> None:
        if response.status >= 500:
            self.problems.append(f"server error {response.status} for {response.url}")
        elif response.status >= 400 and response.request.resource_type in _ASSETS:
            self.problems.append(
                f"missing {response.request.resource_type}: {response.status} for {response.url}"
            )


@pytest.fixture
def browsing(live_app: LiveApp, browser: Browser) -> Iterator[Browsing]:
    session = Browsing(live_app, browser)
    try:
        yield session
    finally:
        session.close()


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Fill in and send the sign-in form (English labels)."""
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_load_state("load")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    return path


_AXE = Axe()


def assert_accessible(page: Page, name: str = "") -> None:
    """axe-core on the page as it stands: no serious or critical violation."""
    results = _AXE.run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING_IMPACTS]
    if blocking:
        pytest.fail(
            f"axe-core: {len(blocking)} serious or critical accessibility violation(s) on "
            f"{name or page.url} ({page.url}):\n" + "\n".join(_describe(v) for v in blocking),
            pytrace=False,
        )


def _describe(violation: dict[str, Any]) -> str:
    lines = [f"- {violation['id']} ({violation['impact']}): {violation['help']}  <{violation['helpUrl']}>"]
    for node in violation["nodes"][:8]:
        target = " ".join(str(t) for t in node.get("target", []))
        summary = (node.get("failureSummary") or "").replace("\n", " ")
        lines.append(f"    at {target}: {node.get('html', '')[:200]}")
        if summary:
            lines.append(f"       {summary[:400]}")
    if len(violation["nodes"]) > 8:
        lines.append(f"    ... and {len(violation['nodes']) - 8} more")
    return "\n".join(lines)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed browser test shows the server's log and the browser console beside its traceback."""
    report = yield
    if report.when != "call" or not report.failed:
        return report
    funcargs = getattr(item, "funcargs", {})
    app = funcargs.get("live_app")
    if isinstance(app, LiveApp):
        report.sections.append(("balkort serve log (last lines)", app.log_tail()))
    session = funcargs.get("browsing")
    if isinstance(session, Browsing) and session.console:
        report.sections.append(("browser console", "\n".join(session.console[-60:])))
    return report
