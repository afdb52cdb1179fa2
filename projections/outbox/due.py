"""When things fall due, in Copenhagen: the check-in points of an agreement (the 6, 12 and 24
months the follow-through chart counts), an investigation's due date, a deferral's date, and
the ISO week a weekly digest covers. Pure: no clock, every moment given."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

ZONE = ZoneInfo("Europe/Copenhagen")
# Reminders go out in the morning of the day they concern, Danish time.
MORNING = time(8)
# The points the follow-through chart counts an agreement's latest check-in at.
CHECK_IN_MONTHS = (6, 12, 24)
# A check-in recorded in a point's month or the five months before it makes that point's
# reminder void: the chart will count it, and nobody needs reminding.
VOIDING_MONTHS = 6
WEEK_BEFORE = timedelta(days=7)


def add_months(moment: datetime, months: int) -> datetime:
    """`months` calendar months later, on the same day or the month's last (31 January + 1
    month is 28 or 29 February), as the follow-through chart counts."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def morning_of(day: date) -> datetime:
    """08:00 in Copenhagen on `day` (summer or winter time), as an aware moment."""
    return datetime.combine(day, MORNING, tzinfo=ZONE)


def local_day(moment: datetime) -> date:
    return moment.astimezone(ZONE).date()


@dataclass(frozen=True)
class CheckInPoint:
    """The check-in an agreement is due for at `months`: `point` is the moment the chart counts
    at, `day` its day in Copenhagen and `remind_at` when the reminder goes out (the morning of
    that day, and never after the point itself)."""

    months: int
    point: datetime
    day: date
    remind_at: datetime

    @property
    def month(self) -> str:
        return f"{self.day.year:04d}-{self.day.month:02d}"


def check_in_points(made_at: datetime) -> list[CheckInPoint]:
    """The 6, 12 and 24-month check-in points of an agreement made at `made_at`: the chart's
    points (months added to the moment in UTC), each reminded of in the morning of its day."""
    points = []
    for months in CHECK_IN_MONTHS:
        point = add_months(made_at.astimezone(UTC), months)
        day = local_day(point)
        points.append(CheckInPoint(months, point, day, min(morning_of(day), point)))
    return points


def months_voided_by(checked_at: datetime) -> list[str]:
    """The months ("YYYY-MM") whose check-in point a check-in at `checked_at` makes void: its
    own month in Copenhagen and the five after it."""
    day = local_day(checked_at)
    first = datetime(day.year, day.month, 1, tzinfo=UTC)
    return [f"{m.year:04d}-{m.month:02d}" for m in (add_months(first, n) for n in range(VOIDING_MONTHS))]


def check_in_key(tenant_id: UUID, agreement_id: UUID, month: str) -> str:
    """The reminder of an agreement's check-in point falling due in `month` ("YYYY-MM"): two
    points of one agreement never share a month, and a check-in can name the months it voids
    without knowing when the agreement was made."""
    return f"{tenant_id}:agreement:{agreement_id}:check-in:{month}"


@dataclass(frozen=True)
class InvestigationReminders:
    """An investigation due on `due`: reminded a week before, and in the morning after the
    due day when it is overdue."""

    week_before: datetime
    overdue: datetime


def investigation_reminders(due: date) -> InvestigationReminders:
    return InvestigationReminders(morning_of(due - WEEK_BEFORE), morning_of(due + timedelta(days=1)))


def deferral_reminder(deferred_until: date) -> datetime:
    """A proposal deferred to a date comes back in the morning of that date."""
    return morning_of(deferred_until)


def iso_week(day: date) -> str:
    """The ISO week `day` falls in, e.g. "2027-W01" (the ISO year, not the calendar year)."""
    year, week, _ = day.isocalendar()
    return f"{year:04d}-W{week:02d}"


def digest_key(tenant_id: UUID, day: date) -> str:
    """One digest per organisation per ISO week."""
    return f"{tenant_id}:digest:{iso_week(day)}"


def digest_due_at(day: date) -> datetime:
    """The Monday morning of `day`'s ISO week, in Copenhagen."""
    return morning_of(day - timedelta(days=day.isoweekday() - 1))
