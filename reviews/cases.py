"""Review cases: opening, assigning reviewers, scoring, stepping out, completion, and
who sees what.

The subject's own workflow opens the case (`open_case`, inside its unit of work), since
only it knows the applicant organisation and when the application came in; it later
asks `require_complete` and `ensure_not_reviewer` before deciding the outcome.

Secrecy: individual scores are sealed until the case is complete. Before that a reviewer
sees only their own assignment (and their own scores once submitted); officers, admins
and auditors see who is assigned and how many have submitted, but no scores and no
totals, so nobody can steer the remaining reviewers or pick a replacement by the
scores so far. Once complete, everyone who may see the case sees every submitted score;
reviewers see their colleagues' scores without their names. (The audit log, read only
by auditors and admins, records each submission as it happens: it is the full record.)
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.principal import Principal
from accounts.roles import StaffRole, parse_roles
from accounts.tables import StaffUser
from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, NotVisible
from registry.organisations import for_update
from registry.tables import Organisation
from reviews import affiliations, scoring
from reviews.scoring import CRITERIA, Weights
from reviews.tables import ReviewAssignment, ReviewCase

# Staff who oversee reviews: they see every case (never a score before completion).
OVERSEERS = (StaffRole.OFFICER, StaffRole.ADMIN, StaffRole.AUDITOR)

OPEN, COMPLETE, CANCELLED = "open", "complete", "cancelled"
PENDING, SUBMITTED, RECUSED, WITHDRAWN = "pending", "submitted", "recused", "withdrawn"
ACTIVE = (PENDING, SUBMITTED)  # a reviewer with one of these is on the case
ASSIGNMENT_STATUSES = (PENDING, SUBMITTED, RECUSED, WITHDRAWN)
CASE_STATUSES = (OPEN, COMPLETE, CANCELLED)
REASON_MAX = 1000
_SUBJECT_TYPE = re.compile(r"[a-z][a-z0-9_]{2,31}")

_CASE_COLUMNS = (
    ReviewCase.id,
    ReviewCase.subject_type,
    ReviewCase.subject_id,
    ReviewCase.applicant.as_alias("applicant_organisation_id"),
    ReviewCase.applied_at,
    ReviewCase.min_reviewers,
    ReviewCase.weight_ethics,
    ReviewCase.weight_knowledge,
    ReviewCase.weight_ability,
    ReviewCase.weight_achievements,
    ReviewCase.status,
    ReviewCase.final_score,
    ReviewCase.achievements_score,
    ReviewCase.opened_by,
    ReviewCase.opened_at,
    ReviewCase.completed_at,
    ReviewCase.cancelled_reason,
)
_ASSIGNMENT_COLUMNS = (
    ReviewAssignment.id,
    ReviewAssignment.review_case.as_alias("case_id"),
    ReviewAssignment.reviewer.as_alias("reviewer_id"),
    ReviewAssignment.reviewer.display_name.as_alias("reviewer_name"),
    ReviewAssignment.status,
    ReviewAssignment.assigned_by,
    ReviewAssignment.assigned_at,
    *(getattr(ReviewAssignment, c) for c in CRITERIA),
    ReviewAssignment.total,
    ReviewAssignment.submitted_at,
    ReviewAssignment.reason,
    ReviewAssignment.ended_at,
)


@dataclass(frozen=True)
class NewCase:
    subject_type: str
    subject_id: int
    applicant_organisation_id: int
    applied_at: datetime
    min_reviewers: int | None = None  # None: the configured floor
    weights: dict[str, int] | None = None  # None: scoring.DEFAULT_WEIGHTS


def validate_case(new: NewCase, min_floor: int) -> tuple[int, Weights]:
    """All problems at once; returns the minimum number of reviewers and the weights."""
    errors: list[FieldError] = []
    if not _SUBJECT_TYPE.fullmatch(new.subject_type):
        errors.append(
            FieldError("subject_type", "3-32 characters of a-z, 0-9 and '_', from a letter")
        )
    min_reviewers = min_floor if new.min_reviewers is None else new.min_reviewers
    errors += scoring.check_min_reviewers(min_reviewers, min_floor)
    weights = scoring.DEFAULT_WEIGHTS
    if new.weights is not None:
        weight_errors = scoring.check_weights(new.weights)
        errors += weight_errors
        if not weight_errors:
            weights = Weights(**new.weights)
    if errors:
        raise InvalidInput(errors)
    return min_reviewers, weights


def check_reason(reason: str, field: str = "reason") -> str:
    text = reason.strip()
    if not 2 <= len(text) <= REASON_MAX:
        raise InvalidInput.single(field, f"must be 2 to {REASON_MAX} characters")
    return text


def weights_of(case: dict[str, Any]) -> Weights:
    return Weights(**{c: case[f"weight_{c}"] for c in CRITERIA})


def is_overseer(who: Principal) -> bool:
    return who.has_any(*OVERSEERS)


# -- opening and closing (called by subject workflows) -------------------------------


async def open_case(actor: Principal, new: NewCase, min_floor: int) -> dict[str, Any]:
    """Opens the review of a subject; joins the caller's unit of work."""
    min_reviewers, weights = validate_case(new, min_floor)
    async with unit_of_work():
        if (
            not await Organisation.exists()
            .where(Organisation.id == new.applicant_organisation_id)
            .run()
        ):
            raise InvalidInput.single("applicant_organisation_id", "no such organisation")
        duplicate = "this subject already has a review case"
        if (
            await ReviewCase.exists()
            .where(
                (ReviewCase.subject_type == new.subject_type)
                & (ReviewCase.subject_id == new.subject_id)
            )
            .run()
        ):
            raise Conflict(duplicate, field="subject_id")
        with conflict_on_duplicate(duplicate, "subject_id"):
            rows = (
                await ReviewCase.insert(
                    ReviewCase(
                        subject_type=new.subject_type,
                        subject_id=new.subject_id,
                        applicant=new.applicant_organisation_id,
                        applied_at=new.applied_at,
                        min_reviewers=min_reviewers,
                        **{f"weight_{c}": w for c, w in weights.as_dict().items()},
                        opened_by=actor.actor,
                    )
                )
                .returning(ReviewCase.id)
                .run()
            )
        case_id = rows[0]["id"]
        await record(
            actor.actor,
            "review.case_opened",
            "review_case",
            case_id,
            after={
                "subject_type": new.subject_type,
                "subject_id": new.subject_id,
                "applicant_organisation_id": new.applicant_organisation_id,
                "min_reviewers": min_reviewers,
                "weights": weights.as_dict(),
            },
        )
        return await _case(case_id)


