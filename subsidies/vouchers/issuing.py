"""Issuing vouchers: to one person (an officer, at once) or to every eligible person
without a voucher this year (a job, `subsidies.issue_vouchers`).

The version of the training_voucher policy in force on the issue day fixes the face
value, the covered levels and the expiry; issuing marks that version used, so it can
no longer change under the vouchers it priced. The place a voucher takes in its
holder's year (ordinal) is unique per person and year: concurrent issues cannot give
anyone more than the policy's per_person_per_year.
"""

from __future__ import annotations

import json
import os
from datetime import date
from typing import Any

import pandas as pd
from piccolo.columns.combination import WhereRaw

from accounts.principal import Principal
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.db import conflict_on_duplicate, engine, is_sqlite, raw_connection, unit_of_work
from kernel.errors import Conflict, InvalidInput
from registry.organisations import for_update
from registry.tables import Person
from subsidies.policies import catalogue
from subsidies.policies.catalogue import StoredPolicy
from subsidies.policies.documents import VoucherParameters
from subsidies.vouchers import facts, numbers, rules, views
from subsidies.vouchers.tables import Voucher
from workers.kinds import job_handler
from workers.outbox import enqueue
from workers.runner import JobContext, PermanentFailure

SCHEME = "training_voucher"
ISSUE_VOUCHERS = "subsidies.issue_vouchers"
CHUNK = 2000


async def policy_on(day: date) -> StoredPolicy:
    stored = await catalogue.version_on(SCHEME, day)
    if stored is None:
        raise Conflict(f"no training voucher policy is in force on {day.isoformat()}")
    return stored


async def _fresh_numbers(year: int, count: int) -> list[str]:
    """`count` new numbers, distinct among themselves and from every stored one."""
    chosen: list[str] = []
    while len(chosen) < count:
        wanted = count - len(chosen)
        batch = {numbers.random_number(year, os.urandom(7)) for _ in range(wanted)}
        batch -= set(chosen)
        taken = set()
        listed = list(batch)  # in no order: numbers say nothing about who got them
        for start in range(0, len(listed), 1000):
            rows = (
                await Voucher.select(Voucher.number)
                .where(Voucher.number.is_in(listed[start : start + 1000]))
                .run()
            )
            taken |= {r["number"] for r in rows}
        chosen += [n for n in listed if n not in taken]
    return chosen[:count]


def _row(
    number: str,
    person_id: int,
    ordinal: int,
    stored: StoredPolicy,
    on: date,
    snapshot: str,
    actor: str,
    job_id: int | None = None,
) -> Voucher:
    p: VoucherParameters = stored.policy.parameters
    return Voucher(
        number=number,
        person=person_id,
        year=on.year,
        ordinal=ordinal,
        policy_version=stored.id,
        face_value_fen=p.face_value_fen,
        covers_levels=rules.store_levels(p.covers_levels),
        issued_on=on,
        expires_on=rules.expires_on(on, p.valid_days),
        status=rules.ISSUED,
        facts=snapshot,
        issued_by=actor,
        issue_job=job_id,
    )


def _snapshots(frame: pd.DataFrame) -> list[str]:
    """Each person's facts as JSON (None for unknown), vectorised as far as pandas goes."""
    clean = (
        frame[list(facts.COLUMNS)].astype(object).where(frame[list(facts.COLUMNS)].notna(), None)
    )
    out = []
    for hukou, age, months, insured, level in clean.itertuples(index=False, name=None):
        out.append(
            json.dumps(
                {
                    "hukou": hukou,
                    "age": int(age),
                    "insured_months": None if months is None else int(months),
                    "insured": bool(insured),
                    "level": None if level is None else int(level),
                },
                sort_keys=True,
            )
        )
    return out


# -- one person ----------------------------------------------------------------------


