"""Matching a parsed return file against a batch's lines (pure): what to apply, and what
to report and never apply (unknown references, amount mismatches, lines the bank now
reports differently from an earlier return)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from subsidies.batches import rules
from subsidies.batches.return_file import ReturnRow


@dataclass
class Plan:
    paid: list[tuple[ReturnRow, dict[str, Any]]] = field(default_factory=list)
    failed: list[tuple[ReturnRow, dict[str, Any]]] = field(default_factory=list)
    unchanged: list[ReturnRow] = field(default_factory=list)  # already settled the same way
    unknown: list[dict[str, Any]] = field(default_factory=list)
    mismatched: list[dict[str, Any]] = field(default_factory=list)
    contradicting: list[dict[str, Any]] = field(default_factory=list)


def plan(rows: list[ReturnRow], lines_by_reference: dict[str, dict[str, Any]]) -> Plan:
    result = Plan()
    for row in rows:
        line = lines_by_reference.get(row.reference)
        if line is None:
            result.unknown.append(
                {"row": row.row, "reference": row.reference,
                 "reason": "no line of this batch has this reference"}
            )  # fmt: skip
        elif row.amount_fen != line["amount_fen"]:
            result.mismatched.append(
                {
                    "row": row.row,
                    "reference": row.reference,
                    "expected_yuan": rules.yuan(line["amount_fen"]),
                    "returned_yuan": rules.yuan(row.amount_fen),
                    "reason": "the returned amount differs from the line's amount",
                }
            )
        elif line["status"] == rules.PENDING:
            (result.paid if row.result == rules.PAID else result.failed).append((row, line))
        elif line["status"] == row.result:
            result.unchanged.append(row)
        else:
            result.contradicting.append(
                {
                    "row": row.row,
                    "reference": row.reference,
                    "reason": f"the line was already settled as {line['status']}; "
                    f"this file says {row.result}",
                }
            )
    return result
