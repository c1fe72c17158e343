"""Caps that span claims and yearly budgets, enforced with one conditional UPDATE each.

`UPDATE … SET used = used + x WHERE key = k AND used + x <= cap` is atomic on both
engines: PostgreSQL row-locks the row and re-checks the condition on the latest version
after a concurrent writer commits; SQLite has one writer at a time. So two approvals
racing for the last 3,000 yuan under a cap cannot both succeed, without a read-then-write.
Call these inside the approval's unit of work: a refusal later in it rolls them back.

A claim approved and then put on hold gives its share back when an officer rejects it
(`give_back_*`, in the rejection's unit of work), with the mirror condition
`used >= x`: a figure never goes below zero, and one that would means the ledger is
wrong, so the rejection is refused instead of hiding it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import Conflict
from subsidies.claims.rules import yuan_text
from subsidies.claims.tables import Budget, CapUsage


@dataclass(frozen=True)
class Refusal:
    what: str
    limit_fen: int
    used_fen: int
    asked_fen: int

    def message(self) -> str:
        return (
            f"{self.what}: {self.used_fen / 100:,.2f} yuan of {self.limit_fen / 100:,.2f} "
            f"already committed, {(self.limit_fen - self.used_fen) / 100:,.2f} left; "
            f"this approval needs {self.asked_fen / 100:,.2f}"
        )


async def take_from_cap(key: str, cap_fen: int, amount_fen: int) -> Refusal | None:
    await CapUsage.raw(
        "INSERT INTO cap_usage (key, used_fen, updated_at) VALUES ({}, 0, CURRENT_TIMESTAMP) "
        "ON CONFLICT (key) DO NOTHING",
        key,
    ).run()
    taken = await CapUsage.raw(
        "UPDATE cap_usage SET used_fen = used_fen + {}, updated_at = CURRENT_TIMESTAMP "
        "WHERE key = {} AND used_fen + {} <= {} RETURNING id",
        amount_fen,
        key,
        amount_fen,
        cap_fen,
    ).run()
    if taken:
        return None
    row = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
    return Refusal(f"cap {key}", cap_fen, row["used_fen"] if row else 0, amount_fen)


async def carry_to_cap(key: str, amount_fen: int) -> None:
    """Approved amounts moved onto a cap from another key (their claims' cap key was
    moved): unconditional, as they were granted already; the claims a move puts past
    the cap are held by the caller, never cut here."""
    await CapUsage.raw(
        "INSERT INTO cap_usage (key, used_fen, updated_at) VALUES ({}, {}, CURRENT_TIMESTAMP) "
        "ON CONFLICT (key) DO UPDATE SET used_fen = cap_usage.used_fen + excluded.used_fen, "
        "updated_at = CURRENT_TIMESTAMP",
        key,
        amount_fen,
    ).run()


async def take_from_budget(scheme: str, year: int, amount_fen: int) -> Refusal | None:
    taken = await Budget.raw(
        "UPDATE budget SET committed_fen = committed_fen + {}, updated_at = CURRENT_TIMESTAMP "
        "WHERE scheme = {} AND year = {} AND committed_fen + {} <= amount_fen RETURNING id",
        amount_fen,
        scheme,
        year,
        amount_fen,
    ).run()
    if taken:
        return None
    row = (
        await Budget.select(Budget.amount_fen, Budget.committed_fen)
        .where((Budget.scheme == scheme) & (Budget.year == year))
        .first()
        .run()
    )
    if row is None:
        raise Conflict(
            f"no budget is set for {scheme} in {year}: finance sets it with "
            f"PUT /api/v1/budgets/{scheme}/{year}",
            field="budget",
        )
    return Refusal(f"budget {scheme} {year}", row["amount_fen"], row["committed_fen"], amount_fen)


async def give_back_to_cap(key: str, amount_fen: int) -> None:
    """What an approval took from a cap, given back (its claim was rejected after a
    hold). Conditional like taking: never below zero; a cap holding less than the claim
    took means the ledger is wrong, and the caller's unit of work rolls back."""
    given = await CapUsage.raw(
        "UPDATE cap_usage SET used_fen = used_fen - {}, updated_at = CURRENT_TIMESTAMP "
        "WHERE key = {} AND used_fen >= {} RETURNING id",
        amount_fen,
        key,
        amount_fen,
    ).run()
    if given:
        return
    row = await CapUsage.select(CapUsage.used_fen).where(CapUsage.key == key).first().run()
    raise Conflict(
        f"cap {key}: {yuan_text(row['used_fen'] if row else 0)} yuan is committed, less than the "
        f"{yuan_text(amount_fen)} this claim's approval took; the cap's figures need checking",
        field="cap_key",
    )


async def give_back_to_budget(scheme: str, year: int, amount_fen: int) -> None:
    """As give_back_to_cap, for the budget the approval committed against."""
    given = await Budget.raw(
        "UPDATE budget SET committed_fen = committed_fen - {}, updated_at = CURRENT_TIMESTAMP "
        "WHERE scheme = {} AND year = {} AND committed_fen >= {} RETURNING id",
        amount_fen,
        scheme,
        year,
        amount_fen,
    ).run()
    if given:
        return
    row = (
        await Budget.select(Budget.committed_fen)
        .where((Budget.scheme == scheme) & (Budget.year == year))
        .first()
        .run()
    )
    committed = f"{yuan_text(row['committed_fen'])} yuan is" if row else "no budget is set, nothing"
    raise Conflict(
        f"budget {scheme} {year}: {committed} committed, less than the {yuan_text(amount_fen)} "
        "this claim's approval took; the budget's figures need checking",
        field="budget",
    )
