""" "Policy finds enterprises": studio grants proposed with no application.

For a stretch of days when the studio-grant version in force is `automatic`
(subsidies.skill_levels.automatic_periods), one statement finds

    studios established (status established, a level) on a day of that stretch,
    at a level the version pays for,
    with no live claim yet for that studio and level (dedupe key studio_grant:{s}:{l}),

and inserts them as PROPOSED claims, the rows claim_kind.build would make for the host:
origin automatic, claimant and payee the host organisation, basis date = the day the
studio was established, budget year = the year of the scan. The host confirms its bank
account (`…/confirm-account`), which submits the claim for calculation; an officer
approves in bulk. Studios are few (hundreds), so one statement covers the stretch; the
partial unique index on live dedupe keys guards it as it guards every claim, and
`ON CONFLICT DO NOTHING` skips what a concurrent writer claimed meanwhile.
"""

from __future__ import annotations

from typing import Any

from kernel.clock import utcnow
from kernel.db import unit_of_work
from registry.studios.rules import ESTABLISHED
from subsidies.claims import statuses
from subsidies.claims.proposals import NOT_LIVE, record_proposed
from subsidies.claims.tables import Claim
from subsidies.policies.documents import StudioGrantParameters
from subsidies.skill_levels.automatic_periods import Period
from subsidies.studio_grants.amounts import SCHEME

# details JSON around the studio id and level (Piccolo templates cannot hold braces)
_DETAILS = ('{"studio_id": ', ', "level": "', '"}')


def paid_levels(parameters: StudioGrantParameters) -> list[str]:
    return sorted(level for level, fen in parameters.amount_by_level_fen.items() if fen > 0)


def _insert_sql(period: Period, levels: list[str]) -> str:
    """Parameters: budget year, the three parts of details, actor, now, now, start,
    [end]."""
    level_list = ", ".join(f"'{level}'" for level in levels)  # from a validated policy
    until = " AND s.established_on <= {}" if period.end is not None else ""
    key = f"'{SCHEME}:' || s.id || ':' || s.level"
    return (
        "INSERT INTO claim (scheme, origin, dedupe_key, status, claimant, person, payee_kind, "
        "payee_organisation, certificate, basis_date, budget_year, details, submitted_by, "
        "submitted_at, updated_at) "
        f"SELECT '{SCHEME}', 'automatic', {key}, '{statuses.PROPOSED}', s.host, NULL, "
        "'organisation', s.host, NULL, s.established_on, {}, "
        "CAST({} AS TEXT) || CAST(s.id AS TEXT) || CAST({} AS TEXT) || s.level "
        "|| CAST({} AS TEXT), {}, {}, {} "
        f"FROM studio s WHERE s.status = '{ESTABLISHED}' AND s.level IN ({level_list}) "
        f"AND s.established_on >= {{}}{until} "
        f"AND NOT EXISTS (SELECT 1 FROM claim k WHERE k.dedupe_key = {key} "
        f"AND k.status NOT IN ('{NOT_LIVE}')) "
        "ON CONFLICT DO NOTHING RETURNING id"
    )


async def propose(
    actor: str, period: Period, *, budget_year: int, job_id: int | None = None
) -> int:
    """Proposes the grants of one automatic period; returns how many it created."""
    assert isinstance(period.policy.parameters, StudioGrantParameters)
    levels = paid_levels(period.policy.parameters)
    if not levels:
        return 0
    now = utcnow()
    args: list[Any] = [budget_year, *_DETAILS, actor, now, now, period.start]
    if period.end is not None:
        args.append(period.end)
    async with unit_of_work():
        ids = [r["id"] for r in await Claim.raw(_insert_sql(period, levels), *args).run()]
        await record_proposed(actor, job_id, period, ids)
    return len(ids)
