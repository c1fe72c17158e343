"""Which claims a batch may take: approved, calculated to a positive amount, in no
batch, matching the scheme and the period (on basis_date)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kernel.errors import InvalidInput
from subsidies.claims import statuses
from subsidies.claims.tables import Claim


@dataclass(frozen=True)
class Filters:
    scheme: str | None = None
    period_from: date | None = None
    period_to: date | None = None

    def check(self) -> Filters:
        if self.period_from and self.period_to and self.period_from > self.period_to:
            raise InvalidInput.single("period_to", "must not be before period_from")
        return self


_COLUMNS = (
    Claim.id,
    Claim.scheme,
    Claim.amount_fen,
    Claim.payee_kind,
    Claim.person,
    Claim.payee_organisation,
    Claim.person.name.as_alias("person_name"),
    Claim.person.bank_name.as_alias("person_bank_name"),
    Claim.person.bank_account.as_alias("person_bank_account"),
    Claim.payee_organisation.name.as_alias("organisation_name"),
    Claim.payee_organisation.bank_name.as_alias("organisation_bank_name"),
    Claim.payee_organisation.bank_account.as_alias("organisation_bank_account"),
    Claim.payee_organisation.bank_account_name.as_alias("organisation_account_name"),
)


async def unbatched(filters: Filters) -> list[dict[str, Any]]:
    """Candidate claims with their payees' accounts, in claim id order. Only a read:
    the build takes them with a conditional UPDATE, which is what decides."""
    where = (
        (Claim.status == statuses.APPROVED)
        & Claim.batch_id.is_null()
        & Claim.amount_fen.is_not_null()
        & (Claim.amount_fen > 0)
    )
    if filters.scheme:
        where &= Claim.scheme == filters.scheme
    if filters.period_from:
        where &= Claim.basis_date >= filters.period_from
    if filters.period_to:
        where &= Claim.basis_date <= filters.period_to
    return await Claim.select(*_COLUMNS).where(where).order_by(Claim.id).run()
