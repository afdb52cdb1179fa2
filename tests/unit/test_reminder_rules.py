"""What the engagement's events decide must be sent, and when: check-in reminders voided by a
check-in or a rejection, investigations and deferrals, invitations whose calendar entry is
updated when the date moves and cancelled when it is taken away."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

from domain.agreements import CheckInStatus
from domain.engagement import Engagement
from domain.phases import Phase
from domain.proposals import ProposalStatus
from projections.outbox.digest import WEEKLY_DIGEST
from projections.outbox.intents import CalendarEntry, MessageIntent, RuleContext, ToAddress, ToRole
from projections.outbox.registry import intents_for
from projections.outbox.voiding import is_void, matches
from services.mail.calendar import ics
from services.mail.render import render
from tests.unit.factories import (
    accepted_card,
    advance_to,
    agreement,
    engagement_in,
    preparation,
    prepared_engagement,
    proposal,
    provenance,
)

TENANT = UUID("00000000-0000-4000-8000-0000000007e0")
MADE = datetime(2026, 3, 10, 9, tzinfo=UTC)


def _decided(events: list[Any], *, digests: bool = False, voids: bool = False) -> list[MessageIntent]:
    """What the events decide: the reminders and invitations (or only the weekly digests, or
    only the intents that make others void)."""
    context = RuleContext(tenant_id=TENANT, position=1)
    decided = [i for e in events for i in intents_for(e, context)]
    return [i for i in decided if (i.kind == WEEKLY_DIGEST) is digests and is_void(i) is voids]


def _with_agreement(needs_acceptance: bool = False) -> tuple[Engagement, UUID, list[MessageIntent]]:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    card = accepted_card(engagement, units[0], units[1])
    advance_to(engagement, Phase.DIALOGUES)
    draft = agreement("Vi ringer hver mandag", needs_acceptance=needs_acceptance)
    engagement.collect_events()
    engagement.hold_dialogue(uuid4(), card, "Noter", (), (draft,), (proposal(),), provenance(at=MADE))
    return engagement, draft.agreement_id, _decided(engagement.collect_events())


def test_an_agreement_made_is_reminded_of_at_its_three_check_in_points_to_the_planning_group() -> None:
    engagement, agreement_id, intents = _with_agreement()
    assert [(i.kind, i.due_at, i.params["months"]) for i in intents] == [
        ("check_in_due", datetime(2026, 9, 10, 6, tzinfo=UTC), 6),
        ("check_in_due", datetime(2027, 3, 10, 7, tzinfo=UTC), 12),
        ("check_in_due", datetime(2028, 3, 10, 7, tzinfo=UTC), 24),
    ]
    assert {i.audience for i in intents} == {ToRole("client_admin")}
    assert intents[0].params["path"] == (f"/t/{TENANT}/e/{engagement.id}/agreements/{agreement_id}/check-ins")
    assert len({i.key for i in intents}) == 3


def test_each_reminder_also_stands_in_the_weekly_digest_of_its_week() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    card = accepted_card(engagement, units[0], units[1])
    advance_to(engagement, Phase.DIALOGUES)
    engagement.collect_events()
    engagement.hold_dialogue(uuid4(), card, "Noter", (), (agreement(),), (), provenance(at=MADE))
    events = engagement.collect_events()
    reminders, digests = _decided(events), _decided(events, digests=True)
    assert [d.params["week"] for d in digests] == ["2026-W37", "2027-W10", "2028-W10"]
    assert [d.params["items"][0]["key"] for d in digests] == [r.key for r in reminders]
    assert all(d.due_at <= r.due_at for d, r in zip(digests, reminders, strict=True))


def test_a_check_in_makes_the_reminder_of_the_next_point_void_and_not_the_later_ones() -> None:
    engagement, agreement_id, intents = _with_agreement()
    six, twelve, twenty_four = (i.key for i in intents)
    advance_to(engagement, Phase.FOLLOW_UP_MEETING)
    engagement.collect_events()
    engagement.check_in(
        uuid4(), agreement_id, CheckInStatus.IN_PROGRESS, "", provenance(at=MADE + timedelta(days=120))
    )
    [voiding] = _decided(engagement.collect_events(), voids=True)
    assert six in voiding.cancels
    assert twelve not in voiding.cancels
    assert twenty_four not in voiding.cancels


def test_a_rejected_agreement_is_not_reminded_of_at_all() -> None:
    engagement, agreement_id, intents = _with_agreement(needs_acceptance=True)
    advance_to(engagement, Phase.FOLLOW_UP_MEETING)
    engagement.collect_events()
    engagement.decide_agreement(agreement_id, False, "", "Direktør", provenance(at=MADE + timedelta(days=40)))
    events = engagement.collect_events()
    [voiding] = _decided(events, voids=True)
    assert all(any(matches(c, i.key) for c in voiding.cancels) for i in intents)
    assert not any(matches(c, f"{TENANT}:agreement:{uuid4()}:check-in:2026-09") for c in voiding.cancels)


def test_an_investigation_is_reminded_of_a_week_before_and_when_overdue_to_an_owner_with_an_address() -> None:
    engagement, _, _ = _with_agreement()
    advance_to(engagement, Phase.FOLLOW_UP_MEETING)
    [proposal_id] = engagement.proposals
    engagement.collect_events()
    engagement.decide_proposal(
        proposal_id,
        ProposalStatus.UNDER_INVESTIGATION,
        "Kræver data",
        "Direktør",
        provenance(at=MADE + timedelta(days=50)),
        owner=" hr@soeby.example ",
        due=date(2026, 6, 30),
    )
    soon, overdue = _decided(engagement.collect_events())
    assert (soon.kind, soon.due_at) == ("investigation_due_soon", datetime(2026, 6, 23, 6, tzinfo=UTC))
    assert (overdue.kind, overdue.due_at) == ("investigation_overdue", datetime(2026, 7, 1, 6, tzinfo=UTC))
    assert soon.audience == overdue.audience == ToAddress("hr@soeby.example")


def test_an_owner_named_without_an_address_is_reminded_through_the_planning_group() -> None:
    engagement, _, _ = _with_agreement()
    advance_to(engagement, Phase.FOLLOW_UP_MEETING)
    [proposal_id] = engagement.proposals
    engagement.collect_events()
    decided_at = MADE + timedelta(days=50)
    engagement.decide_proposal(
        proposal_id,
        ProposalStatus.UNDER_INVESTIGATION,
        "",
        "Direktør",
        provenance(at=decided_at),
        owner="Mads fra HR",
        due=decided_at.date() + timedelta(days=3),
    )
    [overdue] = _decided(engagement.collect_events())  # due in less than a week: no "due soon"
    assert overdue.kind == "investigation_overdue"
    assert overdue.audience == ToRole("client_admin")
    assert overdue.params["owner"] == "Mads fra HR"


def test_a_proposal_decided_again_voids_the_reminders_of_its_earlier_decision_and_only_those() -> None:
    engagement, _, _ = _with_agreement()
    advance_to(engagement, Phase.FOLLOW_UP_MEETING)
    [proposal_id] = engagement.proposals
    engagement.decide_proposal(
        proposal_id,
        ProposalStatus.UNDER_INVESTIGATION,
        "",
        "Direktør",
        provenance(at=MADE + timedelta(days=50)),
        owner="HR",
        due=date(2026, 6, 30),
    )
    first = _decided(engagement.collect_events())
    engagement.decide_proposal(
        proposal_id, ProposalStatus.APPROVED, "", "Direktør", provenance(at=MADE + timedelta(days=60))
    )
    events = engagement.collect_events()
    assert _decided(events) == []
    [voiding] = _decided(events, voids=True)
    assert [k.kind for k in first] == ["investigation_due_soon", "investigation_overdue"]
    assert all(any(matches(c, i.key) for c in voiding.cancels) for i in first)
    assert not any(
        matches(c, f"{TENANT}:proposal:{uuid4()}:investigation_overdue@9") for c in voiding.cancels
    )


def test_a_proposal_deferred_to_a_date_comes_back_on_that_date() -> None:
    engagement, _, _ = _with_agreement()
    advance_to(engagement, Phase.FOLLOW_UP_MEETING)
    [proposal_id] = engagement.proposals
    engagement.collect_events()
    engagement.decide_proposal(
        proposal_id,
        ProposalStatus.DEFERRED,
        "",
        "Direktør",
        provenance(at=MADE + timedelta(days=50)),
        deferred_until=date(2026, 11, 2),
    )
    [back] = _decided(engagement.collect_events())
    assert (back.kind, back.due_at) == ("proposal_deferral_due", datetime(2026, 11, 2, 7, tzinfo=UTC))
    assert back.params["path"] == f"/t/{TENANT}/e/{engagement.id}/follow-up"


def _calendar(intents: list[MessageIntent], kind: str) -> CalendarEntry:
    [entry] = {i.calendar for i in intents if i.kind == kind and i.calendar is not None}
    return entry


def test_the_theme_day_invitation_is_updated_with_the_same_uid_and_a_higher_sequence_when_it_moves() -> None:
    engagement, _ = prepared_engagement()
    first = _decided(engagement.collect_events())
    invitation = _calendar(first, "theme_day_invitation")
    moved = replace(
        preparation(), theme_day=date(2025, 4, 8), planning_group=("Direktør", "hr@soeby.example")
    )
    engagement.revise_preparation(moved, provenance())
    revised = _decided(engagement.collect_events())
    update = _calendar(revised, "theme_day_invitation")
    assert update.uid == invitation.uid
    assert update.sequence > invitation.sequence
    assert (invitation.start.date(), update.start.date()) == (date(2025, 4, 1), date(2025, 4, 8))
    assert update.all_day
    assert not update.cancelled
    # The planning group's accounts, and the member written as an address (a name cannot be mailed).
    assert {i.audience for i in revised if i.kind == "theme_day_invitation"} == {
        ToRole("client_admin"),
        ToAddress("hr@soeby.example"),
    }
    text = ics(update, datetime(2025, 3, 5, tzinfo=UTC)).decode()
    assert text.startswith("BEGIN:VCALENDAR\r\n")
    assert text.endswith("END:VCALENDAR\r\n")
    assert f"UID:{update.uid}\r\n" in text
    assert f"SEQUENCE:{update.sequence}\r\n" in text
    assert "DTSTART;VALUE=DATE:20250408\r\n" in text
    assert "METHOD:REQUEST\r\n" in text


def test_a_follow_up_meeting_moved_is_updated_and_one_taken_away_is_cancelled() -> None:
    engagement, _ = prepared_engagement()
    first = _decided(engagement.collect_events())
    original = _calendar(first, "follow_up_meeting_set")
    engagement.revise_preparation(replace(preparation(), follow_up_meeting=date(2025, 6, 8)), provenance())
    moved = _calendar(_decided(engagement.collect_events()), "follow_up_meeting_updated")
    engagement.revise_preparation(replace(preparation(), follow_up_meeting=None), provenance())
    cancelled = _calendar(_decided(engagement.collect_events()), "follow_up_meeting_cancelled")
    assert original.uid == moved.uid == cancelled.uid
    assert original.sequence < moved.sequence < cancelled.sequence
    assert moved.start.date() == date(2025, 6, 8)
    assert cancelled.cancelled
    text = ics(cancelled, datetime(2025, 3, 5, tzinfo=UTC)).decode()
    assert "METHOD:CANCEL\r\n" in text
    assert "STATUS:CANCELLED\r\n" in text


def test_the_same_events_decide_the_same_messages_on_every_rebuild() -> None:
    engagement, _ = prepared_engagement()
    engagement.revise_preparation(replace(preparation(), follow_up_meeting=None), provenance())
    events = list(engagement.collect_events())
    assert _decided(events) == _decided(events)


def test_every_message_the_rules_send_has_danish_and_english_words_and_links_to_its_page() -> None:
    _engagement, _agreement_id, intents = _with_agreement()
    first = _decided([*prepared_engagement()[0].collect_events()])
    for intent in [intents[0], *first]:
        for language in ("da", "en"):
            subject, text, html = render(
                intent.kind, language, {**intent.params, "base_url": "https://b.example"}
            )
            assert subject
            assert text
            assert f"https://b.example{intent.params['path']}" in text
            assert f'href="https://b.example{intent.params["path"]}"' in html
    da = render("check_in_due", "da", {**intents[0].params, "base_url": ""})
    en = render("check_in_due", "en", {**intents[0].params, "base_url": ""})
    assert "10. september 2026" in da[1]
    assert "10 September 2026" in en[1]


def test_an_agreement_typed_in_years_later_is_reminded_only_of_the_points_still_to_come() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    card = accepted_card(engagement, units[0], units[1])
    advance_to(engagement, Phase.DIALOGUES)
    draft = agreement()
    engagement.collect_events()
    typed_in = provenance(at=MADE, recorded_at=MADE + timedelta(days=400))
    engagement.hold_dialogue(uuid4(), card, "Noter", (), (draft,), (), typed_in)
    [only] = _decided(engagement.collect_events())
    assert only.params["months"] == 24


def test_nobody_is_invited_to_a_theme_day_that_had_passed_when_the_preparation_was_recorded() -> None:
    engagement, _ = prepared_engagement()
    engagement.collect_events()
    engagement.revise_preparation(preparation(), provenance(recorded_at=datetime(2025, 4, 2, 9, tzinfo=UTC)))
    # The follow-up meeting (1 June) is still to come; the theme day (1 April) is history.
    assert {i.kind for i in _decided(engagement.collect_events())} == {"follow_up_meeting_updated"}
