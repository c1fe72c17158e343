"""kernel.parse_slots: tasks share one queue of slots, served in arrival order; a task
gives up after its wait, a cancelled one loses no slot."""

from __future__ import annotations

import asyncio

from kernel.parse_slots import ParseSlots


async def until(condition) -> None:
    """Until `condition()` holds: each check yields to the loop, no fixed budget."""
    for _ in range(100_000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the condition never held")


async def test_a_task_past_the_limit_gives_up_after_its_wait():
    slots = ParseSlots(1)
    assert await slots.acquire_async(0)
    assert not await slots.acquire_async(0.05)
    assert slots.busy == 1 and slots.waiting == 0  # the one who gave up left the queue
    slots.release()
    assert slots.busy == 0
    assert await slots.acquire_async(0)


async def test_tasks_are_served_in_arrival_order():
    slots = ParseSlots(1)
    assert await slots.acquire_async(0)
    first = asyncio.create_task(slots.acquire_async(600))
    await until(lambda: slots.waiting == 1)
    second = asyncio.create_task(slots.acquire_async(600))
    await until(lambda: slots.waiting == 2)
    slots.release()  # to the task which came first
    assert await first
    assert slots.busy == 1 and slots.waiting == 1 and not second.done()
    slots.release()  # to the second
    assert await second
    assert slots.busy == 1
    slots.release()
    assert slots.busy == 0


async def test_a_cancelled_waiter_leaves_the_queue_and_loses_no_slot():
    slots = ParseSlots(1)
    assert await slots.acquire_async(0)
    waiting = asyncio.create_task(slots.acquire_async(600))
    await until(lambda: slots.waiting == 1)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    assert slots.waiting == 0 and slots.busy == 1
    slots.release()
    assert slots.busy == 0
    # A slot handed over just as its waiter is cancelled goes on to the next one.
    assert await slots.acquire_async(0)
    handed = asyncio.create_task(slots.acquire_async(600))
    await until(lambda: slots.waiting == 1)
    slots.release()  # handed to `handed`, whose wake-up is still to run
    handed.cancel()
    await asyncio.gather(handed, return_exceptions=True)
    assert slots.busy == 0 and slots.waiting == 0


async def test_a_slot_freed_by_another_thread_wakes_a_waiting_task():
    slots = ParseSlots(2)
    assert await slots.acquire_async(0) and await slots.acquire_async(0)
    waiting = asyncio.create_task(slots.acquire_async(600))
    await until(lambda: slots.waiting == 1)
    await asyncio.to_thread(slots.release)
    assert await waiting
    assert slots.busy == 2
