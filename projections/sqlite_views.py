"""Read models on the embedded default: a SQLite file of views per tenant, beside its event store."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
from eventsourcing.persistence import Mapper, StoredEvent

from projections.audit import AuditFilter, AuditRow
from projections.chain import ChainLink, tenant_of
from projections.decoding import decode_at
from projections.lineage import LineageNode
from projections.projector import Batch, PositionMoved, Recorded
from projections.storable import storable_json, storable_row
from projections.versions import PROJECTION_VERSIONS

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
CREATE TABLE IF NOT EXISTS event_chain (
    position INTEGER PRIMARY KEY,
    digest BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS view_version (
    projection TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
"""
# Views that have applied nothing yet are this code's: stamped with its projection versions.
# Views that have (made before versions were recorded) stay unstamped, so count as version 1.
STAMP_VERSION = (
    "INSERT OR IGNORE INTO view_version (projection, version) SELECT ?, ? "
    "WHERE (SELECT position FROM view_position WHERE id = 1) = 0"
)

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
INSERT_CHAIN = "INSERT INTO event_chain (position, digest) VALUES (?, ?)"
SELECT_LAST_LINK = "SELECT position, digest FROM event_chain ORDER BY position DESC LIMIT 1"
SELECT_LINKS = "SELECT position, digest FROM event_chain WHERE position > ? ORDER BY position LIMIT ?"
SELECT_EVENTS = (
    "SELECT rowid, originator_id, originator_version, topic, state FROM stored_events "
    "WHERE rowid > ? ORDER BY rowid LIMIT ?"
)

# The audit trail, a page at a time in position order (keyset: after the last position seen);
# each criterion of an `AuditFilter` adds its condition.
SELECT_AUDIT = (
    "SELECT position, aggregate_id, aggregate_type, version, event_type, actor_id, actor_role, "
    "occurred_at, recorded_at, command_name, command_id, correlation_id, caused_by, details "
    "FROM audit_events WHERE position > ?"
)
AUDIT_CRITERIA = {
    "aggregate_id": "aggregate_id = ?",
    "aggregate_type": "aggregate_type = ?",
    "actor_id": "actor_id = ?",
    "occurred_from": "occurred_at >= ?",
    "occurred_to": "occurred_at < ?",
    "recorded_from": "recorded_at >= ?",
    "recorded_to": "recorded_at < ?",
    "event_types": "event_type IN ({marks})",
}
AUDIT_PAGE = " ORDER BY position LIMIT ?"
SELECT_NODES = (
    "SELECT node_id, kind, engagement_id, label, actor_id, actor_role, occurred_at, position "
    "FROM lineage_nodes WHERE node_id IN ({marks}) ORDER BY position, node_id"
)
SELECT_PARENTS = "SELECT child, parent FROM lineage_links WHERE child IN ({marks}) ORDER BY child, parent"
# Every link walked from a node back to its causes (ancestors), or on to what it caused
# (descendants), at most `?` links away; each link once, nearest first.
SELECT_ANCESTOR_LINKS = """
WITH RECURSIVE walk(child, parent, depth) AS (
    SELECT child, parent, 1 FROM lineage_links WHERE child = ?
    UNION
    SELECT l.child, l.parent, walk.depth + 1
    FROM lineage_links AS l JOIN walk ON l.child = walk.parent
    WHERE walk.depth < ?
)
SELECT child, parent FROM walk GROUP BY child, parent ORDER BY min(depth), child, parent
"""
SELECT_DESCENDANT_LINKS = """
WITH RECURSIVE walk(child, parent, depth) AS (
    SELECT child, parent, 1 FROM lineage_links WHERE parent = ?
    UNION
    SELECT l.child, l.parent, walk.depth + 1
    FROM lineage_links AS l JOIN walk ON l.parent = walk.child
    WHERE walk.depth < ?
)
SELECT child, parent FROM walk GROUP BY child, parent ORDER BY min(depth), child, parent
"""
# Node ids per `IN (...)` (well below SQLite's limit on bound variables).
IDS_PER_QUERY = 500

_json = msgspec.json.Encoder()
_caused_by = msgspec.json.Decoder(list[str])


def iso(moment: datetime) -> str:
    """Times as sortable UTC text (SQLite has no time type)."""
    return moment.astimezone(UTC).isoformat()


def _marks(count: int) -> str:
    return ",".join("?" * count)


