"""Open311 GeoReport v2 documents: the spec's element names, in XML (required by the spec) and
JSON, instants as ISO 8601 with their offset, errors as ``[{"code", "description"}]``.

Pure functions: the controller fetches through the services and hands the results here.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from facilities import i18n
from facilities.assets.choices import AssetType
from facilities.closures.choices import Precision, Scope
from facilities.closures.public import PublicClosure
from facilities.i18n import gettext as _
from facilities.reports.choices import Category, Stage, asset_types_for, attributes_for
from facilities.reports.services import PublicReport, RequestUpdate

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Litestar adds "; charset=utf-8" to every text/* type itself.
MEDIA_TYPES = {"xml": "text/xml", "json": "application/json; charset=utf-8"}
#: When the list of services or their definitions last changed (discovery's changeset).
CHANGESET = dt.datetime(2026, 11, 28, tzinfo=dt.UTC)
#: XML element name of the members of a list-valued field.
LIST_MEMBERS = {
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}


def split_name(name: str) -> tuple[str, str] | None:
    """``"discovery.json"`` -> ``("discovery", "json")``; None without a known format."""
    stem, dot, fmt = name.rpartition(".")
    if not dot or not stem or fmt not in MEDIA_TYPES:
        return None
    return stem, fmt


def iso(value: dt.datetime | None, zone: ZoneInfo) -> str | None:
    """An instant in the bureau's zone with its offset: ``2026-11-28T10:00:00+08:00``."""
    return None if value is None else value.astimezone(zone).isoformat(timespec="seconds")


def parse_instant(text: str, zone: ZoneInfo) -> dt.datetime:
    """A date or date-time in ISO 8601 (W3C); without an offset it is read in ``zone``.
    Raises ValueError."""
    text = text.strip()
    if not text or len(text) > 40:
        raise ValueError(text)
    # An unencoded "+08:00" in a query string arrives as " 08:00": read it as meant.
    text = re.sub(r"(T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$", r"\1+\2", text)
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC)


