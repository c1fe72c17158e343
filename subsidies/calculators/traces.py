"""Traces for a million rows without a million Python calls (pure).

A run's rows fall into few distinct cases (a level, what lower levels hold, what the
cap already holds, ...), so a calculator builds each distinct step or trace once and
maps the rows onto them by integer codes. Rows of one case share the same objects:
nothing may mutate a trace after the calculator returns it (subsidies.claims.json_text
encodes shared steps once for the same reason).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd


def objects(values: list[Any]) -> np.ndarray:
    """A 1-d object array holding `values` as they are (numpy would nest lists)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value (int, float, bool, str)."""
    return value.item() if isinstance(value, np.generic) else value


def combined_codes(*columns: np.ndarray) -> np.ndarray:
    """One int64 code per row, equal for rows whose values agree in every column, from
    0 up to the number of distinct combinations (first seen first)."""
    combined = np.zeros(len(columns[0]), dtype=np.int64)
    span = 1  # combined < span
    for column in columns:
        codes, uniques = pd.factorize(column, use_na_sentinel=False)
        if span * len(uniques) >= 2**62:  # keep the mixed code from overflowing
            combined, kept = pd.factorize(combined)
            span = len(kept)
        combined = combined * len(uniques) + codes
        span *= len(uniques)
    return pd.factorize(combined)[0].astype(np.int64, copy=False)


def first_rows(codes: np.ndarray, count: int) -> np.ndarray:
    """For each code 0..count-1, the first row holding it."""
    firsts = np.empty(count, dtype=np.int64)
    firsts[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return firsts


def factorized(build: Callable[..., Any], *columns: np.ndarray) -> np.ndarray:
    """`build(*values)` once per distinct combination of the columns' values, as an
    object array with one entry per row (rows of a combination share the object)."""
    if len(columns[0]) == 0:
        return objects([])
    codes = combined_codes(*columns)
    firsts = first_rows(codes, int(codes.max()) + 1)
    built = [build(*(plain(column[i]) for column in columns)) for i in firsts.tolist()]
    return objects(built)[codes]
