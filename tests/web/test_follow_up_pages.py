"""The follow-up meeting and check-ins through the pages, as the planning group uses them: the
agenda one item at a time with its lineage, decisions recorded and read back from the API, field
errors next to their fields, forms without their CSRF token refused, a form sent twice recorded
once; and the agreements list with its check-ins."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.web.i18n import TIME_ZONE
from tests.http_harness import Story
from tests.web.conftest import send_form, sign_in_by_form
from tests.web.follow_up_story import (
    ACCEPT_ME,
    ACCEPT_ME_TOO,
    OWN_AGREEMENT,
    PROPOSAL,
    SECOND_PROPOSAL,
    FollowUpStory,
    follow_up_story,
)


def _today() -> date:
    """Today where the organisations are (the pages judge dates there)."""
    return datetime.now(ZoneInfo(TIME_ZONE)).date()


@pytest.fixture
async def story(site: Story) -> FollowUpStory:
    return await follow_up_story(site)


def _form_fields(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of the form `form_id` on a page (its CSRF token, key and version)."""
    form = re.search(rf'<form[^>]*id="{form_id}".*?</form>', html, re.S)
    assert form, f"no form {form_id}"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))


async def _agreement(story: FollowUpStory, text: str) -> dict[str, object]:
    found: list[dict[str, object]] = await story.manager.get(f"{story.api}/agreements")
    return next(a for a in found if a["text"] == text)


async def _proposal(story: FollowUpStory, text: str) -> dict[str, object]:
    found: list[dict[str, object]] = await story.manager.get(f"{story.api}/proposals")
    return next(p for p in found if p["text"] == text)


async def test_the_meeting_shows_one_item_with_its_lineage_in_danish(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email, language="da")
    page = await site.client.get(f"{story.pages}/follow-up")
    assert page.status_code == 200
    assert '<html lang="da">' in page.text
    assert "Opfølgningsmøde: Sammenhæng på Ærø" in page.text
    assert "Punkt 1 af 4" in page.text  # two agreements for acceptance, two proposals
    assert ACCEPT_ME in page.text
    # The lineage: dialogue, dance card, the rating that motivated it, with scores per dimension.
    assert "Overlevering ved udskrivning" in page.text
    assert "Vurdering bag balkortet" in page.text
    assert "Sådan vurderer Visitationen samarbejdet med Hjemmeplejen Øst" in page.text
    assert "Hyppig kommunikation" in page.text
    assert "2,50" in page.text  # the two raters' mean on the first dimension, in Danish
    assert "Registrér beslutning" in page.text
    # Agreements the units made themselves are not on the meeting's agenda.
    assert OWN_AGREEMENT not in page.text


