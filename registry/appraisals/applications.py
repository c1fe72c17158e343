"""Applications: the pre-check, the expert review through reviews/, shortlisting,
rejection and withdrawal, and who sees what."""

from __future__ import annotations

import json
from typing import Any

from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, NotVisible
from registry.appraisals import clock, policy, rounds, rules
from registry.appraisals.tables import (
    AppraisalRound,
    QuotaPool,
    TalentApplication,
    TalentAward,
    TalentObjection,
)
from registry.organisations import for_update
from registry.tables import Certificate, Employment, Person
from registry.visibility import shown_id
from reviews import cases, scoring
from reviews.tables import ReviewCase

_LOCKED = (
    TalentApplication.id,
    TalentApplication.round,
    TalentApplication.person,
    TalentApplication.applicant,
    TalentApplication.route,
    TalentApplication.status,
    TalentApplication.review_case,
    TalentApplication.shortlisted_by,
    TalentApplication.notice,
    TalentApplication.notice_ends_on,
    TalentApplication.applied_at,
)
_VIEW = (
    TalentApplication.id,
    TalentApplication.round.as_alias("round_id"),
    TalentApplication.person.as_alias("person_id"),
    TalentApplication.person.name.as_alias("person_name"),
    TalentApplication.person.id_number.as_alias("person_id_number"),
    TalentApplication.applicant.as_alias("applicant_organisation_id"),
    TalentApplication.applicant.name.as_alias("applicant_name"),
    TalentApplication.route,
    TalentApplication.occupation_code,
    TalentApplication.occupation_name,
    TalentApplication.status,
    TalentApplication.level_basis,
    TalentApplication.competition,
    TalentApplication.competition_year,
    TalentApplication.medal,
    TalentApplication.evidence,
    TalentApplication.review_case.as_alias("review_case_id"),
    TalentApplication.shortlisted_by,
    TalentApplication.shortlisted_at,
    TalentApplication.shortlist_rank,
    TalentApplication.notice.as_alias("notice_id"),
    TalentApplication.notice.starts_on.as_alias("notice_starts_on"),
    TalentApplication.notice_ends_on,
    TalentApplication.decided_by,
    TalentApplication.decided_at,
    TalentApplication.rejected_reason,
    TalentApplication.applied_by,
    TalentApplication.applied_at,
)


# -- applying --------------------------------------------------------------------------


async def apply(actor: Principal, new: rules.NewApplication) -> dict[str, Any]:
    """An enterprise (for its employee) or a technical school applies. Every reason the
    pre-check finds is reported at once; one open application per person and round is
    the unique index's to enforce, so a race cannot create two."""
    today = clock.today()
    clean = rules.validate_application(new, today)
    assert actor.organisation_id is not None and actor.org_type is not None
    async with unit_of_work():
        round_ = (
            await AppraisalRound.select(
                AppraisalRound.id, AppraisalRound.opens_on, AppraisalRound.closes_on
            )
            .where(AppraisalRound.id == clean.round_id)
            .first()
            .run()
        )
        if round_ is None:
            raise InvalidInput.single("round_id", "no such appraisal round")
        rules.ensure_round_open(round_, today)
        if not await Person.exists().where(Person.id == clean.person_id).run():
            raise InvalidInput.single("person_id", "no such person")
        basis = await level_basis_of(clean.person_id, today)
        employed = await _employed_by(clean.person_id, actor.organisation_id, today)
        errors = rules.precheck_reasons(
            basis=basis, applicant_type=actor.org_type, employed_by_applicant=employed
        )
        if errors:
            raise InvalidInput(errors)
        award = (
            await TalentAward.select(TalentAward.number)
            .where((TalentAward.person == clean.person_id) & (TalentAward.status != "revoked"))
            .first()
            .run()
        )
        if award is not None:
            raise Conflict(
                f"the person is already a recognised leading talent (award {award['number']})",
                field="person_id",
            )
        medal, evidence = clean.medal, clean.evidence
        with conflict_on_duplicate(
            "this person already has an open application in this round", "person_id"
        ):
            rows = (
                await TalentApplication.insert(
                    TalentApplication(
                        round=clean.round_id,
                        person=clean.person_id,
                        applicant=actor.organisation_id,
                        route=clean.route,
                        occupation_code=clean.occupation_code,
                        occupation_name=clean.occupation_name,
                        status=rules.first_status(clean.route),
                        level_basis=basis,
                        competition=medal.competition if medal else None,
                        competition_year=medal.year if medal else None,
                        medal=medal.medal if medal else None,
                        evidence=json.dumps(
                            evidence.as_dict() if evidence else {}, ensure_ascii=False
                        ),
                        applied_by=actor.actor,
                    )
                )
                .returning(TalentApplication.id)
                .run()
            )
        application_id = rows[0]["id"]
        await record(
            actor.actor,
            "appraisal.applied",
            "talent_application",
            application_id,
            after={
                "round_id": clean.round_id,
                "person_id": clean.person_id,
                "route": clean.route,
                "status": rules.first_status(clean.route),
                "level_basis": basis,
                "medal": [medal.competition, medal.year, medal.medal] if medal else None,
            },
        )
    return await get(actor, application_id)


