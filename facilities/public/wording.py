"""How a closure is put into words for citizens, in Chinese or English.

Dates as people write them (「5月1日」 / "1 May"), the reopening promise, the one-line state of
a closure and its badge colour, and the labels of its choices. The public pages use these as
template helpers (:data:`HELPERS`) and every feed writes the same sentences with them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from facilities import i18n
from facilities.closures import public
from facilities.closures.choices import Precision, Reason, Scope, Status
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.web import templating


def date_label(value: dt.date | dt.datetime) -> str:
    """「2026年4月1日」 / "1 April 2026" (a moment is read in the bureau's zone)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(templating.display_zone()).date()
    return i18n.day_text(value)


def moment(value: dt.datetime) -> str:
    """「2026年4月1日 10:00」 / "1 April 2026, 10:00" in the bureau's zone."""
    local = value.astimezone(templating.display_zone())
    separator = " " if i18n.current_locale() == "zh_CN" else ", "
    return f"{date_label(local.date())}{separator}{local:%H:%M}"


def _local_year(moment: dt.datetime) -> int:
    return moment.astimezone(templating.display_zone()).year


def expected_text(day: dt.date | None, precision: str, since: dt.datetime | None = None) -> str:
    """「预计5月1日前重新开放」 / "Expected to reopen before 1 May" (or "on 1 May")."""
    if day is None:
        return _("No reopening date has been set yet")
    date = i18n.day_text(day, _local_year(since) if since else None)
    if precision == Precision.EXACT:
        return _("Expected to reopen on %(date)s") % {"date": date}
    return _("Expected to reopen before %(date)s") % {"date": date}


def overdue_text(day: dt.date, precision: str, since: dt.datetime | None = None) -> str:
    """A promise whose date has passed: 「原定5月1日前重新开放，已逾期」 /
    "Expected to reopen before 1 May; this date has passed." (or "on 1 May")."""
    date = i18n.day_text(day, _local_year(since) if since else None)
    if precision == Precision.EXACT:
        return _("Expected to reopen on %(date)s; this date has passed.") % {"date": date}
    return _("Expected to reopen before %(date)s; this date has passed.") % {"date": date}


def overdue(closure: public.PublicClosure, now: dt.datetime) -> bool:
    """The promised reopening date has passed without a reopening."""
    return closure.overdue(now, templating.display_zone())


def expected(closure: public.PublicClosure, now: dt.datetime | None = None) -> str:
    """The reopening promise; with ``now``, says so when its date has passed."""
    if now is not None and closure.planned_reopen_on is not None and overdue(closure, now):
        return overdue_text(
            closure.planned_reopen_on, closure.reopen_precision, closure.effective_from
        )
    return expected_text(
        closure.planned_reopen_on, closure.reopen_precision, closure.effective_from
    )


def revision_text(closure: public.PublicClosure, revision: public.Revision) -> str:
    """ "Revised on 3 March 2027; it was: expected to reopen before 1 May"."""
    was = revision.was
    return _("Revised on %(date)s; it was: %(was)s") % {
        "date": date_label(revision.made_at),
        "was": expected_text(was.planned_reopen_on, was.precision, closure.effective_from),
    }


def headline(closure: public.PublicClosure, now: dt.datetime) -> str:
    """The one-line state a citizen needs: closed how, planned when, or reopened when."""
    if closure.status == Status.PLANNED:
        return _("Closure planned from %(when)s") % {"when": moment(closure.effective_from)}
    if closure.status == Status.LIFTED and closure.reopens_at is not None:
        when = moment(closure.reopens_at)
        if closure.reopens_at > now:
            return _("Repair finished: reopens %(when)s") % {"when": when}
        return _("Reopened %(when)s") % {"when": when}
    return label(Scope, closure.scope)


def tone(closure: public.PublicClosure, now: dt.datetime) -> str:
    """The badge colour class of a closure's state."""
    if closure.reopened(now):
        return "tone-ok"
    if closure.status == Status.PLANNED:
        return "tone-info"
    return "tone-bad" if closure.scope == Scope.FULL else "tone-warn"


def local_text(row: Any, field: str) -> str:
    """The English text for English readers when there is one, the Chinese one otherwise."""
    return templating.local_name(row, field)


def label(choices: Any, value: str) -> str:
    """The label of ``value`` among ``choices`` in the reader's language (the value itself
    when it is not one of them)."""
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def scope_label(closure: public.PublicClosure) -> str:
    return label(Scope, closure.scope)


def reason_label(closure: public.PublicClosure) -> str:
    return label(Reason, closure.reason)


def in_both_languages(
    func: Callable[[public.PublicClosure], str], closure: public.PublicClosure
) -> dict[str, str]:
    """``func(closure)`` in Chinese and in English."""
    out = {}
    for language, suffix in (("zh_CN", "zh"), ("en", "en")):
        with use_locale(language):
            out[suffix] = func(closure)
    return out


#: The notice page's fragment with the closure's own words (state, promise, why, measures ...).
NOTICE_BODY = "public/_notice_body.html"


def notice_preview(closure: public.PublicClosure, now: dt.datetime) -> dict[str, Markup]:
    """What the public notice will say about ``closure``, in Chinese and in English, rendered
    by the notice page's own fragment: staff read it before a form publishes."""
    template = templating.environment().get_template(NOTICE_BODY)
    out = {}
    for language, suffix in (("zh_CN", "zh"), ("en", "en")):
        with use_locale(language):
            html = template.render(**HELPERS, closure=closure, now=now, prefix=f"preview-{suffix}-")
        out[suffix] = Markup(html)  # noqa: S704 (rendered by the autoescaping environment)
    return out


def entry_preview(text_zh: str, text_en: str) -> dict[str, str]:
    """A timeline entry as citizens will read it in Chinese and in English: what the notice
    shows (``local_text``), so an English reader gets the Chinese text when there is no English."""
    row = {"text_zh": text_zh.strip(), "text_en": text_en.strip()}
    out = {}
    for language, suffix in (("zh_CN", "zh"), ("en", "en")):
        with use_locale(language):
            out[suffix] = local_text(row, "text")
    return out


HELPERS: dict[str, Any] = {
    "expected": expected,
    "expected_text": expected_text,
    "overdue": overdue,
    "revision_text": revision_text,
    "headline": headline,
    "tone": tone,
    "local_text": local_text,
    "date_label": date_label,
    "moment": moment,
}
