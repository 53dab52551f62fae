"""The pieces of the subscription pages: the form, its choices and the rate-limit keys.

Subscriptions are double opt-in (``closures.subscribe`` queues the confirmation e-mail), with a
honeypot field and a limit per client address and per e-mail address counted in the database
(so it holds across processes). After a mistake the form is shown again without the address;
a form sent without a CSRF token (from a public page read without JavaScript, see
``facilities.web.csrf``) is shown again with it, to be sent once more. The handlers are in
``facilities.public.notices``.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request
from litestar.response import Template

from facilities.closures import public
from facilities.i18n import gettext as _
from facilities.public.serving import subscription_targets
from facilities.public.wording import HELPERS, local_text
from facilities.web.clock import now_of
from facilities.web.csrf import issue_token
from facilities.web.responses import render

RATE_WINDOW = 3600  # seconds: subscription attempts are counted per hour


def parse_target(target: str) -> tuple[int | None, int | None]:
    """ "asset:12" -> (12, None); "site:3" -> (None, 3); anything else: everything."""
    kind, _sep, number = target.partition(":")
    if number.isdigit() and len(number) <= 10:
        if kind == "asset":
            return int(number), None
        if kind == "site":
            return None, int(number)
    return None, None


def email_key(email: str) -> str:
    """The rate-limit key of an address: a digest, so the counter table holds no address."""
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


async def subscribe_page(
    request: Request[Any, Any, Any],
    status: int,
    target: str = "all",
    error: str = "",
    *,
    email: str = "",
    notice: str = "",
) -> Template:
    """The stand-alone form (also shown again after a mistake, or to send once more)."""
    asset_id, site_id = parse_target(target)
    asset = await public.asset(asset_id) if asset_id else None
    site = await public.site(site_id) if site_id else None
    targets = subscription_targets(asset, site)
    if asset is None and site is None:
        for entry in await public.register(now_of(request)):
            targets.insert(
                -1,
                (
                    f"site:{entry.site.id}",
                    _("Everything at %(site)s") % {"site": local_text(entry.site, "name")},
                ),
            )
    token, cookie = issue_token(request)
    response = render(
        request,
        "public/subscribe.html",
        status_code=status,
        targets=targets,
        selected=target,
        error=error,
        email=email,
        notice=notice,
        csrf=token,
        **HELPERS,
    )
    if cookie is not None:
        response.cookies.append(cookie)
    return response