async def level_basis_of(person_id: int, today: Any) -> str | None:
    rows = await (
        Certificate.select(
            Certificate.id,
            Certificate.number,
            Certificate.level,
            Certificate.occupation_name,
            Certificate.status,
            Certificate.issued_on,
        )
        .where((Certificate.person == person_id) & (Certificate.level <= int(rules.MIN_LEVEL)))
        .run()
    )
    return rules.level_basis((rules.HeldCertificate(**r) for r in rows), today)


async def _employed_by(person_id: int, organisation_id: int, today: Any) -> bool:
    return await (
        Employment.exists()
        .where(
            (Employment.person == person_id)
            & (Employment.employer == organisation_id)
            & (Employment.started_on <= today)
            & (Employment.ended_on.is_null() | (Employment.ended_on >= today))
        )
        .run()
    )


# -- expert review (evaluation route) ----------------------------------------------------


async def open_review(
    actor: Principal, application_id: int, *, min_reviewers: int | None, min_floor: int
) -> dict[str, Any]:
    """Opens the review case with the policy's weights; at least the policy's number of
    reviewers, never fewer than the REVIEW_MIN_REVIEWERS setting."""
    rules_ = policy.current()
    wanted = max(rules_.min_reviewers, min_floor) if min_reviewers is None else min_reviewers
    async with unit_of_work():
        app = await lock(application_id)
        if app["route"] != rules.EVALUATION:
            raise Conflict("only an evaluation-route application goes to expert review")
        rules.ensure_transition(app["status"], rules.UNDER_REVIEW)
        case = await cases.open_case(
            actor,
            cases.NewCase(
                subject_type=rules.SUBJECT_TYPE,
                subject_id=application_id,
                applicant_organisation_id=app["applicant"],
                applied_at=app["applied_at"],
                min_reviewers=wanted,
                weights=rules_.weights_dict(),
            ),
            max(min_floor, rules_.min_reviewers),
        )
        await update(application_id, status=rules.UNDER_REVIEW, review_case=case["id"])
        await record(
            actor.actor,
            "appraisal.review_opened",
            "talent_application",
            application_id,
            before={"status": app["status"]},
            after={"status": rules.UNDER_REVIEW, "review_case_id": case["id"]},
        )
    return await get(actor, application_id)


# -- shortlist -----------------------------------------------------------------------------


async def candidates(round_id: int) -> list[rules.Candidate]:
    """Applications of the round ready for the shortlist: recognition ones that passed
    the check, evaluation ones whose review is complete."""
    rows = await (
        TalentApplication.select(
            TalentApplication.id,
            TalentApplication.route,
            TalentApplication.status,
            TalentApplication.medal,
            TalentApplication.applied_at,
            TalentApplication.review_case.as_alias("case_id"),
            TalentApplication.review_case.status.as_alias("case_status"),
            TalentApplication.review_case.final_score.as_alias("final_score"),
            TalentApplication.review_case.achievements_score.as_alias("achievements_score"),
        )
        .where(
            (TalentApplication.round == round_id)
            & TalentApplication.status.is_in([rules.QUALIFIED, rules.UNDER_REVIEW])
        )
        .run()
    )
    found = []
    for r in rows:
        if r["route"] == rules.EVALUATION and r["case_status"] != cases.COMPLETE:
            continue
        found.append(
            rules.Candidate(
                application_id=r["id"],
                route=r["route"],
                applied_at=r["applied_at"],
                medal=r["medal"],
                case_id=r["case_id"],
                final_score=r["final_score"],
                achievements_score=r["achievements_score"],
            )
        )
    return found


async def ranking(round_id: int) -> list[dict[str, Any]]:
    await rounds.round_row(round_id)
    pass_mark = policy.current().shortlist.min_final_score
    found = await candidates(round_id)
    ranked = rules.rank_candidates(found, pass_mark)
    below = [c for c in found if c not in ranked]
    out = [_standing(c, position, True) for position, c in enumerate(ranked, start=1)]
    return out + [_standing(c, None, False) for c in below]


def _standing(c: rules.Candidate, position: int | None, eligible: bool) -> dict[str, Any]:
    return {
        "application_id": c.application_id,
        "route": c.route,
        "medal": c.medal,
        "final_score": scoring.format_hundredths(c.final_score),
        "achievements_score": scoring.format_hundredths(c.achievements_score),
        "applied_at": c.applied_at,
        "rank": position,
        "eligible": eligible,
    }


