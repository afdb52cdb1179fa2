"""The outbox of a process: its store (SQLite file or the control plane's schema), and how it
follows the logs — each tenant's (what the projectors run after the views) and the control
plane's (invitations, password resets, who holds which role). docs/adr/0030."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import Mapper

from projections.backends import TenantErased, ViewBackend
from projections.outbox.postgres_store import PostgresOutbox
from projections.outbox.project import follow, follow_platform
from projections.outbox.sqlite_store import SQLiteOutbox
from projections.outbox.store import SqlOutbox
from projections.projector import Recorded
from services.controlplane import ControlPlane
from services.persistence.env import CONTROL_STORE
from services.settings import Settings

logger = logging.getLogger("balkort.outbox")


class ControlPlaneLog:
    """The control plane's notification log, read in order after a position."""

    def __init__(self, control: ControlPlane) -> None:
        self.control = control

    def read(self, after: int, limit: int) -> list[Recorded]:
        notifications = self.control.recorder.select_notifications(start=after + 1, limit=limit)
        mapper: Mapper[UUID] = self.control.mapper
        return [Recorded(n.id, mapper.to_domain_event(n)) for n in notifications]


class Outbox:
    """Blocking: run its methods off the event loop."""

    def __init__(
        self, store: SqlOutbox, control: ControlPlane, views: ViewBackend, files: Path, batch_size: int = 500
    ) -> None:
        self.store = store
        # Where the embedded default writes messages (.eml).
        self.files = files
        self.control = control
        self.views = views
        self.batch_size = batch_size

    def follow_tenant(self, tenant_id: UUID) -> int:
        """The tenant's events since the outbox last read them, into the outbox."""
        try:
            source = self.views.source_for(tenant_id)
        except TenantErased:
            return 0
        return follow(source, self.store, tenant_id, batch_size=self.batch_size)

    def follow_platform(self) -> int:
        return follow_platform(ControlPlaneLog(self.control), self.store, self.batch_size)

    def follow_all(self, tenants: Iterable[UUID]) -> int:
        """The control plane's log, then every tenant's (a sweep: the projectors follow each
        tenant as they project it; this catches what a crash between the two left behind)."""
        read = self.follow_platform()
        for tenant_id in tenants:
            if self.control.erased(tenant_id):
                continue
            try:
                read += self.follow_tenant(tenant_id)
            except Exception:
                logger.warning("following tenant %s into the outbox failed", tenant_id, exc_info=True)
        return read

    def forget(self, tenant_id: UUID) -> None:
        """The tenant was erased: nothing of its is sent, nothing of its is kept (its messages
        and, on the embedded default, the .eml files they were written to)."""
        for name in self.store.erase_tenant(tenant_id):
            (self.files / name).unlink(missing_ok=True)

    def close(self) -> None:
        if isinstance(self.store, PostgresOutbox):
            self.store.close()


def outbox_store(settings: Settings) -> SqlOutbox:
    if settings.uses_postgres:
        return PostgresOutbox(settings.postgres.dsn, CONTROL_STORE)
    return SQLiteOutbox(settings.data_dir / "outbox.sqlite3")
