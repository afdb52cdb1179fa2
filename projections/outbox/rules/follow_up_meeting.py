"""The planning group hears of the follow-up meeting when the preparatory meeting sets its date."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from domain.roles import Role
from projections.outbox.intents import CalendarEntry, MessageIntent, RuleContext, ToRole, intent_key
from projections.outbox.registry import Rule


def follow_up_meeting_set(event: Any, context: RuleContext) -> list[MessageIntent]:
    preparation = event.preparation
    meeting = preparation.follow_up_meeting
    if meeting is None:
        return []
    start = datetime.combine(meeting, time(), tzinfo=event.provenance.recorded_at.tzinfo)
    engagement = f"/t/{context.tenant_id}/e/{event.originator_id}"
    return [
        MessageIntent(
            key=intent_key(context.tenant_id, event, "follow_up_meeting_set"),
            tenant_id=context.tenant_id,
            due_at=event.provenance.recorded_at,
            audience=ToRole(Role.CLIENT_ADMIN.value),
            kind="follow_up_meeting_set",
            params={
                "title": preparation.title,
                "meeting": meeting.isoformat(),
                "path": f"{engagement}/follow-up",
            },
            calendar=CalendarEntry(
                uid=f"follow-up-{event.originator_id}@balkort",
                sequence=event.originator_version,
                start=start,
                end=start + timedelta(days=1),
                summary=preparation.title,
                all_day=True,
            ),
        )
    ]


rules = (Rule("Engagement.Prepared", follow_up_meeting_set),)
