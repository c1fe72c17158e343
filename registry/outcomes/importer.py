"""The outcome import job: read and check every row (phase 1, no lock held), then
classify against the registry and store in one transaction with the job's done mark
(phase 2), so a retried job never applies a report twice and a rejected row changes
nothing."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.settings import Settings
from audit.log import record
from kernel.clock import local_date, local_today, utcnow
from kernel.collector import collector_paused
from kernel.db import unit_of_work
from registry.levels import Route
from registry.outcomes import classify, error_files, parts
from registry.outcomes.reading import read_chunks
from registry.outcomes.rows import check_rows
from registry.outcomes.store import CERTIFICATE_INSERT, Bulk
from registry.resident_ids import region_warning
from registry.tables import Organisation, OutcomeReport, TrainingOutcome
from workers.kinds import job_handler, on_give_up
from workers.runner import JobContext, PermanentFailure

log = logging.getLogger(__name__)

IMPORT_OUTCOMES = "registry.import_outcomes"

_ROUTE_OF_ISSUER = {
    "enterprise": Route.ENTERPRISE_SELF_EVALUATION,
    "technical_school": Route.TECHNICAL_SCHOOL,
}


@job_handler(IMPORT_OUTCOMES)
async def import_outcomes(ctx: JobContext) -> dict[str, Any]:
    report = (
        await OutcomeReport.select()
        .where(OutcomeReport.id == ctx.payload["report_id"])
        .first()
        .run()
    )
    if report is None:
        raise PermanentFailure(f"outcome report {ctx.payload['report_id']} does not exist")
    settings = Settings.from_env()
    with collector_paused():  # millions of row tuples: 22.6 s -> 18.7 s for 1M rows
        return await _import(ctx, report, settings)


async def _import(ctx: JobContext, report: dict[str, Any], settings: Settings) -> dict[str, Any]:
    try:
        checked = await _check_file(ctx, report)
    except (OSError, ValueError) as exc:
        # Checked at upload; a file that still fails to read will not improve on retry.
        raise PermanentFailure(f"the file could not be read: {exc}") from exc
    checked.phases.done("read and check rows")
    await ctx.progress(50)
    received = local_date(report["created_at"])
    result: dict[str, Any] = {"report_id": report["id"], "seconds": checked.phases.seconds}
    async with ctx.finishing(result):
        write_errors = functools.partial(_write_errors, settings, report["id"])
        store = _stored(ctx, report, checked, received, settings, write_errors)
        async with store as (counts, error_paths):  # other parts commit as this block ends
            result.update(counts)
            await (
                OutcomeReport.update(
                    {
                        **{getattr(OutcomeReport, k): v for k, v in counts.items()},
                        OutcomeReport.status: "done",
                        OutcomeReport.error_csv_path: error_paths[0],
                        OutcomeReport.error_xlsx_path: error_paths[1],
                        OutcomeReport.finished_at: utcnow(),
                    }
                )
                .where(OutcomeReport.id == report["id"])
                .run()
            )
            await record(
                ctx.actor, "outcome_report.processed", "outcome_report", report["id"], after=counts
            )
            # From here to the commit no other worker can take the job over: the other
            # parts commit next, and only with this attempt's own commit to follow.
            await ctx.hold()
    return result


class _Phases:
    """Seconds per phase of one import, kept in the job's result: where a slow import
    spent its time, without a profiler."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._since = time.perf_counter()

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(self.seconds.get(phase, 0.0) + now - self._since, 2)
        self._since = now


class _Checked:
    def __init__(self) -> None:
        self.valid: list[pd.DataFrame] = []
        self.errors: list[pd.DataFrame] = []
        self.routes: dict[int, str] = {}
        self.phases = _Phases()

    def errors_frame(self) -> pd.DataFrame:
        return pd.concat(self.errors, ignore_index=True) if self.errors else classify.empty_errors()


async def _check_file(ctx: JobContext, report: dict[str, Any]) -> _Checked:
    institution = report["institution"]
    checked = _Checked()
    checked.routes[institution] = Route.SOCIAL_EVALUATION_ORGANISATION
    issuers: dict[str, int] = {}
    today = local_today()
    path = Path(report["stored_path"])
    chunks = read_chunks(path, report["file_format"], report["encoding"])
    number = -1
    # The next chunk is awaited off the loop: the lease's heartbeat goes on meanwhile.
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        number += 1
        await _learn_issuers(chunk.frame, issuers, checked.routes)
        rows = check_rows(chunk.frame, today=today, issuers=issuers, own_id=institution)
        checked.valid.append(rows.valid)
        checked.errors.append(rows.errors)
        if chunk.shape_problems:
            checked.errors.append(
                pd.DataFrame(
                    {
                        "row": [p.row for p in chunk.shape_problems],
                        "column": [p.column for p in chunk.shape_problems],
                        "code": [p.code for p in chunk.shape_problems],
                    }
                )
            )
        await ctx.progress(min(45, 5 + 4 * (number + 1)))
    return checked


