from pathlib import Path

from piccolo.conf.apps import AppConfig

from accounts.tables import ApiKey, LoginThrottle, StaffAffiliation, StaffSession, StaffUser

APP_CONFIG = AppConfig(
    app_name="accounts",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[StaffUser, StaffSession, ApiKey, StaffAffiliation, LoginThrottle],
    migration_dependencies=["registry.piccolo_app"],
)
