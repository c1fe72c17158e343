"""Budgets per scheme and year: finance sets the amount; approvals commit against it
(subsidies.claims.ledger.take_from_budget). A budget never goes below what approved
claims have committed: the check is in the same conditional UPDATE that sets it, so an
approval committing at the same moment cannot slip between a read and the write."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.db import unit_of_work
from kernel.errors import NotFound
from registry.organisations import for_update
from subsidies.claims import rules
from subsidies.claims.tables import Budget
from subsidies.policies.documents import SCHEMES

_COLUMNS = (Budget.scheme, Budget.year, Budget.amount_fen, Budget.committed_fen, Budget.set_by)


def _present(row: dict[str, Any]) -> dict[str, Any]:
    remaining = row["amount_fen"] - row["committed_fen"]
    return {
        **row,
        "remaining_fen": remaining,
        "amount_yuan": rules.yuan_text(row["amount_fen"]),
        "committed_yuan": rules.yuan_text(row["committed_fen"]),
        "remaining_yuan": rules.yuan_text(remaining),
    }


def _key(scheme: str, year: int) -> Any:
    return (Budget.scheme == scheme) & (Budget.year == year)


async def set_budget(actor: Principal, scheme: str, year: int, amount_fen: int) -> dict[str, Any]:
    """Creates or changes a budget; below what is committed answers 409 with the figures."""
    rules.check_budget(scheme, year, amount_fen, SCHEMES)
    async with unit_of_work():
        inserted = (
            await Budget.insert(
                Budget(
                    scheme=scheme,
                    year=year,
                    amount_fen=amount_fen,
                    committed_fen=0,
                    set_by=actor.actor,
                )
            )
            .on_conflict(target=(Budget.scheme, Budget.year), action="DO NOTHING")
            .returning(Budget.id)
            .run()
        )
        if inserted:
            before = None
        else:
            before = (
                await for_update(Budget.select(*_COLUMNS).where(_key(scheme, year))).first().run()
            )
            assert before is not None
            changed = (
                await Budget.update({Budget.amount_fen: amount_fen, Budget.set_by: actor.actor})
                .where(_key(scheme, year) & (Budget.committed_fen <= amount_fen))
                .returning(Budget.committed_fen)
                .run()
            )
            if not changed:
                row = (
                    await Budget.select(Budget.committed_fen)
                    .where(_key(scheme, year))
                    .first()
                    .run()
                )
                assert row is not None
                raise rules.budget_below_committed(scheme, year, amount_fen, row["committed_fen"])
        await record(
            actor.actor,
            "budget.set",
            "budget",
            f"{scheme}:{year}",
            before={"amount_fen": before["amount_fen"]} if before else None,
            after={"scheme": scheme, "year": year, "amount_fen": amount_fen},
        )
    return await get_budget(scheme, year)


async def get_budget(scheme: str, year: int) -> dict[str, Any]:
    row = await Budget.select(*_COLUMNS).where(_key(scheme, year)).first().run()
    if row is None:
        raise NotFound(f"no budget is set for {scheme} in {year}")
    return _present(row)


async def list_budgets(scheme: str | None = None, year: int | None = None) -> list[dict[str, Any]]:
    query = Budget.select(*_COLUMNS)
    if scheme is not None:
        query = query.where(Budget.scheme == scheme)
    if year is not None:
        query = query.where(Budget.year == year)
    rows = await query.order_by(Budget.year, ascending=False).order_by(Budget.scheme).run()
    return [_present(r) for r in rows]
