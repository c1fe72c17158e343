"""JSON text for a million claims at a time (pure): a claim's inputs row as an object,
and its trace as a list.

`json.dumps` per row costs seconds per million rows. Here a frame becomes JSON column by
column in Arrow's C++ kernels: each column turns into the JSON text of its values
(numbers cast, strings quoted, missing values `null`), and one element-wise join puts
the objects together. Values Arrow cannot render as JSON itself (nested dicts or
lists, strings holding quotes, backslashes or control characters) are encoded one by
one with msgspec, which is exact but slower; only those columns pay for it.

Dates at midnight are written as "YYYY-MM-DD", other datetimes as "YYYY-MM-DDTHH:MM:SS";
a float column whose values are all whole numbers is written as integers (pandas turns
an integer column with a gap into floats); NaN, NA and NaT are null. Non-ASCII text is
written as is (UTF-8), so traces stay readable in the database.
"""

from __future__ import annotations

from typing import Any

import msgspec
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_NEEDS_ESCAPE = r'[\x00-\x1f"\\]'
SAMPLE = 1_000  # traces looked at to decide whether rows share their steps


def _enc_hook(value: Any) -> Any:
    """Scalars msgspec does not know: numpy and pandas ones."""
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise NotImplementedError(f"cannot write {type(value).__name__} as JSON")


_ENCODER = msgspec.json.Encoder(enc_hook=_enc_hook)


def _python_values(column: pd.Series) -> list[Any]:
    """A column as Python values with missing ones as None."""
    values = column.astype(object).tolist()
    return [None if _missing(v) else v for v in values]


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def _each(column: pd.Series) -> pa.Array:
    """The slow, exact path: msgspec per value (dicts, lists, awkward strings)."""
    encode = _ENCODER.encode
    return pa.array([encode(v).decode() for v in _python_values(column)], type=pa.string())


def _quoted(strings: pa.Array) -> pa.Array:
    return pc.binary_join_element_wise('"', strings, '"', "")


def _datetimes(column: pd.Series) -> pa.Array:
    values = column.to_numpy(dtype="datetime64[ns]")
    days = values.astype("datetime64[D]")
    missing = np.isnat(values)
    unit = "D" if np.array_equal(days[~missing], values[~missing]) else "s"
    text = np.datetime_as_string(values, unit=unit)
    return _quoted(pa.array(text, type=pa.string(), mask=missing))


def _floats(values: pa.Array) -> pa.Array:
    finite = pc.is_finite(values)
    kept = pc.if_else(finite, values, pa.scalar(None, type=values.type))
    valid = pc.drop_null(kept)
    whole = len(valid) == 0 or (
        pc.all(pc.equal(pc.floor(valid), valid)).as_py()
        and pc.max(pc.abs(valid)).as_py() < 2**53  # exact as int64
    )
    return pc.cast(pc.cast(kept, pa.int64()) if whole else kept, pa.string())


def _fragments(column: pd.Series) -> pa.Array:
    """The JSON text of each value of `column` ("null" for missing ones)."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return pc.fill_null(_datetimes(column), "null")
    try:
        values = pa.array(column, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return _each(column)
    kind = values.type
    if pa.types.is_null(kind):
        return pa.array(["null"] * len(values), type=pa.string())
    if pa.types.is_boolean(kind):
        out = pc.if_else(values, "true", "false")
    elif pa.types.is_integer(kind):
        out = pc.cast(values, pa.string())
    elif pa.types.is_floating(kind):
        out = _floats(values)
    elif pa.types.is_date(kind):
        out = _quoted(pc.cast(values, pa.string()))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind):
        strings = pc.cast(values, pa.string())
        if pc.any(pc.match_substring_regex(strings, _NEEDS_ESCAPE)).as_py():
            return _each(column)
        out = _quoted(strings)
    else:
        return _each(column)
    return pc.fill_null(out, "null")


def rows_as_json_array(frame: pd.DataFrame) -> pa.Array:
    """Each row of `frame` as a JSON object {column: value}, in column order: an Arrow
    string array (kernel.copy_binary writes it as is)."""
    return _joined(frame, named=True)


def rows_as_json_values(frame: pd.DataFrame) -> pa.Array:
    """Each row of `frame` as a JSON list of its values, in column order (the names
    stored apart: tables.CalculationInputNames): an Arrow string array."""
    return _joined(frame, named=False)


def _joined(frame: pd.DataFrame, *, named: bool) -> pa.Array:
    opening, closing = ("{", "}") if named else ("[", "]")
    if len(frame) == 0:
        return pa.array([], type=pa.string())
    if len(frame.columns) == 0:
        return pa.array([opening + closing] * len(frame), type=pa.string())
    parts: list[Any] = []
    for number, name in enumerate(frame.columns):
        key = msgspec.json.encode(str(name)).decode() + ":" if named else ""
        parts.append((opening if number == 0 else ",") + key)
        parts.append(_fragments(frame.iloc[:, number]))
    parts.append(closing)
    return pc.binary_join_element_wise(*parts, "")


def list_as_json(items: list[Any]) -> str:
    """One list as JSON text (non-ASCII as is, like the rest of this module)."""
    return _ENCODER.encode(items).decode()


def named_values_as_object(names: str, values: str) -> str:
    """A JSON object from the JSON list of its names and the JSON list of its values
    (stored inputs: rows_as_json_values, tables.CalculationInputNames)."""
    pairs = zip(msgspec.json.decode(names), msgspec.json.decode(values), strict=True)
    return _ENCODER.encode(dict(pairs)).decode()


def distinct_lists_as_json(items: list[Any]) -> tuple[np.ndarray, list[str]]:
    """The items (traces: lists of {zh, en}) as distinct JSON texts, and per item the
    position of its text. Calculators give rows with the same figures the same step
    objects, so such rows are encoded once (judged on a sample: looking the steps up
    costs more than encoding when every row is new); equal texts are kept once."""
    encode = _ENCODER.encode

    def key(item: Any) -> tuple[int, ...]:
        return tuple(map(id, item)) if isinstance(item, list) else (id(item),)

    position: dict[str, int] = {}
    texts: list[str] = []

    def code(text: str) -> int:
        found = position.get(text)
        if found is None:
            found = position[text] = len(texts)
            texts.append(text)
        return found

    sample = items[:SAMPLE]
    if len({key(item) for item in sample}) > len(sample) // 2:
        codes = [code(encode(item).decode()) for item in items]
    else:
        by_steps: dict[tuple[int, ...], int] = {}
        codes = []
        for item in items:
            k = key(item)
            found = by_steps.get(k)
            if found is None:
                found = by_steps[k] = code(encode(item).decode())
            codes.append(found)
    return np.asarray(codes, dtype=np.int64), texts
