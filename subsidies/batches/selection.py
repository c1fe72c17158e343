"""Which claims a batch may take: approved, calculated to a positive amount, in no
batch, matching every filter finance gave (scheme, the claim's period on basis_date,
the day it was approved, the payee's town, the payee kind, a list of claim ids).
A preview and the build it leads to take the same filters, so the build selects what
the preview showed, less what another build took meanwhile."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from kernel.clock import CHINA
from kernel.errors import FieldError, InvalidInput
from kernel.web_params import YEAR_MAX, YEAR_MIN
from registry.towns import TOWNS
from subsidies.batches.payees import ORGANISATION, PERSON
from subsidies.claims import statuses
from subsidies.claims.tables import Claim

MAX_CLAIM_IDS = 2000
# Days outside these years select nothing real, and the day after 9999-12-31 overflows.
FIRST_DAY, LAST_DAY = date(YEAR_MIN, 1, 1), date(YEAR_MAX, 12, 31)


@dataclass(frozen=True)
class Filters:
    scheme: str | None = None
    period_from: date | None = None  # on the claim's basis_date
    period_to: date | None = None
    approved_from: date | None = None  # Beijing days of the approval
    approved_to: date | None = None
    town: str | None = None  # the payee's: the person's home town, the organisation's
    payee_kind: str | None = None  # person / organisation
    claim_ids: tuple[int, ...] | None = None

    def check(self) -> Filters:
        errors = []
        for name in ("period_from", "period_to", "approved_from", "approved_to"):
            day = getattr(self, name)
            if day is not None and not FIRST_DAY <= day <= LAST_DAY:
                errors.append(FieldError(name, f"must be between {FIRST_DAY} and {LAST_DAY}"))
        for low, high in (("period_from", "period_to"), ("approved_from", "approved_to")):
            first, last = getattr(self, low), getattr(self, high)
            if first and last and first > last:
                errors.append(FieldError(high, f"must not be before {low}"))
        if self.town is not None and self.town not in TOWNS:
            errors.append(
                FieldError("town", "must be one of Dongguan's 33 towns, streets and parks")
            )
        if self.payee_kind is not None and self.payee_kind not in (PERSON, ORGANISATION):
            errors.append(FieldError("payee_kind", f"must be {PERSON} or {ORGANISATION}"))
        if self.claim_ids is not None and not 1 <= len(self.claim_ids) <= MAX_CLAIM_IDS:
            errors.append(FieldError("claim_ids", f"must list 1 to {MAX_CLAIM_IDS} claim ids"))
        if errors:
            raise InvalidInput(errors)
        return self

    def given(self) -> dict[str, Any]:
        """The filters set, for the batch record and its audit entry."""
        out: dict[str, Any] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None:
                continue
            out[name] = value.isoformat() if isinstance(value, date) else value
        if "claim_ids" in out:
            out["claim_ids"] = sorted(out["claim_ids"])
        return out


_COLUMNS = (
    Claim.id,
    Claim.scheme,
    Claim.basis_date,
    Claim.amount_fen,
    Claim.payee_kind,
    Claim.person,
    Claim.payee_organisation,
    Claim.person.name.as_alias("person_name"),
    Claim.person.bank_name.as_alias("person_bank_name"),
    Claim.person.bank_code.as_alias("person_bank_code"),
    Claim.person.bank_account.as_alias("person_bank_account"),
    Claim.person.bank_account_unconfirmed_by.as_alias("person_account_unconfirmed_by"),
    Claim.payee_organisation.name.as_alias("organisation_name"),
    Claim.payee_organisation.bank_name.as_alias("organisation_bank_name"),
    Claim.payee_organisation.bank_code.as_alias("organisation_bank_code"),
    Claim.payee_organisation.bank_account.as_alias("organisation_bank_account"),
    Claim.payee_organisation.bank_account_name.as_alias("organisation_account_name"),
)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, CHINA)


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
    if filters.approved_from:
        where &= Claim.decided_at >= _day_start(filters.approved_from)
    if filters.approved_to:
        where &= Claim.decided_at < _day_start(filters.approved_to + timedelta(days=1))
    if filters.payee_kind:
        where &= Claim.payee_kind == filters.payee_kind
    if filters.town:
        where &= ((Claim.payee_kind == PERSON) & (Claim.person.town == filters.town)) | (
            (Claim.payee_kind == ORGANISATION) & (Claim.payee_organisation.town == filters.town)
        )
    if filters.claim_ids is not None:
        where &= Claim.id.is_in(list(filters.claim_ids))
    return await Claim.select(*_COLUMNS).where(where).order_by(Claim.id).run()
