"""CAP 1.2 alerts (OASIS Common Alerting Protocol) for urgent closures, in both languages.

One alert per urgent closure: its identifier changes with every revision (``msgType`` Update,
referencing the first Alert), and the area is a circle around the facility sized by its length.
"""

from __future__ import annotations

import datetime as dt

from facilities.closures import public
from facilities.closures.choices import SafetyMeasure, Scope, Status
from facilities.i18n import gettext as _
from facilities.i18n import use_locale
from facilities.public.feeds.common import authority, ends, notice_url
from facilities.public.wording import expected, headline, label, local_text, revision_text
from facilities.web import templating

MEDIA_TYPE = "application/cap+xml; charset=utf-8"


def cap_time(moment: dt.datetime) -> str:
    """CAP 1.2 date-time: seconds, an explicit offset, never "Z"."""
    text = moment.astimezone(templating.display_zone()).replace(microsecond=0).isoformat()
    return text.removesuffix("+00:00") + "-00:00" if text.endswith("+00:00") else text


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def render(closure: public.PublicClosure, *, base: str, now: dt.datetime) -> bytes:
    """The alert for ``closure`` (an urgent one) as it stands at ``now``."""
    sender = authority(base)
    identifier = f"{sender}:closure:{closure.id}:{_stamp(closure.updated_at)}"
    first = f"{sender}:closure:{closure.id}:{_stamp(closure.created_at)}"
    is_first = closure.updated_at == closure.created_at
    reopened = closure.reopened(now) or (
        closure.status == Status.LIFTED and closure.reopens_at is None
    )
    if reopened:
        urgency, severity, response = "Past", "Minor", "AllClear"
    elif closure.status == Status.PLANNED:
        urgency, response = "Expected", "Prepare"
        severity = "Moderate" if closure.scope == Scope.FULL else "Minor"
    else:
        urgency, response = "Immediate", "Avoid"
        severity = "Moderate" if closure.scope == Scope.FULL else "Minor"
    asset = closure.asset
    circle = ""
    if asset.lat is not None and asset.lng is not None:
        radius_km = max(0.05, (asset.length_m or 100.0) / 2000.0)
        circle = f"{asset.lat:.6f},{asset.lng:.6f} {radius_km:.3f}"
    end = ends(closure)
    infos = []
    for language, cap_language in (("zh_CN", "zh-CN"), ("en", "en")):
        with use_locale(language):
            measures = [label(SafetyMeasure, m) for m in closure.safety_measures]
            description = [
                local_text(closure, "reason"),
                expected(closure, now),
                *(revision_text(closure, r) for r in closure.revisions),
            ]
            if measures:
                description.append(_("Safety measures: %(list)s") % {"list": ", ".join(measures)})
            detour = local_text(closure, "detour")
            infos.append(
                {
                    "language": cap_language,
                    "event": _("Facility closure"),
                    "sender_name": _("High-tech Zone Construction Bureau"),
                    "headline": f"{local_text(asset, 'name')}: {headline(closure, now)}",
                    "description": "\n".join(d for d in description if d),
                    "instruction": _("Detour: %(text)s") % {"text": detour} if detour else "",
                    "area": f"{local_text(asset, 'site_name')} · {local_text(asset, 'name')}",
                }
            )
    context = {
        "identifier": identifier,
        "sender": sender,
        "sent": cap_time(closure.updated_at),
        "msg_type": "Alert" if is_first else "Update",
        "references": "" if is_first else f"{sender},{first},{cap_time(closure.created_at)}",
        "response_type": response,
        "urgency": urgency,
        "severity": severity,
        "certainty": "Observed",
        "effective": cap_time(closure.effective_from),
        "expires": cap_time(end) if end is not None and not reopened else "",
        "web": notice_url(base, closure.id),
        "circle": circle,
        "infos": infos,
    }
    return templating.environment().get_template("feeds/cap.xml").render(context).encode()
