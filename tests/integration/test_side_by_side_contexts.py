"""kernel.side_by_side with a real engine: `here` works in the open transaction, the
others outside it, keeping the job's request id (audit rows and logs name it)."""

from __future__ import annotations

from typing import Any

from kernel.context import request_id_var
from kernel.db import engine, in_unit_of_work, is_sqlite, raw_connection, unit_of_work
from kernel.side_by_side import side_by_side


async def test_here_shares_the_open_transaction_and_the_others_open_their_own(db):
    seen: dict[str, Any] = {}

    async def here() -> None:
        seen["here"] = engine().current_transaction.get()
        seen["here in a unit of work"] = in_unit_of_work()

    async def other() -> None:
        seen["other"] = engine().current_transaction.get()
        seen["other in a unit of work"] = in_unit_of_work()
        seen["other request"] = request_id_var.get()
        if is_sqlite(engine()):
            return  # one writer: SQLite never stores parts side by side
        async with unit_of_work():
            seen["other backend"] = await raw_connection().fetchval("SELECT pg_backend_pid()")

    token = request_id_var.set("job-7-1")
    try:
        async with unit_of_work():
            outer = engine().current_transaction.get()
            mine = (
                None
                if is_sqlite(engine())
                else await raw_connection().fetchval("SELECT pg_backend_pid()")
            )
            await side_by_side(here(), other())
    finally:
        request_id_var.reset(token)
    assert seen["here"] is outer and seen["here in a unit of work"]
    assert seen["other"] is None and not seen["other in a unit of work"]
    assert seen["other request"] == "job-7-1"
    if not is_sqlite(engine()):
        assert seen["other backend"] != mine  # a connection of its own
