"""Atom feeds (RFC 4287) of published notice updates: everything, one site or one facility.

One entry per published update, newest first, with an id that never changes; the feed speaks
the reader's language (chosen by ``?lang=`` in its address, as a feed reader sends no cookie).
"""

from __future__ import annotations

import datetime as dt

from facilities import i18n
from facilities.closures import public
from facilities.closures.choices import Scope
from facilities.i18n import gettext as _
from facilities.public.feeds.common import TAG_DATE, authority, rfc3339
from facilities.public.wording import label, local_text
from facilities.web import templating

MEDIA_TYPE = "application/atom+xml; charset=utf-8"
ENTRIES = 50  # entries per Atom feed


def render(
    items: list[tuple[public.Update, public.PublicClosure]],
    *,
    base: str,
    key: str,
    title: str,
    self_url: str,
    html_path: str,
    changed_at: dt.datetime | None,
) -> bytes:
    """The feed of ``items`` (updates with their closure, newest first). ``key`` names the
    feed in its id; ``changed_at`` (the data's last change) dates a feed with no entry."""
    host = authority(base)
    entries = []
    for update, closure in items:
        text = local_text(update, "text")
        name = local_text(closure.asset, "name")
        entries.append(
            {
                "id": f"tag:{host},{TAG_DATE}:closure-{closure.id}/update-{update.id}",
                "title": f"{name}: {first_line(text)}",
                "url": f"{base}/notices/{closure.id}#update-{update.id}",
                "published": rfc3339(update.published_at),
                "text": text,
                "category": closure.scope,
                "category_label": label(Scope, closure.scope),
            }
        )
    newest = items[0][0].published_at if items else None
    updated = newest or changed_at or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    context = {
        "lang": i18n.HTML_LANG[i18n.current_locale()],
        "feed_id": f"tag:{host},{TAG_DATE}:{key}",
        "title": title,
        "subtitle": _("Closures and reopenings of public facilities, with every published update."),
        "updated": rfc3339(updated),
        "self_url": self_url,
        "html_url": f"{base}{html_path}",
        "author": _("High-tech Zone Construction Bureau"),
        "base_url": base,
        "entries": entries,
    }
    return templating.environment().get_template("feeds/atom.xml").render(context).encode()


def first_line(text: str, limit: int = 80) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
