"""Closure pages for staff and the JSON API under /api/v1/closures."""

from __future__ import annotations

from litestar import Controller

from facilities.web.auth import staff_guard


class ClosureController(Controller):
    path = "/closures"
    guards = [staff_guard]
    include_in_schema = False


class ClosureApiController(Controller):
    path = "/api/v1/closures"
    guards = [staff_guard]
    tags = ["closures"]
