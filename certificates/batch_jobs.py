"""Rendering a batch's documents as jobs: one notice per line and one summary.

`documents.render_batch` {batch_id} (written by the batch approval) fans out: it
checks the batch's totals, writes one `documents.render_notices` job per range of
line numbers and one `documents.render_summary` job through the outbox (so every
worker process takes a share), then works through children no worker has claimed yet
and watches the rest: its progress is the share of the batch's documents stored, and
it is done when all are, or fails when a child failed for good.

Idempotent at every level: documents are unique per (kind, subject); a child skips
lines whose notice is stored; a re-run parent only writes children for what is
missing. Every child re-checks the whole batch's totals (`checked_lines`) before it renders
its range.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

from accounts.signers import signers
from app.settings import Settings
from certificates import codes, kinds, rendering, service
from certificates.models import NoticeData, SummaryData, SummaryLine, TraceStep, Verification
from certificates.tables import Document
from certificates.urls import verify_base_url, verify_url
from kernel.clock import local_date, local_today, utcnow
from kernel.db import unit_of_work
from kernel.errors import DomainError
from kernel.labels import SCHEME, label
from kernel.masking import mask_account_number, mask_id_number, mask_name
from registry.organisations import mask_account
from subsidies.batches import rules
from subsidies.batches.totals import checked_lines, load_batch
from subsidies.claims.tables import Claim
from subsidies.policies.tables import PolicyVersion
from workers import runner
from workers.kinds import job_handler
from workers.outbox import enqueue
from workers.runner import JobContext, PermanentFailure
from workers.status import JobStatus
from workers.tables import Job

NOTICES_PER_JOB = 200  # lines one child job renders
NOTICES_PER_LAYOUT = 50  # notices laid out as one HTML document
POLL_SECONDS = 1.0
RENDERABLE = (rules.APPROVED, rules.CLOSED)


def line_subject(line_id: int) -> str:
    return f"batch_line:{line_id}"


def batch_subject(batch_id: int) -> str:
    return f"batch:{batch_id}"


async def _checked(
    batch_id: int, line_range: tuple[int, int] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The batch and its lines, or a permanent failure: a batch whose totals no longer
    add up (it is marked failed by the check), that is not approved, or is missing
    will not get better by retrying."""
    try:
        batch = await load_batch(batch_id)
        if batch["status"] not in RENDERABLE:
            raise PermanentFailure(
                f"batch {batch['number']} is {batch['status']}: only approved batches are rendered"
            )
        lines = await checked_lines(batch_id, line_range)
    except PermanentFailure:
        raise
    except DomainError as exc:
        raise PermanentFailure(exc.message) from exc
    return batch, lines


def _ranges(line_nos: list[int], size: int) -> list[tuple[int, int]]:
    """Consecutive groups of at most `size` of the given (sorted) line numbers, as
    (first, last) inclusive."""
    return [
        (group[0], group[-1])
        for group in (line_nos[i : i + size] for i in range(0, len(line_nos), size))
    ]


