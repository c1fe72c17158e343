"""What a certificate's revocation does to the claims based on it (issue 4: "puts unpaid
amounts on hold and flags paid ones for recovery").

Registered with registry.certificate_events, so it runs inside the revocation job's unit
of work: either every claim is moved (each with its audit row) and the job is marked
done, or nothing is and the job is retried. Any scheme's claim that names the
certificate counts, not only skill-level ones.

- proposed, submitted, calculated, approved -> on_hold, with `hold_reason` naming the
  certificate and the revocation's reason. An approved claim's share of its cap and
  budget stays committed (on_hold is a committed status) until an officer decides.
- paid -> stays paid, with `recovery_reason`: the money is to be recovered.
- rejected, withdrawn, on hold already: untouched. A second run finds nothing to move.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from registry.certificate_events import on_certificate_revoked
from registry.levels import Level
from registry.tables import Certificate
from subsidies.claims.holds import hold_or_flag
from subsidies.claims.tables import Claim
from workers.runner import JobContext


def reason_text(cert: dict[str, Any], *, paid: bool) -> str:
    """One text in Chinese and English, e.g. "证书 No.12（车工 高级工）已于 2026-03-01
    撤销：伪造考核记录；暂停发放 / certificate No.12 (车工, senior worker) revoked on
    2026-03-01: forged record; payment on hold"."""
    level = Level(cert["level"])
    revoked_on: date | None = cert["revoked_on"]
    day = revoked_on.isoformat() if revoked_on else "?"
    reason = cert["revoked_reason"] or ""
    zh_then, en_then = (
        ("已发放资金应予追回", "the amount paid is to be recovered")
        if paid
        else (
            "暂停发放",
            "payment on hold",
        )
    )
    return (
        f"证书 {cert['number']}（{cert['occupation_name']} {level.zh}）已于 {day} 撤销：{reason}；"
        f"{zh_then} / certificate {cert['number']} ({cert['occupation_name']}, {level.en}) "
        f"revoked on {day}: {reason}; {en_then}"
    )


@on_certificate_revoked
async def hold_claims_of_revoked_certificate(certificate_id: int, ctx: JobContext) -> None:
    cert = (
        await Certificate.select(
            Certificate.number,
            Certificate.occupation_name,
            Certificate.level,
            Certificate.revoked_on,
            Certificate.revoked_reason,
        )
        .where(Certificate.id == certificate_id)
        .first()
        .run()
    )
    if cert is None:
        return
    await hold_or_flag(
        ctx.actor,
        Claim.certificate == certificate_id,
        reason_text(cert, paid=False),
        reason_text(cert, paid=True),
    )
