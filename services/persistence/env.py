"""Turns Settings into eventsourcing's environment keys for one store (a tenant or the control plane)."""

from __future__ import annotations

from uuid import UUID

from services.settings import Settings

CONTROL_STORE = "control"
# Balkort's own keys in a tenant application's environment.
PSEUDONYM_KEY = "BALKORT_PSEUDONYM_KEY"
SNAPSHOT_INTERVAL = "BALKORT_SNAPSHOT_INTERVAL"


def tenant_store_name(tenant_id: UUID) -> str:
    return f"tenant_{tenant_id.hex}"


def application_env(settings: Settings, store: str) -> dict[str, str]:
    if not settings.uses_postgres:
        path = settings.data_dir / "stores" / f"{store}.sqlite3"
        path.parent.mkdir(parents=True, exist_ok=True)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    pg = settings.postgres
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": pg.dbname,
        "POSTGRES_HOST": pg.host,
        "POSTGRES_PORT": str(pg.port),
        "POSTGRES_USER": pg.user,
        "POSTGRES_PASSWORD": pg.password,
        "POSTGRES_SCHEMA": store,
        "POSTGRES_POOL_SIZE": str(settings.tenant_pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.tenant_pool_overflow),
        # Short, so a database that is away turns into a quick 503 rather than a hung request.
        "POSTGRES_CONNECT_TIMEOUT": str(settings.database_connect_timeout),
    }
