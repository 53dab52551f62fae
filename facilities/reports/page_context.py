"""What every report template receives: the report choices (categories, statuses, stages,
channels, colours, attributes) and the photo limit, for the citizen and the triage pages.
"""

from __future__ import annotations

from typing import Any

from facilities.reports import choices
from facilities.reports import services as reports
from facilities.reports.choices import Category, Channel, PublicStatus


def template_choices() -> dict[str, Any]:
    """The report choices for templates (the app's globals are another team's file)."""
    return {
        "Category": Category,
        "ReportStatus": choices.ReportStatus,
        "Stage": choices.Stage,
        "Channel": Channel,
        "PublicStatus": PublicStatus,
        "STAGE_COLOURS": choices.STAGE_COLOURS,
        "attributes_for": choices.attributes_for,
        "MAX_PHOTOS": reports.MAX_PHOTOS,
    }
