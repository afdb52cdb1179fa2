"""Concurrent writers on one engagement, on every backend.

Conditional commands (`If-Match`) racing for one version: exactly one wins, the rest get 409
`concurrent_modification`. Unconditional commands are serialised server-side: all succeed.
A retry storm of duplicated requests per Idempotency-Key records one event per key. The
tenant's notification ids stay dense: no gaps, no duplicates.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from uuid import UUID, uuid4

import httpx
import psycopg
import psycopg.sql

from domain.default_instrument import DIMENSIONS
from domain.phases import Phase
from services.persistence.env import application_env, tenant_store_name
from services.settings import Settings
from tests.http_harness import Story, consultant_headers, onboard, serving

T = TypeVar("T")
WRITERS = 64
VERSIONS = 5
KEYS = 10
DUPLICATES = 20
UNITS = 4
SCORES = {d.key: 2 for d in DIMENSIONS}


async def concurrently(story: Story, calls: list[Callable[[httpx.AsyncClient], Awaitable[T]]]) -> list[T]:
    """Runs `calls` at the same time on the app's own event loop (the test client sends one
    request at a time), each with an httpx client straight on the app."""
    app = story.client.app

    async def run() -> list[T]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as client:
            return list(await asyncio.gather(*(call(client) for call in calls)))

    results: list[T] = await asyncio.to_thread(story.client.blocking_portal.call, run)
    return results


class Engagement:
    def __init__(
        self, story: Story, tenant_id: UUID, engagement_id: UUID, units: list[UUID], headers: dict[str, str]
    ) -> None:
        self.story, self.tenant_id, self.engagement_id, self.units, self.headers = (
            story,
            tenant_id,
            engagement_id,
            units,
            headers,
        )

    @property
    def path(self) -> str:
        return f"/api/v1/tenants/{self.tenant_id}/engagements/{self.engagement_id}"

    async def version(self) -> int:
        shown = await self.story.client.get(self.path, headers=self.headers)
        assert shown.status_code == 200, shown.text
        return int(shown.json()["version"])

    def events(self) -> list[Any]:
        found: list[Any] = self.story.container.tenants.call(
            self.tenant_id, lambda app: list(app.events.get(self.engagement_id))
        )
        return found

    def notification_ids(self) -> list[int]:
        settings: Settings = self.story.container.settings
        store = tenant_store_name(self.tenant_id)
        if settings.uses_postgres:
            with psycopg.connect(settings.postgres.dsn) as conn:
                rows = conn.execute(
                    psycopg.sql.SQL(
                        "SELECT notification_id FROM {}.tenantapplication_events ORDER BY 1"
                    ).format(psycopg.sql.Identifier(store))
                ).fetchall()
        else:
            path = application_env(settings, store)["SQLITE_DBNAME"]
            with sqlite3.connect(path) as conn:
                rows = conn.execute("SELECT rowid FROM stored_events ORDER BY rowid").fetchall()
        return [int(row[0]) for row in rows]


async def engagement(story: Story, phase: Phase = Phase.PREPARED) -> Engagement:
    container, client = story.container, story.client
    tenant_id = await onboard(container, "Region Nord", "race")
    headers = await consultant_headers(story, tenant_id)
    tenant_path = f"/api/v1/tenants/{tenant_id}"
    assert (
        await client.put(f"{tenant_path}/organisation", json={"name": "Region Nord"}, headers=headers)
    ).status_code == 200
    units = []
    for i in range(UNITS):
        added = await client.post(
            f"{tenant_path}/organisation/units", json={"name": f"Enhed {i}"}, headers=headers
        )
        assert added.status_code == 201, added.text
        units.append(UUID(added.json()["unit_id"]))
    prepared = await client.post(
        f"{tenant_path}/engagements",
        json={"title": "Kapløb", "theme_day": "2025-03-14", "unit_ids": [str(u) for u in units]},
        headers=headers,
    )
    assert prepared.status_code == 201, prepared.text
    made = Engagement(story, tenant_id, UUID(prepared.json()["engagement_id"]), units, headers)
    current = Phase.PREPARED
    while current is not phase:
        advanced = await client.post(
            f"{made.path}/phase/advance", json={"expected_phase": current.value}, headers=headers
        )
        assert advanced.status_code == 200, advanced.text
        current = current.following  # type: ignore[assignment]
    return made


Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def set_rounds(path: str, rounds: int, headers: dict[str, str]) -> Call:
    return lambda client: client.put(f"{path}/rounds", json={"rounds": rounds}, headers=headers)


def post(path: str, body: dict[str, Any], headers: dict[str, str]) -> Call:
    return lambda client: client.post(path, json=body, headers=headers)


def assert_dense(ids: list[int]) -> None:
    assert len(ids) == len(set(ids)), "duplicate notification ids"
    assert ids == list(range(ids[0], ids[0] + len(ids))), "gaps in the notification ids"


async def test_one_writer_wins_each_version_the_rest_get_409(backend: Settings) -> None:
    async with serving(backend, admin=None, quick_hashes=True) as story:
        made = await engagement(story)
        for round_ in range(VERSIONS):
            version = await made.version()
            headers = {**made.headers, "If-Match": f'"{version}"'}
            answers = await concurrently(
                story,
                [set_rounds(made.path, 1 + (n % 10), headers) for n in range(WRITERS)],
            )
            statuses = Counter(a.status_code for a in answers)
            assert statuses == {200: 1, 409: WRITERS - 1}, (round_, statuses)
            for answer in answers:
                if answer.status_code == 409:
                    assert answer.json()["rule"] == "concurrent_modification"
            assert await made.version() == version + 1
        assert_dense(made.notification_ids())


async def test_unconditional_writers_are_serialised_and_all_succeed(backend: Settings) -> None:
    async with serving(backend, admin=None, quick_hashes=True) as story:
        made = await engagement(story)
        before = await made.version()
        answers = await concurrently(
            story,
            [set_rounds(made.path, 1 + (n % 10), made.headers) for n in range(WRITERS)],
        )
        assert Counter(a.status_code for a in answers) == {200: WRITERS}
        assert sorted(a.json()["version"] for a in answers) == list(range(before + 1, before + WRITERS + 1))
        assert await made.version() == before + WRITERS
        assert_dense(made.notification_ids())


async def test_a_retry_storm_records_one_event_per_key(backend: Settings) -> None:
    async with serving(backend, admin=None, quick_hashes=True) as story:
        made = await engagement(story, Phase.MAPPING)
        a, *others = made.units
        mapped = await story.client.put(
            f"{made.path}/units/{a}/relations",
            json={"counterpart_ids": [str(u) for u in others]},
            headers=made.headers,
        )
        assert mapped.status_code == 200, mapped.text
        keys = [uuid4().hex for _ in range(KEYS)]
        body = {"unit_id": str(a), "counterpart_id": str(others[0]), "scores": SCORES}
        answers = await concurrently(
            story,
            [
                post(f"{made.path}/ratings", body, {**made.headers, "Idempotency-Key": key})
                for key in keys
                for _ in range(DUPLICATES)
            ],
        )
        by_key: dict[str, list[httpx.Response]] = {}
        for key, answer in zip([k for k in keys for _ in range(DUPLICATES)], answers, strict=True):
            by_key.setdefault(key, []).append(answer)
        rating_ids = set()
        unavailable = 0
        for key, replies in by_key.items():
            # A 503 (the key store's connections all in use) and a 409 (the first request with
            # this key still in flight after the wait) record nothing and say retry; every
            # other reply to a key is the same one.
            answered = [r for r in replies if r.status_code not in (409, 503)]
            unavailable += len(replies) - len(answered)
            assert answered, key
            assert {r.status_code for r in answered} == {201}, [r.text for r in answered][:1]
            assert len({r.content for r in answered}) == 1, key
            rating_ids.add(UUID(answered[0].json()["rating_id"]))
        print(f"\nretry storm: {KEYS} keys x {DUPLICATES}; {unavailable} answered 503")
        ratings = [e for e in made.events() if type(e).__name__ == "RatingSubmitted"]
        assert len(ratings) == KEYS
        assert {e.rating.rating_id for e in ratings} == rating_ids
        assert_dense(made.notification_ids())
