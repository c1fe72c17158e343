from pathlib import Path

from piccolo.conf.apps import AppConfig

from registry.tables import Organisation

APP_CONFIG = AppConfig(
    app_name="registry",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Organisation],
)
