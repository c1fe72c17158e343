"""The claim-file job: check every row, let the scheme's builder judge each good one
(phase 1, reads only), then in one transaction with the job's done mark insert the new
claims, enqueue their calculation, record the file's counts and write its result and
error files (phase 2). A retried job re-does phase 1 and never inserts twice: a claim
the first attempt inserted is then a live claim holding the key, so the row comes back
as a duplicate naming it.

Outcomes of a row:
- accepted: a new claim (its id in the result file);
- duplicate: a live claim already claims the same thing (once per person and level, a
  voucher, ...), or an earlier row of the file does; the result file names the claim;
- rejected: every problem in the error file (row, column, code, Chinese and English
  message); the row changes nothing.
"""

from __future__ import annotations

import asyncio
import csv
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from accounts.principal import Principal
from accounts.roles import OrgType, StaffRole
from audit.log import record
from kernel.clock import local_today, utcnow
from kernel.errors import Conflict, DomainError, InvalidInput, NotFound
from kernel.file_limits import claim_file_limits
from registry.outcomes import error_files
from registry.outcomes.reading import ShapeProblem, read_chunks
from registry.tables import Person
from subsidies.claim_files import rows
from subsidies.claim_files.tables import ClaimFile
from subsidies.claims import claim_kinds, statuses
from subsidies.claims.service import create_claims
from subsidies.claims.submission import NewClaim, existing
from workers.kinds import job_handler, on_give_up
from workers.runner import JobContext, PermanentFailure

PROCESS_CLAIM_FILE = "subsidies.claim_file"
RESULT_HEADERS = ["行号/Row", "结果/Outcome", "申请ID/Claim ID", "说明/Note"]
OUTCOME_NAMES = {
    "accepted": "已受理 accepted",
    "duplicate": "重复 duplicate",
    "rejected": "未受理 rejected",
}


@dataclass
class RowOutcome:
    row: int
    outcome: str  # accepted / duplicate / rejected
    claim_id: int | None = None
    note: str = ""


def principal_payload(actor: Principal) -> dict[str, Any]:
    """As whom the job builds the claims (the uploader), kept in its payload."""
    return {
        "kind": actor.kind,
        "id": actor.id,
        "name": actor.name,
        "roles": sorted(r.value for r in actor.roles),
        "org_type": actor.org_type.value if actor.org_type else None,
        "credential": actor.credential,
    }


def _principal(data: dict[str, Any]) -> Principal:
    return Principal(
        kind=data["kind"],
        id=data["id"],
        name=data["name"],
        roles=frozenset(StaffRole(r) for r in data["roles"]),
        org_type=OrgType(data["org_type"]) if data["org_type"] else None,
        credential=data["credential"],
    )


def _read(
    file: dict[str, Any], columns: tuple[Any, ...]
) -> tuple[pd.DataFrame, list[ShapeProblem]]:
    frames, shape = [], []
    limits = claim_file_limits()  # rows held below as a whole: at most so many
    path = Path(file["stored_path"])
    for chunk in read_chunks(path, file["file_format"], file["encoding"], columns, limits):
        frames.append(chunk.frame)
        shape.extend(chunk.shape_problems)
    keys = ["row", *(c.key for c in columns)]
    frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=keys)
    return frame, shape


async def _people(id_numbers: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(id_numbers), 500):
        found.update(
            {
                r["id_number"]: r["id"]
                for r in await Person.select(Person.id_number, Person.id)
                .where(Person.id_number.is_in(id_numbers[start : start + 500]))
                .run()
            }
        )
    return found


def _reasons(exc: DomainError) -> list[tuple[str | None, str]]:
    """(field, reason) of each problem a builder raised."""
    if isinstance(exc, InvalidInput):
        return [(e.field, e.reason) for e in exc.errors]
    field = exc.details.get("field")
    return [(field if isinstance(field, str) else None, str(exc))]


def _code(exc: DomainError) -> str:
    if isinstance(exc, Conflict):
        return "CONFLICT"
    return "NOT_FOUND" if isinstance(exc, NotFound) else "REFUSED"


