from pathlib import Path

from piccolo.conf.apps import AppConfig

from subsidies.batches.tables import BatchLine, DisbursementBatch

APP_CONFIG = AppConfig(
    app_name="batches",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[DisbursementBatch, BatchLine],
    migration_dependencies=["registry.piccolo_app", "subsidies.claims.piccolo_app"],
)
