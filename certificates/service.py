"""Storing rendered documents, verifying them, and handing them to who may see them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accounts.principal import Principal
from audit.log import record
from certificates import codes, kinds, standing, storage
from certificates.tables import Document
from kernel.db import unit_of_work
from kernel.errors import Conflict, NotFound, NotVisible
from kernel.integrity import read_unaltered


@dataclass(frozen=True)
class Rendered:
    """A rendered PDF waiting to be stored. `summary` must already be masked: the
    public verify page shows it to anyone holding the code."""

    kind: str
    subject: str
    code: str
    content: bytes
    summary: dict[str, Any] = field(default_factory=dict)
    batch_id: int | None = None
    organisation_id: int | None = None


async def existing_subjects(kind: str, subjects: Sequence[str]) -> set[str]:
    if not subjects:
        return set()
    rows = (
        await Document.select(Document.subject)
        .where((Document.kind == kind) & Document.subject.is_in(list(subjects)))
        .run()
    )
    return {r["subject"] for r in rows}


async def store_rendered(docs: Sequence[Rendered], data_dir: Path, actor: str) -> int:
    """Writes the files (content-addressed), then inserts their rows; a (kind, subject)
    already stored is skipped by the unique index, so a retried job stores nothing
    twice. Joins the caller's unit of work (a job's `finishing`). Returns how many
    rows were new."""
    if not docs:
        return 0
    stored = await asyncio.to_thread(lambda: [storage.store(data_dir, d.content) for d in docs])
    rows = [
        Document(
            kind=d.kind,
            subject=d.subject,
            code=d.code,
            sha256=digest,
            size_bytes=len(d.content),
            storage_path=rel,
            summary=json.dumps(d.summary, ensure_ascii=False, sort_keys=True),
            batch_id=d.batch_id,
            organisation=d.organisation_id,
            created_by=actor,
        )
        for d, (digest, rel) in zip(docs, stored, strict=True)
    ]
    async with unit_of_work():
        inserted = (
            await Document.insert(*rows)
            .on_conflict(target=(Document.kind, Document.subject), action="DO NOTHING")
            .returning(Document.id)
            .run()
        )
        if inserted:
            batch_ids = sorted({d.batch_id for d in docs if d.batch_id is not None})
            await record(
                actor,
                "documents.stored",
                "disbursement_batch" if batch_ids else docs[0].kind,
                batch_ids[0] if batch_ids else docs[0].subject,
                after={
                    "kinds": sorted({d.kind for d in docs}),
                    "stored": len(inserted),
                    "skipped": len(docs) - len(inserted),
                    "first_subject": docs[0].subject,
                    "last_subject": docs[-1].subject,
                },
            )
    return len(inserted)


_PUBLIC = (
    Document.id,
    Document.kind,
    Document.subject,
    Document.code,
    Document.sha256,
    Document.summary,
    Document.created_at,
)


async def verify(typed_code: str) -> dict[str, Any] | None:
    """What the public verify page shows for a code, or None if no document has it."""
    code = codes.normalise(typed_code)
    if code is None:
        return None
    row = await Document.select(*_PUBLIC).where(Document.code == code).first().run()
    if row is None:
        return None
    return {
        "genuine": True,
        "code": row["code"],
        "kind": row["kind"],
        "title": kinds.TITLES.get(row["kind"], row["kind"]),
        "issued_at": row["created_at"],
        "sha256": row["sha256"],
        "summary": json.loads(row["summary"]),
        "standing": await standing.standing(row["kind"], row["subject"]),
    }


async def verify_file(typed_code: str, content: bytes) -> dict[str, Any]:
    """Whether an uploaded file is exactly the document the code names: any change to
    its bytes (an edited amount, a re-saved copy) changes its hash. The file is genuine
    only if it matches; the code's document is still described, so a reader sees why."""
    found = await verify(typed_code)
    digest = storage.sha256_of(content)
    if found is None:
        return {"genuine": False, "code_found": False, "matches": False, "sha256": digest}
    matches = digest == found["sha256"]
    return {
        **found,
        "genuine": matches,
        "code_found": True,
        "matches": matches,
        "uploaded_sha256": digest,
    }


async def for_download(actor: Principal, document_id: int, data_dir: Path) -> tuple[bytes, str]:
    """The stored file's bytes and a download name, for staff roles that read its kind and
    the organisation it names; anyone else is answered like a missing document. The
    file must still hash to the digest stored at render time (409 if not). Every
    download, and every refusal of an altered file, is audited."""
    row = (
        await Document.select(
            Document.id,
            Document.kind,
            Document.subject,
            Document.code,
            Document.sha256,
            Document.storage_path,
            Document.organisation,
        )
        .where(Document.id == document_id)
        .first()
        .run()
    )
    if row is None:
        raise NotFound("document not found", field="document_id")
    allowed = (actor.is_staff and bool(actor.roles & kinds.READERS.get(row["kind"], set()))) or (
        actor.organisation_id is not None and actor.organisation_id == row["organisation"]
    )
    if not allowed:
        raise NotVisible("document not found", field="document_id", document_id=document_id)
    path = storage.absolute(data_dir, row["storage_path"])
    try:
        content = await read_unaltered(path, row["sha256"], f"document {document_id}")
    except Conflict as exc:
        await record(actor.actor, "document.altered", "document", document_id, after=exc.details)
        raise
    await record(
        actor.actor, "document.downloaded", "document", document_id,
        after={"kind": row["kind"], "subject": row["subject"]},
    )  # fmt: skip
    name = f"{row['kind']}-{row['subject'].replace(':', '-')}-{row['code']}.pdf"
    return content, name


async def list_for_batch(actor: Principal, batch_id: int) -> list[dict[str, Any]]:
    """A batch's documents: all of them for staff who read batch documents, an
    organisation's own notices for an organisation."""
    query = Document.select(
        Document.id,
        Document.kind,
        Document.subject,
        Document.code,
        Document.sha256,
        Document.size_bytes,
        Document.created_at,
    ).where(Document.batch_id == batch_id)
    if actor.is_staff:
        if not actor.roles & kinds.READERS[kinds.SUMMARY]:
            return []
    elif actor.organisation_id is not None:
        query = query.where(Document.organisation == actor.organisation_id)
    else:
        return []
    return await query.order_by(Document.id).run()