async def test_the_meeting_in_english_walks_to_the_next_item(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    first = await site.client.get(f"{story.pages}/follow-up")
    assert "Item 1 of 4" in first.text
    assert 'rel="next"' in first.text
    following = re.search(r'href="([^"]+)" rel="next"', first.text)
    assert following
    second = await site.client.get(following.group(1).replace("&amp;", "&"))
    assert "Item 2 of 4" in second.text
    assert ACCEPT_ME_TOO in second.text
    assert 'rel="prev"' in second.text


async def test_a_suppressed_motivating_rating_shows_no_numbers(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    page = await site.client.get(f"{story.pages}/follow-up", params={"item": story.agreements[ACCEPT_ME_TOO]})
    assert "How Hjemmeplejen Øst rates the collaboration with Visitationen" in page.text
    table = re.search(r'<table class="ratings">.*?</table>', page.text, re.S)
    assert table
    assert "Fewer raters than the anonymity threshold" in table.group(0)
    # Hjemmeplejen Øst gave 1 on every dimension, alone: no 1,00 / 1.00 anywhere in the table.
    assert "1.00" not in table.group(0)


async def test_accepting_an_agreement_is_recorded_and_the_meeting_moves_on(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    page = await site.client.get(f"{story.pages}/follow-up")
    hidden = _form_fields(page.text, "decide-agreement")
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/agreements/{story.agreements[ACCEPT_ME]}",
        {**hidden, "accepted": "true", "rationale": "Passer med planen", "decided_by": "Direktionen"},
    )
    assert answer.status_code == 303
    assert answer.headers["location"].endswith(f"?item={story.agreements[ACCEPT_ME_TOO]}&recorded=1")
    agreement = await _agreement(story, ACCEPT_ME)
    assert agreement["status"] == "accepted"
    assert agreement["decision"] == {
        "accepted": True,
        "rationale": "Passer med planen",
        "decided_by": "Direktionen",
        "at": agreement["decision"]["at"],  # type: ignore[index]
    }
    shown = await site.client.get(answer.headers["location"])
    assert "The decision was recorded." in shown.text
    assert "1 of 4 items decided" in shown.text
    # Who decided is offered again for the next item.
    assert 'value="Direktionen"' in shown.text


async def test_a_proposal_sent_for_investigation_is_recorded_with_owner_and_due_date(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    proposal_id = story.proposals[PROPOSAL]
    page = await site.client.get(f"{story.pages}/follow-up", params={"item": proposal_id})
    hidden = _form_fields(page.text, "decide-proposal")
    due = (_today() + timedelta(days=60)).isoformat()
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/proposals/{proposal_id}",
        {
            **hidden,
            "outcome": "under_investigation",
            "rationale": "Vi skal kende prisen",
            "decided_by": "Direktionen",
            "owner": "Leder af Visitationen",
            "due": due,
            # A date typed under "deferred" is not the investigation's: it is left out.
            "deferred_until": "2026-12-24",
        },
    )
    assert answer.status_code == 303, answer.text
    proposal = await _proposal(story, PROPOSAL)
    assert proposal["status"] == "under_investigation"
    (decision,) = proposal["decisions"]  # type: ignore[misc]
    assert (decision["owner"], decision["due"], decision["deferred_until"]) == (
        "Leder af Visitationen",
        due,
        None,
    )


async def test_an_investigation_without_owner_and_due_date_is_named_at_those_fields(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    proposal_id = story.proposals[SECOND_PROPOSAL]
    page = await site.client.get(f"{story.pages}/follow-up", params={"item": proposal_id})
    hidden = _form_fields(page.text, "decide-proposal")
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/proposals/{proposal_id}",
        {**hidden, "outcome": "under_investigation", "decided_by": "Direktionen", "rationale": "Uklart"},
    )
    assert answer.status_code == 409
    assert re.search(r'id="f-owner-error"[^>]*>Name who will look into it\.<', answer.text)
    assert re.search(r'id="f-due-error"[^>]*>Give the date the answer is due\.<', answer.text)
    assert 'value="Direktionen"' in answer.text  # what was typed is kept
    assert ">Uklart</textarea>" in answer.text
    proposal = await _proposal(story, SECOND_PROPOSAL)
    assert (proposal["status"], proposal["decisions"]) == ("open", [])


async def test_a_version_field_that_is_no_number_is_read_as_none_given(
    site: Story, story: FollowUpStory
) -> None:
    """A digit to str.isdigit that int() does not read ("²") is no version, never a failure."""
    await sign_in_by_form(site.client, story.manager_email)
    page = await site.client.get(f"{story.pages}/follow-up")
    hidden = _form_fields(page.text, "decide-agreement")
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/agreements/{story.agreements[ACCEPT_ME]}",
        {**hidden, "version": "²", "accepted": "true", "decided_by": "Direktionen"},
    )
    assert answer.status_code == 303
    assert (await _agreement(story, ACCEPT_ME))["status"] == "accepted"


async def test_a_decision_without_a_choice_is_refused_at_the_field_in_danish(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email, language="da")
    page = await site.client.get(f"{story.pages}/follow-up")
    hidden = _form_fields(page.text, "decide-agreement")
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/agreements/{story.agreements[ACCEPT_ME]}",
        {**hidden, "decided_by": "Direktionen"},
    )
    assert answer.status_code == 400
    assert re.search(r'id="f-accepted-error"[^>]*>Vælg en beslutning\.<', answer.text)
    assert (await _agreement(story, ACCEPT_ME))["status"] == "awaiting_acceptance"