class _Judged:
    """Phase 1's findings: the claims to make (by row) and every problem."""

    def __init__(self) -> None:
        self.claims: list[tuple[int, NewClaim]] = []
        self.errors: list[dict[str, Any]] = []
        self.rejected: set[int] = set()

    def problem(
        self, row: int, column: str, code: str, zh: str | None = None, en: str | None = None
    ) -> None:
        self.errors.append({"row": row, "column": column, "code": code, "zh": zh, "en": en})
        self.rejected.add(row)


async def _judge(
    ctx: JobContext, file: dict[str, Any], kind: claim_kinds.ClaimKind, actor: Principal
) -> tuple[_Judged, int]:
    columns = rows.columns_for(kind)
    frame, shape = await asyncio.to_thread(_read, file, columns)
    judged = _Judged()
    for problem in shape:
        judged.problem(problem.row, problem.column, problem.code)
    today = local_today()
    checked = []
    for record_ in frame.to_dict("records"):
        number = int(record_.pop("row"))
        if number in judged.rejected:
            continue
        cells = {k: v if isinstance(v, str) else "" for k, v in record_.items()}
        checked.append((number, rows.check_row(cells, kind, today)))
    people = await _people(sorted({c.id_number for _, c in checked if c.id_number}))
    claimant_type = file["claimant_type"]
    for position, (number, row) in enumerate(checked):
        if row.id_number is not None:
            person = people.get(row.id_number)
            if person is None:
                row.problems.append(("id_number", "PERSON_UNKNOWN"))
            elif row.person_id not in (None, person):
                row.problems.append(("person_id", "PERSON_MISMATCH"))
            else:
                row.person_id = person
        if row.problems:
            for column, code in row.problems:
                judged.problem(number, column, code)
            continue
        request = claim_kinds.ClaimRequest(
            scheme=kind.scheme,
            claimant_id=file["claimant"],
            claimant_type=claimant_type,
            basis_date=row.basis_date or today,
            person_id=row.person_id,
            details=row.details,
        )
        try:
            if (
                row.person_id is not None
                and not await Person.exists().where(Person.id == row.person_id).run()
            ):
                raise InvalidInput.single("person_id", "no such person")
            built = await kind.build(actor, request)
        except DomainError as exc:
            code = _code(exc)
            for field, reason in _reasons(exc):
                judged.problem(
                    number,
                    rows.column_of(field, row, kind),
                    code,
                    f"{rows.MESSAGES[code][0]}: {reason}",
                    reason,
                )
            continue
        judged.claims.append(
            (
                number,
                replace(
                    built,
                    scheme=kind.scheme,
                    claimant_id=file["claimant"],
                    submitted_by=file["uploaded_by"],
                    origin="application",
                    status=statuses.SUBMITTED,
                ),
            )
        )
        if position % 200 == 199:
            await ctx.progress(5 + int(80 * position / len(checked)))
    total = len(set(frame["row"].astype(int).tolist()) | {p.row for p in shape})
    return judged, total


async def _store(file: dict[str, Any], judged: _Judged) -> tuple[list[RowOutcome], list[int]]:
    """In the job's finishing transaction: the new claims (first row of each key wins)
    and every row's outcome."""
    outcomes = [RowOutcome(r, "rejected", note="see the error file") for r in judged.rejected]
    first_row: dict[str, int] = {}
    fresh: list[NewClaim] = []
    for number, new in judged.claims:
        if new.dedupe_key not in first_row:
            first_row[new.dedupe_key] = number
            fresh.append(new)
    held_before = await existing(sorted(first_row))
    to_insert = [n for n in fresh if n.dedupe_key not in held_before]
    ids, _ = await create_claims(
        file["uploaded_by"],
        to_insert,
        organisation_id=file["claimant"],
        action="claims.file_submitted",
    )
    holding = await existing(sorted(first_row))
    new_ids = set(ids)
    for number, new in judged.claims:
        claim_id = holding.get(new.dedupe_key)
        link = f"/api/v1/claims/{claim_id}"
        if first_row[new.dedupe_key] != number:
            note = f"same as row {first_row[new.dedupe_key]} of this file (claim {claim_id})"
            outcomes.append(RowOutcome(number, "duplicate", claim_id, note))
        elif claim_id in new_ids:
            outcomes.append(RowOutcome(number, "accepted", claim_id, link))
        else:
            note = f"already claimed by claim {claim_id}: {link}"
            outcomes.append(RowOutcome(number, "duplicate", claim_id, note))
    outcomes.sort(key=lambda o: o.row)
    return outcomes, ids


