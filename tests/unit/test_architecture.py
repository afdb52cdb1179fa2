"""The house keeps its shape: no import circle, nothing imported from a higher floor, the two
adapters apart, files of one idea, refusals read by code, and each command spelled in few places
(docs/adr/0027). The figures come from `tests/architecture.py`, which also prints them."""

from __future__ import annotations

import pytest

from tests import architecture

# What the command spellings may reach: the use case, the API's route and the page, plus the
# body's shape where the API names it after the command (its OpenAPI component keeps that name).
MOST_FILES_A_COMMAND_IS_SPELLED_IN = 4


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return architecture.import_graph()


def test_no_module_reaches_itself_through_its_imports(graph: dict[str, set[str]]) -> None:
    assert architecture.circles(graph) == []


def test_no_import_runs_back_up_the_floors(graph: dict[str, set[str]]) -> None:
    assert architecture.upward_imports(graph) == []


def test_the_api_and_the_pages_import_neither_the_other(graph: dict[str, set[str]]) -> None:
    assert architecture.adapter_crossings(graph) == []


def test_every_file_holds_one_idea_in_at_most_six_hundred_lines() -> None:
    assert architecture.long_files() == []


def test_no_regular_expression_reads_the_domains_english() -> None:
    assert architecture.regexes_over_domain_messages() == []


def test_each_command_is_spelled_in_its_use_case_its_route_and_its_page() -> None:
    spellings = architecture.command_spellings()
    assert len(spellings) >= 25, "the count no longer finds the commands"
    widest = {s.name: s.files for s in spellings if len(s.files) > MOST_FILES_A_COMMAND_IS_SPELLED_IN}
    assert widest == {}
    for spelling in spellings:
        assert any(path.startswith("services/usecases/") for path in spelling.files), spelling


def test_the_measures_see_what_they_measure() -> None:
    """Each measure finds what it looks for when it is there, so a passing test above means
    something."""
    made_up = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert architecture.circles(made_up) == [["a", "b", "c"]]
    upward = {"domain.x": {"services.http.y"}, "services.http.y": set()}
    assert architecture.upward_imports(upward) == [("domain.x", "services.http.y")]
    crossing = {"services.web.x": {"services.http.y"}, "services.http.y": set()}
    assert architecture.adapter_crossings(crossing) == [("services.web.x", "services.http.y")]
    assert architecture.floor("services.requests.x") < architecture.floor("services.web.x")
    assert architecture.floor("services.usecases.x") < architecture.floor("services.requests.x")
    assert architecture.floor("projections.x") < architecture.floor("services.application")
