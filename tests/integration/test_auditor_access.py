"""Auditors are read-only, and every access an auditor makes is itself recorded: on the embedded
default and on PostgreSQL + Redis.

An auditor reads the engagement list, an engagement and the audit trail, asks for something
that is not there, and tries commands: each access is an `AuditorAccessed` event (method,
path, query, status) with the auditor as actor under the auditor role, in the tenant's audit
trail. A consultant's reads are not recorded. When the tenant's event store cannot take the
record, the auditor's request is refused with 503 while the same read by a consultant is
served. Two processes recording at once lose no access.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import msgspec

from domain.access_log import AccessLog, month_of
from domain.provenance import Provenance
from domain.roles import Role
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import Person, Story, onboard, register, serving, token_for

AUDIT = "/audit"


async def member(
    story: Story, tenant_id: UUID, role: Role, platform_role: Role | None = None
) -> tuple[Person, UUID]:
    """A user of their own with `role` in the tenant, signed in (a token as login issues it)."""
    user = await register(story.container, platform_role)
    await story.container.offloop(
        story.container.control.grant_membership, user.user_id, tenant_id, role, system_provenance("Test")
    )
    person = Person(story.client, token_for(story.client, user.user_id), base=f"/api/v1/tenants/{tenant_id}")
    return person, user.user_id


async def with_engagement(story: Story, name: str) -> tuple[UUID, Person, str]:
    """A tenant with an organisation, two units and an engagement; its consultant; the engagement id."""
    tenant_id = await onboard(story.container, name, "revision")
    consultant, _ = await member(story, tenant_id, Role.CONSULTANT, Role.CONSULTANT)
    await consultant.put("/organisation", {"name": name})
    units = [(await consultant.post("/organisation/units", {"name": n}))["unit_id"] for n in ("Syd", "Nord")]
    created = await consultant.post(
        "/engagements", {"title": "Samarbejde 2025", "theme_day": "2025-09-01", "unit_ids": units}
    )
    return tenant_id, consultant, created["engagement_id"]


async def accesses(reader: Person) -> list[dict[str, Any]]:
    """The auditor accesses in the reader's view of the audit trail, in the order recorded."""
    page = await reader.get(AUDIT, params={"event_type": "AuditorAccessed", "limit": 500})
    assert page["next_after"] is None
    rows: list[dict[str, Any]] = page["items"]
    return rows


def requests_of(rows: list[dict[str, Any]]) -> list[tuple[str, str, str, int]]:
    return [
        (r["details"]["method"], r["details"]["path"], r["details"]["query"], r["details"]["status"])
        for r in rows
    ]


async def test_every_access_of_an_auditor_is_recorded_in_the_audit_trail(story: Story) -> None:
    tenant_id, consultant, engagement_id = await with_engagement(story, "Søby Kommune")
    auditor, auditor_id = await member(story, tenant_id, Role.AUDITOR)
    base = f"/api/v1/tenants/{tenant_id}"
    missing = uuid4()

    # What the consultant reads is not recorded.
    await consultant.get("/engagements")
    await consultant.get(f"/engagements/{engagement_id}")

    listed = await auditor.get("/engagements")
    assert [e["engagement_id"] for e in listed] == [engagement_id]
    shown = await auditor.get(f"/engagements/{engagement_id}")
    assert shown["title"] == "Samarbejde 2025"
    trail = await auditor.get(AUDIT, params={"limit": 5})
    assert trail["items"]
    await auditor.get(f"/engagements/{missing}", expect=404)
    refused = await auditor.post("/engagements", {"title": "Nej", "unit_ids": []}, expect=403)
    assert refused["status"] == 403
    await auditor.put("/organisation", {"name": "Nej"}, expect=403)
    # Nothing of the refused commands happened.
    assert [e["engagement_id"] for e in await consultant.get("/engagements")] == [engagement_id]

    expected = [
        ("GET", f"{base}/engagements", "", 200),
        ("GET", f"{base}/engagements/{engagement_id}", "", 200),
        ("GET", f"{base}{AUDIT}", "limit=5", 200),
        ("GET", f"{base}/engagements/{missing}", "", 404),
        ("POST", f"{base}/engagements", "", 403),
        ("PUT", f"{base}/organisation", "", 403),
    ]
    rows = await accesses(consultant)
    assert requests_of(rows) == expected
    for row in rows:
        assert row["actor_id"] == str(auditor_id)
        assert row["actor_role"] == "auditor"
        assert row["aggregate_type"] == "AccessLog"
        assert row["command_name"] == "RecordAuditorAccess"
    # One log for the month, opened by the auditor's first access.
    month = month_of(datetime.fromisoformat(rows[0]["occurred_at"]))
    assert {r["aggregate_id"] for r in rows} == {str(AccessLog.id_for(tenant_id, month))}
    opened = await consultant.get(AUDIT, params={"event_type": "Opened", "aggregate_type": "AccessLog"})
    assert [(r["actor_id"], r["actor_role"]) for r in opened["items"]] == [(str(auditor_id), "auditor")]

    # The auditor sees the record too; the read is recorded as it is answered.
    assert requests_of(await accesses(auditor)) == expected
    assert requests_of(await accesses(consultant)) == [
        *expected,
        ("GET", f"{base}{AUDIT}", "event_type=AuditorAccessed&limit=500", 200),
    ]


