"""Tenant keys: a random AES-256 key per tenant, kept wrapped under the platform's master key.

The master key comes from `BALKORT_MASTER_KEY` (base64 of 32 bytes) or, in the embedded
default, from `data_dir/master-key`, generated once (mode 0600). A tenant key is generated at
onboarding and stored wrapped (AES-GCM under the master key, the tenant id bound in as
associated data) in a plain table beside the control plane: `control.tenant_keys` on
PostgreSQL, `stores/tenant-keys.sqlite3` in the embedded default. A plain table rather than
events, so that erasing a tenant deletes its key for good: an event would stay in the control
plane's history (see docs/adr/0009-tenant-keys-and-crypto-shredding.md).

Beside each key sits the tenant's legacy watermark (`legacy_until`): the last position of its
log that may hold a state encrypted without its event's identity bound in (binding.py,
docs/adr/0019-ciphertexts-bound-to-their-event.md). Tenants onboarded with binding get 0; a
tenant keyed before binding existed gets the end of its log the first time it is asked for.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import sqlite3
import threading
from contextlib import closing
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
from Crypto.Cipher import AES
from psycopg import sql

from services.auth.secret_keys import MAKE_MASTER_KEY
from services.persistence.env import CONTROL_STORE, tenant_store_name
from services.settings import Settings, SettingsError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MASTER_KEY_FILE = "master-key"
KEYS_TABLE = "tenant_keys"
# The tenant application's events table (named after its class) and SQLite's one table.
POSTGRES_EVENTS_TABLE = "tenantapplication_events"
SQLITE_EVENTS_TABLE = "stored_events"

__all__ = ["KeyUnwrapError", "TenantKeys", "master_key", "unwrap", "wrap"]


class KeyUnwrapError(ValueError):
    """A wrapped tenant key does not open under this master key (wrong key, or tampered)."""


def _decode_master(text: str) -> bytes:
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise SettingsError("BALKORT_MASTER_KEY must be base64 of 32 bytes") from None
    if len(key) != KEY_BYTES:
        raise SettingsError(f"BALKORT_MASTER_KEY must be base64 of 32 bytes, got {len(key)} bytes")
    return key


def master_key(settings: Settings) -> bytes:
    """The master key: `settings.master_key`, else (embedded default only) one generated once and
    kept in `data_dir`. On PostgreSQL a generated key would live on one machine's disk: every
    other process would fail to open the tenant keys, and losing that disk would shred them all."""
    if settings.master_key:
        return _decode_master(settings.master_key)
    if settings.uses_postgres:
        raise SettingsError(
            f"BALKORT_MASTER_KEY is required with DATABASE_URL. Make one with: {MAKE_MASTER_KEY}"
        )
    path = Path(settings.data_dir) / MASTER_KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _decode_master(path.read_text(encoding="ascii"))
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii"))
    return _decode_master(path.read_text(encoding="ascii"))


def wrap(master: bytes, tenant_id: UUID, key: bytes) -> bytes:
    """`key` sealed under `master` (AES-GCM: nonce + tag + ciphertext), bound to `tenant_id`."""
    nonce = os.urandom(NONCE_BYTES)
    cipher = AES.new(master, AES.MODE_GCM, nonce=nonce)
    cipher.update(tenant_id.bytes)
    sealed, tag = cipher.encrypt_and_digest(key)
    return nonce + tag + sealed


def unwrap(master: bytes, tenant_id: UUID, wrapped: bytes) -> bytes:
    """The tenant key inside `wrapped`; raises KeyUnwrapError when it does not open."""
    nonce, tag, sealed = (
        wrapped[:NONCE_BYTES],
        wrapped[NONCE_BYTES : NONCE_BYTES + TAG_BYTES],
        wrapped[NONCE_BYTES + TAG_BYTES :],
    )
    cipher = AES.new(master, AES.MODE_GCM, nonce=nonce)
    cipher.update(tenant_id.bytes)
    try:
        return cipher.decrypt_and_verify(sealed, tag)
    except ValueError:
        raise KeyUnwrapError(f"the key of tenant {tenant_id} does not open under this master key") from None


def _opens(master: bytes, tenant_id: UUID, wrapped: bytes) -> bool:
    try:
        unwrap(master, tenant_id, wrapped)
    except KeyUnwrapError:
        return False
    return True


def create_keys_table(conn: psycopg.Connection[Any]) -> None:
    """The control plane's table of wrapped tenant keys (a migration step; idempotent)."""
    conn.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (tenant_id text PRIMARY KEY, wrapped bytea NOT NULL, "
            "created_at timestamptz NOT NULL DEFAULT now())"
        ).format(sql.Identifier(CONTROL_STORE, KEYS_TABLE))
    )
    # Keys made before binding existed keep NULL: their watermark is set when first asked.
    conn.execute(
        sql.SQL("ALTER TABLE {} ADD COLUMN IF NOT EXISTS legacy_until bigint").format(
            sql.Identifier(CONTROL_STORE, KEYS_TABLE)
        )
    )


