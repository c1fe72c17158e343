"""The bank payment file's layout (pure): one row per line, in line order.

Amounts are yuan with exactly two decimals and no thousands separator ("9000.00"), as
Chinese banks' bulk-payment templates take them, computed from fen with integers only.
Account numbers are text (in XLSX too: Excel would round a 19-digit number)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from registry.exports import Column
from subsidies.batches.rules import yuan

COLUMNS = (
    Column("line_no", "序号", "Line no", "int", 8),
    Column("reference", "支付参考号", "Payment reference", "text", 20),
    Column("payee_name", "收款人户名", "Payee name", "text", 30),
    Column("payee_account", "收款账号", "Account", "text", 24),
    Column("payee_bank", "开户银行", "Bank", "text", 30),
    Column("amount_yuan", "金额(元)", "Amount (yuan)", "text", 14),
    Column("purpose", "用途", "Purpose", "text", 40),
)


def rows(batch_number: str, lines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "line_no": line["line_no"],
            "reference": line["reference"],
            "payee_name": line["payee_name"],
            "payee_account": line["payee_account"],
            "payee_bank": line["payee_bank"],
            "amount_yuan": yuan(line["amount_fen"]),
            "purpose": f"{line['scheme']} {batch_number}",
        }
        for line in lines
    ]
