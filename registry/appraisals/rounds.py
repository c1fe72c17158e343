"""Quota pools and appraisal rounds: creating them and showing what is left."""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import InvalidInput, NotFound
from registry.appraisals import rules
from registry.appraisals.tables import AppraisalRound, QuotaPool, TalentApplication

_POOL = (
    QuotaPool.id,
    QuotaPool.name,
    QuotaPool.first_year,
    QuotaPool.last_year,
    QuotaPool.total,
    QuotaPool.used,
)
_ROUND = (
    AppraisalRound.id,
    AppraisalRound.pool.as_alias("pool_id"),
    AppraisalRound.year,
    AppraisalRound.title,
    AppraisalRound.opens_on,
    AppraisalRound.closes_on,
    AppraisalRound.quota,
    AppraisalRound.approved,
    AppraisalRound.created_by,
    AppraisalRound.created_at,
)


async def create_pool(
    actor: Principal, name: str, first_year: int, last_year: int, total: int
) -> dict[str, Any]:
    name = rules.validate_pool(name, first_year, last_year, total)
    async with unit_of_work():
        with conflict_on_duplicate("a quota pool of this name exists", "name"):
            rows = (
                await QuotaPool.insert(
                    QuotaPool(
                        name=name,
                        first_year=first_year,
                        last_year=last_year,
                        total=total,
                        created_by=actor.actor,
                    )
                )
                .returning(QuotaPool.id)
                .run()
            )
        pool_id = rows[0]["id"]
        await record(
            actor.actor,
            "appraisal.pool_created",
            "talent_quota_pool",
            pool_id,
            after={"name": name, "years": [first_year, last_year], "total": total},
        )
    return await pool_view(pool_id)


async def pool_view(pool_id: int) -> dict[str, Any]:
    pool = await QuotaPool.select(*_POOL).where(QuotaPool.id == pool_id).first().run()
    if pool is None:
        raise NotFound("quota pool not found", pool_id=pool_id)
    pending = await _pending(pool_id=pool_id)
    return {
        **pool,
        "pending": pending,
        "remaining": pool["total"] - pool["used"],
        "available_for_shortlist": max(pool["total"] - pool["used"] - pending, 0),
    }


async def list_pools() -> list[dict[str, Any]]:
    rows = await QuotaPool.select(QuotaPool.id).order_by(QuotaPool.first_year).run()
    return [await pool_view(r["id"]) for r in rows]


async def _pending(*, pool_id: int | None = None, round_id: int | None = None) -> int:
    """Applications shortlisted, on notice or paused: they hold a place until decided."""
    query = TalentApplication.count().where(
        TalentApplication.status.is_in(list(rules.PENDING_DECISION))
    )
    if pool_id is not None:
        query = query.where(TalentApplication.round.pool == pool_id)
    if round_id is not None:
        query = query.where(TalentApplication.round == round_id)
    return await query.run()


async def _covering_pool(year: int) -> dict[str, Any] | None:
    rows = (
        await QuotaPool.select(*_POOL)
        .where((QuotaPool.first_year <= year) & (QuotaPool.last_year >= year))
        .run()
    )
    return rows[0] if len(rows) == 1 else None


async def create_round(
    actor: Principal,
    *,
    year: int,
    title: str,
    opens_on: date,
    closes_on: date,
    quota: int | None,
    pool_id: int | None,
) -> dict[str, Any]:
    """The pool is the one named, or else the only pool covering the year."""
    async with unit_of_work():
        if pool_id is not None:
            pool = await QuotaPool.select(*_POOL).where(QuotaPool.id == pool_id).first().run()
            if pool is None:
                raise InvalidInput.single("pool_id", "no such quota pool")
        else:
            pool = await _covering_pool(year)
        title = rules.validate_round(year, title, opens_on, closes_on, quota, pool)
        assert pool is not None
        rows = (
            await AppraisalRound.insert(
                AppraisalRound(
                    pool=pool["id"],
                    year=year,
                    title=title,
                    opens_on=opens_on,
                    closes_on=closes_on,
                    quota=quota,
                    created_by=actor.actor,
                )
            )
            .returning(AppraisalRound.id)
            .run()
        )
        round_id = rows[0]["id"]
        await record(
            actor.actor,
            "appraisal.round_created",
            "appraisal_round",
            round_id,
            after={
                "pool_id": pool["id"],
                "year": year,
                "title": title,
                "opens_on": opens_on.isoformat(),
                "closes_on": closes_on.isoformat(),
                "quota": quota,
            },
        )
    return await round_view(round_id)


async def round_row(round_id: int) -> dict[str, Any]:
    row = await AppraisalRound.select(*_ROUND).where(AppraisalRound.id == round_id).first().run()
    if row is None:
        raise NotFound("appraisal round not found", round_id=round_id)
    return row


async def round_view(round_id: int) -> dict[str, Any]:
    """The round with its quota and its pool's: always what is left."""
    row = await round_row(round_id)
    pool = await pool_view(row["pool_id"])
    pending = await _pending(round_id=round_id)
    remaining = None if row["quota"] is None else row["quota"] - row["approved"]
    return {
        **row,
        "pending": pending,
        "remaining": remaining,
        "pool": pool,
        "available_for_shortlist": rules.places_left(
            pool["total"],
            pool["used"],
            pool["pending"],
            row["quota"],
            row["approved"],
            pending,
        ),
    }


async def list_rounds(year: int | None) -> list[dict[str, Any]]:
    query = AppraisalRound.select(AppraisalRound.id).order_by(AppraisalRound.id)
    if year is not None:
        query = query.where(AppraisalRound.year == year)
    return [await round_view(r["id"]) for r in await query.limit(200).run()]
