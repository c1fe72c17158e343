"""Organisations: validation (pure) and the service functions over their table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from audit.log import record
from kernel.db import conflict_on_duplicate, engine, is_sqlite, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, NotVisible
from registry.provinces import GUANGDONG, province_name
from registry.tables import Organisation
from registry.towns import TOWNS

_COLUMNS = (
    Organisation.id,
    Organisation.name,
    Organisation.org_type,
    Organisation.credit_code,
    Organisation.town,
    Organisation.created_at,
    Organisation.bank_name,
    Organisation.bank_account,
    Organisation.bank_account_name,
    Organisation.province,
    Organisation.bank_code,
)

BANK_FIELDS = ("bank_name", "bank_account", "bank_account_name")
# Payments are prepared and checked by these roles; everyone else sees the last 4 digits.
FULL_ACCOUNT_ROLES = (StaffRole.OFFICER, StaffRole.ADMIN, StaffRole.FINANCE)


def for_update(query: Any) -> Any:
    """Locks the selected rows until commit on PostgreSQL, so a read-modify-write (and
    the before/after it audits) cannot interleave with another. SQLite needs nothing:
    a unit of work there already holds the only write lock."""
    return query if is_sqlite(engine()) else query.lock_rows()


@dataclass(frozen=True)
class BankAccount:
    bank_name: str
    bank_account: str
    bank_account_name: str
    bank_code: str | None = None  # CNAPS 联行号 (12 digits), optional


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    org_type: str
    credit_code: str
    town: str | None  # None: not in Dongguan (a school elsewhere), province given
    bank_name: str | None = None
    bank_account: str | None = None
    bank_account_name: str | None = None
    province: str | None = None  # a Dongguan town implies Guangdong
    bank_code: str | None = None


def validate_bank_account(account: BankAccount) -> tuple[BankAccount, list[FieldError]]:
    """Normalises (spaces in the account number are dropped) and collects problems."""
    errors: list[FieldError] = []
    bank_name = account.bank_name.strip()
    if not 2 <= len(bank_name) <= 100:
        errors.append(FieldError("bank_name", "must be 2 to 100 characters"))
    number = re.sub(r"\s+", "", account.bank_account)
    if not (number.isascii() and number.isdigit() and 8 <= len(number) <= 30):
        errors.append(FieldError("bank_account", "must be 8 to 30 digits (spaces are ignored)"))
    holder = account.bank_account_name.strip()
    if not 2 <= len(holder) <= 200:
        errors.append(FieldError("bank_account_name", "must be 2 to 200 characters"))
    code = re.sub(r"\s+", "", account.bank_code or "") or None
    if code is not None and not (code.isascii() and code.isdigit() and len(code) == 12):
        errors.append(FieldError("bank_code", "must be the 12-digit CNAPS bank code (联行号)"))
    return BankAccount(bank_name, number, holder, code), errors


def mask_account(number: str | None) -> str | None:
    if not number:
        return number
    return "*" * max(len(number) - 4, 0) + number[-4:]


def sees_full_account(who: Principal, org_id: int) -> bool:
    return who.has_any(*FULL_ACCOUNT_ROLES) or who.organisation_id == org_id


def shown(who: Principal, org: dict[str, Any]) -> dict[str, Any]:
    """The organisation as `who` may see it: the account number whole or masked. An
    organisation outside Dongguan has no town (stored as "")."""
    org = {**org, "town": org.get("town") or None}
    if sees_full_account(who, org["id"]):
        return org
    return {**org, "bank_account": mask_account(org.get("bank_account"))}


def check_place(town: str | None, province: str | None) -> tuple[str, str | None, list[FieldError]]:
    """(town, province name, problems): a Dongguan town implies Guangdong; without a town
    the province must be given (a school elsewhere in China)."""
    errors: list[FieldError] = []
    name = None
    if province is not None:
        name = province_name(province)
        if name is None:
            errors.append(
                FieldError(
                    "province", "must be a province of China by name or code, e.g. 广东省 or 44"
                )
            )
    if town is None:
        if province is None:
            errors.append(
                FieldError("town", "required unless province is given (outside Dongguan)")
            )
        return "", name, errors
    if town not in TOWNS:
        errors.append(FieldError("town", "must be one of Dongguan's 33 towns, streets and parks"))
    elif name is not None and name != GUANGDONG:
        errors.append(FieldError("province", f"a Dongguan town lies in {GUANGDONG}"))
    return town, name or GUANGDONG, errors


def validate(new: NewOrganisation) -> NewOrganisation:
    """Checks every field and reports all problems at once; returns normalised values."""
    errors: list[FieldError] = []
    name = new.name.strip()
    if not 2 <= len(name) <= 200:
        errors.append(FieldError("name", "must be 2 to 200 characters"))
    if new.org_type not in {t.value for t in OrgType}:
        errors.append(
            FieldError("org_type", f"must be one of {', '.join(t.value for t in OrgType)}")
        )
    code = uscc.compact(new.credit_code) if new.credit_code else ""
    try:
        uscc.validate(code)
    except ValidationError as exc:
        errors.append(FieldError("credit_code", f"not a valid unified social credit code: {exc}"))
    town, province, place_errors = check_place(new.town, new.province)
    errors.extend(place_errors)
    bank = [getattr(new, f) for f in BANK_FIELDS]
    account = None
    if any(v is not None for v in bank) or new.bank_code is not None:
        # A partial account cannot be paid into: all three or none.
        missing = [f for f, v in zip(BANK_FIELDS, bank, strict=True) if v is None]
        errors.extend(FieldError(f, "required with the other bank account fields") for f in missing)
        if not missing:
            account, bank_errors = validate_bank_account(BankAccount(*bank, new.bank_code))
            errors.extend(bank_errors)
    if errors:
        raise InvalidInput(errors)
    return NewOrganisation(
        name=name,
        org_type=new.org_type,
        credit_code=code,
        town=town,
        province=province,
        **(account.__dict__ if account else {}),
    )


async def create(actor: Principal, new: NewOrganisation) -> dict[str, Any]:
    clean = validate(new)
    async with unit_of_work():
        existing = (
            await Organisation.exists().where(Organisation.credit_code == clean.credit_code).run()
        )
        duplicate = "an organisation with this credit code exists"
        if existing:
            raise Conflict(duplicate, field="credit_code")
        with conflict_on_duplicate(duplicate, "credit_code"):
            rows = (
                await Organisation.insert(Organisation(**clean.__dict__)).returning(*_COLUMNS).run()
            )
        org = rows[0]
        after = {**clean.__dict__, "bank_account": mask_account(clean.bank_account)}
        await record(actor.actor, "organisation.created", "organisation", org["id"], after=after)
    return org


async def get_visible(actor: Principal, org_id: int) -> dict[str, Any]:
    """Staff see every organisation; an organisation sees only itself."""
    if not actor.is_staff and actor.organisation_id != org_id:
        raise NotVisible("organisation not found", organisation_id=org_id)
    org = await Organisation.select(*_COLUMNS).where(Organisation.id == org_id).first().run()
    if org is None:
        raise NotFound("organisation not found", organisation_id=org_id)
    return org


async def list_visible(actor: Principal, after_id: int | None, limit: int) -> list[dict[str, Any]]:
    query = Organisation.select(*_COLUMNS)
    if not actor.is_staff:
        query = query.where(Organisation.id == actor.organisation_id)
    if after_id is not None:
        query = query.where(Organisation.id > after_id)
    return await query.order_by(Organisation.id).limit(limit).run()


async def set_bank_account(actor: Principal, org_id: int, account: BankAccount) -> dict[str, Any]:
    """Records where payments go. The audit entry keeps the last 4 digits only: auditors
    may read it, and they see account numbers masked."""
    clean, errors = validate_bank_account(account)
    if errors:
        raise InvalidInput(errors)
    async with unit_of_work():
        query = Organisation.select(*_COLUMNS).where(Organisation.id == org_id)
        before = await for_update(query).first().run()
        if before is None:
            raise NotFound("organisation not found", organisation_id=org_id)
        changes = {getattr(Organisation, f): v for f, v in clean.__dict__.items()}
        await Organisation.update(changes).where(Organisation.id == org_id).run()
        await record(
            actor.actor,
            "organisation.bank_account_set",
            "organisation",
            org_id,
            before={f: before[f] for f in (*BANK_FIELDS, "bank_code")}
            | {"bank_account": mask_account(before["bank_account"])},
            after={**clean.__dict__, "bank_account": mask_account(clean.bank_account)},
        )
    return {**before, **clean.__dict__}
