"""Approval and the award: the quota taken atomically, the award record, and the
entitlements handed to the subsidy engine; revocation; the studio-master hook.

Four eyes (who may approve): an officer who
- was never a reviewer on the application's review case (reviews.cases.ensure_not_reviewer),
- did not shortlist it (the shortlist prepares the decision: accounts.four_eyes), and
- is not employed by or linked to the applicant organisation (reviews.affiliations).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from accounts.four_eyes import ensure_not_preparer
from accounts.principal import Principal
from audit.log import record
from kernel.clock import utcnow
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, NotVisible
from kernel.masking import mask_id_number
from registry.appraisals import applications, clock, rules
from registry.appraisals.tables import AppraisalRound, QuotaPool, TalentAward, TalentObjection
from registry.organisations import for_update
from registry.studios.masters import register_leading_talent_check
from registry.tables import Employment, Organisation
from reviews import affiliations, cases
from subsidies.claims import calculations
from subsidies.claims.holds import hold_or_flag
from subsidies.claims.service import create_claims
from subsidies.claims.submission import NewClaim
from subsidies.claims.tables import Claim
from subsidies.leading_talents.amounts import INTRODUCTION, LIVING
from subsidies.policies import catalogue
from workers.outbox import enqueue

AWAITING_CERTIFICATE, CERTIFICATE_ISSUED, REVOKED = (
    "awaiting_certificate",
    "certificate_issued",
    "revoked",
)
AWARD_STATUSES = (AWAITING_CERTIFICATE, CERTIFICATE_ISSUED, REVOKED)
DECISION_REFERENCE = "东人社发〔2022〕20号"  # the policy the award rests on


async def _ensure_may_approve(actor: Principal, app: dict[str, Any]) -> None:
    what = f"application {app['id']}"
    if app["review_case"] is not None:
        await cases.ensure_not_reviewer(app["review_case"], actor, what=f"approving {what}")
    if app["shortlisted_by"]:
        ensure_not_preparer(app["shortlisted_by"], actor.actor, what=f"the shortlisting of {what}")
    ties = await affiliations.ties(actor.id, app["applicant"])
    if ties:
        raise Forbidden(
            f"you are {' and '.join(ties)} with the applicant organisation; another officer "
            "must decide",
            rule="affiliation",
        )


async def _take_quota(round_id: int) -> None:
    """One place from the pool and (if it has one) the round's own quota, each with one
    conditional UPDATE: concurrent approvals queue on the row and re-check, so the
    quota is never exceeded on either engine. A refusal rolls back the approval."""
    round_row = (
        await AppraisalRound.select(AppraisalRound.pool, AppraisalRound.quota)
        .where(AppraisalRound.id == round_id)
        .first()
        .run()
    )
    assert round_row is not None
    taken = await QuotaPool.raw(
        "UPDATE talent_quota_pool SET used = used + 1, updated_at = CURRENT_TIMESTAMP "
        "WHERE id = {} AND used < total RETURNING id",
        round_row["pool"],
    ).run()
    if not taken:
        pool = (
            await QuotaPool.select(QuotaPool.name, QuotaPool.total)
            .where(QuotaPool.id == round_row["pool"])
            .first()
            .run()
        )
        raise Conflict(
            f"the quota is used up: pool {pool['name']} has approved all {pool['total']} places",
            field="quota",
        )
    taken = await AppraisalRound.raw(
        "UPDATE appraisal_round SET approved = approved + 1, updated_at = CURRENT_TIMESTAMP "
        "WHERE id = {} AND (quota IS NULL OR approved < quota) RETURNING id",
        round_id,
    ).run()
    if not taken:
        raise Conflict(f"the round's own quota of {round_row['quota']} is used up", field="quota")


async def approve(actor: Principal, application_id: int) -> dict[str, Any]:
    today = clock.today()
    async with unit_of_work():
        app = await applications.lock(application_id)
        await _ensure_may_approve(actor, app)
        if app["status"] == rules.OBJECTED:
            raise Conflict(
                "an objection to this application is open; an officer resolves it first",
                field="status",
            )
        rules.ensure_transition(app["status"], rules.APPROVED)
        rules.ensure_notice_over(app["notice_ends_on"], today)
        open_objections = await TalentObjection.count().where(
            (TalentObjection.application == application_id) & (TalentObjection.status == "open")
        )
        if open_objections:
            raise Conflict("objections are still open", field="status")
        # A certificate may have been revoked since the application.
        if await applications.level_basis_of(app["person"], today) is None:
            raise Conflict(f"the person no longer qualifies: {rules.LEVEL_REASON}", field="person")
        await _take_quota(app["round"])
        await applications.decide(application_id, rules.APPROVED, actor)
        number = rules.award_number(today, application_id)
        # One live award per person (the partial unique index): another round may have
        # awarded this person meanwhile.
        with conflict_on_duplicate(
            "the person is already a recognised leading talent (a live award exists)",
            "person_id",
        ):
            rows = (
                await TalentAward.insert(
                    TalentAward(
                        application=application_id,
                        person=app["person"],
                        number=number,
                        awarded_on=today,
                        status=AWAITING_CERTIFICATE,
                        approved_by=actor.actor,
                    )
                )
                .returning(TalentAward.id)
                .run()
            )
        award_id = rows[0]["id"]
        # The certificate is rendered by a job committed with the award; until it is
        # stored the award stays awaiting_certificate.
        await enqueue("documents.render_award", {"award_id": award_id}, created_by=actor.actor)
        claims = await _entitlements(actor, app, award_id, number, today)
        ids, _ = await create_claims(
            actor.actor,
            claims,
            organisation_id=app["applicant"],
            action="claims.created_by_award",
        )
        await record(
            actor.actor,
            "appraisal.approved",
            "talent_application",
            application_id,
            before={"status": app["status"]},
            after={
                "status": rules.APPROVED,
                "award_id": award_id,
                "award_number": number,
                "awarded_on": today.isoformat(),
                "claims": ids,
            },
        )
    return await applications.get(actor, application_id)


async def _entitlements(
    actor: Principal, app: dict[str, Any], award_id: int, number: str, awarded_on: date
) -> list[NewClaim]:
    """The living subsidy's instalments under the version in force on the award date,
    and the introduction reward when the applicant is an enterprise that took the
    person on within the window (its employment record is the evidence)."""
    living = await catalogue.version_on(LIVING, awarded_on)
    if living is None:
        raise Conflict(
            f"no {LIVING} policy version is in force on {awarded_on}; an officer adds one "
            "(POST /api/v1/policies/leading_talent_living/versions) before approving",
            field="policy",
        )
    common = {"award_id": award_id, "award_number": number, "awarded_on": awarded_on.isoformat()}
    claims = []
    for n, item in enumerate(living.policy.parameters.instalments, start=1):
        claims.append(
            NewClaim(
                scheme=LIVING,
                dedupe_key=rules.LIVING_KEY.format(award=award_id, n=n),
                basis_date=rules.add_months(awarded_on, item.months_after_award),
                payee_kind="person",
                submitted_by=actor.actor,
                origin="award",
                claimant_id=app["applicant"],
                person_id=app["person"],
                details={
                    **common,
                    "instalment": n,
                    "months_after_award": item.months_after_award,
                },
            )
        )
    applicant = (
        await Organisation.select(Organisation.org_type)
        .where(Organisation.id == app["applicant"])
        .first()
        .run()
    )
    introduction = await catalogue.version_on(INTRODUCTION, awarded_on)
    if applicant and applicant["org_type"] == "enterprise" and introduction is not None:
        started = await _brought_in_on(app["person"], app["applicant"], awarded_on)
        window = introduction.policy.parameters.window_months
        if rules.brought_in_within(started, awarded_on, window):
            claims.append(
                NewClaim(
                    scheme=INTRODUCTION,
                    dedupe_key=rules.INTRODUCTION_KEY.format(award=award_id, org=app["applicant"]),
                    basis_date=awarded_on,
                    payee_kind="organisation",
                    submitted_by=actor.actor,
                    origin="award",
                    claimant_id=app["applicant"],
                    payee_organisation_id=app["applicant"],
                    person_id=app["person"],
                    details={**common, "employment_started_on": str(started)},
                )
            )
    return claims


async def _brought_in_on(person_id: int, enterprise_id: int, awarded_on: date) -> date | None:
    """When the enterprise took the person on: the start of their latest employment with
    it that began on or before the award date."""
    rows = await (
        Employment.select(Employment.started_on)
        .where(
            (Employment.person == person_id)
            & (Employment.employer == enterprise_id)
            & (Employment.started_on <= awarded_on)
        )
        .order_by(Employment.started_on, ascending=False)
        .limit(1)
        .run()
    )
    return rows[0]["started_on"] if rows else None


# -- revocation ------------------------------------------------------------------------------


def _hold_text(number: str, revoked_on: date, reason: str, *, paid: bool) -> str:
    zh, en = (
        ("已发放资金应予追回", "the amount paid is to be recovered")
        if paid
        else ("停止发放", "payment stopped")
    )
    return (
        f"技能领军人才奖励 {number} 已于 {revoked_on} 撤销：{reason}；{zh} / leading-talent award "
        f"{number} revoked on {revoked_on}: {reason}; {en}"
    )


async def revoke(actor: Principal, award_id: int, reason: str) -> dict[str, Any]:
    """Unpaid entitlement claims (proposed, submitted, calculated, approved) go on hold
    with the reason; paid ones stay paid and are flagged for recovery. The quota place
    is not given back: the talent was appraised and counted."""
    reason = rules.check_reason(reason)
    today = clock.today()
    async with unit_of_work():
        award = (
            await for_update(
                TalentAward.select(TalentAward.id, TalentAward.number, TalentAward.status).where(
                    TalentAward.id == award_id
                )
            )
            .first()
            .run()
        )
        if award is None:
            raise NotFound("award not found", award_id=award_id)
        if award["status"] == REVOKED:
            raise Conflict("the award is already revoked", field="status")
        await (
            TalentAward.update(
                {
                    TalentAward.status: REVOKED,
                    TalentAward.revoked_on: today,
                    TalentAward.revoked_reason: reason,
                    TalentAward.revoked_by: actor.actor,
                    TalentAward.updated_at: utcnow(),
                }
            )
            .where(TalentAward.id == award_id)
            .run()
        )
        await record(
            actor.actor,
            "appraisal.award_revoked",
            "talent_award",
            award_id,
            before={"status": award["status"]},
            after={"status": REVOKED, "reason": reason, "revoked_on": today.isoformat()},
        )
        await _stop_claims(actor, award_id, award["number"], today, reason)
    return await award_view(actor, award_id)


def _claims_of(award_id: int) -> Any:
    return Claim.dedupe_key.like(f"{LIVING}:award:{award_id}:%") | Claim.dedupe_key.like(
        f"{INTRODUCTION}:award:{award_id}:%"
    )


async def _stop_claims(
    actor: Principal, award_id: int, number: str, revoked_on: date, reason: str
) -> None:
    await hold_or_flag(
        actor.actor,
        _claims_of(award_id),
        _hold_text(number, revoked_on, reason, paid=False),
        _hold_text(number, revoked_on, reason, paid=True),
    )


# -- reading ---------------------------------------------------------------------------------

_AWARD = (
    TalentAward.id,
    TalentAward.application.as_alias("application_id"),
    TalentAward.application.applicant.as_alias("applicant_organisation_id"),
    TalentAward.application.route.as_alias("route"),
    TalentAward.person.as_alias("person_id"),
    TalentAward.person.name.as_alias("person_name"),
    TalentAward.number,
    TalentAward.awarded_on,
    TalentAward.status,
    TalentAward.approved_by,
    TalentAward.revoked_on,
    TalentAward.revoked_reason,
    TalentAward.revoked_by,
)


async def award_view(actor: Principal, award_id: int) -> dict[str, Any]:
    row = await TalentAward.select(*_AWARD).where(TalentAward.id == award_id).first().run()
    if row is None:
        raise NotFound("award not found", award_id=award_id)
    if not actor.is_staff and row["applicant_organisation_id"] != actor.organisation_id:
        raise NotVisible("award not found", award_id=award_id)
    claims = await (
        Claim.select(
            Claim.id,
            Claim.scheme,
            Claim.status,
            Claim.basis_date,
            Claim.amount_fen,
            Claim.dedupe_key,
            Claim.hold_reason,
            Claim.recovery_reason,
        )
        .where(_claims_of(award_id))
        .order_by(Claim.id)
        .run()
    )
    row["claims"] = await calculations.merged_rows(claims, detail=False)
    return row


async def list_visible(
    actor: Principal,
    *,
    status: str | None,
    round_id: int | None,
    person_id: int | None,
    awarded_from: date | None,
    awarded_to: date | None,
    after_id: int | None,
    limit: int,
) -> list[dict[str, Any]]:
    """Awards in id order (cursor: the last id), without their claims (one award's view
    has them): every award for staff, an applicant organisation's own otherwise."""
    errors = []
    if status is not None and status not in AWARD_STATUSES:
        errors.append(FieldError("status", f"must be one of {', '.join(AWARD_STATUSES)}"))
    if awarded_from and awarded_to and awarded_from > awarded_to:
        errors.append(FieldError("awarded_to", "must not be before awarded_from"))
    if errors:
        raise InvalidInput(errors)
    query = TalentAward.select(*_AWARD)
    if not actor.is_staff:
        query = query.where(TalentAward.application.applicant == actor.organisation_id)
    if status is not None:
        query = query.where(TalentAward.status == status)
    if round_id is not None:
        query = query.where(TalentAward.application.round == round_id)
    if person_id is not None:
        query = query.where(TalentAward.person == person_id)
    if awarded_from is not None:
        query = query.where(TalentAward.awarded_on >= awarded_from)
    if awarded_to is not None:
        query = query.where(TalentAward.awarded_on <= awarded_to)
    if after_id is not None:
        query = query.where(TalentAward.id > after_id)
    return await query.order_by(TalentAward.id).limit(limit).run()


