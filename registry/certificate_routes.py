from datetime import date, datetime
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED

from accounts.guards import allow, anyone_signed_in
from accounts.principal import Principal
from accounts.roles import StaffRole
from kernel.schemas import Input, Output
from kernel.web_params import MAX_ID, RecordId
from registry import certificates
from registry.levels import Level
from registry.visibility import shown_id

AnyRequest = Request[Principal, Any, Any]
Id = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]


class CertificateIn(Input):
    person_id: Id
    occupation_code: Annotated[str, msgspec.Meta(max_length=40)]
    occupation_name: Annotated[str, msgspec.Meta(max_length=200)]
    level: int
    number: Annotated[str, msgspec.Meta(max_length=100)]
    issued_on: date
    route: Annotated[str, msgspec.Meta(max_length=60)] | None = None
    issuer_id: Id | None = None  # staff name the issuer; an organisation is the issuer


class RevocationIn(Input):
    reason: Annotated[str, msgspec.Meta(max_length=4000)]
    revoked_on: date | None = None  # today when not given


class CertificateOut(Output):
    id: int
    person_id: int
    person_name: str
    id_number: str  # whole for officers and admins, else masked
    occupation_code: str
    occupation_name: str
    level: int
    level_zh: str
    level_en: str
    number: str
    issuer_id: int
    issuer_name: str
    issued_on: date
    route: str
    status: str
    revoked_reason: str | None
    revoked_on: date | None
    revoked_by: str | None
    created_at: datetime


class RevokedOut(Output):
    certificate: CertificateOut
    job_id: int
    job_url: str


def certificate_out(who: Principal, cert: dict[str, Any]) -> CertificateOut:
    level = Level(cert["level"])
    return msgspec.convert(
        {
            **cert,
            "id_number": shown_id(who, cert["id_number"]),
            "level_zh": level.zh,
            "level_en": level.en,
        },
        CertificateOut,
        strict=False,
    )


ISSUERS = allow(StaffRole.OFFICER, StaffRole.ADMIN, organisations=certificates.ISSUING_TYPES)


class CertificateController(Controller):
    path = "/api/v1/certificates"
    tags = ["registry"]

    @post("/", guards=[ISSUERS], status_code=HTTP_201_CREATED)
    async def issue(self, data: JSONBody[CertificateIn], request: AnyRequest) -> CertificateOut:
        """Records a skill certificate (officers and admins naming the issuer; an issuing
        organisation for itself)."""
        new = certificates.NewCertificate(**msgspec.structs.asdict(data))
        return certificate_out(request.user, await certificates.issue(request.user, new))

    @get("/{certificate_id:int}", guards=[anyone_signed_in])
    async def get_one(self, certificate_id: RecordId, request: AnyRequest) -> CertificateOut:
        """Returns one certificate: any for staff, only its own for the issuer."""
        cert = await certificates.get_visible(request.user, certificate_id)
        return certificate_out(request.user, cert)

    @post(
        "/{certificate_id:int}/revoke",
        guards=[allow(StaffRole.OFFICER, StaffRole.ADMIN)],
        status_code=HTTP_200_OK,
    )
    async def revoke(
        self, certificate_id: RecordId, data: JSONBody[RevocationIn], request: AnyRequest
    ) -> RevokedOut:
        """Revokes a valid certificate (officers, admins) and starts the job that updates everything
        computed from it."""
        cert, job_id = await certificates.revoke(
            request.user, certificate_id, data.reason, data.revoked_on
        )
        return RevokedOut(
            certificate=certificate_out(request.user, cert),
            job_id=job_id,
            job_url=f"/api/v1/jobs/{job_id}",
        )
