"""Bulk outcome reporting through the real job path, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import threading
from datetime import date, timedelta

import pandas as pd
import pytest

from accounts.roles import StaffRole
from app.factory import create_app
from kernel.clock import local_today, utcnow
from kernel.db import engine, is_sqlite, raw_connection, unit_of_work
from registry.outcomes import parts
from registry.outcomes.reading import read_chunks
from registry.resident_ids import compose
from registry.tables import Certificate, OutcomeReport, Person, TrainingOutcome
from tests.conftest import bearer, make_org, org_key, staff_token
from tests.support import waiting
from tests.support.asgi import serve
from tests.support.outcome_files import EN_HEADERS, csv_bytes, person_id, row, xlsx_bytes
from workers import runner
from workers.tables import Job

URL = "/api/v1/outcome-reports"
CSV = {"Content-Type": "text/csv"}


async def upload(client, key, body: bytes, filename: str = "report.csv", **params):
    return await client.post(
        URL,
        content=body,
        params={"filename": filename, **params},
        headers={**bearer(key), "Content-Type": "application/octet-stream"},
    )


async def finished(client, key, response) -> dict:
    assert response.status_code == 202, response.text
    report = response.json()
    job = await waiting.api_job_finished(client, f"/api/v1/jobs/{report['job_id']}", bearer(key))
    assert job["status"] == "done", job
    return (await client.get(f"{URL}/{report['id']}", headers=bearer(key))).json()


async def import_rows(client, key, rows, **kwargs) -> dict:
    return await finished(client, key, await upload(client, key, csv_bytes(rows, **kwargs)))


async def error_lines(client, key, report) -> list[dict[str, str]]:
    response = await client.get(report["error_file_csv"], headers=bearer(key))
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


async def test_a_report_is_imported_and_bad_rows_are_reported_in_two_languages(client):
    institution, key = await org_key("training_institution")
    # Far above the fixed numbers other tests here use, so no institution id collides.
    base = 1_000_000 + institution["id"] * 100
    rows = [
        row(base + 1, certificate=("C-1", "高级工", "2026-11-05")),
        row(base + 2, passed="否"),
        row(
            base + 3,
            id_number=person_id(base + 3)[:17] + "0"
            if person_id(base + 3)[17] != "0"
            else person_id(base + 3)[:17] + "1",
        ),
        row(base + 4, start="2026-13-01"),
        row(base + 5, passed="否", certificate=("C-5", "3", "2026-11-05")),
        row(base + 6, hours="0"),
    ]
    report = await import_rows(client, key, rows)
    assert (report["accepted"], report["updated"], report["unchanged"], report["rejected"]) == (
        2,
        0,
        0,
        4,
    )
    assert report["total_rows"] == 6 and report["status"] == "done"
    errors = await error_lines(client, key, report)
    found = {(e["行号/Row"], e["错误代码/Error code"]) for e in errors}
    assert found == {
        ("4", "ID_CHECKSUM"),
        ("5", "DATE_FORMAT"),
        ("6", "CERTIFICATE_NOT_PASSED"),
        ("7", "HOURS"),
    }
    checksum = next(e for e in errors if e["错误代码/Error code"] == "ID_CHECKSUM")
    assert checksum["列/Column"] == "身份证号/ID number"
    assert "校验码" in checksum["说明"] and "check character" in checksum["Message"]
    xlsx = await client.get(report["error_file_xlsx"], headers=bearer(key))
    sheet = pd.read_excel(io.BytesIO(xlsx.content), engine="calamine")
    assert sorted(sheet["行号/Row"].tolist()) == [4, 5, 6, 7]

    # Rejected rows changed nothing: only the two good people exist.
    assert await Person.count().where(Person.id_number == person_id(base + 4)).run() == 0
    assert await Person.count().where(Person.id_number == person_id(base + 1)).run() == 1
    outcomes = (
        await TrainingOutcome.select().where(TrainingOutcome.institution == institution["id"]).run()
    )
    assert len(outcomes) == 2
    certificate = (
        await Certificate.select().where(Certificate.issuer == institution["id"]).first().run()
    )
    assert certificate["number"] == "C-1" and certificate["level"] == 3
    linked = next(o for o in outcomes if o["certificate"] is not None)
    assert linked["certificate"] == certificate["id"]


async def test_uploading_again_creates_nothing_and_a_corrected_file_adds_only_the_fix(client):
    _, key = await org_key("training_institution")
    good = [row(20_000 + i, certificate=(f"R-{i}", "4", "2026-11-01")) for i in range(5)]
    bad = row(20_010, hours="abc")
    first = await import_rows(client, key, [*good, bad])
    assert (first["accepted"], first["rejected"]) == (5, 1)

    again = await import_rows(client, key, [*good, bad])
    assert (again["accepted"], again["updated"], again["unchanged"], again["rejected"]) == (
        0,
        0,
        5,
        1,
    )

    fixed = row(20_010, hours="24")
    changed = row(20_000, hours="48", certificate=("R-0", "4", "2026-11-01"))
    corrected = await import_rows(client, key, [changed, *good[1:], fixed])
    assert (corrected["accepted"], corrected["updated"], corrected["unchanged"]) == (1, 1, 4)
    assert corrected["rejected"] == 0 and corrected["error_file_csv"] is None

    people = [person_id(20_000 + i) for i in (*range(5), 10)]
    assert await Person.count().where(Person.id_number.is_in(people)).run() == 6
    ids = await Person.select(Person.id).where(Person.id_number.is_in(people)).run()
    count = (
        await TrainingOutcome.count()
        .where(TrainingOutcome.person.is_in([p["id"] for p in ids]))
        .run()
    )
    assert count == 6
    assert await Certificate.count().where(Certificate.number.like("R-%")).run() >= 5
    hours = (
        await TrainingOutcome.select(TrainingOutcome.hours)
        .where(TrainingOutcome.person == next(p["id"] for p in ids))
        .run()
    )
    assert {h["hours"] for h in hours} <= {40, 48}


async def test_repeats_inside_one_file(client):
    _, key = await org_key("training_institution")
    a = row(30_001)
    report = await import_rows(
        client, key, [a, a, row(30_001, hours="99"), row(30_001, name="别名", course="电工")]
    )
    assert (report["accepted"], report["unchanged"], report["rejected"]) == (1, 1, 2)
    codes = {e["错误代码/Error code"] for e in await error_lines(client, key, report)}
    assert codes == {"DUPLICATE_ROW", "NAME_MISMATCH"}


async def test_registry_clashes_are_rejected_not_overwritten(client):
    _, key = await org_key("training_institution")
    await import_rows(
        client, key, [row(31_001, name="王五", certificate=("K-1", "3", "2026-11-01"))]
    )
    report = await import_rows(
        client,
        key,
        [
            row(31_001, name="王六", course="电工"),  # the ID is registered as 王五
            row(31_002, certificate=("K-1", "3", "2026-11-01")),  # K-1 belongs to 王五
        ],
    )
    assert (report["accepted"], report["rejected"]) == (0, 2)
    codes = {e["错误代码/Error code"] for e in await error_lines(client, key, report)}
    assert codes == {"NAME_MISMATCH", "CERTIFICATE_CONFLICT"}
    person = (
        await Person.select(Person.name).where(Person.id_number == person_id(31_001)).first().run()
    )
    assert person["name"] == "王五"


async def test_new_people_get_birth_date_sex_and_region_warning_from_their_id(client):
    _, key = await org_key("training_institution")
    known = person_id(37_001)  # region 441900
    unknown = compose("990000", date(1985, 2, 3), 371)  # odd sequence: a man
    twice = [row(37_002, id_number=unknown, name="李四", course=c) for c in ("焊工", "电工")]
    report = await import_rows(client, key, [row(37_001), *twice])
    assert report["accepted"] == 3
    people = {
        p["id_number"]: p
        for p in await Person.select(
            Person.id_number, Person.birth_date, Person.sex, Person.region_warning
        )
        .where(Person.id_number.is_in([known, unknown]))
        .run()
    }
    assert people[known]["region_warning"] is None
    assert "990000" in people[unknown]["region_warning"]
    assert "1985" in people[unknown]["region_warning"]
    assert (people[unknown]["birth_date"], people[unknown]["sex"]) == (date(1985, 2, 3), "M")


async def test_a_report_after_the_deadline_is_accepted_but_flagged_late(client):
    _, key = await org_key("training_institution")
    today = local_today()
    old = (today - timedelta(days=31)).isoformat()
    edge = (today - timedelta(days=30)).isoformat()
    report = await import_rows(
        client,
        key,
        [row(32_001, start="2026-01-05", end=old), row(32_002, start="2026-01-05", end=edge)],
    )
    assert (report["accepted"], report["late"]) == (2, 1)
    late = (
        await TrainingOutcome.select(TrainingOutcome.late)
        .where(TrainingOutcome.report == report["id"])
        .run()
    )
    assert sorted(r["late"] for r in late) == [False, True]


async def test_gbk_csv_english_headers_and_xlsx_are_all_read(client):
    _, key = await org_key("training_institution")
    gbk = csv_bytes([row(33_001, name="欧阳锋")], encoding="gbk")
    report = await finished(client, key, await upload(client, key, gbk))
    assert report["encoding"] == "gb18030" and report["accepted"] == 1
    person = (
        await Person.select(Person.name).where(Person.id_number == person_id(33_001)).first().run()
    )
    assert person["name"] == "欧阳锋"

    english = csv_bytes([row(33_002)], headers=EN_HEADERS)
    assert (await finished(client, key, await upload(client, key, english)))["accepted"] == 1

    workbook = xlsx_bytes([row(33_003, name="黄药师"), row(33_004, start="someday")])
    report = await finished(client, key, await upload(client, key, workbook, "report.xlsx"))
    assert (report["file_format"], report["accepted"], report["rejected"]) == ("xlsx", 1, 1)
    errors = await error_lines(client, key, report)
    assert [(e["行号/Row"], e["错误代码/Error code"]) for e in errors] == [("3", "DATE_FORMAT")]


async def test_the_template_round_trips(client):
    _, key = await org_key("training_institution")
    for suffix in ("csv", "xlsx"):
        template = await client.get(f"{URL}/template.{suffix}", headers=bearer(key))
        assert template.status_code == 200
        report = await finished(
            client, key, await upload(client, key, template.content, f"t.{suffix}")
        )
        assert report["accepted"] + report["unchanged"] == 1 and report["rejected"] == 0


@pytest.mark.parametrize(
    ("body", "filename", "status", "needle"),
    [
        (b"", "a.csv", 400, "empty"),
        (b"%PDF-1.7 not a sheet", "a.pdf", 415, "CSV or XLSX"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1old", "a.xls", 415, ".xls"),
        ("姓名,课程名称\n张三,焊工\n".encode(), "a.csv", 400, "身份证号/ID number"),
        (b"\xff\xfe\xfa\x81\x30\xff,\xfe\n", "a.csv", 400, "UTF-8"),
        (
            "身份证号,姓名,课程名称,职业编码,职业名称,培训课时,开始日期,结束日期,是否合格\n".encode(),
            "a.csv",
            400,
            "no rows",
        ),
        (b"PK\x03\x04broken zip", "a.xlsx", 400, "the XLSX file is damaged: File is not a zip"),
    ],
)
async def test_bad_files_get_one_clear_error_and_store_nothing(
    client, body, filename, status, needle
):
    institution, key = await org_key("training_institution")
    response = await upload(client, key, body, filename)
    assert response.status_code == status, response.text
    error = response.json()
    assert needle in str(error), error
    assert error["errors"][0]["field"] == "file"
    assert (
        await OutcomeReport.count().where(OutcomeReport.institution == institution["id"]).run() == 0
    )


async def test_an_oversized_file_is_refused_with_413(db, settings):
    small = dataclasses.replace(settings, outcome_upload_max_bytes=1000)
    async with serve(create_app(small, engine_bound=True)) as client:
        _, key = await org_key("training_institution")
        big = csv_bytes([row(34_000 + i) for i in range(40)])
        assert (await upload(client, key, big)).status_code == 413

        # Also when streamed without a declared length.
        async def body():
            yield big

        response = await client.post(
            URL, content=body(), params={"filename": "a.csv"}, headers=bearer(key)
        )
        assert response.status_code == 413


async def test_multipart_upload(client):
    _, key = await org_key("training_institution")
    response = await client.post(
        URL,
        files={"file": ("report.csv", csv_bytes([row(35_001)]), "text/csv")},
        headers=bearer(key),
    )
    assert (await finished(client, key, response))["accepted"] == 1


async def test_who_may_upload_and_see_reports(client):
    institution, key = await org_key("training_institution")
    _, other_key = await org_key("training_institution")
    _, enterprise_key = await org_key("enterprise")
    report = await import_rows(client, key, [row(36_001)])

    assert (await upload(client, enterprise_key, csv_bytes([row(36_002)]))).status_code == 403
    for path in ("", "/errors.csv"):
        response = await client.get(f"{URL}/{report['id']}{path}", headers=bearer(other_key))
        assert response.status_code == 404
    listed = (await client.get(URL, headers=bearer(other_key))).json()["items"]
    assert report["id"] not in [r["id"] for r in listed]

    _, officer = await staff_token(StaffRole.OFFICER)
    on_behalf = await upload(
        client, officer, csv_bytes([row(36_003)]), institution_id=institution["id"]
    )
    assert (await finished(client, officer, on_behalf))["institution"] == institution["id"]
    enterprise = await make_org("enterprise")
    wrong = await upload(client, officer, csv_bytes([row(36_004)]), institution_id=enterprise["id"])
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["field"] == "institution_id"
    _, auditor = await staff_token(StaffRole.AUDITOR)
    assert (await client.get(f"{URL}/{report['id']}", headers=bearer(auditor))).status_code == 200


async def test_the_job_result_says_where_the_time_went(client):
    _, key = await org_key("training_institution")
    response = await upload(client, key, csv_bytes([row(n) for n in range(5)]))
    report = await finished(client, key, response)
    job = (await client.get(f"/api/v1/jobs/{report['job_id']}", headers=bearer(key))).json()
    seconds = job["result"]["seconds"]
    assert set(seconds) == {
        "read and check rows",
        "write lock",
        "within-file checks",
        "registry lookups",
        "new people and certificates",
        "earlier outcomes",
        "store",
    }
    assert all(isinstance(v, float) and v >= 0 for v in seconds.values())


async def test_every_row_is_linked_to_its_own_person_and_certificate(client):
    """New people and certificates get their ids in the order they are written (by ID
    number, by person), not the file's: each row must still land on its own."""
    institution, key = await org_key("training_institution")
    base = 2_000_000 + institution["id"] * 100
    order = [7, 2, 9, 4, 0, 5]  # not in ID-number order
    # Certificate numbers run against the people's order.
    rows = [
        row(base + n, certificate=(f"M{base}-{len(order) - k}", "4", "2026-11-01"))
        for k, n in enumerate(order)
    ]
    rows.append(row(base + 2, course="电工培训", certificate=(f"M{base}-5", "4", "2026-11-01")))
    rows.append(row(base + 9, course="车工培训"))  # a second course, no certificate
    report = await import_rows(client, key, rows)
    assert (report["accepted"], report["rejected"]) == (8, 0)

    stored = (
        await TrainingOutcome.select(
            TrainingOutcome.person.id_number,
            TrainingOutcome.course,
            TrainingOutcome.certificate.number,
            TrainingOutcome.certificate.person.id_number,
        )
        .where(TrainingOutcome.institution == institution["id"])
        .output(as_list=False)
        .run()
    )
    found = {
        (
            r["person.id_number"],
            r["course"],
            r["certificate.number"],
            r["certificate.person.id_number"],
        )
        for r in stored
    }
    expected = {
        (person_id(base + n), "焊工培训", f"M{base}-{len(order) - k}", person_id(base + n))
        for k, n in enumerate(order)
    } | {
        (person_id(base + 2), "电工培训", f"M{base}-5", person_id(base + 2)),
        (person_id(base + 9), "车工培训", None, None),
    }
    assert found == expected


