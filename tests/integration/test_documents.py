"""Batch documents on SQLite and PostgreSQL: approving a batch renders a notice per
line and a summary through fanned-out jobs; the PDFs read back as Chinese text; the
public verify endpoint knows genuine codes and detects an altered file; downloads
follow who may see what; rendering again stores nothing twice."""

from __future__ import annotations

import io
import json
from typing import Any

from pypdf import PdfReader

from accounts import api_keys
from accounts.roles import StaffRole
from certificates import rendering
from certificates.capitals import capital_amount
from certificates.tables import Document
from kernel.db import unit_of_work
from kernel.local_time import beijing_time
from registry.tables import Person
from subsidies.claims.tables import ClaimCalculation
from tests.conftest import ADMIN, bearer
from tests.integration.test_batches import BASE, approved_claim, build, headers, paying_org
from tests.integration.test_claims import fresh_scheme
from tests.integration.test_studios import make_person
from tests.support import waiting
from tests.support.claim_rows import stored_trace
from workers import outbox
from workers.tables import Job

TRACE = [
    {"zh": "实习 3 个月 × 3,000 元 = 9,000 元", "en": "3 months x 3,000 yuan = 9,000 yuan"},
    {"zh": "每名实习生上限 9,000 元", "en": "cap 9,000 yuan per intern"},
]


async def render_jobs(batch_id: int) -> list[dict[str, Any]]:
    rows = await Job.select().where(Job.kind == "documents.render_batch").run()
    return [r for r in rows if json.loads(r["payload"]) == {"batch_id": batch_id}]


async def wait_done(job_id: int) -> dict[str, Any]:
    return await waiting.job_finished(job_id)


def pdf_text(content: bytes) -> str:
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)


async def approved_batch(client) -> dict[str, Any]:
    scheme = fresh_scheme()
    org, other_org = await paying_org(), await paying_org()
    person = await make_person()
    await (
        Person.update(
            {
                Person.name: "欧阳晓燕",
                Person.bank_name: "中国银行东莞分行",
                Person.bank_account: "6216610000012345678",
            }
        )
        .where(Person.id == person)
        .run()
    )
    claims = [
        await approved_claim(scheme, org["id"], 900_000),
        await approved_claim(scheme, other_org["id"], 1_000_050),
        await approved_claim(scheme, org["id"], 1, person_id=person),
    ]
    await (
        ClaimCalculation.update(
            {
                ClaimCalculation.trace_digest: await stored_trace(
                    json.dumps(TRACE, ensure_ascii=False)
                )
            }
        )
        .where(ClaimCalculation.claim == claims[0])
        .run()
    )
    f1, f2 = await headers(), await headers()
    r = await build(client, f1, scheme)
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    r = await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)
    assert r.status_code == 200, r.text
    return {"batch": batch, "org": org, "other_org": other_org, "finance": f1}


