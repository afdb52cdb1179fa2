"""Provenance for commands given over HTTP lives beside the pages' and the API's other shared
request helpers (`services.requests.provenance`); this name stays for the modules that import it."""

from services.requests.provenance import (
    COMMAND_NAMESPACE,
    OCCURRED_AT_HEADER,
    REQUEST_ID_HEADER,
    ProvenanceFor,
    build_provenance,
    correlation_id_of,
    echo_request_id,
    may_date,
    occurred_at_from,
    request_id_of,
)

__all__ = [
    "COMMAND_NAMESPACE",
    "OCCURRED_AT_HEADER",
    "REQUEST_ID_HEADER",
    "ProvenanceFor",
    "build_provenance",
    "correlation_id_of",
    "echo_request_id",
    "may_date",
    "occurred_at_from",
    "request_id_of",
]
