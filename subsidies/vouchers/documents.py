"""The printable training voucher: rendered on request (by the certificates module's
`documents.render_voucher` job), not at issuance, so a bulk issuance to a million
people does not render a million PDFs nobody asked for."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from certificates import kinds
from certificates.tables import Document
from kernel.db import unit_of_work
from kernel.errors import Conflict
from subsidies.vouchers.views import canonical_number, row_by_number
from workers.outbox import enqueue

RENDER = "documents.render_voucher"


async def request_document(actor: Principal, number_text: str) -> dict[str, Any]:
    """The stored document, or a job rendering it. Asking again before it is stored
    queues another job, which stores nothing twice (one document per voucher)."""
    voucher = await row_by_number(canonical_number(number_text))
    if voucher["status"] == "cancelled":
        raise Conflict("a cancelled voucher is not printed", field="number")
    subject = f"voucher:{voucher['id']}"
    async with unit_of_work():
        stored = await _stored(subject)
        if stored is not None:
            return {"document_id": stored["id"], "code": stored["code"], "job_id": None}
        job_id = await enqueue(RENDER, {"voucher_id": voucher["id"]}, created_by=actor.actor)
    return {"document_id": None, "code": None, "job_id": job_id}


async def _stored(subject: str) -> dict[str, Any] | None:
    return (
        await Document.select(Document.id, Document.code)
        .where((Document.kind == kinds.VOUCHER) & (Document.subject == subject))
        .first()
        .run()
    )
