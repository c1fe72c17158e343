"""Pure rules of batches: statuses, batch numbers, payment references, the totals check."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from kernel.errors import Conflict
from subsidies.claims import statuses

# Batch statuses. A batch is built and submitted in one step (its declared figures are
# fixed then); DRAFT is reserved for a later "save without submitting".
DRAFT = "draft"
SUBMITTED = "submitted"
APPROVED = "approved"
CLOSED = "closed"
FAILED = "failed"
CANCELLED = "cancelled"  # by finance before approval; its claims went back to the pool
RELEASED = "released"  # failed, then its unpaid claims released after an investigation
BATCH_STATUSES = (DRAFT, SUBMITTED, APPROVED, CLOSED, FAILED, CANCELLED, RELEASED)
OPEN = (DRAFT, SUBMITTED, APPROVED)  # its claims are held by it

# Line statuses.
PENDING = "pending"
PAID = "paid"
LINE_FAILED = "failed"
LINE_CANCELLED = "cancelled"  # its batch was cancelled before approval
SETTLED = (PAID, LINE_FAILED)


class TotalsMismatch(Conflict):
    """A batch's lines no longer add up to the figures it declared at submission."""

    code = "totals_mismatch"


def check_totals(declared_count: int, declared_total_fen: int, amounts: Iterable[int]) -> None:
    """Raise TotalsMismatch naming both figures when the lines differ from the
    declaration in count or in sum (a tampered, added or deleted line)."""
    amounts = list(amounts)
    count, total = len(amounts), sum(amounts)
    problems = []
    if count != declared_count:
        problems.append(f"{count} lines where {declared_count} were declared")
    if total != declared_total_fen:
        problems.append(
            f"lines total {total} fen ({yuan(total)} yuan) where {declared_total_fen} fen "
            f"({yuan(declared_total_fen)} yuan) was declared"
        )
    if any(a <= 0 for a in amounts):
        problems.append("a line has an amount of zero or less")
    if problems:
        raise TotalsMismatch(
            "batch totals check failed: " + "; ".join(problems),
            field="lines",
            declared_count=declared_count,
            declared_total_fen=declared_total_fen,
            actual_count=count,
            actual_total_fen=total,
        )


# What a payment goes out on. Their digest is taken at submission, so a line whose
# account (or payee, bank, reference) is changed afterwards fails the batch just like a
# changed amount: the totals alone would not notice a payment redirected.
DIGEST_FIELDS = (
    "line_no",
    "claim",
    "payee_kind",
    "payee_name",
    "payee_account",
    "payee_bank",
    "amount_fen",
    "reference",
)


def lines_digest(lines: Iterable[Mapping[str, Any]]) -> str:
    """sha256 over the DIGEST_FIELDS of every line, in line order, and its bank code
    where it has one (so lines without one keep the digest they were declared with)."""
    digest = hashlib.sha256()
    for line in sorted(lines, key=lambda x: x["line_no"]):
        row = [line[name] for name in DIGEST_FIELDS]
        if line.get("payee_bank_code"):
            row.append(line["payee_bank_code"])
        digest.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
    return digest.hexdigest()


def check_digest(declared: str | None, lines: Iterable[Mapping[str, Any]]) -> None:
    """Raise TotalsMismatch when the lines' payment details differ from those declared
    (None: a batch submitted before digests existed, which has only its totals)."""
    if declared is None:
        return
    actual = lines_digest(lines)
    if actual != declared:
        raise TotalsMismatch(
            "batch lines' payees, accounts, banks or references differ from those declared "
            "at submission 付款明细与提交时不一致",
            field="lines",
            declared_digest=declared,
            actual_digest=actual,
        )


def check_against_claims(lines: Iterable[dict]) -> None:
    """Each line must still pay exactly its claim's approved amount: catches a line and
    the declared total altered together. `lines` carry amount_fen and claim_amount_fen."""
    bad = [
        f"line {line['line_no']}: {line['amount_fen']} fen, claim {line['claim']} "
        f"approved {line['claim_amount_fen']} fen"
        for line in lines
        if line["amount_fen"] != line["claim_amount_fen"]
    ]
    if bad:
        raise TotalsMismatch(
            "batch lines differ from their approved claims: " + "; ".join(bad[:20]),
            field="lines",
        )


def ensure_claims_payable(lines: Iterable[dict]) -> None:
    """Before a batch goes to the bank every claim must still be approved: a claim put
    on hold (its certificate or award revoked) while it waited in the batch is not paid.
    `lines` carry line_no, claim and claim_status."""
    held = [
        f"line {line['line_no']}: claim {line['claim']} is {line['claim_status']}"
        for line in lines
        if line["claim_status"] != statuses.APPROVED
    ]
    if held:
        raise Conflict(
            "claims of this batch may no longer be paid: " + "; ".join(held[:20]),
            field="lines",
        )


def yuan(fen: int) -> str:
    """Fen as yuan with exactly two decimals, no grouping: 900000 -> '9000.00'. Integer
    arithmetic only, so no float rounding ever reaches a bank file."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def batch_number(year: int, batch_id: int) -> str:
    """PB-2026-000001: the year it was built and the batch's id (unique by itself)."""
    return f"PB-{year}-{batch_id:06d}"


def payment_reference(batch_id: int, line_no: int) -> str:
    """Unique across batches (the batch id is), at most 20 ASCII characters as bank
    interfaces allow, with a check digit so a mistyped reference in a return file is
    caught as unknown rather than matched to another line."""
    body = f"{batch_id:07d}{line_no:06d}"
    return f"PB{body}{_check_digit(body)}"


def valid_reference(reference: str) -> bool:
    body = reference[2:-1]
    return (
        len(reference) == 16
        and reference.startswith("PB")
        and body.isdigit()
        and reference[-1] == _check_digit(body)
    )


def _check_digit(digits: str) -> str:
    """Luhn check digit."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)
