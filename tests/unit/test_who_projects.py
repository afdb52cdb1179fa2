"""Which process projects what by default, by topology (docs/adr/0021)."""

from __future__ import annotations

import pytest

from services.settings import Settings, SettingsError


def test_the_embedded_default_projects_everything_in_the_serving_process() -> None:
    assert Settings.from_environ({}).in_process_projection == "all"


def test_with_a_database_url_api_processes_project_only_what_they_write() -> None:
    settings = Settings.from_environ({"DATABASE_URL": "postgresql://balkort@db:5432/balkort"})
    assert settings.in_process_projection == "written"


@pytest.mark.parametrize("value", ["all", "written", "none"])
def test_the_setting_overrides_the_default_of_either_topology(value: str) -> None:
    for environ in ({}, {"DATABASE_URL": "postgresql://balkort@db:5432/balkort"}):
        settings = Settings.from_environ({**environ, "BALKORT_PROJECT_IN_PROCESS": value})
        assert settings.in_process_projection == value


def test_an_unknown_choice_is_refused_when_the_settings_are_read() -> None:
    with pytest.raises(SettingsError, match="project_in_process"):
        Settings.from_environ({"BALKORT_PROJECT_IN_PROCESS": "some"})
