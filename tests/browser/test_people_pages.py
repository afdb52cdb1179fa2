"""People in a real browser: the consultancy admin invites a planning group member by e-mail on
the organisation's people page; the invitee opens the link in the message the served app wrote
(an .eml file under its data dir, as the embedded default sends mail), on a phone, sets a name
and a password, and lands in the organisation signed in. Every page held to axe."""

from __future__ import annotations

import email
import email.policy
import re
import time
from email.message import EmailMessage
from uuid import uuid4

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ADMIN, Browsing

pytestmark = [pytest.mark.browser, pytest.mark.slow]


MAIL_SECONDS = 60


def mail_to(browsing: Browsing, address: str) -> EmailMessage:
    """The message the served app wrote to `address` (waiting for its outbox to send it)."""
    outbox = browsing.app.log_path.parent / "var" / "outbox"
    deadline = time.monotonic() + MAIL_SECONDS
    while time.monotonic() < deadline:
        for path in sorted(outbox.glob("*.eml")) if outbox.is_dir() else []:
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if isinstance(message, EmailMessage) and message["To"] == address:
                return message
        time.sleep(0.5)
    raise AssertionError(f"no message to {address} in {outbox} within {MAIL_SECONDS}s")


def invitation_path(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    found = re.search(r"/invitations/[A-Za-z0-9_-]+", body.get_content())
    assert found, body.get_content()
    return found.group(0)


def test_an_invitee_accepts_by_the_link_sets_a_password_and_lands_in_the_organisation(
    browsing: Browsing,
) -> None:
    tenant_id = browsing.app.tenant_id
    admin = browsing.signed_in(ADMIN)
    admin.goto(f"/t/{tenant_id}")
    admin.get_by_role("link", name="People and roles").click()
    expect(admin).to_have_url(re.compile(rf"/t/{tenant_id}/people$"))
    browsing.check(admin, "people")

    email = f"planlaegger-{uuid4().hex[:8]}@soeby.example"
    invite = admin.get_by_role("region", name="Invite someone")
    invite.get_by_label("Email").fill(email)
    invite.get_by_label("Role").select_option("client_admin")
    invite.get_by_role("button", name="Send invitation").click()
    expect(admin.get_by_role("status")).to_have_text("The invitation is on its way.")
    expect(admin.locator("#invitations")).to_contain_text(email)
    browsing.check(admin, "people-invited")

    # The link in the message that went to the address.
    message = mail_to(browsing, email)
    assert message["Subject"].startswith("Invitation til ")
    address = invitation_path(message)
    phone = browsing.page(language=None, phone=True)
    phone.goto(address)
    expect(phone.get_by_role("heading", level=1)).to_have_text(re.compile(r"^Invitation til "))
    browsing.check(phone, "invitation-on-a-phone")
    phone.get_by_label("Dit navn").fill("Pia Planlægger")
    phone.get_by_label("Adgangskode").fill("et-godt-kodeord-2026")
    phone.get_by_role("button", name="Tag imod og vælg adgangskode").click()
    expect(phone).to_have_url(re.compile(rf"/t/{tenant_id}$"))
    expect(phone.get_by_role("button", name="Log ud")).to_be_visible()

    # Used up: the same link now says so.
    again = browsing.page(language=None, phone=True)
    again.goto(address)
    expect(again.get_by_role("alert")).to_have_text("Dette invitationslink virker ikke længere.")
    browsing.check(again, "invitation-used")


def test_the_forgotten_password_page_answers_the_same_for_any_address(browsing: Browsing) -> None:
    page = browsing.page(phone=True)
    page.goto("/login")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page).to_have_url(re.compile(r"/password/forgot$"))
    browsing.check(page, "password-forgot")
    page.get_by_label("Email").fill(f"nobody-{uuid4().hex[:8]}@example.dk")
    page.get_by_role("button", name="Send link").click()
    expect(page.get_by_role("status")).to_contain_text("If the address has an account")
    browsing.check(page, "password-forgot-sent")
