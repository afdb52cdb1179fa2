"""eventsourcing's own recorder test cases, run against the recorders Balkort deploys.

The recorders are built exactly as a tenant's application builds them: from
``application_env(settings, tenant_store_name(...))`` through the library's infrastructure
factory. PostgreSQL: a schema per tenant (created first, as onboarding does) with the
small per-tenant pool from Settings. SQLite: a file per tenant. Every test gets a fresh
tenant store, so each starts from empty tables as the library's cases expect.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.persistence import (
    AggregateRecorder,
    ApplicationRecorder,
    InfrastructureFactory,
    TrackingRecorder,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.tests import persistence as library_cases
from eventsourcing.utils import Environment
from psycopg import sql

from services.persistence import citus
from services.persistence.env import application_env, tenant_store_name
from services.settings import Settings

ADMIN_URL = os.environ.get("BALKORT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
APP_NAME = "TenantApp"

_state: dict[str, Any] = {}


@pytest.fixture(scope="module", autouse=True)
def scratch_database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    name = f"balkort_conformance_{uuid4().hex[:12]}"
    citus.create_database(ADMIN_URL, name)
    admin = Settings.from_environ({"DATABASE_URL": ADMIN_URL}).postgres
    _state["postgres"] = Settings(database_url=admin.dsn.rsplit("/", 1)[0] + "/" + name)
    _state["sqlite"] = Settings(data_dir=tmp_path_factory.mktemp("stores"))
    try:
        yield
    finally:
        citus.drop_database(ADMIN_URL, name)


class _TenantStore:
    """Builds recorders for a fresh tenant store; closes them afterwards."""

    settings_key = ""

    def setUp(self) -> None:
        super().setUp()  # type: ignore[misc]
        self.settings: Settings = _state[self.settings_key]
        self.tenant_id = uuid4()
        self.store = tenant_store_name(self.tenant_id)
        if self.settings.uses_postgres:
            with psycopg.connect(self.settings.postgres.dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.store)))
        self.factories: list[InfrastructureFactory] = []

    def tearDown(self) -> None:
        # The library's concurrency cases signal their reader threads to stop but do not join
        # them; closing a SQLite connection under a thread still reading from it crashes the
        # interpreter, so wait for those threads first.
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(timeout=10)
        for factory in self.factories:
            factory.close()
        if self.settings.uses_postgres:
            with psycopg.connect(self.settings.postgres.dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.store)))
        else:
            Path(application_env(self.settings, self.store)["SQLITE_DBNAME"]).unlink(missing_ok=True)
        super().tearDown()  # type: ignore[misc]

    def factory(self) -> InfrastructureFactory:
        env = application_env(self.settings, self.store)
        factory = InfrastructureFactory.construct(Environment(APP_NAME, env))
        self.factories.append(factory)
        return factory


class _Postgres(_TenantStore):
    settings_key = "postgres"


class _SQLite(_TenantStore):
    settings_key = "sqlite"


class TestPostgresTenantAggregateRecorder(_Postgres, library_cases.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory().aggregate_recorder("snapshots")


class TestPostgresTenantApplicationRecorder(_Postgres, library_cases.ApplicationRecorderTestCase):
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory().application_recorder()

    def test_recorder_is_in_tenant_schema(self) -> None:
        recorder = self.create_recorder()
        assert isinstance(recorder, PostgresApplicationRecorder)
        assert recorder.datastore.schema == self.store
        assert (
            recorder.datastore.pool.max_size
            == self.settings.tenant_pool_size + self.settings.tenant_pool_overflow
        )

    def test_insert_subscribe(self) -> None:
        # The library keeps this case optional because it needs LISTEN/NOTIFY.
        self.optional_test_insert_subscribe()


class TestPostgresTenantTrackingRecorder(_Postgres, library_cases.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory().tracking_recorder()


class TestSQLiteTenantAggregateRecorder(_SQLite, library_cases.AggregateRecorderTestCase):
    def create_recorder(self) -> AggregateRecorder:
        return self.factory().aggregate_recorder("snapshots")


class TestSQLiteTenantApplicationRecorder(_SQLite, library_cases.ApplicationRecorderTestCase):
    # SQLiteApplicationRecorder.subscribe is not implemented, so the optional subscribe
    # case is not run here (projections over SQLite pull instead).
    def create_recorder(self) -> ApplicationRecorder:
        return self.factory().application_recorder()


class TestSQLiteTenantTrackingRecorder(_SQLite, library_cases.TrackingRecorderTestCase):
    def create_recorder(self) -> TrackingRecorder:
        return self.factory().tracking_recorder()
