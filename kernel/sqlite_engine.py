"""SQLite tuned for many concurrent requests on one machine.

Piccolo's SQLiteEngine runs each query on a new aiosqlite connection, that is a new
thread, and each hop to it waits for the GIL; writers that collide wait in SQLite's
busy handler, which sleeps up to 100 ms between tries. This engine instead:

- runs reads outside transactions synchronously, on a connection kept per thread:
  in WAL mode a reader never waits for the writer, and an indexed read takes tens of
  microseconds, less than the thread hop it replaces;
- serialises writers before they touch SQLite: an asyncio lock per event loop, then
  an exclusive flock on a lock file beside the database, retried every 0.2-4 ms
  (SQLite's own busy handler sleeps up to 100 ms between tries);
- runs a write transaction or single write synchronously once it holds those locks.
  It holds SQLite's only write lock anyway, and a transaction whose statements never
  suspend is not stretched by other coroutines running in between;
- lets a bulk transaction (an import or a calculation chunk: thousands of rows) commit
  without SQLite's automatic checkpoint, and checkpoints for it on a background thread
  (_Checkpointer): otherwise the commit would itself copy the tens of megabytes it just
  wrote to the WAL into the database, while the next chunk waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import threading
import time
import weakref
from typing import Any

from piccolo.engine.sqlite import SQLiteEngine, dict_factory


class _Result:
    """What aiosqlite's execute() returns: awaitable, and an async context manager."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def __await__(self):  # type: ignore[no-untyped-def]
        return self._self().__await__()

    async def _self(self) -> _Result:
        return self

    async def __aenter__(self) -> _Result:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid


# Rows a transaction changes to count as bulk (see _WriteSession.execute).
BULK_ROWS = 10_000
AUTOCHECKPOINT_PAGES = 1_000  # SQLite's default


class _Checkpointer:
    """A daemon thread that runs a PASSIVE checkpoint (it never waits for, nor blocks,
    readers and writers) on its own connection each time it is asked."""

    def __init__(self, path: str, timeout: float) -> None:
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, args=(path, timeout), name="sqlite-checkpointer", daemon=True
        )
        self._thread.start()

    def request(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    def _run(self, path: str, timeout: float) -> None:
        conn = sqlite3.connect(path, timeout=timeout, check_same_thread=True)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                # On failure the next commit past AUTOCHECKPOINT_PAGES checkpoints instead.
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()


class _WriteSession:
    """The writer connection while its holder owns the write locks; Piccolo's
    transaction sees the aiosqlite interface it expects, and close() unlocks."""

    def __init__(self, engine: FastSQLiteEngine, conn: sqlite3.Connection) -> None:
        self._engine = engine
        self._conn = conn
        self._open = True
        self._changes_at_begin = conn.total_changes

    @property
    def row_factory(self) -> Any:
        return self._conn.row_factory

    @row_factory.setter
    def row_factory(self, value: Any) -> None:
        self._conn.row_factory = value

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection itself, for bulk statements (executemany) inside
        the transaction."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, parameters: Any = ()) -> _Result:
        verb = sql.lstrip()[:8].upper()
        if verb.startswith("ROLLBACK") and not self._conn.in_transaction:
            # SQLite already rolled back (disk full, I/O error); nothing left to undo.
            return _Result(self._conn.execute("SELECT 1"))
        if verb.startswith("BEGIN"):
            self._changes_at_begin = self._conn.total_changes
        bulk = (
            verb.startswith("COMMIT")
            and self._conn.total_changes - self._changes_at_begin >= BULK_ROWS
        )
        try:
            if bulk:
                self._conn.execute("PRAGMA wal_autocheckpoint = 0")
            return _Result(self._conn.execute(sql, parameters))
        except Exception:
            if verb.startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                # Piccolo does not close a transaction whose BEGIN, COMMIT or ROLLBACK
                # failed: unlock here, or every writer would wait forever.
                self._release()
            raise
        finally:
            if bulk:
                self._conn.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
                self._engine.checkpoint_in_background()

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self._release()

    def _release(self) -> None:
        if self._open:
            self._open = False
            if self._conn.in_transaction:
                self._conn.rollback()
            self._engine._unlock_write()


class FastSQLiteEngine(SQLiteEngine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._local = threading.local()
        self._lock_path = f"{self.path}.write-lock"
        self._checkpointer: _Checkpointer | None = None

    def checkpoint_in_background(self) -> None:
        if self._checkpointer is None:
            self._checkpointer = _Checkpointer(
                self.path, self.connection_kwargs.get("timeout", 30.0)
            )
            weakref.finalize(self, self._checkpointer.stop)
        self._checkpointer.request()

    def stop_checkpointer(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None

    # -- connections, one reader and one writer per thread --------------------------

    def _connect(self, *, query_only: bool) -> sqlite3.Connection:
        conn = sqlite3.connect(**self.connection_kwargs, check_same_thread=True)
        conn.row_factory = dict_factory
        conn.execute("PRAGMA foreign_keys = 1")
        if query_only:
            conn.execute("PRAGMA query_only = 1")
        return conn

    def _thread_conn(self, name: str) -> sqlite3.Connection:
        conn = getattr(self._local, name, None)
        if conn is None:
            conn = self._connect(query_only=name == "reader")
            setattr(self._local, name, conn)
        return conn

    # -- the write locks ----------------------------------------------------------------

    def _loop_state(self) -> tuple[asyncio.Lock, int]:
        """Each event loop gets its own asyncio lock and its own lock-file descriptor
        (flock excludes across open file descriptions, so loops exclude each other)."""
        states = getattr(self._local, "write_states", None)
        if states is None:
            states = self._local.write_states = {}
        loop = asyncio.get_running_loop()
        state = states.get(loop)
        if state is None:
            for old_loop in [lp for lp in states if lp.is_closed()]:
                os.close(states.pop(old_loop)[1])
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            state = states[loop] = (asyncio.Lock(), fd)
        return state

    async def _lock_write(self) -> None:
        lock, fd = self._loop_state()
        await lock.acquire()
        try:
            # Taken by this thread itself, never by a helper thread on its behalf: a
            # lock granted to a task that cannot resume (its loop busy or blocked)
            # would stall every other writer.
            pause = 0.0002
            deadline = time.monotonic() + self.connection_kwargs.get("timeout", 30.0)
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise sqlite3.OperationalError(
                            "database is locked: no write lock within the busy timeout"
                        ) from None
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.004)
        except BaseException:
            lock.release()
            raise

    def _unlock_write(self) -> None:
        lock, fd = self._loop_state()
        fcntl.flock(fd, fcntl.LOCK_UN)
        lock.release()

    # -- Piccolo's hooks -------------------------------------------------------------

    async def get_connection(self) -> Any:
        """Used by Piccolo transactions: the writer, with the write locks held until
        the transaction closes it."""
        await self._lock_write()
        return _WriteSession(self, self._thread_conn("writer"))

    async def _run_in_new_connection(
        self,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        if query.lstrip()[:6].upper() == "SELECT":
            return self._thread_conn("reader").execute(query, args or []).fetchall()
        await self._lock_write()
        try:
            return self._thread_conn("writer").execute(query, args or []).fetchall()
        finally:
            self._unlock_write()

    def close_thread_connections(self) -> None:
        for name in ("reader", "writer"):
            conn = getattr(self._local, name, None)
            if conn is not None:
                conn.close()
                setattr(self._local, name, None)
