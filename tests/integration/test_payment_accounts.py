"""People can be paid, on SQLite and PostgreSQL: an officer records a person's payment
account, a change after approval waits for a second officer before the claim is
batched, finance builds a batch from a filtered preview, and the bank file carries the
person's line (numeric amount, control total, bank code, 对私, Chinese purpose)."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import xlsxwriter

from accounts.roles import StaffRole
from audit.tables import AuditEntry
from kernel.clock import local_today
from registry.tables import Organisation
from subsidies.claims import statuses
from subsidies.claims.tables import Budget
from tests.conftest import bearer, org_key
from tests.integration.test_batches import (
    BASE,
    approved_claim,
    headers,
    lines_of,
    paying_org,
    return_file,
    wait_for_jobs,
)
from tests.integration.test_claims import fresh_scheme, make_claim
from tests.integration.test_skill_levels import employ
from tests.support import registry_data as data
from tests.support import waiting, xlsx_cells
from tests.support.claim_rows import claims_by_id

BANK_CODE = "402602000018"


def account_url(person_id: int) -> str:
    return f"/api/v1/people/{person_id}/payment-account"


def account(**over: Any) -> dict[str, Any]:
    return {"bank_name": "东莞农村商业银行长安支行", "bank_account": "6221 0000 1234 5678 901",
            "bank_code": BANK_CODE} | over  # fmt: skip


async def enough_budget(scheme: str, year: int) -> None:
    """The approval commits against the year's budget; this test's claims fit in it."""
    exists = await Budget.exists().where((Budget.scheme == scheme) & (Budget.year == year)).run()
    if not exists:
        await Budget.insert(
            Budget(scheme=scheme, year=year, amount_fen=10**12, committed_fen=0, set_by="test")
        ).run()


async def audit_of(person_id: int, action: str) -> list[dict[str, Any]]:
    return (
        await AuditEntry.select(AuditEntry.actor, AuditEntry.before, AuditEntry.after)
        .where(
            (AuditEntry.action == action)
            & (AuditEntry.object_type == "person")
            & (AuditEntry.object_id == str(person_id))
        )
        .order_by(AuditEntry.id)
        .run()
    )


async def test_an_application_claim_is_paid_into_the_account_an_officer_recorded(
    client, tmp_path: Path
):
    employer, key = await org_key("enterprise")
    issuer = await data.organisation(org_type="evaluation_organisation")
    person = await data.person(town="长安")
    await employ(person, employer, started_on=date(2022, 3, 1))
    cert = await data.certificate(person, issuer, level=2, issued_on=date(2025, 11, 3))
    officer = await headers(StaffRole.OFFICER)
    r = await client.put(account_url(person["id"]), json=account(), headers=officer)
    assert r.status_code == 200, r.text
    recorded = r.json()
    assert recorded["bank_account"] == "6221000012345678901"  # spaces dropped
    assert (recorded["holder"], recorded["kind"]) == (person["name"], "social_security_card")
    assert recorded["bank_code"] == BANK_CODE and recorded["awaiting_confirmation"] is False
    entry = (await audit_of(person["id"], "person.bank_account_set"))[-1]
    assert "6221000012345678901" not in entry["after"]
    assert json.loads(entry["after"])["bank_account"].endswith("8901")

    body = {
        "scheme": "skill_level",
        "basis_date": "2025-11-03",
        "person_id": person["id"],
        "details": {"certificate_id": cert["id"]},
    }
    r = await client.post("/api/v1/claims", headers=bearer(key), json=body)
    assert r.status_code == 201, r.text
    claim_id = r.json()["id"]

    async def claim() -> dict[str, Any]:
        return (await claims_by_id([claim_id]))[claim_id]

    calculated = await waiting.until(
        claim, lambda c: c["status"] == statuses.CALCULATED, "the calculation"
    )
    await enough_budget("skill_level", 2025)
    r = await client.post(f"/api/v1/claims/{claim_id}/approve", headers=officer)
    assert r.status_code == 200, (r.text, calculated)
    amount = (await claim())["amount_fen"]
    assert amount > 0

    f1, f2 = await headers(), await headers()
    filters = {
        "scheme": "skill_level",
        "payee_kind": "person",
        "town": "长安",
        "approved_from": local_today().replace(day=1).isoformat(),
        "claim_ids": [claim_id],
    }
    r = await client.post(f"{BASE}/preview", json=filters, headers=f1)
    assert r.status_code == 200, r.text
    assert (r.json()["count"], r.json()["total_fen"]) == (1, amount)
    r = await client.post(BASE, json=filters, headers=f1)
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    assert batch["selection"]["claim_ids"] == [claim_id] and batch["selection"]["town"] == "长安"
    [line] = await lines_of(batch["id"])
    assert (line["payee_kind"], line["payee_bank_code"]) == ("person", BANK_CODE)
    assert (line["payee_name"], line["payee_account"]) == (person["name"], "6221000012345678901")
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 200
    await wait_for_jobs(client, batch["id"], f2)

    r = await client.get(f"{BASE}/{batch['id']}/payment-file.xlsx", headers=f1)
    assert r.status_code == 200, r.text
    path = tmp_path / "payment.xlsx"
    path.write_bytes(r.content)
    cells = xlsx_cells.cells(path)
    assert [cells[f"{c}1"][0] for c in "ABCDEFGHI"] == [
        "序号", "收款账号", "收款户名", "开户行", "联行号", "金额", "对私/对公", "用途/附言",
        "参考号",
    ]  # fmt: skip
    assert cells["B2"][0] == "6221000012345678901" and cells["C2"][0] == person["name"]
    assert cells["E2"][0] == BANK_CODE and cells["G2"][0] == "对私"
    assert cells["H2"][0] == "技能等级提升资助 2025年11月"
    assert cells["F2"] == (amount / 100, "0.00")
    assert cells["A3"][0] == "合计" and cells["B3"][0] == 1  # the control record
    assert cells["F3"] == (amount / 100, "0.00")

    r = await client.get(f"{BASE}/{batch['id']}/payment-file.csv?layout=drcbank", headers=f1)
    assert r.status_code == 200, r.text
    assert f'filename="{batch["number"]}-payment-drcbank.csv"' in r.headers["content-disposition"]
    assert "客户参考号" in r.content.decode("utf-8-sig").splitlines()[0]
    r = await client.get(f"{BASE}/{batch['id']}/payment-file.xlsx?layout=nosuchbank", headers=f1)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "layout", r.text
    assert "'nosuchbank'" in r.text


async def test_a_change_after_approval_waits_for_a_second_officer(client):
    scheme = fresh_scheme()
    org = await paying_org()
    person = await data.person()
    first, second = await headers(StaffRole.OFFICER), await headers(StaffRole.OFFICER)
    r = await client.put(account_url(person["id"]), json=account(), headers=first)
    assert r.status_code == 200 and r.json()["awaiting_confirmation"] is False  # nothing approved
    claim_id = await approved_claim(scheme, org["id"], 500_000, person_id=person["id"])
    finance = await headers()
    only_this = {"scheme": scheme, "claim_ids": [claim_id]}
    r = await client.post(f"{BASE}/preview", json=only_this, headers=finance)
    assert r.json()["count"] == 1

    redirected = account(bank_account="6217000099998888", bank_code=None, kind="other")
    r = await client.put(account_url(person["id"]), json=redirected, headers=first)
    assert r.status_code == 200 and r.json()["awaiting_confirmation"] is True, r.text
    r = await client.post(f"{BASE}/preview", json=only_this, headers=finance)
    preview = r.json()
    assert (preview["count"], preview["excluded_count"]) == (0, 1)
    assert preview["excluded"][0]["claim_id"] == claim_id
    assert "another officer must confirm" in preview["excluded"][0]["reason"]
    r = await client.post(BASE, json=only_this, headers=finance)
    assert r.status_code == 409  # nothing payable: the claim stays unbatched
    assert (await claims_by_id([claim_id]))[claim_id]["batch_id"] is None

    confirm = account_url(person["id"]) + "/confirmation"
    seen = {
        "set_at": (await client.get(account_url(person["id"]), headers=second)).json()["set_at"]
    }
    r = await client.post(confirm, json=seen, headers=first)
    assert r.status_code == 403 and "another person" in r.json()["detail"]
    r = await client.post(confirm, json=seen, headers=finance)
    assert r.status_code == 403  # officers only
    r = await client.post(confirm, headers=second)
    assert r.status_code == 400  # the confirmation names the change it confirms
    r = await client.post(confirm, json=seen, headers=second)
    assert r.status_code == 200 and r.json()["awaiting_confirmation"] is False, r.text
    r = await client.post(confirm, json=seen, headers=second)
    assert r.status_code == 409  # nothing waits now
    [confirmed] = await audit_of(person["id"], "person.bank_account_confirmed")
    assert json.loads(confirmed["after"])["bank_account"] == "************8888"

    r = await client.post(BASE, json=only_this, headers=finance)
    assert r.status_code == 201, r.text
    [line] = await lines_of(r.json()["batch"]["id"])
    assert line["payee_account"] == "6217000099998888" and line["payee_bank_code"] is None


async def person_paid_by_claim(client, scheme: str) -> tuple[dict, int]:
    """A person whose account an officer recorded before any claim, and one approved
    claim of theirs: (person, claim id)."""
    person = await data.person()
    r = await client.put(
        account_url(person["id"]), json=account(), headers=await headers(StaffRole.OFFICER)
    )
    assert r.status_code == 200 and r.json()["awaiting_confirmation"] is False, r.text
    org = await paying_org()
    return person, await approved_claim(scheme, org["id"], 300_000, person_id=person["id"])


async def redirect_then_rebuild(client, person: dict, claim_id: int, scheme: str) -> None:
    """The claim is back out of its batch after its person's account was changed: the
    next batch leaves it out until a second officer confirms, then pays the new account."""
    only_this = {"scheme": scheme, "claim_ids": [claim_id]}
    finance = await headers()
    preview = (await client.post(f"{BASE}/preview", json=only_this, headers=finance)).json()
    assert (preview["count"], preview["excluded_count"]) == (0, 1), preview
    assert "another officer must confirm" in preview["excluded"][0]["reason"]
    r = await client.post(BASE, json=only_this, headers=finance)
    assert r.status_code == 409, r.text
    assert (await claims_by_id([claim_id]))[claim_id]["batch_id"] is None
    await confirm_as_seen(client, person["id"], await headers(StaffRole.OFFICER))
    r = await client.post(BASE, json=only_this, headers=finance)
    assert r.status_code == 201, r.text
    [line] = await lines_of(r.json()["batch"]["id"])
    assert line["payee_account"] == "6217000099998888"


async def confirm_as_seen(client, person_id: int, officer: dict[str, str]) -> dict[str, Any]:
    """The officer looks at the account and confirms the change shown."""
    shown = (await client.get(account_url(person_id), headers=officer)).json()
    r = await client.post(
        account_url(person_id) + "/confirmation", json={"set_at": shown["set_at"]}, headers=officer
    )
    assert r.status_code == 200, r.text
    return r.json()


async def test_a_confirmation_confirms_only_the_change_the_officer_saw(client):
    """A changes the account, B looks at it, A changes it again: B's confirmation of
    what B saw does not pass the account B never saw."""
    scheme = fresh_scheme()
    person, _ = await person_paid_by_claim(client, scheme)
    a, b = await headers(StaffRole.OFFICER), await headers(StaffRole.OFFICER)
    url = account_url(person["id"])
    await redirect(client, person, a)
    seen = (await client.get(url, headers=b)).json()
    assert seen["bank_account"] == "6217000099998888" and seen["awaiting_confirmation"]
    again = account(bank_account="6217000011112222", bank_code=None)
    r = await client.put(url, json=again, headers=a)
    assert r.status_code == 200 and r.json()["awaiting_confirmation"] is True, r.text

    r = await client.post(f"{url}/confirmation", json={"set_at": seen["set_at"]}, headers=b)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "set_at", r.text
    assert (await client.get(url, headers=b)).json()["awaiting_confirmation"] is True
    assert await audit_of(person["id"], "person.bank_account_confirmed") == []
    r = await client.post(f"{url}/confirmation", json={"set_at": "2026-01-01T00:00:00"}, headers=b)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "set_at", r.text

    confirmed = await confirm_as_seen(client, person["id"], b)
    assert confirmed["bank_account"] == "6217000011112222"
    assert not confirmed["awaiting_confirmation"]


async def redirect(client, person: dict, officer: dict[str, str]) -> None:
    redirected = account(bank_account="6217000099998888", bank_code=None)
    r = await client.put(account_url(person["id"]), json=redirected, headers=officer)
    assert r.status_code == 200 and r.json()["awaiting_confirmation"] is True, r.text


async def test_a_change_while_the_claim_is_in_a_cancelled_batch_waits_for_a_second_officer(
    client,
):
    scheme = fresh_scheme()
    person, claim_id = await person_paid_by_claim(client, scheme)
    f1, f2 = await headers(), await headers()
    r = await client.post(BASE, json={"scheme": scheme}, headers=f1)
    assert r.status_code == 201, r.text
    batch = r.json()["batch"]
    await redirect(client, person, await headers(StaffRole.OFFICER))  # the claim is batched
    r = await client.post(
        f"{BASE}/{batch['id']}/cancellation", json={"reason": "重新组批"}, headers=f2
    )
    assert r.status_code == 200, r.text
    await redirect_then_rebuild(client, person, claim_id, scheme)


async def test_a_change_while_the_bank_holds_the_line_waits_after_it_fails(client):
    scheme = fresh_scheme()
    person, claim_id = await person_paid_by_claim(client, scheme)
    f1, f2 = await headers(), await headers()
    batch = (await client.post(BASE, json={"scheme": scheme}, headers=f1)).json()["batch"]
    assert (await client.post(f"{BASE}/{batch['id']}/approve", headers=f2)).status_code == 200
    await wait_for_jobs(client, batch["id"], f2)
    await redirect(client, person, await headers(StaffRole.OFFICER))
    [line] = await lines_of(batch["id"])
    assert line["payee_account"] == "6221000012345678901"  # the line keeps its account
    failed = return_file((line["reference"], "3000.00", "failed", "账户状态异常"))
    r = await client.post(f"{BASE}/{batch['id']}/reconciliation", content=failed, headers=f1)
    assert r.status_code == 200 and r.json()["failed"] == 1, r.text
    await redirect_then_rebuild(client, person, claim_id, scheme)


async def test_a_change_waits_while_any_claim_of_the_person_may_still_be_paid(client):
    org = await paying_org()
    officer = await headers(StaffRole.OFFICER)
    for status, waits in (
        (statuses.PROPOSED, True),
        (statuses.SUBMITTED, True),
        (statuses.ON_HOLD, True),
        (statuses.PAID, False),
        (statuses.REJECTED, False),
        (statuses.WITHDRAWN, False),
    ):
        person = await data.person()
        await make_claim(
            scheme=fresh_scheme(), claimant_id=org["id"], payee_kind="person",
            person_id=person["id"], status=status,
        )  # fmt: skip
        r = await client.put(account_url(person["id"]), json=account(), headers=officer)
        assert r.status_code == 200, r.text
        assert r.json()["awaiting_confirmation"] is waits, status


async def test_bad_payment_accounts_name_the_field_and_change_nothing(client):
    person = await data.person()
    officer = await headers(StaffRole.OFFICER)
    url = account_url(person["id"])
    cases = [
        ({"holder": "王五"}, "holder"),
        ({"bank_code": "40260200001"}, "bank_code"),
        ({"bank_account": "6221-0000"}, "bank_account"),
        ({"kind": "wallet"}, "kind"),
        ({"bank_name": " "}, "bank_name"),
    ]
    for change, field in cases:
        r = await client.put(url, json=account(**change), headers=officer)
        assert r.status_code == 400, (change, r.text)
        assert [e["field"] for e in r.json()["errors"]] == [field], r.text
    r = await client.get(url, headers=officer)
    assert r.status_code == 200 and r.json()["bank_account"] is None
    assert await audit_of(person["id"], "person.bank_account_set") == []
    r = await client.put(account_url(10**9), json=account(), headers=officer)
    assert r.status_code == 404
    finance, auditor = await headers(), await headers(StaffRole.AUDITOR)
    assert (await client.put(url, json=account(), headers=finance)).status_code == 403
    r = await client.put(url, json=account(holder=person["name"]), headers=officer)
    assert r.status_code == 200, r.text
    assert (await client.get(url, headers=finance)).json()["bank_account"] == "6221000012345678901"
    assert (await client.get(url, headers=auditor)).json()["bank_account"].startswith("*")
    _, key = await org_key("enterprise")
    assert (await client.get(url, headers=bearer(key))).status_code == 403


async def test_finance_chooses_what_a_batch_takes(client):
    scheme = fresh_scheme()
    changan, humen = await paying_org(), await paying_org()
    await Organisation.update({Organisation.town: "虎门"}).where(
        Organisation.id == humen["id"]
    ).run()  # fmt: skip
    person = await data.person(town="虎门")
    r = await client.put(
        account_url(person["id"]), json=account(), headers=await headers(StaffRole.OFFICER)
    )
    assert r.status_code == 200, r.text
    to_changan = await approved_claim(scheme, changan["id"], 100_000)
    to_humen = await approved_claim(scheme, humen["id"], 200_000)
    to_person = await approved_claim(scheme, changan["id"], 300_000, person_id=person["id"])
    finance = await headers()

    async def previewed(**filters: Any) -> tuple[int, int]:
        body = {"scheme": scheme, **filters}
        r = await client.post(f"{BASE}/preview", json=body, headers=finance)
        assert r.status_code == 200, r.text
        return r.json()["count"], r.json()["total_fen"]

    assert await previewed() == (3, 600_000)
    assert await previewed(town="虎门") == (2, 500_000)  # the person's town, the payee org's
    assert await previewed(payee_kind="organisation") == (2, 300_000)
    assert await previewed(payee_kind="person", town="长安") == (0, 0)
    assert await previewed(claim_ids=[to_changan, to_person]) == (2, 400_000)
    today = local_today()
    assert await previewed(approved_to=date(today.year - 1, 12, 31).isoformat()) == (0, 0)
    assert await previewed(approved_from=today.replace(day=1).isoformat()) == (3, 600_000)

    bad = [
        ({"town": "巴黎"}, "town"),
        ({"payee_kind": "everyone"}, "payee_kind"),
        ({"claim_ids": []}, "claim_ids"),
        ({"approved_from": "2026-05-02", "approved_to": "2026-05-01"}, "approved_to"),
    ]
    for filters, field in bad:
        r = await client.post(f"{BASE}/preview", json=filters, headers=finance)
        assert r.status_code == 400 and r.json()["errors"][0]["field"] == field, r.text

    # The build takes what the same filters previewed, and nothing else.
    r = await client.post(BASE, json={"scheme": scheme, "town": "虎门"}, headers=finance)
    assert r.status_code == 201, r.text
    taken = {line["claim"] for line in await lines_of(r.json()["batch"]["id"])}
    assert taken == {to_humen, to_person}
    assert (await claims_by_id([to_changan]))[to_changan]["batch_id"] is None


async def test_accounts_are_imported_from_a_file_all_or_nothing(client, tmp_path: Path):
    scheme = fresh_scheme()
    org = await paying_org()
    a, b = await data.person(), await data.person()
    officer = await headers(StaffRole.OFFICER)
    url = "/api/v1/people/payment-accounts"
    header = "身份证号,开户行,联行号,收款账号,户名\r\n"
    good = (
        f"{a['id_number']},中国银行东莞分行,104602000011,6216 6100 0001 2345,{a['name']}\r\n"
        f"{b['id_number']},东莞农商银行,,6221000099990000,{b['name']}\r\n"
    )
    bad = (
        f"{a['id_number']},中国银行东莞分行,1046,6216610000012345,{a['name']}\r\n"
        f"{b['id_number']},东莞农商银行,,6221000099990000,王五\r\n"
        "441900199001019999,东莞农商银行,,6221000099990001,赵六\r\n"
        f"{a['id_number']},东莞农商银行,,6221000099990002,{a['name']}\r\n"
    )
    r = await client.post(url, content=(header + bad).encode(), headers=officer)
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        "row 5, column id_number",  # the file itself: a person twice
    ]
    r = await client.post(url, content=(header + bad.rsplit("\r\n", 2)[0] + "\r\n").encode(),
                          headers=officer)  # fmt: skip
    assert r.status_code == 400, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        "row 2, column bank_code",
        "row 3, column holder",
        "row 4, column id_number",
    ]
    assert (await client.get(account_url(a["id"]), headers=officer)).json()["bank_account"] is None

    r = await client.post(url, content=(header + good).encode("gb18030"), headers=officer)
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 2, "changed": 2, "unchanged": 0, "awaiting_confirmation": 0}
    saved = (await client.get(account_url(a["id"]), headers=officer)).json()
    assert (saved["bank_account"], saved["bank_code"]) == ("6216610000012345", "104602000011")
    entry = (await audit_of(a["id"], "person.bank_account_set"))[-1]
    assert json.loads(entry["after"])["via"] == "import"

    # The same accounts as XLSX, one changed after b's claim was approved.
    await approved_claim(scheme, org["id"], 100_000, person_id=b["id"])
    path = tmp_path / "accounts.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet()
    rows = [
        ["id_number", "bank_name", "bank_code", "bank_account", "holder"],
        [a["id_number"], "中国银行东莞分行", "104602000011", "6216610000012345", a["name"]],
        [b["id_number"], "工商银行东莞分行", "", "6222000011112222", b["name"]],
    ]
    for i, row in enumerate(rows):
        sheet.write_row(i, 0, row)
    book.close()
    files = {"file": ("accounts.xlsx", path.read_bytes())}
    r = await client.post(url, files=files, headers=officer)
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 2, "changed": 1, "unchanged": 1, "awaiting_confirmation": 1}
    assert (await client.get(account_url(b["id"]), headers=officer)).json()["awaiting_confirmation"]
    finance = await headers()
    r = await client.post(url, content=(header + good).encode(), headers=finance)
    assert r.status_code == 403


async def test_an_employer_proposes_and_an_officer_confirms_or_rejects(client):
    employer, key = await org_key("enterprise")
    _, other_key = await org_key("enterprise")
    person = await data.person()
    await employ(person, employer, started_on=date(2022, 3, 1))
    url = account_url(person["id"]) + "/proposals"
    r = await client.post(url, json=account(), headers=bearer(key))
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "pending" and first["bank_account"].startswith("*")
    r = await client.post(url, json=account(), headers=bearer(other_key))
    assert r.status_code == 404  # not its employee
    r = await client.post(url, json=account(holder="王五"), headers=bearer(key))
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "holder"
    officer = await headers(StaffRole.OFFICER)
    assert (await client.get(account_url(person["id"]), headers=officer)).json()[
        "bank_account"
    ] is None  # a proposal changes nothing

    r = await client.get(url, headers=officer)
    assert [p["id"] for p in r.json()] == [first["id"]]
    assert r.json()[0]["bank_account"] == "6221000012345678901"
    r = await client.post(f"{url}/{first['id']}/confirmation", headers=bearer(key))
    assert r.status_code == 403
    r = await client.post(f"{url}/{first['id']}/confirmation", headers=officer)
    assert r.status_code == 200 and r.json()["status"] == "confirmed", r.text
    saved = (await client.get(account_url(person["id"]), headers=officer)).json()
    assert saved["bank_account"] == "6221000012345678901" and saved["set_by"].startswith("staff:")
    entry = (await audit_of(person["id"], "person.bank_account_set"))[-1]
    assert json.loads(entry["after"])["via"] == f"employer_proposal:{first['id']}"
    r = await client.post(f"{url}/{first['id']}/confirmation", headers=officer)
    assert r.status_code == 409

    r = await client.post(url, json=account(bank_account="6217000099998888"), headers=bearer(key))
    second = r.json()
    r = await client.post(f"{url}/{second['id']}/rejection", json={"reason": " "}, headers=officer)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "reason"
    r = await client.post(
        f"{url}/{second['id']}/rejection", json={"reason": "与社保卡账户不符"}, headers=officer
    )
    assert r.status_code == 200 and r.json()["status"] == "rejected", r.text
    saved = (await client.get(account_url(person["id"]), headers=officer)).json()
    assert saved["bank_account"] == "6221000012345678901"


async def test_confirming_a_claim_with_the_account_on_record_keeps_its_bank_code(client):
    org = await paying_org()
    person = await data.person()
    officer = await headers(StaffRole.OFFICER)
    r = await client.put(account_url(person["id"]), json=account(kind="other"), headers=officer)
    assert r.status_code == 200, r.text
    claim_id = await make_claim(
        scheme=fresh_scheme(), claimant_id=org["id"], payee_kind="person",
        person_id=person["id"], status=statuses.PROPOSED,
    )  # fmt: skip
    given = {"bank_name": "东莞农村商业银行长安支行", "bank_account": "62210000 12345678901"}
    r = await client.post(f"/api/v1/claims/{claim_id}/confirm-account", json=given, headers=officer)
    assert r.status_code == 200, r.text
    saved = (await client.get(account_url(person["id"]), headers=officer)).json()
    assert (saved["bank_code"], saved["kind"]) == (BANK_CODE, "other")
    assert len(await audit_of(person["id"], "person.bank_account_set")) == 1  # nothing changed

    other = {"bank_name": "中国银行东莞分行", "bank_account": "6216610000012345"}
    claim_id = await make_claim(
        scheme=fresh_scheme(), claimant_id=org["id"], payee_kind="person",
        person_id=person["id"], status=statuses.PROPOSED,
    )  # fmt: skip
    r = await client.post(f"/api/v1/claims/{claim_id}/confirm-account", json=other, headers=officer)
    assert r.status_code == 200, r.text
    saved = (await client.get(account_url(person["id"]), headers=officer)).json()
    assert (saved["bank_code"], saved["kind"]) == (None, "social_security_card")
    entry = (await audit_of(person["id"], "person.bank_account_set"))[-1]
    assert json.loads(entry["after"])["via"] == "claim_confirmation"


async def test_an_unreadable_account_file_is_400_on_file(client):
    officer = await headers(StaffRole.OFFICER)
    url = "/api/v1/people/payment-accounts"
    for body, reason in (
        (b"PK\x03\x04 not a workbook", "could not be read|damaged|zip|ZIP"),
        (b"\xff\xfe\x00\x00", "neither UTF-8"),
        ("开户行,收款账号\r\n某行,123456789\r\n".encode(), "missing column"),
        (b"   ", "empty"),
    ):
        r = await client.post(url, content=body, headers=officer)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["errors"][0]["field"] in ("file", "header"), r.text
        assert re.search(reason, r.text), r.text


async def test_an_organisation_carries_a_bank_code(client):
    org = await paying_org(account=False)
    officer = await headers(StaffRole.OFFICER)
    url = f"/api/v1/organisations/{org['id']}/bank-account"
    body = {"bank_name": "工商银行东莞分行", "bank_account": "2010020009000123456",
            "bank_account_name": org["name"]}  # fmt: skip
    r = await client.put(url, json={**body, "bank_code": "10260200"}, headers=officer)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "bank_code", r.text
    r = await client.put(url, json={**body, "bank_code": "1026 0200 0001"}, headers=officer)
    assert r.status_code == 200 and r.json()["bank_code"] == "102602000001", r.text
    scheme = fresh_scheme()
    claim_id = await approved_claim(scheme, org["id"], 100)
    r = await client.post(BASE, json={"scheme": scheme}, headers=await headers())
    assert r.status_code == 201, r.text
    [line] = await lines_of(r.json()["batch"]["id"])
    assert (line["claim"], line["payee_kind"], line["payee_bank_code"]) == (
        claim_id, "organisation", "102602000001",
    )  # fmt: skip
