"""However the projector is fed, the views come out the same: caught up after every command,
caught up once at the end, or caught up in batches of random sizes — every document body,
audit row and lineage node and link, on SQLite and on PostgreSQL, for random valid histories."""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from psycopg_pool import ConnectionPool

from domain.phases import Phase
from domain.roles import Role
from projections.postgres_views import PostgresViewStore
from projections.projector import EventSource, Recorded, ViewStore, catch_up
from projections.sqlite_views import SQLiteViewStore
from services.bootstrap import Container
from services.controlplane import system_provenance
from services.demo import UNITS, Actor, EngagementStory, at
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests.commanding import add_unit, establish_organisation, merge_units, rename_unit
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY
from tests.views_snapshot import (
    AfterEachCall,
    Views,
    assert_same_views,
    container_on,
    postgres_views,
    sqlite_views,
)

EXAMPLES = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


class RandomBatches:
    """A log read in batches of random sizes, whatever size the reader asks for. No batch is
    larger than `largest`, so a log of n events is read in at least n / `largest` batches."""

    def __init__(self, source: EventSource, rng: random.Random, largest: int) -> None:
        self.source = source
        self.rng = rng
        self.largest = largest
        self.sizes: list[int] = []

    def read(self, after: int, limit: int) -> list[Recorded]:
        size = self.rng.randint(1, self.largest)
        self.sizes.append(size)
        return self.source.read(after, size)


class History(msgspec.Struct, frozen=True):
    seed: int
    units: int
    years: int
    reorganise: str
    final_phases: tuple[Phase, ...]


histories = st.builds(
    History,
    seed=st.integers(0, 2**32 - 1),
    units=st.integers(3, 6),
    years=st.integers(1, 2),
    reorganise=st.sampled_from(["none", "rename", "merge", "both"]),
    final_phases=st.tuples(
        st.sampled_from([Phase.CLOSING_PLENARY, Phase.FOLLOW_THROUGH]),
        st.sampled_from([Phase.CLOSING_PLENARY, Phase.FOLLOW_THROUGH]),
    ),
)


def drive(app: Any, tenant_id: UUID, history: History) -> None:
    """A random but valid run of the method: units, one or two engagements (ratings, cards
    accepted and declined, dialogues, decisions, check-ins), a rename and/or a merger."""
    rng = random.Random(history.seed)
    facilitator = Actor(tenant_id, uuid4(), Role.CONSULTANT)
    client = Actor(tenant_id, uuid4(), Role.CLIENT_ADMIN)
    establish_organisation(app, tenant_id, "Søby", client.at(at(date(2024, 1, 10)), "Establish"))
    names = rng.sample(UNITS, history.units)
    units = {n: add_unit(app, tenant_id, n, client.at(at(date(2024, 1, 10)), "AddUnit")) for n in names}
    story = EngagementStory(app, facilitator, client, rng, {})
    for year in range(history.years):
        theme_day = date(2024 + year, 3, 12)
        story.run(2024 + year, f"Sammen {2024 + year}", dict(units), theme_day, history.final_phases[year])
        moment = at(date(2024 + year, 9, 1))
        if history.reorganise in ("merge", "both"):
            first, second = rng.sample(sorted(units), 2)
            merged = merge_units(
                app,
                tenant_id,
                (units[first], units[second]),
                f"{first} og {second}",
                client.at(moment, "Merge"),
            )
            del units[first], units[second]
            units[f"{first} og {second}"] = merged
        if history.reorganise in ("rename", "both"):
            old = rng.choice(sorted(units))
            rename_unit(app, tenant_id, units[old], f"{old} (ny)", client.at(moment, "Rename"))
            units[f"{old} (ny)"] = units.pop(old)
        if len(units) < 3:
            break


def check_equivalence(
    container: Container,
    history: History,
    new_store: Callable[[str], ViewStore],
    read_views: Callable[[ViewStore], Views],
) -> None:
    slug = f"equivalence-{secrets.token_hex(5)}"
    tenant_id = onboard_tenant(container, f"Kommune {slug}", slug, system_provenance("Test"))
    mapper = container.projections.mappers(tenant_id)
    source = container.views.source_for(tenant_id)
    stepwise = new_store("stepwise")
    steps: list[int] = []

    def after_each() -> None:
        steps.append(catch_up(source, stepwise, mapper))

    container.tenants.call(tenant_id, lambda app: drive(AfterEachCall(app, after_each), tenant_id, history))
    assert catch_up(source, stepwise, mapper) == 0
    once = new_store("once")
    applied = catch_up(source, once, mapper, batch_size=10_000)
    assert applied == sum(steps) > 30
    # At most a quarter of the log per batch: always more than three batches, however short.
    randomly = RandomBatches(source, random.Random(history.seed), largest=max(1, min(25, applied // 4)))
    assert catch_up(randomly, new_store("random"), mapper) == applied
    assert len(randomly.sizes) > 3

    expected = read_views(once)
    assert {k.partition(":")[0] for k, *_ in expected["documents"]} == {"organisation", "engagement"}
    assert len(expected["audit"]) == applied
    assert expected["nodes"]
    assert expected["links"]
    for name, store in (("stepwise", stepwise), ("random", new_store("random"))):
        assert_same_views(read_views(store), expected, name)


@pytest.fixture(scope="module")
def sqlite_container(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    with container_on(Settings(data_dir=tmp_path_factory.mktemp("equivalence") / "data")) as built:
        yield built


@pytest.fixture(scope="module")
def postgres_container(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    settings = Settings(
        database_url=postgres_url,
        data_dir=tmp_path_factory.mktemp("equivalence-pg") / "data",
        master_key=SESSION_MASTER_KEY,
        jwt_secret=SESSION_JWT_SECRET,
    )
    with container_on(settings) as built:
        yield built


@pytest.fixture(scope="module")
def pool(postgres_url: str) -> Iterator[ConnectionPool]:
    with ConnectionPool(postgres_url, min_size=1, max_size=2, kwargs={"autocommit": True}) as opened:
        yield opened


@EXAMPLES
@given(history=histories)
def test_views_are_the_same_however_they_are_caught_up_on_sqlite(
    sqlite_container: Container, tmp_path_factory: pytest.TempPathFactory, history: History
) -> None:
    folder = tmp_path_factory.mktemp("views")
    stores: dict[str, SQLiteViewStore] = {}

    def new_store(name: str) -> SQLiteViewStore:
        if name not in stores:
            stores[name] = SQLiteViewStore(folder / f"{name}.views.sqlite3")
        return stores[name]

    def read(store: ViewStore) -> Views:
        assert isinstance(store, SQLiteViewStore)
        return sqlite_views(store.path)

    check_equivalence(sqlite_container, history, new_store, read)


@EXAMPLES
@given(history=histories)
def test_views_are_the_same_however_they_are_caught_up_on_postgres(
    postgres_container: Container, pool: ConnectionPool, history: History
) -> None:
    stores: dict[str, PostgresViewStore] = {}

    def new_store(name: str) -> PostgresViewStore:
        if name not in stores:
            schema = f"equivalence_{name}_{secrets.token_hex(4)}"
            with pool.connection() as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            stores[name] = PostgresViewStore(pool, schema)
        return stores[name]

    def read(store: ViewStore) -> Views:
        assert isinstance(store, PostgresViewStore)
        return postgres_views(pool, store.schema)

    try:
        check_equivalence(postgres_container, history, new_store, read)
    finally:
        with pool.connection() as conn:
            for store in stores.values():
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(store.schema)))
