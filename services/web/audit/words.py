"""The audit trail in words: what each event, lineage step and outcome is called on the pages,
and a one-line account of what a trail row concerns, named by units, cards and texts rather
than ids."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from projections.audit import AuditRow
from projections.documents import EngagementOut, OrganisationOut
from services.web.i18n import current_language
from services.web.i18n import gettext as _
from services.web.labels import (
    agreement_verdict_label,
    check_in_label,
    phase_label,
    proposal_decision_label,
)

SUBJECT_LENGTH = 160
ORGANISATION = "Organisation"
ENGAGEMENT = "Engagement"
ACCESS_LOG = "AccessLog"
MEMBER_ROSTER = "MemberRoster"
NOTIFICATION_SETTINGS = "NotificationSettings"


def _organisation_events() -> dict[str, str]:
    return {
        "Established": _("Organisation established"),
        "UnitAdded": _("Unit added"),
        "UnitRenamed": _("Unit renamed"),
        "UnitsMerged": _("Units merged"),
        "UnitSplit": _("Unit split"),
        "UnitRetired": _("Unit retired"),
        "EngagementRegistered": _("Engagement registered"),
    }


def _engagement_events() -> dict[str, str]:
    return {
        "Prepared": _("Engagement prepared"),
        "PreparationRevised": _("Preparation revised"),
        "PhaseAdvanced": _("Phase advanced"),
        "PhaseMovedBack": _("Phase moved back"),
        "RelationsMapped": _("Relations mapped"),
        "RatingSubmitted": _("Rating submitted"),
        "DanceCardSent": _("Dance card sent"),
        "DanceCardAccepted": _("Dance card accepted"),
        "DanceCardDeclined": _("Dance card declined"),
        "DanceCardWithdrawn": _("Dance card withdrawn"),
        "RoundsSet": _("Dialogue rounds set"),
        "DialoguesScheduled": _("Dialogues scheduled"),
        "DialogueMoved": _("Dialogue moved to another round"),
        "DialogueHeld": _("Dialogue held"),
        "ParticipantRedacted": _("Participant's name erased"),
        "AgreementMade": _("Agreement made"),
        "ProposalMade": _("Proposal made"),
        "UnitWrappedUp": _("Unit wrap-up recorded"),
        "ClosingPlenaryHeld": _("Closing plenary held"),
        "AgreementAccepted": _("Agreement accepted"),
        "AgreementRejected": _("Agreement rejected"),
        "ProposalDecided": _("Proposal decided"),
        "AgreementCheckedIn": _("Check-in on an agreement"),
    }


def _access_log_events() -> dict[str, str]:
    return {
        "Opened": _("Access log of the month opened"),
        "AuditorAccessed": _("Auditor access"),
    }


def _member_roster_events() -> dict[str, str]:
    return {
        "Opened": _("Member roster opened"),
        "MembershipGranted": _("Role granted"),
        "RoleChanged": _("Role changed"),
        "MembershipRemoved": _("Role removed"),
        "MemberInvited": _("Person invited to a role"),
        "InvitationAccepted": _("Invitation accepted"),
    }


def _notification_events() -> dict[str, str]:
    return {
        "Opened": _("Message settings opened"),
        "ReceiversChosen": _("Receivers of a kind of message chosen"),
        "MessagesTurnedOff": _("A kind of message turned off by its recipient"),
    }


def _events_by_aggregate() -> dict[str, dict[str, str]]:
    return {
        ORGANISATION: _organisation_events(),
        ENGAGEMENT: _engagement_events(),
        ACCESS_LOG: _access_log_events(),
        MEMBER_ROSTER: _member_roster_events(),
        NOTIFICATION_SETTINGS: _notification_events(),
    }


def event_label(aggregate_type: str, event_type: str) -> str:
    """The event in words; its own name when it has none."""
    return _events_by_aggregate().get(aggregate_type, {}).get(event_type, event_type)


def aggregate_type_label(aggregate_type: str) -> str:
    return {
        ORGANISATION: _("The organisation"),
        ENGAGEMENT: _("Engagement"),
        ACCESS_LOG: _("Auditor access log"),
        MEMBER_ROSTER: _("Members and their roles"),
        NOTIFICATION_SETTINGS: _("Who receives which messages"),
    }.get(aggregate_type, aggregate_type)


def event_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    """The event types to filter by, grouped by what they happen to, for a select."""
    return [
        (aggregate_type_label(aggregate), sorted(events.items(), key=lambda item: item[1]))
        for aggregate, events in _events_by_aggregate().items()
    ]


def node_kind_label(kind: str) -> str:
    """A lineage step's kind in words."""
    return {
        "rating": _("Rating"),
        "dance_card": _("Dance card"),
        "card_answer": _("Answer to a dance card"),
        "dialogue": _("Dialogue"),
        "agreement": _("Agreement"),
        "proposal": _("Proposal"),
        "agreement_decision": _("Decision on an agreement"),
        "proposal_decision": _("Decision on a proposal"),
        "check_in": _("Check-in"),
    }.get(kind, kind)


