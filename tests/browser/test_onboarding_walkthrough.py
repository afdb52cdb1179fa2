"""A consultancy from nothing to a theme day, in Chromium, without a shell.

The server starts from an empty data directory: the only thing made before it is the platform's
first consultancy admin, as the platform team makes it at install (`balkort users create ...
--platform-role consultancy_admin`). Its messages go by SMTP to a real server in the test process
(aiosmtpd), read back as they arrived. In the browser, the admin onboards a client organisation,
invites a consultant and a client admin by e-mail; each opens the link in their message in a
browser of their own and sets a password. The admin publishes a new instrument from the built-in
one; the consultant adds the organisation's units, prepares an engagement pinned to that
instrument where each participant rates on their own, opens the theme day, issues personal codes
for a unit and opens the printed sheet. The client admin sees the organisation's people and its
notifications page, and the admin's outbox lists the messages sent. Every page on the way is
screenshotted and held to axe-core's rules."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from uuid import UUID

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, LiveApp, balkort_command, serving
from tests.browser.test_theme_day import _advance, _today
from tests.mailbox import Mailbox

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADMIN = "anne@raadgivning.example"
ADMIN_PASSWORD = "platformens-foerste-kodeord"
CONSULTANT = "kasper@raadgivning.example"
CONSULTANT_PASSWORD = "konsulentens-eget-kodeord"
CLIENT_ADMIN = "lene@nordby.example"
CLIENT_ADMIN_PASSWORD = "planlaeggerens-kodeord"
UNITS = ("Visitationen", "Hjemmeplejen", "Akutteamet")
INSTRUMENT = "Nordbys ordlyd"
MAIL_SECONDS = 60
_UUID = r"[0-9a-f-]{36}"


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    try:
        yield box
    finally:
        box.stop()


@pytest.fixture(scope="module")
def live_app(tmp_path_factory: pytest.TempPathFactory, mailbox: Mailbox) -> Iterator[LiveApp]:
    """`balkort serve` on an empty data directory, with the platform's first consultancy admin
    made at install and its mail going to `mailbox`; nothing else exists (no tenant, no unit)."""
    home = tmp_path_factory.mktemp("onboarding-app")
    install = ("users", "create", ADMIN, "--name", "Anne Andersen", "--password", ADMIN_PASSWORD)
    balkort_command(home, *install, "--platform-role", "consultancy_admin")
    settings = {"BALKORT_SMTP_URL": mailbox.url, "BALKORT_OUTBOX_POLL_SECONDS": "0.2"}
    with serving(home, settings, public=True) as (base_url, log_path):
        yield LiveApp(base_url, log_path, tenant_id=UUID(int=0), engagements={}, units={})


def _invitation_link(message: EmailMessage, base_url: str, organisation: str) -> str:
    """The invitation's link, read from a Danish message with plain text and HTML beside it."""
    assert message["Subject"] == f"Invitation til {organisation} i Balkort"
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None, message.as_string()[:2000]
    assert html is not None, message.as_string()[:2000]
    text, markup = plain.get_content(), html.get_content()
    assert f"Du er inviteret til at deltage i {organisation}" in text, text
    found = re.search(rf"{re.escape(base_url)}/invitations/[A-Za-z0-9_-]+", text)
    assert found, text
    assert found.group(0) in markup
    return found.group(0)


def _accept(browsing: Browsing, link: str, name: str, password: str, tenant_id: str, shot: str) -> None:
    """The invitee opens the link in a browser of their own (Danish, the default) and sets a password."""
    page = browsing.page(language=None)
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Invitation til Nordby Kommune$"))
    browsing.check(page, shot)
    page.get_by_label("Dit navn").fill(name)
    page.get_by_label("Adgangskode").fill(password)
    page.get_by_role("button", name="Tag imod og vælg adgangskode").click()
    expect(page).to_have_url(re.compile(rf"/t/{tenant_id}$"))
    expect(page.get_by_role("button", name="Log ud")).to_be_visible()


