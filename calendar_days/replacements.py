"""Dates other domains counted on a year's schedule. When an admin replaces a year, each
registered listener recounts the dates it stored on the old schedule, inside the same
unit of work: it returns the dates it moved, or raises a DomainError to refuse the whole
replacement. The calendar knows nothing of the domains; they register where the app and
the workers are composed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from calendar_days.working_days import Calendar


@dataclass(frozen=True)
class YearReplaced:
    """`before` and `after` hold the year's old and new schedule with the neighbouring
    years (a stored period touching the year starts and ends within them)."""

    year: int
    actor: str
    before: Calendar
    after: Calendar


@dataclass(frozen=True)
class MovedDate:
    """A stored date a listener recounted on the new schedule."""

    object_type: str
    object_id: int
    field: str
    before: date
    after: date

    def as_dict(self) -> dict[str, Any]:
        return {
            "object_type": self.object_type,
            "object_id": self.object_id,
            "field": self.field,
            "before": self.before.isoformat(),
            "after": self.after.isoformat(),
        }


Listener = Callable[[YearReplaced], Awaitable[list[MovedDate]]]

_LISTENERS: list[Listener] = []


def on_year_replaced(listener: Listener) -> Listener:
    """Registers `listener` (once, however often it is registered)."""
    if listener not in _LISTENERS:
        _LISTENERS.append(listener)
    return listener


async def notify(event: YearReplaced) -> list[MovedDate]:
    moved: list[MovedDate] = []
    for listener in _LISTENERS:
        moved += await listener(event)
    return moved
