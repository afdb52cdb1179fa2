"""The real services answer. If these fail, start them (`make services`); nothing here skips."""

from __future__ import annotations

import asyncpg
import redis.asyncio


async def test_postgresql_answers_select_1(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url, timeout=5)
    try:
        assert await connection.fetchval("select 1") == 1
    finally:
        await connection.close()


async def test_redis_answers_ping(redis_url: str) -> None:
    client = redis.asyncio.Redis.from_url(redis_url, socket_connect_timeout=5)
    try:
        assert await client.ping() is True
    finally:
        await client.aclose()
