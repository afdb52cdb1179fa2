"""Turns Settings into eventsourcing's environment keys for one store (a tenant or the control plane)."""

from __future__ import annotations

import os

# Named where the read model can name it too; re-exported for the write side.
from projections.stores import tenant_store_name as tenant_store_name
from services.persistence.recorders import FACTORY_TOPIC
from services.settings import Settings

CONTROL_STORE = "control"
# Balkort's own keys in a tenant application's environment.
PSEUDONYM_KEY = "BALKORT_PSEUDONYM_KEY"
# Comma-separated earlier pseudonym keys: a rater who rated under one of them keeps it.
EARLIER_PSEUDONYM_KEYS = "BALKORT_EARLIER_PSEUDONYM_KEYS"
SNAPSHOT_INTERVAL = "BALKORT_SNAPSHOT_INTERVAL"


# What this process creates is its user's alone: stores, journals, views and keys hold
# personal data and secrets (files 0600, folders 0700).
PRIVATE_UMASK = 0o077


def private_files(settings: Settings) -> None:
    """From now on every file and folder this process creates is private to its user (the
    umask covers what SQLite creates itself: databases, journals, WAL and shared-memory
    files); the data directory is created so."""
    os.umask(PRIVATE_UMASK)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)


def application_env(settings: Settings, store: str) -> dict[str, str]:
    if not settings.uses_postgres:
        path = settings.data_dir / "stores" / f"{store}.sqlite3"
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        return {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(path)}
    pg = settings.postgres
    return {
        # The library's PostgreSQL persistence with inserts that stay on the tenant's node
        # (recorders.py).
        "PERSISTENCE_MODULE": FACTORY_TOPIC,
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
