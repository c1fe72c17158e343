"""Serving the app in-process on the caller's event loop (the demo and the tests).

Litestar's AsyncTestClient runs the app on a second loop in a thread and blocks the
caller's loop while the app stops; a task of the caller's loop holding a database lock
then deadlocks the app's shutdown. Here the ASGI lifespan is driven directly and
requests go through httpx's ASGI transport, all on one loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx


@asynccontextmanager
async def lifespan(app: Any) -> AsyncIterator[None]:
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan"}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"app failed to start: {started}")
    try:
        yield
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await outbox.get()
        await task
        if stopped["type"] != "lifespan.shutdown.complete":
            raise RuntimeError(f"app failed to stop: {stopped}")


@asynccontextmanager
async def serve(app: Any, request_seconds: float = 60) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        lifespan(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://testserver",
            timeout=request_seconds,
        ) as client,
    ):
        yield client
