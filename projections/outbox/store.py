"""The outbox's store, its logic written once over a connection of either backend
(`sqlite_store.py`, `postgres_store.py` say how to connect and how each writes a moment)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from projections.outbox import sql
from projections.outbox.digest import WEEKLY_DIGEST, is_empty, merged, without
from projections.outbox.intents import MessageIntent, decode_intent, encode_intent
from projections.outbox.project import OutboxBatch, Person
from projections.outbox.rows import Outgoing, SendAgain, State
from projections.outbox.voiding import is_prefix, is_void, like_pattern
from projections.projector import PositionMoved


class SqlOutbox:
    """Rows and positions in one transaction (`commit`); claims with a lease, outcomes written
    only by the lease's holder."""

    def _transaction(self) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _moment(self, value: datetime) -> Any:
        return value

    def _read_moment(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise TypeError(f"a moment was stored as {type(value).__name__}")
        return value

    def _statement(self, template: str) -> str:
        raise NotImplementedError

    def _rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._transaction() as conn:
            return list(conn.execute(self._statement(statement), params).fetchall())

    # -- the projection ------------------------------------------------------------------

    def position(self, log_id: UUID) -> int:
        rows = self._rows(sql.SELECT_POSITION, (str(log_id),))
        return int(rows[0][0]) if rows else 0

    def commit(self, batch: OutboxBatch) -> None:
        with self._transaction() as conn:
            log = str(batch.log_id)
            conn.execute(self._statement(sql.START_POSITION), (log,))
            moved = conn.execute(self._statement(sql.MOVE_POSITION), (batch.position, log, batch.after))
            if moved.rowcount != 1:
                raise PositionMoved(f"the outbox of {log} moved on from position {batch.after}")
            for person in batch.people:
                conn.execute(
                    self._statement(sql.UPSERT_PERSON), (str(person.user_id), person.email, person.name, True)
                )
            for chosen in batch.languages:
                conn.execute(self._statement(sql.UPSERT_LANGUAGE), (str(chosen.user_id), chosen.language))
            for user_id in batch.deactivated:
                conn.execute(self._statement(sql.DEACTIVATE_PERSON), (False, str(user_id)))
            for held in batch.roles:
                if held.role is None:
                    conn.execute(self._statement(sql.DELETE_ROLE), (str(held.user_id), str(held.tenant_id)))
                else:
                    conn.execute(
                        self._statement(sql.UPSERT_ROLE), (str(held.user_id), str(held.tenant_id), held.role)
                    )
            for intent in batch.intents:
                if is_void(intent):  # sends nothing: only its cancels apply
                    self._cancel(conn, intent)
                    continue
                if intent.kind == WEEKLY_DIGEST and self._merge_digest(conn, intent):
                    continue
                conn.execute(
                    self._statement(sql.INSERT_MESSAGE),
                    (
                        intent.key,
                        str(intent.tenant_id),
                        intent.kind,
                        encode_intent(intent).decode(),
                        self._moment(intent.due_at),
                        batch.position,
                    ),
                )
                self._cancel(conn, intent)

    def _cancel(self, conn: Any, intent: MessageIntent) -> None:
        for cancelled in intent.cancels:
            if is_prefix(cancelled):
                pattern = like_pattern(cancelled)
                conn.execute(
                    self._statement(sql.CANCEL_MESSAGES_LIKE), (f"cancelled by {intent.key}", pattern)
                )
            else:
                conn.execute(self._statement(sql.CANCEL_MESSAGE), (f"cancelled by {intent.key}", cancelled))
        if not intent.cancels:
            return
        rows = conn.execute(
            self._statement(sql.SELECT_WAITING_OF_KIND), (str(intent.tenant_id), WEEKLY_DIGEST)
        ).fetchall()
        for key, stored in rows:
            digest = without(decode_intent(stored), intent.cancels)
            if is_empty(digest):
                conn.execute(self._statement(sql.CANCEL_MESSAGE), (f"emptied by {intent.key}", key))
            else:
                conn.execute(
                    self._statement(sql.UPDATE_WAITING_INTENT), (encode_intent(digest).decode(), key)
                )

    def _merge_digest(self, conn: Any, intent: MessageIntent) -> bool:
        """Adds the digest's items to its week's waiting row; False when there is none yet."""
        rows = conn.execute(self._statement(sql.SELECT_WAITING_INTENT), (intent.key,)).fetchall()
        if not rows:
            return False
        digest = merged(decode_intent(rows[0][0]), intent)
        conn.execute(self._statement(sql.UPDATE_WAITING_INTENT), (encode_intent(digest).decode(), intent.key))
        return True

    def rewind(self, log_id: UUID) -> None:
        """Read the log again from its start (a rebuild): queued keys stay as they are, so
        nothing sent is sent again."""
        with self._transaction() as conn:
            conn.execute(self._statement(sql.RESET_POSITION), (str(log_id),))

    # -- the sender ----------------------------------------------------------------------

    def claim_due(
        self, now: datetime, wall: datetime, lease: timedelta, token: str, limit: int
    ) -> list[Outgoing]:
        """Leases up to `limit` messages due by `now` (the product's clock) to the holder of
        `token` until `wall + lease` (the wall clock), and returns them."""
        with self._transaction() as conn:
            keys = conn.execute(
                self._statement(self._select_due()),
                (self._moment(now), self._moment(wall), self._moment(wall), limit),
            ).fetchall()
            for (key,) in keys:
                conn.execute(
                    self._statement(sql.CLAIM), (token, self._moment(wall + lease), key, self._moment(wall))
                )
            rows = conn.execute(self._statement(sql.SELECT_CLAIMED), (token,)).fetchall()
        return [self._outgoing(row) for row in rows]

    def _select_due(self) -> str:
        return sql.SELECT_DUE

    def finish_sent(
        self, key: str, token: str, at: datetime, message_id: str, stored_as: str, recipients: str
    ) -> bool:
        return self._finish(
            sql.FINISH_SENT, (self._moment(at), message_id, stored_as, recipients, key, token)
        )

    def finish_retry(
        self, key: str, token: str, error: str, state: State, next_attempt_at: datetime | None
    ) -> bool:
        moment = None if next_attempt_at is None else self._moment(next_attempt_at)
        return self._finish(sql.FINISH_RETRY, (state.value, error[:1000], moment, key, token))

    def finish_void(self, key: str, token: str, reason: str) -> bool:
        return self._finish(sql.FINISH_VOID, (reason, key, token))

    def _finish(self, statement: str, params: Sequence[Any]) -> bool:
        with self._transaction() as conn:
            return bool(conn.execute(self._statement(statement), params).rowcount == 1)

    def erase_tenant(self, tenant_id: UUID) -> list[str]:
        """Everything of an erased organisation's removed; returns the files its messages were
        written to (the caller deletes them)."""
        with self._transaction() as conn:
            files = [
                name
                for (name,) in conn.execute(self._statement(sql.SELECT_FILES_OF_TENANT), (str(tenant_id),))
            ]
            for statement in sql.ERASE_TENANT:
                conn.execute(self._statement(statement), (str(tenant_id),))
        self._after_erasure()
        return files

    def _after_erasure(self) -> None:
        """What a backend does so that erased rows are gone from its files too."""

    def send_again(self, action: SendAgain) -> bool:
        """A failed message back to waiting, its attempts from zero; the action recorded with
        who asked, on whose authority, when. False when the message is not failed."""
        with self._transaction() as conn:
            if conn.execute(self._statement(sql.SEND_AGAIN), (action.key,)).rowcount != 1:
                return False
            conn.execute(
                self._statement(sql.INSERT_ACTION),
                (
                    action.key,
                    "send_again",
                    str(action.actor_id),
                    action.actor_role,
                    self._moment(action.at),
                    action.correlation_id,
                ),
            )
            return True

    def sent_again(self, key: str) -> list[SendAgain]:
        """Who sent the message again, when: each time recorded."""
        return [
            SendAgain(key=k, actor_id=UUID(a), actor_role=r, at=self._read_moment(at), correlation_id=c)
            for k, a, r, at, c in self._rows(sql.SELECT_ACTIONS, (key,))
        ]

    # -- who to write to -----------------------------------------------------------------

    def person(self, user_id: UUID) -> Person | None:
        rows = self._rows(sql.SELECT_PERSON, (str(user_id),))
        return _person(rows[0]) if rows else None

    def role_holders(self, tenant_id: UUID, role: str) -> list[Person]:
        return [_person(row) for row in self._rows(sql.SELECT_ROLE_HOLDERS, (str(tenant_id), role))]

    # -- what the admin sees -------------------------------------------------------------

    def messages(
        self, state: State | None = None, tenant_id: UUID | None = None, limit: int = 200
    ) -> list[Outgoing]:
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(state.value)
        if tenant_id is not None:
            where.append("tenant_id = ?")
            params.append(str(tenant_id))
        statement = sql.SELECT_MESSAGES + (" WHERE " + " AND ".join(where) if where else "")
        statement += " ORDER BY due_at DESC, key LIMIT ?"
        return [self._outgoing(row) for row in self._rows(statement, (*params, limit))]

    def message(self, key: str) -> Outgoing | None:
        rows = self._rows(sql.SELECT_MESSAGES + " WHERE key = ?", (key,))
        return self._outgoing(rows[0]) if rows else None

    def counts(self) -> dict[tuple[UUID, State], int]:
        return {(UUID(t), State(s)): int(n) for t, s, n in self._rows(sql.COUNT_BY_STATE)}

    def _outgoing(self, row: Sequence[Any]) -> Outgoing:
        (
            key,
            tenant_id,
            kind,
            intent,
            due_at,
            state,
            attempts,
            next_at,
            error,
            sent_at,
            message_id,
            stored,
            to,
        ) = row
        return Outgoing(
            key=key,
            tenant_id=UUID(tenant_id),
            kind=kind,
            intent=decode_intent(intent),
            due_at=self._read_moment(due_at),
            state=State(state),
            attempts=int(attempts),
            next_attempt_at=None if next_at is None else self._read_moment(next_at),
            last_error=error,
            sent_at=None if sent_at is None else self._read_moment(sent_at),
            message_id=message_id,
            stored_as=stored,
            recipients=to,
        )


def _person(row: Sequence[Any]) -> Person:
    user_id, email, name, active, language = row
    return Person(
        user_id=UUID(str(user_id)), email=email, name=name, active=bool(active), language=language or "da"
    )


def tables(prefix: str, timestamp: str) -> Iterator[str]:
    for statement in sql.TABLES:
        yield statement.format(t=prefix, ts=timestamp)
