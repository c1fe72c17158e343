"""kernel.file_limits.LineScanner: the longest line of a stream fed in chunks, at the
limit passes, one byte over is refused, wherever the chunks cut the lines; and a large
input of long lines is scanned in time linear in its size."""

from __future__ import annotations

import random

import pytest

from kernel import sandbox
from kernel.errors import TooLarge
from kernel.file_limits import LineScanner

# Far more than a linear scan of 16 MiB needs (milliseconds), far less than a scan that
# searches each line again from every byte of it (minutes).
CPU_BOUND = sandbox.SandboxLimits(memory_mb=256, cpu_seconds=30)


def longest_line(data: bytes) -> int:
    return max(map(len, data.split(b"\n")))


def fits(data: bytes, limit: int, chunk: int) -> bool:
    scanner = LineScanner(limit)
    try:
        for start in range(0, len(data), chunk):
            scanner.feed(data[start : start + chunk])
    except TooLarge:
        return False
    return True


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 9, 10, 11, 64])
def test_a_line_at_the_limit_passes_and_one_byte_over_is_refused(chunk):
    for before in (b"", b"ab\n", b"\n\n", b"x" * 9 + b"\n"):
        for after in (b"", b"\n", b"\nabc", b"\n" + b"y" * 10):
            assert fits(before + b"z" * 10 + after, 10, chunk)
            assert not fits(before + b"z" * 11 + after, 10, chunk)
    assert fits(b"z" * 10, 10, chunk)  # the last line, without a newline
    assert not fits(b"z" * 11, 10, chunk)
    assert fits(b"", 10, chunk) and fits(b"\n" * 50, 10, chunk)


def test_any_chunking_agrees_with_splitting_the_whole():
    rng = random.Random(7)
    for _ in range(2000):
        limit = rng.randint(1, 40)
        data = bytes(
            rng.choice(b"ab\n" if rng.random() < 0.5 else b"aaaaaaab\n")
            for _ in range(rng.randint(0, 200))
        )
        chunk = rng.randint(1, 60)
        assert fits(data, limit, chunk) == (longest_line(data) <= limit), (data, limit, chunk)


def scan_long_lines(size: int, line: int, longest: int, chunk: int) -> bool:
    """`size` bytes of `line`-byte lines with one line of `longest` bytes in the middle,
    fed in `chunk`-byte chunks against the 1 MiB limit: True when it fits."""
    one = b"x" * (line - 1) + b"\n"
    half = one * (size // 2 // line)
    data = half + b"y" * longest + b"\n" + half
    return fits(data, 1 << 20, chunk)


@pytest.mark.parametrize("chunk", [16 << 20, 1 << 16, 1000])
def test_sixteen_mebibytes_of_long_lines_are_scanned_in_linear_time(chunk):
    """Lines of 64 KiB and one of exactly 1 MiB, or one byte more, spanning chunks: each
    scan runs in a child held to 30 s of CPU time, which only a scan that is not
    linear would need."""
    run = sandbox.run
    assert run(scan_long_lines, 16 << 20, 64 << 10, 1 << 20, chunk, limits=CPU_BOUND)
    assert not run(scan_long_lines, 16 << 20, 64 << 10, (1 << 20) + 1, chunk, limits=CPU_BOUND)
    assert run(scan_long_lines, 16 << 20, (1 << 20) + 1, 1 << 20, chunk, limits=CPU_BOUND)
