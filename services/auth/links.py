"""One-time links: an invitation's (purpose "invite") and a forgotten password's ("reset").

A link's token is never stored, so nothing that can be read (the event store, a backup, the
outbox's record) lets anyone use it. It is an HMAC, keyed by a subkey of the platform secret
(`SecretKeys.links`, docs/adr/0016), over the purpose, the id of what it opens (the invitation,
the account) and the link's issue number; the token carries the ids and the issue beside the
HMAC, so it can be read back and checked, in constant time. The events record only the issue
number and the expiry: whether a link is still the current one, unexpired and unused is decided
by the aggregate it opens (`domain/invitation.py`, `domain/user.py`), and issuing a new link
(a resend) makes every earlier one stop working.

Anyone holding the key can make the token again from the events (the outbox does, to write the
message), so the key is what must stay secret, not the token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from typing import NamedTuple
from uuid import UUID

from domain.invitation import invitation_id

INVITE = "invite"
RESET = "reset"
_MAC_BYTES = 32
_ISSUE_BYTES = 4


class InvitationLink(NamedTuple):
    """What an invitation's token names: the organisation, the invitee, the issue."""

    tenant_id: UUID
    invitee_id: UUID
    issue: int


class ResetLink(NamedTuple):
    """What a forgotten password's token names: the account and the issue."""

    user_id: UUID
    issue: int


def _mac(key: bytes, purpose: str, subject: UUID, issue: int) -> bytes:
    message = f"balkort-link\n{purpose}\n{subject}\n{issue}".encode()
    return hmac.new(key, message, hashlib.sha256).digest()


def _encode(*parts: bytes) -> str:
    return base64.urlsafe_b64encode(b"".join(parts)).decode("ascii").rstrip("=")


def _decode(token: str, ids: int) -> tuple[list[UUID], int, bytes] | None:
    size = 16 * ids + _ISSUE_BYTES + _MAC_BYTES
    if not token.isascii() or len(token) > 2 * size:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != size:
        return None
    uuids = [UUID(bytes=raw[16 * i : 16 * (i + 1)]) for i in range(ids)]
    issue = int.from_bytes(raw[16 * ids : 16 * ids + _ISSUE_BYTES], "big")
    return uuids, issue, raw[-_MAC_BYTES:]


def invitation_token(key: bytes, tenant_id: UUID, invitee_id: UUID, issue: int) -> str:
    """The token of the `issue`-th link of the invitation of `invitee_id` to `tenant_id`."""
    mac = _mac(key, INVITE, invitation_id(tenant_id, invitee_id), issue)
    return _encode(tenant_id.bytes, invitee_id.bytes, issue.to_bytes(_ISSUE_BYTES, "big"), mac)


def read_invitation_token(key: bytes, token: str) -> InvitationLink | None:
    """What an invitation's token names, or None when it is not one this key made."""
    decoded = _decode(token, 2)
    if decoded is None:
        return None
    (tenant_id, invitee_id), issue, mac = decoded
    expected = _mac(key, INVITE, invitation_id(tenant_id, invitee_id), issue)
    if not hmac.compare_digest(mac, expected):
        return None
    return InvitationLink(tenant_id, invitee_id, issue)


def reset_token(key: bytes, user_id: UUID, issue: int) -> str:
    """The token of the `issue`-th forgotten-password link of the account `user_id`."""
    mac = _mac(key, RESET, user_id, issue)
    return _encode(user_id.bytes, issue.to_bytes(_ISSUE_BYTES, "big"), mac)


def read_reset_token(key: bytes, token: str) -> ResetLink | None:
    """What a forgotten password's token names, or None when it is not one this key made."""
    decoded = _decode(token, 1)
    if decoded is None:
        return None
    (user_id,), issue, mac = decoded
    if not hmac.compare_digest(mac, _mac(key, RESET, user_id, issue)):
        return None
    return ResetLink(user_id, issue)
