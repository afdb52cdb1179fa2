"""Tracing: a span per request, exported over OTLP/HTTP when a collector is configured.

The trace a request belongs to (the caller's, from a W3C `traceparent` header, else the one
this process starts) names the events the request records: their correlation id is the
trace id, so an auditor can go from an event to the trace and back (docs/adr/0023).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Tracer

from services.settings import Settings

# Where the request's trace id is kept in its scope's state (for logs and provenance).
TRACE_ID_STATE = "balkort_trace_id"
# version-traceid-parentid-flags; an all-zero trace or parent id is invalid (W3C Trace Context).
_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_ZERO_TRACE = "0" * 32
_ZERO_PARENT = "0" * 16


def trace_id_from(traceparent: str | None) -> str | None:
    """The trace id (32 lowercase hex digits) a valid `traceparent` header names, else None."""
    if not traceparent:
        return None
    match = _TRACEPARENT.match(traceparent.strip().lower())
    if match is None or match[1] == "ff" or match[2] == _ZERO_TRACE or match[3] == _ZERO_PARENT:
        return None
    return match[2]


@dataclass
class Tracing:
    """The process's tracer, or none when no collector is configured."""

    provider: TracerProvider | None

    @property
    def tracer(self) -> Tracer | None:
        return None if self.provider is None else self.provider.get_tracer("balkort.http")

    def close(self) -> None:
        """Sends what is still buffered and stops exporting. Blocking (bounded by the exporter's timeout)."""
        if self.provider is not None:
            self.provider.shutdown()
            self.provider = None


def build_tracing(settings: Settings) -> Tracing:
    """A tracer provider exporting to `settings.otel_endpoint` (its /v1/traces), or none.

    A provider of this app's own rather than the global one: the global provider can be set
    only once per process, and each app (tests build many) closes its own at shutdown."""
    if not settings.otel_endpoint:
        return Tracing(None)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    endpoint = settings.otel_endpoint.rstrip("/")
    if not endpoint.endswith("/v1/traces"):
        endpoint = f"{endpoint}/v1/traces"
    provider = TracerProvider(resource=Resource.create({"service.name": settings.otel_service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    return Tracing(provider)
