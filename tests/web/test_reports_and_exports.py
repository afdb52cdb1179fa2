"""The follow-up report (HTML and PDF) and the CSV / Excel exports of the relation matrix and the
longitudinal data: the same numbers as the API's JSON, nothing of a relation below the anonymity
threshold, Danish letters intact, decisions from the follow-up meeting in the report."""

from __future__ import annotations

import csv
import io
import re
import shutil
import zlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import anyio
import pytest
from openpyxl import load_workbook

from services.web.dashboards.exports import Table, as_csv, as_xlsx, file_name
from tests.http_harness import Story
from tests.web.conftest import send_form, sign_in_by_form
from tests.web.follow_up_story import (
    ACCEPT_ME,
    ACCEPT_ME_TOO,
    OWN_AGREEMENT,
    PROPOSAL,
    FollowUpStory,
    follow_up_story,
)

BOM = b"\xef\xbb\xbf"


@pytest.fixture
async def story(site: Story) -> FollowUpStory:
    return await follow_up_story(site)


def _csv_rows(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(BOM)
    return list(csv.DictReader(io.StringIO(body[len(BOM) :].decode("utf-8"))))


def _sheet_rows(body: bytes) -> tuple[Any, list[dict[str, Any]]]:
    sheet = load_workbook(io.BytesIO(body)).active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)]
    return sheet, rows


def _pdf_characters(pdf: bytes) -> set[str]:
    """The characters the PDF's fonts draw, from their ToUnicode maps (no PDF library needed)."""
    drawn: set[str] = set()
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            data = zlib.decompress(stream)
        except zlib.error:
            continue
        if b"beginbfchar" not in data and b"beginbfrange" not in data:
            continue
        for target in re.findall(rb"<[0-9a-fA-F]+>\s*<([0-9a-fA-F]+)>", data):
            text = target.decode()
            drawn |= {chr(int(text[i : i + 4], 16)) for i in range(0, len(text), 4)}
    return drawn


# -- The report ----------------------------------------------------------------------------------


async def test_the_report_shows_the_agenda_with_lineage_and_ratings_in_danish(
    site: Story, story: FollowUpStory
) -> None:
    # Everyone in the organisation may read it: a participant here.
    await sign_in_by_form(site.client, story.participant_email, language="da")
    page = await site.client.get(f"{story.pages}/report")
    assert page.status_code == 200
    assert "Opfølgningsrapport: Sammenhæng på Ærø" in page.text
    for text in (ACCEPT_ME, OWN_AGREEMENT, PROPOSAL, "Overlevering ved udskrivning", "Ærlige Åse"):
        assert text in page.text
    assert "Aftaler, der skal godkendes" in page.text
    assert "Vurdering bag balkortet" in page.text
    assert "Fælles mål" in page.text  # a dimension, by its Danish name
    assert "Færre besvarelser end anonymitetsgrænsen" in page.text
    assert f'href="{story.pages}/report.pdf"' in page.text
    english = await site.client.get(f"{story.pages}/report", cookies={"balkort_lang": "en"})
    assert "Follow-up report: Sammenhæng på Ærø" in english.text
    assert "Agreements that need acceptance" in english.text


async def test_the_report_as_pdf_keeps_the_danish_letters(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email, language="da")
    answer = await site.client.get(f"{story.pages}/report.pdf")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/pdf"
    assert re.fullmatch(r'inline; filename="[a-z0-9-]+\.pdf"', answer.headers["content-disposition"])
    assert "opfoelgningsrapport-sammenhaeng-paa-aeroe" in answer.headers["content-disposition"]
    pdf = answer.content
    assert pdf.startswith(b"%PDF")
    # The fonts draw the Danish letters as letters (not as boxes).
    assert {"æ", "ø", "å", "Æ"} <= _pdf_characters(pdf)
    if shutil.which("pdftotext"):
        extracted = await anyio.run_process(["pdftotext", "-", "-"], input=pdf)
        text = extracted.stdout.decode("utf-8")
        assert "Sammenhæng på Ærø" in text
        # Items follow one another rather than each starting a page of its own: five items and
        # the summary fit on five pages, and no page carries a heading alone.
        pages = [page for page in text.split("\f") if page.strip()]
        assert len(pages) <= 5
        for page in pages:
            lines = [line for line in page.splitlines() if line.strip()]
            assert len(lines) > 2, page
        assert "To aftaler skal godkendes" in text  # the closing plenary's notes
        assert "Med hjem til personalemødet" in text  # a unit's wrap-up


