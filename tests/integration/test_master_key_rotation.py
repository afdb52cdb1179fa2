"""`balkort keys rotate-master`: every tenant key re-wrapped under a new master key, events
untouched, and safe to run again after the processes restart."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import pytest
from click.testing import CliRunner, Result

from services.cli import main
from services.persistence.keys import KeyUnwrapError, TenantKeys
from services.settings import Settings
from tests.keys import SESSION_JWT_SECRET

Run = Callable[..., Result]


def new_master_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def runner_for(environment: dict[str, str]) -> Run:
    runner = CliRunner(env=environment)

    def run(*arguments: str) -> Result:
        result = runner.invoke(main, list(arguments))
        assert result.exit_code == 0, result.output
        return result

    return run


def onboarded(run: Run, slug: str) -> UUID:
    output = run("tenants", "create", f"Organisation {slug}", "--slug", slug).output
    return UUID(output.rsplit("(", 1)[1].split(")", 1)[0])


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres])])
def environment(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """A deployment of the test's own (its own database: rotating changes every tenant key)."""
    environment = {"BALKORT_DATA_DIR": str(tmp_path / "data"), "BALKORT_MASTER_KEY": new_master_key()}
    if request.param == "postgres":
        environment["DATABASE_URL"] = request.getfixturevalue("postgres_database_url")
        environment["BALKORT_JWT_SECRET"] = SESSION_JWT_SECRET
        runner_for(environment)("migrate")
    return environment


def settings_of(environment: dict[str, str], master: str) -> Settings:
    return Settings.from_environ({**environment, "BALKORT_MASTER_KEY": master})


def test_rotating_the_master_key_rewraps_every_tenant_key_and_the_events_still_open(
    environment: dict[str, str], tmp_path: Path
) -> None:
    old, new = environment["BALKORT_MASTER_KEY"], new_master_key()
    run = runner_for(environment)
    tenants = [onboarded(run, "soeby"), onboarded(run, "naesby")]
    before = {t: TenantKeys(settings_of(environment, old)).get(t) for t in tenants}
    key_file = tmp_path / "new-master-key"
    key_file.write_text(new + "\n")

    rotated = run("keys", "rotate-master", "--new-key-file", str(key_file))

    assert "re-wrapped 2 tenant key(s)" in rotated.output
    for tenant in tenants:
        assert TenantKeys(settings_of(environment, new)).get(tenant) == before[tenant]
        with pytest.raises(KeyUnwrapError):
            TenantKeys(settings_of(environment, old)).get(tenant)
    exported = runner_for({**environment, "BALKORT_MASTER_KEY": new})(
        "tenants", "export", "soeby", "--out", str(tmp_path / "export")
    )
    assert "chain intact" in exported.output


def test_running_the_rotation_again_rewraps_only_a_tenant_onboarded_under_the_old_key(
    tmp_path: Path,
) -> None:
    old, new = new_master_key(), new_master_key()
    environment = {"BALKORT_DATA_DIR": str(tmp_path / "data"), "BALKORT_MASTER_KEY": old}
    run = runner_for(environment)
    first = onboarded(run, "soeby")
    key_file = tmp_path / "new-master-key"
    key_file.write_text(new)
    run("keys", "rotate-master", "--new-key-file", str(key_file))
    # A process not yet restarted still holds the old key and onboards a tenant with it.
    straggler = onboarded(run, "naesby")

    again = run("keys", "rotate-master", "--new-key-file", str(key_file))
    idle = run("keys", "rotate-master", "--new-key-file", str(key_file))

    assert "re-wrapped 1 tenant key(s)" in again.output
    assert "re-wrapped 0 tenant key(s)" in idle.output
    rotated = TenantKeys(settings_of(environment, new))
    assert rotated.get(first) is not None
    assert rotated.get(straggler) is not None


def test_the_embedded_default_keeps_its_new_master_key_in_its_data_directory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    run = runner_for({"BALKORT_DATA_DIR": str(data_dir)})
    tenant = onboarded(run, "soeby")
    key = TenantKeys(Settings(data_dir=data_dir)).get(tenant)
    new = new_master_key()

    rotated = CliRunner(env={"BALKORT_DATA_DIR": str(data_dir)}).invoke(
        main, ["keys", "rotate-master"], input=f"{new}\n"
    )
    same = CliRunner(env={"BALKORT_DATA_DIR": str(data_dir)}).invoke(
        main, ["keys", "rotate-master"], input=f"{new}\n"
    )

    assert rotated.exit_code == 0, rotated.output
    assert (data_dir / "master-key").read_text() == new
    assert (data_dir / "master-key").stat().st_mode & 0o777 == 0o600
    assert TenantKeys(Settings(data_dir=data_dir)).get(tenant) == key
    assert same.exit_code != 0
    assert "is the current one" in same.output