async def test_an_auditor_is_refused_what_cannot_be_recorded(story: Story) -> None:
    tenant_id, consultant, engagement_id = await with_engagement(story, "Tarm Kommune")
    auditor, _ = await member(story, tenant_id, Role.AUDITOR)
    await auditor.get(f"/engagements/{engagement_id}")

    # The tenant's event store stops taking writes (as while the process shuts down); the read
    # models still answer.
    await story.container.offloop(story.container.tenants.close)

    shown = await consultant.get(f"/engagements/{engagement_id}")
    assert shown["title"] == "Samarbejde 2025"
    response = await auditor.client.get(
        f"{auditor.base}/engagements/{engagement_id}", headers=auditor.headers
    )
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"]
    problem = response.json()
    assert problem["type"].endswith(":access-not-recorded")
    assert "Samarbejde" not in response.text
    for method in ("GET", "POST"):
        refused = await auditor.client.request(method, f"{auditor.base}/engagements", headers=auditor.headers)
        assert refused.status_code == 503, refused.text
        assert "Samarbejde" not in refused.text


def auditor_provenance(tenant_id: UUID, auditor_id: UUID) -> Provenance:
    now = datetime.now(UTC)
    return Provenance(
        actor_id=auditor_id,
        actor_role=Role.AUDITOR,
        tenant_id=tenant_id,
        occurred_at=now,
        recorded_at=now,
        command_id=uuid4(),
        command_name="RecordAuditorAccess",
        correlation_id=uuid4().hex,
    )


async def test_two_processes_recording_at_once_lose_no_access(backend: Settings) -> None:
    # Snapshots every few accesses, taken by both processes as they go.
    settings = msgspec.structs.replace(backend, snapshot_interval=4)
    async with serving(settings, admin=None) as story:
        tenant_id = await onboard(story.container, "Vejen Kommune", "revision")
        second: Container = await asyncio.to_thread(build_container, settings)
        try:
            auditor_id = uuid4()
            per_thread, threads = 6, 4
            start = threading.Barrier(threads * 2)

            def record(container: Container, n: int) -> None:
                start.wait()
                for i in range(per_thread):
                    container.tenants.call(
                        tenant_id,
                        lambda app, i=i: app.record_auditor_access(
                            tenant_id,
                            "GET",
                            f"/api/v1/tenants/{tenant_id}/p{n}-{i}",
                            "",
                            200,
                            auditor_provenance(tenant_id, auditor_id),
                        ),
                    )

            # Threads of their own: the barrier needs every writer running at once.
            with ThreadPoolExecutor(max_workers=threads * 2) as pool:
                runs = [pool.submit(record, c, n) for n, c in enumerate([story.container, second] * threads)]
                await asyncio.to_thread(lambda: [run.result() for run in runs])
            total = per_thread * threads * 2
            month = month_of(datetime.now(UTC))

            def read(app: Any) -> tuple[int, list[str]]:
                log = app.repository.get(AccessLog.id_for(tenant_id, month))
                events = app.events.get(log.id)
                return log.accesses, [e.path for e in events if type(e).__name__ == "AuditorAccessed"]

            counted, paths = await story.container.offloop(story.container.tenants.call, tenant_id, read)
            assert counted == total
            assert sorted(paths) == sorted(
                f"/api/v1/tenants/{tenant_id}/p{n}-{i}" for n in range(threads * 2) for i in range(per_thread)
            )
        finally:
            await second.close()
