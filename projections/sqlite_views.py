"""Read models on the embedded default: a SQLite file of views per tenant, beside its event store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent

from projections.projector import Batch, PositionMoved, Recorded

SCHEMA = """
CREATE TABLE IF NOT EXISTS view_position (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL
);
INSERT OR IGNORE INTO view_position (id, position) VALUES (1, 0);
CREATE TABLE IF NOT EXISTS view_documents (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    aggregate_id TEXT NOT NULL,
    state BLOB NOT NULL,
    body BLOB NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS view_documents_kind ON view_documents (kind, aggregate_id);
CREATE TABLE IF NOT EXISTS audit_events (
    position INTEGER PRIMARY KEY,
    aggregate_id TEXT NOT NULL,
    aggregate_type TEXT NOT NULL,
    version INTEGER NOT NULL,
    event_type TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    command_name TEXT NOT NULL,
    command_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    caused_by TEXT NOT NULL,
    details TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_aggregate ON audit_events (aggregate_id, position);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit_events (actor_id, position);
CREATE INDEX IF NOT EXISTS audit_by_type ON audit_events (event_type, position);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit_events (occurred_at, position);
CREATE TABLE IF NOT EXISTS lineage_nodes (
    node_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    engagement_id TEXT NOT NULL,
    label TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    actor_role TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS lineage_links (
    child TEXT NOT NULL,
    parent TEXT NOT NULL,
    PRIMARY KEY (child, parent)
);
CREATE INDEX IF NOT EXISTS lineage_by_parent ON lineage_links (parent);
"""

UPSERT_DOCUMENT = (
    "INSERT INTO view_documents (key, kind, aggregate_id, state, body, position) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET state = excluded.state, body = excluded.body, position = excluded.position"
)
INSERT_AUDIT = "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
UPSERT_NODE = (
    "INSERT INTO lineage_nodes VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (node_id) DO UPDATE SET "
    "label = excluded.label, actor_id = excluded.actor_id, actor_role = excluded.actor_role, "
    "occurred_at = excluded.occurred_at, position = excluded.position"
)
INSERT_LINK = "INSERT OR IGNORE INTO lineage_links (child, parent) VALUES (?, ?)"
MOVE_POSITION = "UPDATE view_position SET position = ? WHERE id = 1 AND position = ?"
SELECT_EVENTS = (
    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
    "WHERE rowid > ? ORDER BY rowid LIMIT ?"
)

_json = msgspec.json.Encoder()


def iso(moment: datetime) -> str:
    """Times as sortable UTC text (SQLite has no time type)."""
    return moment.astimezone(UTC).isoformat()


def connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    return connection


class SQLiteViewStore:
    """The views of one tenant in their own SQLite file; rows and position in one transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(connect(path)) as connection:
            connection.executescript(SCHEMA)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        with closing(connect(self.path)) as connection:
            yield connection

    def position(self) -> int:
        with self._connection() as connection:
            (position,) = connection.execute("SELECT position FROM view_position WHERE id = 1").fetchone()
            return int(position)

    def states(self, keys: Iterable[str]) -> dict[str, bytes]:
        wanted = list(keys)
        if not wanted:
            return {}
        with self._connection() as connection:
            marks = ",".join("?" * len(wanted))
            rows = connection.execute(f"SELECT key, state FROM view_documents WHERE key IN ({marks})", wanted)  # noqa: S608
            return {key: bytes(state) for key, state in rows}

    def commit(self, batch: Batch) -> None:
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")
            try:
                moved = connection.execute(MOVE_POSITION, (batch.position, batch.after)).rowcount
                if moved != 1:
                    raise PositionMoved(f"views moved past {batch.after} meanwhile")
                connection.executemany(
                    UPSERT_DOCUMENT,
                    [
                        (d.key, d.kind, str(d.aggregate_id), d.state, d.body, d.position)
                        for d in batch.documents
                    ],
                )
                connection.executemany(
                    INSERT_AUDIT,
                    [
                        (
                            a.position,
                            str(a.aggregate_id),
                            a.aggregate_type,
                            a.version,
                            a.event_type,
                            str(a.actor_id),
                            a.actor_role,
                            iso(a.occurred_at),
                            iso(a.recorded_at),
                            a.command_name,
                            str(a.command_id),
                            a.correlation_id,
                            _json.encode(a.caused_by).decode(),
                            bytes(a.details).decode(),
                        )
                        for a in batch.audit
                    ],
                )
                connection.executemany(
                    UPSERT_NODE,
                    [
                        (
                            n.node_id,
                            n.kind,
                            str(n.engagement_id),
                            n.label,
                            str(n.actor_id),
                            n.actor_role,
                            iso(n.occurred_at),
                            n.position,
                        )
                        for n in batch.lineage
                    ],
                )
                connection.executemany(
                    INSERT_LINK, [(n.node_id, parent) for n in batch.lineage for parent in n.parents]
                )
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def document(self, key: str) -> bytes | None:
        with self._connection() as connection:
            row = connection.execute("SELECT body FROM view_documents WHERE key = ?", (key,)).fetchone()
            return None if row is None else bytes(row[0])

    def documents(self, kind: str) -> list[bytes]:
        with self._connection() as connection:
            rows = connection.execute(
                "SELECT body FROM view_documents WHERE kind = ? ORDER BY position", (kind,)
            )
            return [bytes(body) for (body,) in rows]


class SQLiteEventSource:
    """A tenant's SQLite event store read in notification order, decoded with the tenant's mapper."""

    def __init__(self, path: Path, mapper: Mapper[UUID]) -> None:
        self.path = path
        self.mapper = mapper

    def read(self, after: int, limit: int) -> list[Recorded]:
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as connection:
            rows = connection.execute(SELECT_EVENTS, (after, limit)).fetchall()
        return [
            Recorded(
                position, self.mapper.to_domain_event(StoredEvent(UUID(oid), version, topic, bytes(state)))
            )
            for position, oid, version, topic, state in rows
        ]
