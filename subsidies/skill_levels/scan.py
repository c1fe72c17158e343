""" "Policy finds people" (免申即享): the scan that proposes entitlements nobody applied
for: skill-level subsidies for people (below), and master-studio grants for the
enterprises hosting an established studio (subsidies.studio_grants.proposals), each
for the stretches of days its automatic versions are in force.

For every stretch of days when the skill-level version in force is `automatic`
(automatic_periods), one set-based statement per slice of person ids finds

    valid certificates issued in that stretch, at a level the version pays for,
    whose holder has an insured Employment covering the issue date,
    and no live claim yet for that person and level (dedupe key skill_level:{p}:{l}),

and inserts them as PROPOSED claims (the levels are those the version pays and its
level conditions admit; its other conditions, such as age or insured months, are
judged on the inserted claims with the calculation's own facts and evaluator before the
slice commits, and the claims failing them are deleted again, so the scan proposes
only claims whose conditions hold; their amount, capped or reduced by what lower levels
were paid, is the calculation's): origin automatic, payee the person, claimant the
employer (it confirms the account before an officer approves), the certificate, basis
date = issue date, budget year = the year of the scan (the year whose budget pays).
Of several certificates of one person and level, the earliest issued is proposed; of
several covering employments, the latest started.

Why one INSERT … SELECT and not insert_claims(): the scan covers Dongguan's whole
registry (1.35 million people, 2 million certificates: bench/scan.py), and rows never
leave the database. The rows are what insert_claims() would write (same columns and
defaults), and the same partial unique index on live dedupe keys guards them:
`NOT EXISTS` skips what is claimed, `ON CONFLICT DO NOTHING` skips what a concurrent
writer claimed meanwhile. So running the scan twice creates nothing new, and a crash
half-way loses nothing: each slice commits on its own and a rerun resumes.

Audit: one entry per slice that created claims (scheme, period, person-id range, how
many, first and last claim id), not one per claim: the claim rows themselves carry
origin, submitter (the job) and time.

Runs: `POST /api/v1/scans` (officers, admins) answers 202 with the job;
`python -m app scan` runs one now (for cron); `ensure_daily_scan()` enqueues at most one
scan per Beijing day; every sweeper calls it once DAILY_SCAN_HOUR has come.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any

import pandas as pd

from accounts.principal import Principal
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.db import engine, is_sqlite, unit_of_work
from kernel.errors import FieldError, InvalidInput
from subsidies.claims import statuses
from subsidies.claims.proposals import NOT_LIVE, record_proposed
from subsidies.claims.tables import Claim
from subsidies.policies import catalogue
from subsidies.policies.documents import AUTOMATIC_SCHEMES, Policy, SkillLevelParameters
from subsidies.policies.vocabulary import Condition, evaluate
from subsidies.skill_levels.amounts import SCHEME, paid_levels
from subsidies.skill_levels.automatic_periods import Period, automatic_periods
from subsidies.skill_levels.facts import load_inputs
from subsidies.studio_grants import proposals as studio_proposals
from workers.daily import claim_day, daily_task, record_job
from workers.kinds import job_handler
from workers.outbox import enqueue
from workers.runner import JobContext
from workers.tables import Job

SCAN = "subsidies.scan"
SCANNED_SCHEMES = AUTOMATIC_SCHEMES
PERSONS_PER_SLICE = 100_000  # person ids per statement (and per transaction)
PARALLEL_SLICES = 2  # statements at once on PostgreSQL
DELETE_IDS_AT_ONCE = 10_000
DAILY_ACTOR = "system:daily-scan"
# details JSON around the employment's id (Piccolo templates cannot hold literal braces)
_DETAILS = ('{"employment_id": ', "}")


def _insert_sql(period: Period, levels: list[int]) -> str:
    """The statement for one slice; parameters: budget year, the two halves of details,
    actor, now, now, insured (true), first and last person id (employments), start,
    [end], first and last person id (certificates); ranges inclusive."""
    level_list = ", ".join(str(int(level)) for level in levels)  # 1-5 from a validated policy
    until = " AND c.issued_on <= {}" if period.end is not None else ""
    key = f"'{SCHEME}:' || c.person || ':' || c.level"
    return (
        "INSERT INTO claim (scheme, origin, dedupe_key, status, claimant, person, payee_kind, "
        "payee_organisation, certificate, basis_date, budget_year, details, submitted_by, "
        "submitted_at, updated_at) "
        f"SELECT '{SCHEME}', 'automatic', x.dedupe_key, '{statuses.PROPOSED}', x.employer, "
        "x.person, 'person', NULL, x.certificate_id, x.issued_on, {}, "
        "CAST({} AS TEXT) || CAST(x.employment_id AS TEXT) || CAST({} AS TEXT), {}, {}, {} "
        "FROM ("
        "SELECT c.id AS certificate_id, c.person AS person, c.issued_on AS issued_on, "
        f"e.employer AS employer, e.id AS employment_id, {key} AS dedupe_key, "
        "ROW_NUMBER() OVER (PARTITION BY c.person, c.level "
        "ORDER BY c.issued_on, c.id, e.started_on DESC, e.id) AS rn "
        "FROM certificate c JOIN employment e ON e.person = c.person AND e.insured = {} "
        "AND e.started_on <= c.issued_on AND (e.ended_on IS NULL OR e.ended_on >= c.issued_on) "
        "AND e.person >= {} AND e.person <= {} "
        f"WHERE c.status = 'valid' AND c.level IN ({level_list}) AND c.issued_on >= {{}}{until} "
        "AND c.person >= {} AND c.person <= {} "
        f"AND NOT EXISTS (SELECT 1 FROM claim k WHERE k.dedupe_key = {key} "
        f"AND k.status NOT IN ('{NOT_LIVE}'))"
        ") x WHERE x.rn = 1 ON CONFLICT DO NOTHING RETURNING id, person, certificate"
    )


# Conditions the statement decides itself: an insured Employment covering the issue
# date (the facts loader's definition of both).
# A tuple: a condition's value may be a list, which a set could not hash.
_DECIDED_BY_THE_STATEMENT = (
    Condition("employed_in_dongguan", "is", True),
    Condition("insured", "is", True),
)


def _levels(policy: Policy) -> list[int]:
    """The levels to propose: paid by the version and admitted by its level conditions."""
    levels = paid_levels(policy.parameters)
    conditions = tuple(c for c in policy.conditions if c.fact == "level")
    if not conditions or not levels:
        return levels
    admitted = evaluate(conditions, pd.DataFrame({"level": [float(v) for v in levels]}))
    return [level for level, ok in zip(levels, admitted["eligible"], strict=True) if ok]


def _left_to_judge(policy: Policy) -> tuple[Condition, ...]:
    return tuple(
        c for c in policy.conditions if c.fact != "level" and c not in _DECIDED_BY_THE_STATEMENT
    )


async def _eligible(rows: list[dict[str, Any]], conditions: tuple[Condition, ...]) -> list[int]:
    """The ids of the claims just inserted (`rows`: id, person, certificate) that meet
    `conditions`; the others are deleted in the same transaction, never seen."""
    ids = [r["id"] for r in rows]
    if not conditions or not rows:
        return ids
    claims = pd.DataFrame(
        {
            "id": ids,
            "person_id": [r["person"] for r in rows],
            "certificate_id": [r["certificate"] for r in rows],
        }
    )
    facts = await load_inputs(claims)
    eligible = evaluate(conditions, facts)["eligible"].reindex(claims["id"]).fillna(False)
    failing = [int(i) for i, ok in eligible.items() if not ok]
    # A bound parameter per id: PostgreSQL takes at most 32,767 in one statement.
    for start in range(0, len(failing), DELETE_IDS_AT_ONCE):
        ids_now = failing[start : start + DELETE_IDS_AT_ONCE]
        await Claim.delete().where(Claim.id.is_in(ids_now)).run()
    return [int(i) for i, ok in eligible.items() if ok]


async def _person_range(period: Period) -> tuple[int, int] | None:
    sql = "SELECT MIN(person) AS lo, MAX(person) AS hi FROM certificate WHERE issued_on >= {}"
    args: list[Any] = [period.start]
    if period.end is not None:
        sql += " AND issued_on <= {}"
        args.append(period.end)
    [row] = await Claim.raw(sql, *args).run()
    return None if row["lo"] is None else (int(row["lo"]), int(row["hi"]))


async def scan_period(
    actor: str,
    period: Period,
    *,
    budget_year: int,
    job_id: int | None = None,
    on_slice: Any = None,
) -> int:
    """Proposes the claims of one automatic period; returns how many it created."""
    assert isinstance(period.policy.parameters, SkillLevelParameters)
    levels = _levels(period.policy)
    left = _left_to_judge(period.policy)
    bounds = await _person_range(period)
    if not levels or bounds is None:
        return 0
    sql = _insert_sql(period, levels)
    lo, hi = bounds
    slices = [(f, min(f + PERSONS_PER_SLICE - 1, hi)) for f in range(lo, hi + 1, PERSONS_PER_SLICE)]
    # Slices touch disjoint people, hence disjoint dedupe keys: PostgreSQL runs a few at
    # once (one core each); SQLite has one writer anyway.
    gate = asyncio.Semaphore(1 if is_sqlite(engine()) else PARALLEL_SLICES)
    done = 0

    async def one(first: int, last: int) -> int:
        nonlocal done
        async with gate:
            now = utcnow()
            args: list[Any] = [budget_year, *_DETAILS, actor, now, now, True, first, last]
            args += [period.start] if period.end is None else [period.start, period.end]
            args += [first, last]
            async with unit_of_work():
                ids = await _eligible(await Claim.raw(sql, *args).run(), left)
                await record_proposed(actor, job_id, period, ids, person_ids=[first, last])
        done += 1
        if on_slice is not None:
            await on_slice(done / len(slices))
        return len(ids)

    async with asyncio.TaskGroup() as group:  # one failing slice cancels the others
        tasks = [group.create_task(one(first, last)) for first, last in slices]
    return sum(task.result() for task in tasks)


async def _propose(
    actor: str,
    period: Period,
    *,
    budget_year: int,
    job_id: int | None,
    on_slice: Any,
) -> int:
    if period.policy.scheme == SCHEME:
        return await scan_period(
            actor, period, budget_year=budget_year, job_id=job_id, on_slice=on_slice
        )
    created = await studio_proposals.propose(actor, period, budget_year=budget_year, job_id=job_id)
    await on_slice(1.0)
    return created


async def scan(
    actor: str,
    *,
    schemes: list[str] | None = None,
    job_id: int | None = None,
    ctx: JobContext | None = None,
) -> dict[str, Any]:
    """Every automatic period of `schemes` (default: every scheme that can be
    automatic); the job's result: how many claims were created, in all and per period."""
    wanted = [s for s in SCANNED_SCHEMES if s in (schemes or SCANNED_SCHEMES)]
    periods: list[Period] = []
    for scheme in wanted:
        stored = await catalogue.versions(scheme)
        periods += automatic_periods([s.policy for s in stored], scheme)
    budget_year = local_today().year
    result: dict[str, Any] = {"schemes": wanted, "created": 0, "periods": []}
    for i, period in enumerate(periods):

        async def progress(share: float, i: int = i) -> None:
            if ctx is not None:
                await ctx.progress(int(100 * (i + share) / len(periods)))

        created = await _propose(
            actor, period, budget_year=budget_year, job_id=job_id, on_slice=progress
        )
        result["created"] += created
        result["periods"].append(
            {
                "scheme": period.policy.scheme,
                "version": period.policy.version,
                "from": period.start.isoformat(),
                "to": period.end.isoformat() if period.end else None,
                "created": created,
            }
        )
    return result