def _invite(page: Page, email: str, role: str) -> None:
    invite = page.get_by_role("region", name="Invite someone")
    invite.get_by_label("Client organisation").select_option(label="Nordby Kommune")
    invite.get_by_label("Email").fill(email)
    invite.get_by_label("Role").select_option(role)
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_role("status")).to_have_text("The invitation is on its way.")


def test_a_consultancy_goes_from_nothing_to_a_theme_day_with_personal_codes_without_a_shell(
    browsing: Browsing, mailbox: Mailbox
) -> None:
    base_url = browsing.app.base_url

    # The admin, made at install, signs in and onboards the client organisation.
    admin = browsing.signed_in(ADMIN, password=ADMIN_PASSWORD)
    admin.goto("/admin")
    browsing.check(admin, "onboarding-admin-home")
    admin.goto("/admin/organisations")
    browsing.check(admin, "onboarding-admin-organisations-empty")
    admin.get_by_label("Name", exact=False).first.fill("Nordby Kommune")
    admin.get_by_label("Slug").fill("nordby")
    admin.get_by_role("button", name="Onboard organisation").click()
    expect(admin).to_have_url(re.compile(rf"/admin/organisations/{_UUID}$"))
    expect(admin.get_by_role("heading", level=1)).to_have_text("Nordby Kommune")
    tenant_id = admin.url.rsplit("/", 1)[1]
    browsing.check(admin, "onboarding-admin-organisation")

    # A consultant and a client admin, invited by e-mail.
    admin.goto("/admin/people")
    browsing.check(admin, "onboarding-people")
    _invite(admin, CONSULTANT, "consultant")
    _invite(admin, CLIENT_ADMIN, "client_admin")
    admin.goto(f"/t/{tenant_id}/people")
    for email in (CONSULTANT, CLIENT_ADMIN):
        expect(admin.locator("#invitations")).to_contain_text(email)
    browsing.check(admin, "onboarding-people-invited")

    # Each accepts by the link in the message that arrived at the SMTP server.
    for email, name, password, shot in (
        (CONSULTANT, "Kasper Konsulent", CONSULTANT_PASSWORD, "onboarding-invitation-accept"),
        (CLIENT_ADMIN, "Lene Leder", CLIENT_ADMIN_PASSWORD, "onboarding-invitation-accept-client-admin"),
    ):
        link = _invitation_link(
            mailbox.message_to(email, MAIL_SECONDS, "Invitation til "), base_url, "Nordby Kommune"
        )
        _accept(browsing, link, name, password, tenant_id, shot)

    # The admin publishes a new instrument from the built-in one.
    admin.goto("/admin/instruments")
    browsing.check(admin, "onboarding-instruments")
    admin.get_by_role("link", name=re.compile(r"^New version from this one")).first.click()
    expect(admin).to_have_url(re.compile(r"/new-version\?from=1$"))
    admin.get_by_label("Name of the new instrument").fill(INSTRUMENT)
    admin.locator("#f-dimension-7-key").fill("tillid")
    admin.locator("#f-dimension-7-name_da").fill("Tillid")
    admin.locator("#f-dimension-7-name_en").fill("Trust")
    admin.locator("#f-dimension-7-question_da").fill("Hvor meget stoler I på hinanden?")
    admin.locator("#f-dimension-7-question_en").fill("How much do you trust each other?")
    browsing.check(admin, "onboarding-instrument-version")
    admin.get_by_role("button", name="Publish the new version").click()
    expect(admin).to_have_url(re.compile(r"/admin/instruments$"))
    expect(admin.get_by_role("heading", name=INSTRUMENT)).to_be_visible()
    browsing.check(admin, "onboarding-instruments-published")

    # The consultant, signed in with the password they chose, adds the units.
    consultant = browsing.signed_in(CONSULTANT, password=CONSULTANT_PASSWORD)
    consultant.goto(f"/t/{tenant_id}/units")
    for unit in UNITS:
        consultant.locator("#f-name").fill(unit)
        consultant.get_by_role("button", name="Add unit").click()
        expect(consultant.get_by_role("link", name=unit, exact=True)).to_be_visible()
    browsing.check(consultant, "onboarding-units")

    # An engagement pinned to the new instrument, each participant rating on their own.
    consultant.goto(f"/t/{tenant_id}/engagements/new")
    consultant.get_by_label("Title").fill("Samarbejde om udskrivning")
    consultant.get_by_label(re.compile(r"^Theme day")).fill(_today())
    consultant.get_by_label("Focus").fill("Discharge from hospital to home")
    consultant.get_by_label("Target group").fill("Staff of three units")
    consultant.get_by_label("Shared work process").fill("From notice of discharge to home")
    for unit in UNITS:
        consultant.get_by_label(unit, exact=True).check()
    consultant.get_by_label("Planning group members").fill("Lene Leder")
    consultant.locator("details.settings summary").click()
    consultant.get_by_label("Instrument", exact=True).select_option(label=INSTRUMENT)
    consultant.get_by_label("How the units rate").select_option("individual")
    consultant.get_by_label("Fewest raters whose ratings are shown").fill("2")
    browsing.check(consultant, "onboarding-new-engagement")
    consultant.get_by_role("button", name="Create the engagement").click()
    expect(consultant).to_have_url(re.compile(rf"/e/{_UUID}/console$"))
    _advance(consultant, "Theme day open")
    expect(consultant.get_by_role("heading", name="Personal codes")).to_be_visible()
    browsing.check(consultant, "onboarding-console")

    # Personal codes for a unit, and the printed sheet.
    consultant.get_by_label("People in Visitationen").fill("4")
    consultant.get_by_label("People in Visitationen").press("Enter")
    expect(consultant.locator(".personal-slip")).to_have_count(4)
    expect(consultant.get_by_text("Visitationen now has codes for 4 people.")).to_be_visible()
    browsing.check(consultant, "onboarding-personal-codes-issued")
    console = consultant.url.split(base_url, 1)[1].split("/console", 1)[0] + "/console"
    consultant.goto(console)
    consultant.get_by_role("link", name="Print Visitationen's slips again").click()
    expect(consultant).to_have_url(re.compile(r"/personal-codes/sheet$"))
    expect(consultant.locator(".personal-slip")).to_have_count(4)
    browsing.check(consultant, "onboarding-personal-code-sheet")

    # The client admin sees the organisation's people and chooses who receives what.
    client = browsing.signed_in(CLIENT_ADMIN, password=CLIENT_ADMIN_PASSWORD)
    client.goto(f"/t/{tenant_id}/people")
    members = client.locator("#members")
    expect(members).to_contain_text("Kasper Konsulent")
    expect(members).to_contain_text("Lene Leder")
    browsing.check(client, "onboarding-organisation-people")
    client.goto(f"/t/{tenant_id}/notifications")
    expect(client.get_by_role("heading", level=1)).to_be_visible()
    browsing.check(client, "onboarding-notifications")

    # The planning group's invitation to the theme day arrives with its calendar entry.
    theme_day = mailbox.message_to(CLIENT_ADMIN, MAIL_SECONDS, "Temadag")
    assert any(part.get_content_type() == "text/calendar" for part in theme_day.walk()), (
        theme_day.as_string()[:2000]
    )

    # The admin's outbox lists the messages as sent.
    admin.goto("/admin/outbox")
    messages = admin.get_by_role("table", name="Messages")
    for email in (CONSULTANT, CLIENT_ADMIN):
        invitation = (
            messages.locator("tr").filter(has_text=email).filter(has_text="Invitation to Nordby Kommune")
        )
        expect(invitation).to_contain_text("Sent")
    browsing.check(admin, "onboarding-outbox")
