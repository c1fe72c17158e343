"""A short-lived, per-process cache of who a credential belongs to.

It spares the database one query on nearly every request. Revoking a key, logging out
or deactivating an account clears the entry in the process that did it at once; other
processes notice within AUTH_CACHE_SECONDS (default 2; 0 turns the cache off).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

from accounts.principal import Principal
from kernel.clock import utcnow

TTL_SECONDS = float(os.environ.get("AUTH_CACHE_SECONDS", "2"))
MAX_ENTRIES = 10_000

_entries: dict[str, tuple[Principal, float]] = {}
# Bumped by clear(): a lookup that started before a revocation must not cache its
# (possibly stale) answer after it.
_generation = 0


async def cached(
    digest: str, lookup: Callable[[], Awaitable[tuple[Principal, datetime | None] | None]]
) -> Principal | None:
    """The principal for a credential digest: from the cache, else from `lookup`
    (which returns the principal and when the credential expires, or None)."""
    hit = get(digest)
    if hit is not None:
        return hit
    looked_up_in = _generation
    found = await lookup()
    if found is None:
        return None
    principal, expires_at = found
    put(digest, principal, looked_up_in, expires_at)
    return principal


def get(digest: str) -> Principal | None:
    hit = _entries.get(digest)
    if hit is None:
        return None
    principal, until = hit
    if time.monotonic() >= until:
        _entries.pop(digest, None)
        return None
    return principal


def put(
    digest: str, principal: Principal, looked_up_in: int, expires_at: datetime | None = None
) -> None:
    """`looked_up_in`: the generation read before the database lookup began."""
    if TTL_SECONDS <= 0 or looked_up_in != _generation:
        return
    ttl = TTL_SECONDS
    if expires_at is not None:  # never outlive the credential itself
        ttl = min(ttl, (expires_at - utcnow()).total_seconds())
    if ttl <= 0:
        return
    if len(_entries) >= MAX_ENTRIES:
        _entries.clear()
    _entries[digest] = (principal, time.monotonic() + ttl)


def clear() -> None:
    global _generation
    _generation += 1
    _entries.clear()
