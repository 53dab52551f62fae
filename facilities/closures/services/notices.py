"""The public notice's timeline: updates staff write, drafts they publish or discard, and the
system entries published once per key (activation, extension, cancellation, reopening)."""

from __future__ import annotations

import datetime as dt
from typing import Any, NoReturn

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.audit import services as audit
from facilities.closures.choices import NoticeSource, NoticeState, Status
from facilities.closures.schemas import NoticeIn
from facilities.closures.services.reading import get_closure
from facilities.closures.tables import Closure, NoticeUpdate
from facilities.errors import InvalidTransition, NotFound, ValidationFailed
from facilities.i18n import gettext as _
from facilities.records import claim, get_or_404, valid_id


async def publish_system(
    closure_id: int, key: str, text_zh: str, text_en: str, now: dt.datetime
) -> bool:
    """Publish a system notice once per ``key`` (a rerun or a second scheduler adds nothing)."""
    rows = (
        await NoticeUpdate.insert(
            NoticeUpdate(
                closure=closure_id,
                state=NoticeState.PUBLISHED,
                source=NoticeSource.SYSTEM,
                dedupe_key=key,
                text_zh=text_zh,
                text_en=text_en,
                created_at=now,
                published_at=now,
            )
        )
        .on_conflict(action="DO NOTHING")
        .returning(NoticeUpdate.id)
    )
    if rows:
        await Closure.update({Closure.updated_at: now}).where(Closure.id == closure_id)
    return bool(rows)


async def write_update(
    actor: Actor, closure_id: int, data: NoticeIn, now: dt.datetime
) -> NoticeUpdate:
    require(actor, Perm.NOTICES_PUBLISH)
    if not data.text_zh.strip():
        raise ValidationFailed({"text_zh": _("This field is required.")})
    async with db.transaction():
        closure = await get_closure(actor, closure_id)
        if closure.status == Status.CANCELLED:
            raise InvalidTransition(_("A cancelled closure has no public notice."))
        row = NoticeUpdate(
            closure=closure.id,
            state=NoticeState.PUBLISHED if data.publish else NoticeState.DRAFT,
            source=NoticeSource.STAFF,
            text_zh=data.text_zh.strip(),
            text_en=data.text_en.strip(),
            created_at=now,
            created_by=actor.id,
            published_at=now if data.publish else None,
            published_by=actor.id if data.publish else None,
        )
        await row.save()
        await Closure.update({Closure.updated_at: now}).where(Closure.id == closure.id)
        await audit.record(
            actor,
            "closure.update_written",
            "closure",
            closure.id,
            now,
            after={"update": row.id, "published": data.publish},
        )
    return row


async def publish_update(
    actor: Actor, update_id: int, now: dt.datetime, edited: NoticeIn | None = None
) -> None:
    """Publish a draft (one click), optionally with the text edited first."""
    require(actor, Perm.NOTICES_PUBLISH)
    if edited is not None and not edited.text_zh.strip():
        raise ValidationFailed({"text_zh": _("This field is required.")})
    async with db.transaction():
        values: dict[Any, Any] = {
            NoticeUpdate.state: NoticeState.PUBLISHED,
            NoticeUpdate.published_at: now,
            NoticeUpdate.published_by: actor.id,
        }
        if edited is not None:
            values[NoticeUpdate.text_zh] = edited.text_zh.strip()
            values[NoticeUpdate.text_en] = edited.text_en.strip()
        closure = await Closure.select(Closure.status).where(
            Closure.id.is_in(
                NoticeUpdate.select(NoticeUpdate.closure).where(NoticeUpdate.id == update_id)
            )
        )
        if closure and closure[0]["status"] == Status.CANCELLED:
            raise InvalidTransition(_("A cancelled closure has no public notice."))
        rows = await claim(NoticeUpdate, _draft(update_id), values, NoticeUpdate.closure)
        if not rows:
            await _missing_or_decided(update_id)
        await Closure.update({Closure.updated_at: now}).where(Closure.id == rows[0]["closure"])
        await audit.record(
            actor,
            "closure.update_published",
            "closure",
            rows[0]["closure"],
            now,
            after={"update": update_id},
        )


async def discard_update(actor: Actor, update_id: int, now: dt.datetime) -> None:
    require(actor, Perm.NOTICES_PUBLISH)
    async with db.transaction():
        rows = await claim(
            NoticeUpdate,
            _draft(update_id),
            {NoticeUpdate.state: NoticeState.DISCARDED},
            NoticeUpdate.closure,
        )
        if not rows:
            await _missing_or_decided(update_id)
        await audit.record(
            actor,
            "closure.update_discarded",
            "closure",
            rows[0]["closure"],
            now,
            after={"update": update_id},
        )


def _draft(update_id: int) -> Any:
    """The update ``update_id`` while it is still a draft (a draft is decided once)."""
    return (NoticeUpdate.id == update_id) & (NoticeUpdate.state == NoticeState.DRAFT)


async def _missing_or_decided(update_id: int) -> NoReturn:
    """Why no draft was claimed: there is no such update (404), or it was decided (409)."""
    if not valid_id(update_id) or not await NoticeUpdate.exists().where(
        NoticeUpdate.id == update_id
    ):
        raise NotFound(_("No such notice update."))
    raise InvalidTransition(_("This draft was already published or discarded."))


async def get_update(actor: Actor, update_id: int) -> NoticeUpdate:
    require(actor, Perm.CLOSURES_VIEW)
    row: NoticeUpdate = await get_or_404(
        NoticeUpdate.objects(), NoticeUpdate, update_id, _("No such notice update.")
    )
    return row


async def list_updates(closure_id: int, published_only: bool = True) -> list[NoticeUpdate]:
    query = NoticeUpdate.objects().where(NoticeUpdate.closure == closure_id)
    if published_only:
        query = query.where(NoticeUpdate.state == NoticeState.PUBLISHED)
    else:
        query = query.where(NoticeUpdate.state != NoticeState.DISCARDED)
    return await query.order_by(NoticeUpdate.created_at, ascending=False).order_by(
        NoticeUpdate.id, ascending=False
    )


async def list_drafts(actor: Actor) -> list[dict[str, Any]]:
    require(actor, Perm.CLOSURES_VIEW)
    return (
        await NoticeUpdate.select(
            *NoticeUpdate.all_columns(),
            NoticeUpdate.closure._.asset._.code.as_alias("asset_code"),
        )
        .where(
            (NoticeUpdate.state == NoticeState.DRAFT)
            & (NoticeUpdate.closure._.status != Status.CANCELLED)
        )
        .order_by(NoticeUpdate.created_at)
        .order_by(NoticeUpdate.id)
    )
