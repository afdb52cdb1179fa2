"""Read models on PostgreSQL: the same views as the SQLite backend, the position guard, the
one-query wake-up, rebuilds that keep serving, and the projector process."""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import msgspec
import psycopg
import pytest
from psycopg import sql

from domain.phases import Phase
from domain.provenance import Provenance
from domain.roles import Role
from projections.postgres_behind import tenants_with_new_events
from projections.postgres_views import (
    PostgresEventSource,
    PostgresViewBackend,
    PostgresViewStore,
)
from projections.projector import PositionMoved, catch_up, keys_touched, project
from projections.sqlite_views import SQLiteViewStore
from services.application import TenantApplication
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.demo import UNITS, Actor, EngagementStory, at
from services.persistence.env import tenant_store_name
from services.readmodel.rebuild import rebuild
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests import commanding
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY, SESSION_SECRETS, SESSION_SECRETS_ENV
from tests.views_snapshot import postgres_views, sqlite_views

ROOT = Path(__file__).resolve().parents[2]


def close(container: Container) -> None:
    if isinstance(container.views, PostgresViewBackend):
        container.views.close_blocking()
    container.tenants.close()
    container.control.close()


@pytest.fixture
def container(postgres_url: str, tmp_path: Path) -> Iterator[Container]:
    built = build_container(
        Settings(
            database_url=postgres_url,
            data_dir=tmp_path / "data",
            master_key=SESSION_MASTER_KEY,
            jwt_secret=SESSION_JWT_SECRET,
        )
    )
    try:
        yield built
    finally:
        close(built)


def onboard(container: Container) -> UUID:
    slug = f"views-{secrets.token_hex(5)}"
    return onboard_tenant(container, f"Kommune {slug}", slug, system_provenance("Test"))


def provenance(tenant_id: UUID, command: str) -> Provenance:
    now = datetime.now(UTC)
    return Provenance(
        actor_id=uuid4(),
        actor_role=Role.CLIENT_ADMIN,
        tenant_id=tenant_id,
        occurred_at=now,
        recorded_at=now,
        command_id=uuid4(),
        command_name=command,
        correlation_id=f"test-{uuid4().hex[:8]}",
    )


def establish(container: Container, tenant_id: UUID) -> UUID:
    return container.tenants.call(
        tenant_id,
        lambda app: commanding.establish_organisation(
            app, tenant_id, "Organisation", provenance(tenant_id, "Establish")
        ),
    )


def add_unit(container: Container, tenant_id: UUID, name: str) -> UUID:
    return container.tenants.call(
        tenant_id, lambda app: commanding.add_unit(app, tenant_id, name, provenance(tenant_id, "AddUnit"))
    )


def seed_story(container: Container) -> UUID:
    """A tenant with a year of the method behind it (ratings, cards, dialogues, decisions)."""
    tenant_id = onboard(container)
    facilitator = Actor(tenant_id, uuid4(), Role.CONSULTANT)
    client = Actor(tenant_id, uuid4(), Role.CLIENT_ADMIN)

    def build(app: TenantApplication) -> None:
        commanding.establish_organisation(
            app, tenant_id, "Søby", client.at(at(date(2024, 1, 10)), "Establish")
        )
        units = {
            n: commanding.add_unit(app, tenant_id, n, client.at(at(date(2024, 1, 10)), "AddUnit"))
            for n in UNITS[:6]
        }
        story = EngagementStory(app, facilitator, client, random.Random(7), {})
        story.run(2024, "Sammen 2024", units, date(2024, 3, 12), Phase.FOLLOW_THROUGH)

    container.tenants.call(tenant_id, build)
    return tenant_id


def pg_documents(container: Container, tenant_id: UUID) -> dict[str, bytes]:
    schema = sql.Identifier(tenant_store_name(tenant_id))
    with container.views.open_pool().connection() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(sql.SQL("SELECT key, body FROM {}.view_documents").format(schema)).fetchall()
    return {key: bytes(body) for key, body in rows}


def pg_count(container: Container, schema: str, table: str) -> int:
    with container.views.open_pool().connection() as conn:  # type: ignore[attr-defined]
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, table))
        ).fetchone()
    assert row is not None
    return int(row[0])