async def _learn_issuers(
    frame: pd.DataFrame, issuers: dict[str, int], routes: dict[int, str]
) -> None:
    codes = set(frame["certificate_issuer_code"].str.upper().unique()) - {""} - set(issuers)
    if not codes:
        return
    rows = (
        await Organisation.select(Organisation.id, Organisation.credit_code, Organisation.org_type)
        .where(Organisation.credit_code.is_in(sorted(codes)))
        .run()
    )
    for row in rows:
        issuers[row["credit_code"]] = row["id"]
        routes[row["id"]] = _ROUTE_OF_ISSUER.get(
            row["org_type"], Route.SOCIAL_EVALUATION_ORGANISATION
        )


ErrorPaths = tuple[str | None, str | None]


@asynccontextmanager
async def _stored(
    ctx: JobContext,
    report: dict[str, Any],
    checked: _Checked,
    received: date,
    settings: Settings,
    write_errors: Callable[[pd.DataFrame], ErrorPaths],
) -> AsyncIterator[tuple[dict[str, int], ErrorPaths]]:
    """Every row stored and the error files written, inside the block: the report's
    counts and error file paths. Parts stored on other connections commit as the block
    ends (registry.outcomes.parts)."""
    checked.phases.done("write lock")  # ctx.finishing's transaction began just now
    if not any(len(chunk) for chunk in checked.valid):
        nothing = {"accepted": 0, "updated": 0, "unchanged": 0, "late": 0}
        yield _with_rejected(nothing, checked), write_errors(checked.errors_frame())
        return
    async with unit_of_work():
        bulk = Bulk.open(ctx.actor, report["id"], report["institution"])
        try:
            stored = _classified_and_stored(bulk, checked, received, settings, write_errors)
            async with stored as (counts, paths):
                yield _with_rejected(counts, checked), paths
        finally:
            bulk.close()


def _with_rejected(counts: dict[str, int], checked: _Checked) -> dict[str, int]:
    rejected = int(checked.errors_frame()["row"].nunique())
    total = counts["accepted"] + counts["updated"] + counts["unchanged"] + rejected
    return {**counts, "rejected": rejected, "total_rows": total}


@asynccontextmanager
async def _classified_and_stored(
    bulk: Bulk,
    checked: _Checked,
    received: date,
    settings: Settings,
    write_errors: Callable[[pd.DataFrame], ErrorPaths],
) -> AsyncIterator[tuple[dict[str, int], ErrorPaths]]:
    # `valid` is the only reference to the rows from here on: each step's input is
    # freed when its output replaces it (a million rows are a few hundred MB a copy).
    valid = pd.concat(checked.valid, ignore_index=True)
    checked.valid.clear()
    valid, errors, repeats = classify.within_file(valid)
    checked.errors.append(errors)
    checked.phases.done("within-file checks")
    people = await bulk.people(valid["id_number"].unique().tolist())
    valid, errors = classify.against_people(valid, people)
    checked.errors.append(errors)
    del people
    valid = await _with_certificates(bulk, valid, checked)
    checked.phases.done("registry lookups")
    valid, people = await _with_new_people(bulk, valid)
    valid, certificates = await _with_new_certificates(bulk, valid, checked.routes)
    checked.phases.done("new people and certificates")
    # People this import creates have no outcomes yet: look up only the others.
    persons = valid["person_id"].unique()
    outcomes = await bulk.outcomes(persons[~np.isin(persons, people["id"])].tolist())
    valid = classify.against_outcomes(valid, outcomes)
    cutoff = np.datetime64(received - timedelta(days=settings.outcome_late_days))
    valid["late"] = valid["end_date"].to_numpy(dtype="datetime64[D]") < cutoff
    checked.phases.done("earlier outcomes")
    to_write = ~valid["written"]
    whole = parts.Part(
        people,
        certificates,
        new=valid.loc[(valid["status"] == "new") & to_write],
        changed=valid.loc[(valid["status"] == "updated") & to_write],
    )
    # Every rejection is known now: the error files are written on another thread
    # while PostgreSQL stores the rows (on SQLite the two take turns on the GIL).
    # Submitted now, not as a task: SQLite's inserts never yield to the event loop.
    writing = asyncio.get_running_loop().run_in_executor(None, write_errors, checked.errors_frame())
    status = valid["status"]
    counts = {
        "accepted": int((status == "new").sum()),
        "updated": int((status == "updated").sum()),
        "unchanged": int((status == "unchanged").sum()) + repeats,
        "late": int(valid.loc[status != "unchanged", "late"].sum()),
    }
    most = settings.outcome_import_parts if bulk.parallel_writers else 1
    try:
        async with parts.stored(bulk, parts.split(whole, most), bulk.again):
            # The error files before any part commits: a failure to write them fails
            # the attempt with nothing stored.
            paths = await writing
            checked.phases.done("store")
            yield counts, paths
    finally:
        await asyncio.wait([writing])
        if not writing.cancelled():
            writing.exception()  # retrieved: the store's own error is the one raised


