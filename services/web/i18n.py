"""Danish first, English second: gettext catalogues (Babel) and locale-aware formatting.

UI text is written in English in the code and templates (the msgids) and translated to Danish
in the catalogues under `services/web/locale/da/LC_MESSAGES/` (one `.po` file per part of the
product, merged when loaded). They are compiled in memory when the app starts, so running the
product needs no build step; a test extracts every message from the code and templates and
fails on one without a Danish translation (see docs/adr/0012-pages.md).

The language of a request is a context variable set by the web router before each handler,
so the templates' `_()` and the Python code that builds page text translate the same way.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).parent / "locale"
DEFAULT_LANGUAGE = "da"
LANGUAGES: dict[str, str] = {"da": "Dansk", "en": "English"}
LANGUAGE_COOKIE = "balkort_lang"
# Shown and parsed dates are in the organisations' own time zone.
TIME_ZONE = "Europe/Copenhagen"
ZONE = ZoneInfo(TIME_ZONE)

_language: ContextVar[str] = ContextVar("balkort_language", default=DEFAULT_LANGUAGE)


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language`; English is the msgids themselves."""
    folder = LOCALE_DIR / language / "LC_MESSAGES"
    if language == "en" or not folder.is_dir():
        return NullTranslations()
    merged = Catalog(locale=language)
    for po_file in sorted(folder.glob("*.po")):
        with po_file.open("rb") as source:
            for message in read_po(source, locale=language):
                if message.id and message.string and not message.fuzzy:
                    merged[message.id] = message
    compiled = io.BytesIO()
    write_mo(compiled, merged, use_fuzzy=False)
    compiled.seek(0)
    return Translations(compiled)


def language_of(requested: str | None) -> str:
    return requested if requested in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    return _language.get()


def set_language(language: str) -> None:
    _language.set(language_of(language))


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Text inside the block is in `language` (documents rendered outside a request)."""
    token = _language.set(language_of(language))
    try:
        yield
    finally:
        _language.reset(token)


def gettext(message: str, **variables: Any) -> str:
    text = translations(current_language()).gettext(message)
    return text % variables if variables else text


def ngettext(singular: str, plural: str, n: int, **variables: Any) -> str:
    text = translations(current_language()).ngettext(singular, plural, n)
    return text % {"num": n, **variables}


_ = gettext


# How dates and numbers are written in each language: English as written in Europe (day before
# month, 24-hour clock), since the organisations are Danish.
FORMATS = {"da": "da_DK", "en": "en_GB"}


def locale() -> Locale:
    return Locale.parse(FORMATS.get(current_language(), current_language()))


def as_date(value: date | datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.date() if value.tzinfo is None else value.astimezone(ZONE).date()
    return format_date(value, format=style, locale=locale())


def as_datetime(value: datetime | None, style: str = "short") -> str:
    if value is None:
        return ""
    return format_datetime(value, format=style, tzinfo=ZONE, locale=locale())


def as_number(value: float | int | Decimal | None, digits: int = 1) -> str:
    if value is None:
        return "\u2013"  # an en dash: no value
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale())


def as_percent(value: float | None) -> str:
    if value is None:
        return "\u2013"  # an en dash: no value
    return format_percent(value, locale=locale())
