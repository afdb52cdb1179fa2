"""Ciphertexts bound to their event: AES-GCM with the event's identity as associated data.

A tenant's stored events are encrypted under the tenant's key (keys.py). The library's
`AESCipher` encrypts the state alone, so a state copied into another row (another aggregate,
or the same aggregate at a later version) still decrypts there. Here the originator id, the
originator version and the topic are bound in as associated data: a state moved to another
row no longer opens.

The stored form says which it is. A bound state starts with `BOUND_MARKER`, then the nonce,
the tag and the ciphertext; anything else is the library's unbound form (nonce, tag,
ciphertext), written before binding existed. Unbound states are legacy: a tenant accepts them
only at positions up to its legacy watermark (`TenantKeys.legacy_until`: the end of its log
when binding arrived; 0 for tenants onboarded since, which accept none). See
docs/adr/0019-ciphertexts-bound-to-their-event.md.
"""

from __future__ import annotations

import os
from uuid import UUID

from Crypto.Cipher import AES
from eventsourcing.cipher import AESCipher
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    Cipher,
    Compressor,
    Mapper,
    MapperDeserialisationError,
    StoredEvent,
    Transcoder,
)

from projections.decoding import UnboundCiphertext, decode_at
from services.persistence.transcoding import TypedMapper

# Not a prefix the library's form can be told apart from with certainty (its nonce is random),
# so a legacy state that happens to start with it is still tried the legacy way, where legacy
# states are accepted.
BOUND_MARKER = b"\x00bk1"
NONCE_BYTES = 12
TAG_BYTES = 16
# The environment key that tells a tenant application's mapper its legacy watermark.
LEGACY_UNTIL = "BALKORT_LEGACY_UNTIL"

__all__ = [
    "BOUND_MARKER",
    "LEGACY_UNTIL",
    "BoundMapper",
    "UnboundCiphertext",
    "associated_data",
    "decode_at",
    "is_bound",
    "plaintext_at",
]


def associated_data(originator_id: UUID | str, originator_version: int, topic: str) -> bytes:
    """The event identity a bound state is sealed to: each field length-prefixed."""
    fields = (str(originator_id).encode(), str(originator_version).encode(), topic.encode())
    return b"".join(len(field).to_bytes(4, "big") + field for field in fields)


def is_bound(state: bytes) -> bool:
    """True when `state` is in the bound form (see the module's docstring)."""
    return bytes(state[: len(BOUND_MARKER)]) == BOUND_MARKER


def _seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(associated)
    sealed, tag = cipher.encrypt_and_digest(plaintext)
    return BOUND_MARKER + nonce + tag + sealed


def _open(key: bytes, state: bytes, associated: bytes) -> bytes:
    body = state[len(BOUND_MARKER) :]
    nonce, tag, sealed = (
        body[:NONCE_BYTES],
        body[NONCE_BYTES : NONCE_BYTES + TAG_BYTES],
        body[NONCE_BYTES + TAG_BYTES :],
    )
    if len(nonce) != NONCE_BYTES or len(tag) != TAG_BYTES:
        raise ValueError("the bound state is too short")
    cipher = AES.new(key, AES.MODE_GCM, nonce=nonce)
    cipher.update(associated)
    try:
        return cipher.decrypt_and_verify(sealed, tag)
    except ValueError:
        raise ValueError(
            "the state does not open as this event's (moved from another row, or changed)"
        ) from None


class BoundMapper(TypedMapper):
    """The typed mapper, sealing each state to its event's identity when it encrypts.

    `legacy_until` is the tenant's legacy watermark. Reads that know the event's position
    (`decode_at`) accept an unbound state only at or before it; reads that do not (an
    aggregate loaded for a command) accept unbound states only when the tenant has legacy
    events at all. Shared by threads: nothing here changes after construction.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        *,
        legacy_until: int = 0,
    ) -> None:
        super().__init__(transcoder=transcoder, compressor=compressor, cipher=cipher)
        self.legacy_until = legacy_until

    def _key(self) -> bytes | None:
        # Binding needs the AES key; another cipher (none the tenant stores use) stays unbound.
        return self.cipher.key if isinstance(self.cipher, AESCipher) else None

    def encrypt(self, state: bytes, originator_id: UUID, originator_version: int, topic: str) -> bytes:
        key = self._key()
        if key is None:
            return super().encrypt(state, originator_id, originator_version, topic)
        return _seal(key, state, associated_data(originator_id, originator_version, topic))

    def decrypt(self, stored_event: StoredEvent) -> bytes:
        return self._decrypt(stored_event, legacy=self.legacy_until > 0)

    def to_domain_event_at(self, position: int, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        """Decodes the event at `position` of the tenant's log, which may be unbound only at
        or before the legacy watermark."""
        return self.decode_with(stored_event, lambda stored: self.decrypt_at(position, stored))

    def decrypt_at(self, position: int, stored_event: StoredEvent) -> bytes:
        """The (still compressed) state of the event at `position` of the tenant's log."""
        return self._decrypt(stored_event, legacy=position <= self.legacy_until)

    def _decrypt(self, stored_event: StoredEvent, *, legacy: bool) -> bytes:
        key = self._key()
        if key is None:
            return super().decrypt(stored_event)
        state = bytes(stored_event.state)
        if is_bound(state):
            associated = associated_data(
                stored_event.originator_id, stored_event.originator_version, stored_event.topic
            )
            try:
                return _open(key, state, associated)
            except ValueError as e:
                if not legacy:
                    raise MapperDeserialisationError(_where(stored_event, str(e))) from None
                # A legacy state whose random nonce happens to start like the marker.
        elif not legacy:
            raise UnboundCiphertext(
                _where(
                    stored_event, "encrypted without its event's identity, after the tenant's legacy events"
                )
            )
        return self.the_cipher().decrypt(state)


def _where(stored: StoredEvent, why: str) -> str:
    return (
        f"stored event of aggregate {stored.originator_id}, version {stored.originator_version} "
        f"({stored.topic}): {why}"
    )


def plaintext_at(mapper: Mapper[UUID], position: int, stored: StoredEvent) -> bytes:
    """The state of the event at `position` as the transcoder wrote it: decrypted (bound to its
    event, or legacy where legacy states may be) and decompressed."""
    state = bytes(stored.state)
    if isinstance(mapper, BoundMapper) and mapper.cipher is not None:
        state = mapper.decrypt_at(position, stored)
    elif mapper.cipher is not None:
        state = mapper.cipher.decrypt(state)
    if mapper.compressor is not None:
        state = mapper.compressor.decompress(state)
    return state