async def _with_certificates(bulk: Bulk, valid: pd.DataFrame, checked: _Checked) -> pd.DataFrame:
    certified = valid.loc[valid["has_certificate"]]
    existing = [
        await bulk.certificates(int(issuer), group["certificate_number"].unique().tolist())
        for issuer, group in certified.groupby("issuer_id")
    ]
    frame = pd.concat(existing, ignore_index=True) if existing else None
    if frame is None or frame.empty:
        valid = valid.copy()
        valid["certificate_id"] = 0
        return valid
    valid, errors = classify.against_certificates(valid, frame)
    checked.errors.append(errors)
    return valid


async def _with_new_people(bulk: Bulk, valid: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gives the people the registry does not know yet their ids (stored later, by
    parts.store); returns the rows with every person_id set, and the new people."""
    fresh = (valid["person_id"] == 0).to_numpy()
    if not fresh.any():
        return valid, pd.DataFrame({"id": np.zeros(0, dtype=np.int64)})
    # One integer per distinct unknown ID number: the rows of the new people, and the
    # way back from their ids to every row, without string lookups per row.
    person, _ = pd.factorize(valid.loc[fresh, "id_number"])
    _, first = np.unique(person, return_index=True)
    new = valid.loc[fresh, ["id_number", "name", "birth_date", "sex"]].iloc[first]
    new = new.reset_index(drop=True)
    new["region_warning"] = _region_warnings(new)
    new["id"] = await bulk.new_ids("person", new, by="id_number")  # row k: ID number k
    valid.loc[fresh, "person_id"] = new["id"].to_numpy()[person]
    return valid, new


def _region_warnings(people: pd.DataFrame) -> np.ndarray:
    """The region warning of each new person (None for most), looked up once per
    distinct region code and birth year: a million people share a few thousand."""
    regions, region_names = pd.factorize(people["id_number"].str.slice(0, 6))
    years = people["birth_date"].to_numpy(dtype="datetime64[Y]").astype(np.int64) + 1970
    pairs, pair_keys = pd.factorize(regions.astype(np.int64) * 10_000 + years)
    warnings = np.array(
        [region_warning(str(region_names[k // 10_000]), int(k % 10_000)) for k in pair_keys],
        dtype=object,
    )
    return warnings[pairs]


async def _with_new_certificates(
    bulk: Bulk, valid: pd.DataFrame, routes: dict[int, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Gives the certificates the registry does not know yet their ids (stored later);
    returns the rows with certificate_id set, and the new certificates."""
    wanted = valid["has_certificate"] & (valid["certificate_id"] == 0)
    if not wanted.any():
        return valid, pd.DataFrame({"person_id": np.zeros(0, dtype=np.int64)})
    # One integer per distinct (issuer, number): row k of `new` is certificate k.
    certificate = classify.group_ids(
        valid.loc[wanted, ["issuer_id", "certificate_number"]], ["issuer_id", "certificate_number"]
    )
    _, first = np.unique(certificate, return_index=True)
    columns = [c for c in CERTIFICATE_INSERT if c not in ("id", "route")]
    new = valid.loc[wanted, columns].iloc[first].reset_index(drop=True)
    new["route"] = new["issuer_id"].map(routes).fillna(Route.SOCIAL_EVALUATION_ORGANISATION)
    new["id"] = await bulk.new_ids("certificate", new, by="person_id")
    valid.loc[wanted, "certificate_id"] = new["id"].to_numpy()[certificate]
    return valid, new


def _write_errors(settings: Settings, report_id: int, errors: pd.DataFrame) -> ErrorPaths:
    if errors.empty:
        return None, None
    folder = settings.data_dir / "reports"
    csv_path = folder / f"outcome-report-{report_id}-errors.csv"
    xlsx_path = folder / f"outcome-report-{report_id}-errors.xlsx"
    error_files.write(errors, csv_path, xlsx_path)
    return str(csv_path), str(xlsx_path)


@on_give_up(IMPORT_OUTCOMES)
async def _mark_failed(payload: dict[str, Any], message: str) -> None:
    """The report of a job that failed for good: failed, not left queued. On PostgreSQL
    the parts an attempt committed in its last moment remain (registry.outcomes.parts):
    the audit entry counts their outcomes. Uploading the file again stores the rest;
    the rows already stored come back unchanged."""
    report_id = payload["report_id"]
    async with unit_of_work():
        await (
            OutcomeReport.update({OutcomeReport.status: "failed"})
            .where(OutcomeReport.id == report_id)
            .run()
        )
        left = await TrainingOutcome.count().where(TrainingOutcome.report == report_id).run()
        await record(
            "system",
            "outcome_report.failed",
            "outcome_report",
            report_id,
            after={"error": message, "outcomes_stored": left},
        )
