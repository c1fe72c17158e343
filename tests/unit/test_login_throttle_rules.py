"""Login throttling rules: delays that grow, a lockout, windows that end."""

from datetime import UTC, datetime, timedelta

from accounts.throttle_rules import LOCKED, WINDOW_STARTED, Limits, count_failure, wait_seconds

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LIMITS = Limits(
    lock_after=10,
    window=timedelta(minutes=15),
    lock=timedelta(minutes=15),
    delay_after=5,
    max_delay=timedelta(seconds=60),
)


def fail_times(n: int, limits: Limits = LIMITS, step: timedelta = timedelta(seconds=0)):
    counter, results, now = None, [], T0
    for _ in range(n):
        counted = count_failure(counter, now, limits)
        results.append((now, counted))
        counter = counted.counter
        # the next attempt comes as soon as it is allowed
        now = max(now + step, counter.blocked_until or now)
    return results


def test_the_first_failures_pass_then_each_waits_twice_as_long():
    results = fail_times(9)
    delays = [wait_seconds(counted.counter, now) for now, counted in results]
    assert delays == [0, 0, 0, 0, 1, 2, 4, 8, 16]


def test_the_delay_is_capped():
    limits = Limits(
        lock_after=100,
        window=timedelta(hours=1),
        lock=timedelta(hours=1),
        delay_after=1,
        max_delay=timedelta(seconds=60),
    )
    now, counted = fail_times(20, limits)[-1]
    assert wait_seconds(counted.counter, now) == 60


def test_the_lock_after_failure_locks_for_the_lock_time_and_is_audited_once():
    results = fail_times(10)
    events = [counted.event for _, counted in results]
    assert events == [WINDOW_STARTED] + [None] * 8 + [LOCKED]
    now, counted = results[-1]
    assert wait_seconds(counted.counter, now) == 15 * 60
    assert wait_seconds(counted.counter, now + timedelta(minutes=15)) == 0


def test_after_a_lockout_or_a_quiet_window_the_count_starts_again():
    now, counted = fail_times(10)[-1]
    again = count_failure(counted.counter, now + timedelta(minutes=15), LIMITS)
    assert again.counter.failures == 1 and again.event == WINDOW_STARTED
    quiet = count_failure(
        count_failure(None, T0, LIMITS).counter, T0 + timedelta(minutes=16), LIMITS
    )
    assert quiet.counter.failures == 1 and quiet.event == WINDOW_STARTED


def test_failures_within_the_window_keep_counting():
    first = count_failure(None, T0, LIMITS).counter
    second = count_failure(first, T0 + timedelta(minutes=14), LIMITS)
    assert second.counter.failures == 2 and second.event is None
    assert second.counter.window_start == T0


def test_without_delays_only_the_lockout_blocks():
    limits = Limits(lock_after=3, window=timedelta(minutes=15), lock=timedelta(minutes=15))
    results = fail_times(3, limits)
    assert [wait_seconds(c.counter, now) for now, c in results] == [0, 0, 900]
