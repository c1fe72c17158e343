"""When the basis of claims is revoked (a certificate, an award): unpaid claims go on
hold, paid ones are flagged for recovery, each move audited. Runs in the caller's unit
of work; claims already on hold or flagged are left as they are, so a second run moves
nothing."""

from __future__ import annotations

from typing import Any

from audit.log import record
from kernel.clock import utcnow
from registry.organisations import for_update
from subsidies.claims import calculations, statuses
from subsidies.claims.tables import Claim

HOLDABLE = (statuses.PROPOSED, statuses.SUBMITTED, statuses.CALCULATED, statuses.APPROVED)


async def hold_or_flag(actor_label: str, which: Any, hold: str, recover: str) -> None:
    """`which`: a Piccolo condition naming the claims; `hold` / `recover`: the reasons
    written on unpaid and paid claims."""
    rows = await for_update(
        Claim.select(
            Claim.id,
            Claim.status,
            Claim.recovery_reason,
            Claim.policy_version,
            Claim.amount_fen,
            Claim.cap_key,
        )
        .where(which & Claim.status.is_in(list(statuses.stored((*HOLDABLE, statuses.PAID)))))
        .order_by(Claim.id)
    ).run()
    found = await calculations.of_claims([r["id"] for r in rows], detail=False)
    now = utcnow()
    for claim in (calculations.merged(r, found.get(r["id"]), detail=False) for r in rows):
        if claim["status"] == statuses.PAID:
            if claim["recovery_reason"] is not None:
                continue
            await (
                Claim.update({Claim.recovery_reason: recover, Claim.updated_at: now})
                .where((Claim.id == claim["id"]) & (Claim.status == statuses.PAID))
                .run()
            )
            await record(
                actor_label,
                "claim.recovery_flagged",
                "claim",
                claim["id"],
                before={"status": statuses.PAID, "recovery_reason": None},
                after={"status": statuses.PAID, "recovery_reason": recover},
            )
            continue
        await (
            Claim.update(
                {
                    Claim.status: statuses.ON_HOLD,
                    Claim.hold_reason: hold,
                    Claim.updated_at: now,
                    **calculations.settled(claim),  # on hold, it still holds its amount
                }
            )
            .where((Claim.id == claim["id"]) & Claim.status.is_in(list(statuses.stored(HOLDABLE))))
            .run()
        )
        await record(
            actor_label,
            "claim.put_on_hold",
            "claim",
            claim["id"],
            before={"status": claim["status"]},
            after={"status": statuses.ON_HOLD, "hold_reason": hold},
        )
