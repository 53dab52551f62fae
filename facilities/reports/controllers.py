"""Temporary re-export of the report controllers, for facilities/app.py until it imports them
from their modules: :mod:`facilities.reports.pages` (citizens),
:mod:`facilities.reports.triage_pages` (staff) and :mod:`facilities.reports.open311_api`.
"""

from __future__ import annotations

from facilities.reports.open311_api import Open311Controller
from facilities.reports.pages import ReportController
from facilities.reports.triage_pages import TriageController

__all__ = ["Open311Controller", "ReportController", "TriageController"]
