"""The OpenAPI document as a contract a client can be generated from.

Litestar writes the document from the handlers' signatures. What the server does around the
signatures it cannot see, so it is added here, once, from the same sources the server acts on:

- the headers the API reads and sends: `Idempotency-Key` on every operation the idempotency
  middleware keys (its own rule decides), `X-Occurred-At` and `If-Match` on the operations
  whose handler runs a command (and, for `If-Match`, hands it an expected version), `X-Join-Code`
  where a join code's code is asked for, `ETag` where a handler sends one, `Retry-After` on
  every 429 and 503 answer; `application/problem+json` on every error answer;
- what the request bodies' msgspec types enforce and Litestar leaves out: unknown fields
  refused (`additionalProperties: false`), the limits on list items, on a mapping's keys and
  values and on its size;
- the values of the status fields the read models answer with (strings there, enums in the
  domain), and the keys of the counts by status;
- the keys of a rating's `scores` and the fields of an audit row's `details`, by event type
  (an extension, `x-details-by-event-type`: the row's type names the event beside `details`);
- that a tenant's slug addresses it too (services/http/canonical_ids.py).

Only declarations are added: no operation, schema or answer changes shape.
"""

from __future__ import annotations

import copy
import types
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any

import msgspec
from eventsourcing.domain import Aggregate
from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.routes import HTTPRoute

from domain.access_log import AccessLog
from domain.agreements import AgreementStatus, CheckInStatus
from domain.cards import CardStatus
from domain.default_instrument import DEFAULT_INSTRUMENT
from domain.engagement import Engagement
from domain.members import MemberRoster
from domain.organisation import Organisation, UnitStatus
from domain.phases import Phase
from domain.proposals import ProposalStatus
from domain.ratings import RatingMode
from domain.roles import Role
from projections.lineage import NodeKind
from services.http.idempotency import ANSWERED_BY_COMMAND_SUFFIXES, MAX_KEY_LENGTH, IdempotencyMiddleware
from services.usecases.bus import HANDLERS

METHODS = ("get", "put", "post", "delete", "patch")
# A handler that builds a command of the front door runs it through `services.requests.commands`,
# which reads `X-Occurred-At`, and `If-Match` for a command that honours a version.
COMMANDS = {kind.__name__: kind for kind in HANDLERS}
# The header a QR code's handler reads the join code from (services/http/join_code_routes.py).
JOIN_CODE_HEADER = "X-Join-Code"
JOIN_CODE_SUFFIXES = ("/qr.svg", "/qr.png")
ETAG = "ETag"
RETRY_STATUSES = ("429", "503")
# Every error the app answers is a problem (services/requests/problems.py handles every exception),
# also where Litestar's own declaration of a 400 names only `application/json`.
PROBLEM = "Problem"
PROBLEM_JSON = "application/problem+json"


def _values(*enums: type[Enum]) -> list[str]:
    seen: dict[str, None] = {}
    for enum in enums:
        seen.update(dict.fromkeys(str(member.value) for member in enum))
    return list(seen)


# (component, property) -> the values the read models write there, from the domain's enums.
STATUS_FIELDS: dict[tuple[str, str], list[str]] = {
    ("AgreementLine", "status"): _values(AgreementStatus),
    ("AgreementOut", "status"): _values(AgreementStatus),
    ("AgreementTrack", "status"): _values(AgreementStatus),
    ("CardOut", "status"): _values(CardStatus),
    ("CheckInOut", "status"): _values(CheckInStatus),
    ("CheckInPoint", "status"): _values(CheckInStatus),
    ("OutcomeLine", "status"): _values(AgreementStatus, ProposalStatus),
    ("ProposalOut", "status"): _values(ProposalStatus),
    ("ProposalDecisionOut", "outcome"): _values(ProposalStatus),
    ("UnitOut", "status"): _values(UnitStatus),
    ("EngagementDashboard", "phase"): _values(Phase),
    ("EngagementRefDated", "phase"): _values(Phase),
    ("PortfolioEngagement", "phase"): _values(Phase),
    ("RelationMatrix", "phase"): _values(Phase),
    ("ThemeDayBoard", "phase"): _values(Phase),
    ("RelationMatrix", "rating_mode"): _values(RatingMode),
    ("LineageNodeOut", "kind"): _values(NodeKind),
    ("UpcomingDate", "kind"): ["theme_day", "follow_up_meeting"],
}
# (component, property) -> the keys of a count by status or phase.
COUNTS_BY: dict[tuple[str, str], list[str]] = {
    ("CardsOnTie", "by_status"): _values(CardStatus),
    ("EngagementDashboard", "agreements_by_status"): _values(AgreementStatus),
    ("EngagementDashboard", "proposals_by_status"): _values(ProposalStatus),
    ("Portfolio", "engagements_by_phase"): _values(Phase),
}

