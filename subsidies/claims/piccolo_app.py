from pathlib import Path

from piccolo.conf.apps import AppConfig

from subsidies.claims.tables import (
    Budget,
    CalculationInputNames,
    CalculationTrace,
    CapUsage,
    Claim,
    ClaimCalculation,
)

APP_CONFIG = AppConfig(
    app_name="claims",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Claim,
        ClaimCalculation,
        CalculationTrace,
        CalculationInputNames,
        CapUsage,
        Budget,
    ],
    migration_dependencies=["registry.piccolo_app", "subsidies.policies.piccolo_app"],
)
