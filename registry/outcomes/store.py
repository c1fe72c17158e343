"""Bulk reads and writes of an import, inside the job's one transaction.

Piccolo inserts one query at a time (about 20k rows/s here); a report can carry a
million rows, so this module speaks to the driver: executemany on SQLite, COPY into
a temporary table and one INSERT ... SELECT on PostgreSQL. Dates travel as ISO text,
which is how Piccolo stores them on SQLite and what PostgreSQL casts from.

Rows go to the driver a slice at a time (`SLICE_ROWS`): a million rows as Python
tuples would take more memory than the whole report as Arrow columns. PostgreSQL's
COPY gets CSV text that Arrow writes, with no Python object per value at all.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from kernel.clock import utcnow
from kernel.db import engine, is_sqlite, raw_connection

PERSON_COLUMNS = ["id", "id_number", "name"]
CERTIFICATE_COLUMNS = [
    "id",
    "issuer",
    "number",
    "id_number",
    "level",
    "issued_on",
    "occupation_code",
]
OUTCOME_COLUMNS = [
    "id", "person", "course", "start_date", "end_date",
    "occupation_code", "occupation_name", "hours", "passed", "certificate",
]  # fmt: skip


DATE_COLUMNS = {"issued_on", "start_date", "end_date"}
SLICE_ROWS = 100_000


def _frame(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    """Rows read back, with dates as datetime64 like the checked rows they meet."""
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for column in DATE_COLUMNS.intersection(columns):
        frame[column] = pd.to_datetime(frame[column], format="%Y-%m-%d").to_numpy(
            dtype="datetime64[D]"
        )
    return frame


def iso_dates(values: Any) -> list[str | None]:
    """datetime64 values as ISO text, through Arrow's cast (a million in ~0.1 s)."""
    array = pa.array(np.asarray(values, dtype="datetime64[D]"), type=pa.date32())
    return array.cast(pa.string()).to_pylist()


def _is_date(column: str) -> bool:
    return column.endswith("_date") or column == "issued_on"


# Ids where 0 stands for "none" in the frames (numpy has no integer NULL).
NULL_IF_ZERO = {"certificate_id"}


def _slices(frame: pd.DataFrame, columns: list[str], by: str | None) -> Iterator[pd.DataFrame]:
    """`frame[columns]` a slice at a time, in the order of column `by` if given
    (sorted rows land next to each other in an index: several times faster)."""
    order = np.arange(len(frame)) if by is None else frame[by].argsort(kind="stable").to_numpy()
    chosen = frame[columns]
    for start in range(0, len(frame), SLICE_ROWS):
        yield chosen.take(order[start : start + SLICE_ROWS])


def _python_values(values: pd.Series, column: str) -> list[Any]:
    if _is_date(column):
        return iso_dates(values)
    if column in NULL_IF_ZERO:
        return np.where(values.to_numpy() > 0, values.to_numpy(), None).tolist()
    return values.tolist()


def _records(
    frame: pd.DataFrame, columns: list[str], by: str | None = None
) -> Iterator[tuple[Any, ...]]:
    """Rows as tuples for executemany, built one slice at a time."""
    for part in _slices(frame, columns, by):
        yield from zip(*[_python_values(part[c], c) for c in columns], strict=True)


def _arrow_column(values: pd.Series, column: str) -> pa.Array:
    if _is_date(column):
        return pa.array(np.asarray(values, dtype="datetime64[D]"), type=pa.date32())
    if column in NULL_IF_ZERO:
        return pa.array(values.to_numpy(), mask=values.to_numpy() <= 0)
    if values.dtype == object:  # None for NULL (region warning)
        return pa.array(values.tolist(), type=pa.string())
    return pa.array(values)


