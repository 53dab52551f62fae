"""Inspection pages (staff, phone-friendly) and the JSON API under /api/v1."""

from __future__ import annotations

from litestar import Controller

from facilities.web.auth import staff_guard


class InspectionController(Controller):
    path = "/inspections"
    guards = [staff_guard]
    include_in_schema = False


class InspectionApiController(Controller):
    path = "/api/v1"
    guards = [staff_guard]
    tags = ["inspections"]
