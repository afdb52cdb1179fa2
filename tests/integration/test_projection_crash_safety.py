"""A projector killed at random points is safe: while commands keep coming, the projector process
is SIGKILLed again and again and restarted; once it has caught up, its views equal a clean
rebuild from position 0 — documents, audit rows and lineage. On PostgreSQL with the production
worker, and on SQLite with a process that catches up in small batches."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.phases import Phase
from domain.roles import Role
from projections.postgres_views import PostgresEventSource, PostgresViewStore
from projections.projector import catch_up
from projections.sqlite_views import SQLiteEventSource, SQLiteViewStore
from services.application import TenantApplication
from services.bootstrap import Container, build_container
from services.demo import Actor, EngagementStory, at, seed_demo
from services.persistence.env import tenant_store_name
from services.settings import Settings
from tests.commanding import add_unit, rename_unit
from tests.keys import SESSION_SECRETS, SESSION_SECRETS_ENV
from tests.views_snapshot import AfterEachCall, assert_same_views, postgres_views, sqlite_views

ROOT = Path(__file__).resolve().parents[2]

WORKER = """
import logging, sys
from pathlib import Path
from services.readmodel.worker import run_projector
from services.settings import Settings
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s: %(message)s")
run_projector(
    Settings.from_environ().with_changes(database_url=sys.argv[1], data_dir=Path(sys.argv[2]), projector_poll_seconds=0.2)
)
"""

SQLITE_PROJECTOR = """
import random, sys, time
from pathlib import Path
from projections.projector import catch_up
from projections.sqlite_views import SQLiteEventSource, SQLiteViewStore
from uuid import UUID
from services.persistence.keys import TenantKeys
from services.persistence.mappers import TenantMappers
from services.settings import Settings
# The tenant's own mapper: the same data directory holds the master key and the tenant keys.
mapper = TenantMappers(TenantKeys(Settings(data_dir=Path(sys.argv[3]))).get)(UUID(sys.argv[4]))
source = SQLiteEventSource(Path(sys.argv[1]), mapper)
store = SQLiteViewStore(Path(sys.argv[2]))
rng = random.Random()
print("started", flush=True)
while True:
    if not catch_up(source, store, mapper, batch_size=rng.randint(1, 7)):
        time.sleep(0.01)