#: Characters XML 1.0 cannot carry at all (control characters pasted into a description):
#: written as U+FFFD so the document stays well-formed for every client.
NOT_XML = re.compile(r"[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return NOT_XML.sub("\ufffd", str(value))


def _fill(element: ET.Element, values: Mapping[str, Any]) -> None:
    for key, value in values.items():
        child = ET.SubElement(element, key)
        if isinstance(value, Mapping):
            _fill(child, value)
        elif isinstance(value, list):
            member = LIST_MEMBERS.get(key, "item")
            for item in value:
                grandchild = ET.SubElement(child, member)
                if isinstance(item, Mapping):
                    _fill(grandchild, item)
                else:
                    grandchild.text = _text(item)
        else:
            child.text = _text(value)


def to_xml(
    root: str, document: Mapping[str, Any] | Iterable[Mapping[str, Any]], item: str = ""
) -> bytes:
    """One element ``root`` holding ``document`` (a mapping), or one ``item`` element per
    mapping of a list. ElementTree escapes every text: nothing sent in is markup here."""
    element = ET.Element(root)
    if isinstance(document, Mapping):
        _fill(element, document)
    else:
        for entry in document:
            _fill(ET.SubElement(element, item), entry)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def encode(fmt: str, root: str, item: str, document: Any) -> bytes:
    if fmt == "json":
        return json.dumps(document, ensure_ascii=False).encode()
    return to_xml(root, document, item)


def errors(fmt: str, code: int, description: str) -> bytes:
    return encode(fmt, "errors", "error", [{"code": code, "description": description}])


# --- documents -----------------------------------------------------------------------------


def discovery(base_url: str, contact: str) -> dict[str, Any]:
    changeset = CHANGESET.isoformat(timespec="seconds")
    return {
        "changeset": changeset,
        "contact": contact,
        "key_service": _("Keys are issued by the bureau's administrators on request."),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base_url.rstrip('/')}/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def _applies_to(category: Category) -> str:
    return ", ".join(
        AssetType(t).label for t in asset_types_for(category) if t in AssetType._value2member_map_
    )


def services() -> list[dict[str, Any]]:
    return [
        {
            "service_code": category.value,
            "service_name": category.label,
            "description": _("Applies to: %(types)s") % {"types": _applies_to(category)},
            "metadata": bool(attributes_for(category)),
            "type": "realtime",
            "keywords": ",".join(asset_types_for(category)),
            "group": _("Bridges and park facilities"),
        }
        for category in Category
    ]


def service_definition(category: Category) -> dict[str, Any]:
    return {
        "service_code": category.value,
        "attributes": [
            {
                "variable": True,
                "code": attribute.code,
                "datatype": attribute.datatype.value,
                "required": attribute.required,
                "datatype_description": attribute.datatype.label,
                "order": order,
                "description": _(attribute.description),
                "values": [{"key": key, "name": _(name)} for key, name in attribute.values],
            }
            for order, attribute in enumerate(attributes_for(category), start=1)
        ],
    }


def _local(zh: str, en: str) -> str:
    return en if i18n.current_locale() == "en" and en else zh


def expected(closure: PublicClosure | None, zone: ZoneInfo) -> dt.datetime | None:
    """When the facility is expected back: the start of the promised day, in the bureau's zone
    (a promise "before 1 May" is kept by then)."""
    if closure is None or closure.planned_reopen_on is None:
        return None
    return dt.datetime.combine(closure.planned_reopen_on, dt.time(0), zone)


def service_notice(closure: PublicClosure | None, base_url: str, zone: ZoneInfo) -> str:
    """The public notice of the closure in force, in one paragraph, with its page's address."""
    if closure is None:
        return ""
    facility = _local(closure.asset.name_zh, closure.asset.name_en)
    reason = _local(closure.reason_zh, closure.reason_en)
    since = closure.effective_from.astimezone(zone).date().isoformat()
    parts = [
        _("%(facility)s: %(scope)s since %(since)s.")
        % {"facility": facility, "scope": Scope(closure.scope).label, "since": since}
    ]
    if reason:
        parts.append(reason)
    if closure.planned_reopen_on:
        day = closure.planned_reopen_on.isoformat()
        parts.append(
            _("Expected to reopen before %(date)s.") % {"date": day}
            if closure.reopen_precision == Precision.BEFORE
            else _("Expected to reopen on %(date)s.") % {"date": day}
        )
    parts.append(
        _("Notice and updates: %(url)s") % {"url": f"{base_url.rstrip('/')}/notices/{closure.id}"}
    )
    return " ".join(parts)


def request_item(
    report: PublicReport,
    zone: ZoneInfo,
    *,
    agency: str,
    closure: PublicClosure | None,
    base_url: str,
) -> dict[str, Any]:
    """One service request with the spec's fields, in the spec's order."""
    return {
        "service_request_id": str(report.id),
        "status": report.status.value,
        "status_notes": report.status_notes,
        "service_name": Category(report.category).label,
        "service_code": report.category,
        "description": report.description,
        "agency_responsible": agency,
        "service_notice": service_notice(closure, base_url, zone),
        "requested_datetime": iso(report.requested_at, zone),
        "updated_datetime": iso(report.updated_at, zone),
        "expected_datetime": iso(expected(closure, zone), zone),
        "address": report.address or _local(report.asset_name_zh, report.asset_name_en),
        "address_id": report.asset_code,
        "zipcode": "",
        "lat": report.lat,
        "long": report.lng,
        "media_url": "",
    }


UPDATE_STATUS = {
    Stage.RECEIVED: "open",
    Stage.INVESTIGATING: "investigating",
    Stage.ACTION_SCHEDULED: "action_scheduled",
    Stage.IN_PROGRESS: "in_progress",
    Stage.FIXED: "fixed",
    Stage.CLOSURE: "action_scheduled",
    Stage.CLOSED: "closed",
    Stage.NO_FURTHER_ACTION: "no_further_action",
    Stage.NOT_OURS: "not_councils_responsibility",
    Stage.DUPLICATE: "duplicate",
}


def update_item(update: RequestUpdate, zone: ZoneInfo) -> dict[str, Any]:
    """One entry of mySociety's servicerequestupdates extension."""
    return {
        "update_id": update.update_id,
        "service_request_id": str(update.service_request_id),
        "status": UPDATE_STATUS[update.status],
        "updated_datetime": iso(update.updated_at, zone),
        "description": update.description,
        "media_url": "",
    }
