"""How fast this machine runs plain Python right now, printed in every bench's header.

The VMs these figures come from change speed from hour to hour (the same code 10% to 3x
slower); a pure-Python loop measured beside each run tells readers which spell a figure
belongs to."""

from __future__ import annotations

import time


def python_loop_seconds(additions: int = 20_000_000) -> float:
    """Seconds for `additions` additions in a plain Python loop (1.1 s on a quiet,
    fast spell of the 2-core VMs in README)."""
    started = time.perf_counter()
    total = 0
    for i in range(additions):
        total += i
    return time.perf_counter() - started


def header_note() -> str:
    return f"python loop of 20M additions {python_loop_seconds():.2f} s"