SCORES_DESCRIPTION = (
    "One score per dimension of the engagement's instrument, keyed by the dimension's `key` "
    "(GET /api/v1/instruments/{instrument_id}: `dimensions[].key` of the engagement's "
    "`instrument_version`); every dimension of the instrument must be scored, no other key is "
    "taken, and each score lies on the instrument's scale (`scale_min`..`scale_max`). The default "
    f"instrument's scale is {DEFAULT_INSTRUMENT.scale_min}..{DEFAULT_INSTRUMENT.scale_max}, its keys: "
    + ", ".join(f"`{key}`" for key in DEFAULT_INSTRUMENT.dimension_keys)
    + "."
)

SLUG_ADDRESSES = (
    "A tenant is addressed by its id. Its slug (e.g. `soeby-kommune`, as the README and the CLI "
    "name tenants) may stand in its place, `/api/v1/tenants/{slug}/...` and the pages' "
    "`/t/{slug}/...`: for a caller who may use the tenant, a read (GET, HEAD) is redirected to "
    "the same path with the id (308 for the API, 307 for the pages) and any other method is "
    "refused with 400 naming the id to send it to. For anyone else, and for a slug no tenant "
    "has, the answer is the 404 of an unknown path: a slug does not tell who is a client. "
    "Ids written other than canonically are redirected the same way (308).\n\n"
    'Commands are conditional with `If-Match: "<version>"` (the `ETag` or `version` a read '
    "gave; 409 when the aggregate has moved on). Answers 429 and 503 say when to retry in "
    "`Retry-After` (seconds). A request body with `additionalProperties: false` is refused (400) "
    "when it carries a field the schema does not declare."
)


# The aggregates of a tenant's own store, whose events make its audit trail.
TENANT_AGGREGATES: tuple[type[Aggregate], ...] = (Engagement, Organisation, MemberRoster, AccessLog)
# What the audit row's envelope shows in columns of its own (projections/audit.py).
ENVELOPE = frozenset({"originator_id", "originator_version", "timestamp", "originator_topic", "provenance"})
_JSON_TYPES: dict[str, dict[str, Any]] = {
    "Phase": {"type": "string", "enum": _values(Phase)},
    "RatingMode": {"type": "string", "enum": _values(RatingMode)},
    "Role": {"type": "string", "enum": _values(Role)},
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "bool": {"type": "boolean"},
    "UUID": {"type": "string", "format": "uuid"},
    "datetime": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
}
DETAILS_DESCRIPTION = (
    "The event's own fields, by `aggregate_type` and `event_type`: `x-details-by-event-type` "
    "lists each event's fields (`Aggregate.Event`). An individual participant's rating shows "
    "`scores` as `withheld: individual rating`."
)


def details_by_event_type() -> dict[str, dict[str, Any]]:
    """`Aggregate.Event` -> the schema of its audit row's `details`, from the event's fields."""
    found: dict[str, dict[str, Any]] = {}
    for aggregate in TENANT_AGGREGATES:
        for name, event in sorted(vars(aggregate).items()):
            annotations = getattr(event, "__annotations__", {}) if isinstance(event, type) else {}
            # Every event this house records carries its provenance: the rest are the library's.
            if (
                not (isinstance(event, type) and issubclass(event, Aggregate.Event))
                or "provenance" not in annotations
            ):
                continue
            fields = {
                field: dict(_JSON_TYPES.get(str(annotation), {"description": str(annotation)}))
                for field, annotation in annotations.items()
                if field not in ENVELOPE
            }
            found[f"{aggregate.__qualname__}.{name}"] = {
                "type": "object",
                "properties": fields,
                "required": sorted(fields),
            }
    return found


@dataclass(frozen=True)
class Operation:
    """What the server does around one operation, read from its handler."""

    method: str
    path: str
    keyed: bool  # Idempotency-Key
    dated: bool  # X-Occurred-At
    conditional: bool  # If-Match
    join_code: bool  # X-Join-Code
    etag: bool  # ETag on success
    body: Any  # the request body's type, if any


def _code_of(fn: Any) -> types.CodeType | None:
    fn = getattr(fn, "__func__", fn)
    code = getattr(fn, "__code__", None)
    return code if isinstance(code, types.CodeType) else None


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    """`code` and the code of every function and lambda written inside it."""
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