def _mixed_rows(base: int) -> tuple[list[list[str]], list[list[str]]]:
    """A first report (some people with certificates) and a second that repeats one
    row, changes one, adds a course for a known person and brings new people."""
    first = [
        row(base + n, certificate=(f"P{base}-{n}", "4", "2026-11-01") if n % 2 else None)
        for n in range(6)
    ]
    second = [
        first[0],
        row(base + 1, hours="48", certificate=(f"P{base}-1", "4", "2026-11-01")),
        row(base + 2, course="电工培训"),
        *(row(base + n, certificate=(f"P{base}-{n}", "3", "2026-11-02")) for n in range(10, 16)),
    ]
    return first, second


async def _stored(institution_id: int) -> set[tuple]:
    rows = (
        await TrainingOutcome.select(
            TrainingOutcome.person.id_number,
            TrainingOutcome.course,
            TrainingOutcome.hours,
            TrainingOutcome.certificate.number,
            TrainingOutcome.certificate.person.id_number,
        )
        .where(TrainingOutcome.institution == institution_id)
        .output(as_list=False)
        .run()
    )
    return {tuple(r.values()) for r in rows}


def _counts(report: dict) -> tuple[int, ...]:
    return tuple(report[k] for k in ("accepted", "updated", "unchanged", "rejected"))


