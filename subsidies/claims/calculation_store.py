"""Bulk reads and writes of calculation runs and simulations, inside the caller's unit
of work (kernel.db.raw_connection).

A run touches up to millions of claims; Piccolo's one-query-at-a-time path would take
minutes, so this module speaks to the driver like registry.outcomes.store: reads as
typed columns (kernel.bulk_read), writes by executemany on SQLite and COPY on
PostgreSQL, straight into claim_calculation. A run loads only
SUBMITTED claims without a calculation, and runs of one scheme take turns per chunk
(serialise_runs), so no claim is calculated twice; the unique index on
claim_calculation (claim) would refuse it if one were.

Results are appended, never written onto `claim` (the claims migration of 2026-11-29
has the figures): a SUBMITTED claim with a calculation is calculated, and the queries
here that need a claim's amount read it from the calculation until the claim leaves
SUBMITTED (subsidies.claims.calculations).

Dates travel as ISO text (how Piccolo stores them on SQLite; PostgreSQL casts it).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import msgspec
import numpy as np
import pandas as pd

from kernel.bulk_read import fetch_frame, fetch_rows
from kernel.copy_binary import copy_stream, pieces
from kernel.db import engine, is_sqlite, lock_for_append, raw_connection
from subsidies.claims import statuses, trace_store

if TYPE_CHECKING:
    from subsidies.claims.calculation import Results

# A claim and its calculation, if any (`calc`).
WITH_CALCULATION = "claim LEFT JOIN claim_calculation AS calc ON calc.claim = claim.id"
# Claims as WITH_CALCULATION shows them, for those without a calculation (`calc` a row
# of NULLs): only ever with NOT_CALCULATED in the WHERE, or a calculated claim would
# show as submitted with no amount. PostgreSQL plans NOT EXISTS as an
# anti-join it can estimate; for `LEFT JOIN ... calc.id IS NULL` it guessed 5,000 of a
# million claims, hashed all of them (spilling to disk) to pick 250,000 by id: 1.6 s
# against 0.45 s.
WITHOUT_CALCULATION = (
    "claim CROSS JOIN (SELECT CAST(NULL AS INTEGER) AS id, CAST(NULL AS BIGINT) AS "
    "amount_fen, CAST(NULL AS TEXT) AS cap_key) AS calc"
)
NOT_CALCULATED = "NOT EXISTS (SELECT 1 FROM claim_calculation AS done WHERE done.claim = claim.id)"
# A claim's columns as the runs read them (kernel.bulk_read's "name:kind").
CLAIM_COLUMNS = [
    "id:int",
    "person_id:Int64",
    "claimant_id:Int64",
    "payee_organisation_id:Int64",
    "certificate_id:Int64",
    "basis_date:date",
    "budget_year:int",
    "details:text",
    "status:text",
    "amount_fen:Int64",
    "cap_key:text",
]


def _amount(claim: str) -> str:
    """The amount a claim holds: the calculation's while the claim is SUBMITTED, then
    the claim's own (copied when it left SUBMITTED; none if it left before its
    calculation was stored, e.g. put on hold while a run priced it)."""
    return (
        f"CASE WHEN {claim}.status = '{statuses.SUBMITTED}' THEN calc.amount_fen "
        f"ELSE {claim}.amount_fen END"
    )


def shown_status_and_amount(claim: str = "claim") -> str:
    """Two SELECT expressions over `claim` LEFT JOIN claim_calculation AS calc: the
    status as shown (statuses.shown) and the amount (_amount)."""
    return (
        f"CASE WHEN {claim}.status = '{statuses.SUBMITTED}' AND calc.id IS NOT NULL "
        f"THEN '{statuses.CALCULATED}' ELSE {claim}.status END, {_amount(claim)}"
    )


AMOUNT = _amount("claim")
# A claim's cap key: its own (settled claims; internship claims from submission), or
# while it is SUBMITTED its calculation's.
CAP_KEY = (
    f"CASE WHEN claim.status = '{statuses.SUBMITTED}' "
    "THEN COALESCE(claim.cap_key, calc.cap_key) ELSE claim.cap_key END"
)
_SHOWN = shown_status_and_amount() + "{plus}, " + CAP_KEY
_SELECT = (
    "SELECT claim.id, claim.person, claim.claimant, claim.payee_organisation, "
    "claim.certificate, claim.basis_date::text, claim.budget_year, claim.details, "
    + _SHOWN.format(plus="")
)
# On SQLite, Piccolo's connections convert every value of a declared INTEGER or DATE
# column in Python (a converter call each: seconds per million rows); an expression has
# no declared type, so `+ 0` and `|| ''` bring the raw values.
_SELECT_SQLITE = (
    "SELECT claim.id + 0, claim.person + 0, claim.claimant + 0, "
    "claim.payee_organisation + 0, claim.certificate + 0, claim.basis_date || '', "
    "claim.budget_year + 0, claim.details, " + _SHOWN.format(plus=" + 0")
)


def _select() -> str:
    """The CLAIM_COLUMNS of a claim FROM WITH_CALCULATION (or WITHOUT_CALCULATION)."""
    return _SELECT_SQLITE if _sqlite() else _SELECT


def holding() -> str:
    """WHERE fragment over WITH_CALCULATION: the claim's amount counts against a cap that
    spans claims ("already paid" in traces): calculated, or committed (COMMITTED claims
    carry their amount)."""
    return (
        f"(claim.status IN {status_list(statuses.COMMITTED)} AND claim.amount_fen IS NOT NULL "
        f"OR claim.status = '{statuses.SUBMITTED}' AND calc.id IS NOT NULL)"
    )


def _sqlite() -> bool:
    return is_sqlite(engine())


def status_column(table: str = "") -> str:
    """The status column in a WHERE that also names ids or cap keys: on SQLite the unary
    `+` keeps the planner off the (low-selectivity) status index, so it looks rows up by
    id or by the cap_key index instead of walking every claim of a status."""
    column = f"{table}.status" if table else "status"
    return f"+{column}" if _sqlite() else column


@contextmanager
def bulk_session() -> Iterator[None]:
    """A chunk's bulk work on SQLite gets a 256 MB page cache: a run touches index pages
    all over the indexes of `claim` naming status or cap_key, which the default 2 MB
    cache would reread from the OS for every row (as registry.outcomes.store does for
    imports)."""
    if not _sqlite():
        yield
        return
    conn = raw_connection()
    conn.execute("PRAGMA cache_size = -262144")
    try:
        yield
    finally:
        conn.execute("PRAGMA cache_size = -2000")


async def _claims_among(
    column: str, kind: str, values: list[Any], table: str = WITH_CALCULATION
) -> tuple[str, list[Any]]:
    """FROM clause (and its parameters) of claims (`table`: by default with their
    calculations, `calc`) whose `column` (of `claim`, or `calc.` columns with the table
    given as "claim_calculation AS calc JOIN claim ...") is one of `values` (ids: kind
    "integer"; cap keys: "text"), ending in a WHERE the caller extends.
    SQLite reads the list with json_each. PostgreSQL gets the values in a temporary
    table with statistics: given an array instead (`= ANY`, `IN (SELECT unnest(...))`
    or a join from unnest()), the planner takes it for a few rows, scans claims by
    another index and compares each with the whole array (minutes for 100k values)."""
    qualified = column if "." in column else f"claim.{column}"
    if _sqlite():
        return f"FROM {table} WHERE {qualified} IN (SELECT value FROM json_each(?))", [
            json.dumps(values)
        ]
    # One name per type: asyncpg remembers a COPY target's column types by name.
    wanted = f"calculation_wanted_{kind}"
    conn = raw_connection()
    await conn.execute(f"DROP TABLE IF EXISTS {wanted}")
    await conn.execute(f"CREATE TEMP TABLE {wanted} (v {kind}) ON COMMIT DROP")
    await conn.copy_records_to_table(wanted, records=[(v,) for v in values])
    await conn.execute(f"ANALYZE {wanted}")
    return f"FROM {wanted} AS wanted JOIN ({table}) ON {qualified} = wanted.v WHERE TRUE", []


async def _done_among() -> None:
    if not _sqlite():
        for kind in ("integer", "text"):
            await raw_connection().execute(f"DROP TABLE IF EXISTS calculation_wanted_{kind}")


def _list_arg(values: list[Any]) -> Any:
    return json.dumps(values) if _sqlite() else values


def where_in_integers(column: str) -> str:
    """WHERE fragment: `column` is one of a list of integers (one parameter, made by
    list_parameter). Kept for the scheme loaders that use it; on PostgreSQL, as a bound
    parameter, it is fast only where the planner looks `column` up by its own index (a
    primary key): filtering rows found by another index against a large array is
    quadratic. Through kernel.bulk_read (COPY) the array arrives as a constant, which
    PostgreSQL looks up by hash (skill_levels.facts leaves 100,000 ids out that way in
    0.25 s). Prefer _claims_among for claims."""
    if _sqlite():
        return f"{column} IN (SELECT value FROM json_each(?))"
    return f"{column} = ANY(?::integer[])"


def where_in_texts(column: str) -> str:
    """Like where_in_integers, for text values."""
    if _sqlite():
        return f"{column} IN (SELECT value FROM json_each(?))"
    return f"{column} = ANY(?::text[])"


def list_parameter(values: list[Any]) -> Any:
    return _list_arg(values)


def status_list(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{s}'" for s in values) + ")"  # constants, never input


async def submitted_basis(
    scheme: str, claim_ids: list[int] | None, lane: tuple[int, int] | None = None
) -> pd.DataFrame:
    """id, basis_date and person (0: none) of the scheme's SUBMITTED claims not
    calculated yet (all, or those of `claim_ids`); with `lane` (k, lanes) only those
    whose person is k modulo lanes (claims naming no person: lane 0; no cap spans
    them)."""
    columns = (
        "claim.id + 0, claim.basis_date || '', coalesce(claim.person, 0) + 0"
        if _sqlite()
        else "claim.id, claim.basis_date::text, coalesce(claim.person, 0)"
    )
    where = f"claim.scheme = ? AND claim.status = '{statuses.SUBMITTED}' AND {NOT_CALCULATED}"
    if lane is not None:
        k, lanes = (int(n) for n in lane)
        where += f" AND coalesce(claim.person, 0) % {lanes} = {k}"
    names = ["id:int", "basis_date:date", "person:int"]
    if claim_ids is None:
        return await fetch_frame(
            f"SELECT {columns} FROM claim WHERE {where} ORDER BY claim.id", [scheme], names
        )
    among, args = await _claims_among("id", "integer", claim_ids, WITHOUT_CALCULATION)
    frame = await fetch_frame(
        f"SELECT {columns} {among} AND {where} ORDER BY claim.id", [*args, scheme], names
    )
    await _done_among()
    return frame


async def _claims(sql: str, args: list[Any]) -> pd.DataFrame:
    """The claims of `sql` (selecting _select()) as subsidies.schemes describes them to
    load_inputs (plus status, amount_fen and cap_key, which simulations compare
    against)."""
    frame = await fetch_frame(sql, args, CLAIM_COLUMNS)
    # One decode of all details at once: a million small json.loads would take seconds.
    details = "[" + ",".join(t or "{}" for t in frame["details"].tolist()) + "]"
    frame["details"] = pd.Series(msgspec.json.decode(details), dtype=object)
    return frame


async def load_submitted(ids: list[int]) -> pd.DataFrame:
    """These claims, those still SUBMITTED and not calculated, in id order."""
    among, args = await _claims_among("id", "integer", ids, WITHOUT_CALCULATION)
    sql = (
        f"{_select()} {among} AND {status_column('claim')} = '{statuses.SUBMITTED}' "
        f"AND {NOT_CALCULATED} ORDER BY claim.id"
    )
    frame = await _claims(sql, args)
    await _done_among()
    if not frame["id"].is_monotonic_increasing:  # the order caps fill in: never left to chance
        frame = frame.sort_values("id", kind="stable", ignore_index=True)
    return frame


@dataclass(frozen=True)
class Scope:
    """The claims a simulation recalculates: a scheme's claims holding an amount,
    optionally of one budget year, whose basis date the draft version covers."""

    scheme: str
    year: int | None
    covers_from: date
    covers_to: date | None

    def where(self) -> tuple[str, list[Any]]:
        """Over WITH_CALCULATION."""
        basis = "claim.basis_date"
        cast = "" if _sqlite() else "::date"
        sql = f"claim.scheme = ? AND {holding()}"
        args: list[Any] = [self.scheme]
        sql += f" AND {basis} >= ?{cast}"
        args.append(self._day(self.covers_from))
        if self.covers_to is not None:
            sql += f" AND {basis} <= ?{cast}"
            args.append(self._day(self.covers_to))
        if self.year is not None:
            sql += " AND claim.budget_year = ?"
            args.append(self.year)
        return sql, args

    @staticmethod
    def _day(day: date) -> Any:
        return day.isoformat() if _sqlite() else day


async def load_in_scope(scope: Scope, after_id: int, limit: int) -> pd.DataFrame:
    """The next `limit` claims of the scope after `after_id`, in id order."""
    where, args = scope.where()
    sql = (
        f"{_select()} FROM {WITH_CALCULATION} WHERE {where} AND claim.id > ? "
        "ORDER BY claim.id LIMIT ?"
    )
    return await _claims(sql, [*args, after_id, limit])


_CALCULATED = "claim_calculation AS calc JOIN claim ON claim.id = calc.claim"
# PostgreSQL: the calculations under the wanted cap keys (the temporary table
# _claims_among filled), looked up by key first, then their claims by id. Joined as
# one, the planner hash-joined every calculation with every claim on several workers
# before looking at the keys: 1.25 s against 0.55 s for 200,000 keys among 750,000
# calculations, none matching.
_CALCULATED_UNDER_WANTED_KEYS = (
    "FROM (SELECT calc.* FROM calculation_wanted_text AS wanted "
    "JOIN claim_calculation AS calc ON calc.cap_key = wanted.v OFFSET 0) AS calc "
    "JOIN claim ON claim.id = calc.claim WHERE TRUE"
)


async def by_cap_key(
    keys: list[str],
    select: str,
    where: str,
    args: list[Any],
    columns: list[str],
    around: str = "{}",
) -> pd.DataFrame:
    """`select` (over `claim` and its calculation `calc`) for the claims matching
    `where` (with `args`) whose cap key (CAP_KEY) is one of `keys`, as a frame of
    `columns` (kernel.bulk_read); `around` may wrap that query (its `{}`). Two lookups,
    each by its own index, the keys in a temporary table on PostgreSQL (see
    _claims_among)."""
    own, own_args = await _claims_among("cap_key", "text", keys)
    if _sqlite():
        theirs, their_args = await _claims_among("calc.cap_key", "text", keys, _CALCULATED)
    else:  # OFFSET 0 keeps the planner from folding the lookup by key into the join
        theirs, their_args = _CALCULATED_UNDER_WANTED_KEYS, []
    sql = (
        f"SELECT {select} {own} AND ({where}) UNION ALL "
        f"SELECT {select} {theirs} AND claim.cap_key IS NULL "
        f"AND {status_column('claim')} = '{statuses.SUBMITTED}' AND ({where})"
    )
    frame = await fetch_frame(around.format(sql), [*own_args, *args, *their_args, *args], columns)
    await _done_among()
    return frame


async def held_by_cap(keys: list[str], outside: Scope | None = None) -> pd.Series:
    """What claims holding an amount hold per cap key (keys without any are absent).
    With `outside`, claims of that scope do not count (a simulation recalculates them)."""
    if not keys:
        return pd.Series(dtype=np.int64)
    where, args = holding(), []
    if outside is not None:
        scope, args = outside.where()
        where += f" AND NOT ({scope})"
    frame = await by_cap_key(
        keys,
        f"{CAP_KEY} AS key, {AMOUNT} + 0 AS fen",
        where,
        args,
        ["key:text", "fen:int"],
        around="SELECT key, SUM(fen) FROM ({}) AS held GROUP BY key",
    )
    return pd.Series(frame["fen"].to_numpy(), index=frame["key"].to_numpy(), dtype=np.int64)


RESULT_COLUMNS = [
    "id", "policy_version", "amount_fen", "cap_key", "inputs", "trace_digest", "input_names",
]  # fmt: skip


async def serialise_runs(scheme: str, lane: int) -> None:
    """Holds, until the chunk's transaction ends, the lock that lets one run at a time
    load and store claims of `scheme` in `lane` (subsidies.claims.calculation): a run
    loads only claims without a calculation, so the next one waits and then sees what
    this one stored (PostgreSQL; SQLite's transaction already holds the only write
    lock)."""
    await lock_for_append(zlib.crc32(f"subsidies.calculate:{scheme}:{lane}".encode()))


async def store_results(results: Results, job_id: int, now: datetime) -> int:
    """Appends each result as its claim's calculation, with the traces they name;
    returns how many were stored. `results` (subsidies.claims.calculation.Results) has
    rows of RESULT_COLUMNS but inputs (policy_version and cap_key may be None) and the
    inputs' JSON text apart, in the rows' order,
    for claims load_submitted read in this transaction after serialise_runs: none has a
    calculation (the unique index on claim_calculation (claim) would refuse a second one
    and fail the run). A claim that left SUBMITTED meanwhile (withdrawn, put on hold)
    still gets its calculation, which it does not use: the status it has decides, and
    only a SUBMITTED claim is shown calculated.

    Rows go straight into claim_calculation (executemany, or binary COPY built by
    kernel.copy_binary), with no staging table, join or conflict check: those tripled
    the cost of storing on PostgreSQL."""
    rows = results.rows
    if rows.empty:
        return 0
    # The traces go in last: two lanes of a run store the same new traces, and the
    # second waits on the unique digest until the first commits. Inserted before the
    # calculations, that wait lasted the other lane's whole COPY (2.2 s of 250,000 rows).
    stored = await _append_calculations(results, job_id, now)
    await trace_store.store(results.traces)
    await trace_store.store_input_names(results.input_names)
    return stored


async def _append_calculations(results: Results, job_id: int, now: datetime) -> int:
    rows = results.rows
    conn = raw_connection()
    if _sqlite():
        stamp = str(now)  # Piccolo's text form of a UTC timestamptz
        values = [rows[c].tolist() for c in RESULT_COLUMNS if c != "inputs"]
        values.insert(RESULT_COLUMNS.index("inputs"), results.inputs.to_pylist())
        columns = ["claim", *RESULT_COLUMNS[1:]]
        conn.executemany(
            f"INSERT INTO claim_calculation ({', '.join(columns)}, job, calculated_at) "
            f"VALUES (?, ?, ?, ?, ?, ?, ?, {int(job_id)}, '{stamp}')",
            list(zip(*values, strict=True)),
        )
        return len(rows)
    # asyncpg would encode each value of each row from a Python object: 4 µs a row.
    ids = rows["id"].to_numpy(dtype=np.int64)
    stream = copy_stream(
        len(rows),
        [
            ("int4", ids),
            ("int8", rows["amount_fen"].to_numpy(dtype=np.int64)),
            ("int4", np.full(len(rows), int(job_id), dtype=np.int64)),
            ("timestamptz", now),
            ("int4?", rows["policy_version"].tolist()),
            ("text", rows["cap_key"].tolist()),
            ("text", results.inputs),
            ("text", rows["trace_digest"].tolist()),
            ("text", rows["input_names"].tolist()),
        ],
    )
    columns = ["claim", "amount_fen", "job", "calculated_at", "policy_version", "cap_key"]
    await conn.copy_to_table(
        "claim_calculation",
        source=pieces(stream),
        columns=[*columns, "inputs", "trace_digest", "input_names"],
        format="binary",
    )
    return len(rows)


async def remaining_budgets(scheme: str, years: list[int]) -> dict[int, tuple[int, int]]:
    """Budget (amount, committed) per year of the scheme, for the years that have one."""
    if not years:
        return {}
    sql = "SELECT year, amount_fen, committed_fen FROM budget WHERE scheme = ?"
    rows = [r for r in await fetch_rows(sql, [scheme]) if int(r[0]) in set(years)]
    return {int(r[0]): (int(r[1]), int(r[2])) for r in rows}
