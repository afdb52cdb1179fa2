"""With a Citus worker down, the projector still finds the tenants on the other workers behind.

The projector asks which tenants have events their views have not applied in one pipelined
round trip; a tenant on a stopped worker made the whole question fail, so no tenant was
projected until the worker came back. Now the tenants that answer are projected, and the one
that does not is asked again later. On a private three-node cluster (it stops a worker).
"""

from __future__ import annotations

import secrets
from uuid import UUID, uuid4

import psycopg
import pytest
from psycopg import sql

from projections.postgres_views import EVENTS_TABLE, tenants_with_new_events
from services.migrations import migrate, migrate_tenant
from services.persistence import citus
from services.persistence.env import tenant_store_name
from services.settings import Settings
from tests.clusters import private_cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _an_event_for(conn: psycopg.Connection[tuple[object, ...]], tenant_id: UUID) -> None:
    """A row in the tenant's log that its views have not applied (its content is not read)."""
    conn.execute(
        sql.SQL(
            "INSERT INTO {}.{} (originator_id, originator_version, topic, state) VALUES (%s, 1, 'probe', '')"
        ).format(sql.Identifier(tenant_store_name(tenant_id)), sql.Identifier(EVENTS_TABLE)),
        (uuid4(),),
    )


def test_tenants_on_healthy_workers_are_found_behind_while_another_worker_is_down() -> None:
    with private_cluster(plain=False) as cluster:
        url = cluster.create_database(f"balkort_behind_{secrets.token_hex(6)}")
        settings = Settings(database_url=url)
        migrate(settings)
        # Tenants until each worker holds one (new schemas are placed on the workers in turn).
        on: dict[citus.Node, UUID] = {}
        with cluster.connect(url) as conn:
            while len(on) < 2:
                tenant_id = uuid4()
                migrate_tenant(settings, tenant_id)
                on.setdefault(citus.distributed_schemas(conn)[tenant_store_name(tenant_id)], tenant_id)
            for tenant_id in on.values():
                _an_event_for(conn, tenant_id)
            both = sorted(on.values())
            assert sorted(tenants_with_new_events(conn, both)) == both

            (_, kept), (down, _) = sorted(on.items(), key=lambda item: item[0].port)
            cluster.stop_node(cluster.worker_named(down))
            try:
                assert tenants_with_new_events(conn, both) == [kept]
            finally:
                cluster.start_node(cluster.worker_named(down))
            assert sorted(tenants_with_new_events(conn, both)) == both, "asked again once the worker is back"
