"""A rule of the method that refuses a command is said in the user's language, with what to do.

Each refusal here is the domain's own: the rule is broken through the aggregates, and what the
page would say is checked in Danish (no English word of the domain's message left) and in
English. Last, a refused form on a Danish page says it in Danish, at the field it concerns.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from domain.agreements import CheckInStatus
from domain.errors import DomainError, InvariantViolated
from domain.join_code import JoinCode
from domain.organisation import Organisation
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.scheduling import DialogueRequest, propose_schedule
from services.requests.problems import Problem
from services.web.errors import explanation
from services.web.forms import domain_field, domain_message, refusal
from services.web.i18n import speaking
from services.web.refusals import Refusal, explain_refusal
from tests.http_harness import ADMIN, Story
from tests.unit.factories import (
    CLOCK,
    TENANT_ID,
    accepted_card,
    agreement,
    engagement_in,
    engagement_with_outcomes,
    proposal,
    provenance,
)
from tests.web.conftest import Engagement, prepared, signed_in_browser

UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Words the domain's English shares with Danish, or names of the test's own.
SHARED = {"relation", "visitationen", "hjemmeplejen"}


def refused(command: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        command()
    return caught.value


def said(error: DomainError, language: str, names: dict[UUID, str] | None = None) -> Refusal:
    with speaking(language):
        return explain_refusal(error, names)


def english_words(message: str) -> set[str]:
    return {
        w for w in re.findall(r"[a-z][a-z'_-]{3,}", UUID_TEXT.sub("", message.lower())) if w not in SHARED
    }


def assert_danish(error: DomainError, *expected: str, names: dict[UUID, str] | None = None) -> Refusal:
    danish = said(error, "da", names)
    left = sorted(
        w for w in english_words(error.message) if re.search(rf"\b{re.escape(w)}\b", danish.message.lower())
    )
    assert not left, f"{danish.message!r} keeps English words {left} of {error.message!r}"
    assert not UUID_TEXT.search(danish.message), danish.message
    for part in expected:
        assert part in danish.message, danish.message
    return danish


def assert_english(error: DomainError, *expected: str, names: dict[UUID, str] | None = None) -> Refusal:
    english = said(error, "en", names)
    text = english.message
    assert text[0].isupper(), text
    assert text.endswith("."), text
    assert text != error.message
    assert not UUID_TEXT.search(text), text
    for part in expected:
        assert part in text, text
    return english


# -- Phases ---------------------------------------------------------------------------------------------


def test_a_dance_card_sent_while_mapping_waits_for_its_phase() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    error = refused(
        lambda: engagement.send_card(uuid4(), units[0], units[1], "Tidligt", "", "", None, provenance())
    )
    danish = assert_danish(
        error, "Balkort sendes kun i fasen “Balkort”", "“Kortlægning og vurdering”", "Facilitatoren"
    )
    assert danish.field == ""
    assert_english(error, "Dance cards are sent only in the phase “Dance cards”", "moves the engagement on")


def test_a_phase_that_is_over_can_be_stepped_back_to() -> None:
    engagement, units = engagement_in(Phase.WRAP_UP)
    error = refused(lambda: engagement.map_relations(units[0], (units[1],), provenance()))
    assert_danish(error, "Relationer kortlægges kun i fasen", "overstået", "gå tilbage")
    assert_english(error, "That phase is over")


def test_several_phases_are_named_with_or() -> None:
    engagement, _ = engagement_in(Phase.FOLLOW_THROUGH)
    error = refused(lambda: engagement.set_rounds(2, provenance()))
    danish = assert_danish(error, "“Balkort” eller “Dialoger”", "“Opfølgning over tid”")
    assert "“Forberedt”, “Temadagen er åbnet”" in danish.message
    assert_english(error, "“Dance cards” or “Dialogues”")


def test_a_phase_changed_since_the_page_was_loaded() -> None:
    engagement, _ = engagement_in(Phase.MAPPING)
    error = refused(lambda: engagement.advance(Phase.PREPARED, provenance()))
    assert_danish(error, "“Kortlægning og vurdering”", "Genindlæs siden")
    assert_english(error, "Reload the page")


def test_the_first_phase_has_none_before_it() -> None:
    engagement, _ = engagement_in(Phase.PREPARED)
    error = refused(lambda: engagement.move_back(Phase.PREPARED, "Fejl", provenance()))
    assert_danish(error, "første fase")
    assert_english(error, "first phase")


# -- Mapping, rating and dance cards ------------------------------------------------------------------------


def test_a_unit_does_not_map_itself_and_the_refusal_points_at_the_ticks() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    error = refused(lambda: engagement.map_relations(units[0], (units[0], units[1]), provenance()))
    assert assert_danish(error, "Fjern fluebenet").field == "counterpart_ids"
    assert_english(error, "Untick your own unit")


def test_an_unmapped_relation_is_mapped_before_it_is_rated() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    error = refused(lambda: engagement.submit_rating(uuid4(), units[0], units[1], {}, None, provenance()))
    assert_danish(error, "Kortlæg den først")
    assert_english(error, "Map it first")


def test_a_unit_outside_the_engagement_is_named_when_the_page_knows_it() -> None:
    engagement, units = engagement_in(Phase.MAPPING)
    stranger = uuid4()
    error = refused(lambda: engagement.map_relations(units[0], (stranger,), provenance()))
    assert_danish(error, "Akutteamet deltager ikke i dette forløb", names={stranger: "Akutteamet"})
    assert_danish(error, "Enheden deltager ikke")
    assert_english(error, "Akutteamet does not take part", names={stranger: "Akutteamet"})


def test_a_dance_card_to_oneself_is_refused_at_the_recipient() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    error = refused(
        lambda: engagement.send_card(uuid4(), units[0], units[0], "Os selv", "", "", None, provenance())
    )
    assert assert_danish(error, "Vælg en anden enhed").field == "to_unit"
    assert_english(error, "Choose another unit")


def test_only_the_invited_unit_answers_and_only_once() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    card_id = accepted_card(engagement, units[0], units[1])
    by_sender = refused(lambda: engagement.accept_card(card_id, units[0], provenance()))
    assert_danish(by_sender, "Kun den inviterede enhed")
    again = refused(lambda: engagement.decline_card(card_id, units[1], "Nej", provenance()))
    assert_danish(again, "Balkortet er allerede accepteret")
    assert_english(again, "has already been accepted")
    withdrawn_by_other = refused(lambda: engagement.withdraw_card(card_id, units[1], provenance()))
    assert_danish(withdrawn_by_other, "Kun den enhed, der sendte balkortet")


# -- Dialogue rounds ------------------------------------------------------------------------------------------


def test_a_dialogue_moved_into_a_taken_round_is_refused_at_the_round() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    first = accepted_card(engagement, units[0], units[1])
    second = accepted_card(engagement, units[1], units[2])
    engagement.move_dialogue(first, 2, provenance())
    error = refused(lambda: engagement.move_dialogue(second, 2, provenance()))
    danish = assert_danish(error, "allerede en dialog i runde 2", "Vælg en anden runde")
    assert danish.field == "round"
    assert_english(error, "already has a dialogue in round 2. Pick another round")
    outside = refused(lambda: engagement.move_dialogue(second, 7, provenance()))
    assert assert_danish(outside, "fra 1 til 3").field == "round"


def test_too_many_rounds_are_refused_at_the_number_of_rounds() -> None:
    engagement, _ = engagement_in(Phase.MAPPING)
    error = refused(lambda: engagement.set_rounds(11, provenance()))
    assert assert_danish(error, "mellem 1 og 10 dialogrunder").field == "rounds"
    assert_english(error, "between 1 and 10 dialogue rounds")


def test_pins_that_put_a_unit_twice_in_a_round_name_the_unit() -> None:
    a, b, c = uuid4(), uuid4(), uuid4()
    first, second = DialogueRequest(uuid4(), (a, b)), DialogueRequest(uuid4(), (a, c))
    error = refused(lambda: propose_schedule([first, second], 2, {first.card_id: 1, second.card_id: 1}))
    names = {a: "Visitationen", b: "Hjemmeplejen", c: "Akutteamet"}
    assert_danish(error, "giver Visitationen to dialoger i runde 1", names=names)
    assert_danish(error, "en enhed to dialoger i runde 1")


# -- Dialogues, agreements and proposals -------------------------------------------------------------------


def test_a_dialogue_is_recorded_once() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    card_id = accepted_card(engagement, units[0], units[1])
    engagement.advance(Phase.DANCE_CARDS, provenance())
    engagement.hold_dialogue(uuid4(), card_id, "", (), (), (), provenance())
    error = refused(lambda: engagement.hold_dialogue(uuid4(), card_id, "", (), (), (), provenance()))
    assert_danish(error, "allerede registreret", "Genindlæs siden")
    assert_english(error, "recorded already")


def test_an_investigation_needs_an_owner_and_a_due_date() -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    error = refused(
        lambda: engagement.decide_proposal(
            draft.proposal_id, ProposalStatus.UNDER_INVESTIGATION, "", "Direktionen", provenance()
        )
    )
    assert assert_danish(error, "En undersøgelse kræver").field == "owner"
    assert_english(error, "someone to look into it")


def test_a_decided_proposal_stays_decided() -> None:
    draft = proposal()
    engagement, _, _ = engagement_with_outcomes(proposals=(draft,))
    engagement.decide_proposal(draft.proposal_id, ProposalStatus.APPROVED, "", "Direktionen", provenance())
    error = refused(
        lambda: engagement.decide_proposal(
            draft.proposal_id, ProposalStatus.REJECTED, "", "Direktionen", provenance()
        )
    )
    assert_danish(error, "Forslaget er allerede godkendt")
    assert_english(error, "already been approved")


def test_agreements_in_force_need_no_decision_and_awaiting_ones_no_check_in() -> None:
    in_force, awaiting = agreement(), agreement(needs_acceptance=True)
    engagement, _, _ = engagement_with_outcomes(agreements=(in_force, awaiting))
    nothing = refused(
        lambda: engagement.decide_agreement(in_force.agreement_id, True, "", "Direktionen", provenance())
    )
    assert_danish(nothing, "ikke noget at beslutte")
    early = refused(
        lambda: engagement.check_in(
            uuid4(), awaiting.agreement_id, CheckInStatus.IN_PROGRESS, "", provenance()
        )
    )
    assert_danish(early, "venter stadig på ledelsens godkendelse")
    assert_english(early, "awaits management's acceptance")


# -- The organisation and join codes ------------------------------------------------------------------------


def test_unit_names_are_taken_and_merged_units_are_named() -> None:
    organisation = Organisation(tenant_id=TENANT_ID, name="Søby Kommune", provenance=provenance())
    first, second, merged = uuid4(), uuid4(), uuid4()
    organisation.add_unit(first, "Visitationen", provenance())
    organisation.add_unit(second, "Hjemmeplejen", provenance())
    taken = refused(lambda: organisation.add_unit(uuid4(), "Visitationen", provenance()))
    assert assert_danish(taken, "hedder allerede Visitationen").field == "name"
    assert_english(taken, "Choose another name")
    organisation.merge_units((first, second), merged, "Sammenlagt", provenance())
    gone = refused(lambda: organisation.rename_unit(first, "Ny", provenance()))
    assert_danish(gone, "Visitationen er lagt sammen med en anden enhed")
    assert_english(gone, "Visitationen has been merged")


def test_a_join_code_issued_after_its_theme_day_is_refused_at_the_expiry() -> None:
    error = refused(
        lambda: JoinCode.issue(
            TENANT_ID, uuid4(), uuid4(), "ab" * 32, CLOCK - timedelta(hours=1), provenance()
        )
    )
    assert assert_danish(error, "Temadagen er forbi").field == "expires_at"
    assert_english(error, "Choose a later expiry")


# -- A rule no sentence knows, and the forms ------------------------------------------------------------------


def test_an_unknown_refusal_is_said_by_its_rule_in_danish_and_shown_as_is_in_english() -> None:
    error = InvariantViolated("a completely new rule was broken")
    danish = assert_danish(error, "Det er ikke tilladt nu.", "Genindlæs siden")
    assert danish.field == ""
    english = said(error, "en").message
    assert english.startswith("This is not allowed now. A completely new rule was broken")


def test_forms_show_a_refusal_at_its_field_or_for_the_whole_form() -> None:
    engagement, units = engagement_in(Phase.DANCE_CARDS)
    first = accepted_card(engagement, units[0], units[1])
    second = accepted_card(engagement, units[0], units[2])
    engagement.move_dialogue(first, 1, provenance())
    clash = refused(lambda: engagement.move_dialogue(second, 1, provenance()))
    with speaking("da"):
        assert domain_field(clash) == "round"
        assert refusal(clash) == ({"round": domain_message(clash)}, 409)
        closed = refused(lambda: engagement.hold_closing_plenary("", provenance()))
        errors, status = refusal(closed)
        assert (list(errors), status) == ([""], 409)
        assert "Den afsluttende orientering holdes kun i fasen" in errors[""]


def test_an_error_page_says_known_details_in_danish_and_leaves_unknown_ones_out() -> None:
    def shown(status: int, detail: str | None, language: str) -> str:
        problem = Problem(type="about:blank", title="", status=status, detail=detail)
        with speaking(language):
            return explanation(problem, Exception(detail))

    assert shown(403, "Not allowed in this tenant.", "da").startswith(
        "Du har ikke adgang til denne kundeorganisation."
    )
    assert shown(500, "Something went wrong on our side; it has been logged.", "da") == (
        "Noget gik galt hos os; det er logget. Prøv igen om lidt."
    )
    assert shown(503, "The database cannot be reached right now; retry shortly.", "da").startswith(
        "Databasen"
    )
    assert shown(400, "as_of needs a time zone", "da") == "Tjek det udfyldte, og prøv igen."
    assert shown(400, "as_of needs a time zone", "en").startswith(
        "as_of needs a time zone Check what was filled in"
    )
    assert shown(404, None, "da") == "Linket kan være forældet, eller det, det førte til, er fjernet."


# -- On a page --------------------------------------------------------------------------------------------


async def test_a_dialogue_moved_into_a_taken_round_is_refused_in_danish_on_the_schedule(site: Story) -> None:
    engagement = await prepared(
        Engagement, site, "Søby Kommune", "Udskrivning", ["Visitationen", "Hjemmeplejen", "Akutteamet"]
    )
    await engagement.advance("prepared", "theme_day_open", "mapping")
    units, cards = engagement.units, []
    for sender, receiver in (("Visitationen", "Hjemmeplejen"), ("Hjemmeplejen", "Akutteamet")):
        card = await engagement.admin.post(
            f"{engagement.api}/cards",
            {"from_unit": units[sender], "to_unit": units[receiver], "topic": "Overlevering"},
        )
        await engagement.admin.post(
            f"{engagement.api}/cards/{card['card_id']}/accept", {"unit_id": units[receiver]}, expect=200
        )
        cards.append(card["card_id"])
    browser = await signed_in_browser(site.client, ADMIN, language="da")
    schedule = f"/t/{engagement.tenant_id}/e/{engagement.engagement_id}/schedule"
    assert (await browser.post(f"{schedule}/cards/{cards[0]}/round", {"round": "2"})).status_code == 303

    clash = await browser.post(f"{schedule}/cards/{cards[1]}/round", {"round": "2"})

    assert clash.status_code == 409
    error = re.search(rf'id="move-error-{cards[1]}">([^<]*)<', clash.text)
    assert error, clash.text
    assert error.group(1) == (
        "En af dialogens enheder har allerede en dialog i runde 2. "
        "Vælg en anden runde, eller flyt den anden dialog først."
    )
    assert "a unit of this dialogue" not in clash.text


async def test_error_pages_say_the_apis_details_in_danish_and_leave_unknown_ones_out(site: Story) -> None:
    engagement = await prepared(
        Engagement, site, "Søby Kommune", "Udskrivning", ["Visitationen", "Hjemmeplejen"]
    )
    browser = await signed_in_browser(site.client, ADMIN, language="da")
    missing = await browser.get(f"/t/{engagement.tenant_id}/e/{uuid4()}/console", expect=404)
    assert "Forløbet findes ikke i denne kundeorganisation" in missing
    assert "no engagement" not in missing
    nowhere = await browser.get(f"/t/{uuid4()}/e/{uuid4()}/console", expect=404)
    assert "Kundeorganisationen findes ikke." in nowhere
    assert "client organisation" not in nowhere
    browser.speak("en")
    missing = await browser.get(f"/t/{engagement.tenant_id}/e/{uuid4()}/console", expect=404)
    assert "There is no such engagement in this client organisation" in missing
