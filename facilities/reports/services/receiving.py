"""Receiving a report (web form, Open311, a "still broken?" follow-up): its facility, category
and attributes checked, its photos stored (all or none), and, under a closure in force, the
report recorded as answered by that closure instead of waiting for triage.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import secrets
from collections.abc import Sequence
from typing import Any

from facilities import db
from facilities.accounts import services as accounts
from facilities.accounts.choices import Role
from facilities.accounts.permissions import Actor
from facilities.audit import services as audit
from facilities.closures import public as closures_public
from facilities.closures.public import PublicClosure
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _
from facilities.lib import media
from facilities.reports.choices import AttributeType, Channel, ReportStatus, attributes_for
from facilities.reports.schemas import ReportIn
from facilities.reports.services.facility_search import find_facility
from facilities.reports.services.pin import joinable_report
from facilities.reports.services.reporter_mail import mail_reporter, report_language
from facilities.reports.tables import Open311Key, ReportPhoto, ServiceRequest
from facilities.tickets import services as tickets

MAX_PHOTOS = 3


def citizen(name: str = "citizen") -> Actor:
    """Who the audit trail names for a report nobody on the staff made."""
    return Actor(
        id=None, username="citizen", display_name=name[:128], role=Role.VIEWER, via="public"
    )


@dataclasses.dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


@dataclasses.dataclass(frozen=True)
class Submitted:
    report: ServiceRequest
    token: str
    closure: PublicClosure | None


#: A phone number: digits with an optional leading +, single spaces or dashes between groups.
PHONE_PATTERN = re.compile(r"\+?[0-9]+(?:[ -][0-9]+)*")
PHONE_DIGITS = (5, 15)  # a short service number to the longest international (E.164) number


def check_phone(value: str) -> str | None:
    """What is wrong with a phone number, or None when it is fine (or left empty)."""
    text = value.strip()
    if not text:
        return None
    digits = sum(ch.isdigit() for ch in text)
    if (
        not PHONE_PATTERN.fullmatch(text)
        or not PHONE_DIGITS[0] <= digits <= PHONE_DIGITS[1]
        or len(text) > 24
    ):
        return _(
            "Enter a phone number of %(low)s to %(high)s digits; only a + at the start, "
            "and spaces or dashes between the digits, are allowed."
        ) % {"low": PHONE_DIGITS[0], "high": PHONE_DIGITS[1]}
    return None


def _check_attributes(category: str, values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    known = {a.code: a for a in attributes_for(category)}
    for code in values:
        if code not in known:
            errors[f"attribute[{code}]"] = _("This service has no attribute “%(code)s”.") % {
                "code": code[:40]
            }
    for code, attribute in known.items():
        value = values.get(code, "").strip()
        if not value:
            if attribute.required:
                errors[f"attribute[{code}]"] = _("This field is required.")
            continue
        if attribute.datatype == AttributeType.SINGLEVALUELIST:
            if value not in {key for key, _name in attribute.values}:
                errors[f"attribute[{code}]"] = _("Choose one of the listed options.")
        elif len(value) > attribute.max_length:
            errors[f"attribute[{code}]"] = _("Enter at most %(n)s characters.") % {
                "n": attribute.max_length
            }
    return errors


async def _store_photos(
    photos: Sequence[Upload], media_root: Any, max_bytes: int, max_pixels: int
) -> list[Any]:
    """Check and store the photos (images only, metadata stripped, decoded off the event
    loop); all or none are kept."""
    if len(photos) > MAX_PHOTOS:
        raise ValidationFailed({"photos": _("Send at most %(n)s photos.") % {"n": MAX_PHOTOS}})
    for photo in photos:
        if not photo.data:
            raise ValidationFailed({"photos": _("One of the photos is empty.")})
        if len(photo.data) > max_bytes:
            raise ValidationFailed(
                {
                    "photos": _("The file is larger than %(mb)s MB.")
                    % {"mb": round(max_bytes / 1_000_000, 1)}
                }
            )
    stored: list[Any] = []
    try:
        for photo in photos:
            if photo.data.startswith(b"%PDF-"):
                raise media.UnsupportedFile("pdf")
            item = await media.store(photo.data, media_root, "reports", max_pixels=max_pixels)
            stored.append(item)
            if not item.is_image:
                raise media.UnsupportedFile(item.content_type)
    except media.TooManyPixels as exc:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise ValidationFailed({"photos": media.too_many_pixels(exc.limit)}) from None
    except media.UnsupportedFile:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise ValidationFailed(
            {"photos": _("Only photos (JPEG, PNG or WebP) can be sent.")}
        ) from None
    except OSError:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise ValidationFailed(
            {"photos": _("The photo could not be stored. Nothing was saved; please try again.")}
        ) from None
    except BaseException:  # cancelled (the client went away): keep none
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise
    return stored


def _snapshot(report: ServiceRequest) -> dict[str, Any]:
    """The audited fields (never the contact details)."""
    return {
        "asset": report.asset,
        "category": report.category,
        "channel": report.channel,
        "status": report.status,
        "ticket": report.ticket,
        "closure": report.closure,
        "follow_up_of": report.follow_up_of,
        "same_as": report.same_as,
        "public_reason": report.public_reason,
    }


async def submit_report(
    data: ReportIn,
    photos: Sequence[Upload],
    now: dt.datetime,
    *,
    media_root: Any,
    max_upload_bytes: int,
    max_image_pixels: int = media.MAX_PIXELS,
    channel: Channel = Channel.WEB,
    client: Open311Key | None = None,
    follow_up_of: int | None = None,
    same_as: int | None = None,
) -> Submitted:
    """Record a report (status new), or, when the facility is under a closure in force, record
    it as answered by that closure: no ticket, the closure's notice is the answer.

    ``follow_up_of``: the reporter's own repaired report is still broken. ``same_as``: a
    citizen says an open report near their pin is their problem too ("this is mine too"); the
    report is linked to it (``same_as``), so triage sees the two together and merges them, and
    the citizen follows it with their own tracking link."""
    facility = await find_facility(data.asset_id)
    errors: dict[str, str] = {}
    if facility is None:
        errors["asset_id"] = _("Choose one of the listed facilities.")
    elif data.category not in facility.categories:
        errors["category"] = _("Choose a category that applies to this facility.")
    if same_as is not None and (
        facility is None or await joinable_report(same_as, facility.id, now) is None
    ):
        errors["same_as"] = _(
            "That report is no longer open, or it is about another facility: send yours as a "
            "new report."
        )
    errors.update(_check_attributes(data.category, data.attributes))
    if phone_error := check_phone(data.contact_phone):
        errors["contact_phone"] = phone_error
    if errors:
        raise ValidationFailed(errors)
    assert facility is not None
    stored = await _store_photos(photos, media_root, max_upload_bytes, max_image_pixels)
    token = secrets.token_urlsafe(24)
    try:
        async with db.transaction():
            closure = await closures_public.in_force_for_asset(facility.id, now)
            report = ServiceRequest(
                token_hash=accounts.digest(token),
                asset=facility.id,
                category=data.category,
                description=data.description.strip(),
                attributes=json.dumps(
                    {k: v.strip() for k, v in data.attributes.items() if v.strip()},
                    ensure_ascii=False,
                ),
                lat=data.lat,
                lng=data.lng,
                address_string=data.address_string.strip(),
                channel=channel,
                client=client.id if client else None,
                contact_name=data.contact_name.strip(),
                contact_email=data.contact_email.strip(),
                contact_phone=data.contact_phone.strip(),
                device_id=data.device_id.strip(),
                account_id=data.account_id.strip(),
                language=report_language(data.language) or "zh_CN",
                status=ReportStatus.COVERED if closure else ReportStatus.NEW,
                closure=closure.id if closure else None,
                follow_up_of=follow_up_of,
                same_as=same_as,
                requested_at=now,
                updated_at=now,
            )
            await report.save()
            for upload, item in zip(photos, stored, strict=True):
                await ReportPhoto.insert(
                    ReportPhoto(
                        report=report.id,
                        filename=tickets.display_name(upload.filename, item.storage_key),
                        content_type=item.content_type,
                        size=item.size,
                        sha256=item.sha256,
                        storage_key=item.storage_key,
                        thumbnail_key=item.thumbnail_key,
                        created_at=now,
                    )
                )
            who = citizen(f"open311:{client.name}" if client else "citizen")
            await audit.record(
                who, "report.created", "service_request", report.id, now, after=_snapshot(report)
            )
            await mail_reporter(
                report,
                "follow_up" if follow_up_of else "received",
                now,
                token=token,
                covered=closure is not None,
                follow_up_of=follow_up_of,
            )
    except BaseException:
        for item in stored:
            media.remove(media_root, item.storage_key, item.thumbnail_key)
        raise
    return Submitted(report=report, token=token, closure=closure)
