"""Live updates over server-sent events, end to end: a real server (uvicorn) on a free port,
httpx streaming, commands over HTTP, the projector publishing on Litestar Channels.

Runs on every backend (memory channels embedded, Redis pub/sub with PostgreSQL). Two tests
need Redis whatever the backend: two app instances sharing one Redis, and a Redis of the
test's own that is stopped and started again under an open stream.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.phases import Phase
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from services.application import TenantApplication
from services.asgi import create_app
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.http import live_routes
from services.live import REDIS_PREFIX, LiveChannels, channel_for
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests.commanding import (
    add_unit,
    advance_phase,
    establish_organisation,
    map_relations,
    prepare_engagement,
)
from tests.http_harness import PASSWORD, bearer, provenance_now

DELIVERY_SECONDS = 1.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    base_url: str
    container: Container
    channels: LiveChannels


@asynccontextmanager
async def serve(settings: Settings, container: Container | None = None) -> AsyncIterator[Server]:
    """The whole app under uvicorn on a free port, lifespan included."""
    the_container = container or await asyncio.to_thread(build_container, settings)
    app = create_app(container=the_container)
    channels = next(p for p in app.plugins.init if isinstance(p, LiveChannels))
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, lifespan="on", log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert not task.done(), "the server did not start"
        assert time.monotonic() < deadline, "the server did not start in time"
        await asyncio.sleep(0.02)
    try:
        yield Server(f"http://127.0.0.1:{port}", the_container, channels)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@dataclass
class Board:
    """A tenant with an engagement in its mapping phase, and who may see it."""

    tenant_id: UUID
    engagement_id: UUID
    units: tuple[UUID, UUID]
    admin_email: str
    outsider_email: str


def set_up_board(container: Container) -> Board:
    """Blocking: users, two tenants, an organisation with two units and an engagement whose
    relation between them is mapped, ready for a rating."""
    system = system_provenance("Test")
    control = container.control
    admin_email = f"admin-{uuid4().hex[:10]}@example.dk"
    control.register_user(admin_email, "Admin", PASSWORD, Role.CONSULTANCY_ADMIN, system)
    tag = uuid4().hex[:12]
    tenant_id = onboard_tenant(container, "Region Live", f"live-{tag}", system)
    other_tenant = onboard_tenant(container, "Region Anden", f"other-{tag}", system)
    outsider_email = f"outsider-{uuid4().hex[:10]}@example.dk"
    outsider = control.register_user(outsider_email, "Outsider", PASSWORD, None, system)
    control.grant_membership(outsider, other_tenant, Role.CLIENT_ADMIN, system)
    actor = uuid4()

    def build(app: TenantApplication) -> tuple[UUID, UUID, UUID]:
        def p(command: str) -> Provenance:
            return provenance_now(tenant_id, actor, command)

        establish_organisation(app, tenant_id, "Region Live", p("EstablishOrganisation"))
        first = add_unit(app, tenant_id, "Visitationen", p("AddUnit"))
        second = add_unit(app, tenant_id, "Hjemmeplejen", p("AddUnit"))
        preparation = Preparation(
            title="Sammen om udskrivning",
            focus="Udskrivning",
            target_group="Ledere og medarbejdere",
            work_process="Fra sygehus til hjem",
            planning_group=("Sundhedschef",),
            theme_day=datetime.now(UTC).date() + timedelta(days=30),
            follow_up_meeting=None,
        )
        eid = prepare_engagement(
            app,
            tenant_id,
            preparation,
            (first, second),
            DEFAULT_INSTRUMENT,
            RatingMode.UNIT,
            3,
            2,
            p("PrepareEngagement"),
        )
        advance_phase(app, eid, Phase.PREPARED, p("AdvancePhase"))
        advance_phase(app, eid, Phase.THEME_DAY_OPEN, p("AdvancePhase"))
        map_relations(app, eid, first, (second,), p("MapRelations"))
        return eid, first, second

    eid, first, second = container.tenants.call(tenant_id, build)
    container.projections.notify(tenant_id)
    return Board(tenant_id, eid, (first, second), admin_email, outsider_email)


def events_path(board: Board) -> str:
    return f"/api/v1/tenants/{board.tenant_id}/engagements/{board.engagement_id}/events"


async def rate(client: httpx.AsyncClient, board: Board, headers: dict[str, str], score: int) -> None:
    response = await client.post(
        f"/api/v1/tenants/{board.tenant_id}/engagements/{board.engagement_id}/ratings",
        json={
            "unit_id": str(board.units[0]),
            "counterpart_id": str(board.units[1]),
            "scores": dict.fromkeys(DEFAULT_INSTRUMENT.dimension_keys, score),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text


@dataclass
class Event:
    event: str | None
    data: str
    comment: str | None

    def json(self) -> Any:
        return json.loads(self.data)


class EventReader:
    """Reads server-sent events off a streaming httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def next(self, within: float, *, comments: bool = False) -> Event:
        async with asyncio.timeout(within):
            while True:
                event: str | None = None
                data: list[str] = []
                comment: str | None = None
                async for line in self.lines:
                    if line == "":
                        break
                    field, _, value = line.partition(":")
                    value = value.removeprefix(" ")
                    if field == "":
                        comment = value
                    elif field == "event":
                        event = value
                    elif field == "data":
                        data.append(value)
                else:
                    raise AssertionError("the stream ended")
                if event is not None or data or (comments and comment is not None):
                    return Event(event, "\n".join(data), comment)

    async def next_named(self, name: str, within: float) -> Event:
        async with asyncio.timeout(within):
            while True:
                event = await self.next(within)
                if event.event == name:
                    return event


