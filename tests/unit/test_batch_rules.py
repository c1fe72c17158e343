"""Batches, the pure parts: the totals check, amounts in yuan, references, payees, the
payment file's layout, reading the bank's return file and matching it to lines."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

import pytest
import python_calamine

from kernel.errors import Conflict, InvalidInput
from subsidies.batches import payment_file, payment_layout, rules
from subsidies.batches.payees import Payee, payee_of
from subsidies.batches.reconciliation_plan import plan
from subsidies.batches.return_file import parse, parse_amount
from subsidies.batches.rules import TotalsMismatch, check_totals
from tests.support import xlsx_cells


def test_totals_that_match_the_declaration_pass():
    check_totals(3, 1_200_000, [300_000, 400_000, 500_000])


@pytest.mark.parametrize(
    ("count", "total", "amounts", "says"),
    [
        (3, 1_200_000, [300_000, 400_001, 500_000], "1200001 fen (12000.01 yuan)"),
        (3, 1_200_000, [300_000, 900_000], "2 lines where 3 were declared"),
        (2, 900_000, [300_000, 900_000, -300_000], "3 lines where 2 were declared"),
        (1, 0, [0], "zero or less"),
    ],
)
def test_a_tampered_added_or_removed_line_fails_the_check_naming_the_figures(
    count, total, amounts, says
):
    with pytest.raises(TotalsMismatch) as caught:
        check_totals(count, total, amounts)
    assert says in caught.value.message
    assert caught.value.details["declared_total_fen"] == total
    assert caught.value.details["actual_total_fen"] == sum(amounts)


def test_only_approved_claims_are_payable():
    ok = {"line_no": 1, "claim": 7, "claim_status": "approved"}
    rules.ensure_claims_payable([ok])
    held = {"line_no": 2, "claim": 8, "claim_status": "on_hold"}
    with pytest.raises(Conflict) as caught:
        rules.ensure_claims_payable([ok, held])
    assert caught.value.message.endswith("line 2: claim 8 is on_hold")
    assert not isinstance(caught.value, TotalsMismatch)  # refused, the batch is not failed


@pytest.mark.parametrize(
    ("fen", "text"),
    [(1, "0.01"), (10, "0.10"), (1000, "10.00"), (900_000, "9000.00"), (1_000_050, "10000.50"),
     (600_000_000, "6000000.00"), (0, "0.00"), (-5, "-0.05")],
)  # fmt: skip
def test_yuan_has_two_decimals_and_no_grouping(fen, text):
    assert rules.yuan(fen) == text


def test_references_are_unique_short_and_carry_a_check_digit():
    refs = {rules.payment_reference(b, n) for b in (1, 2, 9_999_999) for n in range(1, 200)}
    assert len(refs) == 3 * 199
    ref = rules.payment_reference(42, 7)
    assert ref == "PB" + "0000042" + "000007" + ref[-1] and len(ref) == 16
    assert all(rules.valid_reference(r) for r in refs)
    typo = ref[:5] + str((int(ref[5]) + 1) % 10) + ref[6:]
    assert not rules.valid_reference(typo)
    assert rules.batch_number(2026, 1) == "PB-2026-000001"


def _claim(**over):
    base = {
        "id": 1, "scheme": "internship", "amount_fen": 900_000, "payee_kind": "person",
        "person": 5, "payee_organisation": None, "person_name": "张三",
        "person_bank_name": "东莞农商银行", "person_bank_account": "6221000011112222",
        "organisation_name": None, "organisation_bank_name": None,
        "organisation_bank_account": None, "organisation_account_name": None,
        "person_bank_code": "402602000018", "person_account_unconfirmed_by": None,
        "organisation_bank_code": None,
    }  # fmt: skip
    return base | over


def test_a_person_is_paid_into_their_own_account():
    assert payee_of(_claim()) == Payee(
        "person", "张三", "6221000011112222", "东莞农商银行", "402602000018", 5, None
    )


def test_an_account_changed_after_approval_waits_for_a_second_officer():
    reason = payee_of(_claim(person_account_unconfirmed_by="staff:7:li"))
    assert isinstance(reason, str) and "another officer must confirm" in reason
    assert "/api/v1/people/5/payment-account/confirmation" in reason


def test_an_organisation_is_paid_under_its_account_name():
    claim = _claim(
        payee_kind="organisation", person=None, payee_organisation=9,
        organisation_name="东莞某公司", organisation_bank_name="工商银行东莞分行",
        organisation_bank_account="1234567890123", organisation_account_name="东莞某有限公司",
    )  # fmt: skip
    payee = payee_of(claim)
    assert isinstance(payee, Payee)
    assert (payee.name, payee.organisation_id) == ("东莞某有限公司", 9)


def test_a_payee_without_an_account_is_a_reason_not_a_payee():
    assert payee_of(_claim(person_bank_account=None)) == "the person has no bank account on record"
    assert "no bank account and no bank" in payee_of(
        _claim(person_bank_account=" ", person_bank_name="")
    )


def _lines():
    return [
        {"line_no": 1, "reference": rules.payment_reference(3, 1), "payee_name": "张三",
         "payee_account": "6221000011112222333", "payee_bank": "东莞农商银行",
         "payee_bank_code": "402602000018", "payee_kind": "person", "amount_fen": 900_001,
         "scheme": "skill_level", "basis_date": date(2026, 11, 3)},
        {"line_no": 2, "reference": rules.payment_reference(3, 2), "payee_name": "=HYPERLINK()",
         "payee_account": "0012345678", "payee_bank": "工商银行", "payee_bank_code": None,
         "payee_kind": "organisation", "amount_fen": 5, "scheme": "internship",
         "basis_date": date(2026, 2, 28)},
        {"line_no": 3, "reference": rules.payment_reference(3, 3), "payee_name": "李四",
         "payee_account": "6221000011113333", "payee_bank": "中国银行", "payee_bank_code": None,
         "payee_kind": "person", "amount_fen": 300_050, "scheme": "skill_level",
         "basis_date": date(2026, 11, 30)},
    ]  # fmt: skip


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.reader(f))


def test_the_default_payment_file_carries_what_a_bank_needs_and_a_control_record(tmp_path):
    digests = payment_file.write_files(tmp_path, "PB-2026-000003", _lines())
    assert set(digests) == set(payment_layout.load_layouts()) >= {"default", "drcbank"}
    assert set(digests["default"]) == {"csv", "xlsx"}
    rows = _csv_rows(payment_file.path_of(tmp_path, "PB-2026-000003", "csv"))
    assert rows[0] == [
        "序号", "收款账号", "收款户名", "开户行", "联行号", "金额", "对私/对公", "用途/附言",
        "参考号",
    ]  # fmt: skip
    assert rows[1] == [
        "1", "6221000011112222333", "张三", "东莞农商银行", "402602000018", "9000.01", "对私",
        "技能等级提升资助 2026年11月", rules.payment_reference(3, 1),
    ]  # fmt: skip
    assert rows[2][2] == "'=HYPERLINK()"  # no formula runs in Excel
    assert rows[2][1] == "0012345678" and rows[2][4:7] == ["", "0.05", "对公"]
    assert rows[2][7] == "实习补贴 2026年2月"
    # The control record: 合计, the count, the total in the amount column.
    assert rows[4] == ["合计", "3", "", "", "", "12000.56", "", "", ""]
    assert len(rows) == 5
    # Writing again gives the same CSV (a retried job changes nothing).
    again = payment_file.write_files(tmp_path, "PB-2026-000003", _lines())
    assert again["default"]["csv"] == digests["default"]["csv"]


def test_xlsx_amounts_are_numbers_formatted_with_two_decimals_and_the_total_adds_up(tmp_path):
    payment_file.write_files(tmp_path, "PB-2026-000003", _lines())
    cells = xlsx_cells.cells(payment_file.path_of(tmp_path, "PB-2026-000003", "xlsx"))
    amounts = [cells[f"F{r}"] for r in (2, 3, 4)]
    assert [value for value, _ in amounts] == [9000.01, 0.05, 3000.5]
    assert {number_format for _, number_format in amounts} == {"0.00"}
    total, total_format = cells["F5"]
    assert cells["A5"][0] == "合计" and cells["B5"][0] == 3
    assert total_format == "0.00" and total == pytest.approx(sum(v for v, _ in amounts))
    assert total == 12000.56
    # Accounts and bank codes stay text: Excel would round a 19-digit number.
    assert cells["B2"][0] == "6221000011112222333" and cells["B3"][0] == "0012345678"
    assert cells["E2"][0] == "402602000018"
    assert cells["A2"] == (1, "General")
    sheet = python_calamine.CalamineWorkbook.from_path(
        str(payment_file.path_of(tmp_path, "PB-2026-000003", "xlsx"))
    ).get_sheet_by_index(0)
    assert sheet.name == "代发明细"


def test_a_bank_layout_sets_column_order_headers_and_the_kind_codes(tmp_path):
    payment_file.write_files(tmp_path, "PB-2026-000003", _lines())
    rows = _csv_rows(payment_file.path_of(tmp_path, "PB-2026-000003", "csv", "drcbank"))
    assert rows[0][:5] == ["序号", "客户参考号", "收款人名称", "收款人账号", "交易金额"]
    assert rows[1][:6] == ["1", rules.payment_reference(3, 1), "张三", "6221000011112222333",
                           "9000.01", "0"]  # fmt: skip
    assert rows[2][5] == "1"  # 对公
    assert rows[-1][:5] == ["合计", "3", "", "", "12000.56"]
    cells = xlsx_cells.cells(payment_file.path_of(tmp_path, "PB-2026-000003", "xlsx", "drcbank"))
    assert cells["E2"] == (9000.01, "0.00") and cells["E5"] == (12000.56, "0.00")


def test_layouts_are_data_checked_when_read_and_chosen_by_name():
    spec = {"title": "t", "personal": "对私", "corporate": "对公"}
    columns = [{"field": f, "header": f} for f in payment_layout.FIELDS]
    assert set(payment_layout.parse_layouts({"default": {**spec, "columns": columns}})) == {
        "default"
    }
    with pytest.raises(ValueError, match="unknown field 'iban'"):
        payment_layout.parse_layouts(
            {"default": {**spec, "columns": [*columns[:-1], {"field": "iban", "header": "x"}]}}
        )
    with pytest.raises(ValueError, match="missing: reference"):
        payment_layout.parse_layouts({"default": {**spec, "columns": columns[:-1]}})
    with pytest.raises(ValueError, match="one named 'default'"):
        payment_layout.parse_layouts({"icbc": {**spec, "columns": columns}})
    assert payment_layout.layout_named(None).name == "default"
    assert payment_layout.layout_named("drcbank").title == "东莞农村商业银行批量代发"
    with pytest.raises(InvalidInput) as refused:
        payment_layout.layout_named("nosuchbank")
    assert refused.value.errors[0].field == "layout"
    assert "'nosuchbank'" in refused.value.errors[0].reason


@pytest.mark.parametrize(
    ("text", "fen"),
    [("9000", 900_000), ("9000.5", 900_050), ("9,000.00", 900_000), ("0.01", 1),
     ("9000.001", None), ("-1", None), ("0", None), ("abc", None), ("", None), ("NaN", None),
     ("1e5", None), ("+5", None), (" 12.30 ", 1230)],
)  # fmt: skip
def test_returned_amounts_are_read_exactly(text, fen):
    assert parse_amount(text) == fen


def test_a_return_file_is_read_with_chinese_or_english_headers():
    rows, errors = parse("支付参考号,金额,结果,原因\nPB1,9000.00,成功,\nPB2,10.5,失败,账户已销户\n")
    assert errors == []
    assert [(r.row, r.reference, r.amount_fen, r.result, r.reason) for r in rows] == [
        (2, "PB1", 900_000, "paid", None),
        (3, "PB2", 1050, "failed", "账户已销户"),
    ]


def test_malformed_rows_are_reported_by_row_and_column():
    text = (
        "reference,amount,result,reason\n"
        "PB1,9000.00,paid,\n"
        ",12,paid,\n"
        "PB3,12.345,paid,\n"
        "PB4,10,maybe,\n"
        "PB5,10,failed,\n"
        "PB1,9000.00,paid,\n"
    )
    _, errors = parse(text)
    found = {(e.field, e.reason.split(" ")[0]) for e in errors}
    assert ("row 3, column reference", "is") in found
    assert ("row 4, column amount", "'12.345'") in found
    assert ("row 5, column result", "'maybe'") in found
    assert ("row 6, column reason", "a") in found
    assert ("row 7, column reference", "appears") in found


def test_a_file_that_is_not_csv_text_is_refused_whole():
    assert parse("reference,amount,result\nA\x00,1,paid\n")[1][0].field == "file"
    assert "not a readable CSV" in parse('reference,amount,result\nA,"1,paid\n')[1][0].reason


def test_a_file_without_the_needed_header_is_refused():
    _, errors = parse("ref,amt\nPB1,1\n")
    assert errors and errors[0].field == "header"
    _, errors = parse("reference,amount,result\n")
    assert errors and "no rows" in errors[0].reason


def test_the_plan_applies_matches_and_reports_the_rest():
    lines = {
        "A": {"id": 1, "claim": 11, "amount_fen": 100, "status": "pending"},
        "B": {"id": 2, "claim": 12, "amount_fen": 200, "status": "pending"},
        "C": {"id": 3, "claim": 13, "amount_fen": 300, "status": "pending"},
        "D": {"id": 4, "claim": 14, "amount_fen": 400, "status": "paid"},
        "E": {"id": 5, "claim": 15, "amount_fen": 500, "status": "paid"},
    }
    rows, errors = parse(
        "reference,amount,result,reason\n"
        "A,1.00,paid,\nB,2.00,failed,closed account\nC,3.01,paid,\n"
        "D,4.00,paid,\nE,5.00,failed,late\nZ,1.00,paid,\n"
    )
    assert not errors
    result = plan(rows, lines)
    assert [line["id"] for _, line in result.paid] == [1]
    assert [line["id"] for _, line in result.failed] == [2]
    assert [r.reference for r in result.unchanged] == ["D"]
    assert result.mismatched == [
        {"row": 4, "reference": "C", "expected_yuan": "3.00", "returned_yuan": "3.01",
         "reason": "the returned amount differs from the line's amount"}
    ]  # fmt: skip
    assert [u["row"] for u in result.unknown] == [7]
    assert [c["reference"] for c in result.contradicting] == ["E"]


def test_the_digest_covers_every_payment_detail_and_not_the_line_status():
    import pytest

    from subsidies.batches.rules import TotalsMismatch, check_digest, lines_digest

    lines = [
        {"line_no": n, "claim": 10 + n, "payee_kind": "organisation", "payee_name": "东莞精工",
         "payee_account": f"8002000000{n}", "payee_bank": "东莞农商银行", "amount_fen": 900_000,
         "reference": f"PB00000100000{n}", "status": "pending"}
        for n in (1, 2)
    ]  # fmt: skip
    declared = lines_digest(lines)
    assert lines_digest(list(reversed(lines))) == declared  # line order, not row order
    check_digest(declared, [{**x, "status": "paid"} for x in lines])
    check_digest(None, lines)  # a batch from before digests: totals only
    for field, value in (("payee_account", "6222000011112222"), ("payee_name", "别人"),
                         ("payee_bank", "另一银行"), ("reference", "PB0000010000099"),
                         ("claim", 99), ("amount_fen", 900_001)):  # fmt: skip
        changed = [{**lines[0], field: value}, lines[1]]
        with pytest.raises(TotalsMismatch, match="accounts"):
            check_digest(declared, changed)


# The worker entry as `dramatiq workers.actors` imports it, with the layouts file put
# elsewhere (its path is the module's, not a setting).
_IMPORT_WORKERS = (
    "import pathlib, sys; from subsidies.batches import payment_layout; "
    "payment_layout.LAYOUTS_FILE = pathlib.Path(sys.argv[1]); import workers.actors"
)


def test_a_broken_layouts_file_stops_the_api_and_workers_at_startup(tmp_path, monkeypatch):
    import subprocess
    import sys

    from app.factory import create_app
    from app.settings import Settings
    from tests.support.processes import ROOT, env_for

    broken = tmp_path / "payment_layouts.toml"
    cases = {
        "[default\ntitle = 1": "Expected ']'",
        '[default]\ntitle = "t"': "missing key 'columns'",
    }
    payment_layout.configured_layouts.cache_clear()
    monkeypatch.setattr(payment_layout, "LAYOUTS_FILE", broken)
    try:
        for text, message in cases.items():
            broken.write_text(text, encoding="utf-8")
            with pytest.raises(ValueError, match=f"payment layouts file {broken}: .*{message}"):
                payment_layout.load_layouts(broken)
            payment_layout.configured_layouts.cache_clear()
            with pytest.raises(RuntimeError, match=f"cannot start: .*{message}"):
                create_app(Settings.from_env(), run_jobs=False)
            worker = subprocess.run(
                [sys.executable, "-c", _IMPORT_WORKERS, str(broken)],
                cwd=ROOT, env=env_for(PYTHONPATH=str(ROOT)), capture_output=True, text=True,
                timeout=120,
            )  # fmt: skip
            assert worker.returncode != 0
            last = worker.stderr.strip().splitlines()[-1]
            assert last.startswith("RuntimeError: cannot start: ") and message in last, last
    finally:
        payment_layout.configured_layouts.cache_clear()


def test_layouts_are_read_once():
    payment_layout.configured_layouts.cache_clear()
    first = payment_layout.configured_layouts()
    assert payment_layout.configured_layouts() is first
    assert payment_layout.layout_named(None) is first["default"]
