"""The one typed settings object. Read once from the environment; no other module reads os.environ."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal
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
    # The platform secret (at least 32 random bytes): tokens, join-code digests and rater
    # pseudonyms each use a key derived from it (services/auth/secret_keys.py). Required with
    # DATABASE_URL; unset in the embedded default: generated once into data_dir/jwt-secret.
    jwt_secret: str | None = None
    # The platform secret this one replaced: join codes and pseudonyms made under it still
    # verify (it never signs anything).
    previous_jwt_secret: str | None = None
    # Base64 of 32 bytes: wraps every tenant's encryption key. Required with DATABASE_URL;
    # unset in the embedded default: generated once into data_dir/master-key.
    master_key: str | None = None
    jwt_ttl_minutes: int = 12 * 60
    # Bounds that keep dormant tenants free: at most this many tenant event stores open at
    # once, sharing one pool of at most `tenant_connections` PostgreSQL connections however many
    # tenants are active (services/persistence/shared_pool.py); the pool size of a store built
    # outside that pool (the control plane); the executor that runs them.
    open_tenants: int = 16
    tenant_connections: int = 8
    tenant_pool_size: int = 1
    tenant_pool_overflow: int = 1
    # How long a caller waits for a tenant store slot when every open one is in use.
    tenant_lease_timeout: float = 30.0
    worker_threads: int = 8
    database_connect_timeout: int = 2
    snapshot_interval: int = 100
    idempotency_ttl_seconds: int = 24 * 3600
    # Cookies only over HTTPS. Always on when `public_url` is https:// (see __post_init__).
    cookie_secure: bool = False
    # Read models on PostgreSQL: the projector's connection pool (shared by every tenant), how
    # often it polls in case a NOTIFY was lost, and the asyncio pool that answers view queries.
    projector_pool_size: int = 4
    projector_poll_seconds: float = 2.0
    view_query_pool_size: int = 5
    # What an API process projects itself (docs/adr/0021): "all" (what it writes, and a poll for
    # everyone else's writes), "written" (only what it writes; projector workers do the rest) or
    # "none" (workers do everything; reads wait for them). Unset: "all" in the embedded default,
    # "written" with DATABASE_URL, where `balkort projector` runs beside `balkort serve`.
    project_in_process: Literal["all", "written", "none"] | None = None
    # How often (at most) a projector anchors each tenant's hash-chain head in the control plane.
    chain_anchor_seconds: float = 300.0
    # Requests per minute per signed-in principal and tenant (anonymous: per client address),
    # and wrong join codes per minute per code prefix. The namespace prefixes the counters'
    # Redis keys.
    rate_limit_per_minute: int = 1200
    join_failures_per_minute: int = 10
    # Wrong join codes per minute from one address: far above the per-prefix bound, so that
    # one table typing garbage does not lock out every table on the venue's network.
    join_failures_per_address_per_minute: int = 60
    # Sign-in attempts per minute per account, and from one address (over every account).
    login_failures_per_minute: int = 10
    login_failures_per_address_per_minute: int = 30
    # How long an invitation's link and a forgotten password's link work (docs/adr/0029).
    invitation_link_hours: int = 7 * 24
    password_reset_link_minutes: int = 60
    rate_limit_namespace: str = "balkort:rate-limit"
    # The follow-up report's PDF is rendered in worker processes (CPU bound, holds the GIL):
    # this many at once, this many more waiting, beyond that refused with Retry-After; a
    # rendered PDF is kept this long per engagement version and language (docs/adr/0018).
    report_workers: int = 1
    report_queue: int = 4
    report_cache_seconds: int = 3600
    # Where people reach the app (join links in QR codes); the request's own base URL without it.
    public_url: str | None = None
    # Observability (docs/adr/0023). Log lines as JSON (one object a line, for a log shipper)
    # or for a person at a console; unset: JSON with DATABASE_URL, console in the embedded default.
    log_format: Literal["json", "console"] | None = None
    log_level: str = "INFO"
    # The bearer token Prometheus sends to /metrics; unset, /metrics refuses every caller.
    metrics_token: str | None = None
    # An OTLP/HTTP collector's base URL (e.g. http://collector:4318): a span per request is
    # exported there. Unset: no tracing. OTEL_EXPORTER_OTLP_ENDPOINT is read as a fallback.
    otel_endpoint: str | None = None
    otel_service_name: str = "balkort"
    # Readiness (/readyz): how long PostgreSQL and Redis each get to answer, and how long a
    # write of this process may wait for its read models before the process is not ready.
    readiness_timeout_seconds: float = 1.0
    readiness_max_lag_seconds: float = 30.0
    # The projector process answers /healthz and /readyz on this port (unset: no probe port),
    # and is not ready when its loop has not finished a pass for this long.
    projector_health_port: int | None = None
    projector_stale_seconds: float = 60.0
    # Addresses of the proxies (ingress, load balancer) whose X-Forwarded-For / -Proto `serve`
    # believes: comma-separated IPs or CIDRs, "*" for any. Anyone else's are ignored, since a
    # client could otherwise pick a fresh address per guess and escape the per-address limits.
    forwarded_allow_ips: str = "127.0.0.1"
    # E-mail (docs/adr/0030). `smtp_url`: smtp://user:password@host:587?starttls=1 or
    # smtps://user:password@host:465; unset, messages are written as .eml files under
    # data_dir/outbox instead of sent. Every message is from `mail_from`.
    smtp_url: str | None = None
    mail_from: str = "Balkort <balkort@balkort.example>"
    smtp_timeout_seconds: float = 20.0
    # The outbox's sender: how often it looks for messages due, how long a message it took
    # stays its own (another sender takes it over after that, e.g. when this one died), how
    # often a failing message is tried before it is failed for good, the first wait after a
    # failure (doubled each time, up to the maximum).
    outbox_poll_seconds: float = 5.0
    outbox_lease_seconds: float = 120.0
    outbox_max_attempts: int = 8
    outbox_retry_seconds: float = 30.0
    outbox_max_retry_seconds: float = 3600.0

    def __post_init__(self) -> None:
        # Served over HTTPS, a cookie without `Secure` could still leak over a plain-HTTP
        # request to the same host; the browser's policy (HSTS) is decided by the same URL.
        if self.served_over_https and not self.cookie_secure:
            msgspec.structs.force_setattr(self, "cookie_secure", True)

    @property
    def served_over_https(self) -> bool:
        """People reach the app over HTTPS (`public_url` says so): HSTS and Secure cookies."""
        return (self.public_url or "").lower().startswith("https://")

    @property
    def log_as_json(self) -> bool:
        """Log lines are JSON: asked for, or by default in production (DATABASE_URL set)."""
        return self.log_format == "json" or (self.log_format is None and self.uses_postgres)

    @property
    def in_process_projection(self) -> Literal["all", "written", "none"]:
        """`project_in_process`, or the default for this topology when it is unset."""
        if self.project_in_process is not None:
            return self.project_in_process
        return "written" if self.uses_postgres else "all"

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
        # OpenTelemetry's own names, when Balkort's are not given.
        if "OTEL_EXPORTER_OTLP_ENDPOINT" in env and "BALKORT_OTEL_ENDPOINT" not in env:
            raw["otel_endpoint"] = env["OTEL_EXPORTER_OTLP_ENDPOINT"]
        if "OTEL_SERVICE_NAME" in env and "BALKORT_OTEL_SERVICE_NAME" not in env:
            raw["otel_service_name"] = env["OTEL_SERVICE_NAME"]
        # uvicorn's own name for it; read here so that uvicorn never reads the environment.
        if "FORWARDED_ALLOW_IPS" in env and "BALKORT_FORWARDED_ALLOW_IPS" not in env:
            raw["forwarded_allow_ips"] = env["FORWARDED_ALLOW_IPS"]
        raw = {k: (None if v == "" else v) for k, v in raw.items()}
        try:
            return msgspec.convert(raw, cls, strict=False, dec_hook=_decode_path)
        except msgspec.ValidationError as error:
            raise SettingsError(
                f"invalid setting: {error} (from BALKORT_* / DATABASE_URL / REDIS_URL)"
            ) from None

    def with_changes(self, **changes: object) -> Settings:
        return msgspec.structs.replace(self, **changes)
