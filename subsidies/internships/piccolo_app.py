from pathlib import Path

from piccolo.conf.apps import AppConfig

from subsidies.internships.tables import MonthFile, Placement, Programme

APP_CONFIG = AppConfig(
    app_name="internships",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Programme, Placement, MonthFile],
    migration_dependencies=["registry.piccolo_app", "subsidies.claims.piccolo_app"],
)
