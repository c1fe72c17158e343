"""Login throttling rules: delays that grow, a lockout, windows that end."""

from datetime import UTC, datetime, timedelta

from accounts.throttle_rules import (
    LOCKED,
    NAMES_AUDITED_PER_ADDRESS,
    WINDOW_STARTED,
    Counter,
    Limits,
    address_block,
    audits_window_start,
    count_failure,
    refund,
    wait_seconds,
)

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


ADDRESS = Limits(lock_after=3, window=timedelta(minutes=15), lock=timedelta(minutes=15))


def test_a_success_takes_back_its_attempt_and_the_lockout_it_caused():
    counter = None
    for _ in range(3):
        counted = count_failure(counter, T0, ADDRESS)
        counter = counted.counter
    assert counted.event == LOCKED and wait_seconds(counter, T0) == 900
    taken_back = refund(counter, counted.counter, ADDRESS)
    assert taken_back == Counter(2, T0, None)
    # The failures stay: the next one locks again.
    assert count_failure(taken_back, T0, ADDRESS).event == LOCKED


def test_a_success_keeps_a_lockout_the_other_failures_justify():
    counter = Counter(5, T0, T0 + timedelta(minutes=15))
    assert refund(counter, counter, ADDRESS) == Counter(4, T0, T0 + timedelta(minutes=15))


def test_nothing_is_taken_back_from_a_counter_gone_or_in_a_later_window():
    charged = count_failure(None, T0, ADDRESS).counter
    assert refund(None, charged, ADDRESS) is None
    later = count_failure(None, T0 + timedelta(minutes=20), ADDRESS).counter
    assert refund(later, charged, ADDRESS) is None


def test_only_the_first_names_of_an_address_window_are_audited_when_their_window_starts():
    name = count_failure(None, T0, LIMITS)
    by_address = None
    audited = []
    for _ in range(10):
        counted = count_failure(by_address, T0, LIMITS)
        by_address = counted.counter
        audited.append(audits_window_start(name, counted))
    assert audited == [True] * NAMES_AUDITED_PER_ADDRESS + [False] * 7
    known_name = count_failure(name.counter, T0, LIMITS)  # not its window's start
    assert not audits_window_start(known_name, count_failure(None, T0, LIMITS))


def test_an_ipv6_address_is_counted_by_its_64():
    assert address_block("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64"
    assert address_block("2001:DB8:1:2::ffff") == "2001:db8:1:2::/64"
    assert address_block("fe80::1%eth0") == "fe80::/64"
    assert address_block("::ffff:192.0.2.7") == "192.0.2.7"
    assert address_block("192.0.2.7") == "192.0.2.7"
    assert address_block("unknown") == "unknown"
