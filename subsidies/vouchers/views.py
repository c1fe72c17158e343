"""Reading vouchers for whoever asks: staff see everything (whole ID numbers for
officers and admins); a training institution looks a voucher up by number to redeem
it and sees the holder's ID masked, and the redemption only if it made it."""

from __future__ import annotations

from typing import Any

from accounts.principal import Principal
from kernel.clock import local_today
from kernel.errors import InvalidInput, NotFound
from registry.visibility import shown_id
from subsidies.claims import statuses
from subsidies.claims.tables import Claim
from subsidies.vouchers import numbers, rules
from subsidies.vouchers.tables import Voucher

COLUMNS = (
    Voucher.id,
    Voucher.number,
    Voucher.person.as_alias("person_id"),
    Voucher.person.name.as_alias("person_name"),
    Voucher.person.id_number.as_alias("id_number"),
    Voucher.year,
    Voucher.ordinal,
    Voucher.policy_version.as_alias("policy_version_id"),
    Voucher.policy_version.version.as_alias("policy_version"),
    Voucher.face_value_fen,
    Voucher.covers_levels,
    Voucher.issued_on,
    Voucher.expires_on,
    Voucher.status,
    Voucher.issued_by,
    Voucher.institution.as_alias("institution_id"),
    Voucher.redeemed_on,
    Voucher.course,
    Voucher.occupation_code,
    Voucher.course_level,
    Voucher.course_start,
    Voucher.course_fee_fen,
    Voucher.cancelled_at,
    Voucher.cancel_reason,
)
_REDEMPTION = (
    "institution_id",
    "redeemed_on",
    "course",
    "occupation_code",
    "course_level",
    "course_start",
    "course_fee_fen",
)


def dedupe_key(voucher_id: int) -> str:
    return f"training_voucher:{voucher_id}"


def parse_number(text: str) -> tuple[str | None, str]:
    number, reason = numbers.parse(text)
    return number, reason or numbers.FORMAT_REASON


def canonical_number(text: str) -> str:
    number, reason = parse_number(text)
    if number is None:
        raise InvalidInput.single("number", reason)
    return number


async def row_by_number(number: str) -> dict[str, Any]:
    row = await Voucher.select(*COLUMNS).where(Voucher.number == number).first().run()
    if row is None:
        raise NotFound("no voucher with this number", number=number)
    return row


async def _live_claim(voucher_id: int) -> int | None:
    row = (
        await Claim.select(Claim.id)
        .where(
            (Claim.dedupe_key == dedupe_key(voucher_id)) & Claim.status.is_in(list(statuses.LIVE))
        )
        .first()
        .run()
    )
    return row["id"] if row else None


async def shown(who: Principal, row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["id_number"] = shown_id(who, row["id_number"])
    out["covers_levels"] = list(rules.parse_levels(row["covers_levels"]))
    out["status"] = rules.shown_status(row["status"], row["expires_on"], local_today())
    mine = who.is_staff or (
        row["institution_id"] is not None and row["institution_id"] == who.organisation_id
    )
    if not mine:
        for field in _REDEMPTION:
            out[field] = None
        out["cancel_reason"] = None
    out["claim_id"] = await _live_claim(row["id"]) if mine else None
    return out


async def get(who: Principal, number_text: str) -> dict[str, Any]:
    return await shown(who, await row_by_number(canonical_number(number_text)))