async def shortlist(actor: Principal, round_id: int, places: int) -> dict[str, Any]:
    """Takes the best `places` candidates (rules.rank_candidates) within what is left
    of the quota after approvals and the applications still awaiting their decision.
    The pool and round rows are locked, so two shortlists cannot both take the last
    places."""
    if not 1 <= places <= 1000:
        raise InvalidInput.single("places", "must be from 1 to 1000")
    pass_mark = policy.current().shortlist.min_final_score
    async with unit_of_work():
        round_ = (
            await for_update(
                AppraisalRound.select(
                    AppraisalRound.id,
                    AppraisalRound.pool,
                    AppraisalRound.quota,
                    AppraisalRound.approved,
                ).where(AppraisalRound.id == round_id)
            )
            .first()
            .run()
        )
        if round_ is None:
            raise NotFound("appraisal round not found", round_id=round_id)
        await for_update(QuotaPool.select(QuotaPool.id).where(QuotaPool.id == round_["pool"])).run()
        view = await rounds.round_view(round_id)
        left = view["available_for_shortlist"]
        if places > left:
            raise Conflict(
                f"only {left} place(s) are left: pool {view['pool']['name']} has "
                f"{view['pool']['total']}, {view['pool']['used']} approved and "
                f"{view['pool']['pending']} awaiting a decision"
                + (
                    f"; the round's own quota {view['quota']} has {view['approved']} approved "
                    f"and {view['pending']} awaiting"
                    if view["quota"] is not None
                    else ""
                ),
                field="places",
                available=left,
            )
        ranked = rules.rank_candidates(await candidates(round_id), pass_mark)
        if not ranked:
            raise Conflict(
                "no candidate is ready: recognition applications must have passed the check "
                "and evaluation ones need a complete review at or above the pass mark "
                f"({scoring.format_hundredths(pass_mark)})",
                field="round_id",
            )
        already = await TalentApplication.count().where(
            (TalentApplication.round == round_id) & TalentApplication.shortlist_rank.is_not_null()
        )
        chosen = ranked[:places]
        now = utcnow()
        for position, c in enumerate(chosen, start=already + 1):
            moved = await (
                TalentApplication.update(
                    {
                        TalentApplication.status: rules.SHORTLISTED,
                        TalentApplication.shortlisted_by: actor.actor,
                        TalentApplication.shortlisted_at: now,
                        TalentApplication.shortlist_rank: position,
                        TalentApplication.updated_at: now,
                    }
                )
                .where(
                    (TalentApplication.id == c.application_id)
                    & TalentApplication.status.is_in([rules.QUALIFIED, rules.UNDER_REVIEW])
                )
                .returning(TalentApplication.id)
                .run()
            )
            if not moved:
                raise Conflict(
                    f"application {c.application_id} changed meanwhile; try again",
                    application_id=c.application_id,
                )
        await record(
            actor.actor,
            "appraisal.shortlisted",
            "appraisal_round",
            round_id,
            after={
                "places": places,
                "shortlisted": [c.application_id for c in chosen],
                "left_out": [c.application_id for c in ranked[places:]],
                "available_before": left,
            },
        )
    return {
        "round": await rounds.round_view(round_id),
        "shortlisted": [await get(actor, c.application_id) for c in chosen],
    }


# -- rejection and withdrawal -------------------------------------------------------------


async def reject(actor: Principal, application_id: int, reason: str) -> dict[str, Any]:
    """Before approval, by an officer who was not a reviewer on the case; pending
    reviewers are released."""
    reason = rules.check_reason(reason)
    async with unit_of_work():
        app = await lock(application_id)
        rules.ensure_transition(app["status"], rules.REJECTED)
        if app["review_case"] is not None:
            await cases.ensure_not_reviewer(
                app["review_case"], actor, what=f"rejecting application {application_id}"
            )
            await cases.cancel_case(actor, app["review_case"], f"application rejected: {reason}")
        await close_objections(application_id, actor, f"application rejected: {reason}")
        await decide(application_id, rules.REJECTED, actor, rejected_reason=reason)
        await record(
            actor.actor,
            "appraisal.rejected",
            "talent_application",
            application_id,
            before={"status": app["status"]},
            after={"status": rules.REJECTED, "reason": reason},
        )
    return await get(actor, application_id)


