"""The weekly digest: one message per organisation per ISO week listing what falls due in it
(check-ins, investigations, deferrals), sent on the Monday morning of the week.

Each reminder a rule decides adds an item to its week's digest (`digest_of`); the outbox keeps
one row per week and merges the items into it while it waits (`merged`, by the reminder's key,
so reading the log again adds nothing twice); a reminder made void leaves the digest too
(`without`), and a digest with nothing left is not sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from projections.outbox.due import digest_due_at, digest_key, iso_week, local_day
from projections.outbox.intents import MessageIntent
from projections.outbox.voiding import matches

WEEKLY_DIGEST = "weekly_digest"
# The reminders a digest lists, and the words of their params it shows.
LISTED = frozenset(
    {"check_in_due", "investigation_due_soon", "investigation_overdue", "proposal_deferral_due"}
)


def digest_of(reminder: MessageIntent) -> MessageIntent | None:
    """The digest of the week `reminder` falls due in, holding it as its one item so far."""
    if reminder.kind not in LISTED:
        return None
    day = local_day(reminder.due_at)
    item = {
        "key": reminder.key,
        "kind": reminder.kind,
        "day": day.isoformat(),
        "text": str(reminder.params.get("agreement") or reminder.params.get("rationale") or ""),
        "months": reminder.params.get("months", 0),
        "path": reminder.params["path"],
    }
    return MessageIntent(
        key=digest_key(reminder.tenant_id, day),
        tenant_id=reminder.tenant_id,
        due_at=digest_due_at(day),
        audience=reminder.audience,
        kind=WEEKLY_DIGEST,
        params={"week": iso_week(day), "items": [item], "path": f"/t/{reminder.tenant_id}"},
    )


def digests(reminders: Iterable[MessageIntent]) -> list[MessageIntent]:
    return [d for d in (digest_of(r) for r in reminders) if d is not None]


def _items(intent: MessageIntent) -> list[dict[str, Any]]:
    return list(intent.params.get("items", []))


def _with_items(intent: MessageIntent, items: list[dict[str, Any]]) -> MessageIntent:
    ordered = sorted(items, key=lambda i: (i["day"], i["kind"], i["key"]))
    return msgspec.structs.replace(intent, params={**intent.params, "items": ordered})


def merged(waiting: MessageIntent, more: MessageIntent) -> MessageIntent:
    """The waiting digest with the items of `more` it lacks."""
    known = {i["key"] for i in _items(waiting)}
    return _with_items(waiting, _items(waiting) + [i for i in _items(more) if i["key"] not in known])


def without(waiting: MessageIntent, cancelled: Iterable[str]) -> MessageIntent:
    """The waiting digest without the items of reminders made void."""
    gone = list(cancelled)
    return _with_items(waiting, [i for i in _items(waiting) if not any(matches(c, i["key"]) for c in gone)])


def is_empty(digest: MessageIntent) -> bool:
    return not _items(digest)