async def _csv_slices(
    frame: pd.DataFrame, columns: list[str], by: str | None
) -> AsyncIterator[bytes]:
    """Rows as CSV for COPY, written by Arrow: NULL is an empty unquoted field, text is
    always quoted (so an empty string stays one), dates are ISO, booleans true/false."""
    options = pacsv.WriteOptions(include_header=False)
    for part in _slices(frame, columns, by):
        table = pa.table({c: _arrow_column(part[c], c) for c in columns})
        sink = pa.BufferOutputStream()
        pacsv.write_csv(table, sink, options)
        yield sink.getvalue().to_pybytes()


class Bulk:
    """One interface over both engines; pick with `Bulk.open()`."""

    @staticmethod
    def open(actor: str, report_id: int, institution_id: int) -> Bulk:
        cls = SqliteBulk if is_sqlite(engine()) else PostgresBulk
        return cls(actor, report_id, institution_id)

    def __init__(self, actor: str, report_id: int, institution_id: int) -> None:
        self.actor = actor
        self.report_id = report_id
        self.institution_id = institution_id
        self.now: datetime = utcnow()
        self.conn = raw_connection()

    def close(self) -> None:
        """Undoes per-import connection settings; PostgreSQL makes none."""


class SqliteBulk(Bulk):
    # A million-row import touches B-tree pages all over three indexes; SQLite's
    # default 2 MB page cache would reread them from the OS for every row.
    IMPORT_CACHE_KIB = 262144

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.conn.execute(f"PRAGMA cache_size = -{self.IMPORT_CACHE_KIB}")

    def close(self) -> None:
        self.conn.execute("PRAGMA cache_size = -2000")
        self.conn.execute("PRAGMA shrink_memory")

    def _select(self, sql: str, args: tuple[Any, ...], columns: list[str]) -> pd.DataFrame:
        cursor = self.conn.cursor()
        cursor.row_factory = None  # tuples, not dicts: a million rows
        try:
            return _frame(cursor.execute(sql, args).fetchall(), columns)
        finally:
            cursor.close()

    @property
    def _stamp(self) -> str:
        return str(self.now)  # Piccolo's own text form of a UTC timestamptz

    async def people(self, id_numbers: list[str]) -> pd.DataFrame:
        return self._select(
            "SELECT id + 0, id_number, name FROM person "
            "WHERE id_number IN (SELECT value FROM json_each(?))",
            (json.dumps(id_numbers),),
            PERSON_COLUMNS,
        )

    def _max_id(self, table: str) -> int:
        return self.conn.execute(f"SELECT coalesce(max(id), 0) AS top FROM {table}").fetchone()[
            "top"
        ]

    async def insert_people(self, new: pd.DataFrame) -> pd.DataFrame:
        """Inserts people (sorted by ID number, for index locality) and returns their
        ids. The transaction holds SQLite's only write lock, so the rows past the
        highest id before the insert are exactly these."""
        rows = _records(
            new, ["id_number", "name", "birth_date", "sex", "region_warning"], by="id_number"
        )
        top = self._max_id("person")
        self.conn.executemany(
            "INSERT INTO person (id_number, name, birth_date, sex, region_warning, hukou, "
            "fresh_graduate, created_by, created_at, updated_at) "
            f"VALUES (?, ?, ?, ?, ?, 'unknown', 0, ?, '{self._stamp}', '{self._stamp}') "
            "ON CONFLICT (id_number) DO NOTHING",
            ((*r, self.actor) for r in rows),
        )
        return self._select(
            "SELECT id + 0, id_number FROM person WHERE id > ?", (top,), ["id", "id_number"]
        )

    async def certificates(self, issuer_id: int, numbers: list[str]) -> pd.DataFrame:
        return self._select(
            "SELECT c.id, c.issuer, c.number, p.id_number, c.level, c.issued_on || '', "
            "c.occupation_code FROM certificate c JOIN person p ON p.id = c.person "
            "WHERE c.issuer = ? AND c.number IN (SELECT value FROM json_each(?))",
            (issuer_id, json.dumps(numbers)),
            CERTIFICATE_COLUMNS,
        )

    async def insert_certificates(self, new: pd.DataFrame) -> pd.DataFrame:
        rows = _records(
            new,
            ["person_id", "occupation_code", "occupation_name", "certificate_level",
             "certificate_number", "issuer_id", "certificate_date", "route"],
            by="person_id",
        )  # fmt: skip
        top = self._max_id("certificate")
        self.conn.executemany(
            "INSERT INTO certificate (person, occupation_code, occupation_name, level, number, "
            "issuer, issued_on, route, status, created_by, created_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'valid', ?, '{self._stamp}')",
            ((*r, self.actor) for r in rows),
        )
        return self._select(
            "SELECT id + 0, issuer + 0, number FROM certificate WHERE id > ?",
            (top,),
            ["id", "issuer", "number"],
        )

    async def outcomes(self, person_ids: list[int]) -> pd.DataFrame:
        return self._select(
            "SELECT id + 0, person + 0, course, start_date || '', end_date || '', "
            "occupation_code, occupation_name, hours + 0, passed + 0, certificate + 0 "
            "FROM training_outcome "
            "WHERE institution = ? AND person IN (SELECT value FROM json_each(?))",
            (self.institution_id, json.dumps(person_ids)),
            OUTCOME_COLUMNS,
        )

    async def insert_outcomes(self, new: pd.DataFrame) -> None:
        rows = _records(
            new,
            ["person_id", "course", "occupation_code", "occupation_name", "hours",
             "start_date", "end_date", "passed", "certificate_id", "late"],
            by="person_id",
        )  # fmt: skip
        self.conn.executemany(
            "INSERT INTO training_outcome (institution, report, reported_at, updated_at, "
            "person, course, occupation_code, occupation_name, hours, start_date, end_date, "
            "passed, certificate, late) "
            f"VALUES ({self.institution_id}, {self.report_id}, '{self._stamp}', '{self._stamp}', "
            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )

    async def update_outcomes(self, changed: pd.DataFrame) -> None:
        rows = _records(
            changed,
            ["occupation_code", "occupation_name", "hours", "passed", "certificate_id", "late",
             "outcome_id"],
        )  # fmt: skip
        self.conn.executemany(
            "UPDATE training_outcome SET occupation_code = ?, occupation_name = ?, hours = ?, "
            "passed = ?, certificate = ?, late = ?, "
            f"report = {self.report_id}, updated_at = '{self._stamp}' WHERE id = ?",
            rows,
        )


