"""A fleet as deployed: two `balkort serve` processes and one `balkort projector`, real
subprocesses on PostgreSQL and Redis, browsers following one engagement on both API processes.

The API processes project differently (docs/adr/0021): the first in the PostgreSQL default
("written": it projects what it writes, racing the worker), the second with
`BALKORT_PROJECT_IN_PROCESS=none` (only the worker projects its writes). Whoever projects a change
publishes it, so every command of a theme-day burst, sent through either process, reaches the
streams on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest

from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.phases import Phase
from domain.preparation import Preparation
from domain.provenance import Provenance
from domain.ratings import RatingMode
from domain.roles import Role
from projections.postgres_views import PostgresViewBackend
from services.application import TenantApplication
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.migrations import migrate
from services.readmodel.worker import Projector
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
from tests.integration.test_live_updates import EventReader, free_port
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY, SESSION_SECRETS_ENV

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

# Generous bounds: they only decide how long a broken fleet takes to fail, never whether a
# working one passes (the waits end as soon as what they wait for has happened).
START_SECONDS = 90.0
DELIVERY_SECONDS = 90.0
UNITS = ("Visitationen", "Hjemmeplejen", "Sygeplejen", "Træningen")
# Settings a process would otherwise inherit from the test's own environment.
_INHERITED = re.compile(r"^(BALKORT_.*|DATABASE_URL|REDIS_URL)$")


def fleet_settings(database_url: str, redis_url: str, home: Path) -> Settings:
    """The settings the fleet's processes read from their environment, for the test's own use."""
    return Settings(
        data_dir=home / "data",
        database_url=database_url,
        redis_url=redis_url,
        master_key=SESSION_MASTER_KEY,
        jwt_secret=SESSION_JWT_SECRET,
    )


@dataclass(frozen=True)
class ThemeDay:
    """A tenant whose engagement has its theme day open, every unit mapped to every other."""

    tenant_id: UUID
    engagement_id: UUID
    units: tuple[UUID, ...]
    admin_email: str

    @property
    def path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/engagements/{self.engagement_id}"


def open_theme_day(settings: Settings) -> ThemeDay:
    """Blocking: a consultancy admin, a tenant, its units and an engagement ready for ratings and
    cards, written straight to the stores (no API process is told: the worker projects it). The
    database is migrated first, as a deployment's `balkort migrate` does before the fleet starts."""
    migrate(settings)
    container = build_container(settings)
    try:
        system = system_provenance("Test")
        admin_email = f"admin-{uuid4().hex[:10]}@example.dk"
        container.control.register_user(admin_email, "Admin", PASSWORD, Role.CONSULTANCY_ADMIN, system)
        tenant_id = onboard_tenant(container, "Region Flåde", f"flaade-{uuid4().hex[:12]}", system)
        actor = uuid4()

        def build(app: TenantApplication) -> tuple[UUID, tuple[UUID, ...]]:
            def p(command: str) -> Provenance:
                return provenance_now(tenant_id, actor, command)

            establish_organisation(app, tenant_id, "Region Flåde", p("EstablishOrganisation"))
            units = tuple(add_unit(app, tenant_id, name, p("AddUnit")) for name in UNITS)
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
                units,
                DEFAULT_INSTRUMENT,
                RatingMode.UNIT,
                3,
                3,
                p("PrepareEngagement"),
            )
            advance_phase(app, eid, Phase.PREPARED, p("AdvancePhase"))
            advance_phase(app, eid, Phase.THEME_DAY_OPEN, p("AdvancePhase"))
            for unit in units:
                map_relations(app, eid, unit, tuple(u for u in units if u != unit), p("MapRelations"))
            return eid, units

        engagement_id, units = container.tenants.call(tenant_id, build)
        return ThemeDay(tenant_id, engagement_id, units, admin_email)
    finally:
        container.tenants.close()
        container.control.close()


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- {self.name} ---\n" + "\n".join(text.splitlines()[-lines:])


def _balkort() -> str:
    command = Path(sys.executable).with_name("balkort")
    if not command.exists():
        pytest.fail(f"the balkort command is not installed next to {sys.executable}: run `make install`")
    return str(command)


