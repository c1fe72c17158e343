"""How the skill-level traces write amounts and levels (pure)."""

from __future__ import annotations

import functools

from registry.levels import Level


@functools.lru_cache(maxsize=4096)  # a run shows few distinct amounts, a million times
def yuan(fen: int) -> str:
    """8,000 for whole yuan, 8,000.50 otherwise (exact: integer division)."""
    whole, cents = divmod(int(fen), 100)
    return f"{whole:,}" if cents == 0 else f"{whole:,}.{cents:02d}"


def level_names(level: float) -> tuple[str, str]:
    """(Chinese, English) name of a level number; NaN or out of range is unknown."""
    if level != level or not 1 <= level <= 5:
        return "未知等级", "unknown level"
    named = Level(int(level))
    return named.zh, named.en
