"""What every automatic scan's statement shares (subsidies.skill_levels.scan,
subsidies.studio_grants.proposals): the statuses a claim no longer holds its dedupe key
in, and the audit entry of one statement's proposals (one per statement, not per claim:
the claim rows carry origin, submitter and time)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from audit.log import record
from subsidies.claims import statuses

if TYPE_CHECKING:
    from subsidies.skill_levels.automatic_periods import Period

# For `k.status NOT IN ('{NOT_LIVE}')` in SQL; constants, never input.
NOT_LIVE = "', '".join(s for s in statuses.ALL if s not in statuses.LIVE)


async def record_proposed(
    actor: str, job_id: int | None, period: Period, ids: list[int], **extra: Any
) -> None:
    """Audits the claims one statement proposed (none: nothing to audit)."""
    if not ids:
        return
    await record(
        actor,
        "claims.proposed_by_scan",
        "job" if job_id is not None else "scan",
        job_id if job_id is not None else actor,
        after={
            "scheme": period.policy.scheme,
            "policy_version": period.policy.version,
            "period": [period.start.isoformat(), period.end and period.end.isoformat()],
            **extra,
            "created": len(ids),
            "claim_ids": [min(ids), max(ids)],
        },
    )