# -- the award certificate (rendered by certificates/) -----------------------------------


async def certificate_facts(award_id: int) -> dict[str, Any]:
    """What the award certificate prints (certificates.models.AwardCertificateData less
    its verification and issue date): the ID number masked."""
    row = (
        await TalentAward.select(
            TalentAward.number.as_alias("certificate_number"),
            TalentAward.person.name.as_alias("person_name"),
            TalentAward.person.id_number.as_alias("id_number"),
            TalentAward.application.route.as_alias("route"),
            TalentAward.application.occupation_name.as_alias("occupation_name"),
            TalentAward.awarded_on,
            TalentAward.status,
        )
        .where(TalentAward.id == award_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("award not found", award_id=award_id)
    row["person_id_masked"] = mask_id_number(row.pop("id_number"))
    row["decision_reference"] = DECISION_REFERENCE
    return row


async def mark_certificate_issued(actor_label: str, award_id: int) -> bool:
    """The documents side calls this once the certificate is rendered: the award stops
    awaiting it. Conditional, so a retried job changes nothing the second time (False)."""
    async with unit_of_work():
        moved = await (
            TalentAward.update(
                {TalentAward.status: CERTIFICATE_ISSUED, TalentAward.updated_at: utcnow()}
            )
            .where((TalentAward.id == award_id) & (TalentAward.status == AWAITING_CERTIFICATE))
            .returning(TalentAward.id)
            .run()
        )
        if moved:
            await record(
                actor_label,
                "appraisal.award_certificate_issued",
                "talent_award",
                award_id,
                before={"status": AWAITING_CERTIFICATE},
                after={"status": CERTIFICATE_ISSUED},
            )
    return bool(moved)


# -- studios: a live award qualifies its holder as a master ----------------------------------


@register_leading_talent_check
async def live_award(person_id: int, today: date) -> str | None:
    row = (
        await TalentAward.select(TalentAward.number, TalentAward.awarded_on)
        .where(
            (TalentAward.person == person_id)
            & (TalentAward.status != REVOKED)
            & (TalentAward.awarded_on <= today)
        )
        .first()
        .run()
    )
    return f"award {row['number']} of {row['awarded_on']}" if row else None