def catch_up_pg(container: Container, tenant_id: UUID) -> int:
    views = container.views
    return catch_up(
        views.source_for(tenant_id), views.store_for(tenant_id), container.projections.mappers(tenant_id)
    )


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return datetime.fromisoformat(value).astimezone(UTC).isoformat()


def test_catch_up_on_postgres_matches_sqlite(container: Container, tmp_path: Path) -> None:
    tenant_id = seed_story(container)
    mapper = container.projections.mappers(tenant_id)
    source = container.views.source_for(tenant_id)
    assert isinstance(source, PostgresEventSource)
    applied = catch_up_pg(container, tenant_id)
    head = source.head()
    assert applied == head > 100

    sqlite_store = SQLiteViewStore(tmp_path / "copy.views.sqlite3")
    assert catch_up(source, sqlite_store, mapper, batch_size=37) == applied
    assert sqlite_store.position() == container.views.store_for(tenant_id).position() == head

    with closing(sqlite3.connect(sqlite_store.path)) as lite:
        expected_docs = {k: bytes(b) for k, b in lite.execute("SELECT key, body FROM view_documents")}
    expected = sqlite_views(sqlite_store.path)
    expected_audit, expected_nodes, expected_links = expected["audit"], expected["nodes"], expected["links"]
    assert pg_documents(container, tenant_id) == expected_docs
    assert {k.partition(":")[0] for k in expected_docs} == {"organisation", "engagement"}

    got = postgres_views(container.views.open_pool(), tenant_store_name(tenant_id))  # type: ignore[attr-defined]
    audit, nodes, links = got["audit"], got["nodes"], got["links"]

    def audit_key(row: Any) -> tuple[Any, ...]:
        ids = (str(row[1]), str(row[5]), str(row[10]))
        times = (_iso(row[7]), _iso(row[8]))
        texts = (row[2], row[3], row[4], row[6], row[9], row[11])
        return (row[0], ids, times, texts, msgspec.json.decode(row[12]), msgspec.json.decode(row[13]))

    assert len(audit) == len(expected_audit) == applied
    assert [audit_key(r) for r in audit] == [audit_key(r) for r in expected_audit]

    def node_key(row: Any) -> tuple[Any, ...]:
        node_id, kind, engagement, label, actor, role, occurred, position = row
        return (node_id, kind, str(engagement), label, str(actor), role, _iso(occurred), position)

    assert nodes
    assert [node_key(r) for r in nodes] == [node_key(r) for r in expected_nodes]
    assert links
    assert [tuple(r) for r in links] == [tuple(r) for r in expected_links]


async def test_async_queries_read_the_same_documents(postgres_url: str, tmp_path: Path) -> None:
    built = build_container(
        Settings(
            database_url=postgres_url,
            data_dir=tmp_path / "data",
            master_key=SESSION_MASTER_KEY,
            jwt_secret=SESSION_JWT_SECRET,
        )
    )
    try:
        tenant_id = seed_story(built)
        never_projected = onboard(built)
        catch_up_pg(built, tenant_id)
        expected = pg_documents(built, tenant_id)
        views = built.views
        for key, body in expected.items():
            assert await views.document(tenant_id, key) == body
        engagements = await views.documents(tenant_id, "engagement")
        assert engagements == [b for k, b in expected.items() if k.startswith("engagement:")]
        assert await views.position(tenant_id) == views.source_for(tenant_id).head()  # type: ignore[attr-defined]
        assert await views.document(tenant_id, "engagement:nothing") is None
        # A tenant whose views were never created reads as empty, not as an error.
        assert await views.document(never_projected, "organisation:x") is None
        assert await views.documents(never_projected, "engagement") == []
        assert await views.position(never_projected) == 0
    finally:
        await built.close()


