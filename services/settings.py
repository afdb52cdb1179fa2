"""The one typed settings object. Read once from the environment; no other module reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec


class SettingsError(ValueError):
    """The environment holds a value Balkort cannot use."""


def _decode_path(kind: type, value: object) -> object:
    if kind is Path and isinstance(value, str):
        return Path(value)
    raise NotImplementedError(f"cannot read {kind} from the environment")


class PostgresLocation(msgspec.Struct, frozen=True):
    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: str) -> PostgresLocation:
        parts = urlsplit(url)
        if parts.scheme not in {"postgres", "postgresql"}:
            raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got scheme {parts.scheme!r}")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 5432,
            user=unquote(parts.username or "postgres"),
            password=unquote(parts.password or ""),
            dbname=(parts.path or "/postgres").lstrip("/") or "postgres",
        )

    @property
    def dsn(self) -> str:
        auth = self.user if not self.password else f"{self.user}:{self.password}"
        return f"postgresql://{auth}@{self.host}:{self.port}/{self.dbname}"


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Everything configurable about a Balkort process.

    Embedded default: no DATABASE_URL and no REDIS_URL -> SQLite files under `data_dir`,
    memory stores and channels. Production: DATABASE_URL (PostgreSQL) and REDIS_URL.
    """

    data_dir: Path = Path("var")
    database_url: str | None = None
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    jwt_secret: str | None = None
    # Base64 of 32 bytes: wraps every tenant's encryption key. Unset: generated once into
    # data_dir/master-key (the embedded default).
    master_key: str | None = None
    jwt_ttl_minutes: int = 12 * 60
    # Bounds that keep dormant tenants free: at most this many tenant event stores open at
    # once, each with this many PostgreSQL connections; the executor that runs them.
    open_tenants: int = 16
    tenant_pool_size: int = 1
    tenant_pool_overflow: int = 1
    # How long a caller waits for a tenant store slot when every open one is in use.
    tenant_lease_timeout: float = 30.0
    worker_threads: int = 8
    database_connect_timeout: int = 2
    snapshot_interval: int = 100
    idempotency_ttl_seconds: int = 24 * 3600
    cookie_secure: bool = False
    # Read models on PostgreSQL: the projector's connection pool (shared by every tenant), how
    # often it polls in case a NOTIFY was lost, and the asyncio pool that answers view queries.
    projector_pool_size: int = 4
    projector_poll_seconds: float = 2.0
    view_query_pool_size: int = 5
    # How often (at most) a projector anchors each tenant's hash-chain head in the control plane.
    chain_anchor_seconds: float = 300.0
    # Requests per minute per signed-in principal and tenant (anonymous: per client address),
    # and wrong join codes per minute per address and per code prefix. The namespace prefixes
    # the counters' Redis keys.
    rate_limit_per_minute: int = 1200
    join_failures_per_minute: int = 10
    rate_limit_namespace: str = "balkort:rate-limit"
    # Where people reach the app (join links in QR codes); the request's own base URL without it.
    public_url: str | None = None

    @property
    def uses_postgres(self) -> bool:
        return self.database_url is not None

    @property
    def postgres(self) -> PostgresLocation:
        if self.database_url is None:
            raise RuntimeError("no DATABASE_URL configured")
        return PostgresLocation.from_url(self.database_url)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw: dict[str, object] = {}
        for field in msgspec.structs.fields(cls):
            key = f"BALKORT_{field.name.upper()}"
            if key in env:
                raw[field.name] = env[key]
        # The two conventional names production platforms set.
        if "DATABASE_URL" in env:
            raw["database_url"] = env["DATABASE_URL"]
        if "REDIS_URL" in env:
            raw["redis_url"] = env["REDIS_URL"]
        raw = {k: (None if v == "" else v) for k, v in raw.items()}
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_decode_path)
        except msgspec.ValidationError as error:
            raise SettingsError(
                f"invalid setting: {error} (from BALKORT_* / DATABASE_URL / REDIS_URL)"
            ) from None

    def with_changes(self, **changes: object) -> Settings:
        return msgspec.structs.replace(self, **changes)