def _names(code: types.CodeType | None) -> set[str]:
    """The names the handler (or a function or lambda in it) loads: globals and attributes."""
    if code is None:
        return set()
    return {name for part in _codes(code) for name in part.co_names}


def _holds(code: types.CodeType | None, constant: str) -> bool:
    """Whether the handler (or a function or lambda in it) holds the string `constant` (a
    header's name, a keyword argument's name)."""
    if code is None:
        return False
    for part in _codes(code):
        for const in part.co_consts:
            if const == constant or (isinstance(const, tuple) and constant in const):
                return True
    return False


def operations(app: Litestar) -> list[Operation]:
    """Every HTTP operation of the app with what the server reads and sends around it."""
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            code = _code_of(handler.fn)
            data = handler.parsed_fn_signature.parameters.get("data")
            commands = [COMMANDS[name] for name in _names(code) if name in COMMANDS]
            for method in sorted(handler.http_methods):
                scope = {"type": "http", "method": method, "path": route.path_format}
                found.append(
                    Operation(
                        method=method.lower(),
                        path=route.path_format,
                        keyed=IdempotencyMiddleware._applies(scope),
                        dated=bool(commands),
                        conditional=any(kind.conditional for kind in commands),
                        join_code=route.path_format.endswith(JOIN_CODE_SUFFIXES),
                        etag=_holds(code, ETAG),
                        body=data.annotation if data is not None else None,
                    )
                )
    return found


def _header(name: str, description: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": required, "description": description, "schema": schema}


IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    "Any string the client chooses per command. A retry with the same key (and body) returns "
    "the first answer and records nothing new; the same key with another body is refused (422). "
    "Keys are kept per caller, method and path.",
    {"type": "string", "maxLength": MAX_KEY_LENGTH},
)
COMMAND_KEY = _header(
    "Idempotency-Key",
    "Any string the client chooses per command. The answer carries codes, which are not kept: a "
    "retry with the same key (and body) is answered with the same codes, derived again, and "
    "records nothing new; the same key for another number of people is refused (409).",
    {"type": "string", "maxLength": MAX_KEY_LENGTH},
)
OCCURRED_AT = _header(
    "X-Occurred-At",
    "When the action happened, if earlier than now (ISO 8601 with a time zone), e.g. a theme "
    "day's paper notes typed in a week later. Consultants, the client's admins and signed-in "
    "participants may send it (403 otherwise); a moment in the future or before the engagement's "
    "preparation is refused (400).",
    {"type": "string", "format": "date-time"},
)
IF_MATCH = _header(
    "If-Match",
    "Makes the command conditional: the version of the aggregate it acts on, as a read gave it "
    '(`ETag`, or `version`), e.g. `"12"` (quotes and `W/` optional). 409 when the aggregate has '
    "moved on. Without it, concurrent writes are retried by the server.",
    {"type": "string", "pattern": '^(W/)?"?[0-9]+"?$'},
)
JOIN_CODE = _header(
    JOIN_CODE_HEADER,
    "The join code's code, as issued: it is not kept, so the QR code can only be drawn from it.",
    {"type": "string"},
    required=True,
)
ETAG_HEADER = {
    "description": 'The version shown, e.g. `"12"`: send it back as `If-Match` to make a command conditional.',
    "required": True,
    "schema": {"type": "string"},
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": False,
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}


def _add_parameter(operation: dict[str, Any], parameter: dict[str, Any]) -> None:
    parameters = operation.setdefault("parameters", [])
    if not any(p.get("name", "").lower() == parameter["name"].lower() for p in parameters):
        parameters.append(copy.deepcopy(parameter))


def _declare_headers(document: dict[str, Any], found: list[Operation]) -> None:
    paths = document.get("paths", {})
    for op in found:
        operation = paths.get(op.path, {}).get(op.method)
        if operation is None:
            continue
        if op.keyed:
            _add_parameter(operation, IDEMPOTENCY_KEY)
        elif op.method == "post" and op.path.endswith(ANSWERED_BY_COMMAND_SUFFIXES):
            _add_parameter(operation, COMMAND_KEY)
        if op.conditional:
            _add_parameter(operation, IF_MATCH)
        if op.dated:
            _add_parameter(operation, OCCURRED_AT)
        if op.join_code:
            _add_parameter(operation, JOIN_CODE)
        responses = operation.get("responses", {})
        if op.etag:
            for status, response in responses.items():
                if status.startswith("2"):
                    response.setdefault("headers", {})[ETAG] = dict(ETAG_HEADER)
        for status in RETRY_STATUSES:
            if status in responses:
                responses[status].setdefault("headers", {})["Retry-After"] = dict(RETRY_AFTER)
        if PROBLEM in document.get("components", {}).get("schemas", {}):
            for status, response in responses.items():
                content = response.get("content")
                if status[:1] in ("4", "5") and isinstance(content, dict) and PROBLEM_JSON not in content:
                    content[PROBLEM_JSON] = {"schema": {"$ref": f"#/components/schemas/{PROBLEM}"}}