"""

NEW_UNITS = ("Demensteamet", "Hospice Lyngly", "Madservice", "Hjælpemiddeldepotet", "Frivilligcentret")


def paced_service(app: TenantApplication, rng: random.Random) -> AfterEachCall:
    """The application service with a short, random pause after every call: a burst of
    commands spread over a few seconds."""
    return AfterEachCall(app, lambda: time.sleep(rng.uniform(0.0, 0.03)))


def burst(container: Container, tenant_id: UUID, rng: random.Random) -> threading.Thread:
    """New units, a rename and a fourth engagement, made in the background (an exception is
    kept on the thread as `failed`)."""
    # Command ids of their own: the seeded history used the demo's first numbers.
    client = Actor(tenant_id, uuid4(), Role.CLIENT_ADMIN, [100_000])
    facilitator = Actor(tenant_id, uuid4(), Role.CONSULTANT, [200_000])

    def build(app: TenantApplication) -> None:
        paced = paced_service(app, rng)
        units = {
            n: add_unit(paced, tenant_id, n, client.at(at(date(2026, 5, 4)), "AddUnit")) for n in NEW_UNITS
        }
        rename_unit(
            paced,
            tenant_id,
            units["Madservice"],
            "Mad og Måltider",
            client.at(at(date(2026, 5, 5)), "RenameUnit"),
        )
        story = EngagementStory(paced, facilitator, client, rng, {})  # type: ignore[arg-type]
        story.run(2026, "Demens og pleje 2026", units, date(2026, 6, 16), Phase.FOLLOW_THROUGH)

    def run() -> None:
        try:
            container.tenants.call(tenant_id, build)
        except BaseException as error:
            thread.failed = error  # type: ignore[attr-defined]
            raise

    thread = threading.Thread(target=run, daemon=True)
    thread.failed = None  # type: ignore[attr-defined]
    thread.start()
    return thread


def wait_for(check: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds}s")


def wait_while_advancing(
    position: Callable[[], int], target: Callable[[], int], stalled_seconds: float
) -> None:
    """Waits until `position` reaches `target`, for as long as it keeps moving: only a projector
    that makes no progress for `stalled_seconds` fails, however slow a loaded machine is."""
    seen = position()
    moved = time.monotonic()
    while seen != target():
        time.sleep(0.05)
        now = position()
        if now != seen:
            seen, moved = now, time.monotonic()
        elif time.monotonic() - moved > stalled_seconds:
            raise AssertionError(f"stalled at {seen} of {target()} for {stalled_seconds}s")


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL


def kill_repeatedly(
    start: Callable[[], subprocess.Popen[str]],
    writing: threading.Thread,
    rng: random.Random,
    position: Callable[[], int],
    head: Callable[[], int],
    *,
    first_delay: tuple[float, float],
) -> list[tuple[int, int]]:
    """Starts the projector and SIGKILLs it at random moments while `writing` runs (3 to 5
    times); returns the (position, head) seen at each kill. The last run is killed only after it
    has moved the position, so at least one kill interrupts real work on any machine."""
    kills: list[tuple[int, int]] = []
    runs = rng.randint(3, 5)
    for run in range(runs):
        before = position()
        process = start()
        try:
            if run == runs - 1:
                wait_for(lambda start=before: position() > start or position() == head(), 300)
            time.sleep(rng.uniform(*first_delay))
        finally:
            kill(process)
        kills.append((position(), head()))
    writing.join(timeout=600)
    assert not writing.is_alive()
    assert writing.failed is None  # type: ignore[attr-defined]
    return kills


# -- PostgreSQL: the production worker -----------------------------------------------------------


@pytest.fixture
def pg(postgres_database_url: str, tmp_path: Path) -> Iterator[tuple[Settings, Container, ConnectionPool]]:
    settings = Settings(database_url=postgres_database_url, data_dir=tmp_path / "data", **SESSION_SECRETS)
    container = build_container(settings)
    with ConnectionPool(postgres_database_url, min_size=1, max_size=2, kwargs={"autocommit": True}) as pool:
        try:
            yield settings, container, pool
        finally:
            container.tenants.close()
            container.control.close()


@pytest.mark.slow
def test_the_worker_killed_at_random_moments_ends_with_the_views_of_a_clean_rebuild(
    pg: tuple[Settings, Container, ConnectionPool], tmp_path: Path
) -> None:
    settings, container, pool = pg
    rng = random.Random()
    tenant_id = seed_demo(container)
    schema = tenant_store_name(tenant_id)
    mapper = container.mappers(tenant_id)
    source = PostgresEventSource(pool, schema, mapper)
    log = tmp_path / "worker.log"

    def start() -> subprocess.Popen[str]:
        """A worker process, returned once it is running (listening), however long a loaded
        machine takes to start it: the random kills then land while it works."""
        listening = log.read_text().count("listening on") if log.exists() else 0
        with log.open("a") as err:
            process = subprocess.Popen(
                # The worker holds the same secrets as the writers, as in a deployment.
                [sys.executable, "-c", WORKER, settings.postgres.dsn, str(settings.data_dir)],
                cwd=ROOT,
                env={**os.environ, **SESSION_SECRETS_ENV, "PYTHONPATH": str(ROOT)},
                stderr=err,
                text=True,
            )
        wait_for(lambda: log.read_text().count("listening on") > listening or process.poll() is not None, 300)
        assert process.poll() is None, log.read_text()
        return process

    def position() -> int:
        with pool.connection() as conn:
            row = conn.execute(
                sql.SQL("SELECT to_regclass({}) IS NOT NULL").format(sql.Literal(f'"{schema}".view_position'))
            ).fetchone()
            if not row or not row[0]:
                return 0
            found = conn.execute(
                sql.SQL("SELECT position FROM {}.view_position").format(sql.Identifier(schema))
            ).fetchone()
        return 0 if found is None else int(found[0])

    writing = burst(container, tenant_id, rng)
    kills = kill_repeatedly(start, writing, rng, position, source.head, first_delay=(0.05, 1.5))
    assert any(at > 0 for at, _ in kills), (kills, log.read_text())

    final = start()
    try:
        # Running (its SIGTERM handler installed, as start() saw it listen) and caught up.
        wait_while_advancing(position, source.head, stalled_seconds=60)
    finally:
        final.send_signal(signal.SIGTERM)
        final.wait(timeout=15)
    assert final.returncode == 0, log.read_text()

    rebuilt = f"rebuilt_{uuid4().hex[:8]}"
    with pool.connection() as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(rebuilt)))
    applied = catch_up(source, PostgresViewStore(pool, rebuilt), mapper)
    assert applied == source.head() > 500
    expected = postgres_views(pool, rebuilt)
    got = postgres_views(pool, schema)
    assert_same_views(got, expected, kills)
    assert len(got["audit"]) == applied


# -- SQLite: a process catching up in small batches ----------------------------------------------


@pytest.mark.slow
def test_a_sqlite_projector_killed_at_random_moments_ends_with_the_views_of_a_clean_rebuild(
    tmp_path: Path,
) -> None:
    container = build_container(Settings(data_dir=tmp_path / "data"))
    try:
        rng = random.Random()
        tenant_id = seed_demo(container)
        stores = tmp_path / "data" / "stores"
        events = stores / f"{tenant_store_name(tenant_id)}.sqlite3"
        views = stores / f"{tenant_store_name(tenant_id)}.views.sqlite3"
        mapper = container.mappers(tenant_id)
        source = SQLiteEventSource(events, mapper)
        store = SQLiteViewStore(views)

        def head() -> int:
            with closing(sqlite3.connect(events)) as conn:
                return int(conn.execute("SELECT coalesce(max(rowid), 0) FROM stored_events").fetchone()[0])

        def start() -> subprocess.Popen[str]:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    SQLITE_PROJECTOR,
                    str(events),
                    str(views),
                    str(tmp_path / "data"),
                    str(tenant_id),
                ],
                cwd=ROOT,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.PIPE,
                text=True,
            )
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "started"
            return process

        writing = burst(container, tenant_id, rng)
        kills = kill_repeatedly(start, writing, rng, store.position, head, first_delay=(0.05, 0.6))
        assert any(at > 0 for at, _ in kills), kills

        final = start()
        try:
            wait_while_advancing(store.position, head, stalled_seconds=60)
        finally:
            kill(final)
    finally:
        container.tenants.close()
        container.control.close()

    rebuilt = SQLiteViewStore(tmp_path / "rebuilt.views.sqlite3")
    applied = catch_up(source, rebuilt, mapper)
    assert applied == head() > 500
    expected = sqlite_views(rebuilt.path)
    got = sqlite_views(views)
    assert_same_views(got, expected, kills)
    assert len(got["audit"]) == applied
