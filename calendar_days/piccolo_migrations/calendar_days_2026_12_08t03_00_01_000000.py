"""The official schedules of every year the `chinesecalendar` library covers, each year
marked complete with the library's name and version as its source. Later years are
entered by an admin from the State Council's notice (PUT /api/v1/calendar/years/{year})."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager

from kernel.migration_sql import run_sql

ID = "2026-12-08T03:00:01:000000"
VERSION = "1.38.0"
DESCRIPTION = "the official holiday schedules the chinesecalendar library covers"
SEEDED_BY = "migration"
BATCH = 200

# The library's English names as the State Council's notices name them.
NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "Mid-autumn Festival": "中秋节",
    "National Day": "国庆节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def library_rows() -> tuple[str, list[int], list[tuple[str, int, str, str]]]:
    """The library's source label, the years it covers, and (day, year, kind, name)."""
    import chinese_calendar

    source = f"chinesecalendar {chinese_calendar.__version__}"
    days = [(d, "holiday", n) for d, n in chinese_calendar.holidays.items()]
    days += [(d, "working_day", n) for d, n in chinese_calendar.workdays.items()]
    rows = sorted((d.isoformat(), d.year, kind, NAMES.get(n, n)) for d, kind, n in days)
    return source, list(range(rows[0][1], rows[-1][1] + 1)), rows


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="calendar_days", description=DESCRIPTION)

    async def seed():
        source, years, rows = library_rows()
        values = ", ".join(
            f"({year}, {_quoted(source)}, '{SEEDED_BY}', CURRENT_TIMESTAMP)" for year in years
        )
        await run_sql(
            f"INSERT INTO calendar_year (year, source, entered_by, entered_at) VALUES {values}"
        )
        for start in range(0, len(rows), BATCH):
            values = ", ".join(
                f"({_quoted(day)}, {year}, {_quoted(kind)}, {_quoted(name)}, {_quoted(source)})"
                for day, year, kind, name in rows[start : start + BATCH]
            )
            await run_sql(
                f"INSERT INTO calendar_day (day, year, kind, name, source) VALUES {values}"
            )

    async def unseed():
        # Only the years the migration entered and no admin has replaced since.
        seeded = f"SELECT year FROM calendar_year WHERE entered_by = '{SEEDED_BY}'"
        await run_sql(f"DELETE FROM calendar_day WHERE year IN ({seeded})")
        await run_sql(f"DELETE FROM calendar_year WHERE entered_by = '{SEEDED_BY}'")

    manager.add_raw(seed)
    manager.add_raw_backwards(unseed)
    return manager
