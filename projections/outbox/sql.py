"""The outbox's SQL, written once for both backends (`?` marks a parameter; `{t}` is the tables'
prefix: nothing on SQLite, the control plane's schema on PostgreSQL)."""

from __future__ import annotations

TABLES = (
    """CREATE TABLE IF NOT EXISTS {t}outbox_position (
        log_id TEXT PRIMARY KEY,
        position BIGINT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {t}outbox_messages (
        key TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        intent TEXT NOT NULL,
        due_at {ts} NOT NULL,
        state TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at {ts},
        lease_token TEXT,
        lease_until {ts},
        last_error TEXT NOT NULL DEFAULT '',
        sent_at {ts},
        message_id TEXT NOT NULL DEFAULT '',
        stored_as TEXT NOT NULL DEFAULT '',
        recipients TEXT NOT NULL DEFAULT '',
        position BIGINT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS outbox_pending ON {t}outbox_messages (state, due_at)",
    "CREATE INDEX IF NOT EXISTS outbox_by_tenant ON {t}outbox_messages (tenant_id, state, due_at)",
    """CREATE TABLE IF NOT EXISTS {t}outbox_people (
        user_id TEXT PRIMARY KEY,
        email TEXT NOT NULL,
        name TEXT NOT NULL,
        active BOOLEAN NOT NULL
    )""",
    # The language each account chose for its messages (none: Danish), a table of its own so
    # that an outbox written before accounts had a language gains it without a migration.
    """CREATE TABLE IF NOT EXISTS {t}outbox_languages (
        user_id TEXT PRIMARY KEY,
        language TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS {t}outbox_roles (
        user_id TEXT NOT NULL,
        tenant_id TEXT NOT NULL,
        role TEXT NOT NULL,
        PRIMARY KEY (user_id, tenant_id)
    )""",
    """CREATE TABLE IF NOT EXISTS {t}outbox_actions (
        key TEXT NOT NULL,
        action TEXT NOT NULL,
        actor_id TEXT NOT NULL,
        actor_role TEXT NOT NULL,
        at {ts} NOT NULL,
        correlation_id TEXT NOT NULL
    )""",
)

START_POSITION = (
    "INSERT INTO {t}outbox_position (log_id, position) VALUES (?, 0) ON CONFLICT (log_id) DO NOTHING"
)
SELECT_POSITION = "SELECT position FROM {t}outbox_position WHERE log_id = ?"
MOVE_POSITION = "UPDATE {t}outbox_position SET position = ? WHERE log_id = ? AND position = ?"
RESET_POSITION = "UPDATE {t}outbox_position SET position = 0 WHERE log_id = ?"
# A key already queued (a rebuild, or a batch read again) is left as it is: never sent twice.
INSERT_MESSAGE = (
    "INSERT INTO {t}outbox_messages (key, tenant_id, kind, intent, due_at, state, position) "
    "VALUES (?, ?, ?, ?, ?, 'waiting', ?) ON CONFLICT (key) DO NOTHING"
)
CANCEL_MESSAGE = (
    "UPDATE {t}outbox_messages SET state = 'void', last_error = ?, lease_token = NULL "
    "WHERE key = ? AND state IN ('waiting', 'failing', 'failed')"
)
# A cancel naming a key that ends in `*` voids every key it begins (all of a proposal's reminders).
CANCEL_MESSAGES_LIKE = (
    "UPDATE {t}outbox_messages SET state = 'void', last_error = ?, lease_token = NULL "
    "WHERE key LIKE ? ESCAPE '!' AND state IN ('waiting', 'failing', 'failed')"
)
UPSERT_PERSON = (
    "INSERT INTO {t}outbox_people (user_id, email, name, active) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, name = excluded.name"
)
UPSERT_LANGUAGE = (
    "INSERT INTO {t}outbox_languages (user_id, language) VALUES (?, ?) "
    "ON CONFLICT (user_id) DO UPDATE SET language = excluded.language"
)
DEACTIVATE_PERSON = "UPDATE {t}outbox_people SET active = ? WHERE user_id = ?"
UPSERT_ROLE = (
    "INSERT INTO {t}outbox_roles (user_id, tenant_id, role) VALUES (?, ?, ?) "
    "ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role"
)
DELETE_ROLE = "DELETE FROM {t}outbox_roles WHERE user_id = ? AND tenant_id = ?"

# Due by the product's clock, not leased (or the lease ran out: its holder died), not waiting
# out a backoff (by the wall clock: leases and backoff are about processes, not the method).
SELECT_DUE = (
    "SELECT key FROM {t}outbox_messages WHERE state IN ('waiting', 'failing') AND due_at <= ? "
    "AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
    "AND (lease_until IS NULL OR lease_until < ?) ORDER BY due_at, key LIMIT ?"
)
CLAIM = (
    "UPDATE {t}outbox_messages SET lease_token = ?, lease_until = ? WHERE key = ? "
    "AND state IN ('waiting', 'failing') AND (lease_until IS NULL OR lease_until < ?)"
)
SELECT_CLAIMED = (
    "SELECT key, tenant_id, kind, intent, due_at, state, attempts, next_attempt_at, last_error, "
    "sent_at, message_id, stored_as, recipients FROM {t}outbox_messages WHERE lease_token = ? "
    "ORDER BY due_at, key"
)
# Each outcome is written only by the holder of the lease: a sender whose lease ran out (and
# whose message another sender took over) changes nothing.
FINISH_SENT = (
    "UPDATE {t}outbox_messages SET state = 'sent', sent_at = ?, message_id = ?, stored_as = ?, "
    "recipients = ?, attempts = attempts + 1, last_error = '', lease_token = NULL, lease_until = NULL "
    "WHERE key = ? AND lease_token = ?"
)
FINISH_RETRY = (
    "UPDATE {t}outbox_messages SET state = ?, attempts = attempts + 1, last_error = ?, "
    "next_attempt_at = ?, lease_token = NULL, lease_until = NULL WHERE key = ? AND lease_token = ?"
)
FINISH_VOID = (
    "UPDATE {t}outbox_messages SET state = 'void', last_error = ?, lease_token = NULL, "
    "lease_until = NULL WHERE key = ? AND lease_token = ?"
)
# An erased organisation leaves nothing here: its messages (their words are its data), its
# position, who held roles in it.
SELECT_FILES_OF_TENANT = "SELECT stored_as FROM {t}outbox_messages WHERE tenant_id = ? AND stored_as <> ''"
ERASE_TENANT = (
    "DELETE FROM {t}outbox_actions WHERE key IN (SELECT key FROM {t}outbox_messages WHERE tenant_id = ?)",
    "DELETE FROM {t}outbox_messages WHERE tenant_id = ?",
    "DELETE FROM {t}outbox_roles WHERE tenant_id = ?",
    "DELETE FROM {t}outbox_position WHERE log_id = ?",
)
SEND_AGAIN = (
    "UPDATE {t}outbox_messages SET state = 'waiting', attempts = 0, next_attempt_at = NULL, "
    "last_error = '' WHERE key = ? AND state = 'failed'"
)
INSERT_ACTION = (
    "INSERT INTO {t}outbox_actions (key, action, actor_id, actor_role, at, correlation_id) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
SELECT_MESSAGES = (
    "SELECT key, tenant_id, kind, intent, due_at, state, attempts, next_attempt_at, last_error, "
    "sent_at, message_id, stored_as, recipients FROM {t}outbox_messages"
)
SELECT_PERSON = (
    "SELECT p.user_id, p.email, p.name, p.active, l.language FROM {t}outbox_people p "
    "LEFT JOIN {t}outbox_languages l ON l.user_id = p.user_id WHERE p.user_id = ?"
)
SELECT_ROLE_HOLDERS = (
    "SELECT p.user_id, p.email, p.name, p.active, l.language FROM {t}outbox_roles r "
    "JOIN {t}outbox_people p ON p.user_id = r.user_id "
    "LEFT JOIN {t}outbox_languages l ON l.user_id = p.user_id "
    "WHERE r.tenant_id = ? AND r.role = ? AND p.active ORDER BY p.email"
)
COUNT_BY_STATE = "SELECT tenant_id, state, count(*) FROM {t}outbox_messages GROUP BY tenant_id, state"
SELECT_ACTIONS = (
    "SELECT key, actor_id, actor_role, at, correlation_id FROM {t}outbox_actions "
    "WHERE key = ? AND action = 'send_again' ORDER BY at"
)
# The weekly digest: one row per week, its items merged in while it waits (outbox/digest.py).
SELECT_WAITING_INTENT = "SELECT intent FROM {t}outbox_messages WHERE key = ? AND state = 'waiting'"
SELECT_WAITING_OF_KIND = (
    "SELECT key, intent FROM {t}outbox_messages WHERE tenant_id = ? AND kind = ? AND state = 'waiting'"
)
UPDATE_WAITING_INTENT = "UPDATE {t}outbox_messages SET intent = ? WHERE key = ? AND state = 'waiting'"
