"""kernel.bulk_read gives the same typed columns on both engines (COPY and Arrow on
PostgreSQL, JSON arrays on SQLite), NULLs, order and awkward text included."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from kernel import bulk_read
from kernel.bulk_read import fetch_frame
from kernel.db import close_pool, engine, is_sqlite, raw_connection, unit_of_work
from tests.support import databases

ROWS = (
    "SELECT 1, NULL, 2.5, NULL, 'a', '', NULL, '2025-01-02', NULL, 1, NULL "
    "UNION ALL SELECT 2, 3, NULL, 1, 'x,\"y\"' || ? || '中文', 'q', 'z', NULL, '2024-02-29', 0, 1"
)
COLUMNS = ["a:int", "b:Int64", "c:float", "d", "e:text", "f:text", "g:text", "h:date",
           "i:date", "j:bool", "k:bool"]  # fmt: skip


def typed(sql: str) -> str:
    """PostgreSQL needs the NULLs and flags of the first row typed."""
    if is_sqlite(engine()):
        return sql
    return (
        sql.replace("SELECT 1, NULL, 2.5, NULL, 'a', '', NULL, '2025-01-02', NULL, 1, NULL",
                    "SELECT 1, NULL::bigint, 2.5, NULL::float, 'a', '', NULL::text, '2025-01-02', "
                    "NULL::text, true, NULL::bool")
        .replace("'2024-02-29', 0, 1", "'2024-02-29', false, true")
    )  # fmt: skip


async def test_columns_come_typed_with_nulls_kept(db):
    async with unit_of_work():
        frame = await fetch_frame(typed(ROWS), ["\n"], COLUMNS)
    assert frame["a"].dtype == np.int64 and frame["a"].tolist() == [1, 2]
    assert frame["b"].dtype == "Int64" and frame["b"].isna().tolist() == [True, False]
    assert frame["c"].iloc[0] == 2.5 and np.isnan(frame["c"].iloc[1])
    assert np.isnan(frame["d"].iloc[0]) and frame["d"].iloc[1] == 1.0
    assert frame["e"].tolist() == ["a", 'x,"y"\n中文']
    assert frame["f"].tolist() == ["", "q"]  # an empty string is not NULL
    assert frame["g"].tolist() == [None, "z"]
    assert frame["h"].tolist()[0] == pd.Timestamp("2025-01-02") and pd.isna(frame["h"].iloc[1])
    assert pd.isna(frame["i"].iloc[0]) and frame["i"].iloc[1] == pd.Timestamp("2024-02-29")
    assert frame["j"].tolist() == [True, False] and frame["k"].tolist() == [False, True]


async def test_no_rows_give_empty_typed_columns(db):
    async with unit_of_work():
        frame = await fetch_frame("SELECT 1, 'a' WHERE 1 = 0", [], ["n:int", "t:text"])
    assert list(frame.columns) == ["n", "t"] and len(frame) == 0
    assert frame["n"].dtype == np.int64


async def test_line_breaks_in_text_survive_a_result_of_many_blocks(db):
    """Arrow reads CSV in blocks of 1 MB; a block cut at a line break inside a quoted
    value would split that row."""
    rows = 60_000  # about 3 MB of CSV
    sql = (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
        "SELECT i, 'line one' || char(10) || 'line two of ' || i || ' 第二行' FROM n"
    )
    if not is_sqlite(engine()):
        sql = "SELECT i, 'line one' || chr(10) || 'line two of ' || i || ' 第二行' " + (
            "FROM generate_series(1, ?::int) AS i"
        )
    async with unit_of_work():
        frame = await fetch_frame(sql, [rows], ["i:int", "text:text"])
    assert frame["i"].tolist() == list(range(1, rows + 1))
    expected = [f"line one\nline two of {i} 第二行" for i in range(1, rows + 1)]
    assert frame["text"].tolist() == expected


async def test_a_null_in_a_one_column_result_is_a_row(db):
    """COPY writes it as an empty line, which a CSV reader may skip."""
    sql = "SELECT NULL UNION ALL SELECT 2 UNION ALL SELECT NULL"
    if not is_sqlite(engine()):
        sql = "SELECT NULL::bigint UNION ALL SELECT 2 UNION ALL SELECT NULL"
    async with unit_of_work():
        frame = await fetch_frame(sql, [], ["x:Int64"])
    assert frame["x"].isna().tolist() == [True, False, True]


async def test_a_null_in_an_int_column_is_refused(db):
    sql = "SELECT 1, 'a' UNION ALL SELECT NULL, 'b'"
    if not is_sqlite(engine()):
        sql = "SELECT 1::bigint, 'a' UNION ALL SELECT NULL, 'b'"
    async with unit_of_work():
        with pytest.raises(ValueError, match="NULL in an int column"):
            await fetch_frame(sql, [], ["n:int", "t:text"])


def _numbers(rows: int) -> str:
    """1..rows, one per row, on either engine (the row count as the one argument)."""
    if is_sqlite(engine()):
        return "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    return "WITH n(i) AS (SELECT generate_series(1, ?::int)) "


async def test_the_query_order_holds(db):
    """SQLite builds its arrays under an aggregate: the query's ORDER BY must still
    decide the order (the numbers are made ascending, asked for descending)."""
    sql = _numbers(5_000) + "SELECT i, 'n' || i FROM n ORDER BY i DESC"
    async with unit_of_work():
        frame = await fetch_frame(sql, [5_000], ["i:int", "t:text"])
    assert frame["i"].tolist() == list(range(5_000, 0, -1))
    assert frame["t"].tolist() == [f"n{i}" for i in range(5_000, 0, -1)]


async def test_reals_keep_every_digit(db):
    sql = "SELECT 0.30000000000000004, 1e300, NULL"
    if not is_sqlite(engine()):
        sql = "SELECT 0.30000000000000004::float8, 1e300::float8, NULL::float8"
    async with unit_of_work():
        frame = await fetch_frame(sql, [], ["a:float", "b:float", "c:float"])
    assert frame["a"].iloc[0] == 0.30000000000000004 and frame["b"].iloc[0] == 1e300
    assert np.isnan(frame["c"].iloc[0])


@pytest.fixture
async def sqlite_only(tmp_path):
    """An SQLite database of its own: the string limit under test is SQLite's (the next
    test's `db` binds its own engine again)."""
    await databases.fresh_database("sqlite", tmp_path)
    yield
    await close_pool()


async def test_a_result_over_sqlites_string_limit_comes_as_tuples(sqlite_only, monkeypatch):
    sql = _numbers(1_000) + "SELECT i, NULL, 'text of ' || i FROM n"
    asked: list[str] = []
    fetch_rows = bulk_read.fetch_rows

    async def recorded(query: str, args: list) -> list:
        asked.append(query)
        return await fetch_rows(query, args)

    monkeypatch.setattr(bulk_read, "fetch_rows", recorded)
    async with unit_of_work():
        connection = raw_connection()
        limit = connection.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 2_000)  # the arrays need more
        try:
            frame = await fetch_frame(sql, [1_000], ["i:int", "none:Int64", "t:text"])
        finally:
            connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limit)
    assert asked[0].startswith("WITH q(") and asked[1] == sql  # the arrays, then tuples
    assert frame["i"].tolist() == list(range(1, 1_001))
    assert frame["none"].isna().all() and frame["t"].iloc[-1] == "text of 1000"
