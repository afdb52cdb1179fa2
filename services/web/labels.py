"""The method's own words on the pages: phases, roles and statuses, in the user's language.

One function per kind of status. Where a page deliberately says something else for the same
status, that is a function of its own, named for where it is said, so that both stay visible."""

from __future__ import annotations

from enum import Enum

from domain.agreements import AgreementStatus, CheckInStatus
from domain.cards import CardStatus
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.roles import Role
from projections.queries import NO_CHECK_IN
from services.web.i18n import gettext as _


def phase_label(phase: Phase | str) -> str:
    value = phase.value if isinstance(phase, Enum) else str(phase)
    return {
        Phase.PREPARED.value: _("Prepared"),
        Phase.THEME_DAY_OPEN.value: _("Theme day open"),
        Phase.MAPPING.value: _("Mapping and rating"),
        Phase.DANCE_CARDS.value: _("Dance cards"),
        Phase.DIALOGUES.value: _("Dialogues"),
        Phase.WRAP_UP.value: _("Unit wrap-up"),
        Phase.CLOSING_PLENARY.value: _("Closing plenary"),
        Phase.FOLLOW_UP_MEETING.value: _("Follow-up meeting"),
        Phase.FOLLOW_THROUGH.value: _("Follow-through"),
        Phase.CLOSED.value: _("Closed"),
    }.get(value, value)


def role_label(role: Role | str | None) -> str:
    if role is None:
        return ""
    value = role.value if isinstance(role, Enum) else str(role)
    return {
        Role.CONSULTANCY_ADMIN.value: _("Consultancy admin"),
        Role.CONSULTANT.value: _("Consultant"),
        Role.CLIENT_ADMIN.value: _("Planning group"),
        Role.PARTICIPANT.value: _("Participant"),
        Role.AUDITOR.value: _("Auditor"),
    }.get(value, value)


# -- Dance cards -------------------------------------------------------------------------------


def card_status_label(status: str) -> str:
    return {
        CardStatus.SENT.value: _("Sent"),
        CardStatus.ACCEPTED.value: _("Accepted"),
        CardStatus.DECLINED.value: _("Declined"),
        CardStatus.WITHDRAWN.value: _("Withdrawn"),
    }.get(status, status)


def card_status_at_table(status: str) -> str:
    """A dance card's status as a unit's table sees it: a card sent is waiting for an answer."""
    if status == CardStatus.SENT.value:
        return _("Waiting for an answer")
    return card_status_label(status)


# -- Agreements and check-ins ------------------------------------------------------------------


def agreement_status_label(status: str) -> str:
    return {
        AgreementStatus.IN_FORCE.value: _("In force"),
        AgreementStatus.AWAITING_ACCEPTANCE.value: _("Awaiting acceptance"),
        AgreementStatus.ACCEPTED.value: _("Accepted"),
        AgreementStatus.REJECTED.value: _("Rejected"),
    }.get(status, status)


def agreement_verdict_label(accepted: bool) -> str:
    """Management's decision on an agreement."""
    verdict = AgreementStatus.ACCEPTED if accepted else AgreementStatus.REJECTED
    return agreement_status_label(verdict.value)


def check_in_label(status: str | None) -> str:
    """How an agreement is doing at a check-in; "No check-in" where there has been none."""
    return {
        CheckInStatus.IMPLEMENTED.value: _("Implemented"),
        CheckInStatus.IN_PROGRESS.value: _("In progress"),
        CheckInStatus.LAPSED.value: _("Lapsed"),
        CheckInStatus.ABANDONED.value: _("Abandoned"),
        NO_CHECK_IN: _("No check-in"),
        None: _("No check-in"),
    }.get(status, status or "")


# -- Proposals ---------------------------------------------------------------------------------


def proposal_status_label(status: str) -> str:
    return {
        ProposalStatus.OPEN.value: _("Open"),
        ProposalStatus.APPROVED.value: _("Approved"),
        ProposalStatus.REJECTED.value: _("Rejected"),
        ProposalStatus.DEFERRED.value: _("Deferred"),
        ProposalStatus.UNDER_INVESTIGATION.value: _("Under investigation"),
    }.get(status, status)


def proposal_status_on_agenda(status: str) -> str:
    """A proposal's status on the follow-up meeting's agenda and in its report, where an open
    proposal is one awaiting the meeting's decision."""
    if status == ProposalStatus.OPEN.value:
        return _("Awaiting a decision")
    return proposal_status_label(status)


def proposal_decision_label(outcome: str) -> str:
    """What a decision on a proposal did, as the audit trail tells it: a proposal under
    investigation was sent there by the decision."""
    if outcome == ProposalStatus.UNDER_INVESTIGATION.value:
        return _("Sent for investigation")
    return proposal_status_label(outcome)


def status_tone(status: str | None) -> str:
    """The badge class of a status on the follow-up pages and the report; the badge always
    carries its words too."""
    if status in ("in_force", "accepted", "approved", "implemented"):
        return "ok"
    if status in ("rejected", "lapsed", "abandoned"):
        return "bad"
    return "warn"
