"""The SQLite engine's write lock: never left held, whatever fails."""

import asyncio

import pytest

from audit.log import record
from audit.tables import AuditEntry
from kernel.db import bind_engine, engine, make_engine, unit_of_work
from tests.support import databases


@pytest.fixture
async def sqlite_db(database_url, tmp_path):
    """A database of its own (this test breaks transactions on purpose), SQLite only:
    the engine under test is SQLite's."""
    await databases.fresh_database("sqlite", tmp_path)
    yield
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