@pytest.mark.parametrize(
    ("outcome", "field", "message"),
    [
        ("under_investigation", "due", "The date the answer is due cannot lie before the decision."),
        ("deferred", "deferred_until", "A proposal cannot be deferred to a day before the decision."),
    ],
)
async def test_a_date_before_the_decision_is_refused_at_its_field(
    site: Story, story: FollowUpStory, outcome: str, field: str, message: str
) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    proposal_id = story.proposals[PROPOSAL]
    page = await site.client.get(f"{story.pages}/follow-up", params={"item": proposal_id})
    hidden = _form_fields(page.text, "decide-proposal")
    # The day before the decision wherever it is judged: the domain compares with the decision's
    # day in UTC, which between midnight in Copenhagen and midnight in UTC is the day before.
    yesterday = (min(_today(), datetime.now(UTC).date()) - timedelta(days=1)).isoformat()
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/proposals/{proposal_id}",
        {
            **hidden,
            "outcome": outcome,
            "decided_by": "Direktionen",
            "owner": "Visitationen",
            field: yesterday,
        },
    )
    assert answer.status_code == 409
    assert re.search(rf'id="f-{field}-error"[^>]*>{re.escape(message)}', answer.text)
    assert f'value="{yesterday}"' in answer.text  # the date typed is kept, to be corrected
    assert (await _proposal(story, PROPOSAL))["decisions"] == []