async def _transactions_of(report_id: int) -> int:
    """PostgreSQL: how many transactions wrote the report's outcomes (xmin)."""
    async with unit_of_work():
        return await raw_connection().fetchval(
            "SELECT count(DISTINCT xmin::text) FROM training_outcome WHERE report = $1",
            report_id,
        )


@pytest.fixture
def in_parts(monkeypatch):
    """Imports of any size stored in up to three parts; records each import's parts."""
    monkeypatch.setattr(parts, "MIN_ROWS_PER_PART", 1)
    monkeypatch.setenv("OUTCOME_IMPORT_PARTS", "3")
    seen: list[int] = []
    real = parts.split

    def recording(whole, most):
        pieces = real(whole, most)
        seen.append(len(pieces))
        return pieces

    monkeypatch.setattr(parts, "split", recording)
    return seen


async def test_a_report_stored_in_parts_lands_like_one_stored_whole(client, in_parts, monkeypatch):
    """PostgreSQL stores a large report in parts, each in a transaction of its own;
    SQLite, one writer at a time, always in one. Either way every row lands on its own
    person and certificate, and the counts are those of one transaction."""
    from registry.outcomes import store

    limited: list[int] = []
    real_limit = store.PostgresBulk.limit_lock_waits

    async def limit(self, seconds: int) -> None:
        limited.append(seconds)
        await real_limit(self, seconds)

    monkeypatch.setattr(store.PostgresBulk, "limit_lock_waits", limit)
    institution, key = await org_key("training_institution")
    base = 3_000_000 + institution["id"] * 100
    first, second = _mixed_rows(base)
    assert _counts(await import_rows(client, key, first)) == (6, 0, 0, 0)
    report = await import_rows(client, key, second)
    assert _counts(report) == (7, 1, 1, 0)
    sqlite = is_sqlite(engine())
    assert in_parts == ([1, 1] if sqlite else [3, 3])
    # Every part's transaction, the job's own too, gives up long lock waits.
    assert limited == ([] if sqlite else [parts.PART_LOCK_TIMEOUT_S] * 6)
    if not sqlite:
        assert await _transactions_of(report["id"]) == 3
    stored = await _stored(institution["id"])
    assert len(stored) == 13
    for n in range(10, 16):
        assert (person_id(base + n), "焊工培训", 40, f"P{base}-{n}", person_id(base + n)) in stored
    assert (person_id(base + 1), "焊工培训", 48, f"P{base}-1", person_id(base + 1)) in stored
    assert (person_id(base + 2), "电工培训", 40, None, None) in stored


