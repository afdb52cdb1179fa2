"""The projector process's heartbeat and the small HTTP port its probes ask.

The projector has no web server of its own, so with `BALKORT_PROJECTOR_HEALTH_PORT` set it
answers on that port: `/healthz` (the process answers) and `/readyz` (its loop finished a
pass within `projector_stale_seconds` and the last pass did not fail). Both bodies carry the
heartbeat: partition, when the last pass ended, how many tenants it watched and how many
were behind.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import msgspec


@dataclass
class Heartbeat:
    """What the projector's loop last did; written by the loop, read by the probe thread."""

    partition: str = "all"
    passes: int = 0
    last_pass_at: datetime | None = None
    last_pass_monotonic: float | None = None
    tenants: int = 0
    behind: int = 0
    last_error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def passed(self, tenants: int, behind: int) -> None:
        with self._lock:
            self.passes += 1
            self.last_pass_at = datetime.now(UTC)
            self.last_pass_monotonic = time.monotonic()
            self.tenants, self.behind, self.last_error = tenants, behind, None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self.last_error = f"{type(error).__name__}: {str(error).strip()[:200]}"

    def report(self, stale_seconds: float) -> tuple[bool, dict[str, Any]]:
        """Whether the projector is ready, and the heartbeat as a JSON-able dict."""
        with self._lock:
            age = None if self.last_pass_monotonic is None else time.monotonic() - self.last_pass_monotonic
            ready = age is not None and age <= stale_seconds and self.last_error is None
            return ready, {
                "ready": ready,
                "partition": self.partition,
                "passes": self.passes,
                "last_pass_at": self.last_pass_at.isoformat() if self.last_pass_at else None,
                "seconds_since_pass": None if age is None else round(age, 3),
                "tenants": self.tenants,
                "tenants_behind": self.behind,
                "last_error": self.last_error,
            }


class ProbeServer:
    """Serves /healthz and /readyz for `heartbeat` on `port` (0: any free port) in a thread."""

    # Kubernetes probes come to the pod's own address, so every interface by default.
    def __init__(
        self,
        heartbeat: Heartbeat,
        port: int,
        stale_seconds: float,
        host: str = "0.0.0.0",  # noqa: S104
    ) -> None:
        probe = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                ready, body = heartbeat.report(probe.stale_seconds)
                if self.path == "/healthz":
                    status = 200
                elif self.path == "/readyz":
                    status = 200 if ready else 503
                else:
                    status, body = 404, {"detail": "not found"}
                payload = msgspec.json.encode(body)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                # Probes every few seconds are not news.
                return

        self.stale_seconds = stale_seconds
        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="balkort-projector-probes", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> ProbeServer:
        self.thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