class PostgresBulk(Bulk):
    async def _select(self, sql: str, args: tuple[Any, ...], columns: list[str]) -> pd.DataFrame:
        return _frame(await self.conn.fetch(sql, *args), columns)

    async def _copy_temp(
        self,
        name: str,
        columns: dict[str, str],
        frame: pd.DataFrame,
        source: list[str],
        by: str | None = None,
    ) -> None:
        """A temporary table of `frame[source]` (as `columns`, in the order of `by`),
        filled by COPY."""
        spec = ", ".join(f"{c} {t}" for c, t in columns.items())
        await self.conn.execute(f"CREATE TEMP TABLE {name} ({spec}) ON COMMIT DROP")
        await self.conn.copy_to_table(
            name, source=_csv_slices(frame, source, by), columns=list(columns), format="csv"
        )

    async def people(self, id_numbers: list[str]) -> pd.DataFrame:
        return await self._select(
            "SELECT id, id_number, name FROM person WHERE id_number = ANY($1::varchar[])",
            (id_numbers,),
            PERSON_COLUMNS,
        )

    async def insert_people(self, new: pd.DataFrame) -> pd.DataFrame:
        columns = {"id_number": "text", "name": "text", "birth_date": "date", "sex": "text",
                   "region_warning": "text"}  # fmt: skip
        await self._copy_temp("import_person", columns, new, list(columns), by="id_number")
        # A person registered meanwhile by someone else is skipped here; the caller
        # looks the missing ones up.
        return await self._select(
            "INSERT INTO person (id_number, name, birth_date, sex, region_warning, hukou, "
            "fresh_graduate, created_by, created_at, updated_at) "
            "SELECT id_number, name, birth_date, sex, region_warning, 'unknown', false, "
            "$1, $2, $2 FROM import_person ON CONFLICT (id_number) DO NOTHING "
            "RETURNING id, id_number",
            (self.actor, self.now),
            ["id", "id_number"],
        )

    async def certificates(self, issuer_id: int, numbers: list[str]) -> pd.DataFrame:
        return await self._select(
            "SELECT c.id, c.issuer, c.number, p.id_number, c.level, c.issued_on::text, "
            "c.occupation_code FROM certificate c JOIN person p ON p.id = c.person "
            "WHERE c.issuer = $1 AND c.number = ANY($2::varchar[])",
            (issuer_id, numbers),
            CERTIFICATE_COLUMNS,
        )

    async def insert_certificates(self, new: pd.DataFrame) -> pd.DataFrame:
        columns = {"person": "integer", "occupation_code": "text", "occupation_name": "text",
                   "level": "smallint", "number": "text", "issuer": "integer",
                   "issued_on": "date", "route": "text"}  # fmt: skip
        source = ["person_id", "occupation_code", "occupation_name", "certificate_level",
                  "certificate_number", "issuer_id", "certificate_date", "route"]  # fmt: skip
        await self._copy_temp("import_certificate", columns, new, source, by="person_id")
        return await self._select(
            "INSERT INTO certificate (person, occupation_code, occupation_name, level, number, "
            "issuer, issued_on, route, status, created_by, created_at) "
            "SELECT person, occupation_code, occupation_name, level, number, issuer, "
            "issued_on, route, 'valid', $1, $2 FROM import_certificate "
            "RETURNING id, issuer, number",
            (self.actor, self.now),
            ["id", "issuer", "number"],
        )

    async def outcomes(self, person_ids: list[int]) -> pd.DataFrame:
        return await self._select(
            "SELECT id, person, course, start_date::text, end_date::text, occupation_code, "
            "occupation_name, hours, passed, certificate FROM training_outcome "
            "WHERE institution = $1 AND person = ANY($2::integer[])",
            (self.institution_id, person_ids),
            OUTCOME_COLUMNS,
        )

    async def insert_outcomes(self, new: pd.DataFrame) -> None:
        columns = {"person": "integer", "course": "text", "occupation_code": "text",
                   "occupation_name": "text", "hours": "integer", "start_date": "date",
                   "end_date": "date", "passed": "boolean", "certificate": "integer",
                   "late": "boolean"}  # fmt: skip
        source = ["person_id", "course", "occupation_code", "occupation_name", "hours",
                  "start_date", "end_date", "passed", "certificate_id", "late"]  # fmt: skip
        await self._copy_temp("import_outcome", columns, new, source, by="person_id")
        await self.conn.execute(
            "INSERT INTO training_outcome (institution, report, reported_at, updated_at, "
            "person, course, occupation_code, occupation_name, hours, start_date, end_date, "
            "passed, certificate, late) "
            "SELECT $1, $2, $3, $3, person, course, occupation_code, occupation_name, hours, "
            "start_date, end_date, passed, certificate, late FROM import_outcome",
            self.institution_id,
            self.report_id,
            self.now,
        )

    async def update_outcomes(self, changed: pd.DataFrame) -> None:
        columns = {"id": "integer", "occupation_code": "text", "occupation_name": "text",
                   "hours": "integer", "passed": "boolean", "certificate": "integer",
                   "late": "boolean"}  # fmt: skip
        source = ["outcome_id", "occupation_code", "occupation_name", "hours", "passed",
                  "certificate_id", "late"]  # fmt: skip
        await self._copy_temp("import_outcome_change", columns, changed, source)
        await self.conn.execute(
            "UPDATE training_outcome t SET occupation_code = c.occupation_code, "
            "occupation_name = c.occupation_name, hours = c.hours, passed = c.passed, "
            "certificate = c.certificate, late = c.late, report = $1, updated_at = $2 "
            "FROM import_outcome_change c WHERE t.id = c.id",
            self.report_id,
            self.now,
        )