async def _first_attempt_fails(client, key, body: bytes) -> tuple[dict, int]:
    """Uploads `body`; waits for its job's first attempt to fail. Returns the upload's
    answer and the job id."""
    response = await upload(client, key, body)
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    job = await waiting.until(
        lambda: waiting.job_row(job_id),
        lambda job: job["attempts"] == 1 and job["status"] == "pending",
        f"job {job_id}'s first attempt to fail",
    )
    assert job["status"] == "pending" and "Error" in job["error"], job
    return response, job_id


async def _retry_only(job_id: int) -> None:
    await (
        Job.update({Job.not_before: utcnow() - timedelta(seconds=1)}).where(Job.id == job_id).run()
    )
    await runner.execute(job_id)


async def _retry(client, key, response, job_id: int) -> dict:
    await _retry_only(job_id)
    return await finished(client, key, response)


async def _left_by(report_id: int) -> int:
    return await TrainingOutcome.count().where(TrainingOutcome.report == report_id).run()


async def test_a_retry_after_some_parts_committed_counts_them_and_writes_nothing_twice(
    client, in_parts, monkeypatch
):
    """The job fails in the last moment, after the other parts committed and before
    its own commit: on PostgreSQL those parts stay, on SQLite nothing does. The retry
    finds what the failed attempt left and reports the counts one attempt would."""
    institution, key = await org_key("training_institution")
    base = 3_100_000 + institution["id"] * 100
    first, second = _mixed_rows(base)
    await import_rows(client, key, first)
    # The job's own part holds the last people; the committed ones hold the first, and
    # with them the outcome this report updates.
    real_split = parts.split
    monkeypatch.setattr(parts, "split", lambda whole, most: real_split(whole, most)[::-1])
    real_mark = runner.JobContext._mark_done

    async def lost_lease_once(self, result):
        monkeypatch.setattr(runner.JobContext, "_mark_done", real_mark)
        raise RuntimeError("the lease was lost before the commit")

    monkeypatch.setattr(runner.JobContext, "_mark_done", lost_lease_once)
    response, job_id = await _first_attempt_fails(client, key, csv_bytes(second))
    report_id = response.json()["id"]
    left = await _left_by(report_id)
    changed = (
        await TrainingOutcome.select(TrainingOutcome.hours, TrainingOutcome.report)
        .where(TrainingOutcome.person.id_number == person_id(base + 1))
        .first()
        .run()
    )
    if is_sqlite(engine()):
        assert left == 0 and changed["hours"] == 40  # one transaction, rolled back
    else:
        assert 0 < left < 8  # the other two parts committed, the job's own did not
        assert (changed["hours"], changed["report"]) == (48, report_id)

    report = await _retry(client, key, response, job_id)
    assert _counts(report) == (7, 1, 1, 0)
    assert len(await _stored(institution["id"])) == 13
    numbers = [person_id(base + n) for n in range(10, 16)]
    assert await Person.count().where(Person.id_number.is_in(numbers)).run() == 6
    assert await Certificate.count().where(Certificate.number.like(f"P{base}-%")).run() == 9


