"""When reminders fall due, in Copenhagen: month ends, leap years, summer time, ISO weeks."""

from __future__ import annotations

from datetime import UTC, date, datetime
from uuid import uuid4

import pytest

from projections.outbox.due import (
    ZONE,
    add_months,
    check_in_points,
    deferral_reminder,
    digest_due_at,
    digest_key,
    investigation_reminders,
    iso_week,
    months_voided_by,
)
from projections.queries.across_years import _add_months as chart_add_months


@pytest.mark.parametrize(
    ("made", "months", "point"),
    [
        (datetime(2026, 8, 31, 10, tzinfo=UTC), 6, datetime(2027, 2, 28, 10, tzinfo=UTC)),
        (datetime(2027, 8, 31, 10, tzinfo=UTC), 6, datetime(2028, 2, 29, 10, tzinfo=UTC)),
        (datetime(2028, 2, 29, 10, tzinfo=UTC), 12, datetime(2029, 2, 28, 10, tzinfo=UTC)),
        (datetime(2028, 2, 29, 10, tzinfo=UTC), 24, datetime(2030, 2, 28, 10, tzinfo=UTC)),
        (datetime(2026, 7, 15, 10, tzinfo=UTC), 6, datetime(2027, 1, 15, 10, tzinfo=UTC)),
    ],
)
def test_months_are_added_as_the_follow_through_chart_adds_them(
    made: datetime, months: int, point: datetime
) -> None:
    assert add_months(made, months) == point == chart_add_months(made, months)


def test_an_agreements_check_in_points_are_at_six_twelve_and_twenty_four_months() -> None:
    points = check_in_points(datetime(2026, 3, 31, 12, tzinfo=UTC))
    assert [(p.months, p.day) for p in points] == [
        (6, date(2026, 9, 30)),
        (12, date(2027, 3, 31)),
        (24, date(2028, 3, 31)),
    ]
    # In the morning, Copenhagen time: summer time in September, winter time in March.
    assert points[0].remind_at == datetime(2026, 9, 30, 6, tzinfo=UTC)
    assert points[1].remind_at == datetime(2027, 3, 31, 6, tzinfo=UTC)
    assert points[0].remind_at.astimezone(ZONE).hour == 8


def test_a_point_late_in_the_utc_evening_falls_on_the_next_copenhagen_day() -> None:
    made = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 1 February 00:30 in Copenhagen
    six = check_in_points(made)[0]
    assert six.point == datetime(2026, 7, 31, 23, 30, tzinfo=UTC)
    assert six.day == date(2026, 8, 1)
    assert six.month == "2026-08"


def test_a_reminder_never_goes_out_after_the_point_the_chart_counts_at() -> None:
    made = datetime(2026, 4, 2, 5, tzinfo=UTC)  # 07:00 in Copenhagen, before the morning
    six = check_in_points(made)[0]
    assert six.remind_at == six.point == datetime(2026, 10, 2, 5, tzinfo=UTC)


def test_a_check_in_voids_the_points_of_its_month_and_the_five_after() -> None:
    assert months_voided_by(datetime(2026, 10, 31, 23, 30, tzinfo=UTC)) == [
        "2026-11",
        "2026-12",
        "2027-01",
        "2027-02",
        "2027-03",
        "2027-04",
    ]


def test_the_next_point_is_voided_by_a_check_in_before_it_and_the_one_after_is_not() -> None:
    made = datetime(2026, 3, 10, 9, tzinfo=UTC)
    six, twelve, twenty_four = check_in_points(made)
    voided = months_voided_by(datetime(2026, 8, 20, 9, tzinfo=UTC))
    assert six.month in voided
    assert twelve.month not in voided
    assert twenty_four.month not in voided
    later = months_voided_by(datetime(2026, 11, 2, 9, tzinfo=UTC))
    assert twelve.month in later
    assert twenty_four.month not in later


def test_an_investigation_is_reminded_of_a_week_before_and_the_morning_after_its_due_day() -> None:
    when = investigation_reminders(date(2026, 3, 31))  # summer time begins 29 March 2026
    assert when.week_before == datetime(2026, 3, 24, 7, tzinfo=UTC)
    assert when.overdue == datetime(2026, 4, 1, 6, tzinfo=UTC)


def test_a_deferred_proposal_comes_back_in_the_morning_of_its_date() -> None:
    assert deferral_reminder(date(2026, 12, 24)) == datetime(2026, 12, 24, 7, tzinfo=UTC)


def test_the_digest_is_keyed_by_organisation_and_iso_week_across_the_new_year() -> None:
    tenant = uuid4()
    assert iso_week(date(2027, 1, 1)) == "2026-W53"
    assert iso_week(date(2024, 12, 30)) == "2025-W01"
    assert digest_key(tenant, date(2026, 12, 31)) == digest_key(tenant, date(2027, 1, 3))
    assert digest_key(tenant, date(2027, 1, 3)) != digest_key(tenant, date(2027, 1, 4))
    assert digest_key(tenant, date(2027, 1, 4)) != digest_key(uuid4(), date(2027, 1, 4))
    assert digest_due_at(date(2027, 1, 3)) == datetime(2026, 12, 28, 7, tzinfo=UTC)
