"""Schema migrations on PostgreSQL: what `balkort migrate` applies, and what every other process
checks before it starts (docs/adr/0022).

Two lists, each numbered from 1 and only ever appended to:

- `CONTROL_MIGRATIONS`, applied to the control plane's schema; `control.schema_version` lists
  each one applied (scope `control`).
- `TENANT_MIGRATIONS`, applied to every tenant's schema, each tenant in its own transaction;
  the tenant's own `schema_version` table lists what it has. Once every tenant has them, the
  control plane's table says so too (scope `tenants`): that row is what a starting process
  reads, one query whatever the number of tenants. A tenant onboarded later gets every tenant
  migration as its schema is made (`migrate_tenant`).

`migrate` holds a session advisory lock for its whole run, so concurrent runs (one per pod
that starts, say) wait for each other, and the later ones find nothing left to do. Every
statement is written to be safe on a schema made before versions were recorded (`IF NOT
EXISTS`), so such a database is adopted as it stands.

The embedded default (SQLite, one process) has no migrations: each store creates what it
lacks when it opens, as before.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import psycopg
import psycopg.errors
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment
from psycopg import sql

from projections.outbox.postgres_store import create_outbox_tables
from projections.postgres_schema import create_view_tables
from services.persistence.citus import is_citus
from services.persistence.env import CONTROL_STORE, tenant_store_name
from services.persistence.keys import create_keys_table
from services.settings import Settings

VERSION_TABLE = "schema_version"
CONTROL_SCOPE = "control"
TENANTS_SCOPE = "tenants"
# The event stores' names, as eventsourcing prefixes their tables: `ControlPlane.name` and
# `TenantApplication.name` (a test holds them to it; importing those here would be a cycle).
CONTROL_APPLICATION = "ControlPlane"
TENANT_APPLICATION = "TenantApplication"
MIGRATE_LOCK = "balkort-migrate"
TENANT_SCHEMA = re.compile(r"^tenant_[0-9a-f]{32}$")
RUN_MIGRATE = "run `balkort migrate`"

Conn = psycopg.Connection[Any]


@dataclass(frozen=True)
class Migration:
    """One step: `apply(conn, schema)` runs inside the transaction that records it."""

    version: int
    name: str
    apply: Callable[[Conn, str], None]


class SchemaBehind(RuntimeError):
    """The database's schema is older than this code (or missing): `balkort migrate` first."""


@dataclass
class Migrated:
    """What one `migrate` run did."""

    control_applied: list[int] = field(default_factory=list)
    tenants: int = 0
    tenants_changed: int = 0
    control_version: int = 0
    tenant_version: int = 0

    def summary(self) -> str:
        applied = ", ".join(map(str, self.control_applied)) or "none"
        return (
            f"schema at control {self.control_version}, tenants {self.tenant_version}; "
            f"applied control migrations: {applied}; tenants migrated: "
            f"{self.tenants_changed} of {self.tenants}"
        )


# -- the steps -------------------------------------------------------------------------


def _event_store(application: str) -> Callable[[Conn, str], None]:
    def apply(conn: Conn, schema: str) -> None:
        """The library's tables (events, snapshots), types and functions for one store."""
        # Only the schema shapes the statements; the factory opens no connection.
        info = conn.info
        env = {
            "POSTGRES_DBNAME": info.dbname,
            "POSTGRES_HOST": info.host,
            "POSTGRES_PORT": str(info.port),
            "POSTGRES_USER": info.user,
            "POSTGRES_PASSWORD": info.password,
            "POSTGRES_SCHEMA": schema,
            PostgresFactory.CREATE_TABLE: "n",
        }
        factory = PostgresFactory(Environment(application, env))
        try:
            statements = [
                *factory.application_recorder().sql_create_statements,  # type: ignore[attr-defined]
                *factory.aggregate_recorder("snapshots").sql_create_statements,  # type: ignore[attr-defined]
            ]
        finally:
            factory.close()
        for statement in statements:
            if "CREATE TYPE" in statement.as_string():
                # No IF NOT EXISTS for types: a savepoint keeps the transaction usable.
                with contextlib.suppress(psycopg.errors.DuplicateObject), conn.transaction():
                    conn.execute(statement, prepare=False)
            else:
                conn.execute(statement, prepare=False)

    return apply


def _tenant_keys(conn: Conn, schema: str) -> None:
    create_keys_table(conn)


def _outbox(conn: Conn, schema: str) -> None:
    create_outbox_tables(conn, schema)


def _read_models(conn: Conn, schema: str) -> None:
    create_view_tables(conn, schema)


CONTROL_MIGRATIONS: Sequence[Migration] = (
    Migration(1, "control plane event store", _event_store(CONTROL_APPLICATION)),
    Migration(2, "tenant keys", _tenant_keys),
    Migration(3, "outbox", _outbox),
)
TENANT_MIGRATIONS: Sequence[Migration] = (
    Migration(1, "tenant event store", _event_store(TENANT_APPLICATION)),
    Migration(2, "read models", _read_models),
)
CONTROL_VERSION = CONTROL_MIGRATIONS[-1].version
TENANT_VERSION = TENANT_MIGRATIONS[-1].version


# -- running them ----------------------------------------------------------------------


def _connect(settings: Settings) -> Conn:
    return psycopg.connect(
        settings.postgres.dsn, autocommit=True, connect_timeout=max(2, settings.database_connect_timeout)
    )


