"""The shared test harness: the embedded default and the real PostgreSQL and Redis.

Tests that need a service fail, never skip, when it does not answer: a green run means the
production path was exercised. `make services` starts local services that are stopped.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from services.migrations import migrate
from services.persistence import citus
from services.settings import Settings
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY

# The harness's own inputs, not application settings, so they are read here.
DATABASE_URL = os.environ.get("BALKORT_TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = os.environ.get("BALKORT_TEST_REDIS_URL") or "redis://127.0.0.1:6379/15"
CONNECT_TIMEOUT_SECONDS = 5

POSTGRES_FIXTURES = frozenset({"postgres_url", "postgres_database_url", "unmigrated_database_url"})
REDIS_FIXTURES = frozenset({"redis_url"})


def _admin_connection() -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.OperationalError as error:
        reason = str(error).strip()
    pytest.fail(
        f"PostgreSQL does not answer at {DATABASE_URL} ({reason}). Start it with `make services` "
        "or point BALKORT_TEST_DATABASE_URL at one; these tests fail rather than skip.",
        pytrace=False,
    )


def expects_citus() -> bool:
    """Whether this run was asked to test a Citus cluster (BALKORT_TEST_CITUS=1, `make
    test-citus`): then a database that is plain PostgreSQL fails the run instead of being
    tested in its place."""
    return os.environ.get("BALKORT_TEST_CITUS", "") not in ("", "0")


def _create_database() -> str:
    dbname = f"balkort_test_{secrets.token_hex(6)}"
    with _admin_connection() as admin:
        if expects_citus() and not (citus.is_citus(admin) and len(citus.workers(admin)) >= 2):
            pytest.fail(
                f"BALKORT_TEST_CITUS is set but {DATABASE_URL} is not a Citus coordinator with two "
                "workers (start one with `deploy/local/citus.sh start`)",
                pytrace=False,
            )
    citus.create_database(DATABASE_URL, dbname)
    return dbname


def _migrated(url: str) -> str:
    """The database at `url` brought to this release's schema, as `balkort migrate` does."""
    migrate(Settings(database_url=url))
    return url


def _drop_database(dbname: str) -> None:
    citus.drop_database(DATABASE_URL, dbname)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the whole run, dropped afterwards.

    Tests share it: every tenant lives in its own schema named after a random tenant id.
    """
    dbname = _create_database()
    try:
        yield _migrated(citus.with_database(DATABASE_URL, dbname))
    finally:
        _drop_database(dbname)


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own, for tests that need isolation (counting connections)."""
    dbname = _create_database()
    try:
        yield _migrated(citus.with_database(DATABASE_URL, dbname))
    finally:
        _drop_database(dbname)


@pytest.fixture
def unmigrated_database_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own as a new deployment finds it: empty, not migrated."""
    dbname = _create_database()
    try:
        yield citus.with_database(DATABASE_URL, dbname)
    finally:
        _drop_database(dbname)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis database tests use, emptied at the start of the run."""
    client = redis.Redis.from_url(
        REDIS_URL,
        socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        socket_timeout=CONNECT_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
        client.flushdb()
    except redis.RedisError as error:
        reason = str(error).strip()
    else:
        return REDIS_URL
    finally:
        client.close()
    pytest.fail(
        f"Redis does not answer at {REDIS_URL} ({reason}). Start it with `make services` "
        "or point BALKORT_TEST_REDIS_URL at one; these tests fail rather than skip.",
        pytrace=False,
    )


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for each backend the same code runs on.

    sqlite: the embedded default (SQLite files under tmp_path, memory stores and channels).
    postgres: the real PostgreSQL and Redis, as in production.
    """
    data_dir = tmp_path / "data"
    if request.param == "sqlite":
        return Settings(data_dir=data_dir)
    # The tests of a run share one database, so one control plane and its wrapped tenant keys:
    # like every process of a deployment, they share one master key and one platform secret.
    return Settings(
        data_dir=data_dir,
        database_url=request.getfixturevalue("postgres_url"),
        redis_url=request.getfixturevalue("redis_url"),
        # Tests share one Redis database; each counts its requests apart from the others'.
        rate_limit_namespace=f"balkort:rate-limit:test-{secrets.token_hex(6)}",
        master_key=SESSION_MASTER_KEY,
        jwt_secret=SESSION_JWT_SECRET,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks tests by the services their fixtures reach, so `-m "not postgres"` selects honestly."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & POSTGRES_FIXTURES:
            item.add_marker(pytest.mark.postgres)
        if fixtures & REDIS_FIXTURES:
            item.add_marker(pytest.mark.redis)
