"""The runbooks can be followed: every `balkort` command they show exists in the CLI, with the
options they give it, and every runbook is reachable from the indexes and links where it says."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.cli_commands import balkort_commands, problems_with

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "deploy" / "runbooks"
FENCED = re.compile(r"^ *```[a-z]*\n(.*?)^ *```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")
EXPECTED = {
    "backup-and-restore.md",
    "master-key-rotation.md",
    "jwt-secret-rotation.md",
    "erasure.md",
    "projector-partitions.md",
    "postgres-failover.md",
    "redis-loss.md",
}


def runbooks() -> list[Path]:
    return sorted(RUNBOOKS.glob("*.md"))


def shell_lines(text: str) -> list[str]:
    """The lines of every fenced block, continuation lines joined, and every inline code span."""
    lines: list[str] = []
    for block in FENCED.findall(text):
        lines += block.replace("\\\n", " ").splitlines()
    prose = FENCED.sub("", text)
    lines += INLINE.findall(prose)
    return lines


def commands_in(path: Path) -> list[list[str]]:
    return [
        command
        for line in shell_lines(path.read_text(encoding="utf-8"))
        for command in balkort_commands(line)
    ]


def test_every_runbook_the_on_call_engineer_needs_is_there_and_indexed() -> None:
    names = {path.name for path in runbooks()}
    assert names >= EXPECTED
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    deploy_readme = (ROOT / "deploy" / "README.md").read_text(encoding="utf-8")
    for name in names - {"README.md"}:
        assert f"({name})" in index, f"runbooks/README.md does not link {name}"
        assert f"(runbooks/{name})" in deploy_readme, f"deploy/README.md does not link {name}"


@pytest.mark.parametrize("path", runbooks(), ids=lambda p: p.name)
def test_every_balkort_command_in_a_runbook_exists_with_its_options(path: Path) -> None:
    commands = commands_in(path)
    problems = [f"balkort {' '.join(c)}: {p}" for c in commands for p in problems_with(c)]
    assert not problems, "\n".join(problems)


def test_the_runbooks_name_the_commands_they_are_about() -> None:
    named = {
        path.name: {" ".join(c[:2]) for c in commands_in(path)}
        for path in runbooks()
        if path.name != "README.md"
    }
    assert "audit verify" in named["backup-and-restore.md"]
    assert "keys rotate-master" in named["master-key-rotation.md"]
    assert "tenants erase" in named["erasure.md"]
    assert any(c.startswith("projector") for c in named["projector-partitions.md"])


@pytest.mark.parametrize("path", runbooks(), ids=lambda p: p.name)
def test_every_link_in_a_runbook_leads_to_a_file(path: Path) -> None:
    for target in LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target:
            continue
        assert (path.parent / target).exists(), f"{path.name} links {target}, which does not exist"


def test_a_command_the_cli_lacks_is_caught() -> None:
    assert problems_with(["keys", "rotate-master", "--old-key-file", "x"])
    assert problems_with(["tenants", "purge", "soeby"])
    assert problems_with(["projections"])
    assert not problems_with(["projector", "--partition", "2/3"])