async def issue(actor: Principal, person_id: int) -> dict[str, Any]:
    """Issues the next voucher of this year to one person; refuses (400) someone not
    eligible with every reason and (409) someone at the policy's limit."""
    today = local_today()
    stored = await policy_on(today)
    p: VoucherParameters = stored.policy.parameters
    async with unit_of_work():
        # The person's row lock queues concurrent issues to one person on PostgreSQL
        # (SQLite has one writer anyway); the unique key holds even without it.
        person = (
            await for_update(Person.select(*facts.PERSON_COLUMNS).where(Person.id == person_id))
            .first()
            .run()
        )
        if person is None:
            raise InvalidInput.single("person_id", "no such person")
        held = (
            await Voucher.select(Voucher.number)
            .where((Voucher.person == person_id) & (Voucher.year == today.year))
            .order_by(Voucher.ordinal)
            .run()
        )
        ordinal = rules.next_ordinal(len(held), p.per_person_per_year)
        if ordinal is None:
            raise Conflict(
                f"this person already has {len(held)} training voucher(s) for {today.year} "
                f"({', '.join(h['number'] for h in held)}); the policy allows "
                f"{p.per_person_per_year} per person per year",
                field="person_id",
                existing=[h["number"] for h in held],
            )
        frame = await facts.frame([person], today)
        reasons = rules.refusal_reasons(frame, stored.policy.conditions)
        if reasons:
            raise InvalidInput.single("person_id", "not eligible: " + "; ".join(reasons))
        (number,) = await _fresh_numbers(today.year, 1)
        with conflict_on_duplicate(
            f"this person was just issued a training voucher for {today.year}", "person_id"
        ):
            rows = (
                await Voucher.insert(
                    _row(
                        number, person_id, ordinal, stored, today, _snapshots(frame)[0], actor.actor
                    )
                )
                .returning(Voucher.id)
                .run()
            )
        await catalogue.mark_used([stored])
        await record(
            actor.actor,
            "voucher.issued",
            "voucher",
            rows[0]["id"],
            after={
                "number": number,
                "person_id": person_id,
                "year": today.year,
                "ordinal": ordinal,
                "policy_version": stored.policy.version,
                "face_value_fen": p.face_value_fen,
            },
        )
    return await views.get(actor, number)


# -- everyone eligible ---------------------------------------------------------------


async def start_bulk(actor: Principal) -> dict[str, Any]:
    """Enqueues the issuance job for today; the job runs with today's policy version."""
    today = local_today()
    stored = await policy_on(today)
    async with unit_of_work():
        job_id = await enqueue(
            ISSUE_VOUCHERS, {"issued_on": today.isoformat()}, created_by=actor.actor
        )
        await record(
            actor.actor,
            "voucher.bulk_issue_requested",
            "job",
            job_id,
            after={"issued_on": today.isoformat(), "policy_version": stored.policy.version},
        )
    return {"job_id": job_id, "issued_on": today, "policy_version": stored.policy.version}


def _without_voucher(year: int) -> WhereRaw:
    return WhereRaw(
        'NOT EXISTS (SELECT 1 FROM voucher v WHERE v.person = "person"."id" AND v.year = {})',
        year,
    )


async def _issue_chunk(
    ctx: JobContext, stored: StoredPolicy, on: date, after_id: int
) -> tuple[int, int, int] | None:
    """One keyset chunk in one unit of work: (last person id, candidates, issued), or
    None when no candidate is left. Only people without a voucher this year are read,
    and ON CONFLICT DO NOTHING skips anyone who got one meanwhile."""
    async with unit_of_work():
        people = (
            await Person.select(*facts.PERSON_COLUMNS)
            .where(
                (Person.id > after_id) & facts.insured_candidates(on) & _without_voucher(on.year)
            )
            .order_by(Person.id)
            .limit(CHUNK)
            .run()
        )
        if not people:
            return None
        frame = await facts.frame(people, on)
        chosen = frame[rules.eligible(frame, stored.policy.conditions)]
        issued: list[dict[str, Any]] = []
        if len(chosen):
            fresh = await _fresh_numbers(on.year, len(chosen))
            rows = list(
                zip(fresh, chosen.index.astype(int).tolist(), _snapshots(chosen), strict=True)
            )
            issued = await _insert_first_vouchers(rows, stored, on, ctx.actor, ctx.job_id)
        if issued:
            await catalogue.mark_used([stored])
            await record(
                ctx.actor,
                "voucher.issued_in_bulk",
                "job",
                ctx.job_id,
                after={
                    "year": on.year,
                    "policy_version": stored.policy.version,
                    "vouchers": [[r["id"], r["number"], r["person"]] for r in issued],
                },
            )
    return people[-1]["id"], len(people), len(issued)


