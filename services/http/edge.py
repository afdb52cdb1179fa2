"""What the HTTP edge refuses before any handler runs, as problem details rather than a 500.

- A header block larger than `MAX_HEADER_BYTES` is refused with 431, whatever server runs the
  app (`balkort serve` also bounds what uvicorn buffers: `SERVER_MAX_HEAD_BYTES`).
- An unsafe request under /api/v1 must send its body as JSON (`application/json` or a
  `+json` type); anything else is 415. A browser sends `text/plain`, form-encoded and
  multipart bodies cross-site without asking the server first (no CORS preflight), so
  accepting them would let any site sign a visitor in, or join a theme day, as someone else.
  A JSON content type cannot be sent cross-site without a preflight, which this API never
  grants. The pages post forms to their own paths, outside /api/v1, with their own CSRF token.
- A JSON body nested deeper than the decoder can follow is refused with 400 (`JSONRequest`).
- A path or query parameter holding what free text may not hold (NUL, other control characters,
  unpaired surrogates, non-characters; services/text.py), or bytes that are not UTF-8, is
  refused with 400 naming it: such a value can name nothing that exists, and would otherwise
  reach the read models' queries, where PostgreSQL refuses NUL with an error of its own.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qsl, unquote_to_bytes

from litestar.config.app import AppConfig
from litestar.enums import ScopeType
from litestar.exceptions import ClientException, ValidationException
from litestar.plugins.htmx import HTMXRequest
from litestar.types import ASGIApp, Receive, Scope, Send

from services.text import FORBIDDEN_IN_TEXT, TEXT_RULE

API_PREFIX = "/api/v1/"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Names and values of every header field together. A bearer token and the cookies of a signed-in
# browser take well under 4 KiB; 16 KiB leaves room for proxies' additions.
MAX_HEADER_BYTES = 16 * 1024
# What `balkort serve` lets uvicorn buffer of a request line and headers before it cuts the
# connection: above MAX_HEADER_BYTES, so that a merely oversized block gets the app's 431 problem
# and only a flood is cut off by the server.
SERVER_MAX_HEAD_BYTES = 32 * 1024
_FORBIDDEN = re.compile(f"[{FORBIDDEN_IN_TEXT}]")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def is_json(content_type: bytes) -> bool:
    """`application/json` or `application/<anything>+json`, with or without parameters."""
    media_type = content_type.split(b";", 1)[0].strip().lower()
    return media_type == b"application/json" or (
        media_type.startswith(b"application/") and media_type.endswith(b"+json")
    )


def _has_body(scope: Scope) -> bool:
    length = _header(scope, b"content-length")
    if length is not None:
        return length.strip() not in (b"", b"0")
    return _header(scope, b"transfer-encoding") is not None


class RequestEdgeMiddleware:
    """Refuses oversized header blocks (431) and non-JSON bodies sent to the API (415)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP:
            size = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
            if size > MAX_HEADER_BYTES:
                raise ClientException(
                    status_code=431,
                    detail=f"The request's header fields take {size} bytes; at most {MAX_HEADER_BYTES} are read.",
                )
            if self._needs_json(scope):
                raise ClientException(
                    status_code=415,
                    detail="Content-Type: send the request body as application/json.",
                )
            if refused := _unreadable_parameters(scope):
                raise ValidationException(
                    detail="; ".join(f"{item['key']}: {item['message']}" for item in refused), extra=refused
                )
        await self.app(scope, receive, send)

    @staticmethod
    def _needs_json(scope: Scope) -> bool:
        if scope.get("method") not in UNSAFE_METHODS or not str(scope.get("path", "")).startswith(API_PREFIX):
            return False
        content_type = _header(scope, b"content-type")
        if content_type is None:
            return _has_body(scope)
        return not is_json(content_type)


def _unreadable_parameters(scope: Scope) -> list[dict[str, str]]:
    """The path and each query parameter whose text breaks the rule of free text, as Litestar's
    validation `extra` ({key, source, message}), so the problem names each one."""
    refused: list[dict[str, str]] = []
    if _FORBIDDEN.search(str(scope.get("path", ""))):
        refused.append({"key": "path", "source": "path", "message": f"the path {TEXT_RULE}"})
    raw = bytes(scope.get("query_string", b""))
    if not raw:
        return refused
    try:
        unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        refused.append({"key": "query", "source": "query", "message": "is not UTF-8"})
        return refused
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True, encoding="utf-8"):
        if _FORBIDDEN.search(name) or _FORBIDDEN.search(value):
            key = name if not _FORBIDDEN.search(name) else ascii(name)
            refused.append({"key": key, "source": "query", "message": TEXT_RULE})
    return refused


def edge_first(app_config: AppConfig) -> AppConfig:
    """`on_app_init` hook, registered after authentication's: the edge checks run before any
    other middleware (authentication included) reads a header or the body."""
    app_config.middleware.insert(0, RequestEdgeMiddleware)
    return app_config


class JSONRequest(HTMXRequest):
    """The app's request: a JSON body nested too deeply for the decoder is the client's error."""

    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:
            # msgspec guards its recursion with the interpreter's limit: the body, not the code,
            # is at fault, and every deeper body fails the same way.
            raise ClientException(detail="The JSON body is nested too deeply.") from None
