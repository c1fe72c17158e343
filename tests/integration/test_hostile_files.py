"""Hostile spreadsheets and CSV files through every route that takes a file (outcome
reports, claim files, internship month files), on SQLite and PostgreSQL: what a file
declares and costs is refused before it is parsed, a workbook never becomes a grid,
control characters reject their row, and file names are shown without hidden
characters."""

from __future__ import annotations

import csv
import io

import pytest

from registry.tables import OutcomeReport
from subsidies.claim_files.tables import ClaimFile
from subsidies.internships.month_rows import COLUMNS as MONTH_COLUMNS
from tests.conftest import bearer, org_key
from tests.integration.test_outcome_import import error_lines, finished
from tests.integration.test_skill_levels import wait_for_job
from tests.support import hostile_files as hostile
from tests.support.outcome_files import EN_HEADERS, ZH_HEADERS, csv_bytes, row
from workers.tables import Job

CLAIM_HEADERS = [
    "身份证号/ID number",
    "人员ID/Person ID",
    "基准日期/Basis date",
    "证书ID/Certificate ID",
]
ROUTES = {
    # route: (URL, organisation type, header row, a data row)
    "outcomes": ("/api/v1/outcome-reports", "training_institution", EN_HEADERS, row(1)),
    "claims": (
        "/api/v1/claim-files",
        "enterprise",
        CLAIM_HEADERS,
        ["", "1", "", "1"],
    ),
    "months": (
        "/api/v1/internships/month-files",
        "enterprise",
        [c.en for c in MONTH_COLUMNS],
        ["", row(1)[0], "", "", "2025-03", "20"],
    ),
}


async def send(client, route: str, body: bytes, filename: str):
    url, org_type, _, _ = ROUTES[route]
    org, key = await org_key(org_type)
    scheme = {"scheme": "skill_level"} if route == "claims" else {}
    response = await client.post(
        url,
        params={"filename": filename, **scheme},
        content=body,
        headers={**bearer(key), "Content-Type": "application/octet-stream"},
    )
    return org, key, response


async def stored_files(org_id: int) -> int:
    return (
        await OutcomeReport.count().where(OutcomeReport.institution == org_id).run()
        + await ClaimFile.count().where(ClaimFile.claimant == org_id).run()
    )


