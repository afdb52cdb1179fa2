"""The issue's promise: a message falling due is sent exactly once even when the process that
projects and sends — `balkort projector` on PostgreSQL, `balkort serve` on the embedded
default — is killed and restarted around the send: before it, in the middle of the SMTP
exchange (the server had not yet accepted), and after it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from projections.outbox.rows import State
from services.bootstrap import Container, build_container
from services.settings import Settings
from tests.keys import SESSION_SECRETS, SESSION_SECRETS_ENV
from tests.mailbox import Mailbox, free_port
from tests.outbox_story import organisation_with_planner, set_follow_up_meeting

ROOT = Path(__file__).resolve().parents[2]
LEASE_SECONDS = 1.0


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    box.start()
    yield box
    box.released.set()
    box.stop()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=[pytest.mark.postgres]),
    ]
)
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, mailbox: Mailbox
) -> tuple[Settings, list[str]]:
    """Settings, and the command of the process that sends on them."""
    settings = Settings(
        data_dir=tmp_path / "data",
        smtp_url=mailbox.url,
        outbox_lease_seconds=LEASE_SECONDS,
        outbox_poll_seconds=0.1,
        projector_poll_seconds=0.2,
    )
    balkort = [str(Path(sys.executable).parent / "balkort")]
    if request.param == "sqlite":
        return settings, [*balkort, "serve", "--port", str(free_port())]
    url = request.getfixturevalue("postgres_database_url")
    return settings.with_changes(database_url=url, **SESSION_SECRETS), [*balkort, "projector"]


def environment(settings: Settings) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("BALKORT_")}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    env.update(
        BALKORT_DATA_DIR=str(settings.data_dir),
        BALKORT_SMTP_URL=settings.smtp_url or "",
        BALKORT_OUTBOX_LEASE_SECONDS=str(settings.outbox_lease_seconds),
        BALKORT_OUTBOX_POLL_SECONDS=str(settings.outbox_poll_seconds),
        BALKORT_PROJECTOR_POLL_SECONDS=str(settings.projector_poll_seconds),
        BALKORT_LOG_FORMAT="console",
    )
    if settings.database_url:
        env.update(DATABASE_URL=settings.database_url, **SESSION_SECRETS_ENV)
    return env


def wait_for(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {seconds}s")


def test_a_message_due_is_sent_exactly_once_though_the_sending_process_is_killed_around_the_send(
    deployment: tuple[Settings, list[str]], mailbox: Mailbox, tmp_path: Path
) -> None:
    settings, command = deployment
    container: Container = build_container(settings)
    log = (tmp_path / "process.log").open("ab")

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(command, cwd=ROOT, env=environment(settings), stdout=log, stderr=log)

    def kill(process: subprocess.Popen[bytes]) -> None:
        process.send_signal(signal.SIGKILL)
        process.wait(10)

    try:
        organisation = organisation_with_planner(container)
        set_follow_up_meeting(container, organisation)
        store = container.outbox.store

        def states() -> list[State]:
            return [m.state for m in store.messages(tenant_id=organisation.tenant_id)]

        # Killed before the send: whatever it had projected is committed with its position.
        kill(start())
        # Killed in the middle of the SMTP exchange: the server holds the message unanswered.
        mailbox.hold.set()
        first = start()
        wait_for(mailbox.holding.is_set, 60, "the message reaching the server")
        kill(first)
        mailbox.hold.clear()
        mailbox.released.set()
        assert mailbox.messages() == []
        assert states() == [State.WAITING]
        # Restarted: once the dead process's lease runs out, the message goes.
        second = start()
        wait_for(lambda: states() == [State.SENT], 60, "the message marked sent")
        # Killed after the send, and restarted: nothing goes again.
        kill(second)
        third = start()
        time.sleep(LEASE_SECONDS * 3)
        kill(third)
        [message] = mailbox.messages()
        [row] = store.messages(tenant_id=organisation.tenant_id)
        assert message["Message-ID"] == row.message_id
        assert message["To"].addresses[0].addr_spec == organisation.planner_email
    finally:
        log.close()
        anyio.run(container.close)