async def eventually(condition: Any, within: float = 3.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def live(backend: Settings) -> AsyncIterator[tuple[Server, Board]]:
    container = await asyncio.to_thread(build_container, backend)
    board = await asyncio.to_thread(set_up_board, container)
    async with serve(backend, container) as server:
        yield server, board


async def test_a_command_reaches_an_open_stream_within_a_second(live: tuple[Server, Board]) -> None:
    server, board = live
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        headers = await bearer(client, board.admin_email)
        async with client.stream("GET", events_path(board), headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-cache"
            reader = EventReader(response)
            snapshot = await reader.next(5)
            assert snapshot.event == "snapshot"
            first = snapshot.json()
            assert first["engagement_id"] == str(board.engagement_id)
            assert first["version"] >= 1
            assert first["updated_at"]

            started = time.perf_counter()
            await rate(client, board, headers, 3)
            changed = await reader.next_named("changed", DELIVERY_SECONDS)
            latency = time.perf_counter() - started
            print(f"\nlive update latency (command sent -> changed event): {latency * 1000:.0f} ms")
            body = changed.json()
            assert body["tenant_id"] == str(board.tenant_id)
            assert body["engagement_id"] == str(board.engagement_id)
            assert f"engagement:{board.engagement_id}" in body["keys"]
            assert body["at"]
            shown = await client.get(
                f"/api/v1/tenants/{board.tenant_id}/engagements/{board.engagement_id}", headers=headers
            )
            assert shown.json()["version"] > first["version"]
            assert server.channels.subscriber_count() == 1

        # The client went away: its subscription is gone, and no channel entry is left behind.
        await eventually(lambda: server.channels.subscriber_count() == 0)
        await eventually(lambda: not server.channels._channels)


async def test_other_tenants_unknown_engagements_and_anonymous_callers_are_refused(
    live: tuple[Server, Board],
) -> None:
    server, board = live
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        outsider = await bearer(client, board.outsider_email)
        refused = await client.get(events_path(board), headers=outsider)
        assert refused.status_code == 403
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert (await client.get(events_path(board))).status_code == 401
        admin = await bearer(client, board.admin_email)
        unknown = await client.get(
            f"/api/v1/tenants/{board.tenant_id}/engagements/{uuid4()}/events", headers=admin
        )
        assert unknown.status_code == 404
    assert server.channels.subscriber_count() == 0


async def test_keep_alive_comments_flow_while_nothing_changes(
    live: tuple[Server, Board], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, board = live
    monkeypatch.setattr(live_routes, "KEEPALIVE_SECONDS", 0.1)
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        headers = await bearer(client, board.admin_email)
        async with client.stream("GET", events_path(board), headers=headers) as response:
            reader = EventReader(response)
            assert (await reader.next(5)).event == "snapshot"
            for _ in range(2):
                tick = await reader.next(1, comments=True)
                assert tick.comment == "keep-alive"
                assert tick.event is None


async def test_many_clients_connecting_and_leaving_leak_no_subscriptions(live: tuple[Server, Board]) -> None:
    server, board = live
    async with httpx.AsyncClient(base_url=server.base_url, timeout=10) as client:
        headers = await bearer(client, board.admin_email)

        async def visit(wait_for_snapshot: bool) -> None:
            async with client.stream("GET", events_path(board), headers=headers) as response:
                if wait_for_snapshot:
                    await EventReader(response).next(5)

        # Some leave before the snapshot (mid-subscribe), some after.
        await asyncio.gather(*(visit(i % 2 == 0) for i in range(20)))
    await eventually(lambda: server.channels.subscriber_count() == 0)
    await eventually(lambda: not server.channels._channels)


async def test_two_app_instances_share_changes_through_redis(backend: Settings, redis_url: str) -> None:
    """The command goes to one instance; the stream is open on another whose own projector is
    idle, so the change can only arrive through Redis."""
    settings = backend if backend.redis_url else backend.with_changes(redis_url=redis_url)
    writer_container = await asyncio.to_thread(build_container, settings)
    board = await asyncio.to_thread(set_up_board, writer_container)
    reader_container = await asyncio.to_thread(build_container, settings)
    reader_container.projections.poll_seconds = 3600
    raw = aioredis.Redis.from_url(settings.redis_url or redis_url)
    pubsub = raw.pubsub()
    await pubsub.subscribe(f"{REDIS_PREFIX}{channel_for(board.tenant_id, board.engagement_id)}")
    try:
        async with (
            serve(settings, writer_container) as writer,
            serve(settings, reader_container) as reader_server,
            httpx.AsyncClient(base_url=writer.base_url, timeout=10) as write_client,
            httpx.AsyncClient(base_url=reader_server.base_url, timeout=10) as read_client,
        ):
            headers = await bearer(write_client, board.admin_email)
            await writer_container.projections.settle(board.tenant_id)
            async with read_client.stream("GET", events_path(board), headers=headers) as response:
                events = EventReader(response)
                assert (await events.next(5)).event == "snapshot"
                started = time.perf_counter()
                await rate(write_client, board, headers, 4)
                changed = await events.next_named("changed", DELIVERY_SECONDS)
                print(
                    f"\nlive update latency across instances: {(time.perf_counter() - started) * 1000:.0f} ms"
                )
                assert changed.json()["engagement_id"] == str(board.engagement_id)
            async with asyncio.timeout(2):
                while True:
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                    if message is not None:
                        break
            assert json.loads(message["data"])["engagement_id"] == str(board.engagement_id)
    finally:
        await pubsub.aclose()
        await raw.aclose()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    """A Redis server of the test's own, which the test may stop and start again."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed; this test needs to stop a Redis of its own")
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        process = subprocess.Popen(
            [binary, "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL,
        )
        processes.append(process)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def stop() -> None:
        for process in processes:
            if process.poll() is None:
                process.terminate()
                process.wait(5)

    start()
    try:
        yield f"redis://127.0.0.1:{port}/0", start, stop
    finally:
        stop()


async def test_streams_survive_a_redis_outage_and_commands_still_succeed(
    tmp_path: Path, own_redis: tuple[str, Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, start, stop = own_redis
    monkeypatch.setattr(live_routes, "KEEPALIVE_SECONDS", 0.2)
    settings = Settings(data_dir=tmp_path / "data", redis_url=url)
    container = await asyncio.to_thread(build_container, settings)
    board = await asyncio.to_thread(set_up_board, container)
    async with (
        serve(settings, container) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=10) as client,
    ):
        headers = await bearer(client, board.admin_email)
        async with client.stream("GET", events_path(board), headers=headers) as response:
            events = EventReader(response)
            assert (await events.next(5)).event == "snapshot"
            await rate(client, board, headers, 2)
            assert (await events.next_named("changed", DELIVERY_SECONDS)).event == "changed"

            await asyncio.to_thread(stop)
            started = time.perf_counter()
            await rate(client, board, headers, 3)  # the command succeeds without Redis
            assert time.perf_counter() - started < 3
            # The stream stays open: keep-alives go on while Redis is away.
            for _ in range(3):
                assert (await events.next(2, comments=True)).comment == "keep-alive"

            await asyncio.to_thread(start)
            # Back: a fresh snapshot (changes made meanwhile were not announced), showing them.
            resync = await events.next_named("snapshot", 5)
            shown = await client.get(
                f"/api/v1/tenants/{board.tenant_id}/engagements/{board.engagement_id}", headers=headers
            )
            assert resync.json()["version"] == shown.json()["version"]
            await asyncio.sleep(1.1)  # publishing pauses briefly after a failure
            await rate(client, board, headers, 4)
            assert (await events.next_named("changed", DELIVERY_SECONDS)).event == "changed"
