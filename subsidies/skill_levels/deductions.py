"""The claims a skill-level difference deducts, named in its trace (pure, vectorised).

A claim is written `claim:level:occupation:fen` (facts.py lists the stored ones so, `;`
between them); a row's list is its stored claims, then the run's rows of its group
that paid before it. Claim ids make every such trace a text of its own, so the texts
are made with Arrow's string kernels rather than once per row in Python.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from subsidies.skill_levels.texts import level_names, yuan


def entry_texts(
    claim_ids: np.ndarray, level: np.ndarray, occupation: np.ndarray, fen: np.ndarray
) -> np.ndarray:
    """Claims as `claim:level:occupation:fen` (an object array of str)."""
    text = (
        pd.Series(claim_ids.astype(np.int64)).astype(str)
        + ":"
        + pd.Series(np.nan_to_num(level).astype(np.int64)).astype(str)
        + ":"
        + pd.Series(occupation, dtype=object).astype(str)
        + ":"
        + pd.Series(fen.astype(np.int64)).astype(str)
    )
    return text.to_numpy(dtype=object)


class InRun:
    """The run's rows each row deducts: those of its group (a person, or a person and
    occupation) that paid before it, rank by rank."""

    def __init__(self, ids: np.ndarray, level: np.ndarray, occupation: np.ndarray) -> None:
        self.ids, self.level, self.occupation = ids, level, occupation
        self.listed = np.zeros(0, dtype=object)  # per group: its rows that paid so far
        self.entries = np.full(len(ids), "", dtype=object)

    def step(self, rows: np.ndarray, groups: np.ndarray, paid: np.ndarray) -> None:
        """`rows` (one per group) deduct what their groups' earlier rows paid; then
        those that pay (`paid` > 0) join their groups."""
        if len(self.listed) <= int(groups.max(initial=-1)):
            grown = np.full(int(groups.max()) + 1, "", dtype=object)
            grown[: len(self.listed)] = self.listed
            self.listed = grown
        before = self.listed[groups]
        self.entries[rows] = before
        now = paid > 0
        if not now.any():
            return
        at = rows[now]
        entry = entry_texts(self.ids[at], self.level[at], self.occupation[at], paid[now])
        earlier = before[now]
        self.listed[groups[now]] = np.where(earlier == "", entry, earlier + ";" + entry)


def deducted(
    per_person: bool,
    rows: np.ndarray,
    stored: np.ndarray,
    in_run: np.ndarray,
    level: np.ndarray,
    occupation: np.ndarray,
) -> np.ndarray:
    """Per row of `rows` (those deducting what claims hold; "" elsewhere): its stored
    claims, then the run's. Per occupation, only stored claims of a lower level in the
    row's own occupation count (facts.py lists all the person's)."""
    own = np.where(rows, stored, "")
    if not per_person:  # the option, not the default: one row at a time is enough
        for i in np.flatnonzero(own != "").tolist():
            own[i] = ";".join(
                e
                for e in own[i].split(";")
                if _level(e) > level[i] and e.split(":")[2] == occupation[i]
            )
    run = np.where(rows, in_run, "")
    both = (own != "") & (run != "")
    out = np.where(own == "", run, own)
    out[both] = own[both] + ";" + run[both]
    return out


def _level(entry: str) -> float:
    text = entry.split(":")[1]
    return float(text) if text else np.nan


def _mapped(values: pa.Array, text: Callable[[Any], str]) -> pa.Array:
    """`text(value)` for each of `values`, computed once per distinct value."""
    encoded = pc.dictionary_encode(values)
    names = pa.array([text(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return names.take(encoded.indices)


def step_texts(
    listed: list[str], held: list[int], where_zh: str, where_en: str
) -> tuple[list[str], list[str]]:
    """The step naming the claims deducted, per row: (Chinese, English), e.g.
    本人已享受 3,000 元：申领 12（6-18-02-04，高级工，3,000 元）."""
    if not listed:
        return [], []
    lists = pc.split_pattern(pa.array(listed, type=pa.string()), ";")
    fields = pc.split_pattern(pc.list_flatten(lists), ":")
    claim, level_text, occupation, fen = (pc.list_element(fields, i) for i in range(4))
    level_zh = _mapped(level_text, lambda v: level_names(float(v) if v else np.nan)[0])
    level_en = _mapped(level_text, lambda v: level_names(float(v) if v else np.nan)[1])
    amount = _mapped(fen, lambda v: yuan(int(v)))
    zh = pc.binary_join_element_wise(
        "申领 ", claim, "（", occupation, "，", level_zh, "，", amount, " 元）", ""
    )
    en = pc.binary_join_element_wise(
        "claim ", claim, " (", occupation, ", ", level_en, ", ", amount, ")", ""
    )
    per_row_zh = pc.binary_join(pa.ListArray.from_arrays(lists.offsets, zh), "、")
    per_row_en = pc.binary_join(pa.ListArray.from_arrays(lists.offsets, en), "; ")
    total = _mapped(pa.array(held, type=pa.int64()), yuan)
    return (
        pc.binary_join_element_wise(
            where_zh, "已享受 ", total, " 元：", per_row_zh, ""
        ).to_pylist(),
        pc.binary_join_element_wise(
            total, " already paid ", where_en, ": ", per_row_en, ""
        ).to_pylist(),
    )
