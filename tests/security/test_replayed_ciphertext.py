"""A stored state opens only as the event it was written for: copying an event's ciphertext
into a new row (same aggregate, next version) is named by `audit verify` and never projected,
an event that does not decode fails verification cleanly, and events written before states
were bound to their events still read. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import Mapper
from psycopg import sql

from services.application import TenantApplication
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.persistence.env import CONTROL_STORE, tenant_store_name
from services.persistence.transcoding import TypedMapper
from services.settings import Settings
from services.tenancy import TenantStores
from tests.commanding import add_unit, establish_organisation
from tests.http_harness import ADMIN, Person, Story, onboard, serving

ORGANISATION_TOPIC = "domain.organisation:Organisation"


@pytest.fixture
async def story(backend: Settings) -> AsyncIterator[Story]:
    async with serving(backend) as started:
        yield started


@dataclass
class EventRows:
    """A tenant's event rows, read and written with SQL as someone with database access."""

    settings: Settings
    tenant_id: UUID

    def _run(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        store = tenant_store_name(self.tenant_id)
        if self.settings.uses_postgres:
            text = statement.format(t=f'"{store}".tenantapplication_events', k="notification_id")
            with psycopg.connect(self.settings.postgres.dsn, autocommit=True) as conn:
                cursor = conn.execute(text.replace("?", "%s").encode(), params)
                return cursor.fetchall() if cursor.description else []
        path = self.settings.data_dir / "stores" / f"{store}.sqlite3"
        with closing(sqlite3.connect(path, isolation_level=None)) as conn:
            return conn.execute(statement.format(t="stored_events", k="rowid"), params).fetchall()

    def last(self) -> tuple[int, str, int, str, bytes]:
        """The last row: position, originator id, version, topic, state."""
        position, oid, version, topic, state = self._run(
            "SELECT {k}, originator_id, originator_version, topic, state FROM {t} ORDER BY {k} DESC LIMIT 1"
        )[0]
        return int(position), str(oid), int(version), str(topic), bytes(state)

    def at(self, position: int) -> tuple[str, int, str, bytes]:
        oid, version, topic, state = self._run(
            "SELECT originator_id, originator_version, topic, state FROM {t} WHERE {k} = ?", (position,)
        )[0]
        return str(oid), int(version), str(topic), bytes(state)

    def append(self, originator_id: str, version: int, topic: str, state: bytes) -> int:
        """A new row after the last one, for `originator_id` at `version`; its position."""
        position = self.last()[0] + 1
        self._run(
            "INSERT INTO {t} ({k}, originator_id, originator_version, topic, state) VALUES (?, ?, ?, ?, ?)",
            (
                position,
                originator_id if self.settings.uses_postgres else UUID(originator_id).hex,
                version,
                topic,
                state,
            ),
        )
        return position


def organisation_rows(rows: EventRows) -> list[int]:
    """Positions of the organisation's events."""
    found = []
    position = rows.last()[0]
    for at in range(1, position + 1):
        if rows.at(at)[2].startswith(ORGANISATION_TOPIC):
            found.append(at)
    return found


async def views_position(story: Story, tenant_id: UUID) -> int:
    return await story.container.offloop(lambda: story.container.views.store_for(tenant_id).position())


async def verify(admin: Person, tenant_id: UUID) -> Any:
    return await admin.get(f"/api/v1/tenants/{tenant_id}/audit/verify")


async def tenant_with_units(story: Story, admin: Person) -> UUID:
    tenant_id = await onboard(story.container, "Kopierede hændelser", "kopi")
    base = f"/api/v1/tenants/{tenant_id}"
    await admin.put(f"{base}/organisation", {"name": "Kommunen"})
    await admin.post(f"{base}/organisation/units", {"name": "Hjemmeplejen"})
    await story.container.offloop(story.container.projections.catch_up_now, tenant_id)
    return tenant_id


async def test_a_ciphertext_copied_to_the_next_version_is_named_by_verify_and_never_projected(
    story: Story,
) -> None:
    admin = await story.sign_in(ADMIN)
    tenant_id = await tenant_with_units(story, admin)
    rows = EventRows(story.container.settings, tenant_id)
    position, oid, version, topic, state = rows.last()
    assert await views_position(story, tenant_id) == position

    # The unit-added event's stored state, replayed as the organisation's next event.
    forged = await asyncio.to_thread(rows.append, oid, version + 1, topic, state)

    verdict = await verify(admin, tenant_id)
    assert verdict["intact"] is False, verdict
    bad = verdict["first_bad"]
    assert bad["position"] == forged
    assert bad["problem"] == "undecodable"
    assert (bad["aggregate_id"], bad["version"]) == (str(UUID(oid)), version + 1)
    # Neither the verification nor the projector took it into the views or the chain.
    assert await views_position(story, tenant_id) == position
    with pytest.raises(Exception, match="does not open as this event's"):
        await story.container.offloop(story.container.projections.catch_up_now, tenant_id)
    assert await views_position(story, tenant_id) == position
    organisation = await admin.get(f"/api/v1/tenants/{tenant_id}/organisation")
    assert [u["name"] for u in organisation["units"]].count("Hjemmeplejen") == 1


async def test_a_damaged_event_fails_verification_naming_it_rather_than_crashing(story: Story) -> None:
    admin = await story.sign_in(ADMIN)
    tenant_id = await tenant_with_units(story, admin)
    rows = EventRows(story.container.settings, tenant_id)
    _, oid, version, topic, state = rows.last()
    damaged = state[:-1] + bytes([state[-1] ^ 0xFF])
    broken = await asyncio.to_thread(rows.append, oid, version + 1, topic, damaged)

    response = await admin.client.get(f"/api/v1/tenants/{tenant_id}/audit/verify", headers=admin.headers)

    assert response.status_code == 200, response.text
    verdict = response.json()
    assert verdict["intact"] is False
    assert verdict["first_bad"]["position"] == broken
    assert verdict["first_bad"]["problem"] == "undecodable"


class UnboundApplication(TenantApplication):
    """A tenant application as written before states were bound to their events."""

    name = "TenantApplication"  # the same tables

    def construct_mapper(self) -> Mapper[UUID]:
        return self.factory.mapper(transcoder=self.construct_transcoder(), mapper_class=TypedMapper)


def forget_legacy_watermark(settings: Settings, tenant_id: UUID) -> None:
    """The tenant's key as kept before binding existed: no legacy watermark recorded yet."""
    if settings.uses_postgres:
        with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = "
                "'tenant_keys' AND column_name = 'legacy_until'",
                (CONTROL_STORE,),
            ).fetchone()
            if exists:
                conn.execute(
                    sql.SQL("UPDATE {} SET legacy_until = NULL WHERE tenant_id = %s").format(
                        sql.Identifier(CONTROL_STORE, "tenant_keys")
                    ),
                    (tenant_id.hex,),
                )
        return
    path = settings.data_dir / "stores" / "tenant-keys.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(tenant_keys)")}
        if "legacy_until" in columns:
            conn.execute("UPDATE tenant_keys SET legacy_until = NULL WHERE tenant_id = ?", (tenant_id.hex,))


