"""Readiness checks: can this process reach its database and its broker now?

Each check answers within CHECK_SECONDS, so a probe is never held up by a database or
broker that does not answer (a dropped packet waits much longer than a refusal)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from piccolo.querystring import QueryString

from kernel.db import engine

CHECK_SECONDS = 3.0


async def database() -> str:
    rows = await engine().run_querystring(QueryString("SELECT 1 AS one"))
    if not rows or rows[0]["one"] != 1:
        raise RuntimeError(f"SELECT 1 answered {rows!r}")
    return engine().engine_type


def broker_check(broker_url: str) -> Callable[[], Awaitable[str]]:
    """The check for BROKER_URL: a connection opened and closed (RabbitMQ: with its
    handshake and login; Redis: a PING). Embedded: nothing to reach."""

    async def check() -> str:
        if broker_url in ("", "embedded", "memory"):
            return "embedded"
        if broker_url.startswith(("amqp://", "amqps://")):
            await asyncio.to_thread(_rabbitmq, broker_url)
            return "rabbitmq"
        if broker_url.startswith(("redis://", "rediss://")):
            await asyncio.to_thread(_redis, broker_url)
            return "redis"
        raise ValueError("unsupported BROKER_URL scheme")

    return check


def _rabbitmq(url: str) -> None:
    import pika

    parameters = pika.URLParameters(url)
    parameters.socket_timeout = CHECK_SECONDS
    parameters.blocked_connection_timeout = CHECK_SECONDS
    parameters.stack_timeout = CHECK_SECONDS
    parameters.connection_attempts = 1
    pika.BlockingConnection(parameters).close()


def _redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(
        url, socket_connect_timeout=CHECK_SECONDS, socket_timeout=CHECK_SECONDS
    )
    try:
        client.ping()
    finally:
        client.close()


async def run_checks(checks: dict[str, Callable[[], Awaitable[str]]]) -> dict[str, Any]:
    """Runs the checks side by side. Each result: ok, what answered (or the error) and
    how long it took; `down` names the checks that failed."""
    results = await asyncio.gather(*(_timed(check) for check in checks.values()))
    named = dict(zip(checks, results, strict=True))
    down = [name for name, result in named.items() if not result["ok"]]
    return {"status": "down" if down else "ok", "down": down, "checks": named}


async def _timed(check: Callable[[], Awaitable[str]]) -> dict[str, Any]:
    started = time.monotonic()
    try:
        async with asyncio.timeout(CHECK_SECONDS + 1):
            detail = await check()
        ok = True
    except TimeoutError:
        ok, detail = False, f"no answer within {CHECK_SECONDS + 1:g} s"
    except Exception as exc:  # any failure means "down"; the reason is shown, not raised
        ok, detail = False, _reason(exc)
    return {"ok": ok, "detail": detail, "ms": round((time.monotonic() - started) * 1000)}


def _reason(exc: Exception) -> str:
    """The error's kind and first line; never the URL, which may hold a password."""
    text = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
