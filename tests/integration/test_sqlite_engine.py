"""The SQLite engine's write lock: never left held, whatever fails."""

import asyncio
import os

import pytest

from audit.log import record
from audit.tables import AuditEntry
from kernel.db import (
    bind_engine,
    close_pool,
    engine,
    make_engine,
    raw_connection,
    unit_of_work,
)
from tests.support import databases, waiting


@pytest.fixture
async def sqlite_db(database_url, tmp_path):
    """A database of its own (this test breaks transactions on purpose), SQLite only:
    the engine under test is SQLite's."""
    await databases.fresh_database("sqlite", tmp_path)
    yield
    await close_pool()  # its connections and checkpointer thread go with it
    bind_engine(make_engine(database_url))


async def test_a_failed_commit_releases_the_write_lock(sqlite_db):
    with pytest.raises(Exception, match="no transaction is active"):
        async with unit_of_work():
            await record("t", "before.broken.commit", "x", 1)
            # Ends the transaction behind Piccolo's back: its COMMIT then fails.
            await engine().current_transaction.get().connection.execute("COMMIT")
    # The next writer gets the lock at once instead of waiting forever.
    async with asyncio.timeout(5):
        await record("t", "after.broken.commit", "x", 2)
    assert await AuditEntry.exists().where(AuditEntry.action == "after.broken.commit").run()


def file_size(path: str) -> int:
    return os.path.getsize(path)


async def test_a_bulk_commit_is_checkpointed_in_the_background(sqlite_db):
    """A transaction of BULK_ROWS rows commits without SQLite's automatic checkpoint
    (the committing task goes on at once); a background thread copies the WAL into the
    database file soon after, and later commits checkpoint as usual."""
    from kernel import sqlite_engine

    db = engine()
    async with unit_of_work():
        raw_connection().execute("CREATE TABLE bulk_rows (n INTEGER, filler TEXT)")
    assert db._checkpointer is None  # small transactions checkpoint as SQLite does
    before = file_size(db.path)
    async with unit_of_work():
        raw_connection().executemany(
            "INSERT INTO bulk_rows VALUES (?, ?)",
            [(n, "x" * 200) for n in range(sqlite_engine.BULK_ROWS)],
        )
    assert db._checkpointer is not None
    await waiting.until(  # the rows reach the database file itself
        lambda: file_size(db.path),
        lambda size: size >= before + 200 * sqlite_engine.BULK_ROWS,
        "the background checkpoint",
        progress=None,
    )
    assert file_size(db.path) >= before + 200 * sqlite_engine.BULK_ROWS
    async with unit_of_work():
        pages = raw_connection().execute("PRAGMA wal_autocheckpoint").fetchone()
    assert list(pages.values()) == [sqlite_engine.AUTOCHECKPOINT_PAGES]
