"""The `balkort` command on the embedded default: onboarding, users, the demo, help everywhere."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from services.cli import main

COMMANDS = (
    [],
    ["serve"],
    ["tenants"],
    ["tenants", "create"],
    ["tenants", "list"],
    ["tenants", "export"],
    ["tenants", "erase"],
    ["users"],
    ["users", "create"],
    ["demo"],
    ["demo", "seed"],
    ["projector"],
    ["projections"],
    ["projections", "rebuild"],
    ["keys"],
    ["keys", "rotate-master"],
)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "balkort")
def test_every_command_explains_itself(command: list[str]) -> None:
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_onboarding_a_tenant_and_its_consultant_from_the_command_line(tmp_path: Path) -> None:
    runner = CliRunner(env={"BALKORT_DATA_DIR": str(tmp_path)})

    created = runner.invoke(main, ["tenants", "create", "Søby Kommune", "--slug", "soeby"])
    again = runner.invoke(main, ["tenants", "create", "Søby igen", "--slug", "soeby"])
    user = runner.invoke(
        main,
        [
            "users",
            "create",
            "mads@example.dk",
            "--name",
            "Mads",
            "--password",
            "en lang adgangskode",
            "--platform-role",
            "consultant",
            "--tenant",
            "soeby",
            "--role",
            "consultant",
        ],
    )
    listed = runner.invoke(main, ["tenants", "list"])
    slugs = runner.invoke(main, ["tenants", "list", "--slugs"])

    assert created.exit_code == 0, created.output
    assert again.exit_code != 0
    assert "taken" in again.output
    assert user.exit_code == 0, user.output
    assert "soeby" in listed.output
    assert slugs.output.split() == ["soeby"]


def test_the_demo_is_seeded_once(tmp_path: Path) -> None:
    runner = CliRunner(env={"BALKORT_DATA_DIR": str(tmp_path)})

    first = runner.invoke(main, ["demo", "seed", "--if-empty"])
    second = runner.invoke(main, ["demo", "seed", "--if-empty"])
    forced = runner.invoke(main, ["demo", "seed"])

    assert first.exit_code == 0, first.output
    assert "already seeded" in second.output
    assert forced.exit_code != 0


def test_a_bad_setting_is_named(tmp_path: Path) -> None:
    result = CliRunner(env={"BALKORT_DATA_DIR": str(tmp_path), "BALKORT_PORT": "lots"}).invoke(
        main, ["tenants", "list"]
    )
    assert result.exit_code == 1
    assert "port" in result.output
