"""Organisations: validation (pure) and the service functions over their table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stdnum.cn import uscc
from stdnum.exceptions import ValidationError

from accounts.principal import Principal
from accounts.roles import OrgType
from audit.log import record
from kernel.db import conflict_on_duplicate, unit_of_work
from kernel.errors import Conflict, FieldError, InvalidInput, NotFound, NotVisible
from registry.tables import Organisation
from registry.towns import TOWNS

_COLUMNS = (
    Organisation.id,
    Organisation.name,
    Organisation.org_type,
    Organisation.credit_code,
    Organisation.town,
    Organisation.created_at,
)


@dataclass(frozen=True)
class NewOrganisation:
    name: str
    org_type: str
    credit_code: str
    town: str


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
    if new.town not in TOWNS:
        errors.append(FieldError("town", "must be one of Dongguan's 33 towns, streets and parks"))
    if errors:
        raise InvalidInput(errors)
    return NewOrganisation(name=name, org_type=new.org_type, credit_code=code, town=new.town)


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
        await record(
            actor.actor, "organisation.created", "organisation", org["id"], after=clean.__dict__
        )
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
