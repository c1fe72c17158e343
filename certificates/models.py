"""What each document shows, as plain data: callers (batch jobs, appraisals, vouchers)
build these from their own tables and call the render functions with them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

# Printed on every document as its issuer. Settings and the policy catalogue carry no
# issuer name: the bureau is the only one this service issues for.
ISSUING_AUTHORITY = "东莞市人力资源和社会保障局"


@dataclass(frozen=True)
class TraceStep:
    zh: str
    en: str


@dataclass(frozen=True)
class Verification:
    """The code printed on a document and the URL its QR code holds."""

    code: str
    url: str


@dataclass(frozen=True)
class NoticeData:
    """A disbursement notice to one payee (organisation or person) for one batch line."""

    verification: Verification
    batch_number: str
    line_no: int
    reference: str
    scheme: str
    scheme_title_zh: str
    scheme_title_en: str
    policy_source: str | None
    period_from: date | None
    period_to: date | None
    basis_date: date | None
    payee_kind: str  # person / organisation
    payee_name: str
    payee_id_masked: str  # masked resident ID, or the organisation's credit code
    payee_bank: str
    payee_account_masked: str
    amount_fen: int
    trace: Sequence[TraceStep]
    issued_on: date
    # The person the subsidy is for when the payee is someone else (an internship pays
    # the host enterprise for its intern), and the month it pays (monthly schemes).
    person_name: str | None = None
    person_id_masked: str | None = None
    month: date | None = None


@dataclass(frozen=True)
class SummaryLine:
    line_no: int
    reference: str
    scheme: str
    payee_name: str
    payee_id_masked: str
    payee_bank: str
    payee_account_masked: str
    amount_fen: int


@dataclass(frozen=True)
class SummaryData:
    """A batch summary: every line, page subtotals, grand total, signature blocks."""

    verification: Verification
    batch_number: str
    scheme: str | None
    period_from: date | None
    period_to: date | None
    built_by: str  # as signed: a staff member's name and role
    approved_by: str | None
    issued_on: date
    lines: Sequence[SummaryLine]
    scheme_titles: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AwardCertificateData:
    """Leading-talent award certificate (技能领军人才)."""

    verification: Verification
    certificate_number: str
    person_name: str
    person_id_masked: str
    route: str  # recognition (认定) / evaluation (评定)
    occupation_name: str
    awarded_on: date
    decision_reference: str  # e.g. 东人社发〔2022〕20号
    issued_on: date


@dataclass(frozen=True)
class StudioCertificateData:
    """Skills master studio certificate (技能大师工作室)."""

    verification: Verification
    certificate_number: str
    studio_name: str
    master_name: str
    host_organisation: str
    level: str  # city / province / national
    occupation_name: str
    established_on: date
    issued_on: date


@dataclass(frozen=True)
class VoucherData:
    """Training voucher (技能培训券)."""

    verification: Verification
    voucher_number: str
    person_name: str
    person_id_masked: str
    face_value_fen: int
    covers_levels: Sequence[int]
    issued_on: date
    expires_on: date
    scheme_title_zh: str = "技能培训券"