@pytest.mark.parametrize("failing", ["error files", "audit entry"])
async def test_a_failure_before_the_commit_leaves_no_part_stored(
    client, in_parts, monkeypatch, failing
):
    """Other parts commit only once the job has done everything but commit: when the
    error files cannot be written (before every part is stored) or the audit entry
    fails (after), no part of the report stays, on either engine."""
    from registry.outcomes import importer

    institution, key = await org_key("training_institution")
    base = 3_200_000 + institution["id"] * 100 + (50 if failing == "audit entry" else 0)
    first, second = _mixed_rows(base)
    await import_rows(client, key, first)
    name = "_write_errors" if failing == "error files" else "record"
    real = getattr(importer, name)

    def fail_once(*args, **kwargs):
        monkeypatch.setattr(importer, name, real)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(importer, name, fail_once)
    bad = row(base + 30, hours="abc")  # an error file to write
    response, job_id = await _first_attempt_fails(client, key, csv_bytes([*second, bad]))
    assert in_parts[-1] == (1 if is_sqlite(engine()) else 3)
    assert await _left_by(response.json()["id"]) == 0
    numbers = [person_id(base + n) for n in range(10, 16)]
    assert await Person.count().where(Person.id_number.is_in(numbers)).run() == 0
    report = await _retry(client, key, response, job_id)
    assert _counts(report) == (7, 1, 1, 1)
    assert len(await _stored(institution["id"])) == 13


