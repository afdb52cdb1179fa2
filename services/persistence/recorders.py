"""The event store's PostgreSQL recorders, with inserts that stay on the tenant's own node
(docs/adr/0025).

Two statements of the library's recorders are replaced; everything else (tables, reads,
subscriptions, conflict detection) is the library's:

- **The insert lock.** The library takes `LOCK TABLE … IN EXCLUSIVE MODE` before inserting,
  so that notification ids commit in the order they are drawn and a reader tailing the log
  never passes a gap that fills in later. Here a transaction-scoped advisory lock keyed by the
  events table does the same: every inserter into a store takes it before drawing ids and holds
  it until commit; readers took neither. On a Citus distributed schema the table lock is sent to
  every worker and turns each insert into a two-phase commit across the cluster (a worker down
  then stalls every tenant's writes, and a schema move blocks writes for its whole length); the
  advisory lock is taken on the coordinator, where the transaction runs.
- **The insert itself.** The library inserts `SELECT … FROM unnest(<array of a composite>)`.
  Citus cannot route that to a worker: it first copies the rows there, and a copy makes the
  commit two-phase. A multi-row `INSERT … VALUES` is routed to the one worker holding the
  tenant and commits there in one phase.

Both apply to plain PostgreSQL as well: one code path, and the same guarantees.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder, PostgresApplicationRecorder, PostgresFactory
from psycopg import Cursor, sql
from psycopg.rows import DictRow

__all__ = ["EVENT_INSERT_LOCK_CLASS", "FACTORY_TOPIC", "BalkortPostgresFactory"]

# The first key of the two-key advisory lock on a store's event inserts ("BKev"); the second
# is the hash of the events table's qualified name.
EVENT_INSERT_LOCK_CLASS = 0x424B6576
COLUMNS = ("originator_id", "originator_version", "topic", "state")


def _values_insert(schema: str, table: str, rows: int, returning: bool) -> sql.Composed:
    statement = sql.SQL("INSERT INTO {}.{} ({}) VALUES {}").format(
        sql.Identifier(schema),
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, COLUMNS)),
        sql.SQL(", ").join([sql.SQL("(%s, %s, %s, %s)")] * rows),
    )
    return statement + sql.SQL(" RETURNING notification_id") if returning else statement


def _parameters(stored_events: Sequence[StoredEvent]) -> list[Any]:
    return [
        value
        for event in stored_events
        for value in (event.originator_id, event.originator_version, event.topic, event.state)
    ]


class BalkortAggregateRecorder(PostgresAggregateRecorder):
    """Snapshots: inserted with one multi-row `VALUES` statement."""

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        statement = _values_insert(self.datastore.schema, self.events_table_name, len(stored_events), False)
        curs.execute(statement, _parameters(stored_events))


class BalkortApplicationRecorder(PostgresApplicationRecorder):
    """Events: the advisory insert lock, the notification, then one multi-row `VALUES`
    statement returning the notification ids in the order of `stored_events`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        table = f"{self.datastore.schema}.{self.events_table_name}"
        self.lock_table_statements = [
            sql.SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            sql.SQL("SELECT pg_advisory_xact_lock({0}, hashtext({1}))").format(
                sql.Literal(EVENT_INSERT_LOCK_CLASS), sql.Literal(table)
            ),
        ]

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **_: Any
    ) -> None:
        self._lock_table(curs)
        self._notify_channel(curs)
        statement = _values_insert(self.datastore.schema, self.events_table_name, len(stored_events), True)
        curs.execute(statement, _parameters(stored_events))


class BalkortPostgresFactory(PostgresFactory):
    """The library's PostgreSQL factory, building the recorders above."""

    aggregate_recorder_class = BalkortAggregateRecorder
    application_recorder_class = BalkortApplicationRecorder


# What `PERSISTENCE_MODULE` names to have applications built with this factory.
FACTORY_TOPIC = f"{__name__}:{BalkortPostgresFactory.__qualname__}"
