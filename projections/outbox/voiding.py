"""An intent that sends nothing and only makes earlier intents void (a check-in recorded, an
agreement rejected, a proposal decided again): its kind is `VOID`, and the outbox records its
`cancels` without sending. A cancel ending in `*` names every key that begins with the rest
(`all_of`): a later event can void what an earlier one decided without knowing its dates."""

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


ALL = "*"


def all_of(prefix: str) -> str:
    """A cancel that names every key beginning with `prefix`."""
    return prefix + ALL


def is_prefix(cancel: str) -> bool:
    return cancel.endswith(ALL)


def matches(cancel: str, key: str) -> bool:
    return key.startswith(cancel[: -len(ALL)]) if is_prefix(cancel) else key == cancel


def like_pattern(cancel: str) -> str:
    """The SQL LIKE pattern (escaped with `!`) of a prefix cancel."""
    prefix = cancel[: -len(ALL)]
    return prefix.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
