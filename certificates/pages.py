"""Pagination of the batch summary (pure).

The summary is paginated here, not by the layout engine, because each page prints
its own subtotal and the running total: rows have a fixed height (one line, clipped),
so a page of `per_page` rows always fits, and the totals are exact integer sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from certificates.models import SummaryLine

ROWS_PER_PAGE = 28
# The last page also carries the grand total, the amount in words and the signatures.
ROWS_ON_LAST_PAGE = 10


@dataclass(frozen=True)
class SummaryPage:
    number: int
    lines: Sequence[SummaryLine]
    subtotal_fen: int
    carried_fen: int  # running total up to and including this page
    last: bool


def paginate(
    lines: Sequence[SummaryLine],
    per_page: int = ROWS_PER_PAGE,
    on_last_page: int = ROWS_ON_LAST_PAGE,
) -> list[SummaryPage]:
    bounds = [(i, min(i + per_page, len(lines))) for i in range(0, len(lines), per_page)]
    if not bounds or bounds[-1][1] - bounds[-1][0] > on_last_page:
        bounds.append((len(lines), len(lines)))  # a page with the totals only
    pages: list[SummaryPage] = []
    carried = 0
    for number, (start, end) in enumerate(bounds, start=1):
        chunk = lines[start:end]
        subtotal = sum(line.amount_fen for line in chunk)
        carried += subtotal
        pages.append(SummaryPage(number, chunk, subtotal, carried, number == len(bounds)))
    return pages


# The listing is set in Noto Sans Mono CJK SC, where a Chinese character is exactly
# two Latin columns wide: padding by display width aligns columns without a table
# (a table cell per value made a 10,000-line summary take minutes to lay out).
COLUMNS = (  # (heading, width in Latin columns, right-aligned)
    ("行号", 7, True),
    ("支付参考号 Reference", 20, False),
    ("项目 Scheme", 16, False),
    ("收款人 Payee", 30, False),
    ("证件 ID", 18, False),
    ("开户行 Bank", 26, False),
    ("账号 Account", 16, False),
    ("金额 Amount", 17, True),
)


def display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fit(text: str, width: int, right: bool = False) -> str:
    """`text` padded (or cut, ending in '..') to exactly `width` columns."""
    if display_width(text) > width:
        out, used = "", 0
        for ch in text:
            w = display_width(ch)
            if used + w > width - 2:
                break
            out += ch
            used += w
        text = out + ".."
    pad = " " * (width - display_width(text))
    return pad + text if right else text + pad


def listing_row(values: Sequence[str]) -> str:
    return " ".join(
        fit(value, width, right) for value, (_, width, right) in zip(values, COLUMNS, strict=True)
    )


def listing_header() -> str:
    return listing_row([heading for heading, _, _ in COLUMNS])
