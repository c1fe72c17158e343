from pathlib import Path

from piccolo.conf.apps import AppConfig

from registry.studios.tables import Studio, StudioAssessment, StudioMember

APP_CONFIG = AppConfig(
    app_name="studios",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Studio, StudioMember, StudioAssessment],
    migration_dependencies=["registry.piccolo_app", "reviews.piccolo_app"],
)
