"""One-time links (docs/adr/0029): a token is an HMAC nobody stores, read back only under its
key and its purpose; whether it still works (the newest issue, unexpired, unused) is the
aggregate's to say, from events that hold no secret."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvariantViolated, NotFound
from domain.invitation import Invitations
from domain.provenance import Provenance
from domain.roles import Role
from domain.user import User
from services.auth.links import invitation_token, read_invitation_token, read_reset_token, reset_token
from tests.unit.factories import TENANT_ID, provenance

KEY = b"k" * 32
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def at(moment: datetime) -> Provenance:
    return replace(
        provenance(role=Role.CONSULTANT), recorded_at=moment, occurred_at=moment, command_id=uuid4()
    )


def inbox_with_link() -> tuple[Invitations, int]:
    inbox = Invitations.open(uuid4(), at(NOW))
    inbox.invite(TENANT_ID, Role.PARTICIPANT, at(NOW))
    return inbox, inbox.send_link(TENANT_ID, "Søby Kommune", "ny@example.dk", NOW + WEEK, at(NOW))


def test_a_token_reads_back_what_it_names_under_its_key_and_purpose_only() -> None:
    invitee = uuid4()
    token = invitation_token(KEY, TENANT_ID, invitee, 3)
    assert read_invitation_token(KEY, token) == (TENANT_ID, invitee, 3)
    assert read_invitation_token(b"x" * 32, token) is None
    # The same ids under the other purpose are no token of that purpose.
    assert read_reset_token(KEY, reset_token(KEY, invitee, 3)) == (invitee, 3)
    assert read_invitation_token(KEY, reset_token(KEY, invitee, 3)) is None


@pytest.mark.parametrize("where", [0, 10, 30, 50, -1])
def test_a_tampered_token_is_no_token(where: int) -> None:
    token = list(invitation_token(KEY, TENANT_ID, uuid4(), 1))
    # A letter that differs in the high bits (the last letter's low bits are padding).
    token[where] = "A" if token[where] != "A" else "g"
    assert read_invitation_token(KEY, "".join(token)) is None


@pytest.mark.parametrize("garbage", ["", "not a token", "é" * 40, "A" * 500, "====", "-_-_"])
def test_garbage_is_no_token(garbage: str) -> None:
    assert read_invitation_token(KEY, garbage) is None
    assert read_reset_token(KEY, garbage) is None


def test_an_invitations_link_works_until_it_expires_and_then_says_so() -> None:
    inbox, issue = inbox_with_link()
    assert inbox.check_link(TENANT_ID, issue, NOW + WEEK - timedelta(seconds=1)) is Role.PARTICIPANT
    with pytest.raises(InvariantViolated) as expired:
        inbox.check_link(TENANT_ID, issue, NOW + WEEK)
    assert expired.value.code == "invitation_link_expired"


def test_a_resent_link_stops_the_earlier_one_and_the_events_hold_no_token() -> None:
    inbox, first = inbox_with_link()
    second = inbox.send_link(TENANT_ID, "Søby Kommune", "ny@example.dk", NOW + WEEK, at(NOW))
    assert second == first + 1
    with pytest.raises(NotFound):
        inbox.check_link(TENANT_ID, first, NOW)
    assert inbox.check_link(TENANT_ID, second, NOW) is Role.PARTICIPANT
    events = inbox.collect_events()
    assert [type(e).__name__ for e in events] == ["Opened", "Invited", "LinkIssued", "LinkResent"]
    token = invitation_token(KEY, TENANT_ID, inbox.invitee_id, second)
    assert all(token not in repr(vars(e)) for e in events)
    assert (events[-1].issue, events[-1].expires_at) == (second, NOW + WEEK)  # type: ignore[attr-defined]


def test_the_same_command_again_issues_no_second_link() -> None:
    inbox = Invitations.open(uuid4(), at(NOW))
    inbox.invite(TENANT_ID, Role.PARTICIPANT, at(NOW))
    once = at(NOW)
    first = inbox.send_link(TENANT_ID, "Søby Kommune", "ny@example.dk", NOW + WEEK, once)
    assert inbox.send_link(TENANT_ID, "Søby Kommune", "ny@example.dk", NOW + WEEK, once) == first
    assert [type(e).__name__ for e in inbox.collect_events()] == ["Opened", "Invited", "LinkIssued"]


def test_an_accepted_or_revoked_invitations_link_never_works_again_even_when_invited_anew() -> None:
    inbox, issue = inbox_with_link()
    inbox.accept(TENANT_ID, at(NOW))
    with pytest.raises(NotFound):
        inbox.check_link(TENANT_ID, issue, NOW)
    inbox.invite(TENANT_ID, Role.AUDITOR, at(NOW))
    later = inbox.send_link(TENANT_ID, "Søby Kommune", "ny@example.dk", NOW + WEEK, at(NOW))
    assert later > issue
    with pytest.raises(NotFound):
        inbox.check_link(TENANT_ID, issue, NOW)
    inbox.revoke(TENANT_ID, at(NOW))
    with pytest.raises(NotFound):
        inbox.check_link(TENANT_ID, later, NOW)
    with pytest.raises(NotFound):
        inbox.revoke(TENANT_ID, at(NOW))


def test_a_link_that_expires_before_it_is_issued_is_refused() -> None:
    inbox = Invitations.open(uuid4(), at(NOW))
    inbox.invite(TENANT_ID, Role.PARTICIPANT, at(NOW))
    with pytest.raises(InvariantViolated):
        inbox.send_link(TENANT_ID, "Søby Kommune", "ny@example.dk", NOW, at(NOW))


def test_a_forgotten_passwords_link_works_once_only_while_newest_and_unexpired() -> None:
    user = User.register("anna@example.dk", "Anna", "hash-1", None, at(NOW))
    first = user.request_password_reset(NOW + timedelta(hours=1), at(NOW))
    second = user.request_password_reset(NOW + timedelta(hours=1), at(NOW))
    with pytest.raises(NotFound):
        user.reset_password(first, "hash-2", at(NOW))
    with pytest.raises(InvariantViolated):
        user.reset_password(second, "hash-2", at(NOW + timedelta(hours=1)))
    user.reset_password(second, "hash-2", at(NOW + timedelta(minutes=5)))
    assert user.password_hash == "hash-2"
    with pytest.raises(NotFound):
        user.reset_password(second, "hash-3", at(NOW + timedelta(minutes=6)))
    names = [type(e).__name__ for e in user.collect_events()]
    assert names == ["Registered", "PasswordResetRequested", "PasswordResetRequested", "PasswordReset"]


def test_a_deactivated_account_gets_no_link_and_cannot_use_one() -> None:
    user = User.register("bo@example.dk", "Bo", "hash-1", None, at(NOW))
    issue = user.request_password_reset(NOW + timedelta(hours=1), at(NOW))
    user.deactivate(at(NOW))
    with pytest.raises(InvariantViolated):
        user.reset_password(issue, "hash-2", at(NOW))
    with pytest.raises(InvariantViolated):
        user.request_password_reset(NOW + timedelta(hours=1), at(NOW))
