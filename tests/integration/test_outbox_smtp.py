"""The outbox on each backend against a real SMTP server in the test process: what events
decide is sent once, survives an outage, gives up visibly, is never sent for an erased
organisation, and is not sent again when the outbox is rebuilt."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import anyio
import pytest

from domain.roles import Role
from projections.outbox.rows import SendAgain, State
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.mail.compose import message_id
from services.settings import Settings
from services.usecases.tenants import erase_tenant
from tests.keys import SESSION_SECRETS
from tests.mailbox import Mailbox
from tests.outbox_story import Organisation, organisation_with_planner, set_follow_up_meeting


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres]),
    ]
)
def mail_settings(request: pytest.FixtureRequest, tmp_path: Path, mailbox: Mailbox) -> Settings:
    settings = Settings(
        data_dir=tmp_path / "data",
        smtp_url=mailbox.url,
        smtp_timeout_seconds=3.0,
        outbox_retry_seconds=0.2,
        outbox_max_retry_seconds=0.2,
        outbox_max_attempts=3,
    )
    if request.param == "sqlite":
        return settings
    # A database of its own: the outbox lives in the control plane, which tests otherwise share.
    return settings.with_changes(
        database_url=request.getfixturevalue("postgres_database_url"), **SESSION_SECRETS
    )


@pytest.fixture
def container(mail_settings: Settings) -> Iterator[Container]:
    built = build_container(mail_settings)
    yield built
    anyio.run(built.close)


def prepared(container: Container) -> Organisation:
    """An organisation whose follow-up meeting was just set, projected (views and outbox)."""
    organisation = organisation_with_planner(container)
    set_follow_up_meeting(container, organisation)
    container.outbox.follow_platform()
    container.projections.catch_up_now(organisation.tenant_id)
    return organisation


def send(container: Container) -> int:
    return anyio.run(container.mail.pass_once)


def mine(container: Container, organisation: Organisation) -> list[State]:
    return [m.state for m in container.outbox.store.messages(tenant_id=organisation.tenant_id)]


def test_a_follow_up_meeting_set_reaches_the_planning_group_once_as_text_html_and_calendar(
    container: Container, mailbox: Mailbox
) -> None:
    organisation = prepared(container)
    assert send(container) == 1
    assert send(container) == 0
    [message] = mailbox.wait_for(1, 5)
    assert message["To"] == f"Lene Leder <{organisation.planner_email}>"
    assert message["Subject"] == "Opfølgningsmøde 6. oktober 2026: Udskrivning 2026"
    [row] = container.outbox.store.messages(tenant_id=organisation.tenant_id)
    assert row.state is State.SENT
    assert message["Message-ID"] == row.message_id == message_id(row.key, container.settings.mail_from)
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None
    assert html is not None
    assert f"/t/{organisation.tenant_id}/e/" in body.get_content()
    assert "<strong>Udskrivning 2026</strong>" in html.get_content()
    [calendar] = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert "DTSTART;VALUE=DATE:20261006" in calendar.get_content()


def test_an_smtp_outage_is_retried_with_backoff_and_the_message_arrives_once(
    container: Container, mailbox: Mailbox
) -> None:
    organisation = prepared(container)
    mailbox.stop()
    assert send(container) == 0
    [row] = container.outbox.store.messages(tenant_id=organisation.tenant_id)
    assert row.state is State.FAILING
    assert row.attempts == 1
    assert "Connect" in row.last_error or "refused" in row.last_error.lower()
    # Backing off: not tried again at once.
    assert send(container) == 0
    assert container.outbox.store.messages(tenant_id=organisation.tenant_id)[0].attempts == 1
    mailbox.start()
    time.sleep(0.3)
    assert send(container) == 1
    assert send(container) == 0
    assert len(mailbox.wait_for(1, 5)) == 1
    assert mine(container, organisation) == [State.SENT]


def test_a_message_that_keeps_failing_is_failed_visible_and_sent_once_when_sent_again(
    container: Container, mailbox: Mailbox
) -> None:
    organisation = prepared(container)
    mailbox.stop()
    for _ in range(container.settings.outbox_max_attempts):
        send(container)
        time.sleep(0.25)
    [failed] = container.outbox.store.messages(State.FAILED)
    assert failed.tenant_id == organisation.tenant_id
    assert failed.attempts == container.settings.outbox_max_attempts
    assert send(container) == 0
    action = SendAgain(
        key=failed.key,
        actor_id=uuid4(),
        actor_role=Role.CONSULTANCY_ADMIN.value,
        at=datetime.now(UTC),
        correlation_id="t",
    )
    assert container.outbox.store.send_again(action)
    # Only a failed message can be sent again.
    assert not container.outbox.store.send_again(action)
    mailbox.start()
    assert send(container) == 1
    assert len(mailbox.wait_for(1, 5)) == 1
    assert mine(container, organisation) == [State.SENT]


def test_nothing_is_ever_sent_for_an_erased_organisation(container: Container, mailbox: Mailbox) -> None:
    erased = prepared(container)
    kept = prepared(container)
    slug = container.control.tenant(erased.tenant_id).slug
    erase_tenant(container, slug, system_provenance("Test"))
    assert send(container) == 1
    [message] = mailbox.wait_for(1, 5)
    assert message["To"].addresses[0].addr_spec == kept.planner_email
    # Its messages are gone with it: their words were its data.
    assert mine(container, erased) == []
    assert container.outbox.store.position(erased.tenant_id) == 0


def test_an_organisation_erased_by_another_process_is_not_sent_to_either(
    container: Container, mailbox: Mailbox
) -> None:
    organisation = prepared(container)
    # Only the record: the process that erased it died before voiding the outbox.
    container.control.erase_tenant(organisation.tenant_id, system_provenance("Test"))
    assert send(container) == 0
    assert mine(container, organisation) == [State.VOID]
    assert mailbox.messages() == []


def test_rebuilding_the_outbox_from_the_start_of_the_log_sends_nothing_again(
    container: Container, mailbox: Mailbox
) -> None:
    organisation = prepared(container)
    assert send(container) == 1
    container.outbox.store.rewind(organisation.tenant_id)
    assert container.outbox.store.position(organisation.tenant_id) == 0
    container.outbox.follow_tenant(organisation.tenant_id)
    assert container.outbox.store.position(organisation.tenant_id) > 0
    assert send(container) == 0
    time.sleep(0.2)
    assert len(mailbox.messages()) == 1
    assert mine(container, organisation) == [State.SENT]


def test_a_sender_that_died_holding_a_message_loses_it_only_until_its_lease_runs_out(
    container: Container, mailbox: Mailbox
) -> None:
    organisation = prepared(container)
    store = container.outbox.store
    now = datetime.now(UTC)
    [held] = store.claim_due(now, now, timedelta(seconds=0.3), secrets.token_hex(8), 10)
    # The holder died: until the lease runs out nobody else takes the message ...
    assert send(container) == 0
    time.sleep(0.4)
    # ... then the next pass sends it, and the dead holder could no longer mark it.
    assert send(container) == 1
    assert not store.finish_sent(held.key, "the-dead-holder", now, "", "", "")
    assert len(mailbox.wait_for(1, 5)) == 1
    assert mine(container, organisation) == [State.SENT]
