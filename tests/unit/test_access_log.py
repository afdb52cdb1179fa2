"""The monthly log of what auditors looked at in a tenant."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest

from domain.access_log import AccessLog, month_of
from domain.errors import InvariantViolated
from domain.roles import Role
from tests.unit.factories import TENANT_ID, provenance

MARCH = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def opened(month: str = "2025-03") -> AccessLog:
    return AccessLog.open(TENANT_ID, month, provenance(MARCH, Role.AUDITOR))


def test_a_months_log_has_one_id_per_tenant_and_month() -> None:
    log = opened()
    assert log.id == AccessLog.id_for(TENANT_ID, "2025-03")
    assert log.id != AccessLog.id_for(TENANT_ID, "2025-04")
    assert (log.tenant_id, log.month, log.accesses) == (TENANT_ID, "2025-03", 0)
    assert type(log.collect_events()[0]).__qualname__ == "AccessLog.Opened"


def test_the_month_is_the_utc_calendar_month_of_the_moment() -> None:
    assert month_of(MARCH) == "2025-03"
    # 00:30 on 1 April in Copenhagen (summer time) is still 31 March in UTC.
    assert month_of(datetime(2025, 4, 1, 0, 30, tzinfo=timezone(timedelta(hours=2)))) == "2025-03"
    with pytest.raises(InvariantViolated):
        month_of(datetime(2025, 3, 4, 9, 0))  # noqa: DTZ001 - a naive moment is the point


@pytest.mark.parametrize("month", ["2025-3", "2025-13", "2025-00", "25-03", "2025-03-01", ""])
def test_a_month_is_written_year_dash_month(month: str) -> None:
    with pytest.raises(InvariantViolated):
        opened(month)


def test_each_access_is_an_event_and_the_state_is_only_a_count() -> None:
    log = opened()
    log.record("get", "/api/v1/tenants/t/engagements/", "", 200, provenance(MARCH, Role.AUDITOR))
    log.record("POST", "/api/v1/tenants/t/engagements/", "x=1", 403, provenance(MARCH, Role.AUDITOR))
    events = log.collect_events()
    accessed = [e for e in events if type(e).__qualname__ == "AccessLog.AuditorAccessed"]
    assert [(e.method, e.path, e.query, e.status) for e in accessed] == [  # type: ignore[attr-defined]
        ("GET", "/api/v1/tenants/t/engagements/", "", 200),
        ("POST", "/api/v1/tenants/t/engagements/", "x=1", 403),
    ]
    assert all(e.provenance.actor_role is Role.AUDITOR for e in accessed)  # type: ignore[attr-defined]
    assert log.accesses == 2
    assert set(vars(log)) - {"_id", "_version", "_created_on", "_modified_on", "_pending_events"} == {
        "tenant_id",
        "month",
        "accesses",
    }


def test_only_auditors_accesses_belong_in_the_log() -> None:
    log = opened()
    with pytest.raises(InvariantViolated):
        log.record("GET", "/api/v1/tenants/t/audit", "", 200, provenance(MARCH, Role.CONSULTANT))
    assert log.accesses == 0


def test_an_access_of_another_month_does_not_belong_in_the_log() -> None:
    log = opened()
    april = provenance(datetime(2025, 4, 1, 0, 0, tzinfo=UTC), Role.AUDITOR)
    with pytest.raises(InvariantViolated):
        log.record("GET", "/api/v1/tenants/t/audit", "", 200, april)


def test_an_access_is_a_request_and_a_status() -> None:
    log = opened()
    auditor = provenance(MARCH, Role.AUDITOR)
    with pytest.raises(InvariantViolated):
        log.record("G ET", "/x", "", 200, auditor)
    with pytest.raises(InvariantViolated):
        log.record("GET", "no-slash", "", 200, auditor)
    with pytest.raises(InvariantViolated):
        log.record("GET", "/x", "", 42, auditor)
    assert log.accesses == 0


def test_an_access_belongs_in_its_own_tenants_log() -> None:
    elsewhere = replace(provenance(MARCH, Role.AUDITOR), tenant_id=uuid4())
    with pytest.raises(InvariantViolated):
        AccessLog.open(TENANT_ID, "2025-03", elsewhere)
    log = opened()
    with pytest.raises(InvariantViolated):
        log.record("GET", "/x", "", 200, elsewhere)
