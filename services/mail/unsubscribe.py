"""The link in every message that turns its topic off for its recipient, signed so that it
cannot be made for anyone else: `/unsubscribe/{token}`, which needs no sign-in.

The token carries the organisation, the topic, the recipient's address and (for an account)
the account and the role it was reached under, which the event recording the choice names as
its actor. It is signed with HMAC-SHA256 under a subkey of the platform secret for this purpose
alone (docs/adr/0016); a token changed in any character is refused. It does not expire: a link
followed again, years later, turns off what is off already, which records nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
from uuid import UUID, uuid5

import msgspec

from domain.notifications import Topic, address_key
from domain.roles import Role
from services.auth.secret_keys import SecretKeys, hkdf
from services.settings import Settings

PATH_PREFIX = "/unsubscribe/"
# The actor of a choice made by an address without an account: the same address, the same id.
ADDRESS_ACTORS = UUID("9d3c2b1a-8e7f-5a6b-9c0d-1e2f3a4b5c6d")


class Unsubscribe(msgspec.Struct, frozen=True, array_like=True):
    """What a token says: who turns which topic off, in which organisation."""

    tenant_id: UUID
    topic: Topic
    address: str
    user_id: UUID | None = None
    role: Role = Role.CLIENT_ADMIN

    @property
    def actor_id(self) -> UUID:
        return self.user_id or uuid5(ADDRESS_ACTORS, address_key(self.address))


class TokenInvalid(ValueError):
    """Not a token this platform signed."""


def unsubscribe_key(keys: SecretKeys) -> bytes:
    return hkdf(keys.root, b"balkort/unsubscribe/v1")


def key_for(settings: Settings) -> bytes:
    return unsubscribe_key(SecretKeys.load(settings))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, b"unsubscribe\x1f" + payload, hashlib.sha256).digest()


def token_for(key: bytes, what: Unsubscribe) -> str:
    payload = msgspec.msgpack.encode(msgspec.structs.replace(what, address=address_key(what.address)))
    return f"{_b64(payload)}.{_b64(_signature(key, payload))}"


def read_token(key: bytes, token: str) -> Unsubscribe:
    """What `token` says; TokenInvalid unless this platform signed it as it stands."""
    body, dot, signature = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(signature)
    except (ValueError, TypeError):
        raise TokenInvalid("not a token") from None
    # Only the canonical spelling: base64's spare bits would let one token be written many ways.
    canonical = dot and _b64(payload) == body and _b64(given) == signature
    if not canonical or not hmac.compare_digest(given, _signature(key, payload)):
        raise TokenInvalid("not signed here")
    try:
        return msgspec.msgpack.decode(payload, type=Unsubscribe)
    except msgspec.DecodeError:
        raise TokenInvalid("not a token") from None


def unsubscribe_path(key: bytes, what: Unsubscribe) -> str:
    """The page's path for the link (and the List-Unsubscribe header) of a message."""
    return PATH_PREFIX + token_for(key, what)
