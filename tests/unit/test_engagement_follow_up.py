"""The follow-up meeting and the years after: agreements accepted, proposals decided, check-ins."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import uuid4

import pytest

from domain.agreements import AgreementStatus, CheckInStatus
from domain.errors import AlreadyExists, InvariantViolated, NotFound
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.provenance import Cause
from tests.unit.factories import (
    CLOCK,
    advance_to,
    agreement,
    engagement_with_outcomes,
    later,
    proposal,
    provenance,
)

DUE = date(2025, 9, 1)


# -- agreements ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted", "status"), [(True, AgreementStatus.ACCEPTED), (False, AgreementStatus.REJECTED)]
)
def test_an_agreement_needing_acceptance_is_decided_once(accepted: bool, status: AgreementStatus) -> None:
    draft = agreement("Fælles tavlemøde", needs_acceptance=True)
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,))
    engagement.collect_events()
    engagement.decide_agreement(draft.agreement_id, accepted, " passer med budget ", " Direktør ", later(60))
    decided = engagement.agreement(draft.agreement_id)
    assert decided.status is status
    assert decided.decision is not None
    assert (decided.decision.accepted, decided.decision.rationale, decided.decision.decided_by) == (
        accepted,
        "passer med budget",
        "Direktør",
    )
    assert decided.decision.at == CLOCK + timedelta(days=60)
    (event,) = engagement.collect_events()
    assert type(event).__name__ == ("AgreementAccepted" if accepted else "AgreementRejected")
    assert event.provenance.caused_by == (Cause("agreement", draft.agreement_id),)

    with pytest.raises(InvariantViolated, match=f"already been {status.value}") as raised:
        engagement.decide_agreement(draft.agreement_id, not accepted, "", "Direktør", provenance())
    assert raised.value.state == status.value


def test_an_agreement_in_force_needs_no_decision() -> None:
    draft = agreement("Vi ringer hver mandag")
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,))
    with pytest.raises(InvariantViolated, match="needs no management acceptance") as raised:
        engagement.decide_agreement(draft.agreement_id, True, "", "Direktør", provenance())
    assert raised.value.state == "in_force"
    assert engagement.agreement(draft.agreement_id).decision is None


def test_a_decision_names_who_decided() -> None:
    draft = agreement(needs_acceptance=True)
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,))
    with pytest.raises(InvariantViolated, match="who decided"):
        engagement.decide_agreement(draft.agreement_id, True, "", "  ", provenance())
    assert engagement.agreement(draft.agreement_id).status is AgreementStatus.AWAITING_ACCEPTANCE


def test_deciding_an_unknown_agreement() -> None:
    engagement, _, _ = engagement_with_outcomes()
    with pytest.raises(NotFound):
        engagement.decide_agreement(uuid4(), True, "", "Direktør", provenance())


# -- proposals -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "options"),
    [
        (ProposalStatus.APPROVED, {}),
        (ProposalStatus.REJECTED, {}),
        (ProposalStatus.DEFERRED, {}),
        (ProposalStatus.DEFERRED, {"deferred_until": date(2025, 12, 1)}),
        (ProposalStatus.UNDER_INVESTIGATION, {"owner": " HR-chef ", "due": DUE}),
    ],
)
def test_a_proposal_is_decided(outcome: ProposalStatus, options: dict[str, Any]) -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    engagement.collect_events()
    engagement.decide_proposal(draft.proposal_id, outcome, " fordi ", "Direktør", later(60), **options)
    decided = engagement.proposal(draft.proposal_id)
    assert decided.status is outcome
    (decision,) = decided.decisions
    assert decision.outcome is outcome
    assert decision.rationale == "fordi"
    assert decision.deferred_until == options.get("deferred_until")
    assert decision.owner == ("HR-chef" if "owner" in options else None)
    assert decision.due == options.get("due")
    assert decision.at == CLOCK + timedelta(days=60)
    (event,) = engagement.collect_events()
    assert type(event).__name__ == "ProposalDecided"
    assert event.provenance.caused_by == (Cause("proposal", draft.proposal_id),)


@pytest.mark.parametrize(
    "options",
    [{}, {"owner": "HR-chef"}, {"due": DUE}, {"owner": "   ", "due": DUE}],
)
def test_an_investigation_needs_an_owner_and_a_due_date(options: dict[str, Any]) -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    with pytest.raises(InvariantViolated, match="owner and a due date"):
        engagement.decide_proposal(
            draft.proposal_id, ProposalStatus.UNDER_INVESTIGATION, "", "Direktør", provenance(), **options
        )
    assert engagement.proposal(draft.proposal_id).decisions == ()


@pytest.mark.parametrize(
    "outcome", [ProposalStatus.APPROVED, ProposalStatus.REJECTED, ProposalStatus.DEFERRED]
)
@pytest.mark.parametrize("options", [{"owner": "HR-chef"}, {"due": DUE}, {"owner": "HR-chef", "due": DUE}])
def test_only_an_investigation_has_an_owner_and_a_due_date(
    outcome: ProposalStatus, options: dict[str, Any]
) -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    with pytest.raises(InvariantViolated, match="only investigations"):
        engagement.decide_proposal(draft.proposal_id, outcome, "", "Direktør", provenance(), **options)
    assert engagement.proposal(draft.proposal_id).status is ProposalStatus.OPEN


@pytest.mark.parametrize("outcome", [ProposalStatus.APPROVED, ProposalStatus.REJECTED])
def test_only_a_deferral_has_a_date_it_is_deferred_to(outcome: ProposalStatus) -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    with pytest.raises(InvariantViolated, match="only a deferral"):
        engagement.decide_proposal(
            draft.proposal_id, outcome, "", "Direktør", provenance(), deferred_until=date(2025, 12, 1)
        )


@pytest.mark.parametrize(
    ("outcome", "options", "message"),
    [
        (ProposalStatus.UNDER_INVESTIGATION, {"owner": "HR-chef"}, "due date cannot lie before"),
        (ProposalStatus.DEFERRED, {}, "deferred to a day before"),
    ],
)
def test_a_decision_does_not_set_dates_before_itself(
    outcome: ProposalStatus, options: dict[str, Any], message: str
) -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    at = later(60)
    day_before = (at.occurred_at - timedelta(days=1)).date()
    key = "due" if outcome is ProposalStatus.UNDER_INVESTIGATION else "deferred_until"
    with pytest.raises(InvariantViolated, match=message):
        engagement.decide_proposal(
            draft.proposal_id, outcome, "", "Direktør", at, **{**options, key: day_before}
        )
    assert engagement.proposal(draft.proposal_id).decisions == ()
    # The day of the decision itself will do.
    engagement.decide_proposal(
        draft.proposal_id, outcome, "", "Direktør", at, **{**options, key: at.occurred_at.date()}
    )


def test_a_decision_is_not_to_leave_a_proposal_open() -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    with pytest.raises(InvariantViolated, match="approves, rejects"):
        engagement.decide_proposal(draft.proposal_id, ProposalStatus.OPEN, "", "Direktør", provenance())


def test_a_deferred_proposal_is_decided_again_later_and_keeps_its_history() -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    engagement.decide_proposal(
        draft.proposal_id, ProposalStatus.DEFERRED, "næste møde", "Direktør", later(60)
    )
    advance_to(engagement, Phase.FOLLOW_THROUGH)
    engagement.decide_proposal(
        draft.proposal_id, ProposalStatus.UNDER_INVESTIGATION, "", "Direktør", later(120), owner="HR", due=DUE
    )
    engagement.decide_proposal(
        draft.proposal_id, ProposalStatus.APPROVED, "undersøgt", "Direktør", later(240)
    )
    decided = engagement.proposal(draft.proposal_id)
    assert decided.status is ProposalStatus.APPROVED
    assert [d.outcome for d in decided.decisions] == [
        ProposalStatus.DEFERRED,
        ProposalStatus.UNDER_INVESTIGATION,
        ProposalStatus.APPROVED,
    ]
    assert [d.at for d in decided.decisions] == [CLOCK + timedelta(days=n) for n in (60, 120, 240)]


@pytest.mark.parametrize("settled", [ProposalStatus.APPROVED, ProposalStatus.REJECTED])
def test_a_settled_proposal_refuses_a_new_decision(settled: ProposalStatus) -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    engagement.decide_proposal(draft.proposal_id, settled, "", "Direktør", provenance())
    engagement.collect_events()
    with pytest.raises(InvariantViolated, match="that decision stands") as raised:
        engagement.decide_proposal(draft.proposal_id, ProposalStatus.DEFERRED, "", "Direktør", provenance())
    assert raised.value.state == settled.value
    assert len(engagement.proposal(draft.proposal_id).decisions) == 1
    assert engagement.collect_events() == []


def test_deciding_an_unknown_proposal() -> None:
    engagement, _, _ = engagement_with_outcomes()
    with pytest.raises(NotFound):
        engagement.decide_proposal(uuid4(), ProposalStatus.APPROVED, "", "Direktør", provenance())


# -- check-ins -------------------------------------------------------------------------------


def test_check_ins_follow_an_agreement_in_force_for_years() -> None:
    draft = agreement()
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,), until=Phase.FOLLOW_THROUGH)
    engagement.collect_events()
    first, second, third = uuid4(), uuid4(), uuid4()
    engagement.check_in(first, draft.agreement_id, CheckInStatus.IN_PROGRESS, " halvvejs ", later(90))
    engagement.check_in(
        second, draft.agreement_id, CheckInStatus.IMPLEMENTED, "kører", later(365), " referat 2025-03 "
    )
    engagement.check_in(third, draft.agreement_id, CheckInStatus.LAPSED, "", later(730))
    check_ins = engagement.agreement(draft.agreement_id).check_ins
    assert [c.check_in_id for c in check_ins] == [first, second, third]
    assert [c.status for c in check_ins] == [
        CheckInStatus.IN_PROGRESS,
        CheckInStatus.IMPLEMENTED,
        CheckInStatus.LAPSED,
    ]
    assert check_ins[0].note == "halvvejs"
    assert [c.evidence for c in check_ins] == ["", "referat 2025-03", ""]
    assert [c.at for c in check_ins] == [CLOCK + timedelta(days=n) for n in (90, 365, 730)]
    events = engagement.collect_events()
    assert [type(e).__name__ for e in events] == ["AgreementCheckedIn"] * 3
    assert all(e.provenance.caused_by == (Cause("agreement", draft.agreement_id),) for e in events)


def test_an_accepted_agreement_is_followed_up() -> None:
    draft = agreement(needs_acceptance=True)
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,))
    engagement.decide_agreement(draft.agreement_id, True, "", "Direktør", provenance())
    engagement.check_in(uuid4(), draft.agreement_id, CheckInStatus.IN_PROGRESS, "", later(30))
    assert len(engagement.agreement(draft.agreement_id).check_ins) == 1


@pytest.mark.parametrize(("reject", "state"), [(False, "awaiting_acceptance"), (True, "rejected")])
def test_an_agreement_not_in_force_gets_no_check_in(reject: bool, state: str) -> None:
    draft = agreement(needs_acceptance=True)
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,))
    if reject:
        engagement.decide_agreement(draft.agreement_id, False, "", "Direktør", provenance())
    with pytest.raises(InvariantViolated, match="agreements in force") as raised:
        engagement.check_in(uuid4(), draft.agreement_id, CheckInStatus.IMPLEMENTED, "", provenance())
    assert raised.value.state == state


def test_a_check_in_is_recorded_once() -> None:
    draft = agreement()
    engagement, _, _ = engagement_with_outcomes(agreements=(draft,))
    check_in_id = uuid4()
    engagement.check_in(check_in_id, draft.agreement_id, CheckInStatus.IMPLEMENTED, "", provenance())
    with pytest.raises(AlreadyExists):
        engagement.check_in(check_in_id, draft.agreement_id, CheckInStatus.IMPLEMENTED, "", provenance())
    with pytest.raises(NotFound):
        engagement.check_in(uuid4(), uuid4(), CheckInStatus.IMPLEMENTED, "", provenance())
