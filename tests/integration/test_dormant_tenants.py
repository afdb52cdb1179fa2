"""Hundreds of tenants, a handful of open stores: dormant tenants hold no connections or threads."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import UUID, uuid4

import psycopg
import pytest
from eventsourcing.domain import Aggregate, event

from services.persistence import citus
from services.persistence.base import BalkortApplication
from services.settings import Settings
from services.tenancy import TenantStores, TenantStoresBusy, UnknownTenant
from tests.keys import SESSION_SECRETS

ADMIN_URL = os.environ.get("BALKORT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


class Note(Aggregate):
    text: str
    author: UUID

    def __init__(self, text: str, author: UUID) -> None:
        self.text = text
        self.author = author

    @event("Edited")
    def edit(self, text: str) -> None:
        self.text = text


class NotesApp(BalkortApplication):
    # The tenant's tables as its migrations make them (services/migrations.py).
    name = "TenantApplication"

    def write(self, text: str) -> UUID:
        note = Note(text=text, author=uuid4())
        self.save(note)
        return note.id

    def read(self, note_id: UUID) -> Note:
        note = self.repository.get(note_id)
        assert isinstance(note, Note)
        return note


@pytest.fixture(scope="module")
def database() -> Iterator[tuple[str, str]]:
    name = f"balkort_tenants_{uuid4().hex[:12]}"
    citus.create_database(ADMIN_URL, name)
    base = Settings(database_url=ADMIN_URL).postgres.dsn.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}", name
    finally:
        citus.drop_database(ADMIN_URL, name)


def _server_connections(url: str, dbname: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (dbname,)).fetchone()
    assert row is not None
    return int(row[0])


def test_two_tenants_alternately_on_postgres(database: tuple[str, str]) -> None:
    # Each tenant's datastore has its own pool, so psycopg's per-connection composite
    # adapter for `stored_event_uuid` always belongs to that tenant's schema.
    url, _ = database
    stores = TenantStores(Settings(database_url=url, open_tenants=2, **SESSION_SECRETS), NotesApp)
    a, b = uuid4(), uuid4()
    stores.onboard(a)
    stores.onboard(b)
    written: dict[UUID, list[tuple[UUID, str]]] = {a: [], b: []}
    for i in range(10):
        for tenant in (a, b):
            text = f"{tenant.hex[:6]}-{i}"
            written[tenant].append((stores.call(tenant, lambda app, t=text: app.write(t)), text))
    for tenant, notes in written.items():
        with stores.lease(tenant) as app:
            for note_id, text in notes:
                assert app.read(note_id).text == text
            other = b if tenant == a else a
            assert not any(n in app.repository for n, _ in written[other])
            assert len(app.recorder.select_notifications(start=None, limit=100)) == 10
    stores.close()


def test_dormant_tenants_cost_no_connections_or_threads(database: tuple[str, str]) -> None:
    url, dbname = database
    settings = Settings(database_url=url, open_tenants=8, **SESSION_SECRETS)
    per_store = settings.tenant_pool_size + settings.tenant_pool_overflow
    stores = TenantStores(settings, NotesApp)
    threads_before = threading.active_count()
    tenants = [uuid4() for _ in range(200)]
    written: dict[UUID, UUID] = {}
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=settings.worker_threads) as pool:
        list(pool.map(stores.onboard, tenants))
        threads_with_pool = threading.active_count()
        ids = pool.map(lambda t: stores.call(t, lambda app: app.write(f"hello {t}")), tenants)
        written = dict(zip(tenants, ids, strict=True))
    elapsed = time.perf_counter() - started

    connections = _server_connections(url, dbname)
    # +2: the connection counting them, and slack for a just-closed backend still exiting.
    assert connections <= settings.open_tenants * per_store + 2, connections
    assert stores.open_count <= settings.open_tenants
    # Threads: the pool workers plus at most `open_tenants` stores' pool threads; not per tenant.
    assert threading.active_count() <= threads_with_pool + settings.open_tenants * 2
    assert threading.active_count() - threads_before < 60

    with ThreadPoolExecutor(max_workers=settings.worker_threads) as pool:
        read = pool.map(lambda t: stores.call(t, lambda app: app.read(written[t]).text), tenants)
        texts = dict(zip(tenants, read, strict=True))
    assert texts == {t: f"hello {t}" for t in tenants}
    assert _server_connections(url, dbname) <= settings.open_tenants * per_store + 2
    print(f"\n200 tenants onboarded and written in {elapsed:.1f}s")

    stores.close()
    assert stores.open_count == 0


def test_unknown_tenant_is_not_created_on_postgres(database: tuple[str, str]) -> None:
    url, _ = database
    stores = TenantStores(Settings(database_url=url, open_tenants=2, **SESSION_SECRETS), NotesApp)
    stranger = uuid4()
    with pytest.raises(UnknownTenant):
        stores.call(stranger, lambda app: app.write("x"))
    assert not stores.exists(stranger)
    stores.close()


def test_lru_on_sqlite_evicts_idle_store_but_never_a_leased_one(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, open_tenants=2, tenant_lease_timeout=0.5)
    stores = TenantStores(settings, NotesApp)
    a, b, c = uuid4(), uuid4(), uuid4()
    for t in (a, b, c):
        stores.onboard(t)
    with pytest.raises(UnknownTenant):
        stores.call(uuid4(), lambda app: app.write("x"))
    assert len(list((tmp_path / "stores").glob("*.sqlite3"))) == 3

    with stores.lease(a) as app_a:
        note = app_a.write("kept")
        stores.call(b, lambda app: app.write("b"))
        stores.call(c, lambda app: app.write("c"))  # evicts b, not the leased a
        assert app_a.read(note).text == "kept"
        assert stores.open_count == 2
    # Both slots leased: a third tenant waits, then gives up.
    release = threading.Event()

    def hold(tenant: UUID) -> None:
        with stores.lease(tenant):
            release.wait(5)

    holders = [threading.Thread(target=hold, args=(t,)) for t in (a, c)]
    for h in holders:
        h.start()
    time.sleep(0.1)

    with pytest.raises(TenantStoresBusy):
        stores.call(b, lambda app: app.write("late"))
    release.set()
    for h in holders:
        h.join()
    assert stores.call(b, lambda app: app.write("now")) is not None
    stores.close()
