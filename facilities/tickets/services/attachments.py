"""Photos and documents on a ticket: checked, cleaned and stored under the media folder, with a
row per file; served to staff only (never public by URL alone).
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.errors import NotFound
from facilities.i18n import gettext as _
from facilities.lib import media
from facilities.records import get_or_404
from facilities.tickets.choices import PhotoTag
from facilities.tickets.services.reading import find_ticket
from facilities.tickets.tables import TicketAttachment


async def add_attachment(
    actor: Actor,
    ticket_id: int,
    data: bytes,
    filename: str,
    tag: PhotoTag,
    caption: str,
    media_root: Path,
    max_bytes: int,
    now: dt.datetime,
    *,
    max_pixels: int = media.MAX_PIXELS,
) -> TicketAttachment:
    """Check, clean and store a photo or PDF, then record it; the file is removed again if the
    database write fails, so there is never a file without its row."""
    require(actor, Perm.TICKETS_WORK)
    ticket = await find_ticket(ticket_id)
    if ticket is None:
        raise NotFound(_("No such ticket."))
    stored = await media.store_checked(
        data, media_root, f"tickets/{ticket.id}", max_bytes, max_pixels=max_pixels
    )
    try:
        async with db.transaction():
            row = TicketAttachment(
                ticket=ticket.id,
                uploaded_by=actor.id,
                tag=tag,
                filename=display_name(filename, stored.storage_key),
                content_type=stored.content_type,
                size=stored.size,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
                thumbnail_key=stored.thumbnail_key,
                caption=caption.strip()[:300],
                created_at=now,
            )
            await row.save()
            await audit.record(
                actor,
                "ticket.attached",
                "ticket",
                ticket.id,
                now,
                after={"file": row.filename, "tag": tag.value},
            )
    except BaseException:
        media.remove(media_root, stored.storage_key, stored.thumbnail_key)
        raise
    return row


def display_name(filename: str, storage_key: str) -> str:
    """The name shown and offered on download: the sender's name without any folder, with the
    extension of what the file really is (a PNG sent as "photo.pdf" is "photo.png")."""
    # Control and format characters go: a right-to-left override ("invoice\u202egpj.png")
    # would show the name reversed ("invoicepng.jpg"), a line break would break a header.
    visible = "".join(c for c in filename if unicodedata.category(c) not in {"Cc", "Cf"})
    stem = Path(visible.replace("\\", "/")).stem.strip().strip(".") or "upload"
    extension = Path(storage_key).suffix
    return stem[: 200 - len(extension)] + extension


async def list_attachments(actor: Actor, ticket_id: int) -> list[TicketAttachment]:
    require(actor, Perm.TICKETS_VIEW)
    return (
        await TicketAttachment.objects()
        .where(TicketAttachment.ticket == ticket_id)
        .order_by(TicketAttachment.created_at)
        .order_by(TicketAttachment.id)
    )


async def get_attachment(actor: Actor, attachment_id: int) -> TicketAttachment:
    """An attachment the actor may see (staff only; media are never public by URL alone)."""
    require(actor, Perm.TICKETS_VIEW)
    row: TicketAttachment = await get_or_404(
        TicketAttachment.objects(), TicketAttachment, attachment_id, _("No such file.")
    )
    return row
