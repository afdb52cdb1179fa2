"""Readiness: whether this process can serve requests now, check by check.

Liveness (/healthz) asks nothing of anyone: a process whose event loop answers is alive, and
restarting it would not bring a database back. Readiness (/readyz) asks each dependency,
each bounded by `readiness_timeout_seconds` and all at once, so a dead database turns into a
quick 503 that takes the process out of the load balancer rather than a request that hangs.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Literal

import anyio
import msgspec

if TYPE_CHECKING:
    from services.bootstrap import Container

State = Literal["ok", "failing", "not_used"]


class Check(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One dependency's answer: its state, how long it took, and why it failed."""

    state: State
    seconds: float | None = None
    detail: str | None = None


class Readiness(msgspec.Struct, frozen=True, kw_only=True):
    """Ready only when every check is `ok` or `not_used`."""

    ready: bool
    checks: dict[str, Check]


async def _timed(probe: Callable[[], Awaitable[None]], within: float) -> Check:
    started = time.perf_counter()
    try:
        with anyio.fail_after(within):
            await probe()
    except TimeoutError:
        return Check(state="failing", detail=f"no answer within {within:g}s")
    except Exception as error:
        return Check(state="failing", detail=f"{type(error).__name__}: {str(error).strip()[:200]}")
    return Check(state="ok", seconds=round(time.perf_counter() - started, 4))


def projection_lag(container: Container) -> Check:
    """Whether every write of this process reached its read models within the bound."""
    bound = container.settings.readiness_max_lag_seconds
    lags = container.projections.lag_seconds()
    worst = max(lags.values(), default=0.0)
    if worst > bound:
        behind = sum(1 for lag in lags.values() if lag > bound)
        return Check(
            state="failing",
            seconds=round(worst, 3),
            detail=f"{behind} tenant(s) behind for more than {bound:g}s",
        )
    return Check(state="ok", seconds=round(worst, 3))


async def readiness(container: Container) -> Readiness:
    """Asks PostgreSQL (a query on the read models' pool), Redis (PING) and the projection
    lag, concurrently, each within `readiness_timeout_seconds`."""
    timeout = container.settings.readiness_timeout_seconds
    checks: dict[str, Check] = {
        "postgres": Check(state="not_used", detail="embedded SQLite"),
        "redis": Check(state="not_used", detail="memory stores"),
    }
    ping = getattr(container.views, "ping", None)
    redis = container.redis

    async def ask_postgres() -> None:
        if ping is not None:
            checks["postgres"] = await _timed(ping, timeout)

    async def ask_redis() -> None:
        if redis is not None:

            async def pong() -> None:
                await redis.ping()

            checks["redis"] = await _timed(pong, timeout)

    async with anyio.create_task_group() as group:
        group.start_soon(ask_postgres)
        group.start_soon(ask_redis)
    checks["projection_lag"] = projection_lag(container)
    ready = all(check.state != "failing" for check in checks.values())
    return Readiness(ready=ready, checks=checks)
