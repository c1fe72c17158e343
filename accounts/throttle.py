"""Login throttling, kept in the database so every API process counts the same
failures (rules in accounts.throttle_rules).

An attempt is counted as a failure of its account name and of its client address
before the password is checked, in one transaction that holds both counters' rows:
attempts sent in parallel therefore pass one by one, and those past either limit are
refused without running argon2. A correct password then deletes the account's counter
and takes its attempt back from the address's; it does not reset the address, else
one valid account would let an address try names without end.

Rows are always taken in key order (every `account:` key before any `address:` key),
so two attempts cannot wait on each other.

The audit log gets, per client address and window, at most: an entry for each of the
first `NAMES_AUDITED_PER_ADDRESS` account names whose window starts, one per account
name locked, and one when the address is locked, each with its count; the failures in
between live in the counters only, so a flood cannot grow the hash chain row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.tables import LoginThrottle
from accounts.throttle_rules import (
    LOCKED,
    Counted,
    Counter,
    Limits,
    address_block,
    audits_window_start,
    refund,
    wait_seconds,
)
from accounts.throttle_rules import count_failure as count
from audit.log import record
from kernel.clock import utcnow
from kernel.db import engine, is_sqlite, unit_of_work
from kernel.errors import TooManyRequests


@dataclass(frozen=True)
class LoginLimits:
    account: Limits
    address: Limits

    @classmethod
    def of(
        cls, delay_after: int, lock_after: int, address_lock_after: int, lock_minutes: int
    ) -> LoginLimits:
        window = timedelta(minutes=lock_minutes)
        return cls(
            account=Limits(lock_after, window, window, delay_after=delay_after),
            address=Limits(address_lock_after, window, window),
        )


DEFAULT_LIMITS = LoginLimits.of(
    delay_after=5, lock_after=10, address_lock_after=50, lock_minutes=15
)


def account_key(username: str) -> str:
    return f"account:{username}"[:80]


def address_key(address: str) -> str:
    return f"address:{address_block(address)}"[:80]


@dataclass(frozen=True)
class Attempt:
    """What `begin_attempt` counted, for `failed` or `succeeded` to finish."""

    account: Counted
    address: Counted


def _refuse(wait: int) -> TooManyRequests:
    return TooManyRequests(
        f"too many failed logins; try again in {wait} s 登录失败次数过多，请 {wait} 秒后再试",
        retry_after=wait,
    )


def _counter(row: dict[str, Any] | None) -> Counter | None:
    if row is None:
        return None
    return Counter(row["failures"], row["window_start"], row["blocked_until"])


async def _counters(*keys: str, lock: bool = False) -> dict[str, Counter | None]:
    query = LoginThrottle.select(
        LoginThrottle.key,
        LoginThrottle.failures,
        LoginThrottle.window_start,
        LoginThrottle.blocked_until,
    ).where(LoginThrottle.key.is_in(list(keys)))
    if lock and not is_sqlite(engine()):  # SQLite's IMMEDIATE transaction already holds it
        query = query.order_by(LoginThrottle.key).lock_rows()  # key order: no deadlock
    found = {row["key"]: row for row in await query.run()}
    return {key: _counter(found.get(key)) for key in keys}


def _live(counter: Counter | None) -> Counter | None:
    """An empty row (made to be locked) counts as none."""
    return counter if counter and counter.failures else None


def _longest_wait(counters: dict[str, Counter | None], now: datetime) -> int:
    return max(wait_seconds(c, now) for c in counters.values())


async def _store(key: str, counted: Counted, limits: Limits) -> None:
    counter = counted.counter
    values = {
        LoginThrottle.failures: counter.failures,
        LoginThrottle.window_start: counter.window_start,
        LoginThrottle.blocked_until: counter.blocked_until,
        LoginThrottle.expires_at: counter.expires_at(limits),
    }
    await (
        LoginThrottle.insert(LoginThrottle(key=key, **{c._meta.name: v for c, v in values.items()}))
        .on_conflict(target=LoginThrottle.key, action="DO UPDATE", values=list(values))
        .run()
    )


async def _ensure_row(key: str, now: datetime) -> None:
    """A row must exist to be locked (an empty one counts as none); `_store` fills it."""
    await (
        LoginThrottle.insert(LoginThrottle(key=key, failures=0, window_start=now, expires_at=now))
        .on_conflict(target=LoginThrottle.key, action="DO NOTHING")
        .run()
    )


async def begin_attempt(username: str, address: str, limits: LoginLimits) -> Attempt:
    """Refuses a blocked account name or address (TooManyRequests), else counts this
    attempt as a failure of both; `failed` or `succeeded` follows."""
    keys = (account_key(username), address_key(address))
    # A flood of refused attempts costs one read each, no write lock.
    wait = _longest_wait(await _counters(*keys), utcnow())
    if wait:
        raise _refuse(wait)
    async with unit_of_work():
        now = utcnow()
        for key in keys:
            await _ensure_row(key, now)
        counters = await _counters(*keys, lock=True)
        wait = _longest_wait(counters, now)
        if wait:
            raise _refuse(wait)
        attempt = Attempt(
            account=count(_live(counters[keys[0]]), now, limits.account),
            address=count(_live(counters[keys[1]]), now, limits.address),
        )
        await _store(keys[0], attempt.account, limits.account)
        await _store(keys[1], attempt.address, limits.address)
    return attempt


async def failed(username: str, address: str, attempt: Attempt) -> None:
    """The password was wrong (or the account unknown or inactive): the attempt stays
    counted; audits what started (a window, a lockout)."""
    async with unit_of_work():
        await _audit(username, address, attempt)
    await _delete_expired(utcnow())


async def _delete_expired(now: datetime) -> None:
    stale = LoginThrottle.select(LoginThrottle.id).where(LoginThrottle.expires_at < now)
    if not is_sqlite(engine()):
        # Rows in use by an attempt are skipped, so this never waits on one.
        stale = stale.lock_rows(skip_locked=True)
    async with unit_of_work():
        await LoginThrottle.delete().where(LoginThrottle.id.is_in(stale)).run()


async def _audit(username: str, address: str, attempt: Attempt) -> None:
    actor = f"anonymous:{username[:40]}"
    counter = attempt.account.counter
    if audits_window_start(attempt.account, attempt.address):
        await record(
            actor,
            "staff.login_failed",
            "staff_user",
            username[:64],
            after={"failures": counter.failures, "address": address},
        )
    elif attempt.account.event == LOCKED:
        await record(
            actor,
            "staff.login_locked",
            "staff_user",
            username[:64],
            after={
                "failures": counter.failures,
                "locked_until": counter.blocked_until,
                "address": address,
            },
        )
    if attempt.address.event == LOCKED:
        await _audit_address_lock(address_key(address))


async def _audit_address_lock(key: str) -> None:
    # A success since the count may have taken the lockout back (`refund`).
    by_address = (await _counters(key))[key]
    if by_address is None or by_address.blocked_until is None:
        return
    block = key.partition(":")[2]
    await record(
        f"anonymous:{block}"[:120],
        "login.address_locked",
        "client_address",
        block,
        after={"failures": by_address.failures, "locked_until": by_address.blocked_until},
    )


async def succeeded(username: str, address: str, attempt: Attempt, limits: LoginLimits) -> None:
    """Inside the unit of work that opens the session: the account starts afresh, and
    the address's count loses this attempt (but keeps the failures)."""
    await LoginThrottle.delete().where(LoginThrottle.key == account_key(username)).run()
    key = address_key(address)
    charged = attempt.address.counter
    taken_back = refund((await _counters(key, lock=True))[key], charged, limits.address)
    if taken_back is not None:
        await _store(key, Counted(taken_back, None), limits.address)