@dataclass
class Names:
    """What the ids in a tenant's trail are called: units, engagements and their cards,
    agreements and proposals, and each relation's rating index where it may be shown."""

    units: dict[str, str] = field(default_factory=dict)
    engagements: dict[str, str] = field(default_factory=dict)
    cards: dict[str, str] = field(default_factory=dict)
    dialogue_cards: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, str] = field(default_factory=dict)
    proposals: dict[str, str] = field(default_factory=dict)
    # (engagement, unit, counterpart) -> (index, band): none where the anonymity threshold hides it.
    relations: dict[tuple[str, str, str], tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, organisation: OrganisationOut | None, engagements: list[EngagementOut]) -> Names:
        names = cls()
        if organisation is not None:
            names.units = {str(u.unit_id): u.name for u in organisation.units}
        for e in engagements:
            engagement_id = str(e.engagement_id)
            names.engagements[engagement_id] = e.title
            names.cards.update({str(c.card_id): c.topic for c in e.cards})
            names.dialogue_cards.update({str(d.dialogue_id): str(d.card_id) for d in e.dialogues})
            names.agreements.update({str(a.agreement_id): a.text for a in e.agreements})
            names.proposals.update({str(p.proposal_id): p.text for p in e.proposals})
            danish = current_language() == "da"
            for r in e.relation_views:
                if r.suppressed or r.index is None:
                    continue
                band = (r.band_da if danish else r.band) or r.band or ""
                names.relations[(engagement_id, str(r.unit_id), str(r.counterpart_id))] = (r.index, band)
        return names

    def unit(self, unit_id: Any) -> str:
        return self.units.get(str(unit_id), _("an unknown unit"))

    def card(self, card_id: Any) -> str:
        return self.cards.get(str(card_id), "")

    def concerns(self, row: AuditRow) -> str:
        """What the row's aggregate is: the engagement's title, the organisation, the access log."""
        if row.aggregate_type == ENGAGEMENT:
            return self.engagements.get(str(row.aggregate_id), aggregate_type_label(ENGAGEMENT))
        return aggregate_type_label(row.aggregate_type)


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUBJECT_LENGTH else text[: SUBJECT_LENGTH - 1].rstrip() + "\u2026"


def _phases(d: dict[str, Any], n: Names) -> str:
    return _(
        "From %(before)s to %(after)s",
        before=phase_label(d.get("from_phase", "")),
        after=phase_label(d.get("to_phase", "")),
    )


def _rating(d: dict[str, Any], n: Names) -> str:
    rating = d.get("rating") or {}
    return _(
        "%(unit)s rates %(counterpart)s",
        unit=n.unit(rating.get("unit_id")),
        counterpart=n.unit(rating.get("counterpart_id")),
    )


def _card_sent(d: dict[str, Any], n: Names) -> str:
    card = d.get("card") or {}
    return _(
        "%(topic)s (from %(sender)s to %(receiver)s)",
        topic=card.get("topic", ""),
        sender=n.unit(card.get("from_unit")),
        receiver=n.unit(card.get("to_unit")),
    )


def _dialogue(d: dict[str, Any], n: Names) -> str:
    dialogue = d.get("dialogue") or {}
    return n.card(dialogue.get("card_id")) or str(dialogue.get("notes", ""))


def _proposal_decided(d: dict[str, Any], n: Names) -> str:
    decision = d.get("decision") or {}
    return _(
        "%(outcome)s: %(text)s",
        outcome=proposal_decision_label(str(decision.get("outcome", ""))),
        text=n.proposals.get(str(d.get("proposal_id")), ""),
    )


def _agreement_decided(d: dict[str, Any], n: Names) -> str:
    decision = d.get("decision") or {}
    return _(
        "%(outcome)s: %(text)s",
        outcome=agreement_verdict_label(bool(decision.get("accepted"))),
        text=n.agreements.get(str(d.get("agreement_id")), ""),
    )


def _checked_in(d: dict[str, Any], n: Names) -> str:
    check_in = d.get("check_in") or {}
    return _(
        "%(outcome)s: %(text)s",
        outcome=check_in_label(str(check_in.get("status", ""))),
        text=n.agreements.get(str(d.get("agreement_id")), ""),
    )


