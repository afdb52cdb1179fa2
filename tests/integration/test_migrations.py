"""`balkort migrate` on the real PostgreSQL: concurrent runs, repeated runs, and processes that
refuse a database whose schema is behind (services/migrations.py, docs/adr/0022)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest
from psycopg import sql

from services.application import TenantApplication
from services.bootstrap import build_container
from services.controlplane import ControlPlane, system_provenance
from services.migrations import (
    CONTROL_APPLICATION,
    CONTROL_MIGRATIONS,
    TENANT_APPLICATION,
    TENANT_MIGRATIONS,
    TENANT_VERSION,
    SchemaBehind,
    check_schema,
    migrate,
)
from services.persistence.env import tenant_store_name
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests.keys import SESSION_SECRETS, SESSION_SECRETS_ENV

BALKORT = str(Path(sys.executable).parent / "balkort")
# Generous: twelve interpreters starting on two shared cores.
PROCESS_TIMEOUT_SECONDS = 180
RUN_MIGRATE = "run `balkort migrate`"
ALL_CONTROL = ", ".join(str(m.version) for m in CONTROL_MIGRATIONS)
EXPECTED_VERSIONS = [("control", m.version, m.name) for m in CONTROL_MIGRATIONS] + [
    ("tenants", m.version, m.name) for m in TENANT_MIGRATIONS
]


def _environment(url: str, data_dir: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith("BALKORT_") and k != "DATABASE_URL"}
    return {**keep, **SESSION_SECRETS_ENV, "DATABASE_URL": url, "BALKORT_DATA_DIR": str(data_dir)}


def _versions(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT scope, version, name, applied_at FROM control.schema_version ORDER BY scope, version"
        ).fetchall()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_stores_names_are_the_applications_names() -> None:
    assert ControlPlane.name == CONTROL_APPLICATION
    assert TenantApplication.name == TENANT_APPLICATION


def test_twelve_concurrent_migrate_runs_on_a_fresh_database_all_succeed_and_leave_one_version(
    unmigrated_database_url: str, tmp_path: Path
) -> None:
    environment = _environment(unmigrated_database_url, tmp_path / "data")
    runs = [
        subprocess.Popen(
            [BALKORT, "migrate"], env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(12)
    ]
    outputs = [run.communicate(timeout=PROCESS_TIMEOUT_SECONDS)[0] for run in runs]

    assert [run.returncode for run in runs] == [0] * 12, outputs
    assert [row[:3] for row in _versions(unmigrated_database_url)] == EXPECTED_VERSIONS
    # One run applied the control plane's migrations; the eleven others found nothing to do.
    assert sum(f"applied control migrations: {ALL_CONTROL}" in output for output in outputs) == 1, outputs
    check_schema(Settings(database_url=unmigrated_database_url))


def test_migrating_twice_changes_nothing_the_second_time(
    unmigrated_database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=unmigrated_database_url, data_dir=tmp_path / "data", **SESSION_SECRETS)
    first = migrate(settings)
    container = build_container(settings)
    try:
        tenant_id = onboard_tenant(container, "Søby", f"soeby-{uuid4().hex[:8]}", system_provenance("Test"))
    finally:
        container.tenants.close()
        container.control.close()
    before = _versions(unmigrated_database_url)

    second = migrate(settings)

    assert first.control_applied == [m.version for m in CONTROL_MIGRATIONS]
    assert (second.control_applied, second.tenants, second.tenants_changed) == ([], 1, 0)
    assert _versions(unmigrated_database_url) == before
    # Onboarding made the tenant's schema at this release's version already.
    with psycopg.connect(unmigrated_database_url) as conn:
        rows = conn.execute(
            sql.SQL("SELECT version FROM {} ORDER BY version").format(
                sql.Identifier(tenant_store_name(tenant_id), "schema_version")
            )
        ).fetchall()
    assert [version for (version,) in rows] == list(range(1, TENANT_VERSION + 1))


def test_a_tenant_schema_made_before_versions_were_recorded_is_adopted_as_it_stands(
    unmigrated_database_url: str,
) -> None:
    tenant_id = uuid4()
    schema = tenant_store_name(tenant_id)
    with psycopg.connect(unmigrated_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        conn.execute(sql.SQL("CREATE TABLE {} (id integer)").format(sql.Identifier(schema, "kept")))

    done = migrate(Settings(database_url=unmigrated_database_url))

    assert (done.tenants, done.tenants_changed) == (1, 1)
    with psycopg.connect(unmigrated_database_url) as conn:
        tables = {
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)
            ).fetchall()
        }
    assert {"kept", "tenantapplication_events", "view_documents", "view_version", "schema_version"} <= tables


def test_a_process_refuses_a_database_one_tenant_migration_behind(unmigrated_database_url: str) -> None:
    settings = Settings(database_url=unmigrated_database_url, **SESSION_SECRETS)
    migrate(settings)
    with psycopg.connect(unmigrated_database_url) as conn:
        conn.execute(
            "DELETE FROM control.schema_version WHERE scope = 'tenants' AND version = %s", (TENANT_VERSION,)
        )

    with pytest.raises(SchemaBehind, match="run `balkort migrate`") as refused:
        build_container(settings)
    assert f"tenants {TENANT_VERSION - 1} of {TENANT_VERSION}" in str(refused.value)


@pytest.mark.parametrize("command", ["serve", "projector", "tenants list"])
def test_a_process_on_an_unmigrated_database_exits_non_zero_saying_run_balkort_migrate(
    unmigrated_database_url: str, tmp_path: Path, command: str
) -> None:
    arguments = ["serve", "--port", str(_free_port())] if command == "serve" else command.split()
    finished = subprocess.run(
        [BALKORT, *arguments],
        env=_environment(unmigrated_database_url, tmp_path / "data"),
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_SECONDS,
    )

    assert finished.returncode != 0
    assert RUN_MIGRATE in finished.stdout + finished.stderr, finished.stderr
    # Nothing was created behind the operator's back.
    with psycopg.connect(unmigrated_database_url) as conn:
        schemas = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'control'").fetchall()
    assert schemas == []