@job_handler(SCAN)
async def scan_job(ctx: JobContext) -> dict[str, Any]:
    return await scan(ctx.actor, schemes=ctx.payload.get("schemes"), job_id=ctx.job_id, ctx=ctx)


# -- starting a scan -------------------------------------------------------------------


async def request_scan(actor: Principal, schemes: list[str] | None = None) -> int:
    """An officer's on-demand scan; returns the job id."""
    wanted = schemes or list(SCANNED_SCHEMES)
    unknown = [s for s in wanted if s not in SCANNED_SCHEMES]
    if unknown:
        raise InvalidInput(
            [
                FieldError(
                    "schemes",
                    f"no automatic scan for {', '.join(unknown)}; "
                    f"scanned: {', '.join(SCANNED_SCHEMES)}",
                )
            ]
        )
    async with unit_of_work():
        job_id = await enqueue(SCAN, {"schemes": wanted}, created_by=actor.actor)
        await record(actor.actor, "scan.requested", "job", job_id, after={"schemes": wanted})
    return job_id


@daily_task(SCAN)
async def ensure_daily_scan(today: date | None = None) -> int | None:
    """Enqueues the scan of `today` (Beijing) unless it is queued already; safe to call
    from every process at once: the day's row in `daily_run` (unique per name and day)
    is inserted by one caller only, in the transaction that queues the job. The sweeper
    calls it each round once DAILY_SCAN_HOUR has come (workers.daily). Returns the new
    job's id."""
    day = today or local_today()
    payload = {"schemes": list(SCANNED_SCHEMES), "day": day.isoformat()}
    async with unit_of_work():
        if not await claim_day(SCAN, day):
            return None
        job_id = await enqueue(SCAN, payload, created_by=DAILY_ACTOR)
        await record_job(SCAN, day, job_id)
        return job_id


async def run_now(actor: str) -> dict[str, Any]:
    """A scan in this process (the command line): queued as a job so it is recorded like
    any other, then run here at once. A worker that receives the message too finds the
    job taken (runner.claim is one conditional UPDATE)."""
    from workers import runner

    async with unit_of_work():
        job_id = await enqueue(SCAN, {"schemes": list(SCANNED_SCHEMES)}, created_by=actor)
    await runner.execute(job_id)
    row = await Job.select(Job.status, Job.result, Job.error).where(Job.id == job_id).first().run()
    return {
        "job_id": job_id,
        "status": row["status"],
        "result": json.loads(row["result"]) if row["result"] else None,
        "error": row["error"],
    }
