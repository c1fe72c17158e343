"""An officer maps a placement the migration could not map (its typed programme name had
no letter or digit) to a registered programme. Its claims move from the typed name's cap
key to the programme's, with the amounts their approvals committed, as the migration
moved the placements it could map: the intern's months and money already paid count
towards the programme's months and cap. Claims the move puts past either (in claim
order, as the calculator fills them) go on hold, or are flagged for recovery if paid
(subsidies.claims.holds), and so do its claims for a month the intern's other placements
in the programme have approved or paid already: one calendar month pays once. The months
not approved yet are calculated again."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, engine, is_sqlite, unit_of_work
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound
from registry.organisations import for_update
from subsidies.claims import calculations, ledger, statuses
from subsidies.claims.holds import hold_or_flag
from subsidies.claims.submission import CALCULATE
from subsidies.claims.tables import Claim, ClaimCalculation
from subsidies.internships import programme_rules as prules
from subsidies.internships import rules
from subsidies.internships.programmes import WRITERS
from subsidies.internships.tables import Placement, Programme
from workers.outbox import enqueue

DUPLICATE = "this intern has a placement at this host under this programme from this start date"
PAID_MONTH = (statuses.APPROVED, statuses.PAID)


async def _placement(placement_id: int) -> dict[str, Any]:
    row = await for_update(Placement.select().where(Placement.id == placement_id)).first().run()
    if row is None:
        raise NotFound("internship placement not found", placement_id=placement_id)
    if row["programme_id"] is not None:
        raise Conflict(
            f"placement {placement_id} is mapped to programme {row['programme_id']} already",
            field="programme_id",
            programme_id=row["programme_id"],
        )
    return row


async def _programme(programme_id: int) -> dict[str, Any]:
    """Share-locked: its dates and terms hold until the move commits (approvals share the
    lock, an officer's change waits)."""
    query = Programme.select().where(Programme.id == programme_id)
    row = await (query if is_sqlite(engine()) else query.lock_rows("SHARE")).first().run()
    if row is None:
        raise InvalidInput.single("programme_id", "no registered internship programme has this id")
    return row


def _committed(claims: list[dict[str, Any]]) -> int:
    """What these claims' approvals took from their cap: the amount of each approved,
    held after approval, or paid."""
    return sum(
        c["amount_fen"]
        for c in claims
        if c["status"] in statuses.COMMITTED
        and c["decided_at"] is not None
        and (c["amount_fen"] or 0) > 0
    )


async def _duplicate_placement(placement: dict[str, Any], programme_id: int) -> None:
    """As registering: one placement per host, intern, programme and start date."""
    held = (
        await Placement.select(Placement.id)
        .where(
            (Placement.host == placement["host"])
            & (Placement.person == placement["person"])
            & (Placement.programme_id == programme_id)
            & (Placement.start_date == placement["start_date"])
        )
        .first()
        .run()
    )
    if held is not None:
        raise Conflict(
            f"{DUPLICATE} (placement {held['id']})",
            field="programme_id",
            existing_placement_id=held["id"],
        )


async def _months_paid_elsewhere(key: str, placement_id: int) -> list[tuple[int, str, str]]:
    """The claims (id, month, status) the intern's other placements in the programme have
    approved or paid."""
    rows = (
        await Claim.select(Claim.id, Claim.dedupe_key, Claim.status)
        .where(
            (Claim.cap_key == key)
            & (Claim.scheme == rules.SCHEME)
            & Claim.status.is_in(list(PAID_MONTH))
            & Claim.dedupe_key.not_like(f"{rules.SCHEME}:{placement_id}:%")
        )
        .run()
    )
    return [(r["id"], rules.month_of(r["dedupe_key"]), r["status"]) for r in rows]


async def _beyond(key: str, programme: dict[str, Any], skip: list[int]) -> list[int]:
    """The intern's live claims in the programme (but `skip`) past its cap or months; a
    claim not approved yet counts with its calculation's amount."""
    rows = (
        await Claim.select(Claim.id, Claim.dedupe_key, Claim.amount_fen)
        .where(
            (Claim.cap_key == key)
            & (Claim.scheme == rules.SCHEME)
            & Claim.status.is_in(list(statuses.LIVE))
        )
        .order_by(Claim.id)
        .run()
    )
    rows = [r for r in rows if r["id"] not in skip]
    priced = await calculations.of_claims([r["id"] for r in rows], detail=False)
    amounts = [
        (
            r["id"],
            rules.month_of(r["dedupe_key"]),
            r["amount_fen"]
            if r["amount_fen"] is not None
            else priced.get(r["id"], {}).get("amount_fen"),
        )
        for r in rows
    ]
    return prules.beyond_the_limits(
        amounts, programme["cap_per_intern_fen"], programme["max_months"]
    )


async def map_placement(actor: Principal, placement_id: int, programme_id: int) -> dict[str, Any]:
    if not (actor.is_staff and actor.has_any(*WRITERS)):
        raise Forbidden("this needs one of: officer, admin")
    async with unit_of_work():
        placement = await _placement(placement_id)
        programme = await _programme(programme_id)
        outside = prules.placement_outside(
            placement["start_date"],
            placement["end_date"],
            programme["start_date"],
            programme["end_date"],
        )
        if outside:
            raise InvalidInput(outside)
        person = placement["person"]
        old_key = rules.typed_cap_key(person, placement["programme"])
        new_key = rules.cap_key(person, programme_id)
        await _duplicate_placement(placement, programme_id)
        with conflict_on_duplicate(DUPLICATE, "programme_id"):
            await (
                Placement.update(
                    {Placement.programme_id: programme_id, Placement.updated_at: utcnow()}
                )
                .where(Placement.id == placement_id)
                .run()
            )
        # Its months: dedupe key "internship:{placement}:{YYYY-MM}", priced under the
        # typed name's key.
        claims = await for_update(
            Claim.select(
                Claim.id, Claim.dedupe_key, Claim.status, Claim.amount_fen, Claim.decided_at
            )
            .where(
                (Claim.scheme == rules.SCHEME)
                & Claim.dedupe_key.like(f"{rules.SCHEME}:{placement_id}:%")
                & (Claim.cap_key == old_key)
            )
            .order_by(Claim.id)
        ).run()
        ids = [c["id"] for c in claims]
        committed = _committed(claims)
        if ids:
            await Claim.update({Claim.cap_key: new_key}).where(Claim.id.is_in(ids)).run()
            await (
                ClaimCalculation.update({ClaimCalculation.cap_key: new_key})
                .where(ClaimCalculation.claim.is_in(ids) & (ClaimCalculation.cap_key == old_key))
                .run()
            )
        if committed:
            await ledger.give_back_to_cap(old_key, committed)
            await ledger.carry_to_cap(new_key, committed)
        twice = prules.months_paid_already(
            [
                (c["id"], rules.month_of(c["dedupe_key"]), c["status"])
                for c in claims
                if c["status"] in statuses.LIVE
            ],
            await _months_paid_elsewhere(new_key, placement_id),
        )
        if twice:
            why = (
                f"实习岗位 {placement_id} 已归入登记项目“{programme['name']}”，该实习生同一月份在"
                f"该项目有两笔申领，以先发放者为准 / placement {placement_id} was mapped to "
                f"registered programme {programme_id}: the intern has two claims for this month "
                "in it, and the one paid first stands"
            )
            await hold_or_flag(
                actor.actor,
                Claim.id.is_in(twice),
                f"{why}；暂停发放 / payment on hold",
                f"{why}；已发放资金应予追回 / the amount paid is to be recovered",
            )
        beyond = await _beyond(new_key, programme, twice)
        if beyond:
            cap, most = programme["cap_per_intern_fen"], programme["max_months"]
            why = (
                f"实习岗位 {placement_id} 已归入登记项目“{programme['name']}”，该实习生合计超过"
                f"每人 {cap // 100:,} 元或 {most} 个月上限 / placement {placement_id} was mapped "
                f"to registered programme {programme_id}: the intern's total is over the cap of "
                f"{cap // 100:,} yuan or {most} months"
            )
            await hold_or_flag(
                actor.actor,
                Claim.id.is_in(beyond),
                f"{why}；暂停发放 / payment on hold",
                f"{why}；已发放资金应予追回 / the amount paid is to be recovered",
            )
        again = [
            c["id"]
            for c in claims
            if c["status"] == statuses.SUBMITTED and c["id"] not in (*twice, *beyond)
        ]
        job_id = None
        if again:
            job_id = await enqueue(
                CALCULATE,
                {"scheme": rules.SCHEME, "claim_ids": again},
                created_by=actor.actor,
                organisation_id=placement["host"],
            )
        after = {
            "programme_id": programme_id,
            "cap_key": new_key,
            "claims_moved": ids,
            "committed_moved_fen": committed,
            "held_or_flagged": sorted([*twice, *beyond]),
            "calculation_job_id": job_id,
        }
        await record(
            actor.actor,
            "internship_placement.mapped",
            "internship_placement",
            placement_id,
            before={"programme_id": None, "programme": placement["programme"], "cap_key": old_key},
            after=after,
        )
    return {"placement_id": placement_id, **after}
