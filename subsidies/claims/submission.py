"""Creating claims: one through the API, or many from a scheme (a monthly report, the
automatic scan, an award), always in the caller's unit of work. The partial unique
index on dedupe_key is what refuses a duplicate, so a race cannot create two."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from kernel.db import conflict_on_duplicate, in_unit_of_work
from kernel.errors import Conflict
from subsidies.claims import statuses
from subsidies.claims.tables import Claim

CALCULATE = "subsidies.calculate"  # job kind of a calculation run (payload: scheme, claim_ids)
CALCULATE_LANE = "subsidies.calculate_lane"  # one lane of a run (payload: parent, lane, lanes)


@dataclass(frozen=True)
class NewClaim:
    scheme: str
    dedupe_key: str  # what is paid for, e.g. "internship:placement:12:2026-03"
    basis_date: date  # picks the policy version in force
    payee_kind: str  # person / organisation
    submitted_by: str
    origin: str = "application"  # application / automatic / award
    status: str = statuses.SUBMITTED  # PROPOSED for the automatic scan
    claimant_id: int | None = None
    person_id: int | None = None
    payee_organisation_id: int | None = None
    certificate_id: int | None = None
    budget_year: int | None = None  # default: the basis date's year
    details: dict[str, Any] = field(default_factory=dict)


def _row(new: NewClaim) -> Claim:
    return Claim(
        scheme=new.scheme,
        origin=new.origin,
        dedupe_key=new.dedupe_key,
        status=new.status,
        claimant=new.claimant_id,
        person=new.person_id,
        payee_kind=new.payee_kind,
        payee_organisation=new.payee_organisation_id,
        certificate=new.certificate_id,
        basis_date=new.basis_date,
        budget_year=new.budget_year or new.basis_date.year,
        details=json.dumps(new.details, ensure_ascii=False, sort_keys=True, default=str),
        submitted_by=new.submitted_by,
    )


async def existing(dedupe_keys: list[str]) -> dict[str, int]:
    """Live claims holding these keys: key -> claim id."""
    found: dict[str, int] = {}
    for start in range(0, len(dedupe_keys), 500):
        rows = (
            await Claim.select(Claim.id, Claim.dedupe_key)
            .where(
                Claim.dedupe_key.is_in(dedupe_keys[start : start + 500])
                & Claim.status.is_in(list(statuses.LIVE))
            )
            .run()
        )
        found.update({r["dedupe_key"]: r["id"] for r in rows})
    return found


async def insert_claim(new: NewClaim) -> int:
    """One claim; a live claim for the same thing answers 409 naming it."""
    if not in_unit_of_work():
        raise RuntimeError("insert_claim() runs in the caller's unit of work")
    held = await existing([new.dedupe_key])
    if held:
        raise _duplicate(new.dedupe_key, held[new.dedupe_key])
    with conflict_on_duplicate(f"a live claim already exists for {new.dedupe_key}", "dedupe_key"):
        rows = await Claim.insert(_row(new)).returning(Claim.id).run()
    return rows[0]["id"]


async def insert_claims(new: list[NewClaim]) -> tuple[list[int], dict[str, int]]:
    """Many claims; those whose key a live claim holds are skipped. Returns the new ids
    and, for the skipped, key -> the existing claim's id. Run it where concurrent
    inserters of the same keys cannot interleave (the unique index still refuses a
    duplicate: the caller's transaction then fails and is retried)."""
    if not in_unit_of_work():
        raise RuntimeError("insert_claims() runs in the caller's unit of work")
    held = await existing(sorted({n.dedupe_key for n in new}))
    fresh, seen = [], set()
    for n in new:
        if n.dedupe_key in held or n.dedupe_key in seen:
            continue
        seen.add(n.dedupe_key)
        fresh.append(n)
    ids: list[int] = []
    for start in range(0, len(fresh), 1000):
        with conflict_on_duplicate("a live claim already exists for one of these", "dedupe_key"):
            rows = (
                await Claim.insert(*(_row(n) for n in fresh[start : start + 1000]))
                .returning(Claim.id)
                .run()
            )
        ids.extend(r["id"] for r in rows)
    return ids, held


def _duplicate(key: str, claim_id: int) -> Conflict:
    return Conflict(
        f"claim {claim_id} already claims this ({key}); withdraw it first or see "
        f"/api/v1/claims/{claim_id}",
        field="dedupe_key",
        existing_claim_id=claim_id,
    )