async def test_approval_renders_verifiable_documents(client):
    made = await approved_batch(client)
    batch, finance = made["batch"], made["finance"]
    [job] = await render_jobs(batch["id"])
    job = await wait_done(job["id"])
    assert job["status"] == "done" and job["progress"] == 100, job["error"]
    assert json.loads(job["result"])["notices"] == 3

    r = await client.get("/api/v1/documents", params={"batch_id": batch["id"]}, headers=finance)
    assert r.status_code == 200, r.text
    docs = r.json()
    assert sorted(d["kind"] for d in docs) == ["batch_summary", *["disbursement_notice"] * 3]

    texts = {}
    for doc in docs:
        r = await client.get(f"/api/v1/documents/{doc['id']}/download", headers=finance)
        assert r.status_code == 200 and r.content.startswith(b"%PDF")
        texts[doc["subject"]] = (doc, r.content, pdf_text(r.content))
    notices = [t for d, _, t in texts.values() if d["kind"] == "disbursement_notice"]
    assert any(
        made["org"]["name"] in t and "¥9,000.00" in t and "人民币玖仟元整" in t
        and "实习 3 个月 × 3,000 元 = 9,000 元" in t
        for t in notices
    )  # fmt: skip
    assert any("人民币壹万元伍角" in t and "¥10,000.50" in t for t in notices)
    person_notice = next(t for t in notices if "欧阳晓燕" in t)
    assert "人民币壹分" in person_notice and "***************5678" in person_notice
    assert "4419" in person_notice and "*" * 10 in person_notice  # the ID masked
    summary_doc, summary_pdf, summary = next(
        v for v in texts.values() if v[0]["kind"] == "batch_summary"
    )
    assert batch["number"] in summary and "¥19,000.51" in summary
    assert "人民币" + capital_amount(1_900_051) in summary and "第 1 页 / 共 1 页" in summary
    # Signed by name and role, not by actor label; accounts keep their first and last four.
    assert summary.count("Test（财务人员）") == 2 and "staff:" not in summary
    org_account = f"80020000{made['org']['id']:010d}"
    assert f"8002{'*' * 10}{org_account[-4:]}" in summary
    assert f"6216{'*' * 11}5678" in summary

    # Public verification: no credentials; the summary shown is masked.
    person_doc, person_pdf, _ = next(
        v for v in texts.values() if v[0]["kind"] == "disbursement_notice" and "欧阳晓燕" in v[2]
    )
    r = await client.get(f"/verify/{person_doc['code'].lower()}")
    assert r.status_code == 200, r.text
    shown = r.json()
    assert shown["genuine"] and shown["kind"] == "disbursement_notice"
    assert shown["summary"]["payee"] == "欧***" and shown["summary"]["amount_in_words"] == "壹分"
    assert "欧阳晓燕" not in r.text and "6216610000012345678" not in r.text
    r = await client.get("/verify/0000-0000-0000-0000")
    assert r.status_code == 200 and r.json()["genuine"] is False

    r = await client.post(f"/verify/{person_doc['code']}", files={"file": person_pdf})
    assert r.status_code == 200 and r.json()["matches"] is True, r.text
    middle = len(person_pdf) // 2  # one byte changed, as any edit would
    altered = person_pdf[:middle] + bytes([person_pdf[middle] ^ 1]) + person_pdf[middle + 1 :]
    r = await client.post(f"/verify/{person_doc['code']}", files={"file": altered})
    checked = r.json()
    assert r.status_code == 200 and checked["genuine"] is False and checked["matches"] is False
    assert checked["code_found"] and checked["kind"] == "disbursement_notice"  # why: the file
    r = await client.post(
        f"/verify/{summary_doc['code']}",
        content=summary_pdf,
        headers={"content-type": "application/pdf"},
    )
    assert r.json()["matches"] is True and r.json()["genuine"] is True
    r = await client.post(f"/verify/{summary_doc['code']}", content=person_pdf)
    checked = r.json()  # a genuine file, but another document's
    assert checked["genuine"] is False and checked["matches"] is False and checked["code_found"]

    # Downloads: a payee organisation sees its own notices only; other roles nothing.
    key = (await api_keys.issue(ADMIN, made["org"]["id"], "test"))["key"]
    r = await client.get("/api/v1/documents", params={"batch_id": batch["id"]}, headers=bearer(key))
    own = r.json()
    assert len(own) == 1 and own[0]["kind"] == "disbursement_notice"
    r = await client.get(f"/api/v1/documents/{own[0]['id']}/download", headers=bearer(key))
    assert r.status_code == 200 and made["org"]["name"] in pdf_text(r.content)
    for doc in docs:
        if doc["id"] != own[0]["id"]:
            r = await client.get(f"/api/v1/documents/{doc['id']}/download", headers=bearer(key))
            assert r.status_code == 404
    officer = await headers(StaffRole.OFFICER)
    r = await client.get(f"/api/v1/documents/{summary_doc['id']}/download", headers=officer)
    assert r.status_code == 404
    auditor = await headers(StaffRole.AUDITOR)
    r = await client.get(f"/api/v1/documents/{summary_doc['id']}/download", headers=auditor)
    assert r.status_code == 200

    # Rendering again (a duplicated or re-run job) stores nothing twice.
    async with unit_of_work():
        again = await outbox.enqueue(
            "documents.render_batch", {"batch_id": batch["id"]}, created_by="test"
        )
    assert (await wait_done(again))["status"] == "done"
    rows = (
        await Document.select(Document.code, Document.sha256)
        .where(Document.batch_id == batch["id"])
        .run()
    )
    assert len(rows) == 4
    assert {r["code"] for r in rows} == {d["code"] for d in docs}


