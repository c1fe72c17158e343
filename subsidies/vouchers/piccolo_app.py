from pathlib import Path

from piccolo.conf.apps import AppConfig

from subsidies.vouchers.tables import Voucher

APP_CONFIG = AppConfig(
    app_name="vouchers",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[Voucher],
    migration_dependencies=["registry.piccolo_app", "subsidies.policies.piccolo_app"],
)
