"""The name of a tenant's store: its PostgreSQL schema, the stem of its SQLite files.

A tenant's events and its read models live under this one name, so the write side
(services/persistence/env.py) and the read model name a tenant's store alike.
"""

from __future__ import annotations

from uuid import UUID


def tenant_store_name(tenant_id: UUID) -> str:
    return f"tenant_{tenant_id.hex}"
