"""Skill-level claims through `POST /api/v1/claims` (an enterprise applies for its
employee, or an officer for the enterprise), beside the automatic scan.

`details`: {"certificate_id": int}. The certificate must be valid and the named person's.
The basis date is the certificate's issue date (the day the level was reached picks the
policy version), whatever the request says; the payee is the person; the dedupe key is
`skill_level:{person}:{level}` (once per person per level: see amounts.py), so a second
claim for the level answers 409 naming the first, automatic or not.
"""

from __future__ import annotations

from accounts.principal import Principal
from accounts.roles import OrgType
from kernel.errors import InvalidInput
from registry.tables import Certificate
from subsidies.claims.claim_kinds import ClaimRequest, DetailField, register_claim_kind
from subsidies.claims.submission import NewClaim
from subsidies.skill_levels.amounts import SCHEME, dedupe_key


async def build(actor: Principal, request: ClaimRequest) -> NewClaim:
    if request.person_id is None:
        raise InvalidInput.single("person_id", "required: the person who reached the level")
    raw = request.details.get("certificate_id")
    if type(raw) is not int or not 0 < raw < 2**31:
        raise InvalidInput.single("details.certificate_id", "required: the certificate's id")
    cert = (
        await Certificate.select(
            Certificate.person, Certificate.level, Certificate.issued_on, Certificate.status
        )
        .where(Certificate.id == raw)
        .first()
        .run()
    )
    if cert is None or cert["person"] != request.person_id:
        raise InvalidInput.single("details.certificate_id", "no such certificate of this person")
    if cert["status"] != "valid":
        raise InvalidInput.single("details.certificate_id", "the certificate has been revoked")
    return NewClaim(
        scheme=SCHEME,
        dedupe_key=dedupe_key(request.person_id, cert["level"]),
        basis_date=cert["issued_on"],
        payee_kind="person",
        submitted_by=actor.actor,
        claimant_id=request.claimant_id,
        person_id=request.person_id,
        certificate_id=raw,
        details={"certificate_id": raw},
    )


DETAILS = (
    DetailField(
        "certificate_id",
        "证书ID",
        "Certificate ID",
        "id",
        True,
        "the registry's id of the person's valid certificate",
    ),
)

register_claim_kind(SCHEME, build, claimant_types=(OrgType.ENTERPRISE.value,), details=DETAILS)
