"""When a scheme's automatic version is in force (pure).

A claim's basis date picks the version in force that day (documents.version_for: of the
versions covering the day, the latest to take effect). The scan proposes entitlements
only for days whose version is marked `automatic`, so it needs those days as periods:
the catalogue's effective dates cut time into stretches with one version in force each.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from subsidies.policies.documents import Policy, version_for


@dataclass(frozen=True)
class Period:
    policy: Policy
    start: date
    end: date | None  # None: open-ended

    def covers(self, day: date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)


def in_force_periods(policies: list[Policy], scheme: str) -> list[Period]:
    """Every stretch of days with the version in force on them, in date order; adjacent
    stretches of one version are merged."""
    mine = [p for p in policies if p.scheme == scheme]
    cuts = sorted(
        {p.effective_from for p in mine}
        | {p.effective_to + timedelta(days=1) for p in mine if p.effective_to is not None}
    )
    periods: list[Period] = []
    for i, start in enumerate(cuts):
        end = cuts[i + 1] - timedelta(days=1) if i + 1 < len(cuts) else None
        policy = version_for(mine, scheme, start)
        if policy is None:
            continue
        last = periods[-1] if periods else None
        if last is not None and last.policy is policy and last.end == start - timedelta(days=1):
            periods[-1] = Period(policy, last.start, end)
        else:
            periods.append(Period(policy, start, end))
    return periods


def automatic_periods(policies: list[Policy], scheme: str) -> list[Period]:
    return [p for p in in_force_periods(policies, scheme) if p.policy.automatic]
