"""Prometheus metrics: one registry per process, plus what each app's container holds.

Counters and histograms that code deep in the services bumps (conflict retries, idempotency
replays, lease waits, request latency) live in `REGISTRY`, made once per process. What is a
state rather than an event (open tenant stores, projection lag, pools, …) is read from the
container when Prometheus scrapes, by `ContainerCollector`: no bookkeeping to go stale.

Label sets stay bounded: routes by their template (never the raw path), statuses by class,
projection lag only for the tenants whose stores this process holds open (at most
`open_tenants`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from services.bootstrap import Container

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "balkort_http_request_duration_seconds",
    "Time from a request's arrival to the end of its response, by route template and status class.",
    ["method", "route", "status_class"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
LEASE_WAIT_SECONDS = Histogram(
    "balkort_tenant_store_lease_wait_seconds",
    "How long a caller waited for a tenant store slot because every open store was in use.",
    registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0),
)
LEASE_TIMEOUTS = Counter(
    "balkort_tenant_store_lease_timeouts",
    "Callers refused because no tenant store slot freed up within tenant_lease_timeout.",
    registry=REGISTRY,
)
CONFLICT_RETRIES = Counter(
    "balkort_conflict_retries",
    "Saves retried because another writer appended to the same aggregate first.",
    ["kind"],
    registry=REGISTRY,
)
IDEMPOTENCY_REPLAYS = Counter(
    "balkort_idempotency_replays",
    "Requests answered with the stored response of an earlier request with the same Idempotency-Key.",
    registry=REGISTRY,
)
SSE_SUBSCRIBERS = Gauge(
    "balkort_sse_subscribers",
    "Live update streams (server-sent events) open in this process.",
    registry=REGISTRY,
)


def status_class(status: int) -> str:
    """`2xx`, `4xx`, …: the label a status is counted under."""
    return f"{status // 100}xx" if 100 <= status < 600 else "other"


class ContainerCollector(Collector):
    """Reads, at scrape time, the gauges a container's state answers."""

    def __init__(self, container: Container) -> None:
        self.container = container

    def collect(self) -> Iterator[Metric]:
        container = self.container
        tenants = container.tenants
        open_ids = tenants.open_tenants()
        stores = GaugeMetricFamily(
            "balkort_tenant_stores_open", "Tenant event stores open in this process (each holds connections)."
        )
        stores.add_metric([], len(open_ids))
        yield stores
        limit = GaugeMetricFamily(
            "balkort_tenant_stores_limit", "At most this many tenant stores open at once."
        )
        limit.add_metric([], container.settings.open_tenants)
        yield limit
        lag = GaugeMetricFamily(
            "balkort_projection_lag_seconds",
            "How long the oldest write of this process has waited for the tenant's read models (0: none waiting).",
            labels=["tenant"],
        )
        lags = container.projections.lag_seconds()
        for tenant_id in open_ids:
            lag.add_metric([str(tenant_id)], lags.get(tenant_id, 0.0))
        yield lag
        worst = GaugeMetricFamily(
            "balkort_projection_lag_max_seconds",
            "The largest projection lag over every tenant of this process.",
        )
        worst.add_metric([], max(lags.values(), default=0.0))
        yield worst
        yield from _pool_families(container.views)


def _pool_families(views: Any) -> Iterator[Metric]:
    stats = getattr(views, "pool_stats", None)
    if stats is None:
        return
    psycopg_stats, asyncpg_stats = stats()
    connections = GaugeMetricFamily(
        "balkort_pool_connections",
        "Connections of the read models' pools, by pool and state.",
        labels=["pool", "state"],
    )
    waiting = GaugeMetricFamily(
        "balkort_pool_requests_waiting", "Callers waiting for a connection of the pool.", labels=["pool"]
    )
    # A pool not opened yet (the first query opens it) holds no connections.
    for key, state in (("pool_size", "open"), ("pool_available", "idle"), ("pool_max", "max")):
        connections.add_metric(["projector", state], psycopg_stats.get(key, 0))
    waiting.add_metric(["projector"], psycopg_stats.get("requests_waiting", 0))
    for key in ("open", "idle", "max"):
        connections.add_metric(["view_queries", key], asyncpg_stats.get(key, 0))
    yield connections
    yield waiting


class Metrics:
    """What an app exposes on /metrics: the process's registry and its own container's state."""

    def __init__(self, container: Container) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(ContainerCollector(container))

    def exposition(self) -> bytes:
        """The text exposition format, process families first."""
        return generate_latest(REGISTRY) + generate_latest(self.registry)


def observe_request(method: str, route: str, status: int, started: float) -> None:
    """Counts one finished request under its route template and status class."""
    REQUEST_SECONDS.labels(method, route, status_class(status)).observe(time.perf_counter() - started)


# Both kinds shown from the start: a rate over a series that appears late misses its first count.
for _kind in ("command", "access_log"):
    CONFLICT_RETRIES.labels(_kind)
