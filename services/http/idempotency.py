"""`Idempotency-Key` for unsafe requests under /api/v1: a retried request never acts twice.

The first request with a key claims it, runs, and its response (status, content type, body)
is kept for `settings.idempotency_ttl_seconds`; a retry with the same key gets that response
back with `Idempotent-Replayed: true`. Responses that say "try again" (5xx, 409, 429) are not
kept: the claim is released so a retry runs afresh. A duplicate arriving while the first is
still running waits for it (up to `WAIT_SECONDS`) and then replays; the same key with a
different body is refused with 422.

A request whose body did not arrive whole (the client went away mid-upload) claims nothing
and runs nothing: its retry is the first request. A claim is a lease the running request
renews; a process that dies mid-request stops renewing, its claim lapses within
`CLAIM_LEASE_SECONDS`, and a waiting retry takes over and runs the command again, which the
application recognises by its command id (derived from principal and key) and answers as it
answered the first time, recording nothing new.

Keys are scoped by principal, method and path, so two users cannot collide or read each
other's responses. See docs/adr/0004-idempotency-keys.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Any
from uuid import uuid4

import msgspec
from redis.exceptions import RedisError

from services.auth.principal import Principal
from services.observability.metrics import IDEMPOTENCY_REPLAYS
from services.requests.problems import PROBLEM_JSON, problem_bytes
from services.requests.provenance import idempotency_key
from services.stores.idempotency import IdempotencyKeys, Record

REPLAYED_HEADER = b"idempotent-replayed"
API_PREFIX = "/api/v1/"
# Answers that carry a secret are never kept: tokens (sign-in, joining) and freshly issued join
# codes. A retried issue gives a second code; the facilitator revokes the one not handed out.
# Personal codes are derived from the batch the key's command id names, so their retry is
# answered by the application with the same codes, derived again (docs/adr/0032).
EXEMPT_PREFIXES = ("/api/v1/auth/", "/api/v1/join")
EXEMPT_SUFFIXES = ("/join-codes", "/personal-codes")
# Of those, the commands whose retry (same key) the application answers again by the command id.
ANSWERED_BY_COMMAND_SUFFIXES = ("/personal-codes",)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
POLL_SECONDS = 0.05
# A running request renews its claim every third of the lease; a crashed one lets it lapse.
CLAIM_LEASE_SECONDS = 6
RENEW_SECONDS = CLAIM_LEASE_SECONDS / 3
# A duplicate waits longer than a lease, so that after a crash it takes over instead of being
# told "in progress" by a claim nobody holds any more.
WAIT_SECONDS = CLAIM_LEASE_SECONDS + 4.0
RETRY_AFTER_SECONDS = 5
NOT_KEPT = frozenset({409, 429})
logger = logging.getLogger("balkort.idempotency")


def _principal_part(scope: Any) -> str:
    user = scope.get("user")
    if isinstance(user, Principal):
        return f"user:{user.user_id}"
    # Not resolved (yet): the credential itself, hashed, identifies the caller.
    for name, value in scope.get("headers", ()):
        if name.lower() in (b"authorization", b"cookie"):
            return "token:" + hashlib.sha256(bytes(value)).hexdigest()
    return "anonymous"


def principal_key(scope: Any) -> str:
    """Who the request acts for, as used in idempotency scopes and command ids."""
    return _principal_part(scope)


def stored_key(principal: str, method: str, path: str, key: str) -> str:
    """Where a key's claim and answer live: scoped by who, what and where, so two callers (or
    two routes) never share one."""
    return hashlib.sha256("\x1f".join((principal, method, path, key)).encode()).hexdigest()


class IdempotencyMiddleware:
    """ASGI middleware applying `Idempotency-Key` to unsafe /api/v1 requests (auth routes excepted).

    Sits inside authentication, so the scope is the resolved principal's. If the key store
    (Redis) does not answer, requests carrying a key are refused with 503 and `Retry-After`
    rather than run without protection; requests without a key are unaffected.
    """

    def __init__(self, app: Any, keys: IdempotencyKeys, ttl_seconds: int) -> None:
        self.app = app
        self.keys = keys
        self.ttl_seconds = ttl_seconds

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not self._applies(scope):
            await self.app(scope, receive, send)
            return
        key = idempotency_key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY_LENGTH:
            await _send_problem(send, 400, f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters.")
            return
        body = await _read_body(receive)
        if body is None:
            # The client left before its body was whole: nothing to answer, and nothing may run
            # or be kept, or the retry with the whole body would meet a stranger's fingerprint.
            logger.info("request body cut short; %s %s not run", scope["method"], scope["path"])
            return
        scoped = stored_key(_principal_part(scope), scope["method"], scope["path"], key)
        mine = Record(claim=uuid4().hex, fingerprint=hashlib.sha256(body).hexdigest())
        try:
            held = await self._claim_or_wait(scoped, mine)
        except (RedisError, OSError) as error:
            logger.warning("idempotency keys unavailable: %s", error)
            await _send_problem(
                send,
                503,
                "Idempotency keys cannot be checked right now; retry shortly.",
                name="idempotency-unavailable",
                headers=[(b"retry-after", str(RETRY_AFTER_SECONDS).encode())],
            )
            return
        if held is not None:
            await self._answer_for(held, mine, send)
            return
        await self._run(scope, _replay(body, receive), send, scoped, mine)

    @staticmethod
    def _applies(scope: Any) -> bool:
        path: str = scope.get("path", "")
        return (
            scope["type"] == "http"
            and scope.get("method") in UNSAFE_METHODS
            and path.startswith(API_PREFIX)
            and not path.startswith(EXEMPT_PREFIXES)
            and not path.endswith(EXEMPT_SUFFIXES)
        )

    async def _claim_or_wait(self, key: str, mine: Record) -> Record | None:
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            held = await self.keys.claim(key, mine, CLAIM_LEASE_SECONDS)
            if held is None or held.done or held.fingerprint != mine.fingerprint:
                return held
            if time.monotonic() >= deadline:
                return held
            await asyncio.sleep(POLL_SECONDS)

    async def _answer_for(self, held: Record, mine: Record, send: Any) -> None:
        if held.fingerprint != mine.fingerprint:
            await _send_problem(
                send,
                422,
                "This Idempotency-Key was used with a different request body.",
                name="idempotency-key-reused",
            )
        elif not held.done:
            await _send_problem(
                send,
                409,
                "A request with this Idempotency-Key is still in progress; retry later.",
                name="idempotency-key-in-flight",
            )
        else:
            IDEMPOTENCY_REPLAYS.inc()
            headers = [(REPLAYED_HEADER, b"true"), (b"content-length", str(len(held.body)).encode())]
            if held.content_type:
                headers.append((b"content-type", held.content_type.encode()))
            await send({"type": "http.response.start", "status": held.status, "headers": headers})
            await send({"type": "http.response.body", "body": held.body, "more_body": False})

    async def _run(self, scope: Any, receive: Any, send: Any, key: str, mine: Record) -> None:
        status = 0
        content_type: str | None = None
        chunks: list[bytes] = []

        async def capture(message: Any) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = int(message["status"])
                for name, value in message.get("headers", ()):
                    if bytes(name).lower() == b"content-type":
                        content_type = bytes(value).decode("latin-1")
            elif message["type"] == "http.response.body":
                chunks.append(bytes(message.get("body", b"")))
            await send(message)

        renewing = asyncio.create_task(self._renew_while_running(key, mine))
        try:
            await self.app(scope, receive, capture)
        except BaseException:
            await _stop(renewing)
            await self._forget(key, mine)
            raise
        # Stopped before the answer is kept, so no renewal can follow it.
        await _stop(renewing)
        if 200 <= status < 300 or (400 <= status < 500 and status not in NOT_KEPT):
            done = msgspec.structs.replace(
                mine, status=status, content_type=content_type, body=b"".join(chunks)
            )
            try:
                await self.keys.keep(key, done, self.ttl_seconds)
            except (RedisError, OSError) as error:
                # The action happened; only its replay is lost. A retry would now run again.
                logger.error("could not keep the response for an idempotency key: %s", error)
        else:
            await self._forget(key, mine)

    async def _renew_while_running(self, key: str, mine: Record) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                await self.keys.renew(key, mine, CLAIM_LEASE_SECONDS)
            except (RedisError, OSError) as error:
                # Should the lease lapse, a retry may run the command again beside this one;
                # the application recognises the command id, so it is still recorded once.
                logger.warning("could not renew an idempotency claim: %s", error)

    async def _forget(self, key: str, mine: Record) -> None:
        try:
            await self.keys.release(key, mine.claim)
        except (RedisError, OSError) as error:
            logger.warning("could not release an idempotency key (it expires by itself): %s", error)


async def _read_body(receive: Any) -> bytes | None:
    """The whole request body, or None when the client disconnected before sending all of it."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def _replay(body: bytes, receive: Any) -> Any:
    sent = False

    async def replay() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        result: dict[str, Any] = await receive()
        return result

    return replay


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _send_problem(
    send: Any,
    status: int,
    detail: str,
    *,
    name: str | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = problem_bytes(status, detail, name=name)
    all_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": all_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
