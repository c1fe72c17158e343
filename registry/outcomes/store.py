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

import asyncpg
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from kernel.clock import utcnow
from kernel.db import engine, is_sqlite, raw_connection
from kernel.errors import Conflict

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
    "occupation_code", "occupation_name", "hours", "passed", "certificate", "stored_as",
]  # fmt: skip

# What an earlier attempt of this same report wrote ('new' or 'updated'; NULL for rows
# of other reports): a retry counts those rows as that attempt did, and writes nothing.
STORED_AS = (
    "CASE WHEN t.report = {report} THEN CASE WHEN t.reported_at = t.updated_at "
    "THEN 'new' ELSE 'updated' END END"
)


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
    """datetime64 values as ISO text (None for NaT). A column holds a few hundred
    distinct dates: each is written once and the rows share its text, which the
    driver then encodes once too."""
    codes, uniques = pd.factorize(np.asarray(values, dtype="datetime64[D]"))
    text = pa.array(np.asarray(uniques, dtype="datetime64[D]"), type=pa.date32())
    shared = np.array([*text.cast(pa.string()).to_pylist(), None], dtype=object)
    return shared[codes].tolist()  # code -1 (NaT) picks the None at the end


def _is_date(column: str) -> bool:
    return column.endswith("_date") or column == "issued_on"


# Ids where 0 stands for "none" in the frames (numpy has no integer NULL).
NULL_IF_ZERO = {"certificate_id"}


def _order(frame: pd.DataFrame, by: str | None) -> np.ndarray:
    """The positions of `frame`'s rows in the order of column `by` (sorted rows land
    next to each other in an index: several times faster to insert)."""
    return np.arange(len(frame)) if by is None else frame[by].argsort(kind="stable").to_numpy()


def _slices(frame: pd.DataFrame, columns: list[str], by: str | None) -> Iterator[pd.DataFrame]:
    """`frame[columns]` a slice at a time, in the order of column `by` if given."""
    order = _order(frame, by)
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
    """One interface over both engines; pick with `Bulk.open()`.

    Lookups take lists of distinct values. Inserts return the new rows' ids aligned
    with the frame they were given, so no lookup by text is needed to find them again."""

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

    # Whether transactions can write side by side (registry.outcomes.parts): SQLite has
    # one writer at a time.
    parallel_writers = False

    def again(self) -> Bulk:
        """Another of the same kind and time, on the open unit of work's connection."""
        other = type(self)(self.actor, self.report_id, self.institution_id)
        other.now = self.now
        return other

    async def limit_lock_waits(self, seconds: int) -> None:
        """Makes a statement of this transaction fail after waiting `seconds` for a lock
        (PostgreSQL; SQLite has its busy timeout)."""

    def close(self) -> None:
        """Undoes per-import connection settings; PostgreSQL makes none."""


def _ids_in_order(frame: pd.DataFrame, by: str, ascending: np.ndarray) -> np.ndarray:
    """The ids `ascending` given to `frame`'s rows in the order of column `by`, aligned
    with the frame."""
    ids = np.empty(len(frame), dtype=np.int64)
    ids[_order(frame, by)] = ascending
    return ids


def _marks(count: int) -> str:
    return ", ".join("?" * count)


PERSON_INSERT = ["id", "id_number", "name", "birth_date", "sex", "region_warning", "created_by"]
CERTIFICATE_INSERT = {
    "id": "id", "person_id": "person", "occupation_code": "occupation_code",
    "occupation_name": "occupation_name", "certificate_level": "level",
    "certificate_number": "number", "issuer_id": "issuer", "certificate_date": "issued_on",
    "route": "route",
}  # fmt: skip
CERTIFICATE_TYPES = {
    "id": "integer", "person": "integer", "occupation_code": "text", "occupation_name": "text",
    "level": "smallint", "number": "text", "issuer": "integer", "issued_on": "date",
    "route": "text",
}  # fmt: skip
OUTCOME_TYPES = {
    "person": "integer", "course": "text", "occupation_code": "text", "occupation_name": "text",
    "hours": "integer", "start_date": "date", "end_date": "date", "passed": "boolean",
    "certificate": "integer", "late": "boolean",
}  # fmt: skip
OUTCOME_INSERT = {
    "person_id": "person", "course": "course", "occupation_code": "occupation_code",
    "occupation_name": "occupation_name", "hours": "hours", "start_date": "start_date",
    "end_date": "end_date", "passed": "passed", "certificate_id": "certificate",
    "late": "late",
}  # fmt: skip


