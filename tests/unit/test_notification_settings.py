"""Who receives what, chosen per organisation, and a recipient turning a topic off by the
signed link in a message: a changed token is refused, a link followed twice records once."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.notifications import NotificationSettings, Receivers, Topic
from domain.roles import Role
from projections.outbox.topics import roles_reached, turned_off
from services.mail.unsubscribe import TokenInvalid, Unsubscribe, read_token, token_for, unsubscribe_path
from tests.unit.factories import TENANT_ID, provenance

KEY = b"k" * 32


def _settings() -> NotificationSettings:
    return NotificationSettings.open(TENANT_ID, provenance())


def test_messages_reach_the_planning_group_until_the_organisation_chooses_otherwise() -> None:
    assert roles_reached(None, "check_in_due", "client_admin") == {"client_admin"}
    settings = _settings()
    assert settings.choose_receivers(Topic.CHECK_INS, Receivers.BOTH, provenance())
    assert roles_reached(settings, "check_in_due", "client_admin") == {"client_admin", "consultant"}
    assert roles_reached(settings, "investigation_overdue", "client_admin") == {"client_admin"}
    settings.choose_receivers(Topic.INVESTIGATIONS, Receivers.NOBODY, provenance())
    assert roles_reached(settings, "investigation_overdue", "client_admin") == frozenset()
    # A kind the settings do not route goes where it was addressed.
    assert roles_reached(settings, "account_invitation", "client_admin") == {"client_admin"}


def test_choosing_what_is_in_force_already_records_nothing() -> None:
    settings = _settings()
    settings.collect_events()
    assert not settings.choose_receivers(Topic.DIGEST, Receivers.PLANNING_GROUP, provenance())
    assert settings.collect_events() == []
    settings.choose_receivers(Topic.DIGEST, Receivers.CONSULTANTS, provenance())
    [event] = settings.collect_events()
    assert type(event).__name__ == "ReceiversChosen"
    assert (event.topic, event.receivers) == (Topic.DIGEST, Receivers.CONSULTANTS)  # type: ignore[attr-defined]


def test_a_recipient_turns_a_topic_off_for_their_address_only_and_once() -> None:
    settings = _settings()
    settings.collect_events()
    assert settings.turn_off(" Mette@Soeby.example ", Topic.CHECK_INS, provenance())
    assert not settings.turn_off("mette@soeby.example", Topic.CHECK_INS, provenance())
    [event] = settings.collect_events()
    assert type(event).__name__ == "MessagesTurnedOff"
    assert turned_off(settings, "check_in_due", "METTE@soeby.example")
    assert not turned_off(settings, "investigation_overdue", "mette@soeby.example")
    assert not turned_off(settings, "check_in_due", "lars@soeby.example")


def test_an_unsubscribe_token_says_what_it_was_made_for() -> None:
    what = Unsubscribe(TENANT_ID, Topic.THEME_DAY, "Mette@Soeby.example", uuid4(), Role.CONSULTANT)
    read = read_token(KEY, token_for(KEY, what))
    assert (read.tenant_id, read.topic, read.address, read.user_id, read.role) == (
        TENANT_ID,
        Topic.THEME_DAY,
        "mette@soeby.example",
        what.user_id,
        Role.CONSULTANT,
    )
    assert read.actor_id == what.user_id
    assert unsubscribe_path(KEY, what).startswith("/unsubscribe/")


def test_an_address_without_an_account_acts_under_the_same_id_every_time() -> None:
    one = Unsubscribe(TENANT_ID, Topic.CHECK_INS, "hr@soeby.example")
    other = Unsubscribe(TENANT_ID, Topic.DIGEST, "HR@soeby.example ")
    assert one.actor_id == other.actor_id
    assert one.actor_id != Unsubscribe(TENANT_ID, Topic.CHECK_INS, "it@soeby.example").actor_id


def test_a_token_changed_in_any_character_or_signed_with_another_key_is_refused() -> None:
    token = token_for(KEY, Unsubscribe(TENANT_ID, Topic.CHECK_INS, "mette@soeby.example"))
    for position in range(len(token)):
        for other in ("A", "B", "_"):
            if token[position] != other:
                with pytest.raises(TokenInvalid):
                    read_token(KEY, token[:position] + other + token[position + 1 :])
    with pytest.raises(TokenInvalid):
        read_token(b"x" * 32, token)
    for garbage in ("", ".", "abc", "æøå.æøå", token.replace(".", "")):
        with pytest.raises(TokenInvalid):
            read_token(KEY, garbage)


def test_a_token_for_another_address_cannot_be_made_from_one_received() -> None:
    mine = token_for(KEY, Unsubscribe(TENANT_ID, Topic.CHECK_INS, "mette@soeby.example"))
    body, _, signature = mine.partition(".")
    theirs = token_for(KEY, Unsubscribe(TENANT_ID, Topic.CHECK_INS, "lars@soeby.example"))
    with pytest.raises(TokenInvalid):
        read_token(KEY, f"{theirs.partition('.')[0]}.{signature}")
    assert read_token(KEY, f"{body}.{signature}").address == "mette@soeby.example"