async def test_the_report_has_the_wrap_ups_and_the_closing_plenary(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    page = await site.client.get(f"{story.pages}/report")
    assert "The units' wrap-ups" in page.text
    assert page.text.count("Med hjem til personalemødet") == 3
    assert "Closing plenary" in page.text
    assert "To aftaler skal godkendes" in page.text


async def test_a_decision_taken_at_the_meeting_is_in_the_report(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    page = await site.client.get(f"{story.pages}/follow-up")
    form = re.search(r'<form[^>]*id="decide-agreement".*?</form>', page.text, re.S)
    assert form
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(0)))
    decided = await send_form(
        site.client,
        f"{story.pages}/follow-up/agreements/{story.agreements[ACCEPT_ME]}",
        {**hidden, "accepted": "true", "rationale": "Godt for borgerne", "decided_by": "Sundhedsudvalget"},
    )
    assert decided.status_code == 303
    report = await site.client.get(f"{story.pages}/report")
    assert "by Sundhedsudvalget on" in report.text
    assert "Godt for borgerne" in report.text
    assert "1 of 4 items on the agenda have a decision." in report.text


# -- The relation matrix -------------------------------------------------------------------------

DIMENSION_NAMES = {"frequent": "Frequent communication", "shared_goals": "Shared goals"}
DANISH_NAMES = {"frequent": "Hyppig kommunikation", "shared_goals": "Fælles mål"}
FIGURES = ["Index", "Raters", "Strength"]


async def _dimensions(story: FollowUpStory, language: str) -> dict[str, str]:
    """The instrument's dimension names by key, as the engagement's read model names them."""
    engagement = await story.manager.get(story.api)
    return {d["key"]: d[f"name_{language}"] for d in engagement["instrument"]["dimensions"]}


async def test_the_matrix_as_csv_has_english_columns_and_the_api_s_numbers(
    site: Story, story: FollowUpStory
) -> None:
    matrix = await story.manager.get(f"{story.api}/matrix")
    names = await _dimensions(story, "en")
    await sign_in_by_form(site.client, story.participant_email)
    answer = await site.client.get(f"{story.pages}/matrix.csv")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"] == 'attachment; filename="matrix-sammenhaeng-paa-aeroe.csv"'
    rows = _csv_rows(answer.content)
    assert list(rows[0]) == [
        "From unit (id)",
        "From unit",
        "To unit (id)",
        "To unit",
        *(names[key] for key in matrix["dimensions"]),
        "Index",
        "Raters",
        "Strength",
        "Not shown",
        "Why not shown",
    ]
    assert len(rows) == len(matrix["cells"]) == 4
    by_pair = {(r["From unit (id)"], r["To unit (id)"]): r for r in rows}
    for cell in matrix["cells"]:
        row = by_pair[(cell["unit_id"], cell["counterpart_id"])]
        if cell["shown"]:
            assert Decimal(row["Index"]) == Decimal(cell["index"])
            assert row["Raters"] == str(cell["raters"])
            assert row["Strength"] == cell["band"]
            assert {k: Decimal(row[names[k]]) for k in matrix["dimensions"]} == {
                k: Decimal(v) for k, v in cell["means"].items()
            }
            assert row["Not shown"] == ""
    visit, home = story.units["Visitationen"], story.units["Hjemmeplejen Øst"]
    shown = by_pair[(visit, home)]
    assert (shown["From unit"], shown["To unit"], shown[names["frequent"]], shown["Raters"]) == (
        "Visitationen",
        "Hjemmeplejen Øst",
        "2.50",
        "2",
    )


