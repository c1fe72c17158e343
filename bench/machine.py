"""How fast this machine is right now, printed in every bench's header.

The VMs these figures come from change speed from hour to hour: the same code ran 10%
to 3x slower. A pure-Python loop alone did not show the worst spells (1.3-1.4 s against
1.1 s while the imports ran 3x slower); copying memory did. Both are printed beside
each run, so readers can tell which spell a figure belongs to."""

from __future__ import annotations

import time

import numpy as np


def python_loop_seconds(additions: int = 20_000_000) -> float:
    """Seconds for `additions` additions in a plain Python loop."""
    started = time.perf_counter()
    total = 0
    for i in range(additions):
        total += i
    return time.perf_counter() - started


def memory_copy_gb_per_s(megabytes: int = 200, rounds: int = 10) -> float:
    """GB/s of copying a `megabytes` array (larger than any cache) `rounds` times."""
    source = np.ones(megabytes * 1_000_000 // 8)
    started = time.perf_counter()
    for _ in range(rounds):
        source.copy()
    return rounds * source.nbytes / 1e9 / (time.perf_counter() - started)


def header_note() -> str:
    return (
        f"python loop of 20M additions {python_loop_seconds():.2f} s, "
        f"memory copy {memory_copy_gb_per_s():.1f} GB/s"
    )