async def test_a_job_that_fails_for_good_marks_its_report_failed(client, in_parts, monkeypatch):
    """A file that cannot be read at the job fails at once; any other failure after
    the last attempt. Either way the report says failed, not queued, and the audit
    entry counts the outcomes stored under it: on PostgreSQL the parts that committed
    before each attempt's last-moment failure, on SQLite none."""
    from audit.tables import AuditEntry
    from registry.outcomes import importer

    institution, key = await org_key("training_institution")

    def unreadable(*args, **kwargs):
        raise ValueError("the sheet vanished")

    monkeypatch.setattr(importer, "read_chunks", unreadable)
    response = await upload(client, key, csv_bytes([row(3_300_001)]))
    assert response.status_code == 202
    report_id, job_id = response.json()["id"], response.json()["job_id"]
    job = await waiting.job_finished(job_id)
    assert job["status"] == "failed" and "the sheet vanished" in job["error"]
    monkeypatch.setattr(importer, "read_chunks", read_chunks)

    async def lease_lost(self, result):
        raise RuntimeError("the lease was lost before the commit")

    monkeypatch.setattr(runner.JobContext, "_mark_done", lease_lost)
    base = 3_300_100 + institution["id"] * 100
    first, second = _mixed_rows(base)
    again, again_job = await _first_attempt_fails(client, key, csv_bytes([*first, *second]))
    await Job.update({Job.max_attempts: 2}).where(Job.id == again_job).run()
    await _retry_only(again_job)  # fails again: the last attempt
    assert (await Job.select().where(Job.id == again_job).first().run())["status"] == "failed"

    left = await _left_by(again.json()["id"])
    assert (left == 0) if is_sqlite(engine()) else (left > 0)
    for report, stored in ((report_id, 0), (again.json()["id"], left)):
        row_ = await OutcomeReport.select().where(OutcomeReport.id == report).first().run()
        assert row_["status"] == "failed"
        entry = (
            await AuditEntry.select()
            .where(
                (AuditEntry.action == "outcome_report.failed")
                & (AuditEntry.object_id == str(report))
            )
            .first()
            .run()
        )
        assert entry is not None and json.loads(entry["after"])["outcomes_stored"] == stored


