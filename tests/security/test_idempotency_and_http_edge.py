"""A dropped connection never spoils an Idempotency-Key, a crash never leaves one stuck, and
the HTTP edge refuses malformed requests with problem details.

- A body cut short by a dropped connection runs nothing and claims nothing: the retry with the
  whole body is recorded exactly once and answered for real (in-process on both backends, and
  through a real `balkort serve` with a socket reset mid-body).
- A claim left in flight by a process that crashed after its command was recorded lapses; the
  retry is recognised by its command id and answered as the first request would have been.
- JSON bodies nested a thousand deep are a 400 problem, not a 500 with a traceback.
- Bodies that are not JSON (`text/plain`, forms) are refused with 415 by the JSON API, so a
  cross-site form can neither sign a visitor in nor join a theme day as someone else.
- Header blocks beyond a bound are refused: 431 by the app, and cut off by `balkort serve`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest

from domain.roles import Role
from services.auth.jwt import CSRF_COOKIE
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.http import idempotency
from services.settings import Settings
from services.stores import idempotency as idempotency_store
from services.usecases.tenants import onboard_tenant
from tests.commanding import rename_unit
from tests.http_harness import ADMIN, PASSWORD, Story, onboard, register, serving, token_for

START_SECONDS = 60.0
REPOSITORY = Path(__file__).resolve().parents[2]
SOCKET_TIMEOUT_SECONDS = 30.0


# -- a tenant with an organisation, and a consultant's token ----------------------------------


@dataclass
class Organisation:
    story: Story
    tenant_id: UUID
    user_id: UUID
    headers: dict[str, str]

    @property
    def units_path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/organisation/units"

    async def state(self) -> tuple[int, list[str]]:
        """The organisation's version and its units' names, read from its events."""
        container = self.story.container
        organisation = await container.offloop(
            container.tenants.call, self.tenant_id, lambda app: app.organisation(self.tenant_id)
        )
        return organisation.version, sorted(unit.name for unit in organisation.units.values())


async def organisation_of(story: Story) -> Organisation:
    container = story.container
    tenant_id = await onboard(container, "Region Syd", "edge")
    user_id = (await register(container, Role.CONSULTANT)).user_id
    await container.offloop(
        container.control.grant_membership, user_id, tenant_id, Role.CONSULTANT, system_provenance("Test")
    )
    headers = token_for(story.client, user_id)
    established = await story.client.put(
        f"/api/v1/tenants/{tenant_id}/organisation", json={"name": "Region Syd"}, headers=headers
    )
    assert established.status_code == 200, established.text
    return Organisation(story, tenant_id, user_id, headers)


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend, admin=None, quick_hashes=True) as started:
        yield started


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Story]:
    """The embedded default: for what does not depend on the stores."""
    async with serving(Settings(data_dir=tmp_path / "data"), quick_hashes=True) as started:
        yield started


def unit_body(name: str) -> bytes:
    return json.dumps({"name": name}).encode()


# -- a dropped connection ----------------------------------------------------------------------


async def send_cut_short(app: Any, path: str, headers: dict[str, str], body: bytes) -> list[dict[str, Any]]:
    """Drives the ASGI app as a server does when the client resets mid-body: half the body
    arrives, then the disconnect. Returns what the app sent back."""
    raw_headers = [(b"host", b"testserver"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    arriving = [{"type": "http.request", "body": body[: len(body) // 2], "more_body": True}]

    async def receive() -> dict[str, Any]:
        return arriving.pop(0) if arriving else {"type": "http.disconnect"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_a_body_cut_short_by_a_dropped_connection_runs_nothing_and_its_retry_is_recorded_once(
    story: Story,
) -> None:
    org = await organisation_of(story)
    before = await org.state()
    key = uuid4().hex
    body = unit_body("Akutmodtagelsen")
    headers = {**org.headers, "Idempotency-Key": key, "Content-Type": "application/json"}

    # On the app's own event loop (the test client's portal), where its Redis client lives.
    answered = await asyncio.to_thread(
        story.client.blocking_portal.call, send_cut_short, story.client.app, org.units_path, headers, body
    )

    assert [m for m in answered if m["type"] == "http.response.start"] == []
    assert await org.state() == before

    retried = await story.client.post(org.units_path, content=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
    again = await story.client.post(org.units_path, content=body, headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == retried.json()
    version, names = await org.state()
    assert (version, names) == (before[0] + 1, ["Akutmodtagelsen"])


# -- a crash after the command was recorded ------------------------------------------------------


async def leave_in_flight(keys: idempotency_store.IdempotencyKeys, stored: str) -> None:
    """Turns a kept answer back into the claim it was while the request ran."""
    kept = await keys.get(stored)
    assert kept is not None
    assert kept.done
    await keys.release(stored, kept.claim)
    in_flight = idempotency_store.Record(claim=uuid4().hex, fingerprint=kept.fingerprint)
    assert await keys.claim(stored, in_flight, idempotency.CLAIM_LEASE_SECONDS) is None


async def test_a_retry_after_a_crash_left_the_claim_in_flight_answers_the_first_answer_and_records_once(
    story: Story,
) -> None:
    org = await organisation_of(story)
    key = uuid4().hex
    body = unit_body("Hjemmeplejen")
    headers = {**org.headers, "Idempotency-Key": key, "Content-Type": "application/json"}
    first = await story.client.post(org.units_path, content=body, headers=headers)
    assert first.status_code == 201, first.text
    recorded = await org.state()
    # What a process that crashed between recording the command and keeping its answer leaves
    # behind: the key claimed, in flight, with the lease a running request takes.
    stored = idempotency.stored_key(f"user:{org.user_id}", "POST", org.units_path, key)
    # On the app's own event loop (the test client's portal), where its Redis client lives.
    await asyncio.to_thread(
        story.client.blocking_portal.call, leave_in_flight, story.container.idempotency, stored
    )

    retried = await story.client.post(org.units_path, content=body, headers=headers)

    assert retried.status_code == 201, retried.text
    assert retried.json() == first.json()
    assert await org.state() == recorded
    replayed = await story.client.post(org.units_path, content=body, headers=headers)
    assert replayed.headers["idempotent-replayed"] == "true"
    assert replayed.json() == first.json()


async def test_a_command_given_again_under_its_command_id_records_nothing_and_answers_its_version(
    story: Story,
) -> None:
    org = await organisation_of(story)
    added = await story.client.post(org.units_path, json={"name": "Visitationen"}, headers=org.headers)
    assert added.status_code == 201, added.text
    unit_id = UUID(added.json()["unit_id"])
    container = story.container
    provenance = system_provenance("RenameUnit")
    tenant_id = org.tenant_id

    def rename() -> int:
        return int(
            container.tenants.call(
                tenant_id,
                lambda app: rename_unit(app, tenant_id, unit_id, "Visitation og bevilling", provenance),
            )
        )

    first = await container.offloop(rename)
    again = await container.offloop(rename)

    assert again == first
    assert (await org.state())[0] == first


# -- through a real server: a socket reset mid-body ------------------------------------------


@dataclass
class Served:
    host: str
    port: int
    data_dir: Path
    tenant_id: UUID
    token: str

    @property
    def units_path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/organisation/units"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _http(
    served: Served, method: str, path: str, body: bytes | None = None, **headers: str
) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://{served.host}:{served.port}{path}", data=body, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT_SECONDS) as response:  # noqa: S310
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def _prepare(data_dir: Path) -> tuple[UUID, str]:
    """A tenant and a consultant with a password, straight on the stores the server will open."""
    email = f"{uuid4().hex[:12]}@example.dk"

    async def seed() -> UUID:
        container: Container = build_container(Settings(data_dir=data_dir))
        try:
            tenant_id: UUID = await container.offloop(
                onboard_tenant,
                container,
                "Region Nord",
                f"served-{uuid4().hex[:8]}",
                system_provenance("Test"),
            )
            user_id = await container.offloop(
                container.control.register_user,
                email,
                "Konsulent",
                PASSWORD,
                Role.CONSULTANT,
                system_provenance("Test"),
            )
            await container.offloop(
                container.control.grant_membership,
                user_id,
                tenant_id,
                Role.CONSULTANT,
                system_provenance("Test"),
            )
            return tenant_id
        finally:
            await container.close()

    return asyncio.run(seed()), email


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`balkort serve` on the embedded default, as a separate process."""
    home = tmp_path_factory.mktemp("served")
    data_dir = home / "var"
    tenant_id, email = _prepare(data_dir)
    balkort = Path(sys.executable).with_name("balkort")
    env = {k: v for k, v in os.environ.items() if not re.match(r"^(BALKORT_.*|DATABASE_URL|REDIS_URL)$", k)}
    env["BALKORT_DATA_DIR"] = str(data_dir)
    # The server runs the code of this checkout, whatever the installed command points at.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(REPOSITORY), env.get("PYTHONPATH"))))
    env["NO_COLOR"] = "1"
    port = _free_port()
    log_path = home / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(balkort), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        served = Served("127.0.0.1", port, data_dir, tenant_id, "")
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, log_path.read_text(errors="replace")
            with contextlib.suppress(OSError):
                if _http(served, "GET", "/healthz")[0] == 200:
                    break
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")
            time.sleep(0.2)
        credentials = json.dumps({"email": email, "password": PASSWORD}).encode()
        status, answer = _http(
            served, "POST", "/api/v1/auth/login", credentials, **{"Content-Type": "application/json"}
        )
        assert status == 200, answer
        served.token = json.loads(answer)["token"]
        status, answer = _http(
            served,
            "PUT",
            f"/api/v1/tenants/{tenant_id}/organisation",
            json.dumps({"name": "Region Nord"}).encode(),
            **{"Content-Type": "application/json", "Authorization": f"Bearer {served.token}"},
        )
        assert status == 200, answer
        yield served
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _request_head(served: Served, path: str, length: int, **headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {served.host}:{served.port}", f"Content-Length: {length}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _status_of(connection: socket.socket) -> int:
    answer = b""
    while b"\r\n" not in answer:
        chunk = connection.recv(4096)
        if not chunk:
            break
        answer += chunk
    return int(answer.split(b" ", 2)[1])


def _organisation_over_http(served: Served) -> dict[str, Any]:
    status, answer = _http(
        served,
        "GET",
        f"/api/v1/tenants/{served.tenant_id}/organisation/",
        Authorization=f"Bearer {served.token}",
    )
    assert status == 200, answer
    document: dict[str, Any] = json.loads(answer)
    return document


def test_balkort_serve_runs_nothing_for_a_body_cut_by_a_reset_and_records_its_retry_once(
    served: Served,
) -> None:
    key = uuid4().hex
    body = unit_body("Ortopædkirurgisk ambulatorium")
    headers = {
        "Authorization": f"Bearer {served.token}",
        "Content-Type": "application/json",
        "Idempotency-Key": key,
    }
    with socket.create_connection((served.host, served.port), timeout=SOCKET_TIMEOUT_SECONDS) as cut:
        cut.sendall(_request_head(served, served.units_path, len(body), **headers) + body[: len(body) // 2])
        # Closed with a reset (RST), as a phone losing its network does, not a polite FIN.
        cut.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    with socket.create_connection((served.host, served.port), timeout=SOCKET_TIMEOUT_SECONDS) as whole:
        whole.sendall(
            _request_head(served, served.units_path, len(body), Connection="close", **headers) + body
        )
        assert _status_of(whole) == 201

    status, _ = _http(served, "POST", served.units_path, body, **headers)
    assert status == 201
    # The read model catches up in the background; the unit must turn up once, and only once.
    deadline = time.monotonic() + START_SECONDS
    while True:
        names = [unit["name"] for unit in _organisation_over_http(served)["units"]]
        if "Ortopædkirurgisk ambulatorium" in names or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert names.count("Ortopædkirurgisk ambulatorium") == 1


# -- header blocks ---------------------------------------------------------------------------


def test_balkort_serve_does_not_accept_a_header_of_200_kib(served: Served) -> None:
    head = f"GET /healthz HTTP/1.1\r\nHost: {served.host}\r\nX-Padding: {'a' * 200 * 1024}\r\n\r\n"
    with socket.create_connection((served.host, served.port), timeout=SOCKET_TIMEOUT_SECONDS) as connection:
        try:
            connection.sendall(head.encode())
            status = _status_of(connection)
        except (ConnectionResetError, BrokenPipeError, IndexError):
            status = 0  # cut off before or without an answer
    assert status in (0, 400, 431)


def test_balkort_serve_answers_a_header_block_beyond_the_apps_bound_with_a_431_problem(
    served: Served,
) -> None:
    status, answer = _http(served, "GET", "/healthz", **{"X-Padding": "a" * 20 * 1024})
    assert status == 431
    assert json.loads(answer)["status"] == 431


async def test_a_header_block_beyond_the_bound_is_a_431_problem_on_any_server(site: Story) -> None:
    refused = await site.client.get("/healthz", headers={"X-Padding": "a" * 200 * 1024})
    assert refused.status_code == 431
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["status"] == 431
    assert (await site.client.get("/healthz", headers={"X-Padding": "a" * 4 * 1024})).status_code == 200


# -- deeply nested JSON ----------------------------------------------------------------------


async def test_json_nested_a_thousand_deep_is_a_400_problem_without_a_traceback(
    site: Story, caplog: pytest.LogCaptureFixture
) -> None:
    org = await organisation_of(site)
    nested = b'{"name": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    with caplog.at_level(logging.ERROR):
        for path, headers in (
            ("/api/v1/auth/login", {}),
            (org.units_path, org.headers),
            (org.units_path, {**org.headers, "Idempotency-Key": "nested"}),
        ):
            for body in (nested, b"[" * 1000 + b"]" * 1000, b'{"a":' * 1000 + b"1" + b"}" * 1000):
                keyed = {k: f"{v}-{len(body)}" if k == "Idempotency-Key" else v for k, v in headers.items()}
                answer = await site.client.post(
                    path, content=body, headers={**keyed, "Content-Type": "application/json"}
                )
                assert answer.status_code == 400, (path, answer.text)
                problem = answer.json()
                assert problem["status"] == 400
                assert problem["errors"][0]["field"] == "body"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert (await org.state())[1] == []


# -- bodies that are not JSON ------------------------------------------------------------------


async def test_the_json_api_refuses_bodies_a_cross_site_form_can_send_with_415(site: Story) -> None:
    org = await organisation_of(site)
    credentials = json.dumps({"email": ADMIN, "password": PASSWORD}).encode()
    for content_type in ("text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded"):
        for path, headers, body in (
            ("/api/v1/auth/login", {}, credentials),
            ("/api/v1/join", {}, json.dumps({"code": "ABCD-EFGH"}).encode()),
            (org.units_path, org.headers, unit_body("Akutmodtagelsen")),
        ):
            answer = await site.client.post(
                path, content=body, headers={**headers, "Content-Type": content_type}
            )
            assert answer.status_code == 415, (path, content_type, answer.text)
            assert answer.headers["content-type"].startswith("application/problem+json")
    without_type = await site.client.post(
        org.units_path, content=unit_body("Akutmodtagelsen"), headers=org.headers
    )
    assert without_type.status_code == 415
    assert (await org.state())[1] == []
    as_json = await site.client.post(org.units_path, json={"name": "Akutmodtagelsen"}, headers=org.headers)
    assert as_json.status_code == 201, as_json.text
    # The pages post their own forms to their own paths, with their own CSRF token.
    await site.client.get("/login")
    signed_in = await site.client.post(
        "/login",
        data={"_csrf": site.client.cookies.get(CSRF_COOKIE, ""), "email": ADMIN, "password": PASSWORD},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text
