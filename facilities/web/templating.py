"""The one Jinja environment: autoescape on, StrictUndefined, translations, date filters.

Pages (through Litestar) and e-mails (through :func:`render_email`) use the same environment, so
a filter or a translated string behaves the same in both.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from markupsafe import Markup

from facilities import i18n

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "templates"

_zone: ZoneInfo = ZoneInfo("Asia/Shanghai")


def configure(zone: ZoneInfo, extra_globals: dict[str, Any]) -> jinja2.Environment:
    """Set the display zone and add globals (choices, permissions) from the app's composition."""
    global _zone
    _zone = zone
    env = environment()
    env.globals.update(extra_globals)
    return env


def display_zone() -> ZoneInfo:
    """The bureau's zone, in which pages, feeds and e-mails show dates (set by configure)."""
    return _zone


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=jinja2.select_autoescape(["html", "xml"], default_for_string=True),
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n", "jinja2.ext.do"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        i18n.gettext, i18n.ngettext, newstyle=True, pgettext=i18n.pgettext
    )
    env.filters.update(
        instant=format_instant,
        day=format_day,
        number=format_number,
        label=label,
        local_name=local_name,
    )
    env.globals.update(
        current_locale=i18n.current_locale,
        html_lang=lambda: i18n.HTML_LANG[i18n.current_locale()],
        language_names=i18n.LANGUAGE_NAMES,
        locales=i18n.LOCALES,
        base_url="",
        options=choice_options,
        site_options=lambda sites: [(site.id, local_name(site)) for site in sites],
        component_options=component_options,
        shown_in_chinese=shown_in_chinese,
    )
    return env


def format_instant(value: dt.datetime | None, style: str = "medium") -> str:
    """An instant in the bureau's zone and the reader's language; empty for None."""
    if value is None:
        return ""
    local = value.astimezone(_zone)
    pattern = {"short": "short", "medium": "medium"}.get(style, style)
    return format_datetime(local, pattern, tzinfo=_zone, locale=i18n.babel_locale())


def format_day(value: dt.date | dt.datetime | None, style: str = "medium") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(_zone).date()
    return format_date(value, style, locale=i18n.babel_locale())


def format_number(value: float | int | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return format_decimal(round(value, digits), locale=i18n.babel_locale())


def label(value: Any, choices: Any) -> str:
    """``{{ row.asset_type|label(AssetType) }}``: the translated label of a stored choice value."""
    if value is None or value == "":
        return ""
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


def choice_options(choices: Any) -> list[tuple[str, str]]:
    """(value, translated label) for every member of a choices enum, for <select> lists."""
    return [(member.value, member.label) for member in choices]


def component_options(components: Any, editing: Any = None) -> list[tuple[int, str]]:
    """Possible parents of a component, indented by depth; itself excluded."""
    skip = getattr(editing, "id", None)
    return [(c.id, "  " * c.depth + local_name(c)) for c in components if c.id != skip]


def shown_in_chinese(row: Any, field: str = "name") -> bool:
    """Whether :func:`local_name` gives this English reader the Chinese text (no English one is
    written): the page marks it ``lang="zh-Hans"`` and says so."""
    get = row.get if isinstance(row, dict) else lambda key, default="": getattr(row, key, default)
    return (
        i18n.current_locale() == "en"
        and not str(get(f"{field}_en", "") or "").strip()
        and bool(str(get(f"{field}_zh", "") or "").strip())
    )


def local_name(row: Any, field: str = "name") -> str:
    """The English name for English readers when there is one, the Chinese name otherwise."""
    get = row.get if isinstance(row, dict) else lambda key, default="": getattr(row, key, default)
    if i18n.current_locale() == "en" and get(f"{field}_en", ""):
        return str(get(f"{field}_en", ""))
    return str(get(f"{field}_zh", ""))


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) from ``emails/<template>.subject.txt``, ``.txt`` and ``.html``."""
    env = environment()
    subject = env.get_template(f"emails/{template}.subject.txt").render(context)
    text = env.get_template(f"emails/{template}.txt").render(context)
    try:
        html = env.get_template(f"emails/{template}.html").render(context)
    except jinja2.TemplateNotFound:
        html = ""
    return " ".join(subject.split()), text, html


__all__ = ["Markup", "configure", "environment", "render_email"]
