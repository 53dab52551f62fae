"""Report input shapes: the citizen's web form, an Open311 POST, the triage actions, the
"still broken" answer and an Open311 key. One Struct per input; the rules are written once."""

from __future__ import annotations

from typing import Annotated

import msgspec

from facilities.reports.choices import Category
from facilities.tickets.choices import Priority, WorkClass

Id = Annotated[int, msgspec.Meta(ge=1, le=2_147_483_647)]
Version = Annotated[int, msgspec.Meta(ge=1)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
#: The Open311 limit, and the web form's.
MAX_DESCRIPTION = 4000
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)]
Email = Annotated[str, msgspec.Meta(max_length=254, pattern=r"^$|^[^@\s]+@[^@\s]+\.[^@\s]+$")]
#: Only the length here: the receiving service checks the digits and says what it wants.
Phone = Annotated[str, msgspec.Meta(max_length=40)]
Name = Annotated[str, msgspec.Meta(max_length=128)]


class ReportIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A report from any channel, as the service takes it (the asset already chosen or matched)."""

    asset_id: Id
    category: Category
    description: Description = ""
    attributes: dict[str, str] = {}
    lat: Latitude | None = None
    lng: Longitude | None = None
    address_string: Annotated[str, msgspec.Meta(max_length=256)] = ""
    contact_name: Name = ""
    contact_email: Email = ""
    contact_phone: Phone = ""
    device_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    account_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    language: Annotated[str, msgspec.Meta(max_length=8)] = "zh_CN"


class ReportForm(msgspec.Struct, kw_only=True):
    """The citizen's web form (the photos come as files beside it)."""

    asset_id: Id
    category: Category
    description: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_DESCRIPTION)]
    contact_name: Name = ""
    contact_email: Email = ""
    contact_phone: Phone = ""
    lat: Latitude | None = None
    lng: Longitude | None = None
    #: "This is mine too": the open report near the pin this one joins (see submit_report).
    same_as: Id | None = None


class Open311RequestIn(msgspec.Struct, kw_only=True):
    """POST requests.{fmt}: the spec's field names (``attribute[code]`` are read apart)."""

    service_code: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    lat: Latitude | None = None
    long: Longitude | None = None
    address_string: Annotated[str, msgspec.Meta(max_length=256)] = ""
    address_id: Annotated[str, msgspec.Meta(max_length=64)] = ""
    email: Email = ""
    device_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    account_id: Annotated[str, msgspec.Meta(max_length=128)] = ""
    first_name: Annotated[str, msgspec.Meta(max_length=60)] = ""
    last_name: Annotated[str, msgspec.Meta(max_length=60)] = ""
    phone: Phone = ""
    description: Description = ""
    media_url: Annotated[str, msgspec.Meta(max_length=2000)] = ""
    #: The reporter's language for our e-mails (zh_CN or en; else the request's Accept-Language).
    locale: Annotated[str, msgspec.Meta(max_length=35)] = ""


class StillBrokenIn(msgspec.Struct, kw_only=True):
    description: Description = ""


class ConvertIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Triage: open a repair ticket from the report (title defaults from the report)."""

    version: Version
    title: Annotated[str, msgspec.Meta(max_length=200)] = ""
    priority: Priority = Priority.P2
    work_class: WorkClass = WorkClass.MINOR


class MergeIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Triage: the report joins an existing open ticket."""

    version: Version
    ticket_id: Id


class AnswerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Triage: reject, or not our responsibility; the reason is shown to the public."""

    version: Version
    reason: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class KeyCreate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=128)]
    contact: Annotated[str, msgspec.Meta(max_length=254)] = ""
