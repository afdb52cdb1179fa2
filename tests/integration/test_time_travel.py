"""Time travel: the views as they stood at a moment equal a fresh projection of only the events
that had happened by then (each aggregate up to its first event that happened later), and the
HTTP API shows the phase and the unit names of that moment."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest
from eventsourcing.persistence import Mapper
from litestar.testing import AsyncTestClient

from domain.organisation import Organisation
from projections.documents import EngagementOut, OrganisationOut
from projections.projector import ENGAGEMENT, ORGANISATION, Batch, Recorded, catch_up, project
from projections.sqlite_views import SQLiteEventSource, SQLiteViewStore
from projections.time_travel import as_of
from services.asgi import create_app
from services.bootstrap import Container, build_container
from services.demo import DEMO_PASSWORD, seed_demo
from services.persistence.env import tenant_store_name
from services.settings import Settings

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2027, 1, 1, tzinfo=UTC)
EVERY = timedelta(days=21)
# How many of the distinct event times to travel to exactly (and to just before).
EXACT = 24
TICK = timedelta(microseconds=1)


@dataclass
class Seeded:
    settings: Settings
    tenant_id: UUID
    source: SQLiteEventSource
    records: list[Recorded]
    mapper: Mapper[UUID]


class ListSource:
    """Records held in memory, read like a tenant's log."""

    def __init__(self, records: list[Recorded]) -> None:
        self.records = records

    def read(self, after: int, limit: int) -> list[Recorded]:
        return [r for r in self.records if r.position > after][:limit]


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    settings = Settings(data_dir=tmp_path_factory.mktemp("time-travel") / "data")
    container = build_container(settings)
    try:
        tenant_id = seed_demo(container)
        views = container.views
        catch_up(
            views.source_for(tenant_id), views.store_for(tenant_id), container.projections.mappers(tenant_id)
        )
        tenant_mapper = container.mappers(tenant_id)
    finally:
        container.tenants.close()
        container.control.close()
    path = settings.data_dir / "stores" / f"{tenant_store_name(tenant_id)}.sqlite3"
    source = SQLiteEventSource(path, tenant_mapper)
    records = source.read(0, 100_000)
    assert len(records) > 400
    return Seeded(settings, tenant_id, source, records, tenant_mapper)


def happened_by(records: list[Recorded], moment: datetime) -> list[Recorded]:
    """Each aggregate's events, in version order, up to the first that happened after `moment`."""
    by_aggregate: dict[UUID, list[Recorded]] = defaultdict(list)
    for record in records:
        by_aggregate[record.event.originator_id].append(record)
    kept: list[Recorded] = []
    for history in by_aggregate.values():
        for record in sorted(history, key=lambda r: r.event.originator_version):
            if record.event.provenance.occurred_at > moment:
                break
            kept.append(record)
    return sorted(kept, key=lambda r: r.position)


