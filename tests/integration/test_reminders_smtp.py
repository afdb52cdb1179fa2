"""Reminders through the outbox to a real SMTP server in the test process, on each backend: a
check-in falling due reaches the planning group once, with a link to the check-in page and one
that turns such reminders off; once turned off, the next is not sent; a check-in recorded in
time makes the reminder void; the organisation may send check-ins to its consultants instead."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple
from uuid import UUID, uuid4

import anyio
import pytest

from domain.agreements import CheckInStatus
from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.notifications import Receivers, Topic
from domain.phases import Phase
from domain.preparation import Preparation
from domain.ratings import RatingMode
from domain.roles import Role
from projections.outbox.rows import State
from services.application import TenantApplication
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.mail.unsubscribe import PATH_PREFIX, key_for, read_token
from services.settings import Settings
from services.usecases.bus import handle
from services.usecases.notifications import ChooseReceivers, TurnOffMessages
from tests.commanding import (
    accept_card,
    advance_phase,
    check_in,
    hold_dialogue,
    prepare_engagement,
    send_card,
)
from tests.keys import SESSION_SECRETS
from tests.mailbox import Mailbox
from tests.outbox_story import PASSWORD, Organisation, organisation_with_planner, provenance

AGREEMENT = "Vi ringer til hinanden hver mandag kl. 9"


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
def container(request: pytest.FixtureRequest, tmp_path: Path, mailbox: Mailbox) -> Iterator[Container]:
    settings = Settings(data_dir=tmp_path / "data", smtp_url=mailbox.url, smtp_timeout_seconds=3.0)
    if request.param == "postgres":
        settings = settings.with_changes(
            database_url=request.getfixturevalue("postgres_database_url"), **SESSION_SECRETS
        )
    built = build_container(settings)
    yield built
    anyio.run(built.close)


class Agreed(NamedTuple):
    organisation: Organisation
    engagement_id: UUID
    agreement_id: UUID
    made_at: datetime


def agreement_made(container: Container, months_ago: int = 0, *, needs_acceptance: bool = False) -> Agreed:
    """Blocking: an engagement of a past theme day (nobody is invited to it) whose dialogue
    made an agreement `months_ago` (typed in now), projected into the views and the outbox."""
    organisation = organisation_with_planner(container)
    tenant_id, units = organisation.tenant_id, organisation.unit_ids
    now = datetime.now(UTC)
    made_at = now - timedelta(days=30 * months_ago)

    def run(app: TenantApplication) -> tuple[UUID, UUID]:
        p = provenance(tenant_id)
        preparation = Preparation("Udskrivning", "", "", "", (), date(2025, 1, 6), None)
        engagement = prepare_engagement(
            app, tenant_id, preparation, units, DEFAULT_INSTRUMENT, RatingMode.UNIT, 3, 3, p
        )
        for phase in (Phase.PREPARED, Phase.THEME_DAY_OPEN, Phase.MAPPING):
            advance_phase(app, engagement, phase, provenance(tenant_id))
        card = send_card(
            app, engagement, units[0], units[1], "Overlevering", "", "", None, provenance(tenant_id)
        )
        accept_card(app, engagement, card, units[1], provenance(tenant_id))
        advance_phase(app, engagement, Phase.DANCE_CARDS, provenance(tenant_id))
        held = replace(provenance(tenant_id), occurred_at=made_at)
        _, agreements, _ = hold_dialogue(
            app, engagement, card, "Noter", (), ((AGREEMENT, needs_acceptance),), (), held
        )
        return engagement, agreements[0]

    engagement_id, agreement_id = container.tenants.call(tenant_id, run)
    project(container, tenant_id)
    return Agreed(organisation, engagement_id, agreement_id, made_at)


def to_follow_up_meeting(app: TenantApplication, agreed: Agreed) -> UUID:
    engagement, tenant_id = agreed.engagement_id, agreed.organisation.tenant_id
    for phase in (Phase.DIALOGUES, Phase.WRAP_UP):
        advance_phase(app, engagement, phase, provenance(tenant_id))
    app.on_engagement(
        engagement, lambda e: e.hold_closing_plenary("", provenance(tenant_id)), None, provenance(tenant_id)
    )
    advance_phase(app, engagement, Phase.CLOSING_PLENARY, provenance(tenant_id))
    return engagement


def project(container: Container, tenant_id: UUID) -> None:
    container.outbox.follow_platform()
    container.projections.catch_up_now(tenant_id)


def send_at(container: Container, moment: datetime) -> int:
    """One pass of the sender with the product's clock at `moment`."""
    container.clock = lambda: moment
    return anyio.run(container.mail.pass_once)


def check_in_rows(container: Container, tenant_id: UUID) -> list[tuple[int, State]]:
    rows = [m for m in container.outbox.store.messages(tenant_id=tenant_id) if m.kind == "check_in_due"]
    return sorted((int(m.intent.params["months"]), m.state) for m in rows)


