"""A whole theme day in real browsers, as the people in the room would click through it.

The consultant prepares an engagement for three units of the demo organisation, opens the
theme day and prints join codes; three unit tables (one on a phone) join by code, map and rate
their relations, send and accept dance cards; the consultant generates the dialogue schedule;
one table records a dialogue with an agreement and a proposal. The theme-day board is open in
a browser of its own the whole time and follows every step without being reloaded. Then the
planning group decides the agreement and the proposal at the follow-up meeting, and the
auditor follows the decision's lineage back to the rating that started it.

Every main page on the way is screenshotted and held to axe-core's rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import AUDITOR, CLIENT_ADMIN, CONSULTANT, Browsing

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# How long the board may take to follow a change without being reloaded.
LIVE_MS = 10_000
UNITS = ("Visitationen", "Hjemmesygeplejen", "Akutteamet")
AGREEMENT = "We call each other before a discharge on Fridays"
PROPOSAL = "A shared on-call nurse at weekends"
DIMENSION_COUNT = 7


@dataclass
class Table:
    """A unit table: its browser page, its name and its pages' base address."""

    name: str
    page: Page
    base: str

    def goto(self, path: str = "") -> None:
        self.page.goto(f"{self.base}{path}")


def _today() -> str:
    return datetime.now(ZoneInfo("Europe/Copenhagen")).date().isoformat()


def _in_days(days: int) -> str:
    return (datetime.now(ZoneInfo("Europe/Copenhagen")).date() + timedelta(days=days)).isoformat()


def _advance(console: Page, to_phase: str) -> None:
    """The console's one button forward, to the named phase (ticking "Move on anyway" when the
    console says something is still outstanding)."""
    anyway = console.get_by_label("Move on anyway")
    if anyway.count():
        anyway.check()
    console.get_by_role("button", name=f"Move on to {to_phase}").click()
    expect(console.get_by_role("heading", name=f"Phase: {to_phase}")).to_be_visible()


def _advance_from_console(console: Page, base: str, to_phase: str) -> None:
    console.goto(f"{base}/console")
    _advance(console, to_phase)


def _counter(board: Page, name: str) -> Locator:
    return board.get_by_test_id(f"{name}-count")


def _choose_scores(page: Page, score: int) -> None:
    """Tap the score on every dimension's scale (the numbers are the radio buttons' labels)."""
    for fieldset in page.locator("fieldset.rating").all():
        fieldset.locator("label").filter(has_text=re.compile(rf"^{score}$")).click()
        expect(fieldset.get_by_label(str(score), exact=True)).to_be_checked()


def _rate_everything(table: Table, score: int) -> None:
    """Rate every relation still unrated, each dimension at `score`: saving one rating opens
    the next until all are rated."""
    table.goto("/rate")
    page = table.page
    if page.locator("#rate-next").count():
        page.locator("#rate-next").click()
    while re.search(r"/rate/[0-9a-f-]{36}(\?saved=true)?$", page.url):
        _choose_scores(page, score)
        page.get_by_role("button", name="Save rating").click()
        page.wait_for_load_state("load")
    expect(page.get_by_text("All your relations are rated.")).to_be_visible()


def _map_relations(table: Table, others: tuple[str, ...]) -> None:
    table.goto()
    table.page.get_by_role("link", name="Map your relations").click()
    for other in others:
        table.page.get_by_label(other, exact=True).check()
    table.page.get_by_role("button", name="Save and rate").click()
    table.page.wait_for_load_state("load")


def _send_card(table: Table, to_unit: str, topic: str) -> None:
    table.goto("/cards/new")
    page = table.page
    page.get_by_label("Invite unit").select_option(label=to_unit)
    page.get_by_label("Topic").fill(topic)
    page.get_by_label("Why you invite them").fill("Information gets lost between our units")
    page.get_by_label("What you hope comes of it").fill("One way of handing over that both know")
    # The card points at the weak rating that motivated it: the start of the decision's lineage.
    page.get_by_label("Refer to our rating of this unit").check()
    page.get_by_role("button", name="Send the dance card").click()
    expect(page.get_by_text("Your dance card has been sent.")).to_be_visible()


def _accept_card(table: Table, topic: str) -> None:
    table.goto("/cards")
    card = table.page.locator("article.dance-card").filter(
        has=table.page.get_by_role("heading", name=topic, exact=True)
    )
    card.get_by_role("button", name="Accept").click()
    expect(table.page.get_by_text("You accepted the dance card.")).to_be_visible()


