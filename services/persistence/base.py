"""The Application base every Balkort event store uses (transcoding, snapshotting)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.application import Application


class BalkortApplication(Application[UUID]):
    is_snapshotting_enabled = True

    def __init__(self, env: dict[str, Any] | None = None) -> None:
        super().__init__(env)
