"""The application: the one list of controllers, middleware, lifespans and error handlers."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from jinja2 import Environment
from litestar import Litestar
from litestar.di import Provide
from litestar.file_system import BaseLocalFileSystem
from litestar.middleware.base import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from facilities import db, maintenance
from facilities.accounts.api import MeApiController, TokenApiController, UserApiController
from facilities.accounts.guards import AuthMiddleware
from facilities.accounts.notification_pages import NotificationPreferencesController
from facilities.accounts.pages import AuthController, UserAdminController
from facilities.accounts.submissions import SubmissionMiddleware
from facilities.asset_file import provide_asset_file, provide_commission
from facilities.assets.api import AssetApiController, SiteApiController
from facilities.assets.import_pages import AssetImportController
from facilities.assets.map_pages import AssetMapController
from facilities.assets.pages import AssetController, SiteController
from facilities.assets.qr_labels import AssetLabelController
from facilities.closures.api import ClosureApiController
from facilities.closures.decision_pages import ClosureDecisionController
from facilities.closures.pages import ClosureController
from facilities.field.pages import FieldController
from facilities.homes.audit_api import AuditApiController
from facilities.homes.calendar_pages import CalendarController
from facilities.homes.kpi_api import KpiApiController
from facilities.homes.pages import HomeController
from facilities.inspections.admin_api import InspectionPolicyApiController
from facilities.inspections.api import InspectionApiController
from facilities.inspections.dashboard_pages import InspectionDashboardController
from facilities.inspections.pages import InspectionController
from facilities.inspections.photos_api import InspectionPhotoApiController
from facilities.inspections.report_pages import InspectionReportController
from facilities.inspections.route_pages import InspectionRouteController
from facilities.inspections.schedule_pages import InspectionScheduleController
from facilities.jobs import run_now
from facilities.jobs.api import JobApiController
from facilities.jobs.pages import JobController
from facilities.lib import memory
from facilities.lib.clock import Clock, utcnow
from facilities.ops import OpsController
from facilities.public.basemap import BasemapController
from facilities.public.controllers import PublicController
from facilities.public.documents.notice import NoticePdfController
from facilities.public.notices import NoticeController
from facilities.public.qr import QrController
from facilities.rendering import configure_rendering
from facilities.reports.api import ReportApiController
from facilities.reports.open311_api import Open311Controller
from facilities.reports.pages import ReportController
from facilities.reports.triage_map import TriageMapController
from facilities.reports.triage_pages import TriageController
from facilities.saved_filter_pages import SavedFilterController
from facilities.settings import Settings
from facilities.tickets.api import TicketApiController
from facilities.tickets.board_pages import TicketBoardController
from facilities.tickets.bulk_pages import TicketBulkController
from facilities.tickets.contractor_pages import ContractorController
from facilities.tickets.map_pages import TicketMapController
from facilities.tickets.money_api import (
    ContractorApiController,
    MoneyApiController,
    TicketMoneyApiController,
)
from facilities.tickets.money_pages import MoneyController
from facilities.tickets.pages import TicketController
from facilities.tickets.sla_api import SlaApiController
from facilities.web.clock import provide_now
from facilities.web.conditional import early_revalidation_middleware
from facilities.web.csrf import TokenAwareCSRFMiddleware
from facilities.web.csrf import config as csrf_config
from facilities.web.envelope import envelope_middleware_factory, finish_headers
from facilities.web.errors import EXCEPTION_HANDLERS
from facilities.web.json_depth import refuse_deep_json
from facilities.web.observability import configure_logging
from facilities.wiring import connect_domains
from scheduler.registry import JOBS as TIMETABLE

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"


class StaticFileSystem(BaseLocalFileSystem):
    """The local file system for /static, where a path with a NUL byte (``/static/%00x``) is a
    file that does not exist (a 404), not an error from ``stat`` (a 500)."""

    async def info(self, path: Any, **kwargs: Any) -> Any:
        if "\x00" in str(path):
            raise FileNotFoundError(path)
        return await super().info(path, **kwargs)


CONTROLLERS = [
    PublicController,
    NoticeController,
    NoticePdfController,
    QrController,
    BasemapController,
    ReportController,
    Open311Controller,
    AuthController,
    NotificationPreferencesController,
    HomeController,
    CalendarController,
    UserAdminController,
    SiteController,
    AssetLabelController,
    AssetMapController,
    AssetImportController,
    AssetController,
    TicketMapController,
    TicketBulkController,
    TicketBoardController,
    MoneyController,
    TicketController,
    ContractorController,
    InspectionDashboardController,
    InspectionRouteController,
    InspectionController,
    InspectionReportController,
    InspectionScheduleController,
    FieldController,
    ClosureController,
    ClosureDecisionController,
    TriageMapController,
    TriageController,
    JobController,
    SavedFilterController,
    OpsController,
    SiteApiController,
    AssetApiController,
    TicketApiController,
    TicketMoneyApiController,
    ContractorApiController,
    MoneyApiController,
    InspectionApiController,
    ClosureApiController,
    UserApiController,
    MeApiController,
    TokenApiController,
    SlaApiController,
    JobApiController,
    InspectionPolicyApiController,
    InspectionPhotoApiController,
    ReportApiController,
    KpiApiController,
    AuditApiController,
]


def configure_process(settings: Settings) -> Environment:
    """The process-wide set-up an app relies on: logging, the database engine, the domains
    plugged into each other (:mod:`facilities.wiring`), templates and the outbox's renderer.
    Cheap and safe to repeat (tests that reuse one built app call it for each test's
    settings)."""
    configure_logging(settings.log_level, settings.log_json)
    db.configure(settings.database_url)
    connect_domains(settings)
    run_now.use_timetable(TIMETABLE)  # the scheduler's timetable, for "run now" (jobs API)
    return configure_rendering(settings)


def create_app(
    settings: Settings | None = None,
    *,
    embed_scheduler: bool | None = None,
    clock: Clock = utcnow,
) -> Litestar:
    """Build the app. ``embed_scheduler`` overrides the setting (tests keep it off); ``clock``
    is what every handler's ``now`` reads (tests pass a :class:`SettableClock`)."""
    settings = settings or Settings.from_env()
    env = configure_process(settings)
    run_scheduler = settings.scheduler_embedded if embed_scheduler is None else embed_scheduler

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        current: Settings = app.state.settings
        sqlite_file = db.sqlite_path(current.database_url) if current.is_sqlite else None
        async with (
            maintenance.serving(sqlite_file),  # `facilities restore` refuses while it is held
            db.connection_pool(settings.db_pool_min, settings.db_pool_max),
            memory.trimming(settings.memory_trim_seconds),
        ):
            if run_scheduler:
                from scheduler.runner import embedded_scheduler

                async with embedded_scheduler(settings):
                    yield
            else:
                yield

    csrf = csrf_config(settings.secret_key, secure=settings.cookie_secure)
    app = Litestar(
        route_handlers=[
            *CONTROLLERS,
            create_static_files_router(
                path="/static",
                directories=[STATIC_DIR],
                include_in_schema=False,
                file_system=StaticFileSystem(),
            ),
        ],
        dependencies={
            "now": Provide(provide_now, sync_to_thread=False),
            "asset_file": Provide(provide_asset_file, sync_to_thread=False),
            "commission": Provide(provide_commission, sync_to_thread=False),
        },
        before_send=[finish_headers],
        before_request=refuse_deep_json,
        middleware=[
            envelope_middleware_factory,
            early_revalidation_middleware,  # a shared page's 304, before who-is-asking
            DefineMiddleware(AuthMiddleware, exclude=["^/static", "^/healthz", "^/schema"]),
            DefineMiddleware(TokenAwareCSRFMiddleware, config=csrf),
            SubmissionMiddleware,
        ],
        template_config=TemplateConfig(engine=JinjaTemplateEngine.from_environment(env)),
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="facilities API",
            version="1",
            description="Staff JSON API. Authenticate with `Authorization: Bearer <token>` "
            "(tokens are issued by an administrator) or a browser session plus CSRF header.",
            components=Components(
                security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
            ),
            security=[{"bearer": []}],
            path="/schema",
        ),
        request_max_body_size=settings.max_request_bytes,
        debug=False,
    )
    app.state.settings = settings
    app.state.clock = clock
    return app
