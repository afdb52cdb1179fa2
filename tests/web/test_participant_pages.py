"""A unit's table on the theme day, through its pages: joining by code, mapping and rating one
relation per screen, sending and answering dance cards (the weakest relation suggested first),
the round schedule, recording a dialogue and adding to it, and the unit's wrap-up.

Each page is checked in Danish (the default) and English; forms record the same commands as
the API (checked on the engagement's read model), bad input comes back with the field's error
and records nothing, a form without its CSRF token is refused, a form sent twice records once,
and a table that joined by code acts only as its own unit.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from domain.default_instrument import DIMENSIONS
from services.settings import Settings
from tests.http_harness import ADMIN, PASSWORD, register, serving
from tests.web.conftest import Browser, Engagement, prepared, signed_in_browser

KEYS = [d.key for d in DIMENSIONS]


def flat(value: int) -> dict[str, str]:
    return dict.fromkeys(KEYS, str(value))


class ThemeDay(Engagement):
    def page(self, unit: str, rest: str = "") -> str:
        return f"/t/{self.tenant_id}/e/{self.engagement_id}/u/{self.units[unit]}{rest}"

    async def document(self) -> dict[str, Any]:
        document: dict[str, Any] = await self.admin.get(self.api)
        return document

    async def table(self, unit: str) -> Browser:
        """A browser that joined with a fresh join code of `unit`, landed on its table's home."""
        issued = await self.admin.post(f"{self.api}/units/{self.units[unit]}/join-codes", {})
        browser = Browser(self.story.client)
        await browser.get("/join")
        joined = await browser.post("/join", {"code": issued["code"]})
        assert joined.status_code == 303, joined.text
        assert joined.headers["location"] == self.page(unit)
        return browser

    async def signed_in(self, email: str, password: str) -> Browser:
        return await signed_in_browser(self.story.client, email, password)


UNITS = ("Visitationen", "Hjemmeplejen", "Akutteamet")


@pytest.fixture
async def day(backend: Settings) -> AsyncIterator[ThemeDay]:
    """A tenant with three units in an engagement at the mapping step, theme day ahead."""
    async with serving(backend, quick_hashes=True) as story:
        started = await prepared(ThemeDay, story, "Region Bord", "Temadag om udskrivning", UNITS)
        await started.advance("prepared", "theme_day_open")
        yield started


def form_error(html: str) -> str:
    found = re.search(r'class="field-error"[^>]*>([^<]+)<', html)
    return found.group(1) if found else ""


# -- Home, dimensions, language -----------------------------------------------------------------


async def test_a_table_lands_on_its_home_in_danish_or_english(day: ThemeDay) -> None:
    table = await day.table("Visitationen")
    home = await table.get(day.page("Visitationen"))
    assert "<h1>Visitationen</h1>" in home
    assert "Temadag om udskrivning" in home
    assert "Kortlæg jeres relationer" in home
    assert "Kortlægning og vurdering" in home
    # Live: the "now" panel comes again when the engagement changes.
    assert (
        f'data-live-source="/api/v1/tenants/{day.tenant_id}/engagements/{day.engagement_id}/events"' in home
    )
    assert f'hx-get="{day.page("Visitationen", "/now")}"' in home
    fragment = await table.get(day.page("Visitationen", "/now"))
    assert fragment.lstrip().startswith("<section")
    assert "<html" not in fragment

    table.speak("en")
    home = await table.get(day.page("Visitationen"))
    assert '<html lang="en">' in home
    assert "Map your relations" in home
    assert "Rate your relations" in home

    dimensions = await table.get(day.page("Visitationen", "/dimensions"))
    assert "Frequent communication" in dimensions
    assert "Do you talk as often as the work requires?" in dimensions
    table.speak("da")
    dimensions = await table.get(day.page("Visitationen", "/dimensions"))
    assert "Hyppig kommunikation" in dimensions
    assert "Taler I sammen så ofte, som opgaverne kræver?" in dimensions
    assert "Frequent communication" not in dimensions


