from datetime import UTC, date, datetime, timedelta, timezone

# The bureau works on Beijing time: "today", deadlines and late reports follow it.
CHINA = timezone(timedelta(hours=8), "Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_today() -> date:
    return utcnow().astimezone(CHINA).date()


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()
