"""The form of an instrument version: the scale, a row per dimension (key, name and question in
Danish and English) and a row per strength band (lower bound, label in Danish and English).

A form shows the rows of the version it starts from and one blank row of each kind to add; a
row left wholly blank is left out. Each value is checked at its field, as the API's shapes check
them (`services/http/instrument_routes.py`); the rules across rows (distinct keys, bands rising
on the scale) are the domain's, which refuses the whole version."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.instrument import Dimension, InstrumentVersion, StrengthBand
from services.text import first_refused
from services.web.i18n import gettext as _

# As the API's `DIMENSION_KEY`: lower-case letters, digits and underscores, a letter first.
DIMENSION_KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
DIMENSION_PARTS = ("key", "name_da", "name_en", "question_da", "question_en")
BAND_PARTS = ("lower", "label_da", "label_en")
MOST_DIMENSIONS = 20
MOST_BANDS = 10
LIMITS = {
    "name_da": 200,
    "name_en": 200,
    "question_da": 1000,
    "question_en": 1000,
    "label_da": 100,
    "label_en": 100,
}


class VersionInvalid(Exception):
    """Values that make no version: messages by field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


@dataclass
class VersionForm:
    """What the form shows: the scale and the rows, as text."""

    scale_min: str = ""
    scale_max: str = ""
    dimensions: list[dict[str, str]] = field(default_factory=list)
    bands: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, version: InstrumentVersion) -> VersionForm:
        """The form filled in with `version`, and a blank row of each kind to add."""
        return cls(
            scale_min=str(version.scale_min),
            scale_max=str(version.scale_max),
            dimensions=[{p: str(getattr(d, p)) for p in DIMENSION_PARTS} for d in version.dimensions]
            + [dict.fromkeys(DIMENSION_PARTS, "")],
            bands=[{p: str(getattr(b, p)) for p in BAND_PARTS} for b in version.bands]
            + [dict.fromkeys(BAND_PARTS, "")],
        )

    @classmethod
    def posted(cls, data: dict[str, Any]) -> VersionForm:
        """The form as posted (rows `dimension-N-part`, `band-N-part`)."""

        def rows(kind: str, parts: tuple[str, ...], most: int) -> list[dict[str, str]]:
            found = [{p: _text(data.get(f"{kind}-{i}-{p}")) for p in parts} for i in range(most + 1)]
            while found and not any(found[-1].values()):
                found.pop()
            return found

        return cls(
            scale_min=_text(data.get("scale_min")),
            scale_max=_text(data.get("scale_max")),
            dimensions=rows("dimension", DIMENSION_PARTS, MOST_DIMENSIONS),
            bands=rows("band", BAND_PARTS, MOST_BANDS),
        )

    def with_blank_rows(self) -> VersionForm:
        """The same, with a blank row of each kind to add (to show it again)."""
        return VersionForm(
            self.scale_min,
            self.scale_max,
            [*self.dimensions, dict.fromkeys(DIMENSION_PARTS, "")],
            [*self.bands, dict.fromkeys(BAND_PARTS, "")],
        )

    def content(self) -> tuple[int, int, tuple[Dimension, ...], tuple[StrengthBand, ...]]:
        """The version's scale, dimensions and bands; raises VersionInvalid naming each field."""
        errors: dict[str, str] = {}
        low = _score(self.scale_min, "scale_min", errors)
        high = _score(self.scale_max, "scale_max", errors)
        dimensions = []
        for i, row in enumerate(r for r in self.dimensions if any(r.values())):
            for part in DIMENSION_PARTS:
                _check_text(row[part], f"dimension-{i}-{part}", LIMITS.get(part), errors)
            if row["key"] and not DIMENSION_KEY.fullmatch(row["key"]):
                errors[f"dimension-{i}-key"] = _(
                    "Lower-case letters, digits and underscores, starting with a letter."
                )
            dimensions.append(Dimension(*(row[p] for p in DIMENSION_PARTS)))
        bands = []
        for i, row in enumerate(r for r in self.bands if any(r.values())):
            for part in BAND_PARTS[1:]:
                _check_text(row[part], f"band-{i}-{part}", LIMITS.get(part), errors)
            lower = _decimal(row["lower"], f"band-{i}-lower", errors)
            bands.append(StrengthBand(lower, row["label_da"], row["label_en"]))
        if not dimensions:
            errors.setdefault("dimension-0-key", _("An instrument needs at least one dimension."))
        if not bands:
            errors.setdefault("band-0-lower", _("An instrument needs at least one strength band."))
        if len(dimensions) > MOST_DIMENSIONS or len(bands) > MOST_BANDS:
            errors.setdefault("", _("This is too long."))
        if errors:
            raise VersionInvalid(errors)
        return low, high, tuple(dimensions), tuple(bands)


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = value[-1] if value else ""
    return " ".join(str(value or "").split())


def _check_text(value: str, name: str, limit: int | None, errors: dict[str, str]) -> None:
    if not value:
        errors[name] = _("Please fill this in.")
    elif first_refused(value) is not None:
        errors[name] = _("This text holds a character that cannot be recorded.")
    elif limit is not None and len(value) > limit:
        errors[name] = _("This is too long.")


def _score(value: str, name: str, errors: dict[str, str]) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) > 100:
        errors[name] = _("A whole number from 0 to 100.")
        return 0
    return int(value)


def _decimal(value: str, name: str, errors: dict[str, str]) -> Decimal:
    try:
        number = Decimal(value.replace(",", "."))
    except InvalidOperation:
        errors[name] = _("Please enter a number.")
        return Decimal(0)
    if not number.is_finite():
        errors[name] = _("Please enter a number.")
        return Decimal(0)
    return number