async def cancel_case(actor: Principal, case_id: int, reason: str) -> None:
    """The subject was decided or withdrawn before its review completed: pending
    reviewers are released. A complete or already cancelled case is left as it is."""
    reason = check_reason(reason)
    async with unit_of_work():
        case = await _lock_case(case_id)
        if case["status"] != OPEN:
            return
        now = utcnow()
        await (
            ReviewAssignment.update(
                {
                    ReviewAssignment.status: WITHDRAWN,
                    ReviewAssignment.reason: f"case cancelled: {reason}",
                    ReviewAssignment.ended_at: now,
                    ReviewAssignment.ended_by: actor.actor,
                }
            )
            .where((ReviewAssignment.review_case == case_id) & (ReviewAssignment.status == PENDING))
            .run()
        )
        await _set_case(case_id, status=CANCELLED, cancelled_reason=reason)
        await record(
            actor.actor,
            "review.case_cancelled",
            "review_case",
            case_id,
            before={"status": OPEN},
            after={"status": CANCELLED, "reason": reason},
        )


async def require_complete(case_id: int) -> dict[str, Any]:
    """The case row, or Conflict saying how far the review is from complete."""
    case = await _case(case_id)
    if case["status"] == COMPLETE:
        return case
    if case["status"] == CANCELLED:
        raise Conflict("the review case was cancelled", case_id=case_id)
    counts = await _counts(case_id)
    raise Conflict(
        f"the review is not complete: {counts[SUBMITTED]} of at least "
        f"{case['min_reviewers']} reviewers have submitted, {counts[PENDING]} pending",
        case_id=case_id,
    )


