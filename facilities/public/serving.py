"""How a public page is rendered and served: once per change, to every reader.

Every public page and feed is made from the read-only views in ``facilities.closures.public``
(which select public columns only) and is served through :data:`conditional`, the conditional
GET of ``facilities.web.conditional`` bound to ``public.version`` and to :data:`SALT` (a digest
of the code, templates and catalogs that shape the output). :func:`page` renders a template to
bytes with the wording helpers (and, for staff, the CSRF placeholder); :func:`feed_links` and
:func:`subscription_targets` are the feeds and subscription choices a page offers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from litestar import Request

from facilities import i18n
from facilities.closures import public
from facilities.i18n import gettext as _
from facilities.public import feeds
from facilities.public.wording import HELPERS, local_text
from facilities.web import templating
from facilities.web.auth import current_actor
from facilities.web.conditional import CSRF_SLOT, ConditionalGet, fingerprint
from facilities.web.responses import FLASH_COOKIE, read_flash

_ROOT = Path(__file__).resolve().parents[2]


def _salt() -> str:
    """A digest of the code, templates and catalogs that shape the output, so no deployment
    answers 304 for a page whose markup or wording changed (and every replica of one release
    computes the same ETags)."""
    package = _ROOT / "facilities"
    paths = [
        *sorted((package / "public").rglob("*.py")),
        package / "web" / "conditional.py",
        package / "closures" / "public.py",
        *sorted((package / "closures" / "public").rglob("*.py")),
        package / "closures" / "choices.py",
        package / "assets" / "choices.py",
        package / "web" / "templating.py",
        _ROOT / "templates" / "base.html",
        *sorted(package.glob("locale/*/LC_MESSAGES/messages.po")),
    ]
    for folder in ("public", "feeds", "layouts", "partials", "macros"):
        paths.extend(sorted((_ROOT / "templates" / folder).glob("*")))
    return fingerprint(paths)


SALT = _salt()


async def _version(now: dt.datetime) -> public.Version:
    return await public.version(now)


def _audience(request: Request[Any, Any, Any]) -> str:
    return "public" if current_actor(request) is None else "staff"


#: ``await conditional(request, variant, media_type, build, html=..., localized=...)``: 304
#: before rendering, else the cached or freshly built body (see ``facilities.web.conditional``).
conditional = ConditionalGet(
    salt=SALT,
    version=_version,
    audience=_audience,
    flash_cookie=FLASH_COOKIE,
    read_flash=read_flash,
)


async def version(request: Request[Any, Any, Any], now: dt.datetime) -> public.Version:
    """The version of everything public now, as :data:`conditional` saw it."""
    current: public.Version = await conditional.current(request, now)
    return current


def page(request: Request[Any, Any, Any], template: str, now: dt.datetime, **context: Any) -> bytes:
    """A public page rendered to bytes: for staff with the CSRF placeholder, for everyone
    else with no token at all, so every anonymous reader gets the same bytes (see
    :data:`conditional`)."""
    actor = current_actor(request)
    values = {
        "flashes": conditional.flashes(request),
        "path": request.url.path,
        "actor": actor,
        "csrf": CSRF_SLOT if actor is not None else "",
        "now": now,
        **HELPERS,
        **context,
    }
    return templating.environment().get_template(template).render(values).encode()


def base_url(request: Request[Any, Any, Any]) -> str:
    """The site's address (the ``base_url`` setting) without a trailing slash."""
    return str(request.app.state.settings.base_url).rstrip("/")


def lang_query() -> str:
    """``?lang=en`` for English readers: a feed reader sends no cookie, so a feed's address
    carries its language."""
    return "?lang=en" if i18n.current_locale() == "en" else ""


def _media_type(media_type: str) -> str:
    """A feed's media type without its parameters, as a <link type="..."> names it."""
    return media_type.split(";")[0].strip()


ATOM = _media_type(feeds.atom.MEDIA_TYPE)
ICAL = _media_type(feeds.ical.MEDIA_TYPE)
GEOJSON = _media_type(feeds.geojson.MEDIA_TYPE)
WZDX = _media_type(feeds.wzdx.MEDIA_TYPE)


def feed_links(
    *, asset: public.PublicAsset | None = None, site_id: int | None = None
) -> list[dict[str, str]]:
    """Every feed a page offers, in the reader's language, each with its media type: the page
    lists them and advertises every one in its <head> (``<link rel="alternate">``)."""
    q = lang_query()
    links = [
        {
            "rel": "atom",
            "type": ATOM,
            "href": f"/feeds/notices.atom{q}",
            "title": _("All closure notices"),
        }
    ]
    if site_id is not None:
        links.append(
            {
                "rel": "atom",
                "type": ATOM,
                "href": f"/feeds/sites/{site_id}.atom{q}",
                "title": _("This site"),
            }
        )
    if asset is not None:
        links.append(
            {
                "rel": "atom",
                "type": ATOM,
                "href": f"/feeds/facilities/{asset.id}.atom{q}",
                "title": _("This facility"),
            }
        )
    links.append(
        {
            "rel": "ics",
            "type": ICAL,
            "href": f"/feeds/closures.ics{q}",
            "title": _("Closure calendar (iCal)"),
        }
    )
    links.append(
        {
            "rel": "geojson",
            "type": GEOJSON,
            "href": "/feeds/closures.geojson",
            "title": _("Map of closures (GeoJSON)"),
        }
    )
    links.append(
        {
            "rel": "wzdx",
            "type": WZDX,
            "href": f"/feeds/closures.wzdx.geojson{q}",
            "title": _("Closures for navigation apps (WZDx 4.2)"),
        }
    )
    return links


def subscription_targets(
    asset: public.PublicAsset | None = None, site: public.PublicSite | None = None
) -> list[tuple[str, str]]:
    """The subscription choices a form offers: this facility, its site, or everything."""
    options: list[tuple[str, str]] = []
    if asset is not None:
        options.append(
            (
                f"asset:{asset.id}",
                _("This facility: %(name)s") % {"name": local_text(asset, "name")},
            )
        )
        options.append(
            (
                f"site:{asset.site_id}",
                _("Everything at %(site)s") % {"site": local_text(asset, "site_name")},
            )
        )
    elif site is not None:
        options.append(
            (f"site:{site.id}", _("Everything at %(site)s") % {"site": local_text(site, "name")})
        )
    options.append(("all", _("Every closure notice")))
    return options
