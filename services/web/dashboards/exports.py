"""CSV and Excel exports of the relation matrix and of the longitudinal data.

Columns are headed in the user's language, the instrument's dimensions by their names, and the
method's words in the cells are the user's too (a band, a status, why a relation is not
shown); the figures are the API's own. Identifiers are there too, so that a spreadsheet can
join one export with another.

CSV: UTF-8 with a byte order mark so that Excel recognises the Danish letters. In Danish, `;`
between fields and a decimal comma, as Danish Excel expects when a CSV is opened by
double-click; in English, `,` and a decimal point. The `.xlsx` export holds real numbers and
dates, which Excel shows in the user's own locale.

Anonymity: a relation that is not shown (below the anonymity threshold, or not rated) has
every figure empty — no means, no index, no count of raters — and says so in the column
"Not shown", with the reason beside it.

Both exports read the same queries as the API (`relation_matrix`, `longitudinal`) and take
`as_of` as the dashboards do, to export a past state. Their pages (`matrix.csv`, `matrix.xlsx`,
`history.csv`, `history.xlsx`) are at the end.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

from litestar import Controller, Request, Response, get
from litestar.exceptions import ValidationException
from litestar.params import FromPath, FromQuery
from litestar.types import ControllerRouterHandler

from projections.documents import EngagementOut
from projections.queries import (
    BELOW_THRESHOLD,
    NO_CHECK_IN,
    AgreementTrack,
    LongitudinalView,
    RelationMatrix,
    longitudinal,
    relation_matrix,
)
from services.access import PAGE_TENANT_PREFIX, READ, Policy
from services.bootstrap import Container
from services.requests.reads import engagement_view, engagements_of, organisation_view
from services.web.charts import band_label, continuity_label
from services.web.i18n import ZONE, current_language
from services.web.i18n import gettext as _
from services.web.labels import agreement_status_label, check_in_label

Value = str | int | Decimal | date | None
CSV = "csv"
XLSX = "xlsx"
CSV_MEDIA_TYPE = "text/csv"  # Litestar adds the charset (UTF-8)
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A text starting with one of these is a formula to a spreadsheet: never let a unit's name or
# an agreement's words compute anything.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    """A sheet's title, its header and rows; `words` names the columns holding people's own
    words; `danish`: a CSV written for Danish Excel (`;` and a decimal comma)."""

    title: str
    header: list[str]
    rows: list[list[Value]]
    words: frozenset[str] = frozenset()
    danish: bool = False

    @property
    def word_columns(self) -> frozenset[int]:
        return frozenset(i for i, name in enumerate(self.header) if name in self.words)


@dataclass(frozen=True)
class Export:
    table: Table
    name: str  # the file's name, without its extension


def _latest_check_in(agreement: AgreementTrack) -> str:
    latest = max(agreement.check_ins, key=lambda c: c.at, default=None)
    return check_in_label(latest.status if latest else NO_CHECK_IN)


def _figure(value: str | None) -> Decimal | None:
    return Decimal(value) if value else None


def _why_hidden(raters_label: str | None) -> str:
    if raters_label == BELOW_THRESHOLD:
        return _("Fewer raters than the anonymity threshold")
    return _("Not rated")


def dimension_names(engagements: list[EngagementOut]) -> dict[str, str]:
    """The instruments' dimensions by key, named in the user's language."""
    danish = current_language() == "da"
    names: dict[str, str] = {}
    for engagement in engagements:
        for dimension in engagement.instrument.dimensions:
            names.setdefault(dimension.key, dimension.name_da if danish else dimension.name_en)
    return names


def matrix_table(matrix: RelationMatrix, dimensions: dict[str, str] | None = None) -> Table:
    """One row per directed relation: who rates whom, each dimension, index, raters, band."""
    names = {u.unit_id: u.name for u in matrix.units}
    named = dimensions or {}
    from_unit, to_unit = _("From unit"), _("To unit")
    header = [
        _("From unit (id)"),
        from_unit,
        _("To unit (id)"),
        to_unit,
        *(named.get(key, key) for key in matrix.dimensions),
        _("Index"),
        _("Raters"),
        _("Strength"),
        _("Not shown"),
        _("Why not shown"),
    ]
    rows: list[list[Value]] = []
    for cell in matrix.cells:
        place: list[Value] = [
            str(cell.unit_id),
            names.get(cell.unit_id, ""),
            str(cell.counterpart_id),
            names.get(cell.counterpart_id, ""),
        ]
        if cell.shown:
            figures: list[Value] = [_figure(cell.means.get(key)) for key in matrix.dimensions]
            band = band_label(cell.band, cell.band_da)
            rows.append([*place, *figures, _figure(cell.index), cell.raters, band, "", ""])
        else:
            empty: list[Value] = [None] * len(matrix.dimensions)
            hidden = [_("Not shown"), _why_hidden(cell.raters_label)]
            rows.append([*place, *empty, None, None, None, *hidden])
    danish = current_language() == "da"
    return Table(_("Matrix"), header, rows, frozenset({from_unit, to_unit}), danish)


def history_table(view: LongitudinalView, dimensions: dict[str, str] | None = None) -> Table:
    """One row per relation and engagement: the index and dimensions that year (names as they
    were on the theme day), how the relation continues today, and the agreements made on it
    in that engagement with their status and latest check-in."""
    keys = list(dict.fromkeys(k for r in view.relations for p in r.points for k in p.means))
    named = dimensions or {}
    words = [
        _("Relation from"),
        _("Relation to"),
        _("Engagement"),
        _("From unit that year"),
        _("To unit that year"),
        _("Agreements made"),
    ]
    relation_from, relation_to, engagement, from_unit, to_unit, texts_column = words
    header = [
        _("Relation from (id)"),
        relation_from,
        _("Relation to (id)"),
        relation_to,
        _("Engagement (id)"),
        engagement,
        _("Theme day"),
        from_unit,
        to_unit,
        _("Continuity"),
        *(named.get(key, key) for key in keys),
        _("Index"),
        _("Raters"),
        _("Strength"),
        _("Not shown"),
        _("Why not shown"),
        _("Number of agreements"),
        texts_column,
    ]
    rows: list[list[Value]] = []
    for relation in view.relations:
        for point in relation.points:
            made = [a for a in relation.agreements if a.engagement_id == point.engagement_id]
            texts = " | ".join(
                f"{a.text} ({agreement_status_label(a.status)}; {_latest_check_in(a)})" for a in made
            )
            shown = not point.suppressed and point.index is not None
            figures: list[Value] = (
                [_figure(point.means.get(k)) for k in keys] if shown else [None] * len(keys)
            )
            rows.append(
                [
                    str(relation.unit_id),
                    relation.unit_name,
                    str(relation.counterpart_id),
                    relation.counterpart_name,
                    str(point.engagement_id),
                    point.title,
                    point.theme_day,
                    point.unit_name,
                    point.counterpart_name,
                    continuity_label(point.continuity),
                    *figures,
                    _figure(point.index) if shown else None,
                    point.raters if shown else None,
                    band_label(point.band) if shown else None,
                    "" if shown else _("Not shown"),
                    "" if shown else _why_hidden(point.raters_label),
                    len(made),
                    texts,
                ]
            )
    danish = current_language() == "da"
    return Table(_("History"), header, rows, frozenset(words), danish)


def _defused(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv_value(value: Value, is_text: bool, decimal_comma: bool) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal) and decimal_comma:
        return str(value).replace(".", ",")
    text = str(value)
    return _defused(text) if is_text else text


def as_csv(table: Table) -> bytes:
    """In Danish `;` between fields and a decimal comma, in English `,` and a decimal point."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if table.danish else ",", lineterminator="\r\n")
    words = table.word_columns
    writer.writerow([_defused(name) for name in table.header])
    for row in table.rows:
        writer.writerow([_csv_value(v, i in words, table.danish) for i, v in enumerate(row)])
    return buffer.getvalue().encode("utf-8-sig")


