"""The audit trail page's query: its filters as the form names them (what it concerns, who,
which event, a range of days of when it happened or when it was recorded), the page size and
the keyset cursor, checked field by field and turned into the API's own filter and query."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode
from uuid import UUID

from projections.audit import AuditFilter
from services.usecases.audit import PAGE_MAX, FilterRefused, audit_filter
from services.web.i18n import ZONE
from services.web.i18n import gettext as _

ROWS_PER_PAGE = 50
PAGE_SIZES = (25, 50, 100, 200)
# Cursors of the pages before this one, so "Older" can go back; beyond them, "First page".
BACK_MAX = 200
HAPPENED, RECORDED = "happened", "recorded"


def trail_address(tenant_id: UUID) -> str:
    return f"/t/{tenant_id}/audit"


@dataclass(frozen=True)
class TrailQuery:
    """The trail page's query: its filters (as the form names them), page size and cursor."""

    aggregate: UUID | None = None
    actor: UUID | None = None
    event: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    dates: str = HAPPENED
    limit: int = ROWS_PER_PAGE
    after: int | None = None
    back: tuple[int, ...] = ()
    form: dict[str, str] = field(default_factory=dict)

    def filter_params(self) -> dict[str, str]:
        """The filters as the page's own query parameters (no paging)."""
        keep = ("aggregate", "actor", "event", "from", "to", "dates", "limit")
        params = {k: v for k, v in self.form.items() if k in keep and v}
        if params.get("dates") == HAPPENED:
            del params["dates"]  # the default
        return params

    def url(self, tenant_id: UUID, after: int | None, back: tuple[int, ...]) -> str:
        params = self.filter_params()
        if after is not None:
            params["after"] = str(after)
        if back:
            params["back"] = ",".join(str(b) for b in back)
        query = urlencode(params)
        return trail_address(tenant_id) + (f"?{query}" if query else "")


def _uuid(value: str, name: str, errors: dict[str, str], message: str) -> UUID | None:
    if not value:
        return None
    try:
        return UUID(value)
    except ValueError:
        errors[name] = message
        return None


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("Please enter a date.")
        return None


def _count(value: str, lowest: int, highest: int) -> int | None:
    try:
        number = int(value)
    except ValueError:
        return None
    return number if lowest <= number <= highest else None


def parse_trail_query(params: Mapping[str, str]) -> tuple[TrailQuery, dict[str, str]]:
    """The page's query and the errors in it, by field name ("" for the paging)."""
    form = {k: str(params.get(k, "")).strip() for k in ("aggregate", "actor", "event", "from", "to", "dates")}
    form["limit"] = str(params.get("limit", "")).strip()
    errors: dict[str, str] = {}
    aggregate = _uuid(form["aggregate"], "aggregate", errors, _("Please choose from the list."))
    actor = _uuid(
        form["actor"], "actor", errors, _("Enter the id of an account, or pick a person in the trail.")
    )
    date_from = _day(form["from"], "from", errors)
    date_to = _day(form["to"], "to", errors)
    if date_from and date_to and date_to < date_from:
        errors["to"] = _("The last day comes before the first day.")
    limit = ROWS_PER_PAGE
    if form["limit"]:
        limit = _count(form["limit"], 1, PAGE_MAX) or ROWS_PER_PAGE
        form["limit"] = str(limit)
    after_text = str(params.get("after", "")).strip()
    after = _count(after_text, 0, 2**63 - 1) if after_text else None
    if after_text and after is None:
        errors[""] = _("That page of the trail does not exist. Start again from the first page.")
    back_text = str(params.get("back", "")).strip()
    back = tuple(b for b in (_count(v, 0, 2**63 - 1) for v in back_text.split(",") if v) if b is not None)
    dates = RECORDED if form["dates"] == RECORDED else HAPPENED
    form["dates"] = dates
    query = TrailQuery(
        aggregate=aggregate,
        actor=actor,
        event=form["event"] or None,
        date_from=date_from,
        date_to=date_to,
        dates=dates,
        limit=limit,
        after=after,
        back=back[-BACK_MAX:],
        form=form,
    )
    return query, errors


def _start_of(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=ZONE)


def _end_of(day: date | None) -> datetime | None:
    """The moment the day ends (the next day's start): the range's end is exclusive."""
    if day is None:
        return None
    if day == date.max:
        return datetime.max.replace(tzinfo=ZONE)
    return _start_of(day + timedelta(days=1))


_FIELD_OF_TIME = {
    "occurred_from": "from",
    "occurred_to": "to",
    "recorded_from": "from",
    "recorded_to": "to",
    "event_type": "event",
}


def trail_filter(query: TrailQuery) -> tuple[AuditFilter | None, dict[str, str], dict[str, str]]:
    """The API's filter for the page's query (by the API's own parser), the API's query
    parameters for the same rows, and the errors by field name."""
    start, end = _start_of(query.date_from), _end_of(query.date_to)
    happened = query.dates == HAPPENED
    moments = {
        "occurred_from": start if happened else None,
        "occurred_to": end if happened else None,
        "recorded_from": None if happened else start,
        "recorded_to": None if happened else end,
    }
    try:
        filters = audit_filter(
            aggregate_id=query.aggregate,
            aggregate_type=None,
            actor_id=query.actor,
            event_type=[query.event] if query.event else None,
            **moments,
        )
    except FilterRefused as refused:
        errors = {}
        for problem in refused.problems:
            name = _FIELD_OF_TIME.get(str(problem.get("key", "")), "")
            errors[name] = (
                _("Please choose from the list.") if name == "event" else _("This date is out of range.")
            )
        return None, {}, errors or {"": _("This value is not valid.")}
    api: dict[str, str] = {}
    if query.aggregate:
        api["aggregate_id"] = str(query.aggregate)
    if query.actor:
        api["actor_id"] = str(query.actor)
    if query.event:
        api["event_type"] = query.event
    api.update({name: moment.isoformat() for name, moment in moments.items() if moment is not None})
    return filters, api, {}
