"""Event payloads are encrypted at rest under a key per tenant; erasing a tenant deletes its key,
its event store and its read models and leaves only an erasure record, while the other tenants
are untouched; a tenant's export is complete and verifies.

Erasure is checked by scanning everything: on PostgreSQL every table of every schema (text
columns as text, binary columns for the bytes), on SQLite every file under the data directory.
On PostgreSQL the tests of a run share one database, so names are unique per test."""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import sys
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import psycopg
from click.testing import CliRunner
from psycopg import sql

from services.cli import main
from services.controlplane import system_provenance
from services.export import MANIFEST, check_export
from services.persistence.env import CONTROL_STORE, tenant_store_name
from services.settings import Settings
from services.usecases.tenants import erase_tenant
from tests.http_harness import ADMIN, Person, Story

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "tools" / "verify_audit_export.py"


async def tenant_with_unit(story: Story, admin: Person, stem: str) -> tuple[UUID, str, str]:
    """A tenant (slug unique to the run) with its organisation and one distinctively named unit."""
    tag = secrets.token_hex(5)
    slug = f"{stem}-{tag}"
    created = await admin.post("/api/v1/tenants", {"name": f"Kommune {slug}", "slug": slug})
    tenant_id = UUID(created["id"])
    unit = f"Ærø-enheden-{secrets.token_hex(6)}"
    base = f"/api/v1/tenants/{tenant_id}"
    await admin.put(f"{base}/organisation", {"name": f"Organisation {slug}"})
    await admin.post(f"{base}/organisation/units", {"name": unit})
    return tenant_id, slug, unit


def unit_names(organisation: dict[str, Any]) -> str:
    return json.dumps(organisation, ensure_ascii=False)


def stored_states(settings: Settings, tenant_id: UUID) -> list[bytes]:
    """The raw `state` bytes of the tenant's stored events and snapshots, as in the database."""
    store = tenant_store_name(tenant_id)
    if settings.uses_postgres:
        with psycopg.connect(settings.postgres.dsn) as conn:
            return [
                bytes(state)
                for table in ("tenantapplication_events", "tenantapplication_snapshots")
                for (state,) in conn.execute(
                    sql.SQL("SELECT state FROM {}").format(sql.Identifier(store, table))
                ).fetchall()
            ]
    path = settings.data_dir / "stores" / f"{store}.sqlite3"
    with closing(sqlite3.connect(path)) as conn:
        return [bytes(s) for (s,) in conn.execute("SELECT state FROM stored_events").fetchall()]


def postgres_hits(settings: Settings, needle: str) -> list[str]:
    """Every `schema.table.column` of the database whose values contain `needle` (text columns
    cast to text; binary columns searched for the UTF-8 bytes), and schemas named with it."""
    hits: list[str] = []
    with psycopg.connect(settings.postgres.dsn, autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT nspname FROM pg_namespace WHERE position(lower(%s) in lower(nspname)) > 0", (needle,)
        ).fetchall()
        hits += [f"schema {name}" for (name,) in schemas]
        columns = conn.execute(
            """
            SELECT c.table_schema, c.table_name, c.column_name, c.data_type
            FROM information_schema.columns c
            JOIN information_schema.tables t USING (table_schema, table_name)
            WHERE t.table_type = 'BASE TABLE'
              AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
            """
        ).fetchall()
        for schema, table, column, data_type in columns:
            target = sql.Identifier(schema, table)
            col = sql.Identifier(column)
            if data_type == "bytea":
                query = sql.SQL("SELECT count(*) FROM {} WHERE position(convert_to(%s, 'UTF8') in {}) > 0")
            else:
                query = sql.SQL("SELECT count(*) FROM {} WHERE position(lower(%s) in lower({}::text)) > 0")
            row = conn.execute(query.format(target, col), (needle,)).fetchone()
            if row and row[0]:
                hits.append(f"{schema}.{table}.{column}")
    return hits


def file_hits(settings: Settings, needle: str) -> list[str]:
    """Every file under the data directory whose name or bytes contain `needle`."""
    hits = []
    encoded = needle.encode()
    for path in sorted(settings.data_dir.rglob("*")):
        if not path.is_file():
            continue
        if needle.lower() in path.name.lower() or encoded in path.read_bytes():
            hits.append(str(path.relative_to(settings.data_dir)))
    return hits


def hits(settings: Settings, needle: str) -> list[str]:
    return postgres_hits(settings, needle) if settings.uses_postgres else file_hits(settings, needle)


def assert_only_the_erasure_record(settings: Settings, tenant_id: UUID) -> None:
    """The tenant's id, in either form, is found in the control plane's store only (the
    erasure record and the directory's history); no schema, table or file is named with it."""
    for needle in (tenant_id.hex, str(tenant_id)):
        where = hits(settings, needle)
        assert all(
            hit.startswith(f"{CONTROL_STORE}.") or hit.startswith(f"stores/{CONTROL_STORE}.sqlite3")
            for hit in where
        ), where
    assert hits(settings, tenant_store_name(tenant_id)) == []


def cli(settings: Settings) -> CliRunner:
    env = {
        "BALKORT_DATA_DIR": str(settings.data_dir),
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "BALKORT_MASTER_KEY": settings.master_key or "",
        "BALKORT_JWT_SECRET": settings.jwt_secret or "",
    }
    if settings.uses_postgres:
        env |= {"DATABASE_URL": settings.database_url or "", "REDIS_URL": settings.redis_url or ""}
    return CliRunner(env=env)


