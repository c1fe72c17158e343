"""Studio grant claims through `POST /api/v1/claims` (or a claim file): the host
organisation of an established studio claims the grant for the studio's level.

`details`: {"studio_id": int}. The studio must be established and hosted by the
claimant (another organisation's studio answers 404). The basis date (which picks the
policy version, and the budget year) is the day it was established, whatever the
request says; the payee is the host; the dedupe key is `studio_grant:{studio}:{level}`
(once per studio and level), so a second claim answers 409 naming the first.
"""

from __future__ import annotations

from accounts.principal import Principal
from kernel.errors import InvalidInput, NotVisible
from registry.studios.rules import ESTABLISHED, HOST_TYPES
from registry.studios.tables import Studio
from subsidies.claims.claim_kinds import ClaimRequest, DetailField, register_claim_kind
from subsidies.claims.submission import NewClaim
from subsidies.studio_grants.amounts import SCHEME, dedupe_key

FIELD = "details.studio_id"


async def build(actor: Principal, request: ClaimRequest) -> NewClaim:
    raw = request.details.get("studio_id")
    if type(raw) is not int or not 0 < raw < 2**31:
        raise InvalidInput.single(FIELD, "required: the studio's id")
    unknown = set(request.details) - {"studio_id"}
    if unknown:
        raise InvalidInput.single(
            f"details.{sorted(unknown)[0]}", "unknown field; known: studio_id"
        )
    studio = (
        await Studio.select(Studio.host, Studio.status, Studio.level, Studio.established_on)
        .where(Studio.id == raw)
        .first()
        .run()
    )
    if studio is None or studio["host"] != request.claimant_id:
        raise NotVisible("no studio with this id hosted by the claimant", field=FIELD)
    established = studio["established_on"]
    if studio["status"] != ESTABLISHED or studio["level"] is None or established is None:
        raise InvalidInput.single(
            FIELD, f"only an established studio is granted; this one is {studio['status']}"
        )
    return NewClaim(
        scheme=SCHEME,
        dedupe_key=dedupe_key(raw, studio["level"]),
        basis_date=established,
        payee_kind="organisation",
        submitted_by=actor.actor,
        claimant_id=request.claimant_id,
        payee_organisation_id=request.claimant_id,
        details={"studio_id": raw, "level": studio["level"]},
    )


DETAILS = (
    DetailField(
        "studio_id", "工作室ID", "Studio ID", "id", True, "the registry's id of your studio"
    ),
)

register_claim_kind(
    SCHEME, build, claimant_types=tuple(t.value for t in HOST_TYPES), details=DETAILS
)
