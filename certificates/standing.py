"""Whether what a genuine document attests still holds, for the verify page: a revoked
award's certificate is still the certificate we issued, but whoever checks it must see
that the award was revoked. Read live from the subject's own table at each check."""

from __future__ import annotations

from datetime import date
from typing import Any

from certificates import kinds
from kernel.clock import local_today
from registry.appraisals.tables import TalentAward
from registry.studios.tables import Studio
from subsidies.batches.tables import BatchLine, DisbursementBatch
from subsidies.vouchers import rules as vouchers
from subsidies.vouchers.tables import Voucher

VALID = {"state": "valid", "zh": "有效", "en": "in force"}


def _state(state: str, zh: str, en: str, since: date | None = None) -> dict[str, Any]:
    if since is None:
        return {"state": state, "zh": zh, "en": en}
    day = since.isoformat()
    return {"state": state, "zh": f"{zh}（{day}）", "en": f"{en} ({day})"}


async def _award(award_id: int) -> dict[str, Any] | None:
    row = await (
        TalentAward.select(TalentAward.status, TalentAward.revoked_on)
        .where(TalentAward.id == award_id)
        .first()
        .run()
    )
    if row and row["status"] == "revoked":
        return _state("revoked", "称号已撤销", "the award was revoked", row["revoked_on"])
    return VALID if row else None


async def _studio(studio_id: int) -> dict[str, Any] | None:
    row = await (
        Studio.select(Studio.status, Studio.revoked_on).where(Studio.id == studio_id).first().run()
    )
    if row and row["status"] == "revoked":
        return _state("revoked", "工作室已撤销", "the studio was revoked", row["revoked_on"])
    return VALID if row else None


async def _voucher(voucher_id: int) -> dict[str, Any] | None:
    row = await (
        Voucher.select(Voucher.status, Voucher.expires_on)
        .where(Voucher.id == voucher_id)
        .first()
        .run()
    )
    if row is None:
        return None
    if row["status"] == vouchers.CANCELLED:
        return _state("cancelled", "培训券已作废", "the voucher was cancelled")
    if row["status"] == vouchers.REDEEMED:
        return _state("redeemed", "培训券已使用", "the voucher has been used")
    if row["expires_on"] < local_today():
        return _state("expired", "培训券已过期", "the voucher has expired", row["expires_on"])
    return VALID


async def _notice(line_id: int) -> dict[str, Any] | None:
    row = await (
        BatchLine.select(
            BatchLine.status,
            BatchLine.batch.status.as_alias("batch_status"),
            BatchLine.claim.status.as_alias("claim_status"),
        )
        .where(BatchLine.id == line_id)
        .first()
        .run()
    )
    if row is None:
        return None
    if row["status"] == "pending" and row["batch_status"] == "failed":
        return _state(
            "stopped", "本批次已停止发放，待核查", "stopped: its batch is under investigation"
        )
    if row["status"] == "paid":
        return _state("paid", "款项已支付", "paid")
    if row["status"] == "failed":
        return _state("failed", "银行支付失败，款项未到账", "the bank payment failed: not paid")
    if row["status"] == "cancelled":
        return _state("void", "本批次已撤销，本通知作废", "void: its batch was withdrawn")
    if row["claim_status"] == "on_hold":
        return _state("on_hold", "款项暂停支付，待核查", "on hold: not paid while it is checked")
    return _state("pending", "待银行支付", "awaiting the bank's payment")


async def _summary(batch_id: int) -> dict[str, Any] | None:
    row = await (
        DisbursementBatch.select(DisbursementBatch.status)
        .where(DisbursementBatch.id == batch_id)
        .first()
        .run()
    )
    if row is None:
        return None
    if row["status"] == "failed":  # money may be at the bank: not "void"
        return _state(
            "stopped", "本批次已停止发放，待核查", "stopped: the batch is under investigation"
        )
    if row["status"] in ("cancelled", "released"):
        return _state("void", "本批次已撤回，汇总表作废", "void: the batch was withdrawn")
    return VALID


_BY_KIND = {
    kinds.AWARD: _award,
    kinds.STUDIO: _studio,
    kinds.VOUCHER: _voucher,
    kinds.NOTICE: _notice,
    kinds.SUMMARY: _summary,
}


async def standing(kind: str, subject: str) -> dict[str, Any] | None:
    """{"state", "zh", "en"} for a document's subject ("talent_award:7" ...), or None
    when the kind is unknown here or the subject is gone."""
    look = _BY_KIND.get(kind)
    _, _, number = subject.rpartition(":")
    if look is None or not number.isdigit():
        return None
    return await look(int(number))
