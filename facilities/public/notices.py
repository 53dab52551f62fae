"""Public closure notices, feeds (Atom, iCalendar, GeoJSON, CAP) and subscriptions."""

from __future__ import annotations

from litestar import Controller


class NoticeController(Controller):
    include_in_schema = False
