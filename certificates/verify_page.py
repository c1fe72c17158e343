"""The verify page a phone opens from a document's QR code: the same answer as the JSON,
as one small bilingual HTML page with a form to check a PDF file."""

from __future__ import annotations

from typing import Any

from app.public_pages import render
from kernel.local_time import beijing_time

# The masked summary's keys (certificates.batch_jobs, certificates.single_jobs), in the
# order shown; a key not named here is shown under its own name.
LABELS = {
    "batch": "批次 Batch",
    "line_no": "行号 Line",
    "lines": "笔数 Lines",
    "scheme": "项目 Scheme",
    "payee": "收款人 Payee",
    "payee_id": "证件号 ID",
    "amount": "金额 Amount",
    "amount_in_words": "大写 In words",
    "total": "合计 Total",
    "total_in_words": "大写 In words",
    "certificate_number": "证书编号 Certificate number",
    "holder": "持有人 Holder",
    "holder_id": "证件号 ID",
    "occupation": "职业 Occupation",
    "awarded_on": "认定日期 Awarded on",
    "studio": "工作室 Studio",
    "host": "依托单位 Host",
    "level": "级别 Level",
    "established_on": "命名日期 Established on",
    "voucher_number": "培训券号 Voucher number",
    "face_value": "面额 Face value",
    "valid": "有效期 Valid",
    "issued_on": "签发日期 Issued on",
}


def fields(summary: dict[str, Any]) -> list[tuple[str, str]]:
    order = {key: i for i, key in enumerate(LABELS)}
    keys = sorted(summary, key=lambda k: (order.get(k, len(order)), k))
    return [(LABELS.get(k, k), str(summary[k])) for k in keys]


def page(code: str, found: dict[str, Any] | None, checked: bool | None = None) -> str:
    """`found`: what certificates.service.verify answered; `checked`: None when no file
    was sent, else whether the file matched."""
    return render(
        "verify_page.html",
        code=code,
        found=found,
        checked=checked,
        issued=beijing_time(found["issued_at"]) if found else "",
        fields=fields(found["summary"]) if found else [],
    )


def entry(error: str | None = None) -> str:
    """The page where someone holding a printed document types its code."""
    return render("verify_entry.html", error=error)