def _schema_exists(conn: Conn, schema: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone() is not None


def _prepare_control(conn: Conn) -> None:
    with conn.transaction():
        if not _schema_exists(conn, CONTROL_STORE):
            # On Citus with schema-based sharding a new schema is distributed: the control plane
            # stays on the coordinator (docs/adr/0022). The setting is unknown elsewhere.
            if is_citus(conn):
                conn.execute("SET LOCAL citus.enable_schema_based_sharding = off")
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(CONTROL_STORE)))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (scope text NOT NULL, version integer NOT NULL, "
                "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
                "PRIMARY KEY (scope, version))"
            ).format(sql.Identifier(CONTROL_STORE, VERSION_TABLE))
        )


def _applied(conn: Conn, scope: str) -> set[int]:
    rows = conn.execute(
        sql.SQL("SELECT version FROM {} WHERE scope = %s").format(
            sql.Identifier(CONTROL_STORE, VERSION_TABLE)
        ),
        (scope,),
    ).fetchall()
    return {int(version) for (version,) in rows}


def _record(conn: Conn, scope: str, migration: Migration) -> None:
    conn.execute(
        sql.SQL("INSERT INTO {} (scope, version, name) VALUES (%s, %s, %s)").format(
            sql.Identifier(CONTROL_STORE, VERSION_TABLE)
        ),
        (scope, migration.version, migration.name),
    )


def tenant_schemas(conn: Conn) -> list[str]:
    """Every tenant's schema in the database (a side schema left by an earlier release's rebuild
    is not one)."""
    rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%' ORDER BY nspname")
    return [name for (name,) in rows.fetchall() if TENANT_SCHEMA.match(name)]


def migrate_tenant_schema(conn: Conn, schema: str) -> list[int]:
    """Brings one tenant's schema (created if missing) up to `TENANT_VERSION` in one
    transaction, under a lock of its own; returns the versions applied. `conn` in autocommit."""
    applied: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{MIGRATE_LOCK}:{schema}",))
        if is_citus(conn):
            # A distributed schema: every table made in it lives on one worker, and statements
            # naming it are routed there. A schema made before the database had Citus becomes
            # one here too (docs/adr/0025).
            conn.execute("SET LOCAL citus.enable_schema_based_sharding = on")
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
        table = sql.Identifier(schema, VERSION_TABLE)
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} (version integer PRIMARY KEY, name text NOT NULL, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            ).format(table)
        )
        have = {int(v) for (v,) in conn.execute(sql.SQL("SELECT version FROM {}").format(table)).fetchall()}
        for migration in TENANT_MIGRATIONS:
            if migration.version in have:
                continue
            migration.apply(conn, schema)
            conn.execute(
                sql.SQL("INSERT INTO {} (version, name) VALUES (%s, %s)").format(table),
                (migration.version, migration.name),
            )
            applied.append(migration.version)
    return applied


def migrate_tenant(settings: Settings, tenant_id: UUID) -> list[int]:
    """A new (or any) tenant's schema at `TENANT_VERSION`: what onboarding runs on PostgreSQL."""
    with _connect(settings) as conn:
        return migrate_tenant_schema(conn, tenant_store_name(tenant_id))


def migrate(settings: Settings) -> Migrated:
    """Brings the database up to this code's schema: the control plane's migrations, then every
    tenant's, each tenant in its own transaction. Idempotent; concurrent runs wait for each
    other (a session advisory lock). A no-op on the embedded default."""
    done = Migrated()
    if not settings.uses_postgres:
        done.control_version, done.tenant_version = CONTROL_VERSION, TENANT_VERSION
        return done
    with _connect(settings) as conn:
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (MIGRATE_LOCK,))
        try:
            _prepare_control(conn)
            have = _applied(conn, CONTROL_SCOPE)
            for migration in CONTROL_MIGRATIONS:
                if migration.version not in have:
                    with conn.transaction():
                        migration.apply(conn, CONTROL_STORE)
                        _record(conn, CONTROL_SCOPE, migration)
                    done.control_applied.append(migration.version)
            schemas = tenant_schemas(conn)
            done.tenants = len(schemas)
            for schema in schemas:
                if migrate_tenant_schema(conn, schema):
                    done.tenants_changed += 1
            # Every tenant has them now: a starting process reads this instead of every schema.
            recorded = _applied(conn, TENANTS_SCOPE)
            with conn.transaction():
                for migration in TENANT_MIGRATIONS:
                    if migration.version not in recorded:
                        _record(conn, TENANTS_SCOPE, migration)
            done.control_version, done.tenant_version = versions(conn)
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (MIGRATE_LOCK,))
    return done


def versions(conn: Conn) -> tuple[int, int]:
    """The (control, tenants) schema versions the database records; (0, 0) before any migrate."""
    try:
        rows = conn.execute(
            sql.SQL("SELECT scope, max(version) FROM {} GROUP BY scope").format(
                sql.Identifier(CONTROL_STORE, VERSION_TABLE)
            )
        ).fetchall()
    except (psycopg.errors.UndefinedTable, psycopg.errors.InvalidSchemaName):
        return 0, 0
    found = {scope: int(version) for scope, version in rows}
    return found.get(CONTROL_SCOPE, 0), found.get(TENANTS_SCOPE, 0)


def check_schema(settings: Settings) -> None:
    """Raises `SchemaBehind` when the database's schema is older than this code's (a newer one
    is fine: processes of the previous release keep running while a release rolls out).
    Nothing to check on the embedded default."""
    if not settings.uses_postgres:
        return
    with _connect(settings) as conn:
        control, tenants = versions(conn)
    if control >= CONTROL_VERSION and tenants >= TENANT_VERSION:
        return
    if (control, tenants) == (0, 0):
        raise SchemaBehind(f"the database has no Balkort schema yet: {RUN_MIGRATE} first")
    raise SchemaBehind(
        f"the database schema is behind this release (control {control} of {CONTROL_VERSION}, "
        f"tenants {tenants} of {TENANT_VERSION}): {RUN_MIGRATE} first"
    )