async def test_an_internship_notice_names_the_intern_and_the_month(db):
    from datetime import date

    from certificates.batch_jobs import _beneficiaries, notice_for
    from certificates.samples import sample_verification
    from tests.integration.test_claims import make_claim

    org = await paying_org()
    person = await make_person()
    await Person.update({Person.name: "欧阳晓燕"}).where(Person.id == person).run()
    claim = await make_claim(
        scheme="internship", claimant_id=org["id"], amount_fen=300_000, person_id=person
    )
    line = {
        "claim": claim, "scheme": "internship", "line_no": 1, "reference": "PB1",
        "policy_version_id": None, "payee_kind": "organisation", "payee_name": org["name"],
        "organisation_credit_code": org["credit_code"], "payee_bank": "银行",
        "payee_account": "80020000123456", "amount_fen": 300_000,
    }  # fmt: skip
    found = await _beneficiaries([line, {**line, "claim": claim + 10**6, "scheme": "other"}])
    assert list(found) == [claim]
    batch = {"number": "PB-1", "period_from": None, "period_to": None}
    notice = notice_for(line, batch, {}, sample_verification(1), date(2026, 4, 2), found[claim])
    assert notice.person_name == "欧阳晓燕" and notice.month == date(2026, 3, 1)
    assert notice.person_id_masked is not None and notice.person_id_masked.count("*") == 10
    text = pdf_text(rendering.render_notice(notice))
    assert "欧阳晓燕" in text and "2026年3月" in text and "实习补贴" in text


async def test_verify_is_rate_limited(client):
    answers = [(await client.get("/verify/ZZZZ-ZZZZ-ZZZZ-ZZZZ")).status_code for _ in range(35)]
    assert answers[0] == 200 and 429 in answers


async def test_rendering_refuses_a_tampered_batch(client):
    from subsidies.batches.tables import BatchLine, DisbursementBatch

    made = await approved_batch(client)
    batch = made["batch"]
    [job] = await render_jobs(batch["id"])
    assert (await wait_done(job["id"]))["status"] == "done"
    await (
        BatchLine.update({BatchLine.amount_fen: BatchLine.amount_fen + 100})
        .where((BatchLine.batch == batch["id"]) & (BatchLine.line_no == 1))
        .run()
    )
    await (
        Document.delete()
        .where((Document.batch_id == batch["id"]) & (Document.kind == "batch_summary"))
        .run()
    )  # so there is something left to render
    async with unit_of_work():
        again = await outbox.enqueue(
            "documents.render_batch", {"batch_id": batch["id"]}, created_by="test"
        )
    job = await wait_done(again)
    assert job["status"] == "failed" and "totals" in job["error"], job
    assert job["attempts"] == 1  # refused for good, not retried
    left = await Document.count().where(Document.batch_id == batch["id"]).run()
    assert left == 3  # the notices of before; no summary of the tampered lines
    status = (
        await DisbursementBatch.select(DisbursementBatch.status)
        .where(DisbursementBatch.id == batch["id"])
        .first()
        .run()
    )
    assert status["status"] == "failed"
    # Whoever checks a notice of the failed batch learns it is stopped, not pending;
    # once released, its notices are void.
    notices = await Document.select(Document.code).where(Document.batch_id == batch["id"]).run()
    shown = (await client.get(f"/verify/{notices[0]['code']}")).json()
    assert shown["genuine"] and shown["standing"]["state"] == "stopped"
    other = await headers()
    r = await client.post(
        f"{BASE}/{batch['id']}/release", json={"reason": "核查完毕"}, headers=other
    )
    assert r.status_code == 200, r.text
    shown = (await client.get(f"/verify/{notices[0]['code']}")).json()
    assert shown["standing"]["state"] == "void"


async def test_studio_certificate_job_renders_once(client):
    from datetime import date

    from registry.studios.tables import Studio

    host = await paying_org()
    master = await make_person()
    await Person.update({Person.name: "李强"}).where(Person.id == master).run()
    [row] = (
        await Studio.insert(
            Studio(
                host=host["id"],
                master=master,
                occupation_code="6-18-01-01",
                occupation_name="车工",
                plan="带徒传技",
                master_basis="test",
                status="established",
                level="province",
                established_on=date(2026, 5, 1),
                applied_by="test",
            )
        )
        .returning(Studio.id)
        .run()
    )
    for _ in range(2):  # the second run stores nothing
        async with unit_of_work():
            job_id = await outbox.enqueue(
                "documents.render_studio", {"studio_id": row["id"]}, created_by="test"
            )
        job = await wait_done(job_id)
        assert job["status"] == "done", job["error"]
    docs = await Document.select().where(Document.subject == f"studio:{row['id']}").run()
    assert len(docs) == 1 and docs[0]["kind"] == "studio_certificate"
    r = await client.get(f"/verify/{docs[0]['code']}")
    assert r.json()["genuine"] and r.json()["summary"]["level"] == "province"
    assert r.json()["summary"]["studio"] == "李*技能大师工作室"  # the master's name masked
    assert r.json()["standing"]["state"] == "valid"
    officer = await headers(StaffRole.OFFICER)
    r = await client.get(f"/api/v1/documents/{docs[0]['id']}/download", headers=officer)
    assert r.status_code == 200
    text = pdf_text(r.content)
    assert "李强技能大师工作室" in text and "省级" in text and host["name"] in text