@job_handler("documents.render_batch")
async def render_batch(ctx: JobContext) -> dict[str, Any]:
    batch_id = int(ctx.payload["batch_id"])
    batch, lines = await _checked(batch_id)
    have = await service.existing_subjects(kinds.NOTICE, [line_subject(x["id"]) for x in lines])
    missing = [x["line_no"] for x in lines if line_subject(x["id"]) not in have]
    summary_done = bool(await service.existing_subjects(kinds.SUMMARY, [batch_subject(batch_id)]))
    children: list[int] = []
    async with unit_of_work():
        for first, last in _ranges(missing, NOTICES_PER_JOB):
            payload = {"batch_id": batch_id, "first_line": first, "last_line": last}
            children.append(
                await enqueue("documents.render_notices", payload, created_by=ctx.actor)
            )
        if not summary_done:
            children.append(
                await enqueue(
                    "documents.render_summary", {"batch_id": batch_id}, created_by=ctx.actor
                )
            )
    expected = len(lines) + 1
    while True:
        stored = await Document.count().where(Document.batch_id == batch_id).run()
        if stored >= expected:
            break
        failed = await (
            Job.select(Job.id, Job.error)
            .where(Job.id.is_in(children or [0]) & (Job.status == JobStatus.FAILED))
            .first()
            .run()
        )
        if failed:
            raise PermanentFailure(f"rendering job {failed['id']} failed: {failed['error']}")
        await ctx.progress(stored * 100 // expected)
        waiting = await (
            Job.select(Job.id)
            .where(
                Job.id.is_in(children or [0])
                & (Job.status == JobStatus.PENDING)
                & (Job.not_before.is_null() | (Job.not_before <= utcnow()))
            )
            .order_by(Job.id)
            .first()
            .run()
        )
        if waiting:
            # Take a share instead of idling: this thread would otherwise sit waiting,
            # and with one worker thread the children would never run. The claim
            # inside execute() is the same conditional UPDATE every worker uses, so a
            # child is still run once.
            await runner.execute(waiting["id"], lease_seconds=ctx.lease_seconds)
        else:
            await asyncio.sleep(POLL_SECONDS)
    return {
        "batch_id": batch_id,
        "batch_number": batch["number"],
        "notices": len(lines),
        "summary": 1,
        "child_jobs": len(children),
    }


@job_handler("documents.render_notices")
async def render_notices(ctx: JobContext) -> dict[str, Any]:
    batch_id = int(ctx.payload["batch_id"])
    first, last = int(ctx.payload["first_line"]), int(ctx.payload["last_line"])
    batch, wanted = await _checked(batch_id, (first, last))
    have = await service.existing_subjects(kinds.NOTICE, [line_subject(x["id"]) for x in wanted])
    todo = [x for x in wanted if line_subject(x["id"]) not in have]
    titles = await _policy_titles({x["policy_version_id"] for x in todo})
    beneficiaries = await _beneficiaries(todo)
    base = verify_base_url(Settings.from_env())
    data_dir = Settings.from_env().data_dir
    issued_on = _issued_on(batch)
    stored = 0
    for start in range(0, len(todo), NOTICES_PER_LAYOUT):
        part = todo[start : start + NOTICES_PER_LAYOUT]
        notices = [
            notice_for(
                x, batch, titles, _verification(base), issued_on, beneficiaries.get(x["claim"])
            )
            for x in part
        ]
        pdfs = await asyncio.to_thread(rendering.render_notices, notices)
        # Each part commits on its own (the unique key makes a repeat harmless), so the
        # parent's progress moves while a long chunk renders.
        stored += await service.store_rendered(
            [
                service.Rendered(
                    kind=kinds.NOTICE,
                    subject=line_subject(x["id"]),
                    code=n.verification.code,
                    content=pdf,
                    summary=notice_summary(n),
                    batch_id=batch_id,
                    organisation_id=x["organisation"]
                    if x["payee_kind"] == "organisation"
                    else None,
                )
                for x, n, pdf in zip(part, notices, pdfs, strict=True)
            ],
            data_dir,
            ctx.actor,
        )
        await ctx.progress((start + len(part)) * 100 // max(1, len(todo)))
    return {"batch_id": batch_id, "lines": len(wanted), "rendered": len(todo), "stored": stored}


@job_handler("documents.render_summary")
async def render_summary(ctx: JobContext) -> dict[str, Any]:
    batch_id = int(ctx.payload["batch_id"])
    batch, lines = await _checked(batch_id)
    if await service.existing_subjects(kinds.SUMMARY, [batch_subject(batch_id)]):
        return {"batch_id": batch_id, "stored": 0}
    titles = await _policy_titles({x["policy_version_id"] for x in lines})
    settings = Settings.from_env()
    signed = await signers([batch["built_by"], batch.get("approved_by")])
    data = summary_for(lines, batch, titles, _verification(verify_base_url(settings)), signed)
    pdf = await asyncio.to_thread(rendering.render_summary, data)
    stored = await service.store_rendered(
        [
            service.Rendered(
                kind=kinds.SUMMARY,
                subject=batch_subject(batch_id),
                code=data.verification.code,
                content=pdf,
                summary={
                    "batch": batch["number"],
                    "lines": len(lines),
                    "total": rendering.figures(sum(x["amount_fen"] for x in lines)),
                    "total_in_words": rendering.capital_amount(sum(x["amount_fen"] for x in lines)),
                    "issued_on": data.issued_on.isoformat(),
                },
                batch_id=batch_id,
            )
        ],
        settings.data_dir,
        ctx.actor,
    )
    return {"batch_id": batch_id, "lines": len(lines), "stored": stored}


# --- building the documents' data from batch lines -------------------------------


def _verification(base: str) -> Verification:
    code = codes.new_code()
    return Verification(code=code, url=verify_url(base, code))


def _issued_on(batch: dict[str, Any]) -> date:
    """The approval day (Beijing), so a document rendered again shows the same date."""
    approved = batch.get("approved_at")
    return local_date(approved) if approved else local_today()


async def _policy_titles(version_ids: set[int | None]) -> dict[int, dict[str, str]]:
    ids = [v for v in version_ids if v is not None]
    if not ids:
        return {}
    rows = (
        await PolicyVersion.select(PolicyVersion.id, PolicyVersion.document)
        .where(PolicyVersion.id.is_in(ids))
        .run()
    )
    out = {}
    for row in rows:
        doc = json.loads(row["document"])
        out[row["id"]] = {
            "zh": doc.get("title_zh", ""),
            "en": doc.get("title_en", ""),
            "source": doc.get("source", ""),
        }
    return out


def _payee_organisation(line: dict[str, Any]) -> int | None:
    return line["organisation"] if line["payee_kind"] == "organisation" else None


def _payee_id(line: dict[str, Any]) -> str:
    if line["payee_kind"] == "person":
        return line.get("masked_id_number") or ""
    return line.get("organisation_credit_code") or ""


def _trace(text: str | None) -> tuple[TraceStep, ...]:
    steps = json.loads(text) if text else []
    return tuple(TraceStep(str(s.get("zh", "")), str(s.get("en", ""))) for s in steps)


# Schemes whose claims pay for one person's month while the payee is an organisation.
_MONTHLY_FOR_A_PERSON = frozenset({"internship"})


async def _beneficiaries(lines: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """For the lines of monthly schemes paid for a person: claim id -> the person's name,
    masked ID and the month (the claim's basis date is the month's first day)."""
    ids = [x["claim"] for x in lines if x["scheme"] in _MONTHLY_FOR_A_PERSON and x["claim"]]
    if not ids:
        return {}
    rows = (
        await Claim.select(
            Claim.id,
            Claim.basis_date,
            Claim.person.name.as_alias("person_name"),
            Claim.person.id_number.as_alias("person_id_number"),
        )
        .where(Claim.id.is_in(ids))
        .run()
    )
    return {r["id"]: r for r in rows}


def notice_for(
    line: dict[str, Any],
    batch: dict[str, Any],
    titles: dict[int, dict[str, str]],
    verification: Verification,
    issued_on: date,
    beneficiary: dict[str, Any] | None = None,
) -> NoticeData:
    title = titles.get(line["policy_version_id"], {})
    person = beneficiary or {}
    return NoticeData(
        verification=verification,
        batch_number=batch["number"],
        line_no=line["line_no"],
        reference=line["reference"],
        scheme=line["scheme"],
        scheme_title_zh=title.get("zh") or label(SCHEME, line["scheme"]),
        scheme_title_en=title.get("en") or line["scheme"],
        policy_source=title.get("source") or None,
        period_from=batch.get("period_from"),
        period_to=batch.get("period_to"),
        basis_date=line.get("basis_date"),
        payee_kind=line["payee_kind"],
        payee_name=line["payee_name"],
        payee_id_masked=_payee_id(line),
        payee_bank=line["payee_bank"],
        payee_account_masked=mask_account(line["payee_account"]),
        amount_fen=line["amount_fen"],
        trace=_trace(line.get("claim_trace")),
        issued_on=issued_on,
        person_name=person.get("person_name"),
        person_id_masked=mask_id_number(person["person_id_number"])
        if person.get("person_id_number")
        else None,
        month=person.get("basis_date"),
    )


def notice_summary(notice: NoticeData) -> dict[str, Any]:
    """What the public verify page shows: no full name of a person, no account."""
    payee = (
        notice.payee_name if notice.payee_kind == "organisation" else mask_name(notice.payee_name)
    )
    return {
        "batch": notice.batch_number,
        "line_no": notice.line_no,
        "scheme": notice.scheme_title_zh,
        "payee": payee,
        "payee_id": notice.payee_id_masked,
        "amount": rendering.figures(notice.amount_fen),
        "amount_in_words": rendering.capital_amount(notice.amount_fen),
        "issued_on": notice.issued_on.isoformat(),
    }


def summary_for(
    lines: list[dict[str, Any]],
    batch: dict[str, Any],
    titles: dict[int, dict[str, str]],
    verification: Verification,
    signed: dict[str, str] | None = None,
) -> SummaryData:
    """`signed`: actor label -> as printed (accounts.signers); a label not in it is
    printed as it is."""
    signed = signed or {}
    scheme_titles = {}
    for line in lines:
        title = titles.get(line["policy_version_id"])
        if title:
            scheme_titles.setdefault(line["scheme"], title["zh"])
    return SummaryData(
        verification=verification,
        batch_number=batch["number"],
        scheme=batch.get("scheme"),
        period_from=batch.get("period_from"),
        period_to=batch.get("period_to"),
        built_by=signed.get(batch["built_by"], batch["built_by"]),
        approved_by=signed.get(batch["approved_by"], batch["approved_by"])
        if batch.get("approved_by")
        else None,
        issued_on=_issued_on(batch),
        lines=[
            SummaryLine(
                line_no=x["line_no"],
                reference=x["reference"],
                scheme=x["scheme"],
                payee_name=x["payee_name"],
                payee_id_masked=_payee_id(x),
                payee_bank=x["payee_bank"],
                payee_account_masked=mask_account_number(x["payee_account"]),
                amount_fen=x["amount_fen"],
            )
            for x in lines
        ],
        scheme_titles=scheme_titles,
    )
