"""The automatic daily scan on SQLite and PostgreSQL: the sweepers of every process ask
each round whether the day's scan is due (DAILY_SCAN_HOUR, Beijing time); the first to
ask once the hour has come queues it, every other sweep that day queues nothing."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from app.settings import Settings
from kernel.clock import CHINA, local_today
from subsidies.skill_levels import scan
from tests.support import waiting
from workers import daily, runner
from workers.process import sweep_loop
from workers.tables import DailyRun, Job


def beijing(day: date, hour: int) -> datetime:
    """That Beijing hour of `day`, as the UTC moment a sweeper sees."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA).astimezone(UTC)


async def scan_jobs(day: date) -> list[int]:
    rows = await Job.select(Job.id, Job.payload).where(Job.kind == scan.SCAN).run()
    return sorted(r["id"] for r in rows if json.loads(r["payload"]).get("day") == day.isoformat())


def another_process() -> None:
    """Forget what this process saw, as a sweeper in another process would."""
    daily._DONE.clear()


async def test_two_sweeps_on_the_same_day_queue_one_scan(db):
    day = date(2033, 3, 1 + int(db.startswith("sqlite")))  # a day no other test queues
    another_process()
    # Off, and before the hour: nothing.
    assert await daily.run_due(None, beijing(day, 12)) == {}
    assert await daily.run_due(6, beijing(day, 5)) == {}
    assert await scan_jobs(day) == []

    # The first sweep at or after the hour queues the day's scan...
    first = await daily.run_due(6, beijing(day, 6))
    job_id = first[scan.SCAN]
    assert job_id is not None and await scan_jobs(day) == [job_id]
    # ...a later sweep of this process does not ask again...
    assert await daily.run_due(6, beijing(day, 23)) == {}
    # ...and sweeps of other processes, one after another or at once, queue nothing.
    another_process()
    assert await daily.run_due(6, beijing(day, 7)) == {scan.SCAN: None}
    together = await asyncio.gather(*(scan.ensure_daily_scan(day) for _ in range(3)))
    assert together == [None] * 3
    assert await scan_jobs(day) == [job_id]
    run = await DailyRun.select().where((DailyRun.name == scan.SCAN) & (DailyRun.day == day)).run()
    assert [r["job_id"] for r in run] == [job_id]

    # The next day has its own scan (Beijing midnight is 16:00 UTC the day before).
    next_day = day + timedelta(days=1)
    second = await daily.run_due(0, beijing(next_day, 0))
    assert second[scan.SCAN] is not None and await scan_jobs(next_day) == [second[scan.SCAN]]

    for queued in (job_id, second[scan.SCAN]):  # run them here: nothing left pending
        await runner.execute(queued)
        job = await Job.select(Job.status, Job.created_by).where(Job.id == queued).first().run()
        assert job == {"status": "done", "created_by": scan.DAILY_ACTOR}


async def test_the_sweep_loop_of_a_process_queues_the_days_scan_once(db, settings):
    another_process()
    today = local_today()
    assert await scan_jobs(today) == []
    every_moment = replace(settings, daily_scan_hour=0, sweep_interval_seconds=0.2)
    stop = asyncio.Event()
    sweeping = asyncio.create_task(sweep_loop(every_moment, stop))
    try:
        await waiting.until(lambda: scan_jobs(today), bool, "the sweep loop to queue the scan")
        await asyncio.sleep(0.6)  # more rounds of the same day
        another_process()  # and a round as if of another process
        await asyncio.sleep(0.6)
    finally:
        stop.set()
        await sweeping
    [job_id] = await scan_jobs(today)
    await runner.execute(job_id)


def test_the_hour_is_a_setting_off_by_default():
    assert Settings.from_env({}).daily_scan_hour is None
    assert Settings.from_env({"DAILY_SCAN_HOUR": "2"}).daily_scan_hour == 2
    for bad in ("24", "-1"):
        try:
            Settings.from_env({"DAILY_SCAN_HOUR": bad})
        except ValueError as exc:
            assert "DAILY_SCAN_HOUR" in str(exc)
        else:
            raise AssertionError(f"{bad} was accepted")
