"""What an operator sees: liveness apart from readiness, JSON logs naming each request, metrics
behind a token, traces exported to a collector and joined to the events a request records."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anyio
import psycopg
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from prometheus_client.parser import text_string_to_metric_families
from psycopg import sql

from services.bootstrap import build_container
from services.observability.health import readiness
from services.observability.logs import configure_logging, unconfigure_logging
from services.settings import Settings
from tests.conftest import DATABASE_URL
from tests.http_harness import ADMIN, Story, bearer, serving
from tests.keys import SESSION_SECRETS, SESSION_SECRETS_ENV

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
METRICS_TOKEN = "scrape-" + secrets.token_hex(8)


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port bound by the test but never listened on: connecting to it is refused at once,
    and nothing else can take it while the test runs."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    try:
        yield int(holder.getsockname()[1])
    finally:
        holder.close()


async def _tenant(story: Story, headers: dict[str, str]) -> str:
    tag = secrets.token_hex(4)
    answer = await story.client.post(
        "/api/v1/tenants", json={"name": f"Observeret {tag}", "slug": f"observeret-{tag}"}, headers=headers
    )
    assert answer.status_code == 201, answer.text
    tenant_id = str(answer.json()["id"])
    named = await story.client.put(
        f"/api/v1/tenants/{tenant_id}/organisation", json={"name": f"Kommune {tag}"}, headers=headers
    )
    assert named.status_code == 200, named.text
    return tenant_id


async def _audit_rows(story: Story, tenant_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    answer = await story.client.get(f"/api/v1/tenants/{tenant_id}/audit", headers=headers)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["items"])


# -- health ----------------------------------------------------------------------------------


async def test_liveness_and_readiness_both_answer_when_every_dependency_does(backend: Settings) -> None:
    async with serving(backend, quick_hashes=True) as story:
        alive = await story.client.get("/healthz")
        ready = await story.client.get("/readyz")
    assert alive.status_code == 200
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert set(checks) == {"postgres", "redis", "projection_lag"}
    expected = "ok" if backend.uses_postgres else "not_used"
    assert checks["postgres"]["state"] == checks["redis"]["state"] == expected
    assert checks["projection_lag"]["state"] == "ok"


async def test_readiness_turns_503_when_postgresql_goes_away_while_liveness_stays_200(
    postgres_database_url: str, tmp_path: Path, redis_url: str
) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=postgres_database_url, redis_url=redis_url, **SESSION_SECRETS
    )
    dbname = postgres_database_url.rsplit("/", 1)[1]
    async with serving(settings, quick_hashes=True) as story:
        assert (await story.client.get("/readyz")).status_code == 200
        # The database the app runs on disappears (its connections are terminated): the machine's
        # PostgreSQL itself keeps running for every other test.
        with psycopg.connect(DATABASE_URL, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(dbname)))
        ready = await story.client.get("/readyz")
        alive = await story.client.get("/healthz")
    assert ready.status_code == 503, ready.text
    checks = ready.json()["checks"]
    assert checks["postgres"]["state"] == "failing"
    assert checks["redis"]["state"] == "ok"
    assert alive.status_code == 200


async def test_readiness_turns_503_quickly_when_redis_does_not_answer(tmp_path: Path, dead_port: int) -> None:
    settings = Settings(data_dir=tmp_path, redis_url=f"redis://127.0.0.1:{dead_port}/0")
    async with serving(settings, admin=None) as story:
        ready = await story.client.get("/readyz")
        alive = await story.client.get("/healthz")
    assert ready.status_code == 503, ready.text
    assert ready.json()["checks"]["redis"]["state"] == "failing"
    assert alive.status_code == 200


async def test_a_write_waiting_for_its_read_models_beyond_the_bound_makes_the_process_not_ready(
    tmp_path: Path,
) -> None:
    # Nothing projects here (the app is not running): the write waits for its views for good.
    container = await asyncio.to_thread(
        build_container, Settings(data_dir=tmp_path, readiness_max_lag_seconds=0)
    )
    try:
        assert (await readiness(container)).ready
        tenant_id = container.control.tenant_id_for("venter")
        container.projections.notify(tenant_id)
        with anyio.fail_after(30):
            # The clock, not an event, makes a waiting write older.
            while not container.projections.lag_seconds().get(tenant_id, 0.0) > 0:  # noqa: ASYNC110
                await anyio.sleep(0.001)
        verdict = await readiness(container)
    finally:
        await container.close()
    assert not verdict.ready
    assert verdict.checks["projection_lag"].state == "failing"


# -- logs ------------------------------------------------------------------------------------


async def test_every_log_line_of_a_request_is_json_naming_its_request_tenant_and_principal(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path, log_format="json")
    lines = io.StringIO()
    handler = configure_logging(settings, stream=lines)
    try:
        async with serving(settings, quick_hashes=True) as story:
            headers = await bearer(story.client, ADMIN)
            tenant_id = await _tenant(story, headers)
            answer = await story.client.post(
                f"/api/v1/tenants/{tenant_id}/organisation/units",
                json={"name": "Hjemmeplejen"},
                headers={**headers, "X-Request-ID": "unit-request-1"},
            )
            assert answer.status_code == 201, answer.text
            me = (await story.client.get("/api/v1/me", headers=headers)).json()
        # A library's line, logged through stdlib logging, is JSON too.
        logging.getLogger("some.library").warning("a library speaks")
    finally:
        unconfigure_logging(handler)
    records = [json.loads(line) for line in lines.getvalue().splitlines()]
    of_request = [r for r in records if r.get("request_id") == "unit-request-1"]
    assert of_request, "the request logged nothing"
    assert all(r["tenant_id"] == tenant_id and r["principal"] == me["user_id"] for r in of_request)
    assert any(r["logger"] == "balkort.access" and r["status"] == 201 for r in of_request)
    assert any(r["logger"] == "some.library" and r["event"] == "a library speaks" for r in records)


# -- metrics ---------------------------------------------------------------------------------


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def test_metrics_are_refused_without_the_token_and_count_requests_and_idempotent_replays(
    backend: Settings,
) -> None:
    settings = backend.with_changes(metrics_token=METRICS_TOKEN)
    scrape = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    async with serving(settings, quick_hashes=True) as story:
        assert (await story.client.get("/metrics")).status_code == 401
        wrong = await story.client.get("/metrics", headers={"Authorization": "Bearer not-the-token"})
        assert wrong.status_code == 401
        headers = await bearer(story.client, ADMIN)
        before = _samples((await story.client.get("/metrics", headers=scrape)).text)
        once = {**headers, "Idempotency-Key": secrets.token_hex(8)}
        tenant = {"name": "Målt", "slug": f"maalt-{secrets.token_hex(4)}"}
        first = await story.client.post("/api/v1/tenants", json=tenant, headers=once)
        again = await story.client.post("/api/v1/tenants", json=tenant, headers=once)
        assert (first.status_code, again.headers.get("idempotent-replayed")) == (201, "true")
        exposed = await story.client.get("/metrics", headers=scrape)
    assert exposed.status_code == 200
    assert exposed.headers["content-type"].startswith("text/plain")
    after = _samples(exposed.text)
    replays = ("balkort_idempotency_replays_total", ())
    assert after[replays] == before[replays] + 1
    created = ("method", "POST"), ("route", "/api/v1/tenants"), ("status_class", "2xx")
    assert after[("balkort_http_request_duration_seconds_count", created)] >= 2
    names = {name for name, _ in after}
    for family in (
        "balkort_tenant_stores_open",
        "balkort_tenant_store_lease_wait_seconds_count",
        "balkort_projection_lag_max_seconds",
        "balkort_conflict_retries_total",
        "balkort_sse_subscribers",
    ):
        assert family in names, family
    if backend.uses_postgres:
        assert "balkort_pool_connections" in names


# -- traces ----------------------------------------------------------------------------------


async def test_a_callers_traceparent_becomes_the_correlation_id_of_the_events_it_records(
    tmp_path: Path,
) -> None:
    async with serving(Settings(data_dir=tmp_path), quick_hashes=True) as story:
        headers = await bearer(story.client, ADMIN)
        tenant_id = await _tenant(story, headers)
        added = await story.client.post(
            f"/api/v1/tenants/{tenant_id}/organisation/units",
            json={"name": "Visitationen"},
            headers={**headers, "traceparent": TRACEPARENT},
        )
        assert added.status_code == 201, added.text
        rows = await _audit_rows(story, tenant_id, headers)
    added_rows = [r for r in rows if r["command_name"] == "AddUnit"]
    assert added_rows
    assert {r["correlation_id"] for r in added_rows} == {TRACE_ID}


class _Collector:
    """An OTLP/HTTP receiver: keeps every export request it is sent."""

    def __init__(self) -> None:
        self.exports: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.path == "/v1/traces":
                    collector.exports.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def spans(self) -> list[Any]:
        return [
            span
            for export in self.exports
            for resource in export.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        ]


@pytest.fixture
def collector() -> Iterator[_Collector]:
    receiver = _Collector()
    receiver.thread.start()
    try:
        yield receiver
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()


async def test_each_request_is_a_span_exported_to_the_configured_collector_and_names_its_events(
    tmp_path: Path, collector: _Collector
) -> None:
    settings = Settings(data_dir=tmp_path, otel_endpoint=collector.endpoint)
    async with serving(settings, quick_hashes=True) as story:
        headers = await bearer(story.client, ADMIN)
        tenant_id = await _tenant(story, headers)
        # No traceparent: the trace this process starts names the events.
        added = await story.client.post(
            f"/api/v1/tenants/{tenant_id}/organisation/units", json={"name": "Træning"}, headers=headers
        )
        assert added.status_code == 201, added.text
        followed = await story.client.get("/healthz", headers={"traceparent": TRACEPARENT})
        assert followed.status_code == 200
        rows = await _audit_rows(story, tenant_id, headers)
    # The app's shutdown flushed what was still buffered.
    spans = {span.name: span for span in collector.spans()}
    assert spans["GET /healthz"].trace_id.hex() == TRACE_ID
    unit_span = spans["POST /api/v1/tenants/{tenant_id}/organisation/units"]
    attributes = {a.key: a.value for a in unit_span.attributes}
    assert attributes["http.response.status_code"].int_value == 201
    assert attributes["balkort.tenant_id"].string_value == tenant_id
    unit_rows = [r for r in rows if r["command_name"] == "AddUnit"]
    assert {r["correlation_id"] for r in unit_rows} == {unit_span.trace_id.hex()}


# -- the projector process -------------------------------------------------------------------


def _get(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - the test's own http:// URL
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_the_projector_process_logs_json_and_answers_probes_on_its_health_port(
    postgres_database_url: str, redis_url: str, tmp_path: Path
) -> None:
    command = Path(sys.executable).with_name("balkort")
    environment = {
        **os.environ,
        **SESSION_SECRETS_ENV,
        "DATABASE_URL": postgres_database_url,
        "REDIS_URL": redis_url,
        "BALKORT_DATA_DIR": str(tmp_path),
        "BALKORT_PROJECTOR_POLL_SECONDS": "0.2",
        # Any free port: the process says which one in its log.
        "BALKORT_PROJECTOR_HEALTH_PORT": "0",
    }
    process = subprocess.Popen(
        [str(command), "projector", "--partition", "0/1"],
        env=environment,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stderr is not None
        port = None
        lines = []
        # Bounded by the process: it either says where it listens or ends (and the read ends).
        for line in process.stderr:
            lines.append(json.loads(line))  # production default: JSON, one object a line
            if lines[-1]["event"].startswith("answering /healthz and /readyz on port"):
                port = int(lines[-1]["event"].rsplit(" ", 1)[1])
                break
        assert port is not None, lines
        assert _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
        status, heartbeat = _get(f"http://127.0.0.1:{port}/readyz")
        deadline_polls = 600
        while status != 200 and deadline_polls:
            time.sleep(0.1)
            deadline_polls -= 1
            status, heartbeat = _get(f"http://127.0.0.1:{port}/readyz")
        assert status == 200, heartbeat
        assert heartbeat["partition"] == "0/1"
        assert heartbeat["passes"] >= 1
        assert heartbeat["last_pass_at"] is not None
    finally:
        process.terminate()
        process.wait(30)
