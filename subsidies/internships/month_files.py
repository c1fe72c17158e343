"""Monthly attendance reports as a file (CSV or XLSX, UTF-8 or GBK), processed while the
host waits: these files are small (one line per intern and month; the whole city has
about 6,000 internship posts), so the answer carries the counts and the error file
links at once. Receiving, reading and the error file are registry.outcomes' code.

Rejected rows change nothing; accepted rows become claims in one unit of work with the
file's record, its audit entry and one calculation run for all of them. The same
guards as a single report hold (see subsidies.internships.service).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pandas as pd

from accounts.principal import Principal
from audit.log import record
from kernel import sandbox
from kernel.clock import local_today
from kernel.db import unit_of_work
from kernel.errors import InvalidInput, NotFound, NotVisible, TooLarge
from kernel.file_limits import claim_file_limits
from kernel.xlsx_rows import FieldTooLarge
from registry.outcomes import error_files
from registry.outcomes.reading import read_chunks
from registry.outcomes.upload import ReceivedFile
from registry.tables import Person
from subsidies.claims import statuses
from subsidies.claims.submission import CALCULATE, insert_claims
from subsidies.claims.tables import Claim
from subsidies.internships import month_rows, rules
from subsidies.internships.month_rows import COLUMNS, MESSAGES
from subsidies.internships.service import (
    MonthReport,
    lock_people,
    person_months,
    set_cap_keys,
)
from subsidies.internships.tables import MonthFile, Placement
from workers.outbox import enqueue

FOLDER = "internship-months"
MAX_BYTES = 8 << 20  # about 150,000 lines: far more than any host reports at once

FILE_COLUMNS = (
    MonthFile.id,
    MonthFile.host.as_alias("host_organisation_id"),
    MonthFile.filename,
    MonthFile.file_format,
    MonthFile.encoding,
    MonthFile.size_bytes,
    MonthFile.sha256,
    MonthFile.total_rows,
    MonthFile.accepted,
    MonthFile.duplicate,
    MonthFile.rejected,
    MonthFile.error_csv_path,
    MonthFile.uploaded_by,
    MonthFile.created_at,
)


def _read(received: ReceivedFile) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows as text, and the rows refused as they were read (field count, control
    characters)."""
    frames, shape = [], []
    limits = claim_file_limits()  # rows held below as a whole: at most so many
    for chunk in read_chunks(
        received.path, received.file_format, received.encoding, COLUMNS, limits
    ):
        frames.append(chunk.frame)
        shape.extend(chunk.shape_problems)
    frame = pd.concat(frames, ignore_index=True) if frames else None
    if frame is None:
        frame = pd.DataFrame(
            {"row": pd.Series([], dtype="int64"), **{k: [] for k in month_rows.KEYS}}
        )
    problems = pd.DataFrame(
        {
            "row": [p.row for p in shape],
            "column": [p.column for p in shape],
            "code": [p.code for p in shape],
        }
    )
    return frame, problems


async def _people(id_numbers: list[str]) -> pd.DataFrame:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(id_numbers), 500):
        rows += (
            await Person.select(Person.id_number, Person.id.as_alias("person_id"), Person.name)
            .where(Person.id_number.is_in(id_numbers[start : start + 500]))
            .run()
        )
    return pd.DataFrame(rows, columns=["id_number", "person_id", "name"])


