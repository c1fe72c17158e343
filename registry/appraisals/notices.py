"""The public notice (公示) of a round's shortlist, and objections to it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from accounts.principal import Principal
from audit.log import record
from calendar_days import service as calendar
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, InvalidInput, NotFound
from kernel.masking import mask_id_number
from registry.appraisals import applications, clock, policy, rounds, rules
from registry.appraisals.tables import TalentApplication, TalentNotice, TalentObjection
from registry.organisations import for_update
from reviews import cases

PUBLIC_ACTOR = "public:objection"  # objections come from anyone, without an account
OUTCOMES = ("upheld", "dismissed")


async def publish(actor: Principal, round_id: int, starts_on: date) -> dict[str, Any]:
    """Puts every shortlisted application of the round on notice from `starts_on` for
    the policy's number of working days."""
    rules.validate_notice_start(starts_on, clock.today())
    days = policy.current().notice_working_days
    async with unit_of_work():
        # Counted first, on the calendar held until commit: a replacement of its years
        # then recounts this notice (the same lock order as the replacement's).
        ends_on = await calendar.period_end(starts_on, days, "starts_on")
        await rounds.round_row(round_id)
        shortlisted = await for_update(
            TalentApplication.select(TalentApplication.id).where(
                (TalentApplication.round == round_id)
                & (TalentApplication.status == rules.SHORTLISTED)
            )
        ).run()
        if not shortlisted:
            raise Conflict("the round has no shortlisted application to publish", field="round_id")
        rows = (
            await TalentNotice.insert(
                TalentNotice(
                    round=round_id,
                    starts_on=starts_on,
                    ends_on=ends_on,
                    working_days=days,
                    published_by=actor.actor,
                )
            )
            .returning(TalentNotice.id)
            .run()
        )
        notice_id = rows[0]["id"]
        ids = [r["id"] for r in shortlisted]
        await (
            TalentApplication.update(
                {
                    TalentApplication.status: rules.IN_NOTICE,
                    TalentApplication.notice: notice_id,
                    TalentApplication.notice_ends_on: ends_on,
                    TalentApplication.updated_at: utcnow(),
                }
            )
            .where(
                TalentApplication.id.is_in(ids) & (TalentApplication.status == rules.SHORTLISTED)
            )
            .run()
        )
        await record(
            actor.actor,
            "appraisal.notice_published",
            "talent_notice",
            notice_id,
            after={
                "round_id": round_id,
                "starts_on": starts_on.isoformat(),
                "ends_on": ends_on.isoformat(),
                "working_days": days,
                "applications": ids,
            },
        )
    return await notice_view(notice_id)


async def notice_view(notice_id: int) -> dict[str, Any]:
    notice = (
        await TalentNotice.select(
            TalentNotice.id,
            TalentNotice.round.as_alias("round_id"),
            TalentNotice.starts_on,
            TalentNotice.ends_on,
            TalentNotice.working_days,
            TalentNotice.published_by,
            TalentNotice.published_at,
        )
        .where(TalentNotice.id == notice_id)
        .first()
        .run()
    )
    if notice is None:
        raise NotFound("notice not found", notice_id=notice_id)
    notice["entries"] = await _entries(TalentApplication.notice == notice_id)
    notice["warnings"] = await calendar.current_warnings()  # officers plan the next notice
    return notice


async def current() -> dict[str, Any]:
    """What is on public notice today: public, so ID numbers are masked."""
    today = clock.today()
    entries = await _entries(
        TalentApplication.status.is_in([rules.IN_NOTICE, rules.OBJECTED])
        & (TalentApplication.notice.starts_on <= today)
        & (TalentApplication.notice_ends_on >= today)
    )
    return {"today": today, "entries": entries}


async def _entries(where: Any) -> list[dict[str, Any]]:
    rows = await (
        TalentApplication.select(
            TalentApplication.id.as_alias("application_id"),
            TalentApplication.notice.as_alias("notice_id"),
            TalentApplication.person.name.as_alias("name"),
            TalentApplication.person.id_number.as_alias("id_number"),
            TalentApplication.applicant.name.as_alias("organisation"),
            TalentApplication.route,
            TalentApplication.occupation_code,
            TalentApplication.occupation_name,
            TalentApplication.medal,
            TalentApplication.status,
            TalentApplication.notice.starts_on.as_alias("notice_starts_on"),
            TalentApplication.notice_ends_on,
        )
        .where(where)
        .order_by(TalentApplication.shortlist_rank)
        .order_by(TalentApplication.id)
        .limit(2000)
        .run()
    )
    for row in rows:
        row["id_number"] = mask_id_number(row["id_number"])
        row["paused"] = row.pop("status") == rules.OBJECTED
    return rows


# -- objections ------------------------------------------------------------------------------