@contextmanager
def fleet_processes(
    database_url: str, redis_url: str, home: Path, *commands: tuple[str, list[str], dict[str, str]]
) -> Iterator[list[Process]]:
    """Starts each (name, arguments, extra environment) as `balkort <arguments>`, all on the same
    database, Redis and secrets; stops them all (SIGTERM, then SIGKILL) on the way out."""
    base = {key: value for key, value in os.environ.items() if not _INHERITED.match(key)}
    base.update(
        SESSION_SECRETS_ENV,
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        BALKORT_DATA_DIR=str(home / "data"),
        # The run's tests share one Redis database: this fleet counts its requests apart.
        BALKORT_RATE_LIMIT_NAMESPACE=f"balkort:rate-limit:fleet-{secrets.token_hex(6)}",
        NO_COLOR="1",
    )
    processes: list[Process] = []
    try:
        for name, arguments, extra in commands:
            log = home / f"{name}.log"
            with log.open("wb") as out:
                popen = subprocess.Popen(
                    [_balkort(), *arguments], env={**base, **extra}, stdout=out, stderr=subprocess.STDOUT
                )
            processes.append(Process(name, popen, log))
        yield processes
    finally:
        for process in processes:
            if process.popen.poll() is None:
                process.popen.terminate()
        for process in processes:
            try:
                process.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.popen.kill()
                process.popen.wait(timeout=10)


async def wait_until_serving(process: Process, base_url: str) -> None:
    deadline = time.monotonic() + START_SECONDS
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as client:
        while True:
            assert process.popen.poll() is None, f"{process.name} exited early:\n{process.tail()}"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, f"{process.name} did not answer in time:\n{process.tail()}"
            await asyncio.sleep(0.2)


@dataclass
class Follower:
    """A browser following the engagement on one API process: after each `changed` event it
    fetches the engagement from that process, as the board does, and keeps what it saw."""

    name: str
    client: httpx.AsyncClient
    headers: dict[str, str]
    day: ThemeDay
    # Set on every fetch; shared by the followers of one test, which wait on any progress.
    progress: asyncio.Event
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    # (when the changed event arrived, the engagement fetched right after it)
    seen: list[tuple[float, dict[str, Any]]] = field(default_factory=list)

    async def follow(self) -> None:
        async with self.client.stream("GET", f"{self.day.path}/events", headers=self.headers) as response:
            assert response.status_code == 200, await response.aread()
            events = EventReader(response)
            assert (await events.next(START_SECONDS)).event == "snapshot"
            self.ready.set()
            while True:
                changed = await events.next_named("changed", 24 * 3600)
                arrived = time.monotonic()
                assert changed.json()["engagement_id"] == str(self.day.engagement_id)
                shown = await self.client.get(self.day.path, headers=self.headers)
                assert shown.status_code == 200, shown.text
                self.seen.append((arrived, shown.json()))
                self.progress.set()


@dataclass(frozen=True)
class Command:
    """One command of the burst: when it was sent, through which process, and how its effect
    shows in the engagement."""

    sent_at: float
    through: str
    kind: str  # "rating", "phase" (on to dance cards) or "card"
    unit: UUID
    counterpart: UUID
    card_id: UUID | None = None

    def visible_in(self, engagement: dict[str, Any]) -> bool:
        if self.kind == "phase":
            return bool(engagement["phase"] == Phase.DANCE_CARDS.value)
        if self.kind == "card":
            return any(card["card_id"] == str(self.card_id) for card in engagement["cards"])
        return any(
            relation["unit_id"] == str(self.unit)
            and relation["counterpart_id"] == str(self.counterpart)
            and relation["means"]
            for relation in engagement["relation_views"]
        )


def unseen(follower: Follower, commands: list[Command]) -> list[Command]:
    """The commands whose effect `follower` has not yet seen through a changed event after them."""
    return [
        command
        for command in commands
        if not any(at > command.sent_at and command.visible_in(shown) for at, shown in follower.seen)
    ]


