from pathlib import Path

from piccolo.conf.apps import AppConfig

from certificates.tables import Document

APP_CONFIG = AppConfig(
    app_name="certificates",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Document],
    migration_dependencies=["registry.piccolo_app"],
)
