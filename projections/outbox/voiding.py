"""An intent that sends nothing and only makes earlier intents void (a check-in recorded, an
agreement rejected): its kind is `VOID`, and the outbox records its `cancels` without sending."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from domain.roles import Role
from projections.outbox.intents import MessageIntent, ToRole

VOID = "void"


def void(key: str, tenant_id: UUID, at: datetime, cancels: Sequence[str]) -> MessageIntent:
    return MessageIntent(
        key=key,
        tenant_id=tenant_id,
        due_at=at,
        audience=ToRole(Role.CLIENT_ADMIN.value),
        kind=VOID,
        cancels=tuple(cancels),
    )


def is_void(intent: MessageIntent) -> bool:
    return intent.kind == VOID
