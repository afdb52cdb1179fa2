"""Join codes as people type them, and what the store keeps of them.

A code is ten characters of Crockford's base32 (no I, L, O or U; 50 bits), shown in two
groups of five (`K7F3Q-9XM2A`). Reading it back is forgiving: case, spaces and hyphens do
not matter, and O, I and L read as 0, 1 and 1. The store keeps only an HMAC-SHA256 of the
code under a subkey of the platform secret (services/auth/secret_keys.py), so a copy of the
store alone does not let anyone test guesses offline. Codes digested under an earlier key are
looked up under it too (`SecretKeys.earlier_join_codes`).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.join_code import JoinCode
from domain.roles import Role
from services.auth.principal import Principal

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 10
GROUP_LENGTH = 5
# What a person may type for what they read.
_READS_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -_\t")
# Theme days are held in Denmark: a code lasts until the end of its theme day there.
THEME_DAY_ZONE = ZoneInfo("Europe/Copenhagen")
# The claim that marks a token as a join-code participant's.
JOIN_CLAIM = "join"
JOIN_PATH = "/api/v1/join"


def new_code() -> str:
    """A fresh code, grouped for reading aloud: `K7F3Q-9XM2A`."""
    return grouped("".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH)))


def grouped(code: str) -> str:
    return "-".join(code[i : i + GROUP_LENGTH] for i in range(0, len(code), GROUP_LENGTH))


def normalised(typed: str) -> str | None:
    """The code as stored (upper case, ungrouped), or None when `typed` cannot be a code."""
    code = typed.upper().translate(_IGNORED).translate(_READS_AS)
    if len(code) != CODE_LENGTH or any(c not in ALPHABET for c in code):
        return None
    return code


def digest_of(key: bytes, code: str) -> str:
    """What the store keeps of a normalised code."""
    return hmac.new(key, code.encode("ascii"), hashlib.sha256).hexdigest()


def end_of_theme_day(theme_day: date) -> datetime:
    """Midnight after the theme day, Danish time, in UTC."""
    local = datetime.combine(theme_day + timedelta(days=1), time(0), tzinfo=THEME_DAY_ZONE)
    return local.astimezone(UTC)


def participant_principal(code: JoinCode) -> Principal:
    """The principal a join code's holders act as: a participant of one unit of one engagement."""
    return Principal(
        user_id=code.id,
        email="",
        display_name="Deltager via adgangskode",
        platform_role=None,
        memberships={code.tenant_id: Role.PARTICIPANT},
        engagement_id=code.engagement_id,
        unit_id=code.unit_id,
    )
