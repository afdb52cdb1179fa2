"""Projection catch-up on PostgreSQL: events/s against reading and decoding the same log raw.

Setup: a fresh PostgreSQL database (random name, dropped at the end) and one onboarded tenant.
Its history is generated in memory, fast: a `TenantApplication` on eventsourcing's in-memory
persistence runs `EngagementStory` (the demo's full run of the method: preparation, mapping,
ratings, dance cards, dialogues, agreements, proposals, decisions, check-ins) for
`--engagements` engagements of `--units` units, one a year; the stored events it recorded
(encoded by the same `TypedMapper` as production) are then `COPY`ed into the tenant's events
table in notification order, each state sealed with the tenant's key to its event (as the
tenant's application would have written it, docs/adr/0019). No projection runs while the
history is loaded.

Measured per round, over the whole log, in one process:
  - raw floor: asyncpg, `SELECT notification_id, originator_id, originator_version, topic,
    state FROM tenant_x.tenantapplication_events WHERE notification_id > $1 ORDER BY
    notification_id LIMIT 500` page after page, each row decoded with
    `TypedMapper.to_domain_event`;
  - library: the tenant application's `recorder.select_notifications` (500 a page) plus the
    same decode, as eventsourcing's own runners read;
  - projection: `projections.projector.catch_up` with `PostgresEventSource` and
    `PostgresViewStore` on a psycopg pool (batch 500), from empty view tables to the end;
    the view tables are emptied and the position reset before each round.
The ratio is projection events/s over raw events/s, per round, then the median. The
projection's time is split into read+decode, loading fold states, `project` (folds, rendering,
audit and lineage rows) and commit, from timers around the store and source calls.

    .venv/bin/python -m bench.catch_up [--rounds 3] [--engagements 90] [--units 30] [--profile]
    .venv/bin/python -m bench.catch_up --smoke    # seconds: 1 round, 1 engagement of 5 units
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

if __package__ in (None, ""):  # run as a plain script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg
import psycopg
from eventsourcing.persistence import Mapper, StoredEvent
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.phases import Phase
from domain.roles import Role
from projections import projector as projector_module
from projections.postgres_schema import EVENTS_TABLE, VIEW_TABLES
from projections.postgres_views import PostgresEventSource, PostgresViewStore
from projections.projector import Batch, Recorded, catch_up
from services.application import TenantApplication
from services.auth.secret_keys import fresh_secrets
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.demo import Actor, EngagementStory, at
from services.migrations import migrate
from services.persistence import citus
from services.persistence.env import PSEUDONYM_KEY, tenant_store_name
from services.persistence.transcoding import TypedMapper
from services.settings import Settings
from services.usecases import handle, organisation
from services.usecases.tenants import onboard_tenant

ADMIN_URL = os.environ.get("BALKORT_BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PAGE = 500
# Everything a projection writes but its position (emptied before each round).
VIEW_DATA_TABLES = tuple(t for t in VIEW_TABLES if t != "view_position")


# -- setup (also used by bench/dashboard_latency.py) --------------------------------------


@contextmanager
def fresh_database() -> Iterator[str]:
    name = f"balkort_bench_{uuid4().hex[:12]}"
    citus.create_database(ADMIN_URL, name)
    base = Settings(database_url=ADMIN_URL).postgres.dsn.rsplit("/", 1)[0]
    try:
        # Processes refuse a database whose schema is behind theirs: migrate it as a release would.
        migrate(Settings(database_url=f"{base}/{name}"))
        yield f"{base}/{name}"
    finally:
        citus.drop_database(ADMIN_URL, name)


@dataclass
class History:
    """A tenant's log generated in memory: stored events in notification order."""

    tenant_id: UUID
    units: dict[str, UUID]
    engagements: list[UUID]
    stored: list[StoredEvent]
    # The in-memory application it was generated with (to drive its aggregates further).
    app: TenantApplication