def test_a_check_in_falling_due_reaches_the_planning_group_once_and_can_be_turned_off_by_its_link(
    container: Container, mailbox: Mailbox
) -> None:
    agreed = agreement_made(container)
    tenant_id = agreed.organisation.tenant_id
    assert check_in_rows(container, tenant_id) == [
        (6, State.WAITING),
        (12, State.WAITING),
        (24, State.WAITING),
    ]
    assert send_at(container, agreed.made_at + timedelta(days=100)) == 0

    six_months = agreed.made_at + timedelta(days=186)
    # The reminder, and the weekly digest of its week.
    assert send_at(container, six_months) == 2
    assert send_at(container, six_months) == 0
    digest, message = sorted(mailbox.wait_for(2, 5), key=lambda m: not m["Subject"].startswith("Ugens"))
    assert "opfølgning efter 6 måneder på aftalen" in digest.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert message["To"].addresses[0].addr_spec == agreed.organisation.planner_email
    assert message["Subject"] == "Opfølgning på en aftale: 6 måneder"
    body = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert body is not None
    assert html is not None
    page = f"/t/{tenant_id}/e/{agreed.engagement_id}/agreements/{agreed.agreement_id}/check-ins"
    assert page in body.get_content()
    assert AGREEMENT in body.get_content()
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    path = unsubscribe[unsubscribe.index(PATH_PREFIX) :]
    assert f'href="{unsubscribe}"' in html.get_content()
    assert f"Afmeld her: {unsubscribe}" in body.get_content()
    assert check_in_rows(container, tenant_id)[0] == (6, State.SENT)

    # The planner follows the link: check-in reminders are off for that address (an event).
    link = read_token(key_for(container.settings), path[len(PATH_PREFIX) :])
    assert (link.tenant_id, link.topic, link.address) == (
        tenant_id,
        Topic.CHECK_INS,
        agreed.organisation.planner_email,
    )
    turn_off = TurnOffMessages(tenant_id=tenant_id, topic=link.topic, address=link.address)
    p = provenance(tenant_id)
    assert container.tenants.call(tenant_id, lambda app: handle(app, turn_off, p))
    project(container, tenant_id)

    # A year on: the reminder is not sent to that address (nobody else is left to send it to);
    # the digest, a topic of its own, still is.
    assert send_at(container, agreed.made_at + timedelta(days=370)) == 1
    assert check_in_rows(container, tenant_id)[1] == (12, State.VOID)
    subjects = [m["Subject"] for m in mailbox.wait_for(3, 5)]
    assert subjects.count("Opfølgning på en aftale: 12 måneder") == 0
    assert subjects.count("Opfølgning på en aftale: 6 måneder") == 1


def test_a_check_in_recorded_before_the_point_makes_its_reminder_void(
    container: Container, mailbox: Mailbox
) -> None:
    agreed = agreement_made(container, months_ago=3)
    tenant_id = agreed.organisation.tenant_id

    def follow_up(app: TenantApplication) -> None:
        engagement = to_follow_up_meeting(app, agreed)
        check_in(
            app,
            engagement,
            agreed.agreement_id,
            CheckInStatus.IN_PROGRESS,
            "Godt i gang",
            provenance(tenant_id),
        )

    container.tenants.call(tenant_id, follow_up)
    project(container, tenant_id)
    assert check_in_rows(container, tenant_id) == [(6, State.VOID), (12, State.WAITING), (24, State.WAITING)]
    # Its week's digest had nothing else in it: not sent either.
    assert send_at(container, agreed.made_at + timedelta(days=200)) == 0
    assert mailbox.messages() == []


def test_the_organisation_may_send_check_in_reminders_to_its_consultants_instead(
    container: Container, mailbox: Mailbox
) -> None:
    agreed = agreement_made(container)
    tenant_id = agreed.organisation.tenant_id
    control = container.control
    consultant = f"konsulent-{uuid4().hex[:8]}@balkort.example"
    user_id = control.register_user(
        consultant, "Karen Konsulent", PASSWORD, Role.CONSULTANT, system_provenance("Test")
    )
    control.grant_membership(user_id, tenant_id, Role.CONSULTANT, system_provenance("Test"))
    choose = ChooseReceivers(tenant_id=tenant_id, choices={Topic.CHECK_INS: Receivers.CONSULTANTS})
    p = provenance(tenant_id)
    assert container.tenants.call(tenant_id, lambda app: handle(app, choose, p)) == 1
    project(container, tenant_id)

    # The reminder to the consultant; the digest, not rerouted, to the planning group.
    assert send_at(container, agreed.made_at + timedelta(days=186)) == 2
    [message] = [m for m in mailbox.wait_for(2, 5) if m["Subject"].startswith("Opfølgning")]
    [digest] = [m for m in mailbox.messages() if m["Subject"].startswith("Ugens")]
    assert [a.addr_spec for a in message["To"].addresses] == [consultant]
    assert [a.addr_spec for a in digest["To"].addresses] == [agreed.organisation.planner_email]
    link = read_token(
        key_for(container.settings), message["List-Unsubscribe"].strip("<>").split(PATH_PREFIX)[1]
    )
    assert (link.user_id, link.role) == (user_id, Role.CONSULTANT)


def test_a_rejected_agreement_is_not_reminded_of_nor_listed_in_a_digest(
    container: Container, mailbox: Mailbox
) -> None:
    agreed = agreement_made(container, needs_acceptance=True)
    tenant_id = agreed.organisation.tenant_id
    assert [state for _, state in check_in_rows(container, tenant_id)] == [State.WAITING] * 3

    def reject(app: TenantApplication) -> None:
        engagement = to_follow_up_meeting(app, agreed)
        app.on_engagement(
            engagement,
            lambda e: e.decide_agreement(agreed.agreement_id, False, "", "Direktør", provenance(tenant_id)),
            None,
            provenance(tenant_id),
        )

    container.tenants.call(tenant_id, reject)
    project(container, tenant_id)
    assert [state for _, state in check_in_rows(container, tenant_id)] == [State.VOID] * 3
    digests = [m for m in container.outbox.store.messages(tenant_id=tenant_id) if m.kind == "weekly_digest"]
    assert [m.state for m in digests] == [State.VOID] * 3
    assert send_at(container, agreed.made_at + timedelta(days=800)) == 0
    assert mailbox.messages() == []