async def test_a_job_taken_over_before_its_parts_commit_leaves_nothing(
    client, in_parts, monkeypatch
):
    """Another worker took the job over (its attempt number moved on) while this one
    finished storing: the job holds its row before any other part commits, finds the
    lease lost, and every part rolls back, on either engine."""
    institution, key = await org_key("training_institution")
    base = 3_400_000 + institution["id"] * 100
    _, rows = _mixed_rows(base)
    real_hold, real_execute = runner.JobContext.hold, runner.execute
    refused, unwound = threading.Event(), threading.Event()

    async def taken_over(self):
        self.attempt += 1  # as if another worker had claimed the job meanwhile
        try:
            await real_hold(self)
        finally:
            refused.set()

    async def execute(job_id, *args, **kwargs):
        try:
            await real_execute(job_id, *args, **kwargs)
        finally:
            unwound.set()  # the attempt is over: its parts have rolled back

    monkeypatch.setattr(runner.JobContext, "hold", taken_over)
    monkeypatch.setattr(runner, "execute", execute)
    response = await upload(client, key, csv_bytes(rows))
    assert response.status_code == 202
    job_id, report_id = response.json()["job_id"], response.json()["id"]
    await waiting.until(lambda: unwound.is_set(), bool, "the taken-over attempt to end")
    assert refused.is_set()
    assert in_parts[-1] == (1 if is_sqlite(engine()) else 3)
    report = await OutcomeReport.select().where(OutcomeReport.id == report_id).first().run()
    assert report["status"] == "queued"
    assert await _left_by(report_id) == 0
    numbers = [person_id(base + n) for n in range(10, 16)]
    assert await Person.count().where(Person.id_number.is_in(numbers)).run() == 0
    await Job.update({Job.status: "failed"}).where(Job.id == job_id).run()  # no re-run later