async def ensure_not_reviewer(case_id: int, decider: Principal, *, what: str) -> None:
    """Four eyes: nobody who was ever assigned to the case (even one who stepped out)
    decides its outcome."""
    if not decider.is_staff:
        return
    was_reviewer = (
        await ReviewAssignment.exists()
        .where(
            (ReviewAssignment.review_case == case_id) & (ReviewAssignment.reviewer == decider.id)
        )
        .run()
    )
    if was_reviewer:
        raise Forbidden(
            f"{what}: you were a reviewer on review case {case_id}; another officer must decide",
            rule="four_eyes",
        )


# -- assignments ---------------------------------------------------------------------


async def assign(actor: Principal, case_id: int, reviewer_id: int) -> dict[str, Any]:
    async with unit_of_work():
        case = await _lock_case(case_id)
        _ensure_open(case)
        reviewer = (
            await StaffUser.select(StaffUser.id, StaffUser.roles, StaffUser.active)
            .where(StaffUser.id == reviewer_id)
            .first()
            .run()
        )
        if (
            reviewer is None
            or not reviewer["active"]
            or StaffRole.REVIEWER not in parse_roles(reviewer["roles"])
        ):
            raise InvalidInput.single(
                "reviewer_id", "must be an active staff user with the reviewer role"
            )
        ties = await affiliations.ties(reviewer_id, case["applicant_organisation_id"])
        if ties:
            raise Conflict(
                f"the reviewer is {' and '.join(_tie_words(t) for t in ties)} the applicant "
                "organisation and may not review its case",
                field="reviewer_id",
            )
        earlier = (
            await ReviewAssignment.select(ReviewAssignment.status)
            .where(
                (ReviewAssignment.review_case == case_id)
                & (ReviewAssignment.reviewer == reviewer_id)
            )
            .first()
            .run()
        )
        if earlier is not None:
            raise Conflict(_already_reason(earlier["status"]), field="reviewer_id")
        counts = await _counts(case_id)
        if counts[PENDING] + counts[SUBMITTED] >= scoring.MAX_REVIEWERS:
            raise Conflict(f"a case has at most {scoring.MAX_REVIEWERS} reviewers")
        with conflict_on_duplicate(_already_reason(PENDING), "reviewer_id"):
            rows = (
                await ReviewAssignment.insert(
                    ReviewAssignment(
                        review_case=case_id, reviewer=reviewer_id, assigned_by=actor.actor
                    )
                )
                .returning(ReviewAssignment.id)
                .run()
            )
        await _touch(case_id)
        await record(
            actor.actor,
            "review.reviewer_assigned",
            "review_assignment",
            rows[0]["id"],
            after={"case_id": case_id, "reviewer_id": reviewer_id},
        )
    return await get_case(actor, case_id)


def _tie_words(relation: str) -> str:
    return {"employed": "employed by", "linked": "linked to"}.get(relation, relation)


def _already_reason(status: str) -> str:
    if status in (RECUSED, WITHDRAWN):
        return f"this reviewer was on the case and {status}; they are not assigned again"
    return "this reviewer is already assigned to the case"


async def withdraw(
    actor: Principal, case_id: int, assignment_id: int, reason: str
) -> dict[str, Any]:
    """An officer takes a reviewer who has not scored off the case (unreachable, left)."""
    reason = check_reason(reason)
    async with unit_of_work():
        case = await _lock_case(case_id)
        _ensure_open(case)
        assignment = await _assignment_by_id(case_id, assignment_id)
        if assignment["status"] != PENDING:
            raise Conflict(
                f"only a reviewer who has not scored can be withdrawn; this one is "
                f"{assignment['status']}"
            )
        await _end(assignment["id"], WITHDRAWN, reason, actor)
        await record(
            actor.actor,
            "review.reviewer_withdrawn",
            "review_assignment",
            assignment["id"],
            before={"status": PENDING},
            after={"status": WITHDRAWN, "reason": reason},
        )
        await _settle(actor, case)
    return await get_case(actor, case_id)


async def recuse(actor: Principal, case_id: int, reason: str) -> dict[str, Any]:
    """The reviewer declares a conflict of interest and steps out, before scoring."""
    reason = check_reason(reason)
    async with unit_of_work():
        case = await _lock_case(case_id)
        assignment = await _own_assignment(actor, case_id)
        _ensure_open(case)
        if assignment["status"] != PENDING:
            raise Conflict(f"you can step out only before scoring; you {_was(assignment)}")
        await _end(assignment["id"], RECUSED, reason, actor)
        await record(
            actor.actor,
            "review.reviewer_recused",
            "review_assignment",
            assignment["id"],
            before={"status": PENDING},
            after={"status": RECUSED, "reason": reason},
        )
        await _settle(actor, case)
    # A recused reviewer no longer sees the case: answer with what they did.
    return {"case_id": case_id, "assignment_id": assignment["id"], "status": RECUSED}


