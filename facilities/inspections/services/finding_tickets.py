"""Findings to repair tickets: a finding opens one ticket (priority from its urgency, its photos
carried over as attachments), by hand from the inspection page or on finalising for the urgent
ones and the failed checklist items."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import SYSTEM, Actor, require
from facilities.audit import services as audit
from facilities.i18n import gettext as _
from facilities.inspections.choices import URGENCY_PRIORITY, DefectType, FindingStatus, Urgency
from facilities.inspections.tables import Finding, InspectionPhoto
from facilities.lib import media
from facilities.records import claim, get_or_404
from facilities.tickets import services as tickets
from facilities.tickets.choices import PhotoTag, Priority, Source, WorkClass
from facilities.tickets.schemas import TicketIn


class _AlreadyTicketed(Exception):
    """Another request opened the finding's ticket first: roll this one back."""


async def finding_to_ticket(
    actor: Actor, finding_id: int, media_root: Path, now: dt.datetime
) -> int:
    """Open a repair ticket from a finding (priority from urgency, photos carried over).

    Idempotent: a finding opens one ticket, however often the button is pressed, and two
    presses at once (two tabs, two staff) still make one: the link is claimed with a
    conditional update, and the loser's ticket is rolled back."""
    require(actor, Perm.TICKETS_CREATE)
    try:
        return await _finding_to_ticket(actor, finding_id, media_root, now)
    except _AlreadyTicketed:
        finding = await Finding.select(Finding.ticket).where(Finding.id == finding_id).first()
        assert finding is not None and finding["ticket"] is not None
        return int(finding["ticket"])


async def _finding_to_ticket(
    actor: Actor, finding_id: int, media_root: Path, now: dt.datetime, title: str = ""
) -> int:
    stored: list[tuple[str, str]] = []
    try:
        async with db.transaction():
            finding = await get_or_404(
                Finding.objects(), Finding, finding_id, _("No such finding.")
            )
            if finding.ticket is not None:
                return int(finding.ticket)
            ticket = await tickets.open_ticket(
                actor,
                TicketIn(
                    asset_id=finding.asset,
                    component_id=finding.component,
                    title=title
                    or _("%(defect)s: %(text)s")
                    % {"defect": _finding_defect_label(finding), "text": finding.description[:120]},
                    description=finding.description,
                    source=Source.INSPECTION,
                    work_class=WorkClass.MINOR
                    if finding.urgency != Urgency.IMMEDIATE
                    else WorkClass.MEDIUM,
                    priority=Priority(URGENCY_PRIORITY[Urgency(finding.urgency)]),
                ),
                now,
            )
            claimed = await claim(
                Finding,
                (Finding.id == finding.id) & Finding.ticket.is_null(),
                {
                    Finding.ticket: ticket.id,
                    Finding.status: FindingStatus.TICKETED,
                },
            )
            if not claimed:
                raise _AlreadyTicketed()
            photos = (
                await InspectionPhoto.objects()
                .where(InspectionPhoto.finding == finding.id)
                .order_by(InspectionPhoto.id)
            )
            for photo in photos:
                path = media.resolve(media_root, photo.storage_key)
                extension = Path(photo.storage_key).suffix
                attachment = await tickets.add_attachment(
                    SYSTEM,
                    ticket.id,
                    path.read_bytes(),
                    f"finding-{finding.id}-photo-{photo.id}{extension}",
                    _photo_tag(),
                    photo.caption,
                    media_root,
                    max(photo.size, 1) * 4 + 1_000_000,
                    now,
                    max_pixels=media.PIXEL_CEILING,  # vetted when the inspector sent it
                )
                stored.append((attachment.storage_key, attachment.thumbnail_key))
            await audit.record(
                actor,
                "inspection.finding_ticketed",
                "inspection",
                finding.inspection,
                now,
                after={"finding": finding.id, "ticket": ticket.id},
            )
    except BaseException:
        for keys in stored:  # the copies made for a ticket that was rolled back
            media.remove(media_root, *keys)
        raise
    return int(ticket.id)


def _finding_defect_label(finding: Finding) -> str:
    return DefectType(finding.defect_type).label


def _photo_tag() -> PhotoTag:
    return PhotoTag.BEFORE