_COLUMNS = (
    "number, person, year, ordinal, policy_version, face_value_fen, covers_levels, "
    "issued_on, expires_on, status, facts, issued_by, issue_job, created_at"
)


async def _insert_first_vouchers(
    rows: list[tuple[str, int, str]], stored: StoredPolicy, on: date, actor: str, job_id: int
) -> list[dict[str, Any]]:
    """Each (number, person id, facts JSON) as the person's first voucher of the year, in
    one statement per engine (Piccolo's row objects cost more than the database here).
    ON CONFLICT DO NOTHING skips a person served meanwhile. Returns the inserted rows."""
    p: VoucherParameters = stored.policy.parameters
    fixed = (
        on.year,
        stored.id,
        p.face_value_fen,
        rules.store_levels(p.covers_levels),
        on,
        rules.expires_on(on, p.valid_days),
        rules.ISSUED,
        actor,
        job_id,
        utcnow(),
    )
    conn = raw_connection()
    if is_sqlite(engine()):
        # Piccolo's SQLite text forms: ISO dates, str() of a UTC datetime.
        year, version, face, levels, issued, expires, status, by, job, now = fixed
        cursor = conn.execute(
            f"INSERT INTO voucher ({_COLUMNS}) "
            "SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?, 1, ?, ?, ?, "
            "?, ?, ?, json_extract(value, '$[2]'), ?, ?, ? FROM json_each(?) WHERE true "
            "ON CONFLICT DO NOTHING RETURNING id, number, person",
            (
                year, version, face, levels, issued.isoformat(), expires.isoformat(), status,
                by, job, str(now), json.dumps(rows),
            ),
        )  # fmt: skip
        return [dict(r) for r in cursor.fetchall()]  # the engine's rows are dicts
    numbers_, people, snapshots = (list(column) for column in zip(*rows, strict=True))
    found = await conn.fetch(
        f"INSERT INTO voucher ({_COLUMNS}) "
        "SELECT n, p, $1, 1, $2, $3, $4, $5, $6, $7, f, $8, $9, $10 "
        "FROM unnest($11::varchar[], $12::int[], $13::text[]) AS t(n, p, f) "
        "ON CONFLICT DO NOTHING RETURNING id, number, person",
        *fixed,
        numbers_,
        people,
        snapshots,
    )
    return [dict(r) for r in found]


@job_handler(ISSUE_VOUCHERS)
async def issue_vouchers(ctx: JobContext) -> dict[str, Any]:
    """Every eligible person without a voucher in the issue day's year gets one. Chunks
    commit one by one; a retried or repeated run finds those already served and issues
    nothing new for them."""
    on = date.fromisoformat(ctx.payload["issued_on"])
    try:
        stored = await policy_on(on)
    except Conflict as error:
        raise PermanentFailure(error.message) from None
    total = (
        await Person.count().where(facts.insured_candidates(on) & _without_voucher(on.year)).run()
    )
    result: dict[str, Any] = {
        "issued_on": on.isoformat(),
        "policy_version": stored.policy.version,
        "candidates": 0,
        "issued": 0,
    }
    after_id = 0
    while True:
        chunk = await _issue_chunk(ctx, stored, on, after_id)
        if chunk is None:
            break
        after_id, seen, issued = chunk
        result["candidates"] += seen
        result["issued"] += issued
        await ctx.progress(int(99 * result["candidates"] / max(total, 1)))
    # Not eligible under the policy's conditions, or served meanwhile by another issue.
    result["not_issued"] = result["candidates"] - result["issued"]
    return result  # the runner marks the job done with this result
