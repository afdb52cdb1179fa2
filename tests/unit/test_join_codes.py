"""Join codes without I/O: drawing, reading back, digests, expiry and revocation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from uuid import uuid4

import pytest

from domain.errors import InvariantViolated
from domain.join_code import JoinCode, JoinCodeRoster
from services.auth.join_codes import (
    ALPHABET,
    digest_of,
    end_of_theme_day,
    new_code,
    normalised,
    participant_principal,
)
from services.auth.secret_keys import SecretKeys
from tests.unit.factories import CLOCK, TENANT_ID, later, provenance


def test_codes_are_drawn_from_an_unambiguous_alphabet_and_read_back_forgivingly() -> None:
    code = new_code()
    assert len(code) == 11
    assert code[5] == "-"
    assert set(code.replace("-", "")) <= set(ALPHABET)
    assert not {"I", "L", "O", "U"} & set(ALPHABET)
    assert normalised(code) == code.replace("-", "")
    assert normalised(" k7f3q 9xm2a ") == "K7F3Q9XM2A"
    assert normalised("O1IL0-ABCDE") == "01110ABCDE"
    assert normalised("K7F3Q-9XM2") is None
    assert normalised("K7F3Q-9XM2U") is None


def test_the_store_keeps_a_keyed_digest_never_the_code() -> None:
    key = SecretKeys(root=b"secret one", earlier_roots=("secret one",)).join_codes
    digest = digest_of(key, "K7F3Q9XM2A")
    assert "K7F3Q9XM2A" not in digest
    assert digest == digest_of(key, "K7F3Q9XM2A")
    other = SecretKeys(root=b"secret two", earlier_roots=("secret two",)).join_codes
    assert digest != digest_of(other, "K7F3Q9XM2A")


def test_a_code_lasts_until_midnight_after_the_theme_day_in_copenhagen() -> None:
    assert end_of_theme_day(date(2025, 3, 11)) == datetime(2025, 3, 11, 23, 0, tzinfo=UTC)  # CET
    assert end_of_theme_day(date(2025, 6, 11)) == datetime(2025, 6, 11, 22, 0, tzinfo=UTC)  # CEST


def test_a_code_stops_working_when_it_expires_or_is_revoked() -> None:
    engagement_id, unit_id = uuid4(), uuid4()
    code = JoinCode.issue(
        TENANT_ID, engagement_id, unit_id, "ab" * 32, CLOCK + timedelta(days=1), provenance()
    )
    assert code.id == JoinCode.create_id("ab" * 32)
    assert code.usable_at(CLOCK)
    assert not code.usable_at(CLOCK + timedelta(days=1))
    code.revoke(later(0))
    assert not code.usable_at(CLOCK)
    principal = participant_principal(code)
    assert principal.is_unit_scoped
    assert (principal.engagement_id, principal.unit_id) == (engagement_id, unit_id)
    assert principal.role_in(TENANT_ID) is not None
    assert principal.role_in(uuid4()) is None


def test_a_code_cannot_be_issued_already_expired() -> None:
    with pytest.raises(InvariantViolated):
        JoinCode.issue(TENANT_ID, uuid4(), uuid4(), "cd" * 32, CLOCK, provenance())


def test_the_roster_lists_codes_per_unit() -> None:
    engagement_id, unit_id = uuid4(), uuid4()
    roster = JoinCodeRoster.open(TENANT_ID, engagement_id, provenance())
    code = JoinCode.issue(
        TENANT_ID, engagement_id, unit_id, "ef" * 32, CLOCK + timedelta(hours=8), provenance()
    )
    roster.add(code, provenance())
    assert roster.codes_of(unit_id) == (code.id,)
    assert roster.codes_of(uuid4()) == ()
    stranger = JoinCode.issue(
        TENANT_ID, uuid4(), unit_id, "01" * 32, CLOCK + timedelta(hours=8), provenance()
    )
    with pytest.raises(InvariantViolated):
        roster.add(stranger, provenance())