async def _placements(host_id: int, person_ids: list[int]) -> pd.DataFrame:
    """The host's placements of these people under a registered programme (one the
    migration could not map takes no months)."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(person_ids), 500):
        rows += (
            await Placement.select(
                Placement.id.as_alias("placement_id"),
                Placement.person.as_alias("person_id"),
                Placement.programme_id,
                Placement.programme_id.name.as_alias("programme"),
                Placement.school,
                Placement.start_date,
                Placement.end_date,
            )
            .where(
                (Placement.host == host_id)
                & Placement.programme_id.is_not_null()
                & Placement.person.is_in(person_ids[start : start + 500])
            )
            .run()
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "placement_id",
            "person_id",
            "programme_id",
            "programme",
            "school",
            "start_date",
            "end_date",
        ],
    )
    frame["placement_id"] = frame["placement_id"].astype("int64")
    frame["programme_id"] = frame["programme_id"].astype("int64")
    frame["person_id"] = frame["person_id"].astype("int64")
    for column in ("start_date", "end_date"):
        frame[column] = pd.to_datetime(frame[column])
    return frame


async def _held(keys: list[str]) -> pd.DataFrame:
    """Live claims holding these dedupe keys, with the days they claimed."""
    rows: list[dict[str, Any]] = []
    for start in range(0, len(keys), 500):
        rows += (
            await Claim.select(Claim.dedupe_key, Claim.details)
            .where(
                Claim.dedupe_key.is_in(keys[start : start + 500])
                & Claim.status.is_in(list(statuses.LIVE))
            )
            .run()
        )
    return pd.DataFrame(
        {
            "dedupe_key": [r["dedupe_key"] for r in rows],
            "days_attended": [json.loads(r["details"]).get("days_attended") for r in rows],
        },
        columns=["dedupe_key", "days_attended"],
    )


async def submit(actor: Principal, host_id: int, received: ReceivedFile) -> dict[str, Any]:
    try:
        # It reads from a parsing child (kernel.sandbox.stream): one of a bounded few.
        frame, shape_errors = await sandbox.call_async(_read, received)
    except FieldTooLarge as exc:  # a cell past the field limit, after row 2
        raise TooLarge(str(exc), field="file") from None
    except (OSError, ValueError) as exc:  # e.g. a cell past the column limit, after row 2
        raise InvalidInput.single("file", f"the file could not be read: {exc}") from None
    today = local_today()
    numbers = sorted(set(frame["id_number"].str.upper()) - {""})
    people = await _people(numbers)
    placements = await _placements(host_id, sorted(set(people["person_id"].tolist())))
    checked = month_rows.check_rows(frame, today=today, people=people, placements=placements)
    valid = checked.valid
    async with unit_of_work():
        await lock_people(sorted(set(valid["person_id"].tolist())))
        firsts = pd.to_datetime(valid["first"]).dt.date
        keys = [rules.dedupe_key(p, f) for p, f in zip(valid["placement_id"], firsts, strict=True)]
        held = await _held(sorted(set(keys)))
        pairs = sorted(set(zip(valid["person_id"].tolist(), firsts, strict=True)))
        months = await person_months(pairs)
        taken = pd.DataFrame(
            [
                {"person_id": p, "first": pd.Timestamp(f), "dedupe_key": row["dedupe_key"]}
                for (p, f), row in months.items()
            ],
            columns=["person_id", "first", "dedupe_key"],
        )
        fresh, duplicates, claim_errors = month_rows.against_claims(valid, held, taken)
        errors = pd.concat(
            [e for e in (checked.errors, shape_errors, claim_errors) if len(e)]
            or [month_rows.empty_errors()],
            ignore_index=True,
        )
        rejected = int(errors["row"].nunique())
        counts = {
            "accepted": len(fresh),
            "duplicate": duplicates + checked.repeats,
            "rejected": rejected,
        }
        counts["total_rows"] = counts["accepted"] + counts["duplicate"] + rejected
        rows = (
            await MonthFile.insert(
                MonthFile(
                    host=host_id,
                    filename=received.filename[:200],
                    file_format=received.file_format,
                    encoding=received.encoding,
                    size_bytes=received.size_bytes,
                    sha256=received.sha256,
                    stored_path=str(received.path),
                    uploaded_by=actor.actor,
                    **counts,
                )
            )
            .returning(MonthFile.id)
            .run()
        )
        file_id = rows[0]["id"]
        reports = [
            MonthReport(
                placement_id=int(r.placement_id),
                host_id=host_id,
                person_id=int(r.person_id),
                programme_id=int(r.programme_id),
                programme=str(r.programme),
                school=str(r.school),
                first=pd.Timestamp(r.first).date(),
                days_attended=int(r.days_attended),
            )
            for r in fresh.itertuples(index=False)
        ]
        claim_ids, _ = await insert_claims([r.new_claim(actor.actor) for r in reports])
        by_cap: dict[str, list[int]] = {}
        for report, claim_id in zip(reports, claim_ids, strict=True):
            by_cap.setdefault(rules.cap_key(report.person_id, report.programme_id), []).append(
                claim_id
            )
        await set_cap_keys(by_cap)
        job_id = None
        if claim_ids:
            job_id = await enqueue(
                CALCULATE,
                {"scheme": rules.SCHEME, "claim_ids": claim_ids},
                created_by=actor.actor,
                organisation_id=host_id,
            )
        if len(errors):
            csv_path, xlsx_path = await asyncio.to_thread(_write_errors, received, file_id, errors)
            await (
                MonthFile.update(
                    {
                        MonthFile.error_csv_path: str(csv_path),
                        MonthFile.error_xlsx_path: str(xlsx_path),
                    }
                )
                .where(MonthFile.id == file_id)
                .run()
            )
        await record(
            actor.actor,
            "internship.month_file_processed",
            "internship_month_file",
            file_id,
            after={
                **counts,
                "host_organisation_id": host_id,
                "filename": received.filename,
                "sha256": received.sha256,
                "claim_ids": claim_ids,
                "calculation_job": job_id,
            },
        )
    out = await get_visible(actor, file_id)
    return {**out, "claim_ids": claim_ids, "calculation_job_id": job_id}


def _write_errors(received: ReceivedFile, file_id: int, errors: pd.DataFrame) -> tuple[Path, Path]:
    folder = received.path.parent / "errors"
    csv_path = folder / f"month-file-{file_id}-errors.csv"
    xlsx_path = folder / f"month-file-{file_id}-errors.xlsx"
    error_files.write(errors, csv_path, xlsx_path, COLUMNS, MESSAGES)
    return csv_path, xlsx_path


async def get_visible(actor: Principal, file_id: int) -> dict[str, Any]:
    row = await MonthFile.select(*FILE_COLUMNS).where(MonthFile.id == file_id).first().run()
    if row is None:
        raise NotFound("month file not found", file_id=file_id)
    if not actor.is_staff and row["host_organisation_id"] != actor.organisation_id:
        raise NotVisible("month file not found", file_id=file_id)
    return row


async def error_file(actor: Principal, file_id: int, file_format: str) -> Path:
    await get_visible(actor, file_id)
    row = (
        await MonthFile.select(MonthFile.error_csv_path, MonthFile.error_xlsx_path)
        .where(MonthFile.id == file_id)
        .first()
        .run()
    )
    path = row["error_csv_path"] if file_format == "csv" else row["error_xlsx_path"]
    if path is None or not Path(path).exists():  # noqa: ASYNC240 (one stat call)
        raise NotFound("this file has no rejected rows", file_id=file_id)
    return Path(path)
