"""Pagination of the batch summary (pure).

The summary is paginated here, not by the layout engine, because each page prints
its own subtotal and the running total: a row takes one text line per line of its
tallest cell (a value wider than its column wraps, never cut), a page holds a fixed
number of text lines, and the totals are exact integer sums.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from certificates.capitals import figures
from certificates.models import SummaryLine
from kernel.labels import SCHEME, label

LINES_PER_PAGE = 28
# The last page also carries the grand total, the amount in words and the signatures.
LINES_ON_LAST_PAGE = 10


@dataclass(frozen=True)
class SummaryPage:
    number: int
    lines: Sequence[SummaryLine]
    subtotal_fen: int
    carried_fen: int  # running total up to and including this page
    last: bool


def paginate(
    lines: Sequence[SummaryLine],
    per_page: int = LINES_PER_PAGE,
    on_last_page: int = LINES_ON_LAST_PAGE,
) -> list[SummaryPage]:
    """Pages of at most `per_page` text lines; the last page holds at most
    `on_last_page` (room for the totals) and, unless there are no lines at all, at least
    one row: a page never shows an empty listing."""
    heights = [row_height(summary_cells(line)) for line in lines]
    bounds: list[tuple[int, int]] = []
    start, used = 0, 0
    for i, height in enumerate(heights):
        if i > start and used + height > per_page:
            bounds.append((start, i))
            start, used = i, 0
        used += height
    bounds.append((start, len(lines)))
    first, end = bounds[-1]
    if end - first > 1 and sum(heights[first:end]) > on_last_page:
        # The rows that fit beside the totals move to a last page of their own.
        split, used = end - 1, heights[end - 1]
        while split - 1 > first and used + heights[split - 1] <= on_last_page:
            split -= 1
            used += heights[split]
        bounds[-1:] = [(first, split), (split, end)]
    pages: list[SummaryPage] = []
    carried = 0
    for number, (a, b) in enumerate(bounds, start=1):
        chunk = lines[a:b]
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
    ("账号 Account", 24, False),
    ("金额 Amount", 17, True),
)


def summary_cells(line: SummaryLine) -> list[str]:
    return [
        str(line.line_no),
        line.reference,
        label(SCHEME, line.scheme),
        line.payee_name,
        line.payee_id_masked,
        line.payee_bank,
        line.payee_account_masked,
        figures(line.amount_fen),
    ]


def display_width(text: str) -> int:
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


def wrap(text: str, width: int) -> list[str]:
    """`text` in pieces of at most `width` columns (at least one piece)."""
    pieces, piece, used = [], "", 0
    for ch in text:
        w = display_width(ch)
        if piece and used + w > width:
            pieces.append(piece)
            piece, used = "", 0
        piece += ch
        used += w
    return [*pieces, piece]


def row_height(values: Sequence[str]) -> int:
    return max(
        len(wrap(value, width)) for value, (_, width, _) in zip(values, COLUMNS, strict=True)
    )


def listing_row(values: Sequence[str]) -> str:
    """One row, on as many text lines as its tallest cell needs."""
    cells = [wrap(value, width) for value, (_, width, _) in zip(values, COLUMNS, strict=True)]
    height = max(len(c) for c in cells)
    return "\n".join(
        " ".join(
            fit(cell[n] if n < len(cell) else "", width, right)
            for cell, (_, width, right) in zip(cells, COLUMNS, strict=True)
        ).rstrip()
        for n in range(height)
    )


def listing_header() -> str:
    return listing_row([heading for heading, _, _ in COLUMNS])