def as_xlsx(table: Table) -> bytes:
    """One sheet: header row bold and frozen, figures as numbers, dates as dates, every text
    stored as text (never as a formula)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook()
    sheet = book.active
    sheet.title = table.title[:31]
    sheet.append(table.header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in table.rows:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in row])
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                cell.data_type = "s"
            elif isinstance(cell.value, date | datetime):
                cell.number_format = "yyyy-mm-dd"
    for column, name in zip(sheet.columns, table.header, strict=False):
        widest = max([len(name), *(len(str(c.value)) for c in column if c.value is not None)])
        sheet.column_dimensions[column[0].column_letter].width = min(60, widest + 2)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_DANISH = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "Æ": "Ae", "Ø": "Oe", "Å": "Aa"})


def file_name(*parts: str | None) -> str:
    """A plain ASCII file name from words that may hold Danish letters: `matrix-soeby-2025`."""
    words = "-".join(p for p in parts if p).translate(_DANISH)
    ascii_words = unicodedata.normalize("NFKD", words).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+", "-", ascii_words).strip("-").lower() or "export"


# -- Reading what is exported, and answering with it ----------------------------------------------


def as_of_moment(given: str | None) -> datetime | None:
    """`as_of` as the dashboards take it — a day, meaning its end in the organisations' time zone
    (today or a day to come is now) — or, as the API takes it, a moment with a time zone."""
    asked = (given or "").strip()
    if not asked:
        return None
    try:
        day = date.fromisoformat(asked)
    except ValueError:
        day = None
    if day is not None:
        return datetime.combine(day, time.max, tzinfo=ZONE) if day < datetime.now(ZONE).date() else None
    try:
        moment = datetime.fromisoformat(asked.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationException(
            "as_of must be a day or a moment with a time zone",
            extra=[{"key": "as_of", "source": "query", "message": "e.g. 2025-03-11 or 2025-03-11T12:00:00Z"}],
        )
    return moment


async def matrix_export(
    request: Request[Any, Any, Any], tenant_id: UUID, engagement_id: UUID, as_of: str | None
) -> Export:
    """The engagement's relation matrix, now or as it stood at `as_of`."""
    moment = as_of_moment(as_of)
    engagement = await engagement_view(request, tenant_id, engagement_id, moment=moment)
    organisation = await organisation_view(request, tenant_id, moment=moment)
    table = matrix_table(relation_matrix(engagement, organisation, moment), dimension_names([engagement]))
    return Export(table, file_name("matrix", engagement.title, as_of))


