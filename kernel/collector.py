"""Pausing Python's cyclic garbage collector around bulk work.

An import or a calculation chunk makes millions of small acyclic objects (row tuples,
dicts, JSON text). Their allocations keep triggering collections, and the full ones
walk every object in the process: a fifth of such a job's time. Reference counting
frees those objects anyway; cycles made meanwhile wait until the last paused section
ends. The collector is one per process, so sections in several threads (two jobs at
once) count: it runs again only when the last one leaves. Meanwhile the rest of the
process (an embedded worker's web requests) runs without it too; what cycles they
make are collected once it runs again. Pause bulk jobs only, not every job."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
