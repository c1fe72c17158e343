from pathlib import Path

from piccolo.conf.apps import AppConfig

from registry.appraisals.tables import (
    AppraisalRound,
    QuotaPool,
    TalentApplication,
    TalentAward,
    TalentNotice,
    TalentObjection,
)

APP_CONFIG = AppConfig(
    app_name="appraisals",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        QuotaPool,
        AppraisalRound,
        TalentNotice,
        TalentApplication,
        TalentObjection,
        TalentAward,
    ],
    migration_dependencies=["registry.piccolo_app", "reviews.piccolo_app"],
)
