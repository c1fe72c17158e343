"""Tasks done once a day (Beijing) across every process: each sweeper round asks
`run_due` whether the hour has come; the task claims the day with `claim_day`, an
insert that only one caller can make (unique name + day), in the same transaction that
queues its job. So however many sweepers run on however many hosts, a day gets one job,
and a crash between the two leaves neither.

Domain modules register their tasks with `@daily_task(name)` (imported with the job
handlers, see workers.kinds.HANDLER_MODULES)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import date, datetime

from kernel.clock import CHINA, utcnow
from kernel.db import in_unit_of_work
from workers.tables import DailyRun

log = logging.getLogger(__name__)

DailyTask = Callable[[date], Awaitable[int | None]]  # the day -> the job queued, if any
_TASKS: dict[str, DailyTask] = {}
_DONE: set[tuple[str, date]] = set()  # this process saw the day's job queued: ask no more


def daily_task(name: str) -> Callable[[DailyTask], DailyTask]:
    def register(task: DailyTask) -> DailyTask:
        if name in _TASKS and _TASKS[name] is not task:
            raise ValueError(f"daily task {name!r} registered twice")
        _TASKS[name] = task
        return task

    return register


async def claim_day(name: str, day: date) -> bool:
    """True for the one caller that records `name` for `day` (in its unit of work)."""
    if not in_unit_of_work():
        raise RuntimeError("claim_day() runs in the unit of work that queues the day's job")
    inserted = (
        await DailyRun.insert(DailyRun(name=name, day=day))
        .on_conflict(action="DO NOTHING")
        .returning(DailyRun.id)
        .run()
    )
    return bool(inserted)


async def record_job(name: str, day: date, job_id: int) -> None:
    await (
        DailyRun.update({DailyRun.job_id: job_id})
        .where((DailyRun.name == name) & (DailyRun.day == day))
        .run()
    )


async def run_due(hour: int | None, now: datetime | None = None) -> dict[str, int | None]:
    """Runs every registered task whose day has come: from `hour` o'clock (Beijing) on,
    each day. `hour` None: none (the daily tasks are off). Returns name -> the job a
    task queued (None when the day's job was queued already)."""
    if hour is None:
        return {}
    local = (now or utcnow()).astimezone(CHINA)
    if local.hour < hour:
        return {}
    day = local.date()
    queued: dict[str, int | None] = {}
    for name, task in sorted(_TASKS.items()):
        if (name, day) in _DONE:
            continue
        try:
            queued[name] = await task(day)
        except Exception:  # one task's failure must not stop the others or the sweep
            log.exception("daily task %s failed; trying again next round", name)
            continue
        _DONE.add((name, day))
    return queued
