"""Invitations and forgotten passwords by e-mail, through the outbox and a real SMTP server in the
test process (aiosmtpd), on each backend (docs/adr/0029, 0030): the link is read from the message
that arrived and completes what it offers; the outbox never holds the token."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from pathlib import Path
from uuid import uuid4

import pytest

from domain.roles import Role
from domain.user import User
from services.controlplane import system_provenance
from services.settings import Settings
from tests.http_harness import Person, Story, onboard, register, serving, token_for
from tests.keys import SESSION_SECRETS
from tests.mailbox import Mailbox

NEW_PASSWORD = "en-adgangskode-fra-mailen"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres, pytest.mark.redis]),
    ]
)
def mail_settings(request: pytest.FixtureRequest, tmp_path: Path, mailbox: Mailbox) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", smtp_url=mailbox.url, smtp_timeout_seconds=3.0)
    if request.param == "sqlite":
        return settings
    # A database of its own: the outbox lives in the control plane, which tests otherwise share.
    return settings.with_changes(
        database_url=request.getfixturevalue("postgres_database_url"),
        redis_url=request.getfixturevalue("redis_url"),
        **SESSION_SECRETS,
    )


@pytest.fixture
async def story(mail_settings: Settings) -> AsyncIterator[Story]:
    async with serving(mail_settings, quick_hashes=True) as started:
        yield started


async def delivered(story: Story, mailbox: Mailbox, count: int) -> list[EmailMessage]:
    """What the outbox sends once it has read the control plane's log, as it arrived."""
    container = story.container
    await container.offloop(container.outbox.follow_platform)
    await container.mail.pass_once()
    return await asyncio.to_thread(mailbox.wait_for, count, 10)


def link_in(message: EmailMessage, page: str) -> str:
    """The token of the link to `page` in the plain text, which the HTML links to as well."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    found = re.search(rf"https?://\S+/{page}/([A-Za-z0-9_-]+)", text.get_content())
    assert found, text.get_content()
    assert f"/{page}/{found.group(1)}" in html.get_content()
    return found.group(1)


async def test_an_invitation_arrives_by_email_in_danish_and_its_link_completes_the_acceptance(
    story: Story, mailbox: Mailbox
) -> None:
    tenant_id = await onboard(story.container, "Nordfyns Kommune", "post")
    manager = await register(story.container)
    await story.container.offloop(
        story.container.control.grant_membership,
        manager.user_id,
        tenant_id,
        Role.CLIENT_ADMIN,
        system_provenance("Test"),
    )
    planner = Person(
        story.client, token_for(story.client, manager.user_id), base=f"/api/v1/tenants/{tenant_id}"
    )
    email = f"ny-{uuid4().hex[:8]}@nordfyn.example"
    await planner.post("/invitations", {"email": email, "role": "participant"})

    (message,) = await delivered(story, mailbox, 1)
    assert message["To"] == email
    assert message["Subject"] == "Invitation til Nordfyns Kommune i Balkort"
    html = message.get_body(("html",))
    assert html is not None
    assert '<html lang="da">' in html.get_content()
    first = link_in(message, "invitations")

    # Resent: a second message with a new link; the first link is dead.
    await planner.post(f"/invitations/{User.create_id(email)}/resend", expect=200)
    _, again = await delivered(story, mailbox, 2)
    second = link_in(again, "invitations")
    assert second != first
    assert (await story.client.post("/api/v1/auth/invitation", json={"token": first})).status_code == 404

    accepted = await story.client.post(
        "/api/v1/auth/invitation/accept",
        json={"token": second, "password": NEW_PASSWORD, "display_name": "Ny Deltager"},
    )
    story.client.cookies.clear()
    assert accepted.status_code == 200, accepted.text
    user = await story.container.offloop(story.container.control.user, User.create_id(email))
    assert user.memberships[tenant_id] is Role.PARTICIPANT

    # The outbox keeps what the link opens, never the token.
    rows = await story.container.offloop(story.container.outbox.store.messages, None, tenant_id)
    assert [row.kind for row in rows] == ["invitation", "invitation"]
    assert all(first not in repr(row) and second not in repr(row) for row in rows)


async def test_a_forgotten_password_link_arrives_by_email_and_sets_the_new_password(
    story: Story, mailbox: Mailbox
) -> None:
    someone = await register(story.container)
    answer = await story.client.post("/api/v1/password-resets", json={"email": someone.email})
    assert answer.status_code == 202
    unknown = await story.client.post(
        "/api/v1/password-resets", json={"email": f"x-{uuid4().hex}@example.dk"}
    )
    assert unknown.status_code == 202

    (message,) = await delivered(story, mailbox, 1)
    assert message["To"] == someone.email
    token = link_in(message, "password/reset")
    done = await story.client.post(
        "/api/v1/password-resets/new-password", json={"token": token, "password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    login = await story.client.post(
        "/api/v1/auth/login", json={"email": someone.email, "password": NEW_PASSWORD}
    )
    story.client.cookies.clear()
    assert login.status_code == 200
    assert len(mailbox.messages()) == 1  # nothing went to the address without an account