def test_position_guard_applies_a_batch_once(container: Container) -> None:
    tenant_id = onboard(container)
    establish(container, tenant_id)
    for n in range(5):
        add_unit(container, tenant_id, f"Enhed {n}")
    pool = container.views.open_pool()  # type: ignore[attr-defined]
    schema = tenant_store_name(tenant_id)
    first, second = PostgresViewStore(pool, schema), PostgresViewStore(pool, schema)
    mapper = container.projections.mappers(tenant_id)
    records = container.views.source_for(tenant_id).read(0, 100)
    assert len(records) == 6
    batch = project(0, records, first.states(keys_touched(records)), mapper)
    first.commit(batch)
    with pytest.raises(PositionMoved):
        second.commit(batch)
    assert second.position() == records[-1].position
    assert pg_count(container, schema, "audit_events") == 6

    # Racing commits of the next batch from two threads: exactly one wins.
    add_unit(container, tenant_id, "Enhed 5")
    more = container.views.source_for(tenant_id).read(first.position(), 100)
    next_batch = project(first.position(), more, first.states(keys_touched(more)), mapper)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def commit(store: PostgresViewStore) -> None:
        barrier.wait()
        try:
            store.commit(next_batch)
            outcomes.append("committed")
        except PositionMoved:
            outcomes.append("moved")

    threads = [threading.Thread(target=commit, args=(s,)) for s in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["committed", "moved"]
    assert pg_count(container, schema, "audit_events") == 7
    # Reading on from the new position applies nothing twice.
    assert catch_up(container.views.source_for(tenant_id), second, mapper) == 0


def test_tenants_with_new_events_finds_exactly_those_behind(container: Container) -> None:
    projected, behind, empty, unviewed = (onboard(container) for _ in range(4))
    for tenant_id in (projected, behind, unviewed):
        establish(container, tenant_id)
    catch_up_pg(container, projected)
    catch_up_pg(container, behind)
    add_unit(container, behind, "Ny enhed")
    container.views.store_for(empty)  # views, no events
    # `unviewed` has events but no view tables: the query must not fail on it.
    with psycopg.connect(container.settings.postgres.dsn, autocommit=True) as conn:
        found = tenants_with_new_events(conn, [projected, behind, empty, unviewed])
        assert sorted(found) == sorted([behind, unviewed])
        catch_up_pg(container, behind)
        catch_up_pg(container, unviewed)
        assert tenants_with_new_events(conn, [projected, behind, empty, unviewed]) == []
        add_unit(container, projected, "Endnu en")
        assert tenants_with_new_events(conn, [projected, behind, empty, unviewed]) == [projected]
    # In a transaction (not autocommit) the fallback path leaves the connection usable.
    brand_new = onboard(container)
    establish(container, brand_new)
    with psycopg.connect(container.settings.postgres.dsn) as conn:
        assert sorted(tenants_with_new_events(conn, [projected, brand_new])) == sorted([projected, brand_new])
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_rebuild_gives_identical_views_and_keeps_serving(postgres_url: str, tmp_path: Path) -> None:
    settings = Settings(
        database_url=postgres_url,
        data_dir=tmp_path / "data",
        master_key=SESSION_MASTER_KEY,
        jwt_secret=SESSION_JWT_SECRET,
    )
    built = build_container(settings)
    try:
        tenant_id = seed_story(built)
        catch_up_pg(built, tenant_id)
        before = pg_documents(built, tenant_id)
        schema = tenant_store_name(tenant_id)
        audit_before = pg_count(built, schema, "audit_events")
        key = next(k for k in before if k.startswith("engagement:"))
        seen: list[tuple[UUID, int, int]] = []
        result: list[tuple[int, float]] = []
        failures: list[BaseException] = []

        def run() -> None:
            try:
                result.append(rebuild(settings, tenant_id, lambda *a: seen.append(a)))
            except BaseException as error:
                failures.append(error)

        reads = 0

        async def read_while_rebuilding() -> None:
            nonlocal reads
            worker = threading.Thread(target=run)
            worker.start()
            while worker.is_alive():
                assert await built.views.document(tenant_id, key) == before[key]
                reads += 1
            worker.join()
            # Right after the swap the documents read through the query pool as before.
            for k, body in before.items():
                assert await built.views.document(tenant_id, k) == body
            await built.views.close()

        asyncio.run(read_while_rebuilding())
        assert not failures
        assert reads > 0
        (events, seconds) = result[0]
        assert events == built.views.source_for(tenant_id).head()  # type: ignore[attr-defined]
        assert seconds > 0
        assert seen[-1][1] == events
        assert {s[0] for s in seen} == {tenant_id}
        assert pg_documents(built, tenant_id) == before
        assert pg_count(built, schema, "audit_events") == audit_before
        with psycopg.connect(settings.postgres.dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema + "_rebuild",)
            ).fetchone()
            assert row == (0,)
        # The live projector carries on from the rebuilt position.
        add_unit(built, tenant_id, "Efter genopbygning")
        assert catch_up_pg(built, tenant_id) == 1
    finally:
        close(built)


