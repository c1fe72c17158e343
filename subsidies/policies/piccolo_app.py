from pathlib import Path

from piccolo.conf.apps import AppConfig

from subsidies.policies.tables import PolicyVersion

APP_CONFIG = AppConfig(
    app_name="policies",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[PolicyVersion],
)
