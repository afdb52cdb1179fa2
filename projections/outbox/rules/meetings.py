"""Invitations to the theme day and the follow-up meeting, each with its calendar entry: sent
when the preparatory meeting sets the dates and again, as an update (the same UID, the
engagement's version as a higher SEQUENCE), whenever the preparation is revised; a follow-up
meeting whose date is taken away is cancelled (METHOD:CANCEL).

Who can be reached: the planning group's accounts (client admins of the organisation) and the
planning-group members the preparatory meeting wrote down as e-mail addresses. Participants
have no addresses in the product (they join by a code at their table), so they are invited
by the planning group, not by mail. A meeting whose day had passed when the preparation was
recorded (a past engagement typed in) is history: nobody is invited to it. The follow-up
meeting's invitation when the engagement is first prepared is `follow_up_meeting.py`'s."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from domain.preparation import Preparation
from domain.roles import Role
from projections.outbox.due import ZONE, local_day
from projections.outbox.intents import (
    Audience,
    CalendarEntry,
    MessageIntent,
    RuleContext,
    ToAddress,
    ToRole,
    intent_key,
)
from projections.outbox.paths import dashboard_path, follow_up_path
from projections.outbox.registry import Rule
from projections.outbox.rules.proposals import looks_like_address

THEME_DAY_INVITATION = "theme_day_invitation"
FOLLOW_UP_UPDATED = "follow_up_meeting_updated"
FOLLOW_UP_CANCELLED = "follow_up_meeting_cancelled"


def theme_day_uid(engagement_id: object) -> str:
    return f"theme-day-{engagement_id}@balkort"


def follow_up_uid(engagement_id: object) -> str:
    # The UID follow_up_meeting.py gives the first invitation, so that updates replace it.
    return f"follow-up-{engagement_id}@balkort"


def audiences(preparation: Preparation) -> list[tuple[str, Audience]]:
    """The planning group: its accounts, and its members written as addresses (each once)."""
    found: list[tuple[str, Audience]] = [("planning-group", ToRole(Role.CLIENT_ADMIN.value))]
    seen: set[str] = set()
    for member in preparation.planning_group:
        address = member.strip()
        if looks_like_address(address) and address.lower() not in seen:
            seen.add(address.lower())
            found.append((address.lower(), ToAddress(address)))
    return found


def whole_day(day: date, summary: str, uid: str, sequence: int, *, cancelled: bool = False) -> CalendarEntry:
    start = datetime.combine(day, time(), tzinfo=ZONE)
    return CalendarEntry(
        uid=uid,
        sequence=sequence,
        start=start,
        end=start + timedelta(days=1),
        summary=summary,
        all_day=True,
        cancelled=cancelled,
    )


def _to_come(event: Any, day: date) -> bool:
    return day >= local_day(event.provenance.recorded_at)


def _each(event: Any, context: RuleContext, purpose: str, **fields: Any) -> list[MessageIntent]:
    return [
        MessageIntent(
            key=intent_key(context.tenant_id, event, f"{purpose}:{name}"),
            tenant_id=context.tenant_id,
            due_at=event.provenance.recorded_at,
            audience=audience,
            kind=purpose,
            **fields,
        )
        for name, audience in audiences(event.preparation)
    ]


def theme_day(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.Prepared and Engagement.PreparationRevised: the theme day's invitation."""
    preparation: Preparation = event.preparation
    if not _to_come(event, preparation.theme_day):
        return []
    return _each(
        event,
        context,
        THEME_DAY_INVITATION,
        params={
            "title": preparation.title,
            "theme_day": preparation.theme_day.isoformat(),
            "update": event.originator_version > 1,
            "path": dashboard_path(context.tenant_id, event.originator_id),
        },
        calendar=whole_day(
            preparation.theme_day,
            f"Temadag: {preparation.title}",
            theme_day_uid(event.originator_id),
            event.originator_version,
        ),
    )


def follow_up_revised(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.PreparationRevised: the follow-up meeting's update, or its cancellation
    when the revision leaves it without a date (sent even if it never had one: the rule sees
    the revision, not what it replaced)."""
    preparation: Preparation = event.preparation
    meeting = preparation.follow_up_meeting
    path = follow_up_path(context.tenant_id, event.originator_id)
    uid = follow_up_uid(event.originator_id)
    summary = f"Opfølgningsmøde: {preparation.title}"
    if not _to_come(event, meeting or preparation.theme_day):
        return []
    if meeting is None:
        return _each(
            event,
            context,
            FOLLOW_UP_CANCELLED,
            params={"title": preparation.title, "path": path},
            calendar=whole_day(preparation.theme_day, summary, uid, event.originator_version, cancelled=True),
        )
    return _each(
        event,
        context,
        FOLLOW_UP_UPDATED,
        params={"title": preparation.title, "meeting": meeting.isoformat(), "path": path},
        calendar=whole_day(meeting, summary, uid, event.originator_version),
    )


rules = (
    Rule("Engagement.Prepared", theme_day),
    Rule("Engagement.PreparationRevised", theme_day),
    Rule("Engagement.PreparationRevised", follow_up_revised),
)