def audit_query(filters: AuditFilter, after: int | None, limit: int) -> tuple[str, list[object]]:
    """The page of the audit trail `filters` select after position `after`, as SQL and arguments."""
    query = [SELECT_AUDIT]
    args: list[object] = [after or 0]
    for criterion, value in filters.conditions():
        if isinstance(value, tuple):
            query.append(" AND " + AUDIT_CRITERIA[criterion].format(marks=_marks(len(value))))
            args.extend(value)
        else:
            query.append(" AND " + AUDIT_CRITERIA[criterion])
            args.append(iso(value) if isinstance(value, datetime) else str(value))
    query.append(AUDIT_PAGE)
    args.append(limit)
    return "".join(query), args


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
            connection.executemany(STAMP_VERSION, PROJECTION_VERSIONS.items())

    def versions(self) -> dict[str, int]:
        """The projection versions the views were written by (projections/versions.py)."""
        with self._connection() as connection:
            return {p: int(v) for p, v in connection.execute("SELECT projection, version FROM view_version")}

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
                        storable_row(d.key, d.kind, str(d.aggregate_id), d.state, d.body, d.position)
                        for d in batch.documents
                    ],
                )
                connection.executemany(
                    INSERT_AUDIT,
                    [
                        storable_row(
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
                            storable_json(_json.encode(a.caused_by).decode()),
                            storable_json(bytes(a.details).decode()),
                        )
                        for a in batch.audit
                    ],
                )
                connection.executemany(
                    UPSERT_NODE,
                    [
                        storable_row(
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
                    INSERT_LINK,
                    [storable_row(n.node_id, parent) for n in batch.lineage for parent in n.parents],
                )
                connection.executemany(INSERT_CHAIN, [(c.position, c.digest) for c in batch.chain])
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def last_digest(self) -> ChainLink | None:
        with self._connection() as connection:
            row = connection.execute(SELECT_LAST_LINK).fetchone()
        return None if row is None else ChainLink(int(row[0]), bytes(row[1]))

    def chain_links(self, after: int, limit: int) -> list[ChainLink]:
        """Up to `limit` chain links after position `after`, in position order."""
        with self._connection() as connection:
            rows = connection.execute(SELECT_LINKS, (after, limit)).fetchall()
        return [ChainLink(int(position), bytes(digest)) for position, digest in rows]

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

    def audit(self, filters: AuditFilter, after: int | None, limit: int) -> list[AuditRow]:
        query, args = audit_query(filters, after, limit)
        with self._connection() as connection:
            rows = connection.execute(query, args).fetchall()
        return [
            AuditRow(
                position=position,
                aggregate_id=UUID(aggregate_id),
                aggregate_type=aggregate_type,
                version=version,
                event_type=event_type,
                actor_id=UUID(actor_id),
                actor_role=actor_role,
                occurred_at=datetime.fromisoformat(occurred_at),
                recorded_at=datetime.fromisoformat(recorded_at),
                command_name=command_name,
                command_id=UUID(command_id),
                correlation_id=correlation_id,
                caused_by=_caused_by.decode(caused_by),
                details=msgspec.Raw(details.encode()),
            )
            for (
                position,
                aggregate_id,
                aggregate_type,
                version,
                event_type,
                actor_id,
                actor_role,
                occurred_at,
                recorded_at,
                command_name,
                command_id,
                correlation_id,
                caused_by,
                details,
            ) in rows
        ]

    def lineage(self, node_ids: Iterable[str]) -> list[LineageNode]:
        wanted = list(dict.fromkeys(node_ids))
        nodes: list[Any] = []
        parents: dict[str, list[str]] = {}
        with self._connection() as connection:
            for start in range(0, len(wanted), IDS_PER_QUERY):
                chunk = wanted[start : start + IDS_PER_QUERY]
                marks = _marks(len(chunk))
                nodes.extend(connection.execute(SELECT_NODES.format(marks=marks), chunk).fetchall())
                for child, parent in connection.execute(SELECT_PARENTS.format(marks=marks), chunk):
                    parents.setdefault(child, []).append(parent)
        found = [
            LineageNode(
                node_id=node_id,
                kind=kind,
                engagement_id=UUID(engagement_id),
                label=label,
                actor_id=UUID(actor_id),
                actor_role=actor_role,
                occurred_at=datetime.fromisoformat(occurred_at),
                position=position,
                parents=parents.get(node_id, []),
            )
            for node_id, kind, engagement_id, label, actor_id, actor_role, occurred_at, position in nodes
        ]
        return sorted(found, key=lambda n: (n.position, n.node_id))

    def lineage_ancestors(self, node_id: str, depth: int) -> list[tuple[str, str]]:
        """The (child, parent) links from `node_id` back to its causes, `depth` links at most."""
        with self._connection() as connection:
            return [(c, p) for c, p in connection.execute(SELECT_ANCESTOR_LINKS, (node_id, depth))]

    def lineage_descendants(self, node_id: str, depth: int) -> list[tuple[str, str]]:
        """The (child, parent) links from `node_id` on to what it caused, `depth` links at most."""
        with self._connection() as connection:
            return [(c, p) for c, p in connection.execute(SELECT_DESCENDANT_LINKS, (node_id, depth))]


class SQLiteEventSource:
    """A tenant's SQLite event store read in notification order, decoded with the tenant's mapper."""

    def __init__(self, path: Path, mapper: Mapper[UUID], tenant_id: UUID | None = None) -> None:
        self.path = path
        self.mapper = mapper
        # Whose log this is: the hash chain starts from the tenant's genesis digest.
        self.tenant_id = tenant_id or tenant_of(path.name)

    def read(self, after: int, limit: int) -> list[Recorded]:
        return [
            # Decoded as the event at its position: unbound states only where legacy ones may be.
            Recorded(position, decode_at(self.mapper, position, stored), stored)
            for position, stored in self.read_stored(after, limit)
        ]

    def read_stored(self, after: int, limit: int) -> list[tuple[int, StoredEvent]]:
        """Up to `limit` rows after `after` as stored, not decoded (what the hash chain covers)."""
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)) as connection:
            rows = connection.execute(SELECT_EVENTS, (after, limit)).fetchall()
        return [
            (int(position), StoredEvent(UUID(oid), int(version), topic, bytes(state)))
            for position, oid, version, topic, state in rows
        ]
