"""A rebuild on PostgreSQL fills fresh view tables inside the tenant's own schema and renames
them over the live ones. It makes no schema (on Citus each new schema is a distributed schema of
its own, perhaps on another worker, and a table moved between schemas is copied through the
coordinator), no table of the tenant leaves its worker, and afterwards the tenant's tables,
indexes and constraints are named as a fresh tenant's are, rebuild after rebuild."""

from __future__ import annotations

import asyncio
from dataclasses import astuple
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from projections.postgres_schema import VIEW_TABLES, create_view_tables
from projections.postgres_views import PostgresViewBackend
from projections.rebuild import FRESH
from services.bootstrap import Container, build_container
from services.persistence import citus
from services.persistence.env import tenant_store_name
from services.readmodel.rebuild import rebuild
from services.settings import Settings
from tests.integration.test_postgres_views import catch_up_pg, close, onboard, pg_documents, seed_story
from tests.keys import SESSION_JWT_SECRET, SESSION_MASTER_KEY
from tests.views_snapshot import Views, postgres_views

Conn = psycopg.Connection[Any]
FRESH_TABLES = sorted(table + FRESH for table in VIEW_TABLES)


def settings_on(url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=url,
        data_dir=tmp_path / "data",
        master_key=SESSION_MASTER_KEY,
        jwt_secret=SESSION_JWT_SECRET,
    )


def schema_names(conn: Conn) -> list[str]:
    return [name for (name,) in conn.execute("SELECT nspname FROM pg_namespace ORDER BY 1").fetchall()]


def catalogue(conn: Conn, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    """The names in a tenant's schema (relations, indexes with their definitions, constraints),
    with the schema's own name taken out so that two tenants compare."""
    rows = {
        "relations": conn.execute(
            "SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1",
            (schema,),
        ).fetchall(),
        "indexes": conn.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2",
            (schema,),
        ).fetchall(),
        "constraints": conn.execute(
            "SELECT c.relname, k.conname, k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s ORDER BY 1, 2",
            (schema,),
        ).fetchall(),
    }
    return {
        kind: [tuple(str(v).replace(schema, "S") for v in row) for row in found]
        for kind, found in rows.items()
    }