async def test_events_are_encrypted_at_rest_and_the_read_side_still_reads_them(story: Story) -> None:
    admin = await story.sign_in(ADMIN)
    tenant_id, _, unit = await tenant_with_unit(story, admin, "kryptering")
    settings = story.container.settings

    states = stored_states(settings, tenant_id)
    assert states
    assert not any(unit.encode() in state for state in states)
    assert not any(b'"provenance"' in state for state in states)
    # The projector decrypts with the tenant's key: the API shows the name ...
    base = f"/api/v1/tenants/{tenant_id}"
    assert unit in unit_names(await admin.get(f"{base}/organisation"))
    # ... and so does time travel, which replays the events itself.
    now = datetime.now(UTC).isoformat()
    assert unit in unit_names(await admin.get(f"{base}/organisation", params={"as_of": now}))
    # The tenant's key is stored wrapped, never in the clear.
    key = story.container.keys.get(tenant_id)
    assert key is not None
    assert len(key) == 32
    assert hits(settings, key.hex()) == []


async def test_erasure_shreds_one_tenant_and_leaves_the_others_untouched(story: Story) -> None:
    admin = await story.sign_in(ADMIN)
    container = story.container
    settings = container.settings
    erased_id, erased_slug, erased_unit = await tenant_with_unit(story, admin, "slettes")
    kept_id, _, kept_unit = await tenant_with_unit(story, admin, "bliver")
    kept_states = sorted(stored_states(settings, kept_id))
    assert hits(settings, erased_unit)
    assert hits(settings, erased_id.hex)

    await container.offloop(
        erase_tenant, container, erased_slug, system_provenance("EraseTenant", tenant_id=erased_id)
    )

    # Nothing of the erased tenant is left: not its content, not its store, views or key;
    # its id only in the control plane (the erasure record).
    assert hits(settings, erased_unit) == []
    assert_only_the_erasure_record(settings, erased_id)
    assert container.keys.get(erased_id) is None
    assert container.control.erased(erased_id)
    # The platform no longer knows it.
    assert erased_id not in {t.id for t in container.control.tenants()}
    await admin.call("GET", f"/api/v1/tenants/{erased_id}/organisation", expect=410)
    await admin.call("GET", f"/api/v1/tenants/{erased_id}", expect=410)
    again = await admin.client.post(
        "/api/v1/tenants", json={"name": "Igen", "slug": erased_slug}, headers=admin.headers
    )
    assert again.status_code == 409
    assert_only_the_erasure_record(settings, erased_id)  # the refused onboarding left nothing

    # The other tenant is untouched: same stored bytes, still readable, still decrypting.
    assert sorted(stored_states(settings, kept_id)) == kept_states
    base = f"/api/v1/tenants/{kept_id}"
    assert kept_unit in unit_names(await admin.get(f"{base}/organisation"))
    now = datetime.now(UTC).isoformat()
    assert kept_unit in unit_names(await admin.get(f"{base}/organisation", params={"as_of": now}))
    await admin.post(f"{base}/organisation/units", {"name": "Efter sletningen"})
    assert "Efter sletningen" in unit_names(await admin.get(f"{base}/organisation"))


async def test_export_is_complete_and_verifies(story: Story, tmp_path: Path) -> None:
    admin = await story.sign_in(ADMIN)
    settings = story.container.settings
    tenant_id, slug, unit = await tenant_with_unit(story, admin, "eksport")
    out = tmp_path / "export"

    result = cli(settings).invoke(main, ["tenants", "export", slug, "--out", str(out)])
    assert result.exit_code == 0, result.output

    manifest = json.loads((out / MANIFEST).read_text())
    assert manifest["tenant_id"] == str(tenant_id)
    assert manifest["chain_intact"]
    assert check_export(out) == []
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert len(events) == manifest["events"] >= 2
    assert any(unit in json.dumps(e["state"], ensure_ascii=False) for e in events)
    chain = (out / "chain.jsonl").read_text().splitlines()
    assert len(chain) == len(events) + 1
    assert unit in (out / "organisation.json").read_text()
    verified = await anyio.run_process([sys.executable, str(SCRIPT), str(out / "chain.jsonl")], check=False)
    assert verified.returncode == 0, verified.stdout
    # A changed file no longer matches its manifest.
    (out / "events.jsonl").write_text("[]\n")
    assert check_export(out) == ["events.jsonl: SHA-256 does not match the manifest"]


async def test_erasing_from_the_command_line_needs_confirmation(story: Story) -> None:
    admin = await story.sign_in(ADMIN)
    settings = story.container.settings
    tenant_id, slug, unit = await tenant_with_unit(story, admin, "kommando")
    await story.container.offloop(story.container.projections.catch_up_now, tenant_id)
    # The serving container lets go of the tenant first, as a restarted process would have.
    story.container.tenants.close()
    runner = cli(settings)

    refused = runner.invoke(main, ["tenants", "erase", slug], input="forkert\n")
    assert refused.exit_code != 0
    assert "nothing was erased" in refused.output
    assert story.container.control.tenant(tenant_id).slug == slug

    confirmed = runner.invoke(main, ["tenants", "erase", slug], input=f"{slug}\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert hits(settings, unit) == []
    assert_only_the_erasure_record(settings, tenant_id)
    assert slug not in runner.invoke(main, ["tenants", "list"]).output

    twice = runner.invoke(main, ["tenants", "erase", slug, "--yes"])
    assert twice.exit_code == 0  # finishing an erasure again is harmless
    unknown = runner.invoke(main, ["tenants", "erase", f"ukendt-{secrets.token_hex(4)}", "--yes"])
    assert unknown.exit_code != 0
