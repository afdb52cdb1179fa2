"""The planning group is reminded when an agreement's check-in falls due at the 6, 12 and
24-month points the follow-through chart counts; a check-in recorded in the months before a
point makes its reminder void, and so does rejecting the agreement."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.roles import Role
from projections.outbox.digest import digests
from projections.outbox.due import check_in_key, check_in_points, months_voided_by
from projections.outbox.intents import MessageIntent, RuleContext, ToRole, intent_key
from projections.outbox.paths import check_in_path
from projections.outbox.registry import Rule
from projections.outbox.voiding import all_of, void

CHECK_IN_DUE = "check_in_due"


def reminders_of_agreement(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Agreement.AgreementMade: a reminder at each of its check-in points still to come when
    it was recorded (an agreement typed in years later is history, not a reason to write). An
    agreement awaiting acceptance is reminded of too, unless it is rejected first (the
    follow-up meeting decides long before the first point)."""
    made_at: datetime = event.provenance.occurred_at
    recorded_at: datetime = event.provenance.recorded_at
    path = check_in_path(context.tenant_id, event.originator_id, event.agreement_id)
    return [
        MessageIntent(
            key=check_in_key(context.tenant_id, event.agreement_id, point.month),
            tenant_id=context.tenant_id,
            due_at=point.remind_at,
            audience=ToRole(Role.CLIENT_ADMIN.value),
            kind=CHECK_IN_DUE,
            params={
                "agreement": event.text,
                "months": point.months,
                "made_on": made_at.date().isoformat(),
                "due_on": point.day.isoformat(),
                "path": path,
            },
        )
        for point in check_in_points(made_at)
        if point.point > recorded_at
    ]


def checked_in(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.AgreementCheckedIn: the reminders of the points it falls before are void."""
    at: datetime = event.check_in.at
    cancels = [check_in_key(context.tenant_id, event.agreement_id, m) for m in months_voided_by(at)]
    return [void(intent_key(context.tenant_id, event, "check_in_recorded"), context.tenant_id, at, cancels)]


def rejected(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.AgreementRejected: none of its check-ins will be asked for."""
    at: datetime = event.provenance.occurred_at
    cancels = [all_of(check_in_key(context.tenant_id, event.agreement_id, ""))]
    return [void(intent_key(context.tenant_id, event, "agreement_rejected"), context.tenant_id, at, cancels)]


def agreement_made(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.AgreementMade: the reminders, each also in its week's digest."""
    reminders = reminders_of_agreement(event, context)
    return [*reminders, *digests(reminders)]


rules = (
    Rule("Engagement.AgreementMade", agreement_made),
    Rule("Engagement.AgreementCheckedIn", checked_in),
    Rule("Engagement.AgreementRejected", rejected),
)
