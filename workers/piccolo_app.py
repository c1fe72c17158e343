from pathlib import Path

from piccolo.conf.apps import AppConfig

from workers.tables import DailyRun, Job

APP_CONFIG = AppConfig(
    app_name="workers",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Job, DailyRun],
    migration_dependencies=["registry.piccolo_app"],
)
