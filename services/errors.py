"""Errors the application layer adds to the domain's own (the HTTP layer maps them to statuses)."""

from __future__ import annotations

from domain.errors import DomainError


class ConcurrentModification(DomainError):
    """Someone else changed the aggregate since the client read it (optimistic concurrency)."""

    rule = "concurrent_modification"