async def withdraw(actor: Principal, application_id: int) -> dict[str, Any]:
    """The applicant organisation withdraws before the shortlist."""
    async with unit_of_work():
        app = await lock(application_id)
        if actor.organisation_id != app["applicant"]:
            raise NotVisible("application not found", application_id=application_id)
        rules.ensure_transition(app["status"], rules.WITHDRAWN)
        if app["review_case"] is not None:
            await cases.cancel_case(actor, app["review_case"], "application withdrawn")
        await update(application_id, status=rules.WITHDRAWN)
        await record(
            actor.actor,
            "appraisal.withdrawn",
            "talent_application",
            application_id,
            before={"status": app["status"]},
            after={"status": rules.WITHDRAWN},
        )
    return await get(actor, application_id)


async def close_objections(application_id: int, actor: Principal, why: str) -> None:
    """Objections still open when the application is decided otherwise are closed, each
    with its audit entry."""
    closed = await (
        TalentObjection.update(
            {
                TalentObjection.status: "closed",
                TalentObjection.resolution: why,
                TalentObjection.resolved_by: actor.actor,
                TalentObjection.resolved_at: utcnow(),
            }
        )
        .where((TalentObjection.application == application_id) & (TalentObjection.status == "open"))
        .returning(TalentObjection.id)
        .run()
    )
    for row in closed:
        await record(
            actor.actor,
            "appraisal.objection_closed",
            "talent_objection",
            row["id"],
            before={"status": "open"},
            after={"status": "closed", "application_id": application_id, "reason": why},
        )


# -- shared --------------------------------------------------------------------------------


async def lock(application_id: int) -> dict[str, Any]:
    """The row, locked for the transaction on PostgreSQL (SQLite's write lock already
    serialises writers)."""
    query = TalentApplication.select(*_LOCKED).where(TalentApplication.id == application_id)
    row = await for_update(query).first().run()
    if row is None:
        raise NotFound("application not found", application_id=application_id)
    return row


async def update(application_id: int, **values: Any) -> None:
    await (
        TalentApplication.update({**values, "updated_at": utcnow()})
        .where(TalentApplication.id == application_id)
        .run()
    )


async def decide(application_id: int, status: str, actor: Principal, **values: Any) -> None:
    await update(
        application_id, status=status, decided_by=actor.actor, decided_at=utcnow(), **values
    )


async def get(actor: Principal, application_id: int) -> dict[str, Any]:
    """Staff see every application; an applicant organisation only its own (else 404)."""
    row = (
        await TalentApplication.select(*_VIEW)
        .where(TalentApplication.id == application_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("application not found", application_id=application_id)
    if not actor.is_staff and row["applicant_organisation_id"] != actor.organisation_id:
        raise NotVisible("application not found", application_id=application_id)
    return await _present(actor, row)


async def _present(actor: Principal, row: dict[str, Any]) -> dict[str, Any]:
    row["person_id_number"] = shown_id(actor, row["person_id_number"])
    evidence = json.loads(row.pop("evidence") or "{}")
    row["evidence"] = evidence or None
    row["medal"] = (
        {
            "competition": row.pop("competition"),
            "year": row.pop("competition_year"),
            "medal": row["medal"],
        }
        if row["medal"]
        else None
    )
    row.pop("competition", None)
    row.pop("competition_year", None)
    case = None
    if row["review_case_id"] is not None:
        case = (
            await ReviewCase.select(ReviewCase.status, ReviewCase.final_score)
            .where(ReviewCase.id == row["review_case_id"])
            .first()
            .run()
        )
    row["review_status"] = case["status"] if case else None
    row["final_score"] = scoring.format_hundredths(case["final_score"]) if case else None
    row["open_objections"] = await TalentObjection.count().where(
        (TalentObjection.application == row["id"]) & (TalentObjection.status == "open")
    )
    award = (
        await TalentAward.select(
            TalentAward.id, TalentAward.number, TalentAward.status, TalentAward.awarded_on
        )
        .where(TalentAward.application == row["id"])
        .first()
        .run()
    )
    row["award"] = award
    return row


async def list_visible(
    actor: Principal,
    *,
    round_id: int | None,
    status: str | None,
    route: str | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    errors = []
    if status is not None and status not in rules.STATUSES:
        errors.append(FieldError("status", f"must be one of {', '.join(rules.STATUSES)}"))
    if route is not None and route not in rules.ROUTES:
        errors.append(FieldError("route", f"must be one of {', '.join(rules.ROUTES)}"))
    if errors:
        raise InvalidInput(errors)
    query = TalentApplication.select(TalentApplication.id)
    if not actor.is_staff:
        query = query.where(TalentApplication.applicant == actor.organisation_id)
    if round_id is not None:
        query = query.where(TalentApplication.round == round_id)
    if status is not None:
        query = query.where(TalentApplication.status == status)
    if route is not None:
        query = query.where(TalentApplication.route == route)
    if after_id is not None:
        query = query.where(TalentApplication.id > after_id)
    rows = await query.order_by(TalentApplication.id).limit(limit).run()
    return [await get(actor, r["id"]) for r in rows]
