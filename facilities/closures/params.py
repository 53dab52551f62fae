"""What the closure pages and the JSON API read from a URL alike: a record id within the
database's range, and the list's status filter ("open", "all" or one status)."""

from __future__ import annotations

from facilities.closures.choices import Status
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _

#: The list's status filter: "open" (planned or in force), "all", or one status.
OPEN = (Status.PLANNED, Status.ACTIVE, Status.EXTENDED)
STATUS_FILTERS = ("open", "all", *(s.value for s in Status))


def statuses(value: str) -> list[str] | None:
    """The statuses a filter value stands for (None: all)."""
    if value not in STATUS_FILTERS:
        raise ValidationFailed({"status": _("Choose one of the listed options.")})
    if value == "all":
        return None
    if value == "open":
        return [s.value for s in OPEN]
    return [value]
