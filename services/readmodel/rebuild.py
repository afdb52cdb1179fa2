"""`balkort projections rebuild`: every tenant's read models (or one tenant's) rebuilt from the
whole log beside the live ones and swapped in (projections/rebuild.py), with a container of its
own."""

from __future__ import annotations

import time
from uuid import UUID

from projections.postgres_views import PostgresViewBackend
from projections.rebuild import Progress, rebuild_postgres, rebuild_sqlite
from services.bootstrap import build_container
from services.settings import Settings


def rebuild(
    settings: Settings,
    tenant_id: UUID | None = None,
    progress: Progress | None = None,
    *,
    batch_size: int = 500,
) -> tuple[int, float]:
    """Rebuilds every tenant's views (or one tenant's) from the whole log; returns (events
    applied, seconds). Every view (documents, audit trail, lineage) is rebuilt together: one
    projector writes them all. Raises LookupError for a tenant that is not onboarded."""
    started = time.perf_counter()
    container = build_container(settings)
    backend = container.views
    mappers = container.projections.mappers
    try:
        listed = [t.id for t in container.control.tenants()]
        if tenant_id is not None and tenant_id not in listed:
            raise LookupError(f"no tenant {tenant_id}")
        tenants = listed if tenant_id is None else [tenant_id]
        applied = 0
        for tenant in tenants:
            report = progress or (lambda _t, _at, _head: None)
            if isinstance(backend, PostgresViewBackend):
                applied += rebuild_postgres(backend, mappers(tenant), tenant, report, batch_size=batch_size)
            else:
                applied += rebuild_sqlite(
                    settings.data_dir / "stores", mappers(tenant), tenant, report, batch_size=batch_size
                )
    finally:
        if isinstance(backend, PostgresViewBackend):
            backend.close_blocking()
        container.tenants.close()
        container.control.close()
    return applied, time.perf_counter() - started