def refused(response, status: int, needle: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["field"] == "file" and needle in error["reason"], error


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_tiny_workbook_declaring_the_last_cell_is_refused_at_once(client, route):
    _, _, headers, data = ROUTES[route]
    body = hostile.declared_corner("XFD1048576", headers, [data])
    assert len(body) < 3000
    org, _, response = await send(client, route, body, "grid.xlsx")
    refused(response, 400, "the sheet declares 16384 columns")
    assert "at most 200" in response.text
    assert await stored_files(org["id"]) == 0


async def test_a_declared_row_past_the_limit_is_refused(client, monkeypatch):
    monkeypatch.setenv("UPLOAD_MAX_ROWS", "1000")
    _, _, headers, data = ROUTES["outcomes"]
    body = hostile.declared_corner("B5000", headers, [data])
    _, _, response = await send(client, "outcomes", body, "rows.xlsx")
    refused(response, 400, "rows up to 5000; at most 1000 rows")


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_zip_bomb_is_refused_by_its_ratio_and_by_its_unpacked_size(
    client, monkeypatch, route
):
    _, _, headers, data = ROUTES[route]
    bomb = hostile.expanding_sheet(headers, data, 8 << 20)
    assert len(bomb) < 200_000  # 8 MB of alike rows pack several hundred times
    _, _, response = await send(client, route, bomb, "bomb.xlsx")
    refused(response, 413, "times its packed size; at most 100 times")
    monkeypatch.setenv("UPLOAD_MAX_COMPRESSION_RATIO", "100000")
    monkeypatch.setenv("UPLOAD_MAX_XLSX_UNPACKED_BYTES", str(4 << 20))
    org, _, response = await send(client, route, bomb, "bomb.xlsx")
    refused(response, 413, f"at most {4 << 20} bytes are read")
    assert await stored_files(org["id"]) == 0


@pytest.mark.parametrize("route", list(ROUTES))
async def test_csv_columns_fields_and_lines_past_the_limits_are_refused(client, monkeypatch, route):
    _, _, headers, data = ROUTES[route]
    wide = ",".join(headers + [f"x{i}" for i in range(300)]) + "\n" + ",".join(data) + "\n"
    _, _, response = await send(client, route, wide.encode(), "wide.csv")
    refused(response, 400, f"has {len(headers) + 300} fields; at most 200 columns")
    # A 70 KiB field, and one past the csv module's own 128 KiB limit: never a 500.
    for size in (70 << 10, 200 << 10):
        long_row = [*data[:-1], "x" * size]
        body = csv_bytes([data, long_row], headers=headers)
        _, _, response = await send(client, route, body, "long.csv")
        refused(response, 413, "at most 65536 bytes a field")
    monkeypatch.setenv("UPLOAD_MAX_LINE_BYTES", "1000")
    body = csv_bytes([data, [*data[:-1], "y" * 2000]], headers=headers)
    org, _, response = await send(client, route, body, "line.csv")
    refused(response, 413, "longer than 1000 bytes")
    assert await stored_files(org["id"]) == 0


async def test_cells_past_the_limits_fail_the_job_cleanly_and_no_grid_is_built(client, monkeypatch):
    """The first rows pass the door; a far cell (a sheet declaring A1:B2 whose cells
    reach Z1048576) is read as one row, never as a grid: the reads, at the door and in
    the job, run in a child held to 64 MB, where a grid to Z1048576 (27 million cells,
    over 200 MB of pointers alone) cannot fit; past the column limit the job fails with
    a clear error."""
    monkeypatch.setenv("UPLOAD_PARSE_MEMORY_MB", "64")
    headers, data = ROUTES["outcomes"][2], ROUTES["outcomes"][3]
    cells = [*hostile.table(headers, [data]), (1048576, [(25, "x")])]
    body = hostile.workbook(hostile.sheet_xml(cells, dimension="A1:B2"))
    _, key, response = await send(client, "outcomes", body, "far.xlsx")
    report = await finished(client, key, response)
    assert (report["accepted"], report["rejected"]) == (1, 1), report
    lines = await error_lines(client, key, report)
    assert {line["行号/Row"] for line in lines} == {"1048576"}

    monkeypatch.setenv("UPLOAD_MAX_COLUMNS", "20")
    _, key, response = await send(client, "outcomes", body, "far.xlsx")
    assert response.status_code == 202, response.text
    job = await wait_for_job(client, f"/api/v1/jobs/{response.json()['job_id']}", bearer(key))
    assert job["status"] == "failed", job
    assert "the file could not be read: the sheet has a cell in column Z" in job["error"]
    assert "at most 20 columns" in job["error"]


def _small_workbook(route: str) -> bytes:
    _, _, headers, data = ROUTES[route]
    return hostile.workbook(hostile.sheet_xml(hostile.table(headers, [data])))


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_damaged_workbook_is_400_naming_the_damage(client, route):
    """Its workbook.xml ends inside a tag (expat), or its sheet's deflate stream does not
    inflate (zlib): never a 500."""
    _, _, headers, data = ROUTES[route]
    for body in (
        hostile.broken_workbook_xml(headers, [data]),
        hostile.corrupt_deflate(_small_workbook(route), 0.0),
    ):
        org, _, response = await send(client, route, body, "damaged.xlsx")
        refused(response, 400, "the XLSX file is damaged: ")
        assert await stored_files(org["id"]) == 0


def _rows_after(route: str, count: int, last: list[str] | None = None) -> list[list[str]]:
    """The route's data row, `count` varied copies of it (past the first 64 KiB of XML,
    which is all the door reads), then `last`."""
    data = ROUTES[route][3]
    varied = [[*data[:-1], f"{i * 7919 % 100_003}"] for i in range(count)]
    return [data, *varied, *([last] if last else [])]


async def _failed_read(client, route: str, body: bytes, month_status: int) -> str:
    """Past the door, the read fails: the job (outcomes, claims) fails at once, never
    retried, or the month file, read while the host waits, is refused with
    `month_status`. Its message."""
    _, key, response = await send(client, route, body, "late.xlsx")
    if route == "months":
        assert response.status_code == month_status, response.text
        error = response.json()["errors"][0]
        assert error["field"] == "file", error
        return error["reason"]
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    job = await wait_for_job(client, f"/api/v1/jobs/{job_id}", bearer(key))
    assert job["status"] == "failed", job
    assert (await Job.select(Job.attempts).where(Job.id == job_id).first().run()) == {"attempts": 1}
    return job["error"]


@pytest.mark.parametrize("route", list(ROUTES))
async def test_a_sheet_damaged_after_its_first_rows_fails_its_read_once(client, route):
    _, _, headers, _ = ROUTES[route]
    body = hostile.sheet_damaged_after(headers, _rows_after(route, 6000))
    error = await _failed_read(client, route, body, 400)
    assert "the file could not be read: the XLSX file is damaged: " in error, error


@pytest.mark.parametrize("route", list(ROUTES))
async def test_xlsx_text_past_the_field_limit_is_413_at_the_door(client, route):
    """A cell's inline string, or the shared string a cell names, in the first data row."""
    _, _, headers, data = ROUTES[route]
    long_cell = [*data[:-1], "x" * (70 << 10)]
    inline = hostile.workbook(hostile.sheet_xml(hostile.table(headers, [long_cell])))
    shared = hostile.hoarding_strings(headers, data, lambda i: "y" * (70 << 10), 1, copies=0)
    for body, what in ((inline, f"cell {hostile.column_letters(len(data) - 1)}2"),
                       (shared, "shared string 0")):  # fmt: skip
        org, _, response = await send(client, route, body, "long.xlsx")
        refused(response, 413, f"{what} is longer than 65536 bytes; at most 65536 bytes a field")
        assert await stored_files(org["id"]) == 0


@pytest.mark.parametrize("route", list(ROUTES))
async def test_xlsx_text_past_the_field_limit_after_the_first_rows_fails_the_read(client, route):
    """Like a column past the limit: the file is refused as a whole (its job fails once,
    a month file is 413), as a CSV field past the limit is at the door."""
    _, _, headers, data = ROUTES[route]
    rows = _rows_after(route, 1000, [*data[:-1], "z" * (70 << 10)])
    body = hostile.workbook(hostile.sheet_xml(hostile.table(headers, rows)))
    error = await _failed_read(client, route, body, 413)
    assert "is longer than 65536 bytes; at most 65536 bytes a field" in error, error


@pytest.mark.parametrize("route", ["claims", "months"])
async def test_claim_and_month_files_hold_at_most_their_row_limit(client, monkeypatch, route):
    """Their rows are held in a worker's memory as a whole: a CSV past the limit is
    refused at the door (which reads every record), a sheet declaring more rows too; a
    sheet that holds more without declaring them fails its read."""
    monkeypatch.setenv("CLAIM_FILE_MAX_ROWS", "50")
    _, _, headers, data = ROUTES[route]
    org, _, response = await send(client, route, csv_bytes([data] * 51, headers=headers), "a.csv")
    refused(response, 400, "the file has more than 50 rows after its header; at most 50 rows")
    assert await stored_files(org["id"]) == 0
    _, _, response = await send(client, route, csv_bytes([data] * 50, headers=headers), "b.csv")
    assert response.status_code in (201, 202), response.text
    declared = hostile.workbook(hostile.sheet_xml(hostile.table(headers, [data]), "A1:D52"))
    _, _, response = await send(client, route, declared, "c.xlsx")
    refused(response, 400, "the sheet declares rows up to 52; at most 51 rows")
    many = hostile.workbook(hostile.sheet_xml(hostile.table(headers, [data] * 51)))
    error = await _failed_read(client, route, many, 400)
    assert "the sheet has a row 52; at most 51 rows are read" in error, error


async def test_outcome_reports_are_not_held_to_the_claim_file_row_limit(client, monkeypatch):
    monkeypatch.setenv("CLAIM_FILE_MAX_ROWS", "5")
    institution, key = await org_key("training_institution")
    base = 4_700_000 + institution["id"] * 100
    report = await finished(
        client, key, await _upload(client, key, csv_bytes([row(base + i) for i in range(8)]))
    )
    assert report["accepted"] == 8, report


def _nul_csv(headers: list[str], good: list[str], bad: list[str]) -> tuple[bytes, int]:
    """The file and the bad row's number: the NUL comes after the first 8 KiB, past the
    door's sniffing of binary files."""
    copies = 8192 // len(",".join(good)) + 1
    body = csv_bytes([good] * copies + [bad], headers=headers)
    assert body.index(b"\x00") > 8192
    return body, copies + 2


async def test_a_nul_or_control_character_rejects_its_row_in_an_outcome_report(client):
    institution, key = await org_key("training_institution")
    base = 4_000_000 + institution["id"] * 100
    good = [row(base + i) for i in range(90)]
    bad_name = row(base + 70, name="张\x00三")
    body = csv_bytes([*good, bad_name, row(base + 71, course="焊工\x1b培训")], headers=ZH_HEADERS)
    assert body.index(b"\x00") > 8192
    report = await finished(client, key, await _upload(client, key, body))
    assert (report["accepted"], report["rejected"]) == (90, 2), report
    lines = await error_lines(client, key, report)
    found = {(line["行号/Row"], line["列/Column"], line["错误代码/Error code"]) for line in lines}
    assert found == {
        ("92", "姓名/Name", "CONTROL_CHARACTER"),
        ("93", "课程名称/Course", "CONTROL_CHARACTER"),
    }
    # Excel writes a control character in a workbook as _x0000_: the same row problem.
    cells = hostile.table(EN_HEADERS, [row(base + 95), row(base + 96, name="李_x0007_四")])
    body = hostile.workbook(hostile.sheet_xml(cells))
    report = await finished(client, key, await _upload(client, key, body, "r.xlsx"))
    assert (report["accepted"], report["rejected"]) == (1, 1), report
    assert [line["错误代码/Error code"] for line in await error_lines(client, key, report)] == [
        "CONTROL_CHARACTER"
    ]


async def _upload(client, key, body: bytes, filename: str = "r.csv"):
    return await client.post(
        ROUTES["outcomes"][0],
        params={"filename": filename},
        content=body,
        headers={**bearer(key), "Content-Type": "application/octet-stream"},
    )


async def test_a_nul_rejects_its_row_in_claim_and_month_files(client):
    _, _, headers, data = ROUTES["claims"]
    unknown = row(2)[0]
    body, bad = _nul_csv(headers, [unknown, "", "", "1"], ["", "1\x00", "", "1"])
    _, key, response = await send(client, "claims", body, "c.csv")
    assert response.status_code == 202, response.text
    job = await wait_for_job(client, f"/api/v1/jobs/{response.json()['job_id']}", bearer(key))
    assert job["status"] == "done", job
    file = await client.get(f"/api/v1/claim-files/{response.json()['id']}", headers=bearer(key))
    errors = await client.get(file.json()["error_file_csv"], headers=bearer(key))
    table = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert [str(bad), "人员ID/Person ID", "CONTROL_CHARACTER"] in [r[:3] for r in table]

    _, _, headers, data = ROUTES["months"]
    body, bad = _nul_csv(headers, data, ["", data[1], "", "", "2025-03\x00", "20"])
    _, key, response = await send(client, "months", body, "m.csv")
    assert response.status_code == 201, response.text
    errors = await client.get(response.json()["error_file_csv"], headers=bearer(key))
    table = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert [str(bad), "月份/Month", "CONTROL_CHARACTER"] in [r[:3] for r in table]


async def test_a_file_name_is_stored_as_sent_and_shown_without_hidden_characters(client):
    institution, key = await org_key("training_institution")
    base = 4_500_000 + institution["id"] * 100
    sent = "invoice\u202egpj\u2066\x07.csv"
    response = await _upload(client, key, csv_bytes([row(base)]), sent)
    assert response.status_code == 202, response.text
    assert response.json()["filename"] == "invoicegpj.csv"
    url = f"/api/v1/outcome-reports/{response.json()['id']}"
    shown = await client.get(url, headers=bearer(key))
    assert shown.json()["filename"] == "invoicegpj.csv"
    stored = (
        await OutcomeReport.select(OutcomeReport.filename)
        .where(OutcomeReport.id == response.json()["id"])
        .first()
        .run()
    )
    assert stored["filename"] == sent
