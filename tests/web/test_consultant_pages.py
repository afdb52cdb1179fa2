"""The consultancy's pages as a browser uses them, on the embedded default: the portfolio, a
client organisation's home, preparing an engagement, and the facilitator console (phases,
progress, join codes and their printed sheet, the dialogue schedule, the closing plenary).

Each command a form gives is checked where the API reads it back; refused forms record nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.roles import Role
from services.auth.jwt import CSRF_COOKIE
from services.controlplane import system_provenance
from tests.http_harness import ADMIN, Person, Story, onboard, register
from tests.web.conftest import send_form, sign_in_by_form

CODE = re.compile(r'<p class="join-code">([0-9A-Z]{5}-[0-9A-Z]{5})</p>')


@dataclass
class World:
    """A client organisation with three units, its people, and an engagement prepared for a
    theme day a month ahead (join codes expire with their theme day)."""

    admin: Person
    tenant_id: UUID
    name: str
    units: dict[str, str]
    engagement_id: str
    emails: dict[Role, str]

    @property
    def home(self) -> str:
        return f"/t/{self.tenant_id}"

    @property
    def engagement(self) -> str:
        return f"/t/{self.tenant_id}/e/{self.engagement_id}"

    async def shown(self) -> Any:
        """The engagement as the API reads it."""
        return await self.admin.get(f"/engagements/{self.engagement_id}")


@pytest.fixture
async def world(site: Story) -> World:
    admin = await site.sign_in(ADMIN)
    name = "Søby Kommune"
    tenant_id = await onboard(site.container, name, "soeby")
    admin.base = f"/api/v1/tenants/{tenant_id}"
    await admin.put("/organisation", {"name": name})
    units = {}
    for unit in ("Visitationen", "Hjemmeplejen", "Akutteamet"):
        units[unit] = (await admin.post("/organisation/units", {"name": unit}))["unit_id"]
    theme_day = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    prepared = await admin.post(
        "/engagements", {"title": "Udskrivning", "theme_day": theme_day, "unit_ids": list(units.values())}
    )
    emails = {}
    for role, platform_role in (
        (Role.CONSULTANT, Role.CONSULTANT),
        (Role.CLIENT_ADMIN, None),
        (Role.AUDITOR, None),
    ):
        user = await register(site.container, platform_role)
        await site.container.offloop(
            site.container.control.grant_membership, user.user_id, tenant_id, role, system_provenance("Test")
        )
        emails[role] = user.email
    return World(admin, tenant_id, name, units, prepared["engagement_id"], emails)


async def as_(site: Story, world: World, role: Role, language: str = "en") -> None:
    answer = await sign_in_by_form(site.client, world.emails[role], language=language)
    assert answer.status_code == 303, answer.text


def key_of(html: str) -> str:
    """The form key of the first form on a page."""
    found = re.search(r'name="_key" value="([0-9a-f]+)"', html)
    assert found
    return found.group(1)


async def advance_to(world: World, *phases: str) -> None:
    for phase in phases:
        await world.admin.post(
            f"/engagements/{world.engagement_id}/phase/advance", {"expected_phase": phase}, expect=200
        )


# -- The portfolio and the organisation's home ------------------------------------------------------


async def test_the_portfolio_shows_the_consultants_organisations_in_danish_and_english(
    site: Story, world: World
) -> None:
    await as_(site, world, Role.CONSULTANT, language="da")
    danish = await site.client.get("/portfolio")
    assert danish.status_code == 200
    assert '<html lang="da">' in danish.text
    assert "<h1>Portefølje</h1>" in danish.text
    assert world.name in danish.text
    assert f'href="{world.engagement}/console">Udskrivning</a>' in danish.text
    assert "Forberedt" in danish.text  # the engagement's phase

    site.client.cookies.set("balkort_lang", "en")
    english = await site.client.get("/portfolio")
    assert "<h1>Portfolio</h1>" in english.text
    assert "Engagements by phase" in english.text


async def test_the_portfolio_is_for_the_consultancy_only(site: Story, world: World) -> None:
    await as_(site, world, Role.CLIENT_ADMIN)
    refused = await site.client.get("/portfolio")
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]


async def test_the_home_shows_engagements_units_and_the_links_each_role_may_follow(
    site: Story, world: World
) -> None:
    await as_(site, world, Role.CONSULTANT)
    home = await site.client.get(world.home)
    assert home.status_code == 200
    assert f"<h1>{world.name}</h1>" in home.text
    assert all(unit in home.text for unit in world.units)
    assert "Prepared" in home.text
    assert f'href="{world.engagement}/console"' in home.text
    assert f'href="{world.home}/engagements/new"' in home.text

    await as_(site, world, Role.CLIENT_ADMIN, language="da")
    home = await site.client.get(world.home)
    assert home.status_code == 200
    assert "Udskrivning" in home.text
    assert f'href="{world.engagement}/console"' not in home.text  # the console is the facilitators'
    assert f'href="{world.home}/engagements/new"' in home.text  # the planning group prepares

    await as_(site, world, Role.AUDITOR)
    home = await site.client.get(world.home)
    assert home.status_code == 200
    assert "/console" not in home.text
    assert "/engagements/new" not in home.text


# -- Preparing an engagement ------------------------------------------------------------------------


def preparation(world: World, *units: str, **fields: str) -> dict[str, Any]:
    return {
        "title": "Udskrivning 2027",
        "theme_day": "2027-03-09",
        "focus": "Overgange",
        "planning_group": "Anna Holm\n\nBo Lind\n",
        "unit_ids": [world.units[u] for u in units],
        "rounds": "2",
        **fields,
    }


async def test_the_preparatory_meeting_records_the_engagement_once_and_opens_its_console(
    site: Story, world: World
) -> None:
    await as_(site, world, Role.CONSULTANT)
    form = await site.client.get(f"{world.home}/engagements/new")
    assert form.status_code == 200
    assert 'id="create-engagement"' in form.text
    data = {**preparation(world, "Visitationen", "Akutteamet"), "_key": key_of(form.text)}

    first = await send_form(site.client, f"{world.home}/engagements/new", data)
    assert first.status_code == 303
    created = re.fullmatch(rf"{world.home}/e/([0-9a-f-]+)/console", first.headers["location"])
    assert created
    again = await send_form(site.client, f"{world.home}/engagements/new", data)  # a double click
    assert again.status_code == 303

    listed = await world.admin.get("/engagements")
    assert [e["title"] for e in listed].count("Udskrivning 2027") == 1
    engagement = await world.admin.get(f"/engagements/{created.group(1)}")
    assert engagement["planning_group"] == ["Anna Holm", "Bo Lind"]
    assert engagement["rounds"] == 2
    assert set(engagement["unit_ids"]) == {world.units["Visitationen"], world.units["Akutteamet"]}
    console = await site.client.get(first.headers["location"])
    assert console.status_code == 200


async def test_the_planning_group_prepares_and_returns_to_the_home(site: Story, world: World) -> None:
    await as_(site, world, Role.CLIENT_ADMIN)
    data = preparation(world, "Visitationen", "Hjemmeplejen")
    answer = await send_form(site.client, f"{world.home}/engagements/new", data)
    assert answer.status_code == 303
    assert answer.headers["location"] == world.home


async def test_too_few_units_are_named_next_to_the_units_and_nothing_is_recorded(
    site: Story, world: World
) -> None:
    await as_(site, world, Role.CONSULTANT, language="da")
    answer = await send_form(site.client, f"{world.home}/engagements/new", preparation(world, "Visitationen"))
    assert answer.status_code == 400
    assert re.search(r'id="f-unit_ids-error">Vælg mindst to enheder.<', answer.text)
    assert 'value="Udskrivning 2027"' in answer.text  # what was typed is kept
    bad_date = await send_form(
        site.client,
        f"{world.home}/engagements/new",
        preparation(world, "Visitationen", "Akutteamet", theme_day="next week"),
    )
    assert bad_date.status_code == 400
    assert 'id="f-theme_day-error"' in bad_date.text
    assert len(await world.admin.get("/engagements")) == 1


async def test_a_form_without_its_csrf_token_is_refused(site: Story, world: World) -> None:
    await as_(site, world, Role.CONSULTANT)
    data = preparation(world, "Visitationen", "Akutteamet")
    refused = await send_form(site.client, f"{world.home}/engagements/new", data, csrf=False)
    assert refused.status_code == 403
    advance = await send_form(
        site.client, f"{world.engagement}/console/advance", {"expected_phase": "prepared"}, csrf=False
    )
    assert advance.status_code == 403
    assert len(await world.admin.get("/engagements")) == 1
    assert (await world.shown())["phase"] == "prepared"


# -- The facilitator console ------------------------------------------------------------------------


async def test_the_console_shows_the_phases_progress_and_live_source(site: Story, world: World) -> None:
    await as_(site, world, Role.CONSULTANT, language="da")
    console = await site.client.get(f"{world.engagement}/console")
    assert console.status_code == 200
    assert '<li aria-current="step">Forberedt</li>' in console.text
    assert 'name="expected_phase" value="prepared"' in console.text
    live = f"/api/v1/tenants/{world.tenant_id}/engagements/{world.engagement_id}/events"
    assert f'data-live-source="{live}"' in console.text
    assert 'hx-trigger="balkort:changed from:body"' in console.text
    assert "Fremdrift pr. enhed" in console.text

    fragment = await site.client.get(f"{world.engagement}/console/progress", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<div id="progress"')
    assert "<html" not in fragment.text
    assert all(unit in fragment.text for unit in world.units)


async def test_the_console_is_the_facilitators_not_the_planning_groups(site: Story, world: World) -> None:
    await as_(site, world, Role.CLIENT_ADMIN)
    for path in ("/console", "/console/progress", "/schedule", "/join-codes/print"):
        answer = await site.client.get(world.engagement + path)
        assert answer.status_code == 403, path
    refused = await send_form(
        site.client, f"{world.engagement}/console/advance", {"expected_phase": "prepared"}
    )
    assert refused.status_code == 403
    assert (await world.shown())["phase"] == "prepared"


async def test_phases_move_on_and_back_once_per_form(site: Story, world: World) -> None:
    await as_(site, world, Role.CONSULTANT)
    console = await site.client.get(f"{world.engagement}/console")
    data = {"expected_phase": "prepared", "_key": key_of(console.text)}
    moved = await send_form(site.client, f"{world.engagement}/console/advance", data)
    assert moved.status_code == 303
    assert moved.headers["location"] == f"{world.engagement}/console"
    assert (await world.shown())["phase"] == "theme_day_open"

    # The same form sent again names the same command: answered as the first time, recorded once.
    twice = await send_form(site.client, f"{world.engagement}/console/advance", data)
    assert twice.status_code == 303
    assert (await world.shown())["phase"] == "theme_day_open"
    stale = await send_form(
        site.client, f"{world.engagement}/console/advance", {**data, "_key": key_of(console.text) + "-b"}
    )
    assert stale.status_code == 409  # another form, shown in the phase before
    assert 'id="form-error"' in stale.text
    assert (await world.shown())["phase"] == "theme_day_open"

    no_reason = await send_form(
        site.client, f"{world.engagement}/console/back", {"expected_phase": "theme_day_open"}
    )
    assert no_reason.status_code == 400
    assert (await world.shown())["phase"] == "theme_day_open"
    back = await send_form(
        site.client,
        f"{world.engagement}/console/back",
        {"expected_phase": "theme_day_open", "reason": "Opened too early"},
    )
    assert back.status_code == 303
    shown = await world.shown()
    assert shown["phase"] == "prepared"
    assert shown["phase_history"][-1]["reason"] == "Opened too early"


# -- Join codes ---------------------------------------------------------------------------------------


async def test_the_printed_sheet_shows_each_new_code_once_and_the_codes_let_tables_join(
    site: Story, world: World
) -> None:
    await as_(site, world, Role.CONSULTANT)
    choice = await site.client.get(f"{world.engagement}/join-codes/print")
    assert choice.status_code == 200
    chosen = [world.units["Visitationen"], world.units["Akutteamet"]]
    sheet = await send_form(site.client, f"{world.engagement}/join-codes/print", {"unit_ids": chosen})
    assert sheet.status_code == 200
    assert sheet.headers["cache-control"] == "no-store"
    codes = CODE.findall(sheet.text)
    assert len(codes) == 2
    assert sheet.text.count("<svg") == 2
    assert "/join" in sheet.text

    console = await site.client.get(f"{world.engagement}/console")
    assert codes[0] not in console.text  # only digests are kept: the console lists, never shows
    revoke = re.findall(r'action="([^"]+/join-codes/[0-9a-f-]+/revoke)"', console.text)
    assert len(revoke) == 2

    joined = await site.client.post("/api/v1/join", json={"code": codes[0]})
    assert joined.status_code == 200
    await as_(site, world, Role.CONSULTANT)
    for action in revoke:
        assert (await send_form(site.client, action, {})).status_code == 303
    refused = await site.client.post("/api/v1/join", json={"code": codes[1]})
    assert refused.status_code == 401


async def test_one_units_code_and_a_sheet_without_units(site: Story, world: World) -> None:
    await as_(site, world, Role.CONSULTANT)
    unit = world.units["Hjemmeplejen"]
    sheet = await send_form(site.client, f"{world.engagement}/console/units/{unit}/join-codes", {})
    assert sheet.status_code == 200
    assert len(CODE.findall(sheet.text)) == 1
    assert "Hjemmeplejen" in sheet.text
    # Valid through the theme day itself (the code expires at the following midnight).
    theme_day = datetime.fromisoformat((await world.shown())["theme_day"]).date()
    assert (
        f"Valid through {theme_day.day:02d}" in sheet.text or f"Valid through {theme_day.day} " in sheet.text
    )
    assert 'id="unreachable-warning"' not in sheet.text  # the test server's address is not local
    empty = await send_form(site.client, f"{world.engagement}/join-codes/print", {})
    assert empty.status_code == 400
    assert 'id="f-unit_ids-error"' in empty.text


# -- The schedule and the closing plenary ---------------------------------------------------------------


async def accepted_cards(world: World) -> dict[str, str]:
    """Three accepted dance cards, each pair of the three units: two rounds hold two of them."""
    await advance_to(world, "prepared", "theme_day_open", "mapping")
    units = world.units
    cards = {}
    for topic, sender, receiver in (
        ("Overlevering", "Visitationen", "Hjemmeplejen"),
        ("Akutte ændringer", "Hjemmeplejen", "Akutteamet"),
        ("Weekender", "Akutteamet", "Visitationen"),
    ):
        card = await world.admin.post(
            f"/engagements/{world.engagement_id}/cards",
            {"from_unit": units[sender], "to_unit": units[receiver], "topic": topic},
        )
        await world.admin.post(
            f"/engagements/{world.engagement_id}/cards/{card['card_id']}/accept",
            {"unit_id": units[receiver]},
            expect=200,
        )
        cards[topic] = card["card_id"]
    return cards


def rounds_of(engagement: Any) -> dict[str, int | None]:
    return {c["topic"]: c["round"] for c in engagement["cards"]}


async def test_the_schedule_is_set_generated_and_moved_by_picking_a_round(site: Story, world: World) -> None:
    cards = await accepted_cards(world)
    await as_(site, world, Role.CONSULTANT, language="da")
    page = await site.client.get(f"{world.engagement}/schedule")
    assert page.status_code == 200
    assert "Dialogplan" in page.text

    assert (
        await send_form(site.client, f"{world.engagement}/schedule/rounds", {"rounds": "2"})
    ).status_code == 303
    assert (await world.shown())["rounds"] == 2
    wrong = await send_form(site.client, f"{world.engagement}/schedule/rounds", {"rounds": "many"})
    assert wrong.status_code == 400
    assert 'id="f-rounds-error"' in wrong.text
    assert (await world.shown())["rounds"] == 2

    generated = await send_form(site.client, f"{world.engagement}/schedule", {})
    assert generated.status_code == 303
    assert generated.headers["location"] == f"{world.engagement}/schedule?done=generated"
    site.client.cookies.set("balkort_lang", "en")
    feedback = await site.client.get(generated.headers["location"])
    assert "2 of 3 dialogues placed." in feedback.text
    assert "in another dialogue in every round" in feedback.text
    assert "Add a round to place the rest" in feedback.text
    assert "Round by round" in feedback.text
    placed = rounds_of(await world.shown())
    assert sorted(r for r in placed.values() if r is not None) == [1, 2]
    waiting = next(topic for topic, r in placed.items() if r is None)
    taken = next(topic for topic, r in placed.items() if r == 1)

    clash = await send_form(
        site.client, f"{world.engagement}/schedule/cards/{cards[waiting]}/round", {"round": "1"}
    )
    assert clash.status_code == 409  # every pair shares a unit: round 1 is taken for both
    assert f'id="move-error-{cards[waiting]}"' in clash.text
    assert rounds_of(await world.shown())[waiting] is None

    off = await send_form(
        site.client, f"{world.engagement}/schedule/cards/{cards[taken]}/round", {"round": ""}
    )
    assert off.status_code == 303
    on = await send_form(
        site.client, f"{world.engagement}/schedule/cards/{cards[waiting]}/round", {"round": "1"}
    )
    assert on.status_code == 303
    assert on.headers["location"] == f"{world.engagement}/schedule?done=moved"
    assert "The dialogue has been moved." in (await site.client.get(on.headers["location"])).text
    moved = await world.shown()
    assert rounds_of(moved)[taken] is None
    assert rounds_of(moved)[waiting] == 1
    assert next(c for c in moved["cards"] if c["topic"] == waiting)["pinned"] is True


async def test_the_closing_plenary_is_held_from_the_console(site: Story, world: World) -> None:
    cards = await accepted_cards(world)
    await world.admin.post(f"/engagements/{world.engagement_id}/schedule", {}, expect=200)
    await advance_to(world, "dance_cards")
    await world.admin.post(
        f"/engagements/{world.engagement_id}/dialogues",
        {
            "card_id": cards["Overlevering"],
            "notes": "Fredage halter",
            "agreements": [{"text": "Tavlemøde tirsdag"}],
            "proposals": [{"text": "Elektronisk tavle"}],
        },
    )
    await advance_to(world, "dialogues")
    await as_(site, world, Role.CONSULTANT)
    # In the wrap-up, no unit has wrapped up: moving on needs "Move on anyway".
    wrap_up = await site.client.get(f"{world.engagement}/console")
    assert "Visitationen has no wrap-up yet." in wrap_up.text
    assert 'id="move_on_anyway"' in wrap_up.text
    assert 'id="advance-phase"' in wrap_up.text
    unconfirmed = await send_form(
        site.client, f"{world.engagement}/console/advance", {"expected_phase": "wrap_up"}
    )
    assert unconfirmed.status_code == 400
    assert 'id="move_on_anyway-error"' in unconfirmed.text
    assert (await world.shown())["phase"] == "wrap_up"
    confirmed = await send_form(
        site.client,
        f"{world.engagement}/console/advance",
        {"expected_phase": "wrap_up", "move_on_anyway": "yes"},
    )
    assert confirmed.status_code == 303
    console = await site.client.get(f"{world.engagement}/console")
    assert "The closing plenary has not been held." in console.text
    assert 'id="hold-plenary"' in console.text
    held = await send_form(
        site.client, f"{world.engagement}/console/closing-plenary", {"notes": "Tak for i dag"}
    )
    assert held.status_code == 303
    assert held.headers["location"] == f"{world.engagement}/console#plenary"
    assert (await world.shown())["plenary"]["notes"] == "Tak for i dag"
    # The console in the plenary lists what the day made.
    plenary = await site.client.get(f"{world.engagement}/console")
    assert plenary.status_code == 200, plenary.text
    assert "Tavlemøde tirsdag" in plenary.text
    assert "Elektronisk tavle" in plenary.text
    # Once held: its notes, no invitation to hold it again, but its notes may be edited.
    assert "Tak for i dag" in plenary.text
    assert 'id="hold-plenary"' not in plenary.text
    assert 'id="edit-plenary-notes"' in plenary.text
    moved_on = await send_form(
        site.client, f"{world.engagement}/console/advance", {"expected_phase": "closing_plenary"}
    )
    assert moved_on.status_code == 303
    assert (await world.shown())["phase"] == "follow_up_meeting"


async def test_the_closing_plenary_waits_for_its_phase(site: Story, world: World) -> None:
    await as_(site, world, Role.CONSULTANT)
    early = await send_form(site.client, f"{world.engagement}/console/closing-plenary", {"notes": "Too soon"})
    assert early.status_code == 409
    assert 'id="form-error"' in early.text
    assert (await world.shown())["plenary"] is None
    assert site.client.cookies.get(CSRF_COOKIE)


async def test_an_engagements_address_leads_each_visitor_to_their_page(site: Story, world: World) -> None:
    for role, target in ((Role.CONSULTANT, "console"), (Role.CLIENT_ADMIN, "dashboard")):
        await as_(site, world, role)
        answer = await site.client.get(world.engagement, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"{world.engagement}/{target}"
    unknown = await site.client.get(f"/t/{world.tenant_id}/e/{world.tenant_id}", follow_redirects=False)
    assert unknown.status_code == 404
