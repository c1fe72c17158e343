from pathlib import Path

from piccolo.conf.apps import AppConfig

from calendar_days.tables import CalendarDay, CalendarYear

APP_CONFIG = AppConfig(
    app_name="calendar_days",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[CalendarYear, CalendarDay],
    migration_dependencies=[],
)