def generate_history(
    tenant_id: UUID, engagements: int, units: int, *, seed: int = 7, first_year: int = 2000
) -> History:
    """`engagements` full runs of the method (one a year) for an organisation of `units` units,
    through the application service on in-memory persistence."""
    app = TenantApplication({PSEUDONYM_KEY: "bench-pseudonym-key-" + "x" * 24})
    facilitator = Actor(tenant_id, uuid4(), Role.CONSULTANT)
    client = Actor(tenant_id, uuid4(), Role.CLIENT_ADMIN)
    founded = at(date(first_year - 1, 11, 1))
    handle(
        app,
        organisation.EstablishOrganisation(tenant_id=tenant_id, name="Bench Kommune"),
        client.at(founded, "EstablishOrganisation"),
    )
    unit_ids = {
        f"Enhed {i:03d}": handle(
            app,
            organisation.AddUnit(tenant_id=tenant_id, name=f"Enhed {i:03d}"),
            client.at(founded, "AddUnit"),
        )
        for i in range(units)
    }
    story = EngagementStory(app, facilitator, client, random.Random(seed), {})
    ids: list[UUID] = []
    for n in range(engagements):
        # Theme days a year apart, but with days moving so years do not all look the same.
        theme_day = date(first_year, 3, 10) + timedelta(days=365 * n + (n % 7))
        # Check-ins stop at 2026-11-01 (see EngagementStory); keep the years before that.
        theme_day = theme_day if theme_day.year < 2026 else date(2025, 3, 10)
        ids.append(story.run(theme_day.year, f"Engagement {n}", unit_ids, theme_day, Phase.FOLLOW_THROUGH))
    head = app.recorder.max_notification_id() or 0
    stored = [
        StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
        for n in app.recorder.select_notifications(start=1, limit=head + 1)
    ]
    return History(tenant_id, unit_ids, ids, stored, app)


def sealed(mapper: TypedMapper, stored: StoredEvent) -> StoredEvent:
    """A plaintext stored event (from the in-memory history) as the tenant's own application
    would store it: encrypted with the tenant's key and bound to the event's identity."""
    state = mapper.encrypt(stored.state, stored.originator_id, stored.originator_version, stored.topic)
    return StoredEvent(stored.originator_id, stored.originator_version, stored.topic, state)


def copy_events(
    dsn: str, tenant_id: UUID, stored: Iterable[StoredEvent], mapper: TypedMapper, progress: int = 0
) -> int:
    """COPY plaintext stored events into the tenant's events table (notification ids in order),
    each sealed by the tenant's `mapper` on the way."""
    table = sql.SQL("{}.{}").format(
        sql.Identifier(tenant_store_name(tenant_id)), sql.Identifier(EVENTS_TABLE)
    )
    statement = sql.SQL("COPY {} (originator_id, originator_version, topic, state) FROM STDIN").format(table)
    count = 0
    with psycopg.connect(dsn) as conn, conn.cursor() as cursor, cursor.copy(statement) as copy:
        for event in stored:
            event = sealed(mapper, event)
            copy.write_row((event.originator_id, event.originator_version, event.topic, event.state))
            count += 1
            if progress and count % progress == 0:
                print(f"  copied {count:,} events", flush=True)
    return count


def onboard(settings: Settings, name: str, slug: str) -> tuple[UUID, TypedMapper]:
    """A new tenant and the mapper that reads and writes its events (its own key)."""
    container = build_container(settings)
    try:
        tenant_id = onboard_tenant(container, name, slug, system_provenance("SeedBenchmark"))
        mapper = container.mappers(tenant_id)
        assert isinstance(mapper, TypedMapper)
        return tenant_id, mapper
    finally:
        container.tenants.close()
        container.control.close()


# -- the three readers ---------------------------------------------------------------------


async def raw_read(dsn: str, schema: str, mapper: Mapper[UUID]) -> tuple[int, float]:
    query = (
        "SELECT notification_id, originator_id, originator_version, topic, state "  # noqa: S608
        f'FROM "{schema}".{EVENTS_TABLE} WHERE notification_id > $1 ORDER BY notification_id LIMIT $2'
    )
    conn = await asyncpg.connect(dsn)
    try:
        statement = await conn.prepare(query)
        started = time.perf_counter()
        after, count = 0, 0
        while True:
            rows = await statement.fetch(after, PAGE)
            if not rows:
                break
            decoded = [
                Recorded(
                    row[0],
                    mapper.to_domain_event(StoredEvent(UUID(bytes=row[1].bytes), row[2], row[3], row[4])),
                )
                for row in rows
            ]
            count += len(decoded)
            after = rows[-1][0]
        return count, time.perf_counter() - started
    finally:
        await conn.close()