def _distinct_json(values: list[Any]) -> str:
    """The values once each, as a JSON array: a value listed twice would match its
    row twice in the CROSS JOINs below (PostgreSQL's `= ANY` would not)."""
    return json.dumps(list(dict.fromkeys(values)))


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

    # The lookups let the list drive the join (CROSS JOIN keeps that order): one index
    # probe per value. `IN (SELECT value FROM json_each(?))` sorts the list into a
    # temporary B-tree first: 0.47 s instead of 0.06 s for 800,000 unknown ID numbers.

    async def people(self, id_numbers: list[str]) -> pd.DataFrame:
        return self._select(
            "SELECT p.id + 0, p.id_number, p.name FROM json_each(?) j "
            "CROSS JOIN person p ON p.id_number = j.value",
            (_distinct_json(id_numbers),),
            PERSON_COLUMNS,
        )

    async def new_ids(self, table: str, frame: pd.DataFrame, by: str) -> np.ndarray:
        """Ids past the table's highest, in the order of column `by`. The transaction
        holds SQLite's only write lock (since before the lookups), so they are free."""
        top = self.conn.execute(f"SELECT coalesce(max(id), 0) AS top FROM {table}").fetchone()
        return _ids_in_order(frame, by, top["top"] + 1 + np.arange(len(frame)))

    async def insert_people(self, new: pd.DataFrame) -> None:
        """No ON CONFLICT: the write lock was held since the lookup that found these ID
        numbers unregistered, so a clash would be a bug, and fails the job loudly."""
        # The actor is a column, not added to each tuple: one tuple per row, not two.
        rows = _records(new.assign(created_by=self.actor), PERSON_INSERT, by="id")
        self.conn.executemany(
            f"INSERT INTO person ({', '.join(PERSON_INSERT)}, hukou, fresh_graduate, "
            "created_at, updated_at) "
            f"VALUES ({_marks(len(PERSON_INSERT))}, 'unknown', 0, '{self._stamp}', "
            f"'{self._stamp}')",
            rows,
        )

    async def certificates(self, issuer_id: int, numbers: list[str]) -> pd.DataFrame:
        return self._select(
            "SELECT c.id, c.issuer, c.number, p.id_number, c.level, c.issued_on || '', "
            "c.occupation_code FROM json_each(?) j "
            "CROSS JOIN certificate c ON c.issuer = ? AND c.number = j.value "
            "JOIN person p ON p.id = c.person",
            (_distinct_json(numbers), issuer_id),
            CERTIFICATE_COLUMNS,
        )

    async def insert_certificates(self, new: pd.DataFrame) -> None:
        columns = [*CERTIFICATE_INSERT, "created_by"]
        rows = _records(new.assign(created_by=self.actor), columns, by="id")
        self.conn.executemany(
            f"INSERT INTO certificate ({', '.join(CERTIFICATE_INSERT.values())}, created_by, "
            f"status, created_at) VALUES ({_marks(len(columns))}, 'valid', '{self._stamp}')",
            rows,
        )

    async def outcomes(self, person_ids: list[int]) -> pd.DataFrame:
        return self._select(
            "SELECT t.id + 0, t.person + 0, t.course, t.start_date || '', t.end_date || '', "
            "t.occupation_code, t.occupation_name, t.hours + 0, t.passed + 0, "
            f"t.certificate + 0, {STORED_AS.format(report='?')} FROM json_each(?) j "
            "CROSS JOIN training_outcome t ON t.institution = ? AND t.person = j.value",
            (self.report_id, _distinct_json(person_ids), self.institution_id),
            OUTCOME_COLUMNS,
        )

    async def insert_outcomes(self, new: pd.DataFrame) -> None:
        rows = _records(new, list(OUTCOME_INSERT), by="person_id")
        self.conn.executemany(
            "INSERT INTO training_outcome (institution, report, reported_at, updated_at, "
            f"{', '.join(OUTCOME_INSERT.values())}) "
            f"VALUES ({self.institution_id}, {self.report_id}, '{self._stamp}', '{self._stamp}', "
            f"{_marks(len(OUTCOME_INSERT))})",
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
    parallel_writers = True

    async def limit_lock_waits(self, seconds: int) -> None:
        await self.conn.execute(f"SET LOCAL lock_timeout = '{int(seconds)}s'")

    async def _select(self, sql: str, args: tuple[Any, ...], columns: list[str]) -> pd.DataFrame:
        return _frame(await self.conn.fetch(sql, *args), columns)

    async def _copy(
        self,
        table: str,
        frame: pd.DataFrame,
        columns: dict[str, str],
        by: str | None = None,
    ) -> None:
        """COPY of `frame`'s columns (keys of `columns`) into `table`'s (its values),
        in the order of column `by`."""
        await self.conn.copy_to_table(
            table, source=_csv_slices(frame, list(columns), by), columns=list(columns.values()),
            format="csv",
        )  # fmt: skip

    async def _copy_through_temp(
        self,
        table: str,
        frame: pd.DataFrame,
        columns: dict[str, str],
        types: dict[str, str],
        by: str,
        constants: dict[str, Any],
    ) -> None:
        """COPY into a temporary table, then one INSERT ... SELECT: COPY straight into
        the tables was slower, with foreign keys checked per row (14.2 s against 13.7 s
        for 1M outcomes) and per statement (a 1M-row import on a slow VM: 60.9 and 61.5 s
        against 59.1 and 59.5 s)."""
        temporary = f"import_{table}"
        await self._temp_table(temporary, {c: types[c] for c in columns.values()})
        await self._copy(temporary, frame, columns, by)
        targets = [*columns.values(), *constants]
        values = [*columns.values(), *(f"${n}" for n in range(1, len(constants) + 1))]
        await self.conn.execute(
            f"INSERT INTO {table} ({', '.join(targets)}) "
            f"SELECT {', '.join(values)} FROM {temporary}",
            *constants.values(),
        )

    async def _temp_table(self, name: str, columns: dict[str, str]) -> None:
        spec = ", ".join(f"{c} {t}" for c, t in columns.items())
        await self.conn.execute(f"CREATE TEMP TABLE {name} ({spec}) ON COMMIT DROP")

    async def new_ids(self, table: str, frame: pd.DataFrame, by: str) -> np.ndarray:
        """Ids drawn from the table's sequence (two round trips), in the order of `by`."""
        # The sequence named once: pg_get_serial_sequence() inside nextval() ran once
        # per row, 4.1 s against 0.5 s for 565,000 ids on a slow VM.
        sequence = await self.conn.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
        drawn = await self.conn.fetchval(
            "SELECT array_agg(nextval($1::regclass)) FROM generate_series(1, $2)",
            sequence,
            len(frame),
        )
        return _ids_in_order(frame, by, np.sort(np.asarray(drawn or [], dtype=np.int64)))

    async def people(self, id_numbers: list[str]) -> pd.DataFrame:
        return await self._select(
            "SELECT id, id_number, name FROM person WHERE id_number = ANY($1::varchar[])",
            (id_numbers,),
            PERSON_COLUMNS,
        )

    async def insert_people(self, new: pd.DataFrame) -> None:
        columns = {"id": "integer", "id_number": "text", "name": "text", "birth_date": "date",
                   "sex": "text", "region_warning": "text"}  # fmt: skip
        await self._temp_table("import_person", columns)
        await self._copy("import_person", new, {c: c for c in columns}, by="id")
        # No ON CONFLICT (it costs 0.7 s per 565,000 people): a person someone else
        # registered since the lookup fails the unique index and this attempt of the
        # job; the next attempt finds them registered.
        try:
            await self.conn.execute(
                f"INSERT INTO person ({', '.join(columns)}, hukou, fresh_graduate, "
                f"created_by, created_at, updated_at) SELECT {', '.join(columns)}, "
                "'unknown', false, $1, $2, $2 FROM import_person",
                self.actor,
                self.now,
            )
        except asyncpg.UniqueViolationError as clash:
            raise Conflict(
                "someone registered a person of this report while it was being imported; "
                "the import runs again 导入期间有人登记了本报告中的人员，将自动重新导入"
            ) from clash

    async def certificates(self, issuer_id: int, numbers: list[str]) -> pd.DataFrame:
        return await self._select(
            "SELECT c.id, c.issuer, c.number, p.id_number, c.level, c.issued_on::text, "
            "c.occupation_code FROM certificate c JOIN person p ON p.id = c.person "
            "WHERE c.issuer = $1 AND c.number = ANY($2::varchar[])",
            (issuer_id, numbers),
            CERTIFICATE_COLUMNS,
        )

    async def insert_certificates(self, new: pd.DataFrame) -> None:
        await self._copy_through_temp(
            "certificate", new, CERTIFICATE_INSERT, CERTIFICATE_TYPES, by="id",
            constants={"status": "valid", "created_by": self.actor, "created_at": self.now},
        )  # fmt: skip

    async def outcomes(self, person_ids: list[int]) -> pd.DataFrame:
        return await self._select(
            "SELECT id, person, course, start_date::text, end_date::text, occupation_code, "
            f"occupation_name, hours, passed, certificate, {STORED_AS.format(report='$3')} "
            "FROM training_outcome t WHERE institution = $1 AND person = ANY($2::integer[])",
            (self.institution_id, person_ids, self.report_id),
            OUTCOME_COLUMNS,
        )

    async def insert_outcomes(self, new: pd.DataFrame) -> None:
        await self._copy_through_temp(
            "training_outcome", new, OUTCOME_INSERT, OUTCOME_TYPES, by="person_id",
            constants={"institution": self.institution_id, "report": self.report_id,
                       "reported_at": self.now, "updated_at": self.now},
        )  # fmt: skip

    async def update_outcomes(self, changed: pd.DataFrame) -> None:
        columns = {"outcome_id": "id", "occupation_code": "occupation_code",
                   "occupation_name": "occupation_name", "hours": "hours", "passed": "passed",
                   "certificate_id": "certificate", "late": "late"}  # fmt: skip
        types = {"id": "integer", "occupation_code": "text", "occupation_name": "text",
                 "hours": "integer", "passed": "boolean", "certificate": "integer",
                 "late": "boolean"}  # fmt: skip
        await self._temp_table("import_outcome_change", types)
        await self._copy("import_outcome_change", changed, columns)
        await self.conn.execute(
            "UPDATE training_outcome t SET occupation_code = c.occupation_code, "
            "occupation_name = c.occupation_name, hours = c.hours, passed = c.passed, "
            "certificate = c.certificate, late = c.late, report = $1, updated_at = $2 "
            "FROM import_outcome_change c WHERE t.id = c.id",
            self.report_id,
            self.now,
        )
