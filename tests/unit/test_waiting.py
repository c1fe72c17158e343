"""The test waiter fails on a stall, not on a slow but moving wait."""

import itertools

import pytest

from tests.support import waiting


async def test_a_value_that_keeps_changing_is_waited_for_past_the_stall_period():
    counter = itertools.count()
    value = await waiting.until(
        lambda: next(counter),
        lambda n: n >= 40,
        "a counter",
        stall_seconds=0.05,
        poll_seconds=0.01,
        progress=None,
    )
    assert value == 40  # about 0.4 s in all: eight stall periods


async def test_a_value_that_stops_changing_fails_after_the_stall_period():
    with pytest.raises(AssertionError, match=r"no progress for 0\.2s waiting for a stuck thing: 7"):
        await waiting.until(
            lambda: 7, lambda n: n > 7, "a stuck thing", stall_seconds=0.2, progress=None
        )


async def test_progress_elsewhere_keeps_a_wait_alive_until_the_cap():
    ticks = itertools.count()
    with pytest.raises(AssertionError, match=r"still waiting after 0\.4s for a slow thing"):
        await waiting.until(
            lambda: 7,
            lambda n: n > 7,
            "a slow thing",
            stall_seconds=0.1,
            cap_seconds=0.4,
            poll_seconds=0.01,
            progress=lambda: next(ticks),
        )