async def test_before_the_tables_start_the_home_points_at_the_dimensions(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await prepared(ThemeDay, story, "Region Før", "Snart", ("A", "B"))
        table = await day.table("A")
        table.speak("en")
        home = await table.get(day.page("A"))
        assert "Read about the dimensions while you wait" in home
        assert "Map your relations" not in home


# -- Mapping and rating -------------------------------------------------------------------------


async def test_mapping_then_one_relation_per_screen_until_all_are_rated(day: ThemeDay) -> None:
    visit, home, acute = (day.units[n] for n in UNITS)
    table = await day.table("Visitationen")
    table.speak("en")
    page = await table.get(day.page("Visitationen", "/relations"))
    assert f'id="relation-{home}"' in page
    assert f'id="relation-{visit}"' not in page

    mapped = await table.post(day.page("Visitationen", "/relations"), {"counterpart_ids": [home, acute]})
    assert mapped.status_code == 303
    assert mapped.headers["location"] == day.page("Visitationen", "/rate")
    assert sorted((await day.document())["relations"][visit]) == sorted([home, acute])

    overview = await table.get(day.page("Visitationen", "/rate"))
    assert "0 of 2 relations rated" in overview
    assert 'role="progressbar"' in overview
    first = (await day.document())["relations"][visit][0]
    second = (await day.document())["relations"][visit][1]
    screen = await table.get(day.page("Visitationen", f"/rate/{first}"))
    assert screen.count('class="scale"') == len(KEYS)
    assert screen.count("<fieldset") == len(KEYS)
    assert screen.count("<legend>") == len(KEYS)
    assert "Relation 1 of 2" in screen

    rated = await table.post(day.page("Visitationen", f"/rate/{first}"), flat(2))
    assert rated.status_code == 303
    assert rated.headers["location"] == day.page("Visitationen", f"/rate/{second}?saved=true")
    screen = await table.get(rated.headers["location"])
    assert 'id="rating-saved"' in screen  # "Saved. Next: ..."
    assert "1 of 2 relations rated" in screen
    rated = await table.post(day.page("Visitationen", f"/rate/{second}"), flat(4))
    assert rated.headers["location"] == day.page("Visitationen", "/rate?done=true")
    assert "All your relations are rated" in await table.get(day.page("Visitationen", "/rate?done=true"))

    views = {(v["unit_id"], v["counterpart_id"]): v for v in (await day.document())["relation_views"]}
    assert views[(visit, first)]["index"] == "2.00"
    assert views[(visit, second)]["index"] == "4.00"
    # Coming back to a rated relation shows the scores given.
    again = await table.get(day.page("Visitationen", f"/rate/{first}"))
    assert re.search(rf'id="{KEYS[0]}-2"[^>]*checked', again)


async def test_a_rating_with_a_dimension_missing_comes_back_with_its_error(day: ThemeDay) -> None:
    visit, home = day.units["Visitationen"], day.units["Hjemmeplejen"]
    table = await day.table("Visitationen")
    await table.post(day.page("Visitationen", "/relations"), {"counterpart_ids": [home]})
    scores = flat(3)
    del scores[KEYS[2]]
    answer = await table.post(day.page("Visitationen", f"/rate/{home}"), scores)
    assert answer.status_code == 400
    assert form_error(answer.text) == "Vælg et tal fra 1 til 5."
    assert "Vælg et tal på hver dimension." in answer.text
    assert f'id="{KEYS[2]}-error"' in answer.text
    # What was chosen stays chosen.
    assert re.search(rf'id="{KEYS[0]}-3"[^>]*checked', answer.text)
    off_scale = await table.post(day.page("Visitationen", f"/rate/{home}"), {**flat(3), KEYS[0]: "9"})
    assert off_scale.status_code == 400
    progress = {p["unit_id"]: p for p in (await day.document())["unit_progress"]}
    assert progress[visit]["relations_rated"] == 0


async def test_a_form_without_its_csrf_token_is_refused(day: ThemeDay) -> None:
    visit, home = day.units["Visitationen"], day.units["Hjemmeplejen"]
    table = await day.table("Visitationen")
    answer = await table.post(day.page("Visitationen", "/relations"), {"counterpart_ids": [home]}, csrf=False)
    assert answer.status_code == 403
    assert visit not in (await day.document())["relations"]


# -- Dance cards --------------------------------------------------------------------------------


async def _rated(day: ThemeDay, table: Browser, unit: str, scores: dict[str, int]) -> None:
    """`unit` maps the units in `scores` and rates each flat."""
    others = [day.units[n] for n in scores]
    await table.post(day.page(unit, "/relations"), {"counterpart_ids": others})
    for name, value in scores.items():
        answer = await table.post(day.page(unit, f"/rate/{day.units[name]}"), flat(value))
        assert answer.status_code == 303, answer.text


async def test_cards_suggest_the_weakest_relation_and_are_answered_at_the_other_table(day: ThemeDay) -> None:
    visit, home, acute = (day.units[n] for n in UNITS)
    table = await day.table("Visitationen")
    await _rated(day, table, "Visitationen", {"Akutteamet": 4, "Hjemmeplejen": 2})
    await day.advance("mapping")

    table.speak("en")
    new = await table.get(day.page("Visitationen", "/cards/new"))
    assert "Suggested: your weakest relations" in new
    # The weakest first, preselected, with the table's own rating of it as the reason.
    assert new.index("Invite Hjemmeplejen") < new.index("Invite Akutteamet")
    assert re.search(rf'<option value="{home}" selected>', new)
    # No list of ratings to pick wrongly from: a box ticked for the chosen unit's own rating.
    assert "motivating_rating_id" not in new
    assert re.search(r'id="refer_to_rating" name="refer_to_rating" value="yes" checked', new)
    assert "Refer to our rating of this unit" in new
    # The suggestions name the weakest dimension and mark a weak band in words.
    assert "Weakest: Frequent communication (2.0)" in new

    blank = await table.post(day.page("Visitationen", "/cards/new"), {"to_unit": home, "topic": ""})
    assert blank.status_code == 400
    assert form_error(blank.text) == "Please fill this in."
    assert (await day.document())["cards"] == []

    fields = {
        "to_unit": home,
        "topic": "Overlevering ved udskrivning",
        "reason": "Vi får oplysningerne for sent",
        "hoped_outcome": "En fast tjekliste",
        "refer_to_rating": "yes",
    }
    key = uuid.uuid4().hex
    sent = await table.post(day.page("Visitationen", "/cards/new"), fields, key=key)
    assert sent.status_code == 303
    assert sent.headers["location"] == day.page("Visitationen", "/cards?done=sent")
    # The same form again (a double click, a reload): one card.
    again = await table.post(day.page("Visitationen", "/cards/new"), fields, key=key)
    assert again.status_code == 303
    cards = (await day.document())["cards"]
    assert len(cards) == 1
    card = cards[0]
    assert (card["from_unit"], card["to_unit"]) == (visit, home)
    assert re.fullmatch(r"[0-9a-f-]{36}", card["motivating_rating_id"])
    assert "Your dance card has been sent." in await table.get(sent.headers["location"])

    # Another card, to withdraw.
    other = await table.post(day.page("Visitationen", "/cards/new"), {"to_unit": acute, "topic": "Weekender"})
    assert other.status_code == 303
    withdrawn_id = next(c["card_id"] for c in (await day.document())["cards"] if c["to_unit"] == acute)
    withdrawn = await table.post(day.page("Visitationen", f"/cards/{withdrawn_id}/withdraw"), {})
    assert withdrawn.status_code == 303

    # At the invited unit's table: waiting on the home page, answered on the cards page.
    theirs = await day.table("Hjemmeplejen")
    theirs.speak("en")
    assert "Waiting for your answer: 1" in await theirs.get(day.page("Hjemmeplejen"))
    # A table that has not rated the unit it invites gets the reason next to the box, not a refusal.
    unrated = await theirs.post(
        day.page("Hjemmeplejen", "/cards/new"),
        {"to_unit": acute, "topic": "Nattevagter", "refer_to_rating": "yes"},
    )
    assert unrated.status_code == 400
    assert 'id="refer_to_rating-error"' in unrated.text
    assert "has not rated Akutteamet" in unrated.text
    assert not any(c["from_unit"] == home for c in (await day.document())["cards"])
    listed = await theirs.get(day.page("Hjemmeplejen", "/cards"))
    assert "Overlevering ved udskrivning" in listed
    assert "From Visitationen" in listed
    no_reason = await theirs.post(
        day.page("Hjemmeplejen", f"/cards/{card['card_id']}/decline"), {"reason": " "}
    )
    assert no_reason.status_code == 400
    assert form_error(no_reason.text) == "Please fill this in."
    accepted = await theirs.post(day.page("Hjemmeplejen", f"/cards/{card['card_id']}/accept"), {})
    assert accepted.status_code == 303
    # Accepting twice is still one acceptance.
    assert (
        await theirs.post(day.page("Hjemmeplejen", f"/cards/{card['card_id']}/accept"), {})
    ).status_code == 303
    statuses = {c["card_id"]: c["status"] for c in (await day.document())["cards"]}
    assert statuses == {card["card_id"]: "accepted", withdrawn_id: "withdrawn"}
    # The inviting table cannot answer its own card.
    refused = await table.post(
        day.page("Visitationen", f"/cards/{card['card_id']}/decline"), {"reason": "Nej"}
    )
    assert refused.status_code == 409


# -- Rounds, dialogues, wrap-up -----------------------------------------------------------------


async def test_a_dialogue_is_recorded_from_the_schedule_and_added_to_later(day: ThemeDay) -> None:
    visit, home = day.units["Visitationen"], day.units["Hjemmeplejen"]
    await day.admin.put(f"{day.api}/units/{visit}/relations", {"counterpart_ids": [home]})
    await day.advance("mapping")
    card = await day.admin.post(
        f"{day.api}/cards", {"from_unit": visit, "to_unit": home, "topic": "Udskrivning"}
    )
    await day.admin.post(f"{day.api}/cards/{card['card_id']}/accept", {"unit_id": home}, expect=200)
    await day.admin.post(f"{day.api}/schedule", {}, expect=200)
    await day.advance("dance_cards")

    table = await day.table("Hjemmeplejen")
    schedule = await table.get(day.page("Hjemmeplejen", "/schedule"))
    assert "Runde 1" in schedule
    assert "Med Visitationen" in schedule
    table.speak("en")
    home_page = await table.get(day.page("Hjemmeplejen"))
    assert "Record the dialogue with Visitationen" in home_page
    url = day.page("Hjemmeplejen", f"/dialogues/{card['card_id']}")
    form = await table.get(url)
    assert 'id="agreement-2"' in form
    assert 'id="proposal-2"' in form
    assert 'data-add-row="agreement"' in form

    too_long = await table.post(url, {"agreement-0": "x" * 20_001})
    assert too_long.status_code == 400
    assert form_error(too_long.text) == "This is too long."
    assert (await day.document())["dialogues"] == []
    # Nothing written: no empty dialogue, the notes are asked for next to them.
    nothing = await table.post(url, {"notes": " ", "participants": "Anna"})
    assert nothing.status_code == 400
    assert 'id="f-notes-error"' in nothing.text
    assert form_error(nothing.text) == "Write down what you talked about."
    assert (await day.document())["dialogues"] == []

    fields = {
        "notes": "Fredage halter",
        "participants": "Anna\nBo\n",
        "agreement-0": "Tavlemøde hver tirsdag",
        "agreement-1": "",
        "agreement-2": "Ny procedure for weekender",
        "agreement-2-acceptance": "1",
        "proposal-0": "Elektronisk tavle",
    }
    key = uuid.uuid4().hex
    held = await table.post(url, fields, key=key)
    assert held.status_code == 303
    assert held.headers["location"] == f"{url}?done=true"
    assert (await table.post(url, fields, key=key)).status_code == 303  # sent twice: held once
    document = await day.document()
    assert len(document["dialogues"]) == 1
    assert document["dialogues"][0]["participants"] == ["Anna", "Bo"]
    agreements = {a["text"]: a["needs_acceptance"] for a in document["agreements"]}
    assert agreements == {"Tavlemøde hver tirsdag": False, "Ny procedure for weekender": True}
    assert [p["text"] for p in document["proposals"]] == ["Elektronisk tavle"]

    shown = await table.get(f"{url}?done=true")
    assert "The dialogue is saved." in shown
    assert "Tavlemøde hver tirsdag" in shown
    assert 'id="outcomes-form"' in shown
    assert 'id="dialogue-form"' not in shown
    empty = await table.post(f"{url}/outcomes", {"agreement-0": " "})
    assert empty.status_code == 400
    assert "Write at least one agreement or proposal." in empty.text
    added = await table.post(f"{url}/outcomes", {"proposal-0": "Fælles kursus"})
    assert added.status_code == 303
    assert sorted(p["text"] for p in (await day.document())["proposals"]) == [
        "Elektronisk tavle",
        "Fælles kursus",
    ]

    # The other table of the card sees the same dialogue; a third cannot reach it.
    other = await day.table("Visitationen")
    assert "Fredage halter" in await other.get(day.page("Visitationen", f"/dialogues/{card['card_id']}"))
    third = await day.table("Akutteamet")
    await third.get(day.page("Akutteamet", f"/dialogues/{card['card_id']}"), expect=403)


async def test_the_wrap_up_gathers_the_dialogues_and_is_saved(day: ThemeDay) -> None:
    visit, home = day.units["Visitationen"], day.units["Hjemmeplejen"]
    await day.advance("mapping")
    card = await day.admin.post(
        f"{day.api}/cards", {"from_unit": visit, "to_unit": home, "topic": "Udskrivning"}
    )
    await day.admin.post(f"{day.api}/cards/{card['card_id']}/accept", {"unit_id": home}, expect=200)
    await day.advance("dance_cards")
    await day.admin.post(
        f"{day.api}/dialogues", {"card_id": card["card_id"], "agreements": [{"text": "Tavlemøde"}]}
    )
    await day.advance("dialogues")

    table = await day.table("Visitationen")
    url = day.page("Visitationen", "/wrap-up")
    page = await table.get(url)
    assert "Tavlemøde" in page
    assert "Skriv jeres opsamling" in await table.get(day.page("Visitationen"))
    blank = await table.post(url, {"summary": "", "inputs": ["Noget"]})
    assert blank.status_code == 400
    assert form_error(blank.text) == "Udfyld venligst feltet."
    assert (await day.document())["wrap_ups"] == []
    saved = await table.post(
        url, {"summary": "Vi tager tavlemødet med hjem", "inputs": ["Tjekliste", "", "Kursus"]}
    )
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{url}?done=true"
    assert (await day.document())["wrap_ups"] == [
        {"unit_id": visit, "summary": "Vi tager tavlemødet med hjem", "inputs": ["Tjekliste", "Kursus"]}
    ]
    again = await table.get(f"{url}?done=true")
    assert "Jeres opsamling er gemt." in again
    assert 'value="Kursus"' in again

    # After the wrap-up phase: what was saved, read-only, and no form.
    await day.advance("wrap_up")
    table.speak("en")
    after = await table.get(url)
    assert 'id="wrap-up-form"' not in after
    assert "This step has closed" in after
    assert "Vi tager tavlemødet med hjem" in after


async def test_forms_wait_for_the_phase_that_takes_them(day: ThemeDay) -> None:
    table = await day.table("Visitationen")
    table.speak("en")
    # During mapping the card form says when it opens, instead of a form that would be refused.
    cards = await table.get(day.page("Visitationen", "/cards/new"))
    assert 'id="card-form"' not in cards
    assert "Opens when the facilitator moves on to Dance cards." in cards
    assert 'id="send-card"' not in await table.get(day.page("Visitationen", "/cards"))
    wrap = await table.get(day.page("Visitationen", "/wrap-up"))
    assert 'id="wrap-up-form"' not in wrap
    assert "Opens when the facilitator moves on to Unit wrap-up." in wrap
    # Mapping is open now; once the dance cards start, relations are shown but cannot change.
    assert 'id="save-relations"' in await table.get(day.page("Visitationen", "/relations"))
    await day.advance("mapping")
    relations = await table.get(day.page("Visitationen", "/relations"))
    assert 'id="save-relations"' not in relations
    assert "This step has closed" in relations
    assert 'id="card-form"' in await table.get(day.page("Visitationen", "/cards/new"))


# -- Who may act where --------------------------------------------------------------------------


async def test_a_join_code_table_acts_only_as_its_own_unit(day: ThemeDay) -> None:
    visit, home, acute = (day.units[n] for n in UNITS)
    table = await day.table("Visitationen")
    # The header names the table, not a person.
    assert '<span class="who">Bord: Visitationen</span>' in (await table.get(day.page("Visitationen", "")))
    for rest in ("", "/relations", "/rate", "/cards", "/schedule", "/wrap-up", "/now"):
        await table.get(day.page("Hjemmeplejen", rest), expect=403)
    refused = await table.post(day.page("Hjemmeplejen", "/relations"), {"counterpart_ids": [visit]})
    assert refused.status_code == 403
    assert home not in (await day.document())["relations"]

    # A card between two other units cannot be answered from this table, even at its own path.
    await day.advance("mapping")
    card = await day.admin.post(
        f"{day.api}/cards", {"from_unit": home, "to_unit": acute, "topic": "Ikke jeres"}
    )
    elsewhere = await table.post(day.page("Visitationen", f"/cards/{card['card_id']}/accept"), {})
    assert elsewhere.status_code == 403
    assert (await day.document())["cards"][0]["status"] == "sent"


async def test_facilitators_act_at_any_table_and_readers_only_look(day: ThemeDay) -> None:
    home = day.units["Hjemmeplejen"]
    consultant = await register(day.story.container)
    auditor = await register(day.story.container)
    for who, role in ((consultant, "consultant"), (auditor, "auditor")):
        await day.admin.post("/members", {"user_id": str(who.user_id), "role": role})
    facilitator = await day.signed_in(consultant.email, PASSWORD)
    mapped = await facilitator.post(day.page("Visitationen", "/relations"), {"counterpart_ids": [home]})
    assert mapped.status_code == 303
    reader = await day.signed_in(auditor.email, PASSWORD)
    reader.speak("en")
    page = await reader.get(day.page("Visitationen", "/relations"))
    assert "only the table and its facilitators can act here" in page
    assert 'id="save-relations"' not in page
    refused = await reader.post(day.page("Visitationen", "/relations"), {"counterpart_ids": []})
    assert refused.status_code == 403
    assert (await day.document())["relations"][day.units["Visitationen"]] == [home]


async def test_a_unit_outside_the_engagement_has_no_table(day: ThemeDay) -> None:
    outsider = (await day.admin.post("/organisation/units", {"name": "Udenfor"}))["unit_id"]
    facilitator = await day.signed_in(ADMIN, PASSWORD)
    await facilitator.get(f"/t/{day.tenant_id}/e/{day.engagement_id}/u/{outsider}", expect=404)


async def test_a_rule_of_the_method_comes_back_as_the_forms_error(day: ThemeDay) -> None:
    table = await day.table("Visitationen")
    # Still mapping: no dance cards yet.
    early = await table.post(
        day.page("Visitationen", "/cards/new"), {"to_unit": day.units["Hjemmeplejen"], "topic": "For tidligt"}
    )
    assert early.status_code == 409
    assert "Balkort sendes kun i fasen “Balkort”." in early.text
    # The form is not offered again before its phase: when it opens is said instead.
    assert "Åbner, når facilitator går videre til Balkort." in early.text
    assert (await day.document())["cards"] == []


async def test_individual_ratings_are_each_participants_own(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        day = await prepared(
            ThemeDay,
            story,
            "Region Hver",
            "Hver for sig",
            ("A", "B"),
            rating_mode="individual",
            min_group_size=2,
        )
        admin, units = day.admin, day.units
        await day.advance("prepared", "theme_day_open")
        await admin.put(f"{day.api}/units/{units['A']}/relations", {"counterpart_ids": [units["B"]]})
        first, second = await day.table("A"), await day.table("A")
        first.speak("en")
        screen = await first.get(day.page("A", f"/rate/{units['B']}"))
        assert "Rate as you yourself see it." in screen
        assert (await first.post(day.page("A", f"/rate/{units['B']}"), flat(2))).status_code == 303
        # The second participant starts afresh: the first one's scores are theirs alone.
        assert not re.search(
            rf'id="{KEYS[0]}-2"[^>]*checked', await second.get(day.page("A", f"/rate/{units['B']}"))
        )
        assert "1 of 1 relations rated" in await first.get(day.page("A", "/rate"))
        assert (await second.post(day.page("A", f"/rate/{units['B']}"), flat(4))).status_code == 303
        await day.advance("mapping")
        views = (await day.document())["relation_views"]
        assert [(v["raters"], v["index"]) for v in views] == [(2, "3.00")]
