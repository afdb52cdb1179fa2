"""The outbox's store on each backend: a batch and its position in one transaction, refused
when another process moved the position first; a later message cancels an earlier one; a
rebuild queues nothing twice; the planning group resolved from the control plane's events."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest

from projections.outbox.intents import MessageIntent, ToRole
from projections.outbox.postgres_store import PostgresOutbox
from projections.outbox.project import OutboxBatch, Person, RoleHeld
from projections.outbox.rows import State
from projections.outbox.sqlite_store import SQLiteOutbox
from projections.outbox.store import SqlOutbox
from projections.projector import PositionMoved
from services.persistence.env import CONTROL_STORE

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TENANT = uuid4()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres]),
    ]
)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlOutbox]:
    if request.param == "sqlite":
        yield SQLiteOutbox(tmp_path / "outbox.sqlite3")
        return
    outbox = PostgresOutbox(request.getfixturevalue("postgres_database_url"), CONTROL_STORE)
    yield outbox
    outbox.close()


def intent(key: str, *, due: datetime = NOW, cancels: tuple[str, ...] = ()) -> MessageIntent:
    return MessageIntent(
        key=key, tenant_id=TENANT, due_at=due, audience=ToRole("client_admin"), kind="k", cancels=cancels
    )


def batch(after: int, position: int, *intents: MessageIntent, **more: object) -> OutboxBatch:
    return OutboxBatch(log_id=TENANT, after=after, position=position, intents=list(intents), **more)  # type: ignore[arg-type]


def states(store: SqlOutbox) -> dict[str, State]:
    return {m.key: m.state for m in store.messages(tenant_id=TENANT)}


def test_a_batch_commits_with_its_position_and_a_stale_one_is_refused_whole(store: SqlOutbox) -> None:
    store.commit(batch(0, 3, intent("a")))
    assert store.position(TENANT) == 3
    with pytest.raises(PositionMoved):
        store.commit(batch(0, 5, intent("b")))
    assert store.position(TENANT) == 3
    assert states(store) == {"a": State.WAITING}


def test_reading_the_log_again_queues_nothing_twice_and_leaves_a_sent_message_sent(store: SqlOutbox) -> None:
    store.commit(batch(0, 1, intent("a")))
    [claimed] = store.claim_due(NOW, NOW, timedelta(minutes=1), "t", 10)
    assert store.finish_sent(claimed.key, "t", NOW, "<id@x>", "", "a@x.dk")
    store.rewind(TENANT)
    store.commit(batch(0, 1, intent("a")))
    assert states(store) == {"a": State.SENT}
    assert store.claim_due(NOW, NOW, timedelta(minutes=1), "u", 10) == []


def test_a_later_message_cancels_an_earlier_one_not_yet_sent(store: SqlOutbox) -> None:
    store.commit(batch(0, 1, intent("meeting-on-the-6th", due=NOW + timedelta(days=3))))
    store.commit(batch(1, 2, intent("meeting-on-the-9th", cancels=("meeting-on-the-6th",))))
    assert states(store) == {"meeting-on-the-6th": State.VOID, "meeting-on-the-9th": State.WAITING}
    later = NOW + timedelta(days=4)
    assert [m.key for m in store.claim_due(later, later, timedelta(minutes=1), "t", 10)] == [
        "meeting-on-the-9th"
    ]


def test_only_messages_due_by_the_products_clock_are_taken(store: SqlOutbox) -> None:
    store.commit(batch(0, 1, intent("now"), intent("next-week", due=NOW + timedelta(days=7))))
    assert [m.key for m in store.claim_due(NOW, NOW, timedelta(minutes=1), "t", 10)] == ["now"]
    week = NOW + timedelta(days=7)
    assert [m.key for m in store.claim_due(week, NOW, timedelta(minutes=1), "u", 10)] == ["next-week"]


def test_the_planning_group_is_who_holds_the_role_now_and_is_active(store: SqlOutbox) -> None:
    ann, bo, cy = uuid4(), uuid4(), uuid4()
    people = [Person(user_id=u, email=f"{n}@x.dk", name=n) for u, n in ((ann, "ann"), (bo, "bo"), (cy, "cy"))]
    roles = [RoleHeld(user_id=u, tenant_id=TENANT, role="client_admin") for u in (ann, bo, cy)]
    store.commit(batch(0, 1, people=people, roles=roles))
    store.commit(batch(1, 2, roles=[RoleHeld(user_id=bo, tenant_id=TENANT, role=None)], deactivated=[cy]))
    assert [p.email for p in store.role_holders(TENANT, "client_admin")] == ["ann@x.dk"]
    assert store.person(cy) == Person(user_id=cy, email="cy@x.dk", name="cy", active=False)
