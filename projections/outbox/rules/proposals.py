"""Proposals sent for investigation are reminded of a week before their due date and once
they are overdue; a proposal deferred to a date comes back to the planning group on that date.

Who is reminded: the investigation's owner when the owner was given as an e-mail address
(owners are names as the meeting wrote them, and a name cannot be mailed), else the planning
group. The rule sees one decision at a time, so a decision voids every reminder of the
proposal's earlier decisions before it decides its own (a proposal taken up again is not
reminded of as it stood)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from domain.proposals import ProposalStatus
from domain.roles import Role
from projections.outbox.digest import digests
from projections.outbox.due import deferral_reminder, investigation_reminders
from projections.outbox.intents import Audience, MessageIntent, RuleContext, ToAddress, ToRole, intent_key
from projections.outbox.paths import follow_up_path
from projections.outbox.registry import Rule
from projections.outbox.voiding import all_of, void

INVESTIGATION_DUE_SOON = "investigation_due_soon"
INVESTIGATION_OVERDUE = "investigation_overdue"
DEFERRAL_DUE = "proposal_deferral_due"


def looks_like_address(text: str) -> bool:
    """An owner or member written as an e-mail address (one @, a dot after it, no spaces)."""
    local, at, domain = text.strip().partition("@")
    return bool(
        at
        and local
        and "." in domain.strip(".")
        and "@" not in domain
        and not any(c.isspace() for c in text.strip())
    )


def owner_or_planning_group(owner: str | None) -> Audience:
    if owner and looks_like_address(owner):
        return ToAddress(owner.strip())
    return ToRole(Role.CLIENT_ADMIN.value)


def proposal_keys(tenant_id: UUID, proposal_id: UUID) -> str:
    """What the keys of a proposal's reminders begin with."""
    return f"{tenant_id}:proposal:{proposal_id}:"


def decided(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.ProposalDecided: the earlier decisions' reminders void, then this one's, each
    also in its week's digest."""
    earlier = all_of(proposal_keys(context.tenant_id, event.proposal_id))
    at = event.provenance.recorded_at
    reminders = reminders_of_decision(event, context)
    voided = void(intent_key(context.tenant_id, event, "proposal_decided"), context.tenant_id, at, [earlier])
    return [voided, *reminders, *digests(reminders)]


def reminders_of_decision(event: Any, context: RuleContext) -> list[MessageIntent]:
    """Engagement.ProposalDecided: the reminders its decision calls for (often none), those
    whose time had passed when the decision was recorded left out."""
    decision = event.decision
    recorded_at = event.provenance.recorded_at
    params = {
        "rationale": decision.rationale,
        "decided_by": decision.decided_by,
        "decided_on": decision.at.date().isoformat(),
        "path": follow_up_path(context.tenant_id, event.originator_id),
    }

    def intent(purpose: str, due_at: Any, audience: Audience, **more: Any) -> MessageIntent:
        return MessageIntent(
            key=f"{proposal_keys(context.tenant_id, event.proposal_id)}{purpose}@{event.originator_version}",
            tenant_id=context.tenant_id,
            due_at=due_at,
            audience=audience,
            kind=purpose,
            params={**params, **more},
        )

    if decision.outcome is ProposalStatus.UNDER_INVESTIGATION and decision.due is not None:
        when = investigation_reminders(decision.due)
        audience = owner_or_planning_group(decision.owner)
        details = {"owner": decision.owner or "", "due_on": decision.due.isoformat()}
        return [
            intent(purpose, moment, audience, **details)
            for purpose, moment in (
                (INVESTIGATION_DUE_SOON, when.week_before),
                (INVESTIGATION_OVERDUE, when.overdue),
            )
            if moment > max(decision.at, recorded_at)
        ]
    if decision.outcome is ProposalStatus.DEFERRED and decision.deferred_until is not None:
        until = decision.deferred_until.isoformat()
        if deferral_reminder(decision.deferred_until) <= recorded_at:
            return []
        return [
            intent(
                DEFERRAL_DUE,
                deferral_reminder(decision.deferred_until),
                ToRole(Role.CLIENT_ADMIN.value),
                until=until,
            )
        ]
    return []


rules = (Rule("Engagement.ProposalDecided", decided),)