async def submit_scores(actor: Principal, case_id: int, scores: dict[str, int]) -> dict[str, Any]:
    """Once per reviewer; scores cannot be changed after submission."""
    errors = scoring.check_scores(scores)
    unknown = sorted(set(scores) - set(CRITERIA))
    if unknown:
        errors.append(FieldError("scores", f"unknown criteria: {', '.join(unknown)}"))
    if errors:
        raise InvalidInput(errors)
    async with unit_of_work():
        case = await _lock_case(case_id)
        assignment = await _own_assignment(actor, case_id)
        _ensure_open(case)
        if assignment["status"] != PENDING:
            raise Conflict(f"scores are submitted once and not changed; you {_was(assignment)}")
        # An affiliation recorded after the assignment still disqualifies.
        ties = await affiliations.ties(actor.id, case["applicant_organisation_id"])
        if ties:
            raise Conflict(
                "you are affiliated with the applicant organisation: step out of the case "
                "(declare the conflict) instead of scoring"
            )
        total = scoring.weighted_total(scores, weights_of(case))
        await (
            ReviewAssignment.update(
                {
                    **{getattr(ReviewAssignment, c): scores[c] for c in CRITERIA},
                    ReviewAssignment.total: total,
                    ReviewAssignment.status: SUBMITTED,
                    ReviewAssignment.submitted_at: utcnow(),
                }
            )
            .where(ReviewAssignment.id == assignment["id"])
            .run()
        )
        await record(
            actor.actor,
            "review.scores_submitted",
            "review_assignment",
            assignment["id"],
            before={"status": PENDING},
            after={"status": SUBMITTED, **{c: scores[c] for c in CRITERIA}, "total": total},
        )
        await _settle(actor, case)
    return await get_case(actor, case_id)


def _was(assignment: dict[str, Any]) -> str:
    return {
        SUBMITTED: "already submitted scores",
        RECUSED: "stepped out",
        WITHDRAWN: "were withdrawn",
    }.get(assignment["status"], assignment["status"])


async def _end(assignment_id: int, status: str, reason: str, actor: Principal) -> None:
    await (
        ReviewAssignment.update(
            {
                ReviewAssignment.status: status,
                ReviewAssignment.reason: reason,
                ReviewAssignment.ended_at: utcnow(),
                ReviewAssignment.ended_by: actor.actor,
            }
        )
        .where(ReviewAssignment.id == assignment_id)
        .run()
    )


async def _settle(actor: Principal, case: dict[str, Any]) -> None:
    """Completes the case when enough reviewers have scored and none is pending; the
    final score is computed once, here, and stored."""
    rows = await (
        ReviewAssignment.select(
            ReviewAssignment.status, ReviewAssignment.total, ReviewAssignment.achievements
        )
        .where(ReviewAssignment.review_case == case["id"])
        .run()
    )
    counts = Counter(r["status"] for r in rows)
    if not scoring.is_complete(counts[SUBMITTED], counts[PENDING], case["min_reviewers"]):
        await _touch(case["id"])
        return
    submitted = [r for r in rows if r["status"] == SUBMITTED]
    totals = [r["total"] for r in submitted]
    final = scoring.final_score(totals)
    achievements = scoring.mean_hundredths(r["achievements"] for r in submitted)
    await _set_case(
        case["id"],
        status=COMPLETE,
        final_score=final,
        achievements_score=achievements,
        completed_at=utcnow(),
    )
    await record(
        actor.actor,
        "review.case_completed",
        "review_case",
        case["id"],
        before={"status": OPEN},
        after={
            "status": COMPLETE,
            "final_score": scoring.format_hundredths(final),
            "achievements_score": scoring.format_hundredths(achievements),
            "totals": [scoring.format_hundredths(t) for t in sorted(totals)],
            "counted": [scoring.format_hundredths(t) for t in scoring.counted_totals(totals)],
        },
    )


