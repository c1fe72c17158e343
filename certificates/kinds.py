"""Document kinds, and which staff roles may download each (besides the organisation
a document names, e.g. the payee of a notice)."""

from __future__ import annotations

from accounts.roles import StaffRole

NOTICE = "disbursement_notice"
SUMMARY = "batch_summary"
AWARD = "award_certificate"
STUDIO = "studio_certificate"
VOUCHER = "training_voucher"

READERS: dict[str, frozenset[StaffRole]] = {
    NOTICE: frozenset({StaffRole.FINANCE, StaffRole.AUDITOR, StaffRole.ADMIN}),
    SUMMARY: frozenset({StaffRole.FINANCE, StaffRole.AUDITOR, StaffRole.ADMIN}),
    AWARD: frozenset({StaffRole.OFFICER, StaffRole.AUDITOR, StaffRole.ADMIN}),
    STUDIO: frozenset({StaffRole.OFFICER, StaffRole.AUDITOR, StaffRole.ADMIN}),
    VOUCHER: frozenset({StaffRole.OFFICER, StaffRole.AUDITOR, StaffRole.ADMIN}),
}

TITLES = {
    NOTICE: "补贴发放通知书 Subsidy disbursement notice",
    SUMMARY: "发放批次汇总表 Disbursement batch summary",
    AWARD: "技能领军人才证书 Leading-talent certificate",
    STUDIO: "技能大师工作室证书 Master studio certificate",
    VOUCHER: "技能培训券 Training voucher",
}
