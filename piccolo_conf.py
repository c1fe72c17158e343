"""Piccolo's entry point (used by `piccolo migrations ...`): the engine follows
DATABASE_URL, SQLite file by default."""

from piccolo.conf.apps import AppRegistry

from app.settings import Settings
from kernel.db import make_engine

DB = make_engine(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(
    apps=[
        "registry.piccolo_app",
        "accounts.piccolo_app",
        "audit.piccolo_app",
        "workers.piccolo_app",
        "reviews.piccolo_app",
        "registry.studios.piccolo_app",
        "subsidies.policies.piccolo_app",
        "subsidies.claims.piccolo_app",
        "subsidies.vouchers.piccolo_app",
        "subsidies.internships.piccolo_app",
        "subsidies.claim_files.piccolo_app",
        "subsidies.batches.piccolo_app",
        "certificates.piccolo_app",
        "registry.appraisals.piccolo_app",
        "calendar_days.piccolo_app",
    ]
)
