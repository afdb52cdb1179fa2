"""The words and figures the charts, the tables beside them and the exports share: strength
bands and continuity in the reader's language, why a relation shows no numbers, figures in the
reader's locale, and the helpers the dashboard and board templates call."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from projections.queries import BELOW_THRESHOLD, CardsOnTie
from services.web.i18n import as_number, current_language
from services.web.i18n import gettext as _

DASH = "\u2013"  # an en dash: a value not shown


def band_label(band: str | None, danish: str | None = None) -> str:
    """A strength band in the user's language: the instrument's own Danish label when it has
    one, the shipped instrument's words otherwise, else the label as the instrument gives it."""
    if band is None:
        return ""
    if current_language() == "da" and danish:
        return danish
    return {"Weak": _("Weak"), "Moderate": _("Moderate"), "Strong": _("Strong")}.get(band, band)


def continuity_label(continuity: str) -> str:
    return {
        "same": _("Same units"),
        "merged": _("Through a merger"),
        "split": _("Through a split"),
    }.get(continuity, continuity)


def hidden_label(raters_label: str | None) -> str:
    """Why a relation shows no numbers."""
    if raters_label == BELOW_THRESHOLD:
        return _("Not shown: fewer raters than the anonymity threshold")
    return _("Not rated yet")


def figure(value: str | None, digits: int = 2) -> str:
    """A figure from a read model ("2.43") in the user's locale; an en dash for none."""
    return DASH if value is None or value == "" else as_number(Decimal(value), digits)


def signed(value: str | None) -> str:
    """A change with its sign, plus or minus (a real minus sign)."""
    if value is None:
        return DASH
    number = Decimal(value)
    shown = as_number(abs(number), 2)
    return f"+{shown}" if number > 0 else (f"\u2212{shown}" if number < 0 else shown)


# -- Cards per tie (tables need no chart; kept for the dashboard's summary) ----------------------


def cards_total(ties: Sequence[CardsOnTie]) -> dict[str, int]:
    """Cards by status over every tie."""
    totals: dict[str, int] = {}
    for tie in ties:
        for status, count in tie.by_status.items():
            totals[status] = totals.get(status, 0) + count
    return totals


# Helpers the dashboard and board templates call (passed in their context).
TEMPLATE_HELPERS = {
    "figure": figure,
    "signed": signed,
    "band_label": band_label,
    "hidden_label": hidden_label,
    "continuity_label": continuity_label,
}