async def test_events_from_before_binding_still_read_and_a_replayed_one_is_named(backend: Settings) -> None:
    # Before the upgrade: a tenant whose events were written unbound.
    container = await asyncio.to_thread(build_container, backend)
    tenant_id = await onboard(container, "Fra før", "foer")
    old = TenantStores(backend, UnboundApplication, container.keys)
    established = system_provenance("EstablishOrganisation", tenant_id=tenant_id)
    await asyncio.to_thread(
        old.call, tenant_id, lambda app: establish_organisation(app, tenant_id, "Før", established)
    )
    added = system_provenance("AddUnit", tenant_id=tenant_id)
    await asyncio.to_thread(old.call, tenant_id, lambda app: add_unit(app, tenant_id, "Gamle enhed", added))
    await asyncio.to_thread(old.close)
    await asyncio.to_thread(forget_legacy_watermark, backend, tenant_id)
    await container.close()

    async with serving(backend) as story:
        admin = await story.sign_in(ADMIN)
        base = f"/api/v1/tenants/{tenant_id}"
        await admin.post(f"{base}/organisation/units", {"name": "Nye enhed"})
        await story.container.offloop(story.container.projections.catch_up_now, tenant_id)
        organisation = await admin.get(f"{base}/organisation")
        names = [u["name"] for u in organisation["units"]]
        assert names.count("Gamle enhed") == 1, organisation
        assert names.count("Nye enhed") == 1
        assert (await verify(admin, tenant_id))["intact"] is True

        rows = EventRows(backend, tenant_id)
        position, oid, version, _, _ = rows.last()
        legacy_unit = organisation_rows(rows)[1]
        _, _, topic, state = rows.at(legacy_unit)
        forged = await asyncio.to_thread(rows.append, oid, version + 1, topic, state)

        verdict = await verify(admin, tenant_id)
        assert verdict["intact"] is False, verdict
        assert verdict["first_bad"]["position"] == forged
        assert verdict["first_bad"]["problem"] == "unbound"
        assert await views_position(story, tenant_id) == position
        names = [u["name"] for u in (await admin.get(f"{base}/organisation"))["units"]]
        assert names.count("Gamle enhed") == 1
