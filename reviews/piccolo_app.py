from pathlib import Path

from piccolo.conf.apps import AppConfig

from reviews.tables import ReviewAssignment, ReviewCase

APP_CONFIG = AppConfig(
    app_name="reviews",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ReviewCase, ReviewAssignment],
    migration_dependencies=["registry.piccolo_app", "accounts.piccolo_app"],
)
