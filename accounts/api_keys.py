"""Organisation API keys: random, stored as a hash, shown once, revocable, several each."""

from __future__ import annotations

from typing import Any

from accounts import credentials, principal_cache
from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from accounts.tables import ApiKey
from audit.log import record
from kernel.clock import utcnow
from kernel.db import unit_of_work
from kernel.errors import Conflict, Forbidden, InvalidInput, NotFound, NotVisible
from registry.tables import Organisation

_LISTED = (
    ApiKey.id,
    ApiKey.prefix,
    ApiKey.label,
    ApiKey.created_by,
    ApiKey.created_at,
    ApiKey.revoked_at,
)


def _ensure_may_manage(actor: Principal, org_id: int) -> None:
    if actor.is_staff:
        if not actor.has_any(StaffRole.ADMIN):
            raise Forbidden("only an admin manages other organisations' keys")
    elif actor.organisation_id != org_id:
        raise NotVisible("organisation not found", organisation_id=org_id)


async def issue(actor: Principal, org_id: int, label: str) -> dict[str, Any]:
    """Returns the key row plus `key`, the secret, which is never retrievable again."""
    _ensure_may_manage(actor, org_id)
    label = label.strip()
    if not 1 <= len(label) <= 100:
        raise InvalidInput.single("label", "must be 1 to 100 characters")
    new = credentials.new_api_key()
    async with unit_of_work():
        if not await Organisation.exists().where(Organisation.id == org_id).run():
            raise NotFound("organisation not found", organisation_id=org_id)
        rows = (
            await ApiKey.insert(
                ApiKey(
                    organisation=org_id,
                    prefix=new.prefix,
                    key_hash=new.hash,
                    label=label,
                    created_by=actor.actor,
                )
            )
            .returning(*_LISTED)
            .run()
        )
        await record(
            actor.actor,
            "api_key.issued",
            "api_key",
            rows[0]["id"],
            after={"organisation_id": org_id, "prefix": new.prefix, "label": label},
        )
    return {**rows[0], "key": new.secret}


async def revoke(actor: Principal, org_id: int, key_id: int) -> dict[str, Any]:
    _ensure_may_manage(actor, org_id)
    async with unit_of_work():
        key = (
            await ApiKey.select(*_LISTED)
            .where((ApiKey.id == key_id) & (ApiKey.organisation == org_id))
            .first()
            .run()
        )
        if key is None:
            raise NotFound("API key not found", api_key_id=key_id)
        if key["revoked_at"] is not None:
            raise Conflict("API key already revoked", api_key_id=key_id)
        now = utcnow()
        await ApiKey.update({ApiKey.revoked_at: now}).where(ApiKey.id == key_id).run()
        await record(
            actor.actor,
            "api_key.revoked",
            "api_key",
            key_id,
            before={"revoked_at": None},
            after={"revoked_at": now.isoformat()},
        )
    principal_cache.clear()
    return {**key, "revoked_at": now}


async def list_for(actor: Principal, org_id: int) -> list[dict[str, Any]]:
    _ensure_may_manage(actor, org_id)
    return (
        await ApiKey.select(*_LISTED).where(ApiKey.organisation == org_id).order_by(ApiKey.id).run()
    )


async def principal_for_key(secret: str) -> Principal | None:
    digest = credentials.digest(secret)
    return await principal_cache.cached(digest, lambda: _load_key(digest))


async def _load_key(digest: str) -> tuple[Principal, None] | None:
    row = (
        await ApiKey.select(
            ApiKey.prefix,
            ApiKey.revoked_at,
            ApiKey.organisation.id.as_alias("org_id"),
            ApiKey.organisation.name.as_alias("org_name"),
            ApiKey.organisation.org_type.as_alias("org_type"),
        )
        .where(ApiKey.key_hash == digest)
        .first()
        .run()
    )
    if not row or row["revoked_at"] is not None:
        return None
    principal = Principal(
        kind="organisation",
        id=row["org_id"],
        name=row["org_name"],
        org_type=OrgType(row["org_type"]),
        credential=row["prefix"],
    )
    return principal, None
