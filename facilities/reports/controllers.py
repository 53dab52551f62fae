"""Report pages (citizens and staff) and Open311 GeoReport v2."""

from __future__ import annotations

from litestar import Controller

from facilities.web.auth import staff_guard


class ReportController(Controller):
    """Citizen pages: the report form, the tracking page."""

    include_in_schema = False


class TriageController(Controller):
    path = "/triage"
    guards = [staff_guard]
    include_in_schema = False


class Open311Controller(Controller):
    path = "/open311/v2"
    include_in_schema = False
