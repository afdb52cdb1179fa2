"""The hash chain over a tenant's stored events: what is hashed, exactly, and nothing else.

Each event of a tenant's log, in notification order, gets a digest that covers its stored
form and the digest before it:

    digest_0 = sha256(b"balkort:" + str(tenant_id))
    digest_n = sha256(digest_{n-1} + canonical(event_n))

`canonical` concatenates five fields, each as an 8-byte big-endian length followed by its
bytes: the position (notification id, decimal ASCII), the originator id (the UUID's
canonical lower-case text), the originator version (decimal ASCII), the topic (UTF-8) and
the stored state (the bytes as stored: compressed and encrypted when the tenant's store
does so). Changing, removing, inserting or moving any event changes its digest and every
digest after it. Standard library only, so an auditor can re-implement it in a few lines
(see deploy/tools/verify_audit_export.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from uuid import UUID

DIGEST_SIZE = 32
_STORE_NAME = re.compile(r"^tenant_([0-9a-f]{32})(?:$|[._])")


@dataclass(frozen=True)
class ChainLink:
    """The digest recorded for the event at `position`."""

    position: int
    digest: bytes


def genesis(tenant_id: UUID | None) -> bytes:
    """The digest a tenant's chain starts from (a log read without knowing its tenant starts
    from the anonymous one)."""
    return hashlib.sha256(b"balkort:" + (str(tenant_id) if tenant_id else "").encode()).digest()


def canonical(
    position: int, originator_id: UUID | str, originator_version: int, topic: str, state: bytes
) -> bytes:
    """The bytes of one stored event that its digest covers."""
    fields = (
        str(position).encode(),
        str(originator_id).encode(),
        str(originator_version).encode(),
        topic.encode(),
        bytes(state),
    )
    return b"".join(len(field).to_bytes(8, "big") + field for field in fields)


def chain_digest(
    previous: bytes,
    position: int,
    originator_id: UUID | str,
    originator_version: int,
    topic: str,
    state: bytes,
) -> bytes:
    """The digest of the event at `position`, chained from the digest before it."""
    return hashlib.sha256(
        previous + canonical(position, originator_id, originator_version, topic, state)
    ).digest()


def tenant_of(store_name: str) -> UUID | None:
    """The tenant a store is named after (`tenant_<hex>` schemas and files), else None."""
    found = _STORE_NAME.match(store_name)
    return UUID(hex=found.group(1)) if found else None


def event_type(topic: str) -> str:
    """The event's class path from its topic (`domain.engagement:Engagement.RatingSubmitted`
    → `Engagement.RatingSubmitted`)."""
    return topic.rpartition(":")[2] or topic
