"""The weekly digest: one per organisation per ISO week, on its Monday morning, listing every
reminder falling due in the week once however often the log is read, without those made void,
and not sent when nothing is left."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

from projections.outbox.digest import WEEKLY_DIGEST, digest_of, merged, without
from projections.outbox.intents import MessageIntent, ToRole
from projections.outbox.project import OutboxBatch
from projections.outbox.rows import State
from projections.outbox.sqlite_store import SQLiteOutbox
from projections.outbox.voiding import all_of, void
from services.mail.render import render

TENANT = UUID("00000000-0000-4000-8000-0000000007e0")


def _reminder(key: str, due_at: datetime, text: str = "Vi ringer hver mandag") -> MessageIntent:
    return MessageIntent(
        key=key,
        tenant_id=TENANT,
        due_at=due_at,
        audience=ToRole("client_admin"),
        kind="check_in_due",
        params={"agreement": text, "months": 6, "path": f"/t/{TENANT}/e/x/agreements/{key}/check-ins"},
    )


THURSDAY = datetime(2026, 12, 31, 7, tzinfo=UTC)  # ISO week 2026-W53
SUNDAY = datetime(2027, 1, 3, 7, tzinfo=UTC)  # the same week
MONDAY = datetime(2027, 1, 4, 7, tzinfo=UTC)  # the next


def test_a_reminder_stands_in_the_digest_of_its_iso_week_sent_on_that_mondays_morning() -> None:
    digest = digest_of(_reminder("a", THURSDAY))
    assert digest is not None
    assert digest.kind == WEEKLY_DIGEST
    assert digest.params["week"] == "2026-W53"
    assert digest.due_at == datetime(2026, 12, 28, 7, tzinfo=UTC)  # Monday 08:00 in Copenhagen
    assert digest_of(_reminder("b", SUNDAY)).key == digest.key  # type: ignore[union-attr]
    assert digest_of(_reminder("c", MONDAY)).key != digest.key  # type: ignore[union-attr]


def test_items_merge_once_by_their_reminder_and_leave_when_it_is_made_void() -> None:
    first, second = (digest_of(_reminder(k, THURSDAY)) for k in ("a", "b"))
    assert first is not None
    assert second is not None
    both = merged(merged(first, second), second)
    assert [i["key"] for i in both.params["items"]] == ["a", "b"]
    assert [i["key"] for i in without(both, ["a"]).params["items"]] == ["b"]


def _commit(store: SQLiteOutbox, after: int, *intents: MessageIntent) -> None:
    store.commit(OutboxBatch(log_id=TENANT, after=after, position=after + 1, intents=list(intents)))


def test_the_outbox_keeps_one_digest_a_week_and_voids_it_when_nothing_is_left(tmp_path: Path) -> None:
    store = SQLiteOutbox(tmp_path / "outbox.sqlite3")
    a, b = _reminder("a", THURSDAY), _reminder("b", SUNDAY)
    _commit(store, 0, a, digest_of(a))  # type: ignore[arg-type]
    _commit(store, 1, b, digest_of(b))  # type: ignore[arg-type]
    _commit(store, 2, b, digest_of(b))  # the same event read again
    [digest] = [m for m in store.messages() if m.kind == WEEKLY_DIGEST]
    assert [i["key"] for i in digest.intent.params["items"]] == ["a", "b"]

    _commit(store, 3, void(str(uuid4()), TENANT, THURSDAY, ["a"]))
    assert store.message("a").state is State.VOID  # type: ignore[union-attr]
    assert [i["key"] for i in store.message(digest.key).intent.params["items"]] == ["b"]  # type: ignore[union-attr]
    _commit(store, 4, void(str(uuid4()), TENANT, THURSDAY, ["b"]))
    assert store.message(digest.key).state is State.VOID  # type: ignore[union-attr]
    # A void intent is never a message of its own.
    assert {m.kind for m in store.messages()} == {"check_in_due", WEEKLY_DIGEST}


def test_the_digest_lists_its_items_in_danish_and_english_with_links() -> None:
    digest = merged(digest_of(_reminder("a", THURSDAY)), digest_of(_reminder("b", SUNDAY, "Fælles tavle")))  # type: ignore[arg-type]
    subject, text, html = render(WEEKLY_DIGEST, "da", {**digest.params, "base_url": "https://b.example"})
    assert subject == "Ugens oversigt, uge 53: 2 ting forfalder"
    assert '31. december 2026: opfølgning efter 6 måneder på aftalen "Vi ringer hver mandag"' in text
    assert f"https://b.example/t/{TENANT}/e/x/agreements/b/check-ins" in text
    assert f'href="https://b.example/t/{TENANT}/e/x/agreements/a/check-ins"' in html
    subject, text, _ = render(WEEKLY_DIGEST, "en", {**digest.params, "base_url": ""})
    assert subject == "This week's digest, week 53: 2 things fall due"
    assert '3 January 2027: the 6-month check-in on the agreement "Fælles tavle"' in text


def test_a_cancel_naming_a_prefix_voids_every_key_it_begins_and_no_other(tmp_path: Path) -> None:
    store = SQLiteOutbox(tmp_path / "outbox.sqlite3")
    mine, other = f"{TENANT}:proposal:1:due@5", f"{TENANT}:proposal:10:due@5"
    odd = f"{TENANT}:proposal:1x:due@5"
    _commit(
        store,
        0,
        *(x for r in (_reminder(mine, THURSDAY), _reminder(other, SUNDAY)) for x in (r, digest_of(r))),
    )  # type: ignore[misc]
    _commit(store, 1, _reminder(odd, THURSDAY))
    # LIKE's wildcards in a prefix are only characters: "1_" is not "1x".
    _commit(store, 2, void(str(uuid4()), TENANT, THURSDAY, [all_of(f"{TENANT}:proposal:1_")]))
    assert store.message(odd).state is State.WAITING  # type: ignore[union-attr]
    _commit(store, 3, void(str(uuid4()), TENANT, THURSDAY, [all_of(f"{TENANT}:proposal:1:")]))
    assert store.message(mine).state is State.VOID  # type: ignore[union-attr]
    assert store.message(other).state is State.WAITING  # type: ignore[union-attr]
    assert store.message(odd).state is State.WAITING  # type: ignore[union-attr]
    [digest] = [m for m in store.messages() if m.kind == WEEKLY_DIGEST]
    assert [i["key"] for i in digest.intent.params["items"]] == [other]