def test_rebuild_on_sqlite(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    built = build_container(settings)
    try:
        tenant_id = seed_story(built)
        assert built.projections.catch_up_now(tenant_id) > 100
        store = built.views.store_for(tenant_id)
        assert isinstance(store, SQLiteViewStore)
        before = {k: store.document(k) for k in keys_of(store)}
        events, _ = rebuild(settings, None, None)
        assert events == store.position()
        assert {k: store.document(k) for k in keys_of(store)} == before
        assert not list((tmp_path / "data" / "stores").glob("*.rebuild*"))
    finally:
        close(built)


def keys_of(store: SQLiteViewStore) -> list[str]:
    with closing(sqlite3.connect(store.path)) as lite:
        return [k for (k,) in lite.execute("SELECT key FROM view_documents")]


WORKER = """
import logging, sys
from services.readmodel.worker import run_projector
from services.settings import Settings
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
run_projector(Settings.from_environ().with_changes(database_url=sys.argv[1],
              data_dir=__import__("pathlib").Path(sys.argv[2]), projector_poll_seconds=float(sys.argv[3])))
"""


def wait_for(check: Callable[[], bool], seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds}s")


def listen_pids(dsn: str) -> list[int]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN%%'"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


@pytest.mark.slow
def test_projector_process_wakes_on_notify_and_survives_a_killed_listen(
    postgres_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=postgres_database_url, data_dir=tmp_path / "data", **SESSION_SECRETS)
    built = build_container(settings)
    # A poll far slower than the deadline: only the notification can make it in time.
    process = subprocess.Popen(
        # The same secrets as the process that writes, as every process of a deployment.
        [sys.executable, "-c", WORKER, postgres_database_url, str(settings.data_dir), "30"],
        cwd=ROOT,
        env={**os.environ, **SESSION_SECRETS_ENV, "PYTHONPATH": str(ROOT)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        dsn = settings.postgres.dsn
        wait_for(lambda: len(listen_pids(dsn)) == 1, 20)
        tenant_id = onboard(built)
        org = establish(built, tenant_id)
        key = f"organisation:{org}"
        store = built.views.store_for(tenant_id)
        assert isinstance(store, PostgresViewStore)
        assert wait_for(lambda: store.document(key) is not None, 2.5) < 2.5
        unit = add_unit(built, tenant_id, "Akutteamet")
        wait_for(lambda: str(unit) in (store.document(key) or b"").decode(), 2.5)

        (killed,) = listen_pids(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s::integer)", (killed,))
        wait_for(lambda: listen_pids(dsn) not in ([], [killed]), 10)
        time.sleep(0.3)  # the reconnect's own catch-up round has passed
        unit = add_unit(built, tenant_id, "Træningsenheden")
        wait_for(lambda: str(unit) in (store.document(key) or b"").decode(), 2.5)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
        close(built)
    assert process.returncode == 0, stderr
    assert "events/s" in stderr
    assert "LISTEN connection lost" in stderr
    assert "projector stopped" in stderr


def test_a_worker_that_reads_documents_newer_than_its_position_reads_on(container: Container) -> None:
    """Two workers of one tenant: the second reads the position, then (before it reads the
    documents) the first commits the same events. Its documents are then newer than its events;
    it drops the batch as the position guard would, and reads on from the new position."""
    tenant_id = onboard(container)
    establish(container, tenant_id)
    pool = container.views.open_pool()  # type: ignore[attr-defined]
    schema = tenant_store_name(tenant_id)
    first, second = PostgresViewStore(pool, schema), PostgresViewStore(pool, schema)
    mapper = container.projections.mappers(tenant_id)
    source = container.views.source_for(tenant_id)
    catch_up(source, first, mapper)
    for n in range(3):
        add_unit(container, tenant_id, f"Enhed {n}")

    class Overtaken:
        """`second`, overtaken by `first` between reading its position and the documents."""

        def __getattr__(self, name: str) -> Any:
            return getattr(second, name)

        def states(self, keys: Any) -> dict[str, bytes]:
            catch_up(source, first, mapper)
            return second.states(keys)

    with pytest.raises(PositionMoved):
        catch_up(source, Overtaken(), mapper)  # type: ignore[arg-type]
    assert catch_up(source, second, mapper) == 0
    assert pg_count(container, schema, "audit_events") == 4