async def test_the_matrix_as_csv_in_danish_is_for_danish_excel(site: Story, story: FollowUpStory) -> None:
    matrix = await story.manager.get(f"{story.api}/matrix")
    names = await _dimensions(story, "da")
    await sign_in_by_form(site.client, story.manager_email, language="da")
    answer = await site.client.get(f"{story.pages}/matrix.csv")
    body = answer.content
    assert body.startswith(BOM)
    text = body[len(BOM) :].decode("utf-8")
    assert text.splitlines()[0].startswith("Fra enhed (id);Fra enhed;Til enhed (id);Til enhed;")
    rows = list(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert names["shared_goals"] == "Fælles mål"
    for column in ("Indeks", "Antal besvarelser", "Styrke", "Vises ikke", "Hvorfor det ikke vises"):
        assert column in rows[0]
    cells = {(c["unit_id"], c["counterpart_id"]): c for c in matrix["cells"]}
    for row in rows:
        cell = cells[(row["Fra enhed (id)"], row["Til enhed (id)"])]
        if cell["shown"]:
            assert "," in row["Indeks"]
            assert "." not in row["Indeks"]
            assert Decimal(row["Indeks"].replace(",", ".")) == Decimal(cell["index"])
            assert row["Styrke"] == cell["band_da"]
        else:
            assert row["Vises ikke"] == "Vises ikke"
            assert row["Hvorfor det ikke vises"] == "Færre besvarelser end anonymitetsgrænsen"
    sheet, sheet_rows = _sheet_rows((await site.client.get(f"{story.pages}/matrix.xlsx")).content)
    assert sheet.title == "Matrix"
    shown = next(r for r in sheet_rows if not r["Vises ikke"])
    assert isinstance(shown["Indeks"], int | float)
    assert isinstance(shown[names["shared_goals"]], int | float)


async def test_suppressed_cells_leak_no_numbers_in_either_export(site: Story, story: FollowUpStory) -> None:
    matrix = await story.manager.get(f"{story.api}/matrix")
    names = await _dimensions(story, "en")
    figures = [*(names[k] for k in matrix["dimensions"]), *FIGURES]
    await sign_in_by_form(site.client, story.manager_email)
    rows = _csv_rows((await site.client.get(f"{story.pages}/matrix.csv")).content)
    hidden = [r for r in rows if r["Not shown"]]
    assert len(hidden) == 2  # each rated by one person, the threshold is two
    for row in hidden:
        assert row["Not shown"] == "Not shown"
        assert row["Why not shown"] == "Fewer raters than the anonymity threshold"
        assert all(row[k] == "" for k in figures)
    _sheet, sheet_rows = _sheet_rows((await site.client.get(f"{story.pages}/matrix.xlsx")).content)
    for row in (r for r in sheet_rows if r["Not shown"]):
        assert all(row[k] is None for k in figures)


async def test_the_matrix_as_excel_has_a_bold_frozen_header_and_real_numbers(
    site: Story, story: FollowUpStory
) -> None:
    matrix = await story.manager.get(f"{story.api}/matrix")
    names = await _dimensions(story, "en")
    await sign_in_by_form(site.client, story.manager_email)
    answer = await site.client.get(f"{story.pages}/matrix.xlsx")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert answer.headers["content-disposition"] == 'attachment; filename="matrix-sammenhaeng-paa-aeroe.xlsx"'
    sheet, rows = _sheet_rows(answer.content)
    assert sheet.freeze_panes == "A2"
    assert all(c.font.bold for c in sheet[1])
    cells = {(c["unit_id"], c["counterpart_id"]): c for c in matrix["cells"]}
    for row in rows:
        cell = cells[(row["From unit (id)"], row["To unit (id)"])]
        if cell["shown"]:
            assert Decimal(str(row["Index"])) == Decimal(cell["index"])
            assert isinstance(row[names["mutual_respect"]], int | float)
            assert row["Raters"] == cell["raters"]


async def test_exports_take_as_of_like_the_dashboards(site: Story, story: FollowUpStory) -> None:
    await sign_in_by_form(site.client, story.manager_email)
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    then = await site.client.get(f"{story.pages}/matrix.csv", params={"as_of": now})
    assert then.status_code == 200
    assert len(_csv_rows(then.content)) == 4
    before = (datetime.now(UTC) - timedelta(days=3)).date().isoformat()
    assert (await site.client.get(f"{story.pages}/matrix.csv", params={"as_of": before})).status_code == 404
    assert (await site.client.get(f"{story.pages}/matrix.csv", params={"as_of": "soon"})).status_code == 400
    naive = await site.client.get(f"{story.pages}/matrix.csv", params={"as_of": "2026-03-10T12:00:00"})
    assert naive.status_code == 400


# -- The longitudinal data -----------------------------------------------------------------------


async def test_the_history_exports_match_the_longitudinal_view(site: Story, story: FollowUpStory) -> None:
    view = await story.manager.get("/longitudinal")
    names = await _dimensions(story, "en")
    await sign_in_by_form(site.client, story.manager_email)
    answer = await site.client.get(f"/t/{story.tenant_id}/history.csv")
    assert answer.status_code == 200
    assert answer.headers["content-disposition"] == 'attachment; filename="history-aeroe-kommune.csv"'
    rows = _csv_rows(answer.content)
    points = [(r, p) for r in view["relations"] for p in r["points"]]
    assert len(rows) == len(points) == 4
    for column in (
        "Relation from",
        "Relation to",
        "Engagement",
        "Theme day",
        "Index",
        names["frequent"],
        "Number of agreements",
    ):
        assert column in rows[0]
    visit, home = story.units["Visitationen"], story.units["Hjemmeplejen Øst"]
    row = next(r for r in rows if (r["Relation from (id)"], r["Relation to (id)"]) == (visit, home))
    point = next(p for r, p in points if (r["unit_id"], r["counterpart_id"]) == (visit, home))
    assert (row["Engagement"], row["Theme day"], Decimal(row["Index"])) == (
        "Sammenhæng på Ærø",
        "2026-03-10",
        Decimal(point["index"]),
    )
    assert Decimal(row[names["shared_goals"]]) == Decimal(point["means"]["shared_goals"])
    assert row["Continuity"] == "Same units"
    # The agreements of both dialogues between the two units, whoever sent the card.
    assert row["Number of agreements"] == "3"
    assert f"{OWN_AGREEMENT} (In force; No check-in)" in row["Agreements made"]
    assert ACCEPT_ME_TOO in row["Agreements made"]
    for hidden in (r for r in rows if r["Not shown"]):
        assert hidden["Index"] == hidden[names["frequent"]] == hidden["Raters"] == ""

    sheet, sheet_rows = _sheet_rows((await site.client.get(f"/t/{story.tenant_id}/history.xlsx")).content)
    assert sheet.freeze_panes == "A2"
    assert all(c.font.bold for c in sheet[1])
    same = next(r for r in sheet_rows if (r["Relation from (id)"], r["Relation to (id)"]) == (visit, home))
    assert Decimal(str(same["Index"])) == Decimal(point["index"])
    assert same["Theme day"].date() == date(2026, 3, 10)


async def test_the_history_csv_in_danish_has_danish_words_and_decimal_commas(
    site: Story, story: FollowUpStory
) -> None:
    await sign_in_by_form(site.client, story.manager_email, language="da")
    body = (await site.client.get(f"/t/{story.tenant_id}/history.csv")).content
    rows = list(csv.DictReader(io.StringIO(body[len(BOM) :].decode("utf-8")), delimiter=";"))
    visit, home = story.units["Visitationen"], story.units["Hjemmeplejen Øst"]
    row = next(r for r in rows if (r["Relation fra (id)"], r["Relation til (id)"]) == (visit, home))
    assert row["Indeks"] == "2,57"
    assert row["Fælles mål"] == "3,00"
    assert row["Styrke"] == "Middel"
    assert row["Sammenhæng"] == "Samme enheder"
    assert f"{OWN_AGREEMENT} (Gældende; Ingen opfølgning)" in row["Indgåede aftaler"]


async def test_the_exports_are_for_members_of_the_organisation_only(
    site: Story, story: FollowUpStory
) -> None:
    site.client.cookies.clear()
    answer = await site.client.get(f"{story.pages}/matrix.csv", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


# -- The writers on their own --------------------------------------------------------------------


def test_people_s_words_never_become_spreadsheet_formulas() -> None:
    table = Table("Matrix", ["unit", "index"], [['=HYPERLINK("x")', Decimal("2.50")]], frozenset({"unit"}))
    assert as_csv(table).decode("utf-8-sig").splitlines()[1] == '"\'=HYPERLINK(""x"")",2.50'
    danish = Table(
        "Matrix", ["unit", "index"], [["@SUM(A1)", Decimal("2.50")]], frozenset({"unit"}), danish=True
    )
    assert as_csv(danish).decode("utf-8-sig").splitlines() == ["unit;index", "'@SUM(A1);2,50"]
    sheet = load_workbook(io.BytesIO(as_xlsx(table))).active
    assert sheet["A2"].data_type == "s"
    assert sheet["A2"].value == '=HYPERLINK("x")'
    assert sheet["B2"].value == 2.5


def test_file_names_are_plain_ascii() -> None:
    assert file_name("matrix", "Sammenhæng på Ærø", "2026-03-10T12:00:00Z") == (
        "matrix-sammenhaeng-paa-aeroe-2026-03-10t12-00-00z"
    )
    assert file_name("", None) == "export"
