"""Caps that span claims (9,000 yuan per intern per programme, 50,000 yuan per person),
applied in the order of the rows given, vectorised.

`apply_cap` takes the uncapped amounts of a run's rows (the caller sorts them by claim
id, so a run fills a cap in claim-id order and its results never depend on anything
else), the group each row counts against, and what other claims of that group already
hold. Each row gets what is left of the cap after the rows before it in its group:

    granted through row i  = clip(min(cap, already + sum of amounts up to i) - already, 0)
    capped amount of row i = granted through i - granted through the row before

so a group already at (or over) its cap gets 0 for every row, and a row that would
cross the cap gets exactly the remainder. All integers (fen): no rounding happens here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def apply_cap(
    amount_fen: np.ndarray,
    group_key: Any,
    already_fen: np.ndarray,
    cap_fen: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Returns (capped amount, held before the row) per row, both int64 fen.

    `amount_fen`: uncapped amounts (>= 0) in the order the cap should fill.
    `group_key`: one key per row (array-like; str, int, ...); rows of one key share a cap.
    `already_fen`: what other claims of the row's group hold; the same for every row of
    a group (the first row's value counts for the group).
    `cap_fen`: the cap per group.
    "Held before" = already_fen + what earlier rows of the same group were granted:
    the figure a trace quotes as "x already paid".
    """
    amount = np.asarray(amount_fen, dtype=np.int64)
    n = len(amount)
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    if np.any(amount < 0):
        raise ValueError("amounts must not be negative")
    codes, _ = pd.factorize(np.asarray(group_key), use_na_sentinel=False)
    codes = codes.astype(np.int64, copy=False)
    already = np.asarray(already_fen, dtype=np.int64)
    cap = np.int64(cap_fen)
    # A row alone in its group (most rows: one claim per person in a run) needs no
    # sorting: what is left of the cap after `already`, at most its amount.
    alone = np.bincount(codes)[codes] == 1
    several = np.flatnonzero(~alone)
    if len(several) > n // 2:  # mostly groups (an intern's months): sort them all
        return _in_groups(amount, codes, already, cap)
    capped = np.clip(np.minimum(cap, already + amount) - already, 0, None)
    held = already.copy()
    if len(several):
        capped[several], held[several] = _in_groups(
            amount[several], codes[several], already[several], cap
        )
    return capped, held


def _in_groups(
    amount: np.ndarray, codes: np.ndarray, already_fen: np.ndarray, cap: np.int64
) -> tuple[np.ndarray, np.ndarray]:
    """apply_cap for rows of groups with several rows (int64 group codes)."""
    n = len(amount)
    # Stable sort by group keeps each group's rows in the given order.
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    sorted_amount = amount[order]
    starts = np.empty(n, dtype=bool)
    starts[0] = True
    np.not_equal(sorted_codes[1:], sorted_codes[:-1], out=starts[1:])
    start_index = np.flatnonzero(starts)
    group_of_row = np.cumsum(starts) - 1
    # Inclusive cumulative sum within each group.
    total = np.cumsum(sorted_amount)
    before_group = total[start_index] - sorted_amount[start_index]
    within = total - before_group[group_of_row]
    already = already_fen[order][start_index][group_of_row]
    granted_through = np.clip(np.minimum(cap, already + within) - already, 0, None)
    granted_before = np.clip(np.minimum(cap, already + within - sorted_amount) - already, 0, None)
    capped = np.empty(n, dtype=np.int64)
    held = np.empty(n, dtype=np.int64)
    capped[order] = granted_through - granted_before
    held[order] = already + granted_before
    return capped, held
