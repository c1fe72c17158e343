"""Database engines and units of work.

One code path for both engines: SQLite (embedded default) and PostgreSQL (scale-out).
Services open a `unit_of_work()`; work to do after commit (sending jobs to the broker)
is registered with `after_commit()` and dropped on rollback.
"""

from __future__ import annotations

import asyncio
import contextvars
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from kernel.errors import Conflict
from kernel.sqlite_engine import FastSQLiteEngine

SQLITE_BUSY_TIMEOUT_S = 30.0


class LoopLocalPostgresEngine(PostgresEngine):
    """A PostgresEngine whose pool belongs to the running event loop.

    asyncpg pools are bound to the loop that created them. The API server and an
    in-process Dramatiq worker (whose async actors run on their own loop) share one
    engine, so each loop gets its own pool; a loop without one opens connections.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._pools: dict[asyncio.AbstractEventLoop, Any] = {}
        super().__init__(*args, **kwargs)

    @staticmethod
    def _loop() -> asyncio.AbstractEventLoop | None:
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            return None

    @property  # type: ignore[override]
    def pool(self) -> Any:
        loop = self._loop()
        return self._pools.get(loop) if loop else None

    @pool.setter
    def pool(self, value: Any) -> None:
        loop = self._loop()
        if loop is None:
            return
        if value is None:
            self._pools.pop(loop, None)
        else:
            self._pools[loop] = value


def make_engine(database_url: str) -> Engine:
    """SQLite for `sqlite:///path`, PostgreSQL for `postgresql://...`."""
    parsed = urlparse(database_url)
    if parsed.scheme == "sqlite":
        path = database_url.removeprefix("sqlite:///")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return FastSQLiteEngine(path=path, timeout=SQLITE_BUSY_TIMEOUT_S)
    if parsed.scheme in {"postgres", "postgresql"}:
        return LoopLocalPostgresEngine(
            config={"dsn": database_url.replace("postgres://", "postgresql://", 1)}
        )
    raise ValueError(f"DATABASE_URL: unsupported scheme {parsed.scheme!r}")


def is_sqlite(engine: Engine) -> bool:
    return engine.engine_type == "sqlite"


def prepare_sqlite_file(engine: Engine) -> None:
    """WAL lets readers run beside the one writer; the setting lives in the file."""
    if is_sqlite(engine):
        assert isinstance(engine, SQLiteEngine)
        with sqlite3.connect(engine.path, timeout=SQLITE_BUSY_TIMEOUT_S) as conn:
            conn.execute("PRAGMA journal_mode=WAL")


_engine: Engine | None = None


def bind_engine(engine: Engine) -> None:
    """Points every Piccolo table (and piccolo_conf, used by migrations) at `engine`."""
    global _engine
    from piccolo.apps.migrations.tables import Migration
    from piccolo.conf.apps import Finder

    import piccolo_conf

    piccolo_conf.DB = engine
    for table in [*Finder().get_table_classes(), Migration]:
        table._meta.db = engine
    _engine = engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("no database engine bound: call kernel.db.bind_engine first")
    return _engine


_after_commit: contextvars.ContextVar[list[Callable[[], Awaitable[None]]] | None] = (
    contextvars.ContextVar("after_commit", default=None)
)


def in_unit_of_work() -> bool:
    return _after_commit.get() is not None


def detach_from_unit_of_work() -> None:
    """In a task started inside a unit of work (which copies its context): this task's
    own units of work then open transactions of their own instead of joining that one.
    With no engine bound there is no transaction to leave."""
    if _engine is not None:
        _engine.current_transaction.set(None)
    _after_commit.set(None)


def after_commit(callback: Callable[[], Awaitable[None]]) -> None:
    callbacks = _after_commit.get()
    if callbacks is None:
        raise RuntimeError("after_commit() needs an open unit_of_work()")
    callbacks.append(callback)


@asynccontextmanager
async def unit_of_work() -> AsyncIterator[None]:
    """One transaction; nested calls join the outer one.

    SQLite transactions begin IMMEDIATE: the write lock is taken up front (waiting up
    to the busy timeout) instead of failing with "database is locked" on upgrade.
    """
    if in_unit_of_work():
        yield
        return
    db = engine()
    callbacks: list[Callable[[], Awaitable[None]]] = []
    token = _after_commit.set(callbacks)
    outer_transaction = db.current_transaction.get()
    try:
        if is_sqlite(db):
            assert isinstance(db, SQLiteEngine)
            # The engine takes the write locks before BEGIN (kernel.sqlite_engine).
            async with db.transaction(transaction_type=TransactionType.immediate):
                yield
        else:
            async with db.transaction():
                yield
    finally:
        _after_commit.reset(token)
        # Piccolo leaves its transaction in the context when COMMIT itself fails;
        # later queries of this task must not run on that dead transaction.
        if db.current_transaction.get() is not outer_transaction:
            db.current_transaction.set(outer_transaction)
    for callback in callbacks:
        await callback()


def raw_connection() -> Any:
    """The driver connection of the open unit of work (sqlite3.Connection or
    asyncpg.Connection), for bulk paths Piccolo has no query for (executemany, COPY)."""
    transaction = engine().current_transaction.get()
    if transaction is None:
        raise RuntimeError("raw_connection() needs an open unit_of_work()")
    connection = transaction.connection
    return connection.raw if is_sqlite(engine()) else connection


def is_unique_violation(exc: BaseException) -> bool:
    """A unique constraint refused a row: a concurrent duplicate, answered as 409."""
    import asyncpg

    if isinstance(exc, asyncpg.UniqueViolationError):
        return True
    return isinstance(exc, sqlite3.IntegrityError) and "UNIQUE" in str(exc)


@contextmanager
def conflict_on_duplicate(message: str, field: str) -> Iterator[None]:
    """Turns a unique-constraint refusal into Conflict: the check before an insert can
    lose a race, the constraint cannot."""
    try:
        yield
    except Exception as exc:
        if is_unique_violation(exc):
            raise Conflict(message, field=field) from exc
        raise


async def lock_for_append(key: int) -> None:
    """Serialises appenders of one chain inside the current transaction.

    SQLite needs nothing: an IMMEDIATE transaction already holds the only write lock.
    """
    db = engine()
    if not is_sqlite(db):
        await db.run_querystring(_querystring("SELECT pg_advisory_xact_lock({})", key))


def _querystring(template: str, *args: Any) -> Any:
    from piccolo.querystring import QueryString

    return QueryString(template, *args)


async def _keep_session(connection: Any) -> None:
    """A released connection goes back to the pool as it is: asyncpg has already rolled
    back any open transaction. Its default reset query (SELECT
    pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL) would cost a round
    trip on every release, as much server work as a small request's own query, and
    there is nothing for it to undo: this code takes advisory locks per transaction
    only (pg_advisory_xact_lock), never LISTENs, and sets settings with SET LOCAL."""


async def start_pool(max_size: int = 20) -> None:
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is None:
        await db.start_connection_pool(min_size=2, max_size=max_size, reset=_keep_session)


_before_close: list[Callable[[], Awaitable[None]]] = []


def before_pool_closes(hook: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
    """Registers work that must finish while connections still exist (a decorator)."""
    _before_close.append(hook)
    return hook


async def before_close() -> None:
    """Runs the before_pool_closes hooks on this loop: close_pool does, and so must a
    loop that stops without closing a pool (a worker's, workers.broker)."""
    for hook in _before_close:
        await hook()


async def close_pool() -> None:
    await before_close()
    db = engine()
    if isinstance(db, PostgresEngine) and db.pool is not None:
        await db.close_connection_pool()
    if isinstance(db, FastSQLiteEngine):
        db.close_thread_connections()
        db.stop_checkpointer()