def moments(records: list[Recorded]) -> list[datetime]:
    """Every few days across the history, and exactly at (and just before) event times: every
    time the organisation changed or a phase began, and others spread over the history."""
    regular = [START + EVERY * i for i in range(int((END - START) / EVERY) + 1)]
    times = sorted({r.event.provenance.occurred_at for r in records})
    exact = {times[len(times) * i // EXACT] for i in range(EXACT)} | {
        r.event.provenance.occurred_at
        for r in records
        if type(r.event).__qualname__.startswith("Organisation.")
        or type(r.event).__name__ in {"Prepared", "PhaseAdvanced"}
    }
    return sorted({*regular, *exact, *(t - TICK for t in exact)})


def bodies(batch: Batch) -> dict[str, Any]:
    return {d.key: msgspec.json.decode(d.body) for d in batch.documents}


def fold_state(state: bytes) -> dict[str, Any]:
    """A document's persisted fold state, without the wall-clock time its snapshot was taken."""
    decoded = msgspec.msgpack.decode(state)
    snapshot = msgspec.json.decode(decoded.pop("snapshot"))
    snapshot.pop("timestamp")
    return {**decoded, "snapshot": snapshot}


def test_as_of_equals_a_fresh_projection_of_what_had_happened(seeded: Seeded) -> None:
    the_mapper = seeded.mapper
    when = moments(seeded.records)
    assert len(when) > 100
    # Out-of-order histories exist: an aggregate with an event recorded after one that
    # happened later (a deferred proposal decided before the last check-ins were recorded).
    out_of_order = [
        (a, b)
        for a, b in zip(seeded.records, seeded.records[1:], strict=False)
        if a.event.originator_id == b.event.originator_id
        and b.event.provenance.occurred_at < a.event.provenance.occurred_at
    ]
    assert out_of_order
    seen_empty = seen_full = False
    for moment in when:
        expected = project(0, happened_by(seeded.records, moment), {}, the_mapper)
        got = as_of(seeded.source, the_mapper, moment)
        assert bodies(got) == bodies(expected), moment
        assert got.audit == expected.audit, moment
        assert got.lineage == expected.lineage, moment
        assert [fold_state(d.state) for d in got.documents] == [
            fold_state(d.state) for d in expected.documents
        ], moment
        seen_empty |= not got.documents
        seen_full |= len(got.audit) == len(seeded.records)
    assert seen_empty
    assert seen_full


def test_as_of_equals_a_fresh_store_fed_only_those_events(seeded: Seeded, tmp_path: Path) -> None:
    the_mapper = seeded.mapper
    times = sorted({r.event.provenance.occurred_at for r in seeded.records})
    picked = [times[len(times) * i // 4] for i in range(4)] + [times[-1] + timedelta(days=1)]
    for index, moment in enumerate(picked):
        store = SQLiteViewStore(tmp_path / f"at-{index}.views.sqlite3")
        filtered = happened_by(seeded.records, moment)
        assert catch_up(ListSource(filtered), store, the_mapper, batch_size=40) == len(filtered)
        got = as_of(seeded.source, the_mapper, moment)
        for kind in (ENGAGEMENT, ORGANISATION):
            in_store = sorted(store.documents(kind))
            travelled = sorted(d.body for d in got.documents if d.kind == kind)
            assert in_store == travelled, (moment, kind)


# -- through the HTTP API ----------------------------------------------------------------------


@pytest.fixture
async def reader(seeded: Seeded) -> AsyncIterator[AsyncTestClient[Any]]:
    container: Container = await asyncio.to_thread(build_container, seeded.settings)
    async with AsyncTestClient(create_app(container=container)) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": "revisor@soeby.example", "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, response.text
        client.cookies.clear()
        client.headers["Authorization"] = f"Bearer {response.json()['token']}"
        yield client


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def test_http_as_of_shows_the_phase_and_the_unit_names_of_then(
    seeded: Seeded, reader: AsyncTestClient[Any]
) -> None:
    the_mapper = seeded.mapper
    base = f"/api/v1/tenants/{seeded.tenant_id}"
    org_key = f"{ORGANISATION}:{Organisation.id_for(seeded.tenant_id)}"
    now = msgspec.json.decode((await reader.get(f"{base}/organisation")).content, type=OrganisationOut)
    assert len(now.engagements) == 3

    def expected(moment: datetime) -> dict[str, Any]:
        return bodies(project(0, happened_by(seeded.records, moment), {}, the_mapper))

    # Every moment an engagement's phase changed, and the instant before.
    changes = sorted(
        {
            (r.event.provenance.occurred_at + shift, r.event.originator_id)
            for r in seeded.records
            if type(r.event).__name__ in {"Prepared", "PhaseAdvanced"}
            for shift in (-TICK, timedelta(0))
        }
    )
    assert {e for _, e in changes} == {ref.engagement_id for ref in now.engagements}
    phases_seen: set[str] = set()
    for moment, engagement_id in changes:
        documents = expected(moment)
        response = await reader.get(f"{base}/engagements/{engagement_id}", params={"as_of": iso(moment)})
        key = f"{ENGAGEMENT}:{engagement_id}"
        if key not in documents:
            assert response.status_code == 404, (moment, response.text)
            continue
        assert response.status_code == 200, (moment, response.text)
        shown = msgspec.json.decode(response.content, type=EngagementOut)
        assert shown.phase.value == documents[key]["phase"], moment
        assert response.json() == documents[key]
        phases_seen.add(shown.phase.value)
    assert {"prepared", "theme_day_open", "closing_plenary", "follow_through"} <= phases_seen

    async def units_at(moment: str) -> dict[str, Any]:
        response = await reader.get(f"{base}/organisation", params={"as_of": moment})
        assert response.status_code == 200, response.text
        shown = msgspec.json.decode(response.content, type=OrganisationOut)
        return {u.names[0].name: u for u in shown.units}

    # The training unit was renamed on 2026-01-05 10:00; the two home care districts merged on
    # 2025-09-01 10:00.
    before = await units_at("2026-01-05T09:59:59Z")
    after = await units_at("2026-01-05T10:00:00Z")
    assert before["Træningsenheden"].name == "Træningsenheden"
    assert [n.name for n in before["Træningsenheden"].names] == ["Træningsenheden"]
    assert after["Træningsenheden"].name == "Trænings- og Aktivitetscentret"
    pre_merger = await units_at("2025-09-01T09:59:59Z")
    post_merger = await units_at("2025-09-01T10:00:00Z")
    assert "Hjemmeplejen" not in pre_merger
    assert pre_merger["Hjemmeplejen Nord"].status == "active"
    assert post_merger["Hjemmeplejen Nord"].status != "active"
    assert post_merger["Hjemmeplejen"].predecessors == [
        pre_merger["Hjemmeplejen Nord"].unit_id,
        pre_merger["Hjemmeplejen Syd"].unit_id,
    ]
    for moment in ("2024-06-01T00:00:00Z", "2025-09-01T10:00:00Z", "2026-01-05T09:59:59Z"):
        travelled = expected(datetime.fromisoformat(moment))[org_key]
        response = await reader.get(f"{base}/organisation", params={"as_of": moment})
        assert response.json() == travelled
    # Before the organisation was established there is nothing to show.
    response = await reader.get(f"{base}/organisation", params={"as_of": "2024-01-09T00:00:00Z"})
    assert response.status_code == 404