def fresh_tables(conn: Conn) -> list[tuple[str, str]]:
    """Every table named as a rebuild's fresh one, in any schema, with its schema."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relname = ANY(%s) ORDER BY 1, 2",
        (FRESH_TABLES,),
    ).fetchall()
    return [(str(schema), str(table)) for schema, table in rows]


def placements(conn: Conn, schema: str) -> dict[str, tuple[str, int]]:
    """On Citus, the node each table of the schema lives on (empty on plain PostgreSQL)."""
    if not citus.is_citus(conn):
        return {}
    rows = conn.execute(
        "SELECT table_name::text, nodename, nodeport FROM citus_shards WHERE table_name::text LIKE %s",
        (schema + ".%",),
    ).fetchall()
    return {str(table).partition(".")[2]: (str(host), int(port)) for table, host, port in rows}


def every_view(container: Container, schema: str) -> Views:
    pool = container.views.open_pool()  # type: ignore[attr-defined]
    views = postgres_views(pool, schema)
    s = sql.Identifier(schema)
    with pool.connection() as conn:
        views["chain"] = conn.execute(sql.SQL("SELECT * FROM {}.event_chain ORDER BY 1").format(s)).fetchall()
        views["versions"] = conn.execute(
            sql.SQL("SELECT * FROM {}.view_version ORDER BY 1").format(s)
        ).fetchall()
    return views


def test_a_rebuild_makes_no_schema_and_leaves_the_names_of_a_fresh_tenant(
    postgres_database_url: str, tmp_path: Path
) -> None:
    settings = settings_on(postgres_database_url, tmp_path)
    built = build_container(settings)
    try:
        tenant_id = seed_story(built)
        catch_up_pg(built, tenant_id)
        schema = tenant_store_name(tenant_id)
        newcomer = tenant_store_name(onboard(built))  # what a freshly made tenant's schema holds
        views_before = every_view(built, schema)
        documents_before = pg_documents(built, tenant_id)
        with psycopg.connect(postgres_database_url, autocommit=True) as conn:
            names = catalogue(conn, newcomer)
            assert catalogue(conn, schema) == names
            assert any(name.endswith("_pkey") for _, name, _ in names["indexes"])
            schemas = schema_names(conn)
            assert schema in schemas
            placed = placements(conn, schema)
            if citus.is_citus(conn):
                assert set(VIEW_TABLES) < set(placed)
                assert set(placed.values()) == {astuple(citus.distributed_schemas(conn)[schema])}

        # Looks at the catalogue once in each rebuild, while its fresh tables are being filled.
        midway: list[tuple[list[str], list[tuple[str, str]], dict[str, tuple[str, int]]]] = []
        started = [False]

        def look(_tenant: UUID, at: int, _head: int) -> None:
            if at == 0:
                started[0] = True
            elif started[0]:
                started[0] = False
                with psycopg.connect(postgres_database_url, autocommit=True) as conn:
                    midway.append((schema_names(conn), fresh_tables(conn), placements(conn, schema)))

        for _ in range(2):
            events, _seconds = rebuild(settings, tenant_id, look)
            assert events > 100
            with psycopg.connect(postgres_database_url, autocommit=True) as conn:
                assert schema_names(conn) == schemas
                assert fresh_tables(conn) == []
                assert catalogue(conn, schema) == names
                assert placements(conn, schema) == placed
        assert len(midway) == 2
        for schemas_midway, fresh_midway, placed_midway in midway:
            assert schemas_midway == schemas, "a rebuild made a schema"
            assert fresh_midway == [(schema, table) for table in FRESH_TABLES]
            # On Citus the fresh tables are made on the tenant's worker, beside its tables.
            assert placed_midway == placed | {t: node for t in FRESH_TABLES for node in set(placed.values())}

        assert every_view(built, schema) == views_before
        with built.views.open_pool().connection() as conn:  # type: ignore[attr-defined]
            create_view_tables(conn, schema)  # finds every table and index there already
        with psycopg.connect(postgres_database_url, autocommit=True) as conn:
            assert catalogue(conn, schema) == names

        async def read() -> dict[str, bytes | None]:
            try:
                return {key: await built.views.document(tenant_id, key) for key in documents_before}
            finally:
                await built.views.close()

        assert asyncio.run(read()) == documents_before
    finally:
        close(built)


class Interrupted(Exception):
    pass


def test_an_interrupted_rebuild_leaves_the_live_views_and_its_leftovers_go_with_the_next(
    postgres_database_url: str, tmp_path: Path
) -> None:
    settings = settings_on(postgres_database_url, tmp_path)
    built = build_container(settings)
    try:
        tenant_id = seed_story(built)
        catch_up_pg(built, tenant_id)
        schema = tenant_store_name(tenant_id)
        views_before = every_view(built, schema)
        with psycopg.connect(postgres_database_url, autocommit=True) as conn:
            names = catalogue(conn, schema)

        def interrupt(_tenant: UUID, at: int, _head: int) -> None:
            if at > 0:
                raise Interrupted

        with pytest.raises(Interrupted):
            rebuild(settings, tenant_id, interrupt)
        with psycopg.connect(postgres_database_url, autocommit=True) as conn:
            assert fresh_tables(conn) == []
            assert catalogue(conn, schema) == names
        assert every_view(built, schema) == views_before

        # A process killed mid-rebuild cleans up nothing: its fresh tables, half filled, are
        # dropped by the next rebuild before it starts.
        assert isinstance(built.views, PostgresViewBackend)
        with built.views.open_pool().connection() as conn:
            create_view_tables(conn, schema, FRESH)
            conn.execute(
                sql.SQL("UPDATE {} SET position = 7").format(sql.Identifier(schema, "view_position" + FRESH))
            )
        rebuild(settings, tenant_id, None)
        with psycopg.connect(postgres_database_url, autocommit=True) as conn:
            assert fresh_tables(conn) == []
            assert catalogue(conn, schema) == names
        assert every_view(built, schema) == views_before
    finally:
        close(built)
