"""Login throttling, kept in the database so every API process counts the same
failures (rules in accounts.throttle_rules).

An attempt is counted as the account's failure before its password is checked, in a
transaction that holds the counter's row: attempts sent in parallel therefore pass
one by one, and those past the limit are refused without running argon2. A correct
password then deletes the account's counter. The client address counts only real
failures, so many people behind one address can still sign in.

The audit log gets one entry when an account's window starts and one when a key is
locked, with the count so far; the failures in between live in the counter only, so
a flood cannot grow the hash chain row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from accounts.tables import LoginThrottle
from accounts.throttle_rules import LOCKED, WINDOW_STARTED, Counted, Counter, Limits, wait_seconds
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
    return f"address:{address}"[:80]


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
        query = query.lock_rows()
    found = {row["key"]: row for row in await query.run()}
    return {key: _counter(found.get(key)) for key in keys}


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


async def begin_attempt(username: str, address: str, limits: LoginLimits) -> Counted:
    """Refuses a blocked account name or address (TooManyRequests), else counts this
    attempt as a failure of the account name; `failed` or `succeeded` follows."""
    keys = (account_key(username), address_key(address))
    # A flood of refused attempts costs one read each, no write lock.
    wait = _longest_wait(await _counters(*keys), utcnow())
    if wait:
        raise _refuse(wait)
    async with unit_of_work():
        now = utcnow()
        await _ensure_row(keys[0], now)
        # Only the account's row is held: attempts from one busy address do not queue.
        counters = {**await _counters(keys[1]), **await _counters(keys[0], lock=True)}
        wait = _longest_wait(counters, now)
        if wait:
            raise _refuse(wait)
        account = counters[keys[0]]
        counted = count(account if account and account.failures else None, now, limits.account)
        await _store(keys[0], counted, limits.account)
    return counted


async def failed(username: str, address: str, counted: Counted, limits: LoginLimits) -> None:
    """The password was wrong (or the account unknown or inactive): counts the failure
    for the address and audits what started (a window, a lockout)."""
    key = address_key(address)
    async with unit_of_work():
        now = utcnow()
        await _ensure_row(key, now)
        by_address = (await _counters(key, lock=True))[key]
        seen = by_address if by_address and by_address.failures else None
        address_counted = count(seen, now, limits.address)
        await _store(key, address_counted, limits.address)
        await _audit(username, address, counted, address_counted)
        await LoginThrottle.delete().where(LoginThrottle.expires_at < now).run()


async def _audit(username: str, address: str, account: Counted, by_address: Counted) -> None:
    actor = f"anonymous:{username[:40]}"
    counter = account.counter
    if account.event == WINDOW_STARTED:
        await record(
            actor,
            "staff.login_failed",
            "staff_user",
            username[:64],
            after={"failures": counter.failures, "address": address},
        )
    elif account.event == LOCKED:
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
    if by_address.event == LOCKED:
        await record(
            f"anonymous:{address}"[:120],
            "login.address_locked",
            "client_address",
            address,
            after={
                "failures": by_address.counter.failures,
                "locked_until": by_address.counter.blocked_until,
            },
        )


async def succeeded(username: str) -> None:
    """Inside the unit of work that opens the session: the account starts afresh."""
    await LoginThrottle.delete().where(LoginThrottle.key == account_key(username)).run()


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