class TenantKeys:
    """The wrapped tenant keys, in a plain table of the control plane's database. Blocking."""

    def __init__(self, settings: Settings, master: bytes | None = None) -> None:
        self._settings = settings
        self._master = master if master is not None else master_key(settings)
        self._lock = threading.Lock()
        self._ready = False

    # -- tenant keys -------------------------------------------------------------------

    def create(self, tenant_id: UUID) -> bytes:
        """The tenant's key, generated and stored now unless it has one already (idempotent)."""
        existing = self.get(tenant_id)
        if existing is not None:
            return existing
        wrapped = wrap(self._master, tenant_id, os.urandom(KEY_BYTES))
        # A new tenant's events are all written bound: no legacy window.
        self._execute(
            "INSERT INTO {t} (tenant_id, wrapped, legacy_until) VALUES (?, ?, 0) "
            "ON CONFLICT (tenant_id) DO NOTHING",
            (tenant_id.hex, wrapped),
        )
        key = self.get(tenant_id)
        if key is None:  # pragma: no cover - deleted between the two statements
            raise LookupError(f"the key of tenant {tenant_id} vanished")
        return key

    def get(self, tenant_id: UUID) -> bytes | None:
        """The tenant's key in the clear, or None when it has none (never had, or erased)."""
        rows = self._execute("SELECT wrapped FROM {t} WHERE tenant_id = ?", (tenant_id.hex,))
        if not rows:
            return None
        wrapped = rows[0][0]
        if not isinstance(wrapped, bytes | memoryview):  # pragma: no cover - the column is binary
            raise TypeError("a wrapped key is binary")
        return unwrap(self._master, tenant_id, bytes(wrapped))

    def legacy_until(self, tenant_id: UUID) -> int:
        """The last position of the tenant's log that may hold an unbound state (0: none).

        A key made before binding existed has no watermark yet: it becomes the end of the
        tenant's log now, once, so that everything written from here on must be bound."""
        rows = self._execute("SELECT legacy_until FROM {t} WHERE tenant_id = ?", (tenant_id.hex,))
        if not rows:
            return 0
        if rows[0][0] is None:
            self._execute(
                "UPDATE {t} SET legacy_until = ? WHERE tenant_id = ? AND legacy_until IS NULL",
                (self._log_head(tenant_id), tenant_id.hex),
            )
            rows = self._execute("SELECT legacy_until FROM {t} WHERE tenant_id = ?", (tenant_id.hex,))
        value = rows[0][0] if rows else 0
        return int(value) if isinstance(value, int) else 0

    def delete(self, tenant_id: UUID) -> bool:
        """Deletes the tenant's key for good (crypto-shredding); True when there was one."""
        rows = self._execute("DELETE FROM {t} WHERE tenant_id = ? RETURNING tenant_id", (tenant_id.hex,))
        self._purge()
        return bool(rows)

    def rewrap(self, new_master: bytes) -> int:
        """Master-key rotation: every tenant key re-wrapped under `new_master`, in one
        transaction; returns how many. Afterwards start processes with the new master key.

        A key that already opens under `new_master` is left alone, so running it again after
        every process has restarted catches a tenant onboarded meanwhile under the old key."""
        count = 0
        self._ensure()
        if self._settings.uses_postgres:
            with psycopg.connect(self._settings.postgres.dsn) as conn, conn.transaction():
                table = sql.Identifier(CONTROL_STORE, KEYS_TABLE)
                rows = conn.execute(
                    sql.SQL("SELECT tenant_id, wrapped FROM {} FOR UPDATE").format(table)
                ).fetchall()
                for tid, wrapped in rows:
                    tenant_id = UUID(hex=tid)
                    if _opens(new_master, tenant_id, bytes(wrapped)):
                        continue
                    key = unwrap(self._master, tenant_id, bytes(wrapped))
                    conn.execute(
                        sql.SQL("UPDATE {} SET wrapped = %s WHERE tenant_id = %s").format(table),
                        (wrap(new_master, tenant_id, key), tid),
                    )
                    count += 1
        else:
            with closing(self._sqlite()) as lite, lite:
                for tid, wrapped in lite.execute(f"SELECT tenant_id, wrapped FROM {KEYS_TABLE}").fetchall():  # noqa: S608
                    tenant_id = UUID(hex=tid)
                    if _opens(new_master, tenant_id, bytes(wrapped)):
                        continue
                    key = unwrap(self._master, tenant_id, bytes(wrapped))
                    lite.execute(
                        f"UPDATE {KEYS_TABLE} SET wrapped = ? WHERE tenant_id = ?",  # noqa: S608
                        (wrap(new_master, tenant_id, key), tid),
                    )
                    count += 1
        self._master = new_master
        return count

    # -- internals -----------------------------------------------------------------------

    def _sqlite_path(self) -> Path:
        return Path(self._settings.data_dir) / "stores" / "tenant-keys.sqlite3"

    def _log_head(self, tenant_id: UUID) -> int:
        """The last position of the tenant's event log (0 when it has none)."""
        store = tenant_store_name(tenant_id)
        if self._settings.uses_postgres:
            with psycopg.connect(self._settings.postgres.dsn, autocommit=True) as conn:
                table = f"{store}.{POSTGRES_EVENTS_TABLE}"
                found = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
                if found is None or found[0] is None:
                    return 0
                row = conn.execute(
                    sql.SQL("SELECT coalesce(max(notification_id), 0) FROM {}").format(
                        sql.Identifier(store, POSTGRES_EVENTS_TABLE)
                    )
                ).fetchone()
                return int(row[0]) if row else 0
        path = Path(self._settings.data_dir) / "stores" / f"{store}.sqlite3"
        if not path.exists():
            return 0
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as lite:
            try:
                row = lite.execute(f"SELECT coalesce(max(rowid), 0) FROM {SQLITE_EVENTS_TABLE}").fetchone()  # noqa: S608
            except sqlite3.OperationalError:  # no events table yet
                return 0
        return int(row[0]) if row else 0

    def _sqlite(self) -> sqlite3.Connection:
        path = self._sqlite_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30)
        # Deleted keys are overwritten on disk, not left in free pages.
        conn.execute("PRAGMA secure_delete = ON")
        return conn

    def _ensure(self) -> None:
        with self._lock:
            if self._ready:
                return
            # On PostgreSQL the table is made by `balkort migrate` (services/migrations.py).
            if not self._settings.uses_postgres:
                with closing(self._sqlite()) as lite, lite:
                    lite.execute(
                        f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (tenant_id TEXT PRIMARY KEY, "
                        "wrapped BLOB NOT NULL, created_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
                    )
                    columns = {row[1] for row in lite.execute(f"PRAGMA table_info({KEYS_TABLE})")}
                    if "legacy_until" not in columns:
                        # Keys made before binding existed keep NULL (see `legacy_until`).
                        with contextlib.suppress(sqlite3.OperationalError):  # another process added it
                            lite.execute(f"ALTER TABLE {KEYS_TABLE} ADD COLUMN legacy_until INTEGER")
            self._ready = True

    def _execute(self, statement: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        self._ensure()
        if self._settings.uses_postgres:
            query = sql.SQL(statement.replace("?", "%s")).format(t=sql.Identifier(CONTROL_STORE, KEYS_TABLE))
            with psycopg.connect(self._settings.postgres.dsn, autocommit=True) as conn:
                cursor = conn.execute(query, params)
                return cursor.fetchall() if cursor.description else []
        with closing(self._sqlite()) as lite, lite:
            return lite.execute(statement.format(t=KEYS_TABLE), params).fetchall()

    def _purge(self) -> None:
        """Dead rows go too: PostgreSQL keeps a deleted row's bytes until VACUUM."""
        if self._settings.uses_postgres:
            with psycopg.connect(self._settings.postgres.dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("VACUUM {}").format(sql.Identifier(CONTROL_STORE, KEYS_TABLE)))