async def lodge(
    application_id: int, contact_name: str, contact: str, reason: str
) -> dict[str, Any]:
    """Anyone, during the notice. The application pauses until an officer resolves it."""
    name, contact, reason = rules.validate_objection(contact_name, contact, reason)
    today = clock.today()
    async with unit_of_work():
        row = (
            await for_update(
                TalentApplication.select(
                    TalentApplication.id,
                    TalentApplication.status,
                    TalentApplication.notice,
                    TalentApplication.notice_ends_on,
                ).where(TalentApplication.id == application_id)
            )
            .first()
            .run()
        )
        if row is None:
            raise NotFound(rules.NOT_ON_NOTICE, field="application_id")
        starts_on = None
        if row["notice"] is not None:
            notice = (
                await TalentNotice.select(TalentNotice.starts_on)
                .where(TalentNotice.id == row["notice"])
                .first()
                .run()
            )
            starts_on = notice["starts_on"] if notice else None
        rules.ensure_in_notice_window(row["status"], starts_on, row["notice_ends_on"], today)
        rows = (
            await TalentObjection.insert(
                TalentObjection(
                    application=application_id, contact_name=name, contact=contact, reason=reason
                )
            )
            .returning(TalentObjection.id, TalentObjection.lodged_at)
            .run()
        )
        objection = rows[0]
        if row["status"] == rules.IN_NOTICE:
            await applications.update(application_id, status=rules.OBJECTED)
        await record(
            PUBLIC_ACTOR,
            "appraisal.objection_lodged",
            "talent_objection",
            objection["id"],
            before={"status": row["status"]},
            after={"application_id": application_id, "status": rules.OBJECTED},
        )
    return {
        "id": objection["id"],
        "application_id": application_id,
        "status": "open",
        "lodged_at": objection["lodged_at"],
    }


async def resolve(actor: Principal, objection_id: int, outcome: str, reason: str) -> dict[str, Any]:
    """upheld: the application is rejected with the reason. dismissed: it goes on, and
    when no other objection is open it is back on notice, its notice extended if the
    policy says so (at least N working days left after today)."""
    if outcome not in OUTCOMES:
        raise InvalidInput.single("outcome", f"must be one of {', '.join(OUTCOMES)}")
    reason = rules.check_reason(reason)
    today = clock.today()
    days = policy.current().extension_days()
    async with unit_of_work():
        if outcome == "dismissed" and days:
            # Before the rows, as a replacement does: it then recounts this extension.
            await calendar.hold(today, days + 1)
        objection = (
            await for_update(
                TalentObjection.select(
                    TalentObjection.id, TalentObjection.application, TalentObjection.status
                ).where(TalentObjection.id == objection_id)
            )
            .first()
            .run()
        )
        if objection is None:
            raise NotFound("objection not found", objection_id=objection_id)
        if objection["status"] != "open":
            raise Conflict(f"the objection is already {objection['status']}", field="status")
        application_id = objection["application"]
        app = await applications.lock(application_id)
        if app["review_case"] is not None:  # deciding an objection decides the case
            await cases.ensure_not_reviewer(
                app["review_case"], actor, what=f"deciding objection {objection_id}"
            )
        now = utcnow()
        extended_to = None
        if outcome == "upheld":
            rules.ensure_transition(app["status"], rules.REJECTED)
            why = f"objection {objection_id} upheld: {reason}"
            await _close(objection_id, "upheld", actor, reason, None, today)
            await applications.close_objections(application_id, actor, why)
            await applications.decide(application_id, rules.REJECTED, actor, rejected_reason=why)
            after_status = rules.REJECTED
        else:
            others = await TalentObjection.count().where(
                (TalentObjection.application == application_id)
                & (TalentObjection.status == "open")
                & (TalentObjection.id != objection_id)
            )
            ends_on = app["notice_ends_on"]
            if days:
                floor = await calendar.working_days_after(today, days, "extension")
                if ends_on is None or floor > ends_on:
                    extended_to = ends_on = floor
            await _close(objection_id, "dismissed", actor, reason, extended_to, today)
            after_status = app["status"] if others else rules.IN_NOTICE
            await applications.update(application_id, status=after_status, notice_ends_on=ends_on)
        await record(
            actor.actor,
            f"appraisal.objection_{outcome}",
            "talent_objection",
            objection_id,
            before={"status": "open", "application_status": app["status"]},
            after={
                "status": outcome,
                "reason": reason,
                "application_status": after_status,
                "notice_extended_to": extended_to.isoformat() if extended_to else None,
                "at": now.isoformat(),
            },
        )
    return await objection_view(objection_id)


async def _close(
    objection_id: int,
    status: str,
    actor: Principal,
    reason: str,
    extended_to: date | None,
    today: date,
) -> None:
    """An extension counts its working days from the day after `today`, the decision's
    day the count used; a recount starts there too."""
    await (
        TalentObjection.update(
            {
                TalentObjection.status: status,
                TalentObjection.resolution: reason,
                TalentObjection.resolved_by: actor.actor,
                TalentObjection.resolved_at: utcnow(),
                TalentObjection.extended_to: extended_to,
                TalentObjection.extended_from: today + timedelta(days=1) if extended_to else None,
            }
        )
        .where(TalentObjection.id == objection_id)
        .run()
    )


_OBJECTION = (
    TalentObjection.id,
    TalentObjection.application.as_alias("application_id"),
    TalentObjection.contact_name,
    TalentObjection.contact,
    TalentObjection.reason,
    TalentObjection.status,
    TalentObjection.lodged_at,
    TalentObjection.resolved_by,
    TalentObjection.resolved_at,
    TalentObjection.resolution,
    TalentObjection.extended_to,
)


async def objection_view(objection_id: int) -> dict[str, Any]:
    row = (
        await TalentObjection.select(*_OBJECTION)
        .where(TalentObjection.id == objection_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("objection not found", objection_id=objection_id)
    return row


async def list_objections(
    application_id: int | None, status: str | None, after_id: int | None, limit: int
) -> list[dict[str, Any]]:
    query = TalentObjection.select(*_OBJECTION)
    if application_id is not None:
        query = query.where(TalentObjection.application == application_id)
    if status is not None:
        query = query.where(TalentObjection.status == status)
    if after_id is not None:
        query = query.where(TalentObjection.id > after_id)
    return await query.order_by(TalentObjection.id).limit(limit).run()