def test_a_whole_theme_day_from_preparation_to_lineage(browsing: Browsing) -> None:
    app = browsing.app
    tenant = app.tenant_id
    title = "Theme day: from hospital to home"

    # --- The preparatory meeting: the consultant records what it settled. -----------------
    console = browsing.signed_in(CONSULTANT)
    console.goto(f"/t/{tenant}")
    expect(console.get_by_role("heading", level=1)).to_be_visible()
    browsing.check(console, "tenant-home")
    console.get_by_role("link", name="New engagement").click()
    expect(console.get_by_role("heading", level=1, name="New engagement")).to_be_visible()
    console.get_by_label("Title").fill(title)
    console.get_by_label(re.compile(r"^Theme day")).fill(_today())
    console.get_by_label(re.compile(r"^Follow-up meeting")).fill(_in_days(30))
    console.get_by_label("Focus").fill("Discharge from hospital to home")
    console.get_by_label("Target group").fill("Leaders and staff of the three units")
    console.get_by_label("Shared work process").fill("From notice of discharge to a stable course at home")
    for unit in UNITS:
        console.get_by_label(unit, exact=True).check()
    console.get_by_label("Planning group members").fill("Hanne Østergaard\nLeader of Visitationen")
    browsing.check(console, "new-engagement")
    console.get_by_role("button", name="Create the engagement").click()

    expect(console).to_have_url(re.compile(r"/e/[0-9a-f-]{36}/console$"))
    match = re.search(r"/e/([0-9a-f-]{36})/console", console.url)
    assert match is not None
    engagement = match.group(1)
    base = f"/t/{tenant}/e/{engagement}"
    expect(console.get_by_role("heading", level=1)).to_have_text(title)
    expect(console.get_by_role("heading", name="Phase: Prepared")).to_be_visible()

    # --- The board goes up on the projector and stays open all day. -----------------------
    board = browsing.signed_in(CLIENT_ADMIN)
    board.goto(f"{base}/board")
    expect(board.get_by_role("heading", level=1)).to_have_text(title)
    expect(board.get_by_test_id("live-status")).to_have_text("Live", timeout=LIVE_MS)
    expect(_counter(board, "ratings")).to_have_text("0")
    browsing.check(board, "board-empty")
    # A mark in this document: still there at the end, the board was never reloaded.
    board.evaluate("window.openAllDay = true")

    # --- The theme day opens; join codes are printed for the tables. ----------------------
    _advance(console, "Theme day open")
    expect(board.locator(".board-phase")).to_contain_text("Theme day open", timeout=LIVE_MS)
    browsing.check(console, "console")
    console.get_by_role("link", name="Issue and print join codes").click()
    expect(console.get_by_role("heading", level=1, name="Print join codes")).to_be_visible()
    for unit in UNITS:
        console.get_by_label(unit, exact=True).check()
    browsing.check(console, "join-codes-print")
    console.get_by_role("button", name="Issue the codes and show the sheet").click()
    expect(console.locator(".join-card")).to_have_count(len(UNITS))
    browsing.check(console, "join-code-sheet")
    codes = {
        card.get_by_role("heading").inner_text().strip(): card.locator(".join-code").inner_text().strip()
        for card in console.locator(".join-card").all()
    }
    assert set(codes) == set(UNITS), codes

    _advance_from_console(console, base, "Mapping and rating")
    expect(board.locator(".board-phase")).to_contain_text("Mapping and rating", timeout=LIVE_MS)

    # --- Three tables join by code: the first on a phone. ----------------------------------
    tables: list[Table] = []
    for index, unit in enumerate(UNITS):
        page = browsing.joined(codes[unit], phone=index == 0)
        expect(page).to_have_url(re.compile(rf"{base}/u/[0-9a-f-]{{36}}/?$"))
        expect(page.get_by_role("heading", level=1)).to_have_text(unit)
        table_base = re.sub(r"/$", "", page.url.split(app.base_url, 1)[1])
        tables.append(Table(unit, page, table_base))
    visitation, nursing, acute = tables
    browsing.check(visitation.page, "participant-home-phone")

    # Mapping and rating: the board counts each rating as it comes in.
    _map_relations(visitation, (nursing.name, acute.name))
    expect(_counter(board, "ratings")).to_have_text("0")
    visitation.goto("/rate")
    browsing.check(visitation.page, "participant-rate-overview-phone")
    visitation.page.locator("#rate-next").click()
    expect(visitation.page.locator("fieldset.rating")).to_have_count(DIMENSION_COUNT)
    _choose_scores(visitation.page, 2)
    browsing.check(visitation.page, "participant-rating-phone")
    visitation.page.get_by_role("button", name="Save rating").click()
    visitation.page.wait_for_load_state("load")
    expect(_counter(board, "ratings")).to_have_text("1", timeout=LIVE_MS)
    _rate_everything(visitation, 2)
    expect(_counter(board, "ratings")).to_have_text("2", timeout=LIVE_MS)

    _map_relations(nursing, (visitation.name, acute.name))
    _rate_everything(nursing, 3)
    _map_relations(acute, (visitation.name,))
    _rate_everything(acute, 4)
    expect(_counter(board, "ratings")).to_have_text("5", timeout=LIVE_MS)
    browsing.check(acute.page, "participant-rate-done")
    browsing.check(board, "board-rated")

    # --- Dance cards: sent, shown on the board, accepted. ---------------------------------
    _advance(console, "Dance cards")
    expect(board.locator(".board-phase")).to_contain_text("Dance cards", timeout=LIVE_MS)
    handover = "Handover on discharge"
    medicine = "Medicine changes at weekends"
    visitation.goto("/cards/new")
    browsing.check(visitation.page, "participant-card-new-phone")
    _send_card(visitation, nursing.name, handover)
    expect(_counter(board, "cards")).to_have_text("1", timeout=LIVE_MS)
    _send_card(acute, visitation.name, medicine)
    expect(_counter(board, "cards")).to_have_text("2", timeout=LIVE_MS)

    nursing.goto("/cards")
    browsing.check(nursing.page, "participant-cards")
    _accept_card(nursing, handover)
    expect(_counter(board, "accepted")).to_have_text("1", timeout=LIVE_MS)
    _accept_card(visitation, medicine)
    expect(_counter(board, "accepted")).to_have_text("2", timeout=LIVE_MS)

    # --- The consultant generates the dialogue schedule. ----------------------------------
    console.goto(f"{base}/console")
    progress = console.locator("#progress tbody tr").filter(has_text=visitation.name)
    expect(progress).to_contain_text("2")
    browsing.check(console, "console-dance-cards")
    console.get_by_role("link", name="Open the dialogue schedule").click()
    expect(console.get_by_role("heading", level=1, name="Dialogue schedule")).to_be_visible()
    console.get_by_role("button", name="Generate the schedule").click()
    expect(console.get_by_text("Every accepted dance card has a round.")).to_be_visible()
    browsing.check(console, "schedule")
    expect(board.get_by_text(handover)).not_to_have_count(0, timeout=LIVE_MS)

    # --- Dialogues: one table records an agreement and a proposal. ------------------------
    console.goto(f"{base}/console")
    _advance(console, "Dialogues")
    expect(board.locator(".board-phase")).to_contain_text("Dialogues", timeout=LIVE_MS)
    visitation.goto("/schedule")
    browsing.check(visitation.page, "participant-schedule-phone")
    round_with_nursing = visitation.page.locator("li.card").filter(has_text=f"With {nursing.name}")
    round_with_nursing.get_by_role("link", name="Record the dialogue").click()
    expect(visitation.page.get_by_role("heading", level=1)).to_have_text(f"Dialogue with {nursing.name}")
    browsing.check(visitation.page, "participant-dialogue-phone")
    visitation.page.get_by_label("Notes from the dialogue").fill("We went through last month's discharges.")
    visitation.page.get_by_label(re.compile(r"^Who took part")).fill("Anna\nBo")
    visitation.page.locator("#agreement-0").fill(AGREEMENT)
    visitation.page.locator("#agreement-0-acceptance").check()
    visitation.page.locator("#proposal-0").fill(PROPOSAL)
    visitation.page.get_by_role("button", name="Save the dialogue").click()
    expect(visitation.page.get_by_text("The dialogue is saved.")).to_be_visible()
    expect(_counter(board, "dialogues")).to_have_text("1", timeout=LIVE_MS)
    expect(_counter(board, "agreements")).to_have_text("1", timeout=LIVE_MS)
    expect(_counter(board, "proposals")).to_have_text("1", timeout=LIVE_MS)
    expect(board.get_by_test_id("latest-agreements")).to_contain_text(AGREEMENT, timeout=LIVE_MS)
    expect(board.get_by_test_id("latest-proposals")).to_contain_text(PROPOSAL, timeout=LIVE_MS)
    browsing.check(board, "board")

    # --- Wrap-up and the closing plenary. -------------------------------------------------
    _advance(console, "Unit wrap-up")
    visitation.goto("/wrap-up")
    visitation.page.get_by_label(re.compile(r"^What does your unit take home")).fill(
        "We take the Friday calls home to the staff meeting."
    )
    visitation.page.locator("#input-0").fill("Ask the shared nurse question again in the spring")
    browsing.check(visitation.page, "participant-wrap-up-phone")
    visitation.page.get_by_role("button", name="Save the wrap-up").click()
    expect(visitation.page.get_by_text("Your wrap-up is saved.")).to_be_visible()

    _advance(console, "Closing plenary")
    console.get_by_label("Notes from the closing plenary").fill("Agreements and proposals were read out.")
    browsing.check(console, "console-closing-plenary")
    console.get_by_role("button", name="Hold the closing plenary").click()
    expect(console.get_by_text("The closing plenary has been held.")).to_be_visible()
    _advance(console, "Follow-up meeting")
    expect(board.locator(".board-phase")).to_contain_text("Follow-up meeting", timeout=LIVE_MS)

    # --- Dashboards of the new engagement. ------------------------------------------------
    console.goto(f"{base}/dashboard")
    expect(console.get_by_role("heading", level=1)).to_contain_text(title)
    browsing.check(console, "new-engagement-dashboard")
    console.goto(f"{base}/matrix")
    expect(console.get_by_role("heading", level=1)).to_contain_text(title)
    browsing.check(console, "new-engagement-matrix")

    # --- The follow-up meeting: the planning group decides. -------------------------------
    meeting = browsing.signed_in(CLIENT_ADMIN)
    meeting.goto(f"{base}/follow-up")
    expect(meeting.get_by_role("heading", level=1)).to_contain_text(title)
    browsing.check(meeting, "follow-up-meeting")
    meeting.get_by_role("link", name=re.compile(re.escape(AGREEMENT))).click()
    meeting.get_by_label("Accept", exact=True).check()
    meeting.get_by_label("Rationale").fill("Fits the shared plan")
    meeting.get_by_label(re.compile(r"^Decided by")).fill("The management team of Health and Care")
    meeting.get_by_role("button", name="Record decision").click()
    expect(meeting.get_by_text("The decision was recorded.")).to_be_visible()

    meeting.get_by_role("link", name=re.compile(re.escape(PROPOSAL))).click()
    meeting.get_by_label("Send for investigation").check()
    meeting.get_by_label("Owner").fill("Leader of Visitationen")
    meeting.get_by_label("Due date").fill(_in_days(60))
    meeting.get_by_label("Rationale").fill("Needs the weekend rota looked at first")
    meeting.get_by_label(re.compile(r"^Decided by")).fill("The management team of Health and Care")
    meeting.get_by_role("button", name="Record decision").click()
    expect(meeting.get_by_text("The decision was recorded.")).to_be_visible()
    expect(meeting.get_by_text("Every item on the agenda has a decision.")).to_be_visible()
    browsing.check(meeting, "follow-up-decided")

    meeting.get_by_role("link", name="Follow-up report", exact=True).click()
    expect(meeting.get_by_role("heading", level=1)).to_be_visible()
    expect(meeting.locator("main")).to_contain_text(AGREEMENT)
    expect(meeting.locator("main")).to_contain_text(PROPOSAL)
    browsing.check(meeting, "follow-up-report")
    pdf = meeting.request.get(f"{base}/report.pdf")
    assert pdf.status == 200, pdf.status
    assert pdf.headers["content-type"].startswith("application/pdf")
    assert pdf.body().startswith(b"%PDF")

    # --- The auditor follows the decision back to the rating. -----------------------------
    audit = browsing.signed_in(AUDITOR)
    expect(audit).to_have_url(re.compile(rf"/t/{tenant}/audit"))
    browsing.check(audit, "audit-trail")
    audit.get_by_role("link", name="Decisions", exact=True).click()
    expect(audit.get_by_role("heading", level=1, name="Decisions")).to_be_visible()
    browsing.check(audit, "audit-decisions")
    audit.get_by_role("link", name=re.compile(r"^Lineage of the decision: A shared on-call nurse")).click()
    expect(audit.get_by_role("heading", level=1)).to_contain_text("Lineage")
    back = audit.locator("#lineage-back")
    expect(back).to_contain_text("Proposal")
    expect(back).to_contain_text("Dialogue")
    expect(back).to_contain_text("Dance card")
    expect(back).to_contain_text("Rating")
    browsing.check(audit, "audit-lineage")
    audit.get_by_role("link", name="Chain verification").click()
    browsing.check(audit, "audit-verify")

    # The board followed the whole day without a single reload.
    assert board.evaluate("window.openAllDay === true")
    assert board.url.endswith(f"{base}/board")