def library_read(settings: Settings, tenant_id: UUID) -> tuple[int, float]:
    container = build_container(settings)
    try:

        def read(app: TenantApplication) -> tuple[int, float]:
            mapper = app.mapper
            started = time.perf_counter()
            start, count = 1, 0
            while True:
                page = app.recorder.select_notifications(start=start, limit=PAGE)
                if not page:
                    break
                decoded = [Recorded(n.id, mapper.to_domain_event(n)) for n in page]
                count += len(decoded)
                start = page[-1].id + 1
            return count, time.perf_counter() - started

        return container.tenants.call(tenant_id, read)
    finally:
        container.tenants.close()
        container.control.close()


class Timed:
    """Accumulates seconds per label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - started


class TimedSource:
    def __init__(self, source: PostgresEventSource, timed: Timed) -> None:
        self.source, self.timed = source, timed

    def read(self, after: int, limit: int) -> list[Recorded]:
        with self.timed("read+decode"):
            return self.source.read(after, limit)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)


class TimedStore:
    def __init__(self, store: PostgresViewStore, timed: Timed) -> None:
        self.store, self.timed = store, timed

    def position(self) -> int:
        with self.timed("position"):
            return self.store.position()

    def states(self, keys: Iterable[str]) -> dict[str, bytes]:
        with self.timed("load states"):
            return self.store.states(keys)

    def commit(self, batch: Batch) -> None:
        with self.timed("commit"):
            self.store.commit(batch)

    def __getattr__(self, name: str) -> Any:
        # Anything else the projector asks of a store (timed as "other store calls").
        attribute = getattr(self.store, name)
        if not callable(attribute):
            return attribute

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.timed("other store calls"):
                return attribute(*args, **kwargs)

        return timed


def reset_views(pool: ConnectionPool, schema: str) -> None:
    with pool.connection() as conn:
        tables = sql.SQL(", ").join(
            sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(t)) for t in VIEW_DATA_TABLES
        )
        conn.execute(sql.SQL("TRUNCATE {}").format(tables))
        conn.execute(sql.SQL("UPDATE {}.view_position SET position = 0").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("VACUUM ANALYZE {}.view_documents").format(sql.Identifier(schema)))


def projection(
    pool: ConnectionPool, schema: str, mapper: Mapper[UUID], profile: cProfile.Profile | None = None
) -> tuple[int, float, dict[str, float]]:
    reset_views(pool, schema)
    timed = Timed()
    store = TimedStore(PostgresViewStore(pool, schema), timed)
    source = TimedSource(PostgresEventSource(pool, schema, mapper), timed)
    original = projector_module.project

    def project(*args: Any, **kwargs: Any) -> Batch:
        with timed("project (fold+render)"):
            return original(*args, **kwargs)

    projector_module.project = project
    try:
        if profile is not None:
            profile.enable()
        started = time.perf_counter()
        applied = catch_up(source, store, mapper, PAGE)
        elapsed = time.perf_counter() - started
    finally:
        if profile is not None:
            profile.disable()
        projector_module.project = original
    return applied, elapsed, timed.seconds


def document_sizes(pool: ConnectionPool, schema: str) -> tuple[int, int, int]:
    with pool.connection() as conn:
        row = conn.execute(
            sql.SQL(
                "SELECT count(*), coalesce(max(length(body)), 0), coalesce(max(length(state)), 0) FROM {}.view_documents"
            ).format(sql.Identifier(schema))
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


# -- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--engagements", type=int, default=90, help="engagements (one a year) in the tenant")
    parser.add_argument("--units", type=int, default=30, help="units of the organisation")
    parser.add_argument("--profile", action="store_true", help="cProfile the last projection round")
    parser.add_argument("--smoke", action="store_true", help="a run of seconds: tiny history, 1 round")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.engagements, args.units = 1, 1, 5

    tmp = tempfile.mkdtemp(prefix="balkort-bench-")
    try:
        with fresh_database() as url:
            settings = Settings(database_url=url, data_dir=Path(tmp) / "data", **fresh_secrets())
            tenant_id, mapper = onboard(settings, "Catch-up Kommune", "catch-up-kommune")
            started = time.perf_counter()
            history = generate_history(tenant_id, args.engagements, args.units)
            generated = time.perf_counter() - started
            copy_events(settings.postgres.dsn, tenant_id, history.stored, mapper)
            total = len(history.stored)
            print(
                f"history: {total:,} events, {len(history.engagements)} engagements of {args.units} units "
                f"(generated in {generated:.1f} s, copied in {time.perf_counter() - started - generated:.1f} s)",
                flush=True,
            )
            schema = tenant_store_name(tenant_id)
            pool = ConnectionPool(settings.postgres.dsn, min_size=1, max_size=2, kwargs={"autocommit": True})
            pool.open(wait=True)
            PostgresViewStore(pool, schema)  # creates the view tables
            dsn = settings.postgres.dsn
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(
                    sql.SQL("VACUUM ANALYZE {}.{}").format(
                        sql.Identifier(schema), sql.Identifier(EVENTS_TABLE)
                    )
                )
            # Warm-up: caches the decoders, warms the buffer cache.
            asyncio.run(raw_read(dsn, schema, mapper))

            rates: dict[str, list[float]] = {"raw": [], "library": [], "projection": []}
            ratios: dict[str, list[float]] = {"projection": [], "library": []}
            splits: list[dict[str, float]] = []
            profile = cProfile.Profile() if args.profile else None
            for r in range(args.rounds):
                n_raw, t_raw = asyncio.run(raw_read(dsn, schema, mapper))
                n_lib, t_lib = library_read(settings, tenant_id)
                last = r == args.rounds - 1
                n_proj, t_proj, split = projection(pool, schema, mapper, profile if last else None)
                assert n_raw == n_lib == n_proj == total, (n_raw, n_lib, n_proj, total)
                raw, lib, proj = n_raw / t_raw, n_lib / t_lib, n_proj / t_proj
                rates["raw"].append(raw)
                rates["library"].append(lib)
                rates["projection"].append(proj)
                ratios["projection"].append(proj / raw)
                ratios["library"].append(lib / raw)
                splits.append({k: v / t_proj for k, v in split.items()})
                print(
                    f"round {r + 1}/{args.rounds}: raw {raw:,.0f}/s  library {lib:,.0f}/s  projection {proj:,.0f}/s "
                    f"(ratio {proj / raw:.3f})",
                    flush=True,
                )
            docs, body, state = document_sizes(pool, schema)
            pool.close()

            med = statistics.median
            print()
            print(
                f"events={total:,} rounds={args.rounds} page/batch={PAGE} (medians; ratio per round, then median)"
            )
            print(f"{'reader':<44} {'events/s':>10} {'ratio to raw':>13}")
            print(f"{'raw asyncpg page + TypedMapper decode':<44} {med(rates['raw']):10,.0f} {1.0:13.3f}")
            print(
                f"{'library select_notifications + decode':<44} {med(rates['library']):10,.0f} {med(ratios['library']):13.3f}"
            )
            print(
                f"{'projection catch_up (PostgreSQL views)':<44} {med(rates['projection']):10,.0f} {med(ratios['projection']):13.3f}"
            )
            print()
            print("where the projection's time goes (share of its wall time, median over rounds):")
            for label in (
                "read+decode",
                "position",
                "load states",
                "other store calls",
                "project (fold+render)",
                "commit",
            ):
                print(f"  {label:<24} {med(s.get(label, 0.0) for s in splits):6.1%}")
            print(f"documents: {docs}, largest body {body:,} bytes, largest fold state {state:,} bytes")
            if profile is not None:
                out = io.StringIO()
                pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
                print(out.getvalue())
    finally:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
