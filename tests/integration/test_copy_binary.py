"""kernel.copy_binary against PostgreSQL itself: the stream it builds is read back
value for value, NULLs, non-ASCII text and empty strings included."""

from datetime import UTC, datetime

import asyncpg
import numpy as np
import pyarrow as pa
import pytest

from kernel.copy_binary import copy_stream, pieces
from tests.support.services import PG_ADMIN_URL, require


@pytest.fixture
async def conn():
    require("postgresql")
    connection = await asyncpg.connect(PG_ADMIN_URL)
    await connection.execute(
        "CREATE TEMP TABLE copied (a integer, b bigint, at timestamptz, "
        "v integer, t varchar(200), u text)"
    )
    yield connection
    await connection.close()


async def test_a_built_stream_is_read_back_exactly(conn):
    at = datetime(2026, 11, 29, 8, 30, 15, 123456, tzinfo=UTC)
    rows = 5
    a = np.array([1, -2, 2**31 - 1, 0, 7], dtype=np.int64)
    b = np.array([2**40, -1, 0, 5, 9_000_000_00], dtype=np.int64)
    v = [None, 3, None, -4, 5]
    t = ["skill_level:1", None, "", "百校千人", "x" * 200]
    u = pa.array(['{"a":1}', "{}", '{"名":"张三"}', None, "[]"], type=pa.string())
    stream = copy_stream(
        rows,
        [("int4", a), ("int8", b), ("timestamptz", at), ("int4?", v), ("text", t), ("text", u)],
    )
    await conn.copy_to_table(
        "copied", source=pieces(stream), columns=["a", "b", "at", "v", "t", "u"], format="binary"
    )
    got = await conn.fetch("SELECT a, b, at, v, t, u FROM copied ORDER BY ctid")
    assert [tuple(r) for r in got] == list(
        zip(a.tolist(), b.tolist(), [at] * rows, v, t, u.to_pylist(), strict=True)
    )


async def test_no_rows_and_misshapen_columns(conn):
    await conn.copy_to_table(
        "copied", source=pieces(copy_stream(0, [("int4", np.array([]))])), columns=["a"],
        format="binary",
    )  # fmt: skip
    assert await conn.fetchval("SELECT count(*) FROM copied") == 0
    with pytest.raises(ValueError, match="must come first"):
        copy_stream(1, [("text", ["x"]), ("int4", np.array([1]))])
    with pytest.raises(ValueError, match="2 values for 1 rows"):
        copy_stream(1, [("int4", np.array([1])), ("text", ["x", "y"])])


async def test_a_slice_of_an_arrow_array_writes_its_own_values(conn):
    """Arrays that start inside their buffers (a slice, a take) write their own rows."""
    texts = pa.array(["skipped", "甲乙", None, "丙"], type=pa.string()).slice(1)
    stream = copy_stream(3, [("int4", np.array([1, 2, 3])), ("text", texts)])
    await conn.copy_to_table("copied", source=pieces(stream), columns=["a", "u"], format="binary")
    got = await conn.fetch("SELECT a, u FROM copied ORDER BY a")
    assert [tuple(r) for r in got] == [(1, "甲乙"), (2, None), (3, "丙")]


def test_a_value_too_large_for_its_column_is_refused_not_wrapped():
    with pytest.raises(OverflowError):
        copy_stream(1, [("int4", np.array([2**31]))])
    with pytest.raises(OverflowError):
        copy_stream(1, [("int8", np.array([0])), ("int4?", [2**31 - 1 + 1])])