def _access(d: dict[str, Any], n: Names) -> str:
    query = f"?{d['query']}" if d.get("query") else ""
    return f"{d.get('method', '')} {d.get('path', '')}{query} \u2192 {d.get('status', '')}"


_SUBJECTS: dict[tuple[str, str], Callable[[dict[str, Any], Names], str]] = {
    (ORGANISATION, "Established"): lambda d, n: str(d.get("name", "")),
    (ORGANISATION, "UnitAdded"): lambda d, n: str(d.get("name", "")),
    (ORGANISATION, "UnitRenamed"): lambda d, n: str(d.get("name", "")),
    (ORGANISATION, "UnitsMerged"): lambda d, n: str(d.get("name", "")),
    (ORGANISATION, "UnitSplit"): lambda d, n: n.unit(d.get("unit_id")),
    (ORGANISATION, "UnitRetired"): lambda d, n: n.unit(d.get("unit_id")),
    (ORGANISATION, "EngagementRegistered"): lambda d, n: str(d.get("title", "")),
    (ENGAGEMENT, "Prepared"): lambda d, n: str((d.get("preparation") or {}).get("title", "")),
    (ENGAGEMENT, "PhaseAdvanced"): _phases,
    (ENGAGEMENT, "PhaseMovedBack"): _phases,
    (ENGAGEMENT, "RelationsMapped"): lambda d, n: n.unit(d.get("unit_id")),
    (ENGAGEMENT, "RatingSubmitted"): _rating,
    (ENGAGEMENT, "DanceCardSent"): _card_sent,
    (ENGAGEMENT, "DanceCardAccepted"): lambda d, n: n.card(d.get("card_id")),
    (ENGAGEMENT, "DanceCardDeclined"): lambda d, n: n.card(d.get("card_id")),
    (ENGAGEMENT, "DanceCardWithdrawn"): lambda d, n: n.card(d.get("card_id")),
    (ENGAGEMENT, "DialogueMoved"): lambda d, n: n.card(d.get("card_id")),
    (ENGAGEMENT, "DialogueHeld"): _dialogue,
    (ENGAGEMENT, "AgreementMade"): lambda d, n: str(d.get("text", "")),
    (ENGAGEMENT, "ProposalMade"): lambda d, n: str(d.get("text", "")),
    (ENGAGEMENT, "UnitWrappedUp"): lambda d, n: n.unit((d.get("wrap_up") or {}).get("unit_id")),
    (ENGAGEMENT, "AgreementAccepted"): _agreement_decided,
    (ENGAGEMENT, "AgreementRejected"): _agreement_decided,
    (ENGAGEMENT, "ProposalDecided"): _proposal_decided,
    (ENGAGEMENT, "AgreementCheckedIn"): _checked_in,
    (ACCESS_LOG, "AuditorAccessed"): _access,
}


def subject(row: AuditRow, details: dict[str, Any], names: Names) -> str:
    """One line on what the event is about, in the user's language ("" when nothing to add)."""
    describe = _SUBJECTS.get((row.aggregate_type, row.event_type))
    if describe is None:
        return ""
    try:
        return _short(describe(details, names))
    except (AttributeError, KeyError, TypeError):  # an older event of another shape
        return ""


def lineage_node_of(row: AuditRow, details: dict[str, Any]) -> str | None:
    """The lineage node (`kind:id`) the event adds, if it adds one (as projections/lineage.py)."""
    if row.aggregate_type != ENGAGEMENT:
        return None
    match row.event_type:
        case "RatingSubmitted":
            return f"rating:{(details.get('rating') or {}).get('rating_id')}"
        case "DanceCardSent":
            return f"dance_card:{(details.get('card') or {}).get('card_id')}"
        case "DanceCardAccepted":
            return f"card_answer:{details.get('card_id')}:accepted"
        case "DanceCardDeclined":
            return f"card_answer:{details.get('card_id')}:declined"
        case "DialogueHeld":
            return f"dialogue:{(details.get('dialogue') or {}).get('dialogue_id')}"
        case "AgreementMade":
            return f"agreement:{details.get('agreement_id')}"
        case "ProposalMade":
            return f"proposal:{details.get('proposal_id')}"
        case "AgreementAccepted" | "AgreementRejected":
            return f"agreement_decision:{details.get('agreement_id')}:{row.version}"
        case "ProposalDecided":
            return f"proposal_decision:{details.get('proposal_id')}:{row.version}"
        case "AgreementCheckedIn":
            return f"check_in:{(details.get('check_in') or {}).get('check_in_id')}"
    return None
