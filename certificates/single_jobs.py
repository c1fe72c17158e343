"""One-document jobs: the leading-talent award certificate, the master-studio
certificate and the training voucher, each `documents.render_<what>` {<what>_id}.

Each renders from plain data (certificates.models) built from its source table,
stores the PDF (unique per kind and subject, so a re-run stores nothing twice) and,
for awards, moves the award out of `awaiting_certificate` in the same transaction as
the job's done mark.
"""

from __future__ import annotations

import asyncio
from typing import Any

from app.settings import Settings
from certificates import codes, kinds, rendering, service
from certificates.models import (
    AwardCertificateData,
    StudioCertificateData,
    Verification,
    VoucherData,
)
from certificates.urls import verify_base_url, verify_url
from kernel.clock import local_today
from kernel.errors import DomainError
from kernel.masking import mask_id_number, mask_name
from workers.kinds import job_handler
from workers.runner import JobContext, PermanentFailure


def _verification(settings: Settings) -> Verification:
    code = codes.new_code()
    return Verification(code, verify_url(verify_base_url(settings), code))


async def _store_one(
    ctx: JobContext, kind: str, subject: str, data: Any, render: Any, summary: dict[str, Any]
) -> int:
    settings = Settings.from_env()
    pdf = await asyncio.to_thread(render, data)
    doc = service.Rendered(kind, subject, data.verification.code, pdf, summary)
    return await service.store_rendered([doc], settings.data_dir, ctx.actor)


@job_handler("documents.render_award")
async def render_award(ctx: JobContext) -> dict[str, Any]:
    from registry.appraisals import awards

    award_id = int(ctx.payload["award_id"])
    subject = f"talent_award:{award_id}"
    try:
        facts = await awards.certificate_facts(award_id)
    except DomainError as exc:
        raise PermanentFailure(exc.message) from exc
    if facts["status"] == "revoked":
        raise PermanentFailure(f"award {award_id} is revoked")
    stored = 0
    if not await service.existing_subjects(kinds.AWARD, [subject]):
        data = AwardCertificateData(
            verification=_verification(Settings.from_env()),
            certificate_number=facts["certificate_number"],
            person_name=facts["person_name"],
            person_id_masked=facts["person_id_masked"],
            route=facts["route"],
            occupation_name=facts["occupation_name"],
            awarded_on=facts["awarded_on"],
            decision_reference=facts["decision_reference"],
            issued_on=facts["awarded_on"],
        )
        summary = {
            "certificate_number": data.certificate_number,
            "holder": mask_name(data.person_name),
            "holder_id": data.person_id_masked,
            "occupation": data.occupation_name,
            "awarded_on": data.awarded_on.isoformat(),
        }
        async with ctx.finishing({"award_id": award_id}):
            stored = await _store_one(
                ctx, kinds.AWARD, subject, data, rendering.render_award_certificate, summary
            )
            await awards.mark_certificate_issued(ctx.actor, award_id)
        return {"award_id": award_id, "stored": stored}
    async with ctx.finishing({"award_id": award_id, "stored": 0}):
        await awards.mark_certificate_issued(ctx.actor, award_id)
    return {"award_id": award_id, "stored": 0}


@job_handler("documents.render_studio")
async def render_studio(ctx: JobContext) -> dict[str, Any]:
    from registry.studios.tables import Studio

    studio_id = int(ctx.payload["studio_id"])
    subject = f"studio:{studio_id}"
    row = (
        await Studio.select(
            Studio.id,
            Studio.status,
            Studio.level,
            Studio.occupation_name,
            Studio.established_on,
            Studio.host.name.as_alias("host_name"),
            Studio.master.name.as_alias("master_name"),
        )
        .where(Studio.id == studio_id)
        .first()
        .run()
    )
    if row is None or row["status"] != "established" or row["established_on"] is None:
        raise PermanentFailure(f"studio {studio_id} is not an established studio")
    if await service.existing_subjects(kinds.STUDIO, [subject]):
        return {"studio_id": studio_id, "stored": 0}
    established = row["established_on"]
    data = StudioCertificateData(
        verification=_verification(Settings.from_env()),
        certificate_number=f"MS-{established.year}-{studio_id:06d}",
        studio_name=f"{row['master_name']}技能大师工作室",
        master_name=row["master_name"],
        host_organisation=row["host_name"],
        level=row["level"] or "city",
        occupation_name=row["occupation_name"],
        established_on=established,
        issued_on=established,
    )
    summary = {
        "certificate_number": data.certificate_number,
        "studio": f"{mask_name(data.master_name)}技能大师工作室",  # a person's name
        "host": data.host_organisation,
        "level": data.level,
        "established_on": established.isoformat(),
    }
    stored = await _store_one(
        ctx, kinds.STUDIO, subject, data, rendering.render_studio_certificate, summary
    )
    return {"studio_id": studio_id, "stored": stored}


@job_handler("documents.render_voucher")
async def render_voucher(ctx: JobContext) -> dict[str, Any]:
    from subsidies.vouchers.tables import Voucher

    voucher_id = int(ctx.payload["voucher_id"])
    subject = f"voucher:{voucher_id}"
    row = (
        await Voucher.select(
            Voucher.number,
            Voucher.status,
            Voucher.face_value_fen,
            Voucher.covers_levels,
            Voucher.issued_on,
            Voucher.expires_on,
            Voucher.person.name.as_alias("person_name"),
            Voucher.person.id_number.as_alias("id_number"),
        )
        .where(Voucher.id == voucher_id)
        .first()
        .run()
    )
    if row is None or row["status"] == "cancelled":
        raise PermanentFailure(f"voucher {voucher_id} does not exist or is cancelled")
    if await service.existing_subjects(kinds.VOUCHER, [subject]):
        return {"voucher_id": voucher_id, "stored": 0}
    data = VoucherData(
        verification=_verification(Settings.from_env()),
        voucher_number=row["number"],
        person_name=row["person_name"],
        person_id_masked=mask_id_number(row["id_number"]),
        face_value_fen=row["face_value_fen"],
        covers_levels=tuple(int(x) for x in row["covers_levels"].split(",") if x.strip()),
        issued_on=row["issued_on"] or local_today(),
        expires_on=row["expires_on"],
    )
    summary = {
        "voucher_number": data.voucher_number,
        "holder": mask_name(data.person_name),
        "face_value": rendering.figures(data.face_value_fen),
        "valid": f"{data.issued_on.isoformat()} / {data.expires_on.isoformat()}",
    }
    stored = await _store_one(ctx, kinds.VOUCHER, subject, data, rendering.render_voucher, summary)
    return {"voucher_id": voucher_id, "stored": stored}
