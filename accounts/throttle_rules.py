"""Login throttling rules, as pure functions over one counter.

A counter belongs to a key: an account name (whether or not such an account exists,
so the answer never tells which) or a client address. Failures count within a window
that starts at the first one. Past `delay_after` failures each further one blocks the
key for a delay that doubles (1, 2, 4 … seconds, capped); at `lock_after` the key is
locked for `lock`. An attempt while the key is blocked is refused before any password
is checked.

An attempt is counted before its password is checked, so that parallel attempts cannot
all pass; one that then succeeds is taken back (`refund`). An IPv6 client is counted by
its /64, which one subscriber usually holds whole (`address_block`).
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

WINDOW_STARTED = "window_started"
LOCKED = "locked"

# Account names whose window start is audited per address and window: past these, a
# spray of names from one address is audited only by its lockout, with the count.
NAMES_AUDITED_PER_ADDRESS = 3


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


def refund(counter: Counter | None, charged: Counter, limits: Limits) -> Counter | None:
    """Takes back one attempt, counted as `charged`, that did not fail; a block it no
    longer justifies is lifted. None: nothing to take back (the counter is gone or has
    started a new window since)."""
    if counter is None or counter.failures < 1 or counter.window_start != charged.window_start:
        return None
    failures = counter.failures - 1
    blocked_until = counter.blocked_until
    below_delay = limits.delay_after is None or failures < limits.delay_after
    if failures < limits.lock_after and below_delay:
        blocked_until = None
    return Counter(failures, counter.window_start, blocked_until)


def audits_window_start(account: Counted, by_address: Counted) -> bool:
    """Whether a failure that starts an account name's window gets its own audit entry:
    only among the first few failures of its address's window, so a spray of names
    writes a bounded number of entries per address (existing names or not alike)."""
    return account.event == WINDOW_STARTED and (
        by_address.counter.failures <= NAMES_AUDITED_PER_ADDRESS
    )


def address_block(address: str) -> str:
    """The client address as counted: IPv4 as it is, IPv6 as its /64 (an IPv4-mapped
    one as IPv4); text that is no address stays as it is."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return str(parsed.ipv4_mapped)
        bare = ipaddress.IPv6Address(int(parsed))  # without a %zone
        return str(ipaddress.IPv6Network((bare, 64), strict=False))
    return str(parsed)
