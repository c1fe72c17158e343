"""Login throttling rules, as pure functions over one counter.

A counter belongs to a key: an account name (whether or not such an account exists,
so the answer never tells which) or a client address. Failures count within a window
that starts at the first one. Past `delay_after` failures each further one blocks the
key for a delay that doubles (1, 2, 4 … seconds, capped); at `lock_after` the key is
locked for `lock`. An attempt while the key is blocked is refused before any password
is checked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW_STARTED = "window_started"
LOCKED = "locked"


@dataclass(frozen=True)
class Limits:
    lock_after: int
    window: timedelta
    lock: timedelta
    delay_after: int | None = None  # None: no delays before the lockout
    max_delay: timedelta = timedelta(seconds=60)


@dataclass(frozen=True)
class Counter:
    failures: int
    window_start: datetime
    blocked_until: datetime | None = None

    def expires_at(self, limits: Limits) -> datetime:
        """From then on the counter means nothing and may be deleted."""
        end = self.window_start + limits.window
        return max(end, self.blocked_until) if self.blocked_until else end


@dataclass(frozen=True)
class Counted:
    counter: Counter
    event: str | None  # WINDOW_STARTED, LOCKED or None: what the audit log records


def wait_seconds(counter: Counter | None, now: datetime) -> int:
    """Whole seconds until the key may try again; 0: now."""
    if counter is None or counter.blocked_until is None or counter.blocked_until <= now:
        return 0
    return max(1, math.ceil((counter.blocked_until - now).total_seconds()))


def count_failure(counter: Counter | None, now: datetime, limits: Limits) -> Counted:
    if counter is None or now >= counter.expires_at(limits):
        failures, window_start = 1, now
    else:
        failures, window_start = counter.failures + 1, counter.window_start
    blocked_until = None
    event = WINDOW_STARTED if failures == 1 else None
    if failures >= limits.lock_after:
        blocked_until, event = now + limits.lock, LOCKED
    elif limits.delay_after is not None and failures >= limits.delay_after:
        delay = timedelta(seconds=2 ** min(failures - limits.delay_after, 30))
        blocked_until = now + min(delay, limits.max_delay)
    return Counted(Counter(failures, window_start, blocked_until), event)
