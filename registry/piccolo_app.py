from pathlib import Path

from piccolo.conf.apps import AppConfig

from registry.tables import (
    Certificate,
    Employment,
    InsuredPeriod,
    Organisation,
    OutcomeReport,
    PaymentAccountProposal,
    Person,
    TrainingOutcome,
)

APP_CONFIG = AppConfig(
    app_name="registry",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Organisation,
        Person,
        Certificate,
        OutcomeReport,
        TrainingOutcome,
        Employment,
        InsuredPeriod,
        PaymentAccountProposal,
    ],
)