async def history_export(request: Request[Any, Any, Any], tenant_id: UUID, as_of: str | None) -> Export:
    """The organisation's relations and agreements across its engagements, now or at `as_of`."""
    moment = as_of_moment(as_of)
    organisation = await organisation_view(request, tenant_id, moment=moment)
    engagements = await engagements_of(request, tenant_id, moment, organisation)
    today = (moment or datetime.now(UTC)).date()
    table = history_table(longitudinal(organisation, engagements, today), dimension_names(engagements))
    return Export(table, file_name("history", organisation.name, as_of))


async def download(request: Request[Any, Any, Any], export: Export, kind: str) -> Response[bytes]:
    """The export as a file to save, CSV or Excel, written off the event loop (years of an
    organisation's relations make a sizeable workbook)."""
    container: Container = request.app.state.container
    write, media_type = (as_csv, CSV_MEDIA_TYPE) if kind == CSV else (as_xlsx, XLSX_MEDIA_TYPE)
    body = await container.offloop(write, export.table)
    headers = {
        "Content-Disposition": f'attachment; filename="{export.name}.{kind}"',
        "Cache-Control": "no-store",
    }
    return Response(body, media_type=media_type, headers=headers)


Req = Request[Any, Any, Any]
_T = PAGE_TENANT_PREFIX
_E = f"{_T}/e/{{engagement_id:uuid}}"


class MatrixExports(Controller):
    path = _E

    @get("/matrix.csv", opt=READ.opt())
    async def matrix_csv(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        as_of: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The relation matrix as CSV (see the top of this module)."""
        export = await matrix_export(request, tenant_id, engagement_id, as_of)
        return await download(request, export, CSV)

    @get("/matrix.xlsx", opt=READ.opt())
    async def matrix_xlsx(
        self,
        request: Req,
        tenant_id: FromPath[UUID],
        engagement_id: FromPath[UUID],
        as_of: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        """The relation matrix as an Excel workbook."""
        export = await matrix_export(request, tenant_id, engagement_id, as_of)
        return await download(request, export, XLSX)


class HistoryExports(Controller):
    path = _T

    @get("/history.csv", opt=READ.opt())
    async def history_csv(
        self, request: Req, tenant_id: FromPath[UUID], as_of: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """The longitudinal data as CSV: every relation in every engagement, with its agreements."""
        export = await history_export(request, tenant_id, as_of)
        return await download(request, export, CSV)

    @get("/history.xlsx", opt=READ.opt())
    async def history_xlsx(
        self, request: Req, tenant_id: FromPath[UUID], as_of: FromQuery[str | None] = None
    ) -> Response[bytes]:
        """The longitudinal data as an Excel workbook."""
        export = await history_export(request, tenant_id, as_of)
        return await download(request, export, XLSX)


PAGES: list[ControllerRouterHandler] = [MatrixExports, HistoryExports]
POLICY: dict[tuple[str, str], Policy] = {
    ("GET", f"{_E}/matrix.csv"): READ,
    ("GET", f"{_E}/matrix.xlsx"): READ,
    ("GET", f"{_T}/history.csv"): READ,
    ("GET", f"{_T}/history.xlsx"): READ,
}
