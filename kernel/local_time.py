"""Times as people in the bureau read them: Beijing time (UTC+8), to the second. Exports,
pages and documents format with these; the API's JSON keeps ISO 8601 with the offset."""

from __future__ import annotations

from datetime import UTC, date, datetime

from kernel.clock import CHINA


def beijing(moment: datetime) -> datetime:
    """The same instant on Beijing's clock; a naive value is taken as UTC (how the
    database hands timestamps back)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA)


def beijing_time(moment: datetime | None) -> str:
    """2026-12-07T19:51:51.758300+00:00 as "2026-12-08 03:51:51"; None as ""."""
    return beijing(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


def beijing_day(moment: datetime | date | None) -> str:
    """The Beijing calendar day of an instant (a date stays itself): "2026-12-08"."""
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        moment = beijing(moment).date()
    return moment.isoformat()


def cn_date(day: date | None) -> str:
    """A day as a document prints it: "2026年12月8日"."""
    return f"{day.year}年{day.month}月{day.day}日" if day else ""
