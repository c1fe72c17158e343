"""Previewing and building a batch.

A build is one unit of work: insert the batch, take the candidate claims with ONE
conditional UPDATE per chunk (`SET batch_id = b WHERE id IN (...) AND batch_id IS NULL
AND status = 'approved'`), write lines only for the rows that UPDATE actually changed,
and declare the count and total of exactly those lines. Two concurrent builds over the
same claims therefore split them and never share one: PostgreSQL re-checks the WHERE
on a row another transaction has just taken and skips it; SQLite has one writer at a
time. The partial unique index `batch_line_live_claim` (one pending or paid line per
claim) is the database's second guard against paying a claim twice.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.db import engine, is_sqlite, unit_of_work
from kernel.errors import Conflict
from subsidies.batches import rules
from subsidies.batches.payees import Payee, payee_of
from subsidies.batches.selection import Filters, unbatched
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.claims import statuses
from subsidies.claims.tables import Claim

CHUNK = 2000  # ids per statement: well under both engines' parameter limits
EXCLUDED_LISTED = 200  # excluded claims named one by one in a preview


@dataclass
class SchemeTotal:
    scheme: str
    count: int = 0
    total_fen: int = 0


@dataclass
class Preview:
    count: int
    total_fen: int
    schemes: list[SchemeTotal]
    excluded_count: int
    excluded: list[dict[str, Any]] = field(default_factory=list)  # claim_id, scheme, reason


def split(claims: list[dict[str, Any]]) -> tuple[list[tuple[dict[str, Any], Payee]], list[dict]]:
    """Payable claims with their payees, and the excluded ones with the reason (pure)."""
    payable, excluded = [], []
    for claim in claims:
        payee = payee_of(claim)
        if isinstance(payee, Payee):
            payable.append((claim, payee))
        else:
            excluded.append({"claim_id": claim["id"], "scheme": claim["scheme"], "reason": payee})
    return payable, excluded


def summarise(payable: list[tuple[dict[str, Any], Payee]], excluded: list[dict]) -> Preview:
    by_scheme: dict[str, SchemeTotal] = {}
    for claim, _ in payable:
        total = by_scheme.setdefault(claim["scheme"], SchemeTotal(claim["scheme"]))
        total.count += 1
        total.total_fen += claim["amount_fen"]
    return Preview(
        count=len(payable),
        total_fen=sum(c["amount_fen"] for c, _ in payable),
        schemes=sorted(by_scheme.values(), key=lambda s: s.scheme),
        excluded_count=len(excluded),
        excluded=excluded[:EXCLUDED_LISTED],
    )


async def preview(filters: Filters) -> Preview:
    """What a build with these filters would take now; writes nothing."""
    return summarise(*split(await unbatched(filters.check())))


async def build(actor: Principal, filters: Filters) -> tuple[int, Preview]:
    """Builds and submits a batch; returns its id and what it holds (the excluded claims
    as the preview saw them). Conflict when no payable claim is left."""
    filters.check()
    async with unit_of_work():
        now = utcnow()
        rows = (
            await DisbursementBatch.insert(
                DisbursementBatch(
                    number=f"PB-tmp-{uuid.uuid4().hex[:12]}",  # renamed below
                    status=rules.SUBMITTED,
                    scheme=filters.scheme,
                    period_from=filters.period_from,
                    period_to=filters.period_to,
                    selection=json.dumps(filters.given(), ensure_ascii=False, sort_keys=True),
                    built_by=actor.actor,
                    submitted_at=now,
                )
            )
            .returning(DisbursementBatch.id)
            .run()
        )
        batch_id = rows[0]["id"]
        number = rules.batch_number(local_today().year, batch_id)
        payable, excluded = split(await unbatched(filters))
        taken = await _take(batch_id, [claim["id"] for claim, _ in payable])
        # The amount as the taking UPDATE saw it, not as the earlier read did.
        mine = [({**c, "amount_fen": taken[c["id"]]}, p) for c, p in payable if c["id"] in taken]
        if not mine:
            raise Conflict(
                "no approved, unbatched claim with a complete bank account matches these "
                "filters (another batch may just have taken them)",
                field="filters",
            )
        digest = await _insert_lines(batch_id, mine)
        held = summarise(mine, excluded)
        await (
            DisbursementBatch.update(
                {
                    DisbursementBatch.number: number,
                    DisbursementBatch.declared_count: held.count,
                    DisbursementBatch.declared_total_fen: held.total_fen,
                    DisbursementBatch.declared_digest: digest,
                    DisbursementBatch.updated_at: now,
                }
            )
            .where(DisbursementBatch.id == batch_id)
            .run()
        )
        await record(
            actor.actor,
            "batch.submitted",
            "disbursement_batch",
            batch_id,
            after={
                "number": number,
                "status": rules.SUBMITTED,
                "scheme": filters.scheme,
                "period_from": filters.period_from,
                "period_to": filters.period_to,
                "selection": filters.given(),
                "declared_count": held.count,
                "declared_total_fen": held.total_fen,
                "declared_digest": digest,
                "per_scheme": {s.scheme: [s.count, s.total_fen] for s in held.schemes},
                "excluded_count": held.excluded_count,
                "lost_to_concurrent_builds": len(payable) - len(mine),
            },
        )
    return batch_id, held


async def _take(batch_id: int, claim_ids: list[int]) -> dict[int, int]:
    """The claims this batch got, with their amounts: only rows still approved and
    unbatched change.

    On PostgreSQL the rows are first locked in id order with SKIP LOCKED, so two builds
    over overlapping claims never wait on each other in opposite orders (a deadlock);
    a row the other build holds is simply left to it. The conditional UPDATE is still
    what decides, on both engines."""
    taken: dict[int, int] = {}  # claim id -> amount_fen
    for start in range(0, len(claim_ids), CHUNK):
        chunk = claim_ids[start : start + CHUNK]
        free = (
            Claim.id.is_in(chunk) & Claim.batch_id.is_null() & (Claim.status == statuses.APPROVED)
        )
        if not is_sqlite(engine()):
            locked = (
                await Claim.select(Claim.id)
                .where(free)
                .order_by(Claim.id)
                .lock_rows(skip_locked=True)
                .run()
            )
            chunk = [r["id"] for r in locked]
            if not chunk:
                continue
            free = (
                Claim.id.is_in(chunk)
                & Claim.batch_id.is_null()
                & (Claim.status == statuses.APPROVED)
            )
        rows = (
            await Claim.update({Claim.batch_id: batch_id, Claim.updated_at: utcnow()})
            .where(free)
            .returning(Claim.id, Claim.amount_fen)
            .run()
        )
        taken.update((r["id"], r["amount_fen"]) for r in rows)
    return taken


async def _insert_lines(batch_id: int, mine: list[tuple[dict[str, Any], Payee]]) -> str:
    """Writes the lines; returns their digest (rules.lines_digest)."""
    lines = [
        BatchLine(
            batch=batch_id,
            claim=claim["id"],
            line_no=line_no,
            scheme=claim["scheme"],
            payee_kind=payee.kind,
            payee_name=payee.name,
            payee_account=payee.account,
            payee_bank=payee.bank,
            payee_bank_code=payee.bank_code,
            person=payee.person_id,
            organisation=payee.organisation_id,
            amount_fen=claim["amount_fen"],
            reference=rules.payment_reference(batch_id, line_no),
            status=rules.PENDING,
        )
        for line_no, (claim, payee) in enumerate(mine, start=1)
    ]
    for start in range(0, len(lines), 500):
        await BatchLine.insert(*lines[start : start + 500]).run()
    return rules.lines_digest(
        {name: getattr(line, name) for name in (*rules.DIGEST_FIELDS, "payee_bank_code")}
        for line in lines
    )
