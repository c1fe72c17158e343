from pathlib import Path

from piccolo.conf.apps import AppConfig

from subsidies.claim_files.tables import ClaimFile

APP_CONFIG = AppConfig(
    app_name="claim_files",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ClaimFile],
    migration_dependencies=["registry.piccolo_app"],
)
