"""The outbox on the embedded default: one SQLite file for the platform, `<data_dir>/outbox.sqlite3`."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from projections.outbox.store import SqlOutbox, tables


class SQLiteOutbox(SqlOutbox):
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as conn:
            for statement in tables("", "TEXT"):
                conn.execute(statement)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # One writer at a time (BEGIN IMMEDIATE): a claim reads and leases in one step.
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            # Deleted rows are overwritten, not left in free pages (an erased organisation's words).
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _after_erasure(self) -> None:
        # The write-ahead log still holds the erased pages until it is checkpointed and emptied.
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def _statement(self, template: str) -> str:
        return template.format(t="")

    def _moment(self, value: datetime) -> Any:
        # One spelling (UTC, microseconds) so that text compares as time does.
        return value.astimezone(UTC).isoformat(timespec="microseconds")

    def _read_moment(self, value: Any) -> datetime:
        return datetime.fromisoformat(value)
