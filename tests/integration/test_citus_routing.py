"""On Citus every statement Balkort sends names one tenant's schema or the control plane.

A whole engagement runs through the API on a Citus database (the run's own cluster under
`make test-citus`, otherwise a private three-node cluster), followed by what operators run: a
rebuild, a chain verification, an export and an erasure. Citus counts, per database, the
statements it executed on one shard and those it sent to several (`citus_stat_counters`,
switched on for the test's database): not one may have fanned out. Each tenant's schema is a
distributed schema whose tables all live on one worker; the control plane stays on the
coordinator.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from pathlib import Path
from uuid import UUID

import psycopg
import pytest
from psycopg import sql

from services.controlplane import system_provenance
from services.export import export_to
from services.migrations import migrate
from services.persistence import citus
from services.persistence.env import CONTROL_STORE, tenant_store_name
from services.readmodel.rebuild import rebuild
from services.readmodel.verify import verify_tenant
from services.settings import Settings
from services.usecases.tenants import erase_tenant
from tests.clusters import private_cluster
from tests.conftest import DATABASE_URL, expects_citus
from tests.e2e import test_a_whole_engagement as whole_engagement_story
from tests.http_harness import serving
from tests.keys import SESSION_SECRETS

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

# The end-to-end story, reused as the workload (imported as a module, so it is not collected here).
whole_engagement = whole_engagement_story.test_a_consultancy_runs_the_method_for_a_municipality_over_two_years


@pytest.fixture
def citus_database_url() -> Iterator[str]:
    """A migrated database of the test's own on a Citus cluster, its statements counted."""
    name = f"balkort_routing_{secrets.token_hex(6)}"

    def made_on(admin_url: str) -> str:
        url = citus.create_database(admin_url, name)
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("ALTER DATABASE {} SET citus.enable_stat_counters = on").format(sql.Identifier(name))
            )
        migrate(Settings(database_url=url))
        return url

    if expects_citus():
        try:
            yield made_on(DATABASE_URL)
        finally:
            citus.drop_database(DATABASE_URL, name)
    else:
        with private_cluster(plain=False) as cluster:
            yield made_on(cluster.admin_url)


def _counters(url: str) -> tuple[int, int]:
    """(single-shard, multi-shard) statements Citus executed for this database so far."""
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT query_execution_single_shard, query_execution_multi_shard "
            "FROM citus_stat_counters WHERE name = %s",
            (dbname,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _tenant_ids(url: str) -> list[UUID]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'").fetchall()
    return [UUID(hex=name.removeprefix("tenant_")) for (name,) in rows if len(name) == len("tenant_") + 32]


async def test_a_whole_engagement_and_its_operations_never_send_a_statement_to_more_than_one_worker(
    citus_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=citus_database_url,
        redis_url=redis_url,
        rate_limit_namespace=f"balkort:rate-limit:test-{secrets.token_hex(6)}",
        # The API process projects every tenant itself, its poll for others' writes included.
        project_in_process="all",
        **SESSION_SECRETS,
    )
    async with serving(settings) as story:
        await whole_engagement(story)
        container = story.container
        (tenant_id,) = _tenant_ids(citus_database_url)
        schema = tenant_store_name(tenant_id)

        with psycopg.connect(citus_database_url, autocommit=True) as conn:
            placed = citus.distributed_schemas(conn)
            workers = citus.workers(conn)
            nodes_of_tenant = conn.execute(
                "SELECT DISTINCT nodename, nodeport FROM citus_shards WHERE table_name::text LIKE %s",
                (f"{schema}.%",),
            ).fetchall()
            tables_of_tenant = conn.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND c.relkind = 'r'",
                (schema,),
            ).fetchone()
            shards_of_tenant = conn.execute(
                "SELECT count(*) FROM citus_shards WHERE table_name::text LIKE %s", (f"{schema}.%",)
            ).fetchone()
        assert schema in placed, "the tenant's schema is a distributed schema"
        assert CONTROL_STORE not in placed, "the control plane stays on the coordinator"
        assert placed[schema] in workers
        assert len(nodes_of_tenant) == 1, f"the tenant's tables are on one worker, not {nodes_of_tenant}"
        assert tables_of_tenant is not None
        assert shards_of_tenant is not None
        assert shards_of_tenant[0] == tables_of_tenant[0], "every table of the tenant is distributed"

        # What operators run, each on the tenant alone.
        applied, _ = await asyncio.to_thread(rebuild, settings, tenant_id)
        assert applied > 0
        verdict = await asyncio.to_thread(verify_tenant, container, tenant_id)
        assert verdict.intact, verdict
        manifest = await asyncio.to_thread(export_to, container, tenant_id, tmp_path / "export")
        assert manifest.tenant_id == tenant_id
        single, multi = _counters(citus_database_url)
        assert single > 0, "Citus counted the statements it routed"
        assert multi == 0, f"{multi} statements went to more than one worker"

        slug = container.control.tenant(tenant_id).slug
        await asyncio.to_thread(erase_tenant, container, slug, system_provenance("Erasure"))

    with psycopg.connect(citus_database_url, autocommit=True) as conn:
        assert schema not in citus.distributed_schemas(conn)
        gone = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()
    assert gone is None, "the erased tenant's schema is dropped from its worker"
    assert _counters(citus_database_url)[1] == 0