# -- reading -------------------------------------------------------------------------


async def get_case(actor: Principal, case_id: int) -> dict[str, Any]:
    case = await _case(case_id)
    assignments = await _assignments([case_id])
    if not is_overseer(actor) and not _is_on(actor, assignments):
        raise NotVisible("review case not found", case_id=case_id)
    return present(actor, case, assignments)


async def list_cases(
    actor: Principal,
    *,
    subject_type: str | None,
    subject_id: int | None,
    status: str | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    if status is not None and status not in CASE_STATUSES:
        raise InvalidInput.single("status", f"must be one of {', '.join(CASE_STATUSES)}")
    query = ReviewCase.select(*_CASE_COLUMNS)
    if not is_overseer(actor):
        mine = await (
            ReviewAssignment.select(ReviewAssignment.review_case.as_alias("case_id"))
            .where((ReviewAssignment.reviewer == actor.id) & ReviewAssignment.status.is_in(ACTIVE))
            .run()
        )
        if not mine:
            return []
        query = query.where(ReviewCase.id.is_in([r["case_id"] for r in mine]))
    if subject_type is not None:
        query = query.where(ReviewCase.subject_type == subject_type)
    if subject_id is not None:
        query = query.where(ReviewCase.subject_id == subject_id)
    if status is not None:
        query = query.where(ReviewCase.status == status)
    if after_id is not None:
        query = query.where(ReviewCase.id > after_id)
    cases = await query.order_by(ReviewCase.id).limit(limit).run()
    counts: dict[int, Counter[str]] = {c["id"]: Counter() for c in cases}
    if cases:
        for row in await (
            ReviewAssignment.select(
                ReviewAssignment.review_case.as_alias("case_id"), ReviewAssignment.status
            )
            .where(ReviewAssignment.review_case.is_in(list(counts)))
            .run()
        ):
            counts[row["case_id"]][row["status"]] += 1
    return [_summary(case, counts[case["id"]]) for case in cases]


async def ranking(
    subject_type: str, subject_ids: list[int] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Complete cases of one subject type, best first (scoring.rank's tie-breaks)."""
    query = ReviewCase.select(*_CASE_COLUMNS).where(
        (ReviewCase.subject_type == subject_type) & (ReviewCase.status == COMPLETE)
    )
    if subject_ids is not None:
        if not subject_ids:
            return []
        query = query.where(ReviewCase.subject_id.is_in(subject_ids))
    cases = {c["id"]: c for c in await query.run()}
    ordered = scoring.rank(
        scoring.Standing(c["id"], c["final_score"], c["achievements_score"], c["applied_at"])
        for c in cases.values()
    )
    return [
        {**_summary(cases[s.case_id], None), "rank": position}
        for position, s in enumerate(ordered[:limit] if limit else ordered, start=1)
    ]


def present(
    viewer: Principal, case: dict[str, Any], assignments: list[dict[str, Any]]
) -> dict[str, Any]:
    """The case as `viewer` may see it (the secrecy rule in the module docstring)."""
    sealed = case["status"] != COMPLETE
    overseer = is_overseer(viewer)
    counted = _counted_ids(assignments) if not sealed else set()
    shown = []
    for a in assignments:
        own = viewer.is_staff and a["reviewer_id"] == viewer.id
        if not (overseer or own or (not sealed and a["status"] == SUBMITTED)):
            continue
        scores_shown = a["status"] == SUBMITTED and (own or not sealed)
        shown.append(
            {
                "id": a["id"],
                "reviewer_id": a["reviewer_id"] if overseer or own else None,
                "reviewer_name": a["reviewer_name"] if overseer or own else None,
                "status": a["status"],
                "assigned_at": a["assigned_at"],
                "submitted_at": a["submitted_at"],
                "scores": {c: a[c] for c in CRITERIA} if scores_shown else None,
                "total": scoring.format_hundredths(a["total"]) if scores_shown else None,
                "counted": (a["id"] in counted) if scores_shown and not sealed else None,
                "reason": a["reason"] if overseer or own else None,
                "ended_at": a["ended_at"] if overseer or own else None,
            }
        )
    summary = _summary(case, Counter(a["status"] for a in assignments))
    return {**summary, "scores_visible": not sealed, "assignments": shown}


def _counted_ids(assignments: list[dict[str, Any]]) -> set[int]:
    """Which submissions the final score counted: with drops, the lowest and highest
    totals are dropped, ties between equal totals going to the earlier assignment."""
    submitted = sorted(
        (a for a in assignments if a["status"] == SUBMITTED), key=lambda a: (a["total"], a["id"])
    )
    if len(submitted) >= scoring.DROP_EXTREMES_FROM:
        submitted = submitted[1:-1]
    return {a["id"] for a in submitted}


def _summary(case: dict[str, Any], counts: Counter[str] | None) -> dict[str, Any]:
    return {
        "id": case["id"],
        "subject_type": case["subject_type"],
        "subject_id": case["subject_id"],
        "applicant_organisation_id": case["applicant_organisation_id"],
        "applied_at": case["applied_at"],
        "min_reviewers": case["min_reviewers"],
        "weights": weights_of(case).as_dict(),
        "status": case["status"],
        "final_score": scoring.format_hundredths(case["final_score"]),
        "achievements_score": scoring.format_hundredths(case["achievements_score"]),
        "progress": None if counts is None else {s: counts[s] for s in ASSIGNMENT_STATUSES},
        "opened_by": case["opened_by"],
        "opened_at": case["opened_at"],
        "completed_at": case["completed_at"],
        "cancelled_reason": case["cancelled_reason"],
    }


def _is_on(actor: Principal, assignments: list[dict[str, Any]]) -> bool:
    return actor.is_staff and any(
        a["reviewer_id"] == actor.id and a["status"] in ACTIVE for a in assignments
    )


async def _case(case_id: int) -> dict[str, Any]:
    case = await ReviewCase.select(*_CASE_COLUMNS).where(ReviewCase.id == case_id).first().run()
    if case is None:
        raise NotFound("review case not found", case_id=case_id)
    return case


async def _lock_case(case_id: int) -> dict[str, Any]:
    """Reads the case and, on PostgreSQL, locks its row for the transaction: scoring,
    stepping out and assigning on one case queue up, so exactly one of two concurrent
    last submissions sees the case complete. (SQLite's write lock already does this.)"""
    query = ReviewCase.select(*_CASE_COLUMNS).where(ReviewCase.id == case_id)
    case = await for_update(query).first().run()
    if case is None:
        raise NotFound("review case not found", case_id=case_id)
    return case


def _ensure_open(case: dict[str, Any]) -> None:
    if case["status"] != OPEN:
        raise Conflict(f"the review case is {case['status']}; it no longer changes")


async def _assignments(case_ids: list[int]) -> list[dict[str, Any]]:
    return await (
        ReviewAssignment.select(*_ASSIGNMENT_COLUMNS)
        .where(ReviewAssignment.review_case.is_in(case_ids))
        .order_by(ReviewAssignment.id)
        .run()
    )


async def _assignment_by_id(case_id: int, assignment_id: int) -> dict[str, Any]:
    row = (
        await ReviewAssignment.select(*_ASSIGNMENT_COLUMNS)
        .where((ReviewAssignment.id == assignment_id) & (ReviewAssignment.review_case == case_id))
        .first()
        .run()
    )
    if row is None:
        raise NotFound("assignment not found on this case", assignment_id=assignment_id)
    return row


async def _own_assignment(actor: Principal, case_id: int) -> dict[str, Any]:
    """The actor's assignment on the case; a reviewer who is not on it gets 404."""
    row = (
        await ReviewAssignment.select(*_ASSIGNMENT_COLUMNS)
        .where((ReviewAssignment.review_case == case_id) & (ReviewAssignment.reviewer == actor.id))
        .first()
        .run()
    )
    if row is None:
        raise NotVisible("review case not found", case_id=case_id)
    return row


async def _counts(case_id: int) -> Counter[str]:
    rows = await (
        ReviewAssignment.select(ReviewAssignment.status)
        .where(ReviewAssignment.review_case == case_id)
        .run()
    )
    return Counter(r["status"] for r in rows)


async def _set_case(case_id: int, **values: Any) -> None:
    await (
        ReviewCase.update({**values, "updated_at": utcnow()}).where(ReviewCase.id == case_id).run()
    )


async def _touch(case_id: int) -> None:
    await _set_case(case_id)
