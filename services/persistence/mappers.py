"""Each tenant's mapper: the typed msgspec mapper with the tenant's own cipher, sealing each
state to its event (binding.py) and accepting unbound legacy states only up to the tenant's
legacy watermark.

Every reader of a tenant's stored events (projector, rebuild, time travel, export) decodes
with the mapper from here, so it decrypts with that tenant's key. Built once per tenant and
cached; `forget` drops it (the tenant was erased).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from uuid import UUID

from eventsourcing.cipher import AESCipher
from eventsourcing.persistence import Mapper
from eventsourcing.utils import Environment

from services.persistence.binding import BoundMapper
from services.persistence.transcoding import MsgspecTranscoder

CIPHER_TOPIC = "eventsourcing.cipher:AESCipher"

__all__ = ["CIPHER_TOPIC", "TenantMappers", "cipher_env"]


def cipher_env(key: bytes | None) -> dict[str, str]:
    """The environment keys that make an application encrypt with `key` (none for no key)."""
    if key is None:
        return {}
    return {"CIPHER_TOPIC": CIPHER_TOPIC, AESCipher.CIPHER_KEY: base64.b64encode(key).decode("ascii")}


class TenantMappers:
    """tenant id -> the Mapper that reads and writes that tenant's events (cached)."""

    def __init__(
        self, key_for: Callable[[UUID], bytes | None], legacy_for: Callable[[UUID], int] | None = None
    ) -> None:
        self._key_for = key_for
        # Without one, no tenant has legacy (unbound) states.
        self._legacy_for = legacy_for or (lambda _tenant_id: 0)
        self._lock = threading.Lock()
        self._mappers: dict[UUID, Mapper[UUID]] = {}

    def __call__(self, tenant_id: UUID) -> Mapper[UUID]:
        with self._lock:
            mapper = self._mappers.get(tenant_id)
        if mapper is not None:
            return mapper
        key = self._key_for(tenant_id)
        cipher = AESCipher(Environment(env=cipher_env(key))) if key is not None else None
        mapper = BoundMapper(
            transcoder=MsgspecTranscoder(), cipher=cipher, legacy_until=self._legacy_for(tenant_id)
        )
        with self._lock:
            return self._mappers.setdefault(tenant_id, mapper)

    def forget(self, tenant_id: UUID) -> None:
        with self._lock:
            self._mappers.pop(tenant_id, None)
