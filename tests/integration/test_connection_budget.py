"""An API process's PostgreSQL connections stay within a bound computed from its settings however
many tenants are active, and serving them opens no new connections once warm.

The process under test is this one: the app runs in-process on a database of the test's own,
so every client backend of that database belongs to it (the counting connection goes to another
database). New connections are counted by PostgreSQL itself (`pg_stat_database.sessions`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import psycopg
import pytest

from domain.organisation import Organisation
from services.bootstrap import build_container
from services.controlplane import system_provenance
from services.settings import Settings
from services.usecases.tenants import onboard_tenant
from tests import commanding
from tests.conftest import DATABASE_URL
from tests.http_harness import ADMIN, Person, serving
from tests.keys import SESSION_SECRETS

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

TENANTS = 40
# More active tenants than open stores: every request in turn opens a store that is not open.
OPEN_TENANTS = 8


def connection_bound(settings: Settings) -> int:
    """What one API process may hold: the tenant stores' shared pool, the control plane's pool,
    the in-process projector's pool and the asyncio pool that answers view queries."""
    return (
        settings.tenant_connections
        + settings.tenant_pool_size
        + settings.tenant_pool_overflow
        + settings.projector_pool_size
        + settings.view_query_pool_size
    )


def counts(dbname: str) -> tuple[int, int]:
    """(client backends connected to `dbname` now, sessions ever established to it)."""
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend'),"
            " (SELECT sessions FROM pg_stat_database WHERE datname = %s)",
            (dbname, dbname),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def add_unit(admin: Person, tenant_id: str) -> None:
    await admin.post(
        f"/api/v1/tenants/{tenant_id}/organisation/units", {"name": f"Enhed {secrets.token_hex(4)}"}
    )


async def test_forty_tenants_in_turn_stay_within_the_connection_bound_and_open_no_connection_per_request(
    postgres_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    dbname = urlsplit(postgres_database_url).path.lstrip("/")
    settings = Settings(
        database_url=postgres_database_url,
        redis_url=redis_url,
        data_dir=tmp_path,
        open_tenants=OPEN_TENANTS,
        rate_limit_per_minute=1_000_000,
        **SESSION_SECRETS,
    )
    bound = connection_bound(settings)
    async with serving(settings, quick_hashes=True) as story:
        admin = await story.sign_in(ADMIN)
        tenants = []
        for i in range(TENANTS):
            created = await admin.post(
                "/api/v1/tenants", {"name": f"Kommune {i}", "slug": f"budget-{uuid4().hex[:12]}"}
            )
            tenants.append(created["id"])
            await admin.put(f"/api/v1/tenants/{created['id']}/organisation", {"name": f"Organisation {i}"})
        # Warm-up: every tenant's store opened once, every pool at the size sequential use needs.
        for tenant_id in tenants:
            await add_unit(admin, tenant_id)
        held_before, sessions_before = counts(dbname)
        assert held_before <= bound

        requests = 0
        for _ in range(2):
            for tenant_id in tenants:
                await add_unit(admin, tenant_id)
                requests += 1
            held, _ = counts(dbname)
            assert held <= bound, f"{held} server connections, bound {bound}"
        held_after, sessions_after = counts(dbname)

    new = sessions_after - sessions_before
    print(
        f"\n{TENANTS} tenants, open_tenants {OPEN_TENANTS}: {held_before} -> {held_after} server connections "
        f"(bound {bound}); {new} new over {requests} requests"
    )
    # A pool may still grow towards its size, but nothing is closed and opened again per request.
    assert new <= bound - held_before
    assert new < requests / 10


def test_two_tenants_on_one_shared_connection_each_write_into_their_own_schema(
    postgres_database_url: str, tmp_path: Path
) -> None:
    # One connection serves both tenants in turn, so each write must carry its own schema's
    # composite type (psycopg caches one class per type name; shared_pool.py makes one per schema).
    settings = Settings(
        database_url=postgres_database_url,
        data_dir=tmp_path,
        open_tenants=1,
        tenant_connections=1,
        **SESSION_SECRETS,
    )
    container = build_container(settings)
    try:
        system = system_provenance("Test")
        a = onboard_tenant(container, "Aby", f"aby-{uuid4().hex[:8]}", system)
        b = onboard_tenant(container, "Bby", f"bby-{uuid4().hex[:8]}", system)
        for tenant in (a, b):
            container.tenants.call(
                tenant,
                lambda app, t=tenant: commanding.establish_organisation(
                    app, t, "Org", system_provenance("Test")
                ),
            )
        for i in range(6):
            for tenant in (a, b):
                container.tenants.call(
                    tenant,
                    lambda app, t=tenant, n=i: commanding.add_unit(
                        app, t, f"Enhed {t.hex[:4]} {n}", system_provenance("Test")
                    ),
                )
        for tenant in (a, b):
            with container.tenants.lease(tenant) as app:
                organisation = app.repository.get(Organisation.id_for(tenant))
                events = app.recorder.select_notifications(start=1, limit=100)
            names = sorted(u.name for u in organisation.units.values())
            assert names == [f"Enhed {tenant.hex[:4]} {n}" for n in range(6)]
            assert len(events) == 7
    finally:
        container.tenants.close()
        container.control.close()