async def test_a_phone_gets_the_verify_page_and_altered_files_are_refused(client):
    from app.settings import Settings
    from audit.tables import AuditEntry
    from certificates import storage

    made = await approved_batch(client)
    batch, finance = made["batch"], made["finance"]
    [job] = await render_jobs(batch["id"])
    assert (await wait_done(job["id"]))["status"] == "done"
    rows = (
        await Document.select()
        .where((Document.batch_id == batch["id"]) & (Document.kind == "disbursement_notice"))
        .order_by(Document.id)
        .run()
    )
    doc = next(r for r in rows if "欧" in r["summary"])  # the person's notice
    browser = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}

    r = await client.get(f"/verify/{doc['code']}", headers=browser)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "验证码真实有效" in page and "补贴发放通知书" in page and "欧***" in page
    assert "待银行支付" in page  # its standing: the bank has not paid it yet
    assert "收款人 Payee" in page and "壹分" in page and doc["sha256"] in page
    assert "欧阳晓燕" not in page and "6216610000012345678" not in page
    assert '<form method="post" enctype="multipart/form-data">' in page
    shown_at = f"{beijing_time(doc['created_at'])}（北京时间）"
    assert shown_at in page and "+00:00" not in page
    r = await client.get("/verify/0000-0000-0000-0000", headers=browser)
    assert "未找到该验证码" in r.text and "<form" not in r.text
    # Someone with a printed copy types the code on the entry page.
    r = await client.get("/verify", headers=browser)
    assert r.status_code == 200 and '<form method="get">' in r.text and 'name="code"' in r.text
    r = await client.get("/verify", params={"code": doc["code"].lower().replace("-", " ")})
    assert r.status_code == 303 and r.headers["location"] == f"verify/{doc['code']}"
    r = await client.get("/verify", params={"code": "12-34"})
    assert r.status_code == 200 and "验证码格式不对" in r.text
    r = await client.get("/verify", params={"code": "x" * 65})
    assert r.status_code == 400
    r = await client.get(f"/verify/{doc['code']}", headers={"accept": "text/html;q=inf"})
    assert r.status_code == 200 and r.json()["genuine"]  # unrankable: JSON, never a 500
    assert r.headers["vary"] == "Accept"
    r = await client.get("/verify/%3Cscript%3E", headers=browser)
    assert "<script>" not in r.text and "&lt;script&gt;" in r.text

    path = storage.absolute(Settings.from_env().data_dir, doc["storage_path"])
    genuine = path.read_bytes()
    r = await client.post(f"/verify/{doc['code']}", files={"file": genuine}, headers=browser)
    assert "未被改动" in r.text
    middle = len(genuine) // 2  # one byte changed, as any edit would
    altered = genuine[:middle] + bytes([genuine[middle] ^ 1]) + genuine[middle + 1 :]
    r = await client.post(f"/verify/{doc['code']}", files={"file": altered}, headers=browser)
    assert "可能已被改动" in r.text
    assert (await client.get(f"/verify/{doc['code']}")).json()["genuine"]  # JSON by default

    # Downloads are audited; a file changed on disk is refused, not served.
    r = await client.get(f"/api/v1/documents/{doc['id']}/download", headers=finance)
    assert r.status_code == 200 and r.content == genuine
    path.write_bytes(altered)
    r = await client.get(f"/api/v1/documents/{doc['id']}/download", headers=finance)
    assert r.status_code == 409 and "changed on disk" in r.json()["detail"], r.text
    actions = [
        a["action"]
        for a in await AuditEntry.select(AuditEntry.action)
        .where((AuditEntry.object_type == "document") & (AuditEntry.object_id == str(doc["id"])))
        .run()
    ]
    assert sorted(actions) == ["document.altered", "document.downloaded"]
    # Storing the same PDF again (a re-rendered document) puts the genuine bytes back.
    assert storage.store(Settings.from_env().data_dir, genuine)[1] == doc["storage_path"]
    r = await client.get(f"/api/v1/documents/{doc['id']}/download", headers=finance)
    assert r.status_code == 200 and r.content == genuine
