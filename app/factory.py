"""The Litestar application."""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware

from accounts.routes import ApiKeyController, AuthController, LockoutController, StaffController
from app.api_docs import docs_assets, document_operations, openapi_config
from app.auth import PUBLIC_OPT, CredentialAuthMiddleware
from app.data_files import check_data_files
from app.health import health, live, ready
from app.http_errors import EXCEPTION_HANDLERS, audit_denials
from app.lifecycle import lifespan
from app.request_context import RequestContextMiddleware
from app.security import secured
from app.settings import Settings
from audit.routes import AuditController
from calendar_days.replacements import on_year_replaced
from calendar_days.routes import CalendarController
from certificates.routes import DocumentController, VerifyController
from registry.appraisals.calendar_recount import recount as recount_notices
from registry.appraisals.routes import AppraisalController, NoticeController, NoticePageController
from registry.certificate_routes import CertificateController
from registry.outcomes.routes import OutcomeReportController
from registry.people_routes import PersonController
from registry.routes import OrganisationController
from registry.search_routes import SEARCH_ROUTES, StatisticsController
from registry.studios.routes import StudioController
from reviews.routes import AffiliationController, ReviewController
from subsidies.batches.routes import BatchController
from subsidies.claim_files.routes import ClaimFileController
from subsidies.claims.calculation_routes import CalculationRunController
from subsidies.claims.routes import BudgetController, ClaimController
from subsidies.internships.programme_routes import ProgrammeController
from subsidies.internships.routes import InternshipController
from subsidies.policies.routes import PolicyController
from subsidies.skill_levels.employment_routes import EmploymentController
from subsidies.skill_levels.scan_routes import ScanController
from subsidies.vouchers.routes import VoucherController
from workers.kinds import load_handlers
from workers.routes import JobController


def create_app(
    settings: Settings | None = None, *, engine_bound: bool = False, run_jobs: bool = True
) -> Litestar:
    """`engine_bound`: the caller (tests) already bound an engine. `run_jobs`: start the
    embedded worker and sweeper (off for benchmark processes beside a real worker)."""
    settings = settings or Settings.from_env()
    load_handlers()
    check_data_files()
    on_year_replaced(recount_notices)  # notices count on the calendar; it cannot import them
    auth = DefineMiddleware(
        CredentialAuthMiddleware,
        exclude=["^/schema"],
        exclude_from_auth_key=PUBLIC_OPT,
    )
    app = Litestar(
        route_handlers=[
            health,
            live,
            ready,
            AuthController,
            LockoutController,
            StaffController,
            ApiKeyController,
            OrganisationController,
            PersonController,
            CertificateController,
            OutcomeReportController,
            AuditController,
            JobController,
            ReviewController,
            AffiliationController,
            StudioController,
            AppraisalController,
            NoticeController,
            NoticePageController,
            CalendarController,
            InternshipController,
            ProgrammeController,
            ClaimController,
            ClaimFileController,
            BudgetController,
            VoucherController,
            EmploymentController,
            ScanController,
            CalculationRunController,
            BatchController,
            DocumentController,
            VerifyController,
            PolicyController,
            StatisticsController,
            # Last: they share paths with controllers (see registry.search_routes).
            *SEARCH_ROUTES,
            docs_assets(),
        ],
        middleware=[auth],
        exception_handlers=EXCEPTION_HANDLERS,
        after_exception=[audit_denials],
        lifespan=[lifespan],
        state=State({"settings": settings, "engine_bound": engine_bound, "run_jobs": run_jobs}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=openapi_config(),
        logging_config=None,  # app.logs configures logging (request ids, masking)
        debug=False,
    )
    document_operations(app)
    app.asgi_handler = secured(app.asgi_handler, settings, app.openapi_config)
    # Outermost, so even errors answered by Litestar's exception layer carry the id.
    app.asgi_handler = RequestContextMiddleware(app.asgi_handler)
    return app