def _write_files(
    folder: Path,
    file_id: int,
    outcomes: list[RowOutcome],
    errors: pd.DataFrame,
    columns: tuple[Any, ...],
) -> tuple[Path, Path | None, Path | None]:
    folder.mkdir(parents=True, exist_ok=True)
    result = folder / f"claim-file-{file_id}-result.csv"
    with open(result, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESULT_HEADERS)
        for o in outcomes:
            writer.writerow([o.row, OUTCOME_NAMES[o.outcome], o.claim_id or "", o.note])
    if errors.empty:
        return result, None, None
    csv_path = folder / f"claim-file-{file_id}-errors.csv"
    xlsx_path = folder / f"claim-file-{file_id}-errors.xlsx"
    error_files.write(errors, csv_path, xlsx_path, columns, rows.MESSAGES)
    return result, csv_path, xlsx_path


@job_handler(PROCESS_CLAIM_FILE)
async def process_claim_file(ctx: JobContext) -> dict[str, Any]:
    file = await ClaimFile.select().where(ClaimFile.id == ctx.payload["file_id"]).first().run()
    if file is None:
        raise PermanentFailure(f"claim file {ctx.payload['file_id']} does not exist")
    kind = claim_kinds.kind_for(file["scheme"])
    if kind is None:
        raise PermanentFailure(f"scheme {file['scheme']!r} takes no claims")
    file["claimant_type"] = ctx.payload["claimant_type"]
    actor = _principal(ctx.payload["actor"])
    try:
        judged, total = await _judge(ctx, file, kind, actor)
    except (OSError, ValueError) as exc:
        # Another attempt reads the same file: the job fails now (see _mark_failed).
        raise PermanentFailure(f"the file could not be read: {exc}") from exc
    await ctx.progress(90)
    result: dict[str, Any] = {"file_id": file["id"]}
    async with ctx.finishing(result):
        outcomes, ids = await _store(file, judged)
        errors = pd.DataFrame(judged.errors, columns=["row", "column", "code", "zh", "en"])
        folder = Path(file["stored_path"]).parent / "results"
        paths = await asyncio.to_thread(
            _write_files, folder, file["id"], outcomes, errors, rows.columns_for(kind)
        )
        counts = {
            "total_rows": total,
            "accepted": sum(o.outcome == "accepted" for o in outcomes),
            "duplicate": sum(o.outcome == "duplicate" for o in outcomes),
            "rejected": len(judged.rejected),
        }
        result.update(counts, claim_ids=ids)
        await (
            ClaimFile.update(
                {
                    **{getattr(ClaimFile, k): v for k, v in counts.items()},
                    ClaimFile.status: "done",
                    ClaimFile.result_csv_path: str(paths[0]),
                    ClaimFile.error_csv_path: str(paths[1]) if paths[1] else None,
                    ClaimFile.error_xlsx_path: str(paths[2]) if paths[2] else None,
                    ClaimFile.finished_at: utcnow(),
                }
            )
            .where(ClaimFile.id == file["id"])
            .run()
        )
        await record(
            file["uploaded_by"],
            "claim_file.processed",
            "claim_file",
            file["id"],
            after={**counts, "scheme": file["scheme"], "claims": len(ids), "job": ctx.job_id},
        )
    return result


@on_give_up(PROCESS_CLAIM_FILE)
async def _mark_failed(payload: dict[str, Any], message: str) -> None:
    """The file of a job that failed for good: failed with the job's error, not left
    pending."""
    await (
        ClaimFile.update(
            {
                ClaimFile.status: "failed",
                ClaimFile.failure: message[:2000],
                ClaimFile.finished_at: utcnow(),
            }
        )
        .where(ClaimFile.id == payload["file_id"])
        .run()
    )