@asynccontextmanager
async def following(followers: list[Follower]) -> AsyncIterator[None]:
    tasks = [asyncio.create_task(f.follow(), name=f"follow {f.name}") for f in followers]
    try:
        async with asyncio.timeout(START_SECONDS):
            for follower, task in zip(followers, tasks, strict=True):
                ready = asyncio.create_task(follower.ready.wait())
                await asyncio.wait({ready, task}, return_when=asyncio.FIRST_COMPLETED)
                ready.cancel()
                if task.done():
                    task.result()  # raises what ended the stream
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_every_command_of_a_burst_reaches_streams_on_both_api_processes_while_a_worker_projects(
    postgres_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = fleet_settings(postgres_database_url, redis_url, tmp_path)
    day = await asyncio.to_thread(open_theme_day, settings)
    writer_port, watcher_port = free_port(), free_port()
    with fleet_processes(
        postgres_database_url,
        redis_url,
        tmp_path,
        ("projector", ["projector"], {}),
        ("serve-written", ["serve", "--port", str(writer_port)], {}),
        ("serve-none", ["serve", "--port", str(watcher_port)], {"BALKORT_PROJECT_IN_PROCESS": "none"}),
    ) as (projector, written, none):
        urls = {
            written.name: f"http://127.0.0.1:{writer_port}",
            none.name: f"http://127.0.0.1:{watcher_port}",
        }
        await wait_until_serving(written, urls[written.name])
        await wait_until_serving(none, urls[none.name])
        clients = {name: httpx.AsyncClient(base_url=url, timeout=30) for name, url in urls.items()}
        try:
            headers = await bearer(clients[written.name], day.admin_email)
            # The set-up was written behind every process's back: the worker projects it.
            deadline = time.monotonic() + START_SECONDS
            while (await clients[none.name].get(day.path, headers=headers)).status_code != 200:
                assert projector.popen.poll() is None, projector.tail()
                assert time.monotonic() < deadline, f"the engagement was never projected\n{projector.tail()}"
                await asyncio.sleep(0.2)

            progress = asyncio.Event()
            followers = [Follower(name, client, headers, day, progress) for name, client in clients.items()]
            async with following(followers):
                commands: list[Command] = []
                pairs = [(u, c) for u in day.units for c in day.units if u != c]
                # The burst: a rating of every relation, the facilitator moving on to dance
                # cards, and a card along every other relation, back to back, alternating
                # between the processes; the last goes through the process that projects
                # nothing itself, so only the worker can announce it.
                burst: list[tuple[str, UUID, UUID]] = [("rating", u, c) for u, c in pairs]
                burst.append(("phase", day.units[0], day.units[0]))
                burst += [("card", u, c) for u, c in pairs[::2]]
                for index, (kind, unit, counterpart) in enumerate(burst):
                    through = (none if (len(burst) - 1 - index) % 2 == 0 else written).name
                    sent_at = time.monotonic()
                    path, expect = f"{day.path}/{kind}s", 201
                    if kind == "phase":
                        path, expect = f"{day.path}/phase/advance", 200
                        body: dict[str, Any] = {"expected_phase": Phase.MAPPING.value}
                    elif kind == "rating":
                        body = {
                            "unit_id": str(unit),
                            "counterpart_id": str(counterpart),
                            "scores": dict.fromkeys(DEFAULT_INSTRUMENT.dimension_keys, 1 + index % 5),
                        }
                    else:
                        body = {"from_unit": str(unit), "to_unit": str(counterpart), "topic": f"Emne {index}"}
                    answer = await clients[through].post(
                        path, json=body, headers={**headers, "Idempotency-Key": str(uuid4())}
                    )
                    assert answer.status_code == expect, answer.text
                    card_id = UUID(answer.json()["card_id"]) if kind == "card" else None
                    commands.append(Command(sent_at, through, kind, unit, counterpart, card_id))
                assert commands[-1].through == none.name

                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(DELIVERY_SECONDS):
                        while True:
                            progress.clear()
                            if not any(unseen(f, commands) for f in followers):
                                break
                            await progress.wait()
                missing = {f.name: unseen(f, commands) for f in followers}
                logs = "\n".join(p.tail() for p in (projector, written, none))
                assert not any(missing.values()), f"commands never announced: {missing}\n{logs}"
                print(
                    f"\n{len(commands)} commands; changed events seen: "
                    + ", ".join(f"{f.name} {len(f.seen)}" for f in followers)
                )
            assert all(p.popen.poll() is None for p in (projector, written, none))
        finally:
            for client in clients.values():
                await client.aclose()


async def test_the_worker_tells_what_its_catch_up_changed_and_nothing_when_there_was_nothing_to_do(
    postgres_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = fleet_settings(postgres_database_url, redis_url, tmp_path)
    day = await asyncio.to_thread(open_theme_day, settings)
    container = await asyncio.to_thread(build_container, settings)
    told: list[tuple[UUID, set[str]]] = []
    try:
        assert isinstance(container.views, PostgresViewBackend)
        projector = Projector(
            container.views,
            container.projections.mappers,
            lambda: [day.tenant_id],
            publish=lambda tenant_id, changed: told.append((tenant_id, set(changed))),
        )
        assert await asyncio.to_thread(projector.pass_once, [day.tenant_id]) > 0
        assert len(told) == 1
        tenant_id, keys = told[0]
        assert tenant_id == day.tenant_id
        assert f"engagement:{day.engagement_id}" in keys
        # Caught up: nothing behind, nothing committed, nothing to tell.
        assert await asyncio.to_thread(projector.pass_once, [day.tenant_id]) == 0
        assert await asyncio.to_thread(projector.catch_up_tenant, day.tenant_id) == 0
        assert len(told) == 1
    finally:
        await container.close()
