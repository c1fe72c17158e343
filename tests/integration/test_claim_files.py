"""Claims uploaded as a file (CSV or XLSX, UTF-8 or GBK) under any scheme with a claim
kind, on SQLite and PostgreSQL: good rows become claims, bad rows are listed with the
reason and change nothing, and uploading again creates nothing new."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
import xlsxwriter

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from subsidies.claims.tables import Claim
from tests.conftest import bearer, org_key
from tests.integration.test_people import staff_headers
from tests.integration.test_skill_levels import wait_for_job
from tests.support import registry_data as data
from tests.support.claim_rows import claim_rows
from tests.support.registry_data import ELECTRICIAN

URL = "/api/v1/claim-files"
HEADER = ["身份证号/ID number", "人员ID/Person ID", "基准日期/Basis date", "证书ID/Certificate ID"]


@pytest.fixture
def staff(db: str):
    return staff_headers(db)


def csv_bytes(rows: list[list[Any]], header: list[str] = HEADER, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def with_bad_check_character(number: str) -> str:
    last = "0" if number[-1] != "0" else "1"
    return number[:-1] + last


async def upload(client, key: str, body: bytes, *, scheme: str = "skill_level", name="c.csv"):
    return await client.post(
        f"{URL}?scheme={scheme}&filename={name}", headers=bearer(key), content=body
    )


async def processed(client, key: str, response) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    file = response.json()
    assert file["status"] in ("pending", "done") and file["job_id"]  # the job may be quick
    job = await wait_for_job(client, f"/api/v1/jobs/{file['job_id']}", bearer(key))
    assert job["status"] == "done", job
    r = await client.get(f"{URL}/{file['id']}", headers=bearer(key))
    assert r.status_code == 200, r.text
    return r.json()


async def text_of(client, key: str, url: str) -> list[list[str]]:
    r = await client.get(url, headers=bearer(key))
    assert r.status_code == 200, r.text
    return list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))


async def test_good_rows_become_claims_bad_rows_are_listed_and_a_reupload_adds_nothing(client):
    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    a, b, c, d = [await data.person() for _ in range(4)]
    cert_a = await data.certificate(a, issuer, level=3, issued_on=date(2024, 3, 1))
    cert_b = await data.certificate(b, issuer, level=2, occupation=ELECTRICIAN)
    cert_c = await data.certificate(c, issuer, level=3)
    unknown = data.resident_id()  # well formed, never registered
    body = csv_bytes(
        [
            [a["id_number"], "", "", cert_a["id"]],  # 2: accepted (by ID number)
            ["", b["id"], "2026-01-05", cert_b["id"]],  # 3: accepted (by person id)
            [with_bad_check_character(c["id_number"]), "", "", cert_c["id"]],  # 4
            [c["id_number"], "", "", "abc"],  # 5: not an id
            [d["id_number"], "", "", cert_c["id"]],  # 6: another person's certificate
            [a["id_number"], "", "", cert_a["id"]],  # 7: the same as row 2
            [c["id_number"], "", "", ""],  # 8: certificate missing
            [unknown, "", "", cert_c["id"]],  # 9: nobody has this ID number
            [a["id_number"], b["id"], "", cert_a["id"]],  # 10: two people named
            [c["id_number"], "", "2026-02-30", cert_c["id"]],  # 11: not a date
        ]
    )
    file = await processed(client, key, await upload(client, key, body))
    assert (file["total_rows"], file["accepted"], file["duplicate"], file["rejected"]) == (
        10,
        2,
        1,
        7,
    )
    assert file["claimant_organisation_id"] == employer["id"] and file["scheme"] == "skill_level"

    claims = await claim_rows(Claim.person.is_in([a["id"], b["id"], c["id"], d["id"]]))
    by_person = {row["person"]: row for row in claims}
    assert sorted(by_person) == sorted([a["id"], b["id"]])  # rejected rows changed nothing
    assert by_person[a["id"]]["claimant"] == employer["id"]
    assert by_person[a["id"]]["dedupe_key"] == f"skill_level:{a['id']}:3"
    assert by_person[a["id"]]["basis_date"] == date(2024, 3, 1)  # the certificate's date

    errors = await text_of(client, key, file["error_file_csv"])
    assert errors[0] == ["行号/Row", "列/Column", "错误代码/Error code", "说明", "Message"]
    found = {(int(r[0]), r[2]) for r in errors[1:]}
    assert found == {
        (4, "ID_CHECKSUM"),
        (5, "NOT_AN_ID"),
        (6, "REFUSED"),
        (8, "REQUIRED"),
        (9, "PERSON_UNKNOWN"),
        (10, "PERSON_MISMATCH"),
        (11, "DATE_FORMAT"),
    }
    refused = next(r for r in errors[1:] if r[0] == "6")
    assert refused[1] == "证书ID/Certificate ID"
    assert refused[3].startswith("不予受理") and "no such certificate" in refused[4]
    xlsx = await client.get(file["error_file_xlsx"], headers=bearer(key))
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"

    result = await text_of(client, key, file["result_file_csv"])
    outcome = {int(r[0]): (r[1].split()[-1], r[2]) for r in result[1:]}
    claim_a, claim_b = str(by_person[a["id"]]["id"]), str(by_person[b["id"]]["id"])
    assert outcome[2] == ("accepted", claim_a) and outcome[3] == ("accepted", claim_b)
    assert outcome[7] == ("duplicate", claim_a)
    assert outcome[4] == ("rejected", "")

    # The same file again: nothing new, every good row names the claim it repeats.
    again = await processed(client, key, await upload(client, key, body))
    assert (again["accepted"], again["duplicate"], again["rejected"]) == (0, 3, 7)
    result = await text_of(client, key, again["result_file_csv"])
    outcome = {int(r[0]): (r[1].split()[-1], r[2], r[3]) for r in result[1:]}
    assert outcome[2][:2] == ("duplicate", claim_a) and f"/api/v1/claims/{claim_a}" in outcome[2][2]
    assert outcome[3][:2] == ("duplicate", claim_b)
    assert await Claim.count().where(Claim.person.is_in([a["id"], b["id"]])).run() == 2
    assert (
        await AuditEntry.exists()
        .where(
            (AuditEntry.action == "claim_file.processed")
            & (AuditEntry.object_id == str(again["id"]))
        )
        .run()
    )

    # Another organisation sees none of it.
    _, stranger = await org_key("enterprise")
    assert (await client.get(f"{URL}/{file['id']}", headers=bearer(stranger))).status_code == 404
    r = await client.get(file["error_file_csv"], headers=bearer(stranger))
    assert r.status_code == 404
    listed = (await client.get(URL, headers=bearer(stranger))).json()
    assert file["id"] not in [f["id"] for f in listed["items"]]
    listed = (await client.get(URL, headers=bearer(key))).json()
    assert {file["id"], again["id"]} <= {f["id"] for f in listed["items"]}


async def test_a_gbk_csv_and_an_xlsx_with_english_headers_are_read(client):
    _, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    a, b = await data.person(), await data.person()
    cert_a = await data.certificate(a, issuer, level=4)
    cert_b = await data.certificate(b, issuer, level=4)
    gbk = csv_bytes([[a["id_number"], cert_a["id"]]], header=["身份证号", "证书ID"], encoding="gbk")
    file = await processed(client, key, await upload(client, key, gbk))
    assert file["encoding"] == "gb18030" and file["accepted"] == 1, file

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    sheet.write_row(0, 0, ["Certificate ID", "ID number"])
    sheet.write_number(1, 0, cert_b["id"])  # a number cell, as Excel stores it
    sheet.write_string(1, 1, b["id_number"])
    workbook.close()
    file = await processed(
        client, key, await upload(client, key, buffer.getvalue(), name="claims.xlsx")
    )
    assert (file["file_format"], file["accepted"], file["rejected"]) == ("xlsx", 1, 0), file
    assert file["error_file_csv"] is None


async def test_wrong_scheme_wrong_claimant_and_unreadable_files_are_refused_whole(client, staff):
    _, key = await org_key("enterprise")
    good = csv_bytes([["", "1", "", "1"]])
    r = await upload(client, key, good, scheme="no_such_scheme")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scheme"
    r = await upload(client, key, good, scheme="internship")  # months have their own files
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "scheme"
    # A training institution does not claim the skill-level subsidy.
    _, trainer = await org_key("training_institution")
    assert (await upload(client, trainer, good)).status_code == 403
    # The voucher scheme's columns are not the skill-level ones.
    r = await upload(client, key, csv_bytes([["X1"]], header=["培训券编号/Voucher number"]))
    assert r.status_code == 400 and "证书ID/Certificate ID" in r.text
    assert (await upload(client, key, b"")).status_code == 400
    r = await upload(client, key, b"%PDF-1.4 not a table", name="claims.pdf")
    assert r.status_code == 415
    r = await upload(client, key, csv_bytes([]))
    assert r.status_code == 400 and "no rows" in r.text
    # An officer names the claimant; an unknown one is a 400.
    officer = await staff(StaffRole.OFFICER)
    r = await client.post(
        f"{URL}?scheme=skill_level&filename=c.csv&claimant_organisation_id=999999999",
        headers=officer,
        content=good,
    )
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "claimant_organisation_id"
    assert (await client.get(f"{URL}/999999999", headers=bearer(key))).status_code == 404


async def test_voucher_claims_have_their_own_columns_and_templates(client):
    _, trainer = await org_key("training_institution")
    r = await client.get(f"{URL}/template.csv?scheme=training_voucher", headers=bearer(trainer))
    assert r.status_code == 200
    header = next(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert "培训券编号/Voucher number" in header and "培训结果ID/Outcome ID" in header
    r = await client.get(f"{URL}/template.xlsx?scheme=skill_level", headers=bearer(trainer))
    assert r.status_code == 200 and r.content[:2] == b"PK"
    assert (
        await client.get(f"{URL}/template.csv?scheme=nope", headers=bearer(trainer))
    ).status_code == 400

    body = csv_bytes(
        [["", "", "", "NOT-A-VOUCHER", "x"], ["", "", "", "NOT-A-VOUCHER", ""]],
        header=[*HEADER[:3], "培训券编号", "培训结果ID"],
    )
    file = await processed(
        client, trainer, await upload(client, trainer, body, scheme="training_voucher")
    )
    assert (file["accepted"], file["rejected"]) == (0, 2)
    errors = await text_of(client, trainer, file["error_file_csv"])
    assert ["2", "培训结果ID/Outcome ID", "NOT_AN_ID"] in [r[:3] for r in errors[1:]]
    # Row 3 passed the cell checks; the voucher scheme's own rules refused it.
    [refused] = [r for r in errors[1:] if r[0] == "3"]
    assert refused[1] == "培训券编号/Voucher number" and refused[2] in ("REFUSED", "NOT_FOUND")
    assert refused[3].startswith(("不予受理", "未找到")) and refused[4]