# What msgspec checks that a schema can say: added where Litestar's schema leaves it out.
_CONSTRAINTS = frozenset(
    {
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "propertyNames",
        "description",
    }
)


def _fill(declared: dict[str, Any], enforced: dict[str, Any]) -> None:
    """Adds to `declared` the constraints of `enforced` it lacks, where both say the same type."""
    if declared.get("type") != enforced.get("type"):
        return
    for key in _CONSTRAINTS:
        if key in enforced and key not in declared:
            declared[key] = enforced[key]
    for key in ("items", "additionalProperties"):
        inner, enforced_inner = declared.get(key), enforced.get(key)
        if isinstance(inner, dict) and isinstance(enforced_inner, dict):
            if "$ref" in inner or "$ref" in enforced_inner:
                continue
            _fill(inner, enforced_inner)


def _declare_bodies(document: dict[str, Any], found: list[Operation]) -> None:
    """Each request body's component as msgspec checks it: unknown fields, item and key limits."""
    bodies = {op.body for op in found if op.body is not None}
    structs = [body for body in bodies if isinstance(body, type) and issubclass(body, msgspec.Struct)]
    if not structs:
        return
    _, enforced = msgspec.json.schema_components(
        sorted(structs, key=lambda s: s.__qualname__), ref_template="#/components/schemas/{name}"
    )
    components = document.get("components", {}).get("schemas", {})
    by_title = {schema.get("title"): schema for schema in components.values()}
    for name, schema in enforced.items():
        declared = components.get(name) or by_title.get(name)
        if declared is None or declared.get("type") != "object" or "properties" not in schema:
            continue
        if schema.get("additionalProperties") is False:
            declared["additionalProperties"] = False
        for field, field_schema in schema["properties"].items():
            declared_field = declared.get("properties", {}).get(field)
            if isinstance(declared_field, dict):
                _fill(declared_field, field_schema)


def _declare_values(document: dict[str, Any]) -> None:
    components = document.get("components", {}).get("schemas", {})
    for (component, field), values in STATUS_FIELDS.items():
        declared = components.get(component, {}).get("properties", {}).get(field)
        if isinstance(declared, dict) and declared.get("type") == "string":
            declared["enum"] = list(values)
    for (component, field), keys in COUNTS_BY.items():
        declared = components.get(component, {}).get("properties", {}).get(field)
        if isinstance(declared, dict) and declared.get("type") == "object":
            declared["propertyNames"] = {"type": "string", "enum": list(keys)}
    details = components.get("AuditRow", {}).get("properties", {}).get("details")
    if isinstance(details, dict) and not details:
        details.update(
            {
                "type": "object",
                "description": DETAILS_DESCRIPTION,
                "x-details-by-event-type": details_by_event_type(),
            }
        )
    for schema in components.values():
        # A rating's scores, wherever a body carries them: a mapping of dimension keys to scores.
        scores = schema.get("properties", {}).get("scores")
        if isinstance(scores, dict) and scores.get("type") == "object" and "propertyNames" in scores:
            scores.setdefault("description", SCORES_DESCRIPTION)


def _describe(document: dict[str, Any]) -> None:
    info = document.setdefault("info", {})
    description = info.get("description", "")
    if SLUG_ADDRESSES not in description:
        info["description"] = f"{description}\n\n{SLUG_ADDRESSES}" if description else SLUG_ADDRESSES


def contract(app: Litestar, generated: dict[str, Any]) -> dict[str, Any]:
    """The generated document with the declarations of the module added (a copy)."""
    document = copy.deepcopy(generated)
    found = operations(app)
    _declare_headers(document, found)
    _declare_bodies(document, found)
    _declare_values(document)
    _describe(document)
    return document


class ContractDocument(JsonRenderPlugin):
    """/schema/openapi.json: the generated document as `contract` completes it, made once per app."""

    def __init__(self) -> None:
        super().__init__()
        self._made: tuple[dict[str, Any], dict[str, Any]] | None = None

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        if self._made is None or self._made[0] is not openapi_schema:
            self._made = (openapi_schema, contract(request.app, openapi_schema))
        return self.render_json(request, self._made[1])
