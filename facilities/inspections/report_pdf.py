"""The inspection report as a printed document (CJJ 99 shape, issue 18): the facts gathered by
:mod:`.services.report_contents` laid out by ``templates/documents/inspection_report.html`` and
turned into a PDF by WeasyPrint (off the event loop, local files only).

A filed report is a record: the same inspection must render to the same bytes whoever asks and
in whatever language they read, or a re-render could not tell a changed report from a changed
reader. So the report is always rendered bilingually, Chinese first with the English beneath
(:func:`both`), in one fixed locale for numbers and dates (:data:`DOCUMENT_LOCALE`), and never
shows the time it was rendered: its dates are the inspection's own (the finalisation time under
the signatures). WeasyPrint writes no creation date, so equal HTML gives equal bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from markupsafe import Markup, escape

from facilities import i18n
from facilities.lib import condition
from facilities.web import documents, templating

TEMPLATE = "documents/inspection_report.html"
#: Numbers and dates in a filed report read the same for every reader.
DOCUMENT_LOCALE = "zh_CN"
#: The shared print stylesheet (fonts, page size), linked when the project has it.
SHARED_CSS = documents.STATIC / "css" / "documents.css"

#: A text in both languages: (Chinese, English).
Pair = tuple[str, str]


def in_both(message: str | i18n.Msg) -> Pair:
    """A marked message translated into Chinese and into English."""
    with i18n.use_locale("zh_CN"):
        zh = i18n.translate(message)
    with i18n.use_locale("en"):
        en = i18n.translate(message)
    return zh, en


def choice_pair(value: Any, choices: Any) -> Pair | None:
    """A stored choice's label in both languages (``choices`` an enum whose members have a
    ``label``); None for an empty value, an unknown value as it is stored."""
    if value is None or value == "":
        return None
    try:
        member = choices(value)
    except ValueError:
        return str(value), ""
    with i18n.use_locale("zh_CN"):
        zh = member.label
    with i18n.use_locale("en"):
        en = member.label
    return zh, en


def show_pair(pair: Pair | None, default: str = "—") -> Markup:
    """Markup of a pair: the Chinese, then the English in a smaller line when it says more."""
    if pair is None:
        return escape(default)
    zh, en = pair
    if not en or en == zh:
        return Markup('<span class="zh">{}</span>').format(zh or en)
    if not zh:
        return Markup('<span class="en" lang="en">{}</span>').format(en)
    return Markup('<span class="zh">{}</span> <span class="en" lang="en">{}</span>').format(zh, en)


def both(message: str | i18n.Msg) -> Markup:
    """``{{ both(N_("Grade")) }}``: a label in both languages (``N_`` marks it for the
    catalogs; translated here into each)."""
    return show_pair(in_both(message))


def component_weights(
    scored: Iterable[tuple[int, str]],
    weights: Mapping[str, float] = condition.FOOTBRIDGE_WEIGHTS,
) -> dict[int, float]:
    """Each scored component's share of the BCI, as :func:`condition.bci` weighs it: its group's
    weight, rescaled over the groups that were scored, split evenly among the group's scored
    components. ``scored`` is (component id, group); unweighted groups get no share."""
    members: dict[str, list[int]] = {}
    for component_id, group in scored:
        if group in weights:
            members.setdefault(group, []).append(component_id)
    total = sum(weights[g] for g in members)
    return {
        component_id: weights[group] / total / len(ids)
        for group, ids in members.items()
        for component_id in ids
    }


def report_html(view: Mapping[str, Any]) -> str:
    """The report's HTML from the gathered facts (see ``report_contents.report_view``)."""
    env = templating.environment()
    helpers: dict[str, Callable[..., Any]] = {
        "both": both,
        "show_pair": show_pair,
        "N_": i18n.N_,
    }
    with i18n.use_locale(DOCUMENT_LOCALE):
        return env.get_template(TEMPLATE).render(**view, **helpers, shared_css=SHARED_CSS.exists())


async def report_pdf(view: Mapping[str, Any]) -> bytes:
    """The report as PDF bytes, laid out in a worker thread."""
    return await documents.render_pdf(report_html(view))
