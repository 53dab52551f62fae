"""Translations: Simplified Chinese by default, English as the alternative.

Messages are written in English in the code and templates and translated through Babel catalogs
(``facilities/locale/<locale>/LC_MESSAGES/messages.po``). The catalogs are read with Babel at
start-up, so there is no compiled file to forget. The active locale is a context variable set per
request (and per e-mail recipient), which lets service code raise translated validation messages
without knowing about HTTP.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import io
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from babel import Locale
from babel.dates import get_month_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES: tuple[str, ...] = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}
HTML_LANG = {"zh_CN": "zh-CN", "en": "en"}

_current: ContextVar[str] = ContextVar("facilities_locale", default=DEFAULT_LOCALE)


@functools.cache
def translations(locale: str) -> NullTranslations:
    """The catalog for ``locale``, compiled in memory from its .po file."""
    po_path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def current_locale() -> str:
    return _current.get()


def set_locale(locale: str) -> None:
    _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)


@contextlib.contextmanager
def use_locale(locale: str) -> Iterator[None]:
    """Run a block in ``locale`` (e-mails are rendered in the recipient's language)."""
    token = _current.set(locale if locale in LOCALES else DEFAULT_LOCALE)
    try:
        yield
    finally:
        _current.reset(token)


def gettext(message: str) -> str:
    return translations(_current.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(_current.get()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` as meant in ``context`` (its own catalog entry, msgctxt): one English word
    ("Closed") may need a different translation for a ticket than for a bridge."""
    return str(translations(_current.get()).pgettext(context, message))


_ = gettext

#: A message marked with its context: (msgctxt, msgid).
Msg = tuple[str, str]


def N_(message: str) -> str:
    """Mark a string for extraction without translating it now (choices' labels)."""
    return message


def NC_(context: str, message: str) -> Msg:
    """Mark a string with its context (msgctxt) for extraction; translate it later with
    :func:`translate` (``make messages`` extracts it with ``-k NC_:1c,2``)."""
    return (context, message)


def translate(message: str | Msg) -> str:
    """A marked message in the active locale, with its context when it has one."""
    if isinstance(message, tuple):
        return pgettext(*message)
    return gettext(message)


def babel_locale(locale: str | None = None) -> Locale:
    return Locale.parse(locale or _current.get())


def day_text(
    day: dt.date,
    reference_year: int | None = None,
    months: Literal["abbreviated", "narrow", "wide"] = "wide",
) -> str:
    """A date as people write it in the current language: 「2027年5月1日」 / "1 May 2027"; the
    year left out when it is ``reference_year`` (「5月1日」 / "1 May"). ``months`` is Babel's
    month-name width ("abbreviated" gives "1 Dec 2031" where a message is long already)."""
    year = day.year != reference_year
    if current_locale() == "zh_CN":
        return (f"{day.year}年" if year else "") + f"{day.month}月{day.day}日"
    month = get_month_names(months, locale="en")[day.month]
    return f"{day.day} {month}" + (f" {day.year}" if year else "")


def negotiate(cookie_value: str | None, accept_language: str | None, default: str) -> str:
    """The locale for a request: the language cookie, else Accept-Language, else the default."""
    if cookie_value in LOCALES:
        return cookie_value
    if accept_language:
        for part in _ranked_languages(accept_language):
            tag = part.lower()
            if tag.startswith("zh"):
                return "zh_CN"
            if tag.startswith("en"):
                return "en"
    return default


def _ranked_languages(header: str) -> list[str]:
    ranked: list[tuple[float, int, str]] = []
    for index, item in enumerate(header.split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, index, tag))
    return [tag for _q, _i, tag in sorted(ranked)]