async def test_after_the_last_item_the_meeting_offers_the_report(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    due = (_today() + timedelta(days=30)).isoformat()
    decisions = [
        ("agreements", story.agreements[ACCEPT_ME], {"accepted": "true"}),
        ("agreements", story.agreements[ACCEPT_ME_TOO], {"accepted": "false"}),
        ("proposals", story.proposals[PROPOSAL], {"outcome": "approved"}),
        (
            "proposals",
            story.proposals[SECOND_PROPOSAL],
            {"outcome": "under_investigation", "owner": "Ole", "due": due},
        ),
    ]
    for kind, item_id, choice in decisions:
        page = await site.client.get(f"{story.pages}/follow-up", params={"item": item_id})
        assert 'id="go-to-report"' not in page.text
        form_id = "decide-agreement" if kind == "agreements" else "decide-proposal"
        answer = await send_form(
            site.client,
            f"{story.pages}/follow-up/{kind}/{item_id}",
            {**_form_fields(page.text, form_id), **choice, "decided_by": "Direktionen"},
        )
        assert answer.status_code == 303, answer.text
    shown = await site.client.get(answer.headers["location"])
    assert "4 of 4 items decided" in shown.text
    assert re.search(
        rf'id="go-to-report" href="{re.escape(story.pages)}/report">Go to the follow-up report<', shown.text
    )
    # Who sent it for investigation is not taken for who investigates it.
    assert "Sent for investigation by Direktionen on" in shown.text
    assert "owner: Ole" in shown.text


async def test_a_decision_without_its_csrf_token_is_refused(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    page = await site.client.get(f"{story.pages}/follow-up")
    hidden = {k: v for k, v in _form_fields(page.text, "decide-agreement").items() if k != "_csrf"}
    answer = await send_form(
        site.client,
        f"{story.pages}/follow-up/agreements/{story.agreements[ACCEPT_ME]}",
        {**hidden, "accepted": "false", "decided_by": "Direktionen"},
        csrf=False,
    )
    assert answer.status_code == 403
    assert (await _agreement(story, ACCEPT_ME))["status"] == "awaiting_acceptance"


async def test_a_deferral_sent_twice_is_recorded_once(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    proposal_id = story.proposals[PROPOSAL]
    page = await site.client.get(f"{story.pages}/follow-up", params={"item": proposal_id})
    fields = {
        **_form_fields(page.text, "decide-proposal"),
        "outcome": "deferred",
        "deferred_until": (_today() + timedelta(days=90)).isoformat(),
        "decided_by": "Direktionen",
    }
    path = f"{story.pages}/follow-up/proposals/{proposal_id}"
    first = await send_form(site.client, path, fields)
    again = await send_form(site.client, path, fields)
    assert (first.status_code, again.status_code) == (303, 303)
    proposal = await _proposal(story, PROPOSAL)
    assert proposal["status"] == "deferred"
    assert len(proposal["decisions"]) == 1  # type: ignore[arg-type]


async def test_a_form_overtaken_by_another_decision_shows_the_item_again(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    proposal_id = story.proposals[PROPOSAL]
    page = await site.client.get(f"{story.pages}/follow-up", params={"item": proposal_id})
    hidden = _form_fields(page.text, "decide-proposal")
    path = f"{story.pages}/follow-up/proposals/{proposal_id}"
    await send_form(site.client, path, {**hidden, "outcome": "deferred", "decided_by": "Direktionen"})
    stale = {**hidden, "_key": "another-form", "outcome": "approved", "decided_by": "Borgmesteren"}
    answer = await send_form(site.client, path, stale)
    assert answer.status_code == 409
    assert "Something changed since this page was loaded." in answer.text
    proposal = await _proposal(story, PROPOSAL)
    assert [d["outcome"] for d in proposal["decisions"]] == ["deferred"]  # type: ignore[attr-defined]


async def test_the_meeting_is_for_the_planning_group_only(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.participant_email)
    assert (await site.client.get(f"{story.pages}/follow-up")).status_code == 403
    assert (await site.client.get(f"{story.pages}/agreements")).status_code == 200


async def test_an_unknown_item_is_not_found(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    answer = await site.client.get(f"{story.pages}/follow-up", params={"item": story.engagement_id})
    assert answer.status_code == 404


# -- Check-ins -----------------------------------------------------------------------------------


async def test_the_agreements_list_shows_status_and_latest_check_in(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email, language="da")
    page = await site.client.get(f"{story.pages}/agreements")
    assert page.status_code == 200
    assert "Aftaler: Sammenhæng på Ærø" in page.text
    assert OWN_AGREEMENT in page.text
    assert "Afventer godkendelse" in page.text
    assert "Ingen opfølgning endnu" in page.text
    assert f"/agreements/{story.agreements[OWN_AGREEMENT]}/check-ins" in page.text


async def test_a_check_in_is_recorded_with_its_date_and_listed(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    path = f"{story.pages}/agreements/{story.agreements[OWN_AGREEMENT]}/check-ins"
    page = await site.client.get(path)
    assert page.status_code == 200
    assert "Record check-in" in page.text
    hidden = _form_fields(page.text, "check-in-form")
    earlier = (_today() - timedelta(days=3)).isoformat()
    fields = {
        **hidden,
        "status": "in_progress",
        "note": "Tavlemødet kører",
        "evidence": "Referat fra ledermødet",
        "checked_on": earlier,
    }
    answer = await send_form(site.client, path, fields)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"{path}?recorded=1"
    again = await send_form(site.client, path, fields)  # the same form, sent twice
    assert again.status_code == 303
    agreement = await _agreement(story, OWN_AGREEMENT)
    (check_in,) = agreement["check_ins"]  # type: ignore[misc]
    assert (check_in["status"], check_in["note"], check_in["evidence"]) == (
        "in_progress",
        "Tavlemødet kører",
        "Referat fra ledermødet",
    )
    assert check_in["at"].startswith(earlier)
    shown = await site.client.get(answer.headers["location"])
    assert "The check-in was recorded." in shown.text
    assert "Tavlemødet kører" in shown.text
    assert "Referat fra ledermødet" in shown.text
    listed = await site.client.get(f"{story.pages}/agreements")
    assert "In progress" in listed.text


async def test_a_check_in_without_status_or_in_the_future_is_refused_at_its_field(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    path = f"{story.pages}/agreements/{story.agreements[OWN_AGREEMENT]}/check-ins"
    hidden = _form_fields((await site.client.get(path)).text, "check-in-form")
    missing = await send_form(site.client, path, {**hidden, "note": "Glemt status"})
    assert missing.status_code == 400
    assert re.search(r'id="f-status-error"[^>]*>Choose how the agreement is doing\.<', missing.text)
    tomorrow = (_today() + timedelta(days=2)).isoformat()
    future = await send_form(site.client, path, {**hidden, "status": "implemented", "checked_on": tomorrow})
    assert future.status_code == 400
    assert re.search(r'id="f-checked_on-error"[^>]*>The date cannot lie in the future\.<', future.text)
    assert (await _agreement(story, OWN_AGREEMENT))["check_ins"] == []


async def test_an_agreement_awaiting_acceptance_takes_no_check_ins(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    path = f"{story.pages}/agreements/{story.agreements[ACCEPT_ME]}/check-ins"
    page = await site.client.get(path)
    assert "Check-ins follow agreements in force." in page.text
    assert 'id="check-in-form"' not in page.text
    answer = await send_form(site.client, path, {"_key": "k", "status": "implemented"})
    assert answer.status_code == 409
    assert (await _agreement(story, ACCEPT_ME))["check_ins"] == []
