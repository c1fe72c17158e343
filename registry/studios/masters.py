"""Who may master a studio: a holder of a valid technician or senior technician
certificate, or a recognised leading talent.

Leading-talent awards do not exist yet (issue 5 builds them). That issue registers a
check here with `register_leading_talent_check`; until one is registered the list is
empty and only certificates qualify a master.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

from registry.studios import rules
from registry.tables import Certificate

# (person_id, today) -> a short description of the recognition, or None.
LeadingTalentCheck = Callable[[int, date], Awaitable[str | None]]
LEADING_TALENT_CHECKS: list[LeadingTalentCheck] = []


def register_leading_talent_check(check: LeadingTalentCheck) -> LeadingTalentCheck:
    """Usable as a decorator; registering the same function twice is harmless."""
    if check not in LEADING_TALENT_CHECKS:
        LEADING_TALENT_CHECKS.append(check)
    return check


async def master_basis(person_id: int, occupation_code: str, today: date) -> str | None:
    """What qualifies the person as a master on `today`, or None."""
    rows = await (
        Certificate.select(
            Certificate.id,
            Certificate.number,
            Certificate.level,
            Certificate.occupation_code,
            Certificate.occupation_name,
            Certificate.status,
            Certificate.issued_on,
        )
        .where((Certificate.person == person_id) & (Certificate.level <= int(rules.MASTER_LEVEL)))
        .run()
    )
    held = rules.master_certificate(
        (rules.HeldCertificate(**row) for row in rows), occupation_code, today
    )
    if held is not None:
        return rules.describe(held)
    for check in LEADING_TALENT_CHECKS:
        recognition = await check(person_id, today)
        if recognition:
            return f"recognised leading talent: {recognition}"[:200]
    return None