async def clear(actor: str, key: str) -> dict[str, Any] | None:
    """An admin lifts a key's delay or lockout; returns what was lifted."""
    async with unit_of_work():
        counter = (await _counters(key, lock=True))[key]
        await LoginThrottle.delete().where(LoginThrottle.key == key).run()
        lifted = (
            {"failures": counter.failures, "blocked_until": counter.blocked_until}
            if counter and counter.failures
            else None
        )
        kind, _, name = key.partition(":")
        await record(
            actor,
            "staff.unlocked" if kind == "account" else "login.address_unlocked",
            "staff_user" if kind == "account" else "client_address",
            name,
            before=lifted,
        )
    return lifted


async def blocked_now() -> list[dict[str, Any]]:
    """Account names and addresses refused at this moment, longest-blocked last."""
    rows = await (
        LoginThrottle.select(LoginThrottle.key, LoginThrottle.failures, LoginThrottle.blocked_until)
        .where(LoginThrottle.blocked_until > utcnow())
        .order_by(LoginThrottle.blocked_until)
        .limit(1000)
        .run()
    )
    found = []
    for row in rows:
        kind, _, name = row["key"].partition(":")
        found.append(
            {
                "kind": kind,
                "name": name,
                "failures": row["failures"],
                "blocked_until": row["blocked_until"],
            }
        )
    return found
