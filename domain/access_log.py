"""What auditors looked at in a tenant: one log per calendar month (UTC).

Auditors are read-only, and every access they make is itself recorded. Each access is one
`AuditorAccessed` event (method, path, query string, response status), with the auditor as
the actor in its provenance. The events are the record: the aggregate keeps only a count, so
loading it stays cheap however busy a month was, and a new month starts a new log.

The month is named by the service from when the access happened (`month_of`), and the log
refuses an access that happened in another month, or in another tenant, or by anyone but an
auditor.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.errors import InvariantViolated
from domain.provenance import Provenance
from domain.roles import Role

ACCESS_LOG_NAMESPACE = UUID("7d2b9e4f-3a61-5c08-b5e2-9f0c4a7d1e36")
MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
METHOD = re.compile(r"^[A-Z]{1,16}$")
LOWEST_STATUS = 100
HIGHEST_STATUS = 599


def month_of(moment: datetime) -> str:
    """The calendar month (UTC) `moment` falls in, as `YYYY-MM`."""
    if moment.tzinfo is None:
        raise InvariantViolated("access_moment_without_zone")
    return moment.astimezone(UTC).strftime("%Y-%m")


def _checked_month(month: str) -> str:
    if not MONTH.match(month):
        raise InvariantViolated("month_invalid", month=month)
    return month


class AccessLog(Aggregate):
    """One tenant's auditor accesses in one calendar month."""

    tenant_id: UUID
    month: str
    accesses: int

    @staticmethod
    def id_for(tenant_id: UUID, month: str) -> UUID:
        return uuid5(ACCESS_LOG_NAMESPACE, f"{tenant_id}:{_checked_month(month)}")

    @staticmethod
    def create_id(tenant_id: UUID, month: str, provenance: Provenance) -> UUID:
        return AccessLog.id_for(tenant_id, month)

    @classmethod
    def open(cls, tenant_id: UUID, month: str, provenance: Provenance) -> AccessLog:
        if provenance.tenant_id != tenant_id:
            raise InvariantViolated("access_log_from_other_tenant")
        return cls(tenant_id=tenant_id, month=_checked_month(month), provenance=provenance)

    @event("Opened")
    def __init__(self, tenant_id: UUID, month: str, provenance: Provenance) -> None:
        self.tenant_id = tenant_id
        self.month = month
        self.accesses = 0

    def record(self, method: str, path: str, query: str, status: int, provenance: Provenance) -> None:
        """One access by an auditor: the request (method, path, query string) and the status
        of the response it got."""
        if provenance.actor_role is not Role.AUDITOR:
            raise InvariantViolated("access_not_by_auditor", state=provenance.actor_role.value)
        if provenance.tenant_id != self.tenant_id:
            raise InvariantViolated("access_in_other_tenant")
        happened_in = month_of(provenance.occurred_at)
        if happened_in != self.month:
            raise InvariantViolated(
                "access_in_other_month", state=self.month, month=happened_in, log_month=self.month
            )
        method = method.upper()
        if not METHOD.match(method):
            raise InvariantViolated("http_method_invalid", method=method)
        if not path.startswith("/"):
            raise InvariantViolated("request_path_invalid", path=path[:40])
        if not LOWEST_STATUS <= status <= HIGHEST_STATUS:
            raise InvariantViolated("http_status_invalid", status=status)
        self._auditor_accessed(method=method, path=path, query=query, status=status, provenance=provenance)

    @event("AuditorAccessed")
    def _auditor_accessed(
        self, method: str, path: str, query: str, status: int, provenance: Provenance
    ) -> None:
        self.accesses += 1
