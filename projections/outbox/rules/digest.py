"""Every reminder also stands in the weekly digest of the week it falls due in
(projections/outbox/digest.py)."""

from __future__ import annotations

from typing import Any

from projections.outbox.digest import digests
from projections.outbox.intents import MessageIntent, RuleContext
from projections.outbox.registry import Rule
from projections.outbox.rules.check_ins import reminders_of_agreement
from projections.outbox.rules.proposals import reminders_of_decision


def agreement_in_digests(event: Any, context: RuleContext) -> list[MessageIntent]:
    return digests(reminders_of_agreement(event, context))


def decision_in_digests(event: Any, context: RuleContext) -> list[MessageIntent]:
    return digests(reminders_of_decision(event, context))


rules = (
    Rule("Engagement.AgreementMade", agreement_in_digests),
    Rule("Engagement.ProposalDecided", decision_in_digests),
)
