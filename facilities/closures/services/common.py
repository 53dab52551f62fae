"""What the closure services share: which ticket statuses count as done or as beside the
point for a reopening, and how a message is written in both languages of a public notice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from facilities.closures.choices import Precision
from facilities.i18n import gettext as _
from facilities.i18n import use_locale

#: A linked ticket in one of these is finished work; in one of the others it is beside the point.
DONE_TICKET_STATUSES = frozenset({"accepted", "closed"})
IRRELEVANT_TICKET_STATUSES = frozenset({"cancelled", "rejected", "duplicate"})


def bilingual(message: str, **params: Any) -> tuple[str, str]:
    """(Chinese, English) of one message: notices are always written in both languages.
    Mark the literal with ``N_`` at the call so the catalogs pick it up."""
    with use_locale("zh_CN"):
        zh = _(message) % params if params else _(message)
    with use_locale("en"):
        en = _(message) % params if params else _(message)
    return zh, en


def date_text(day: dt.date | None, precision: str, language: str) -> str:
    """A promised reopening in ``language`` ("on 1 May 2027", "before ..."); empty without one."""
    if day is None:
        return ""
    with use_locale(language):
        if language == "zh_CN":
            text = f"{day.month}月{day.day}日"
        else:
            text = day.strftime("%-d %B %Y")
        return (_("before %(date)s") if precision == Precision.BEFORE else _("on %(date)s")) % {
            "date": text
        }
