"""Messages in the recipient's language (docs/adr/0033): a planner who chose English receives the
English template, one who did not the Danish, through the outbox and a real SMTP server in the
test process (aiosmtpd), on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import anyio
import pytest

from domain.roles import Role
from services.bootstrap import Container, build_container
from services.controlplane import system_provenance
from services.settings import Settings
from tests.integration.test_reminders_smtp import agreement_made, project, send_at
from tests.keys import SESSION_SECRETS
from tests.mailbox import Mailbox
from tests.outbox_story import PASSWORD


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


def test_an_english_speaking_planner_receives_the_english_reminder_and_a_danish_one_the_danish(
    container: Container, mailbox: Mailbox
) -> None:
    agreed = agreement_made(container)
    tenant_id = agreed.organisation.tenant_id
    danish = agreed.organisation.planner_email
    english = f"english-{tenant_id.hex[:8]}@soeby.example"
    control = container.control
    user_id = control.register_user(english, "Ellen English", PASSWORD, None, system_provenance("Test"))
    control.grant_membership(user_id, tenant_id, Role.CLIENT_ADMIN, system_provenance("Test"))
    assert control.choose_language(user_id, "en", system_provenance("ChooseLanguage", actor_id=user_id))
    assert control.user(user_id).language == "en"
    project(container, tenant_id)

    # The six-month reminder and the week's digest, each to both planners in their language.
    assert send_at(container, agreed.made_at + timedelta(days=186)) == 2
    arrived = {(m["To"].addresses[0].addr_spec, m["Subject"]) for m in mailbox.wait_for(4, 10)}
    subjects_of = {address: {s for a, s in arrived if a == address} for address in (danish, english)}
    assert "Opfølgning på en aftale: 6 måneder" in subjects_of[danish]
    assert "Check-in on an agreement: 6 months" in subjects_of[english]
    assert not any(s.startswith("Check-in") for s in subjects_of[danish])
    assert not any(s.startswith("Opfølgning") for s in subjects_of[english])
    assert len(arrived) == 4

    # Choosing Danish again: the next reminder goes to both in Danish.
    control.choose_language(user_id, "da", system_provenance("ChooseLanguage", actor_id=user_id))
    project(container, tenant_id)
    assert send_at(container, agreed.made_at + timedelta(days=370)) >= 1
    later = [m for m in mailbox.wait_for(6, 10)[4:] if "12" in m["Subject"]]
    assert {m["Subject"] for m in later} == {"Opfølgning på en aftale: 12 måneder"}
    assert {m["To"].addresses[0].addr_spec for m in later} == {danish, english}
