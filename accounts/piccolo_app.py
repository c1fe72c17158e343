from pathlib import Path

from piccolo.conf.apps import AppConfig

from accounts.tables import ApiKey, StaffAffiliation, StaffSession, StaffUser

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[StaffUser, StaffSession, ApiKey, StaffAffiliation],
    migration_dependencies=["registry.piccolo_app"],
)
