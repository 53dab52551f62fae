"""The filed inspection report (issue 18): archived once when an inspection is finalised, served
as filed, and verified against its SHA-256.

- :func:`archive_report` renders a final inspection's report and stores the PDF under the media
  folder by a content-addressed key (``inspection-reports/ab/<sha256>.pdf``), with one
  ``inspection_report`` row (unique per inspection) and an ``inspection.report_archived`` audit
  event carrying the SHA-256. It renders with no transaction open (the render takes seconds; the
  write that files it is one short insert), and a second call finds the first filing and
  renders nothing: a retried finalisation, or two staff pressing "file" at once, files once.
- :func:`archive_after_finalise` is what finalising calls once its transaction has committed:
  a failure to render or store never undoes the finalisation; it is logged and recorded
  (``inspection.report_failed``), and staff file the report again with :func:`archive_report`.
- :func:`verify_report` re-reads the stored file and re-renders the report: a file whose hash
  is not the recorded one was changed on disk (tampering), a re-render that differs means the
  templates or the record changed since filing. The filed report is never replaced.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import hashlib
import logging
from pathlib import Path
from typing import Any

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.accounts.tables import StaffUser
from facilities.audit import services as audit
from facilities.errors import InvalidTransition, NotFound
from facilities.i18n import gettext as _
from facilities.inspections.choices import State
from facilities.inspections.report_pdf import report_pdf
from facilities.inspections.services.records import get_inspection
from facilities.inspections.services.report_contents import report_view
from facilities.inspections.tables import Inspection, InspectionReport
from facilities.lib import media

log = logging.getLogger(__name__)

#: Where filed reports live under the media folder.
FOLDER = "inspection-reports"


def storage_key(sha256: str) -> str:
    """The content-addressed key of a filed report."""
    return f"{FOLDER}/{sha256[:2]}/{sha256}.pdf"


async def render_report(inspection: Inspection, media_root: Path) -> bytes:
    """The report of ``inspection`` as it reads now (a draft's is marked DRAFT)."""
    view = await report_view(inspection, media_root, draft=inspection.state != State.FINAL)
    return await report_pdf(view)


async def find_report(inspection_id: int) -> InspectionReport | None:
    """The filed report of an inspection, if it was filed."""
    return (
        await InspectionReport.objects().where(InspectionReport.inspection == inspection_id).first()
    )


async def filed_report(actor: Actor, inspection_id: int) -> InspectionReport | None:
    """The filed report, for a reader allowed to see the inspection (404 without it)."""
    await get_inspection(actor, inspection_id)
    return await find_report(inspection_id)


async def report_filer(filed: InspectionReport | None) -> str:
    """The name of whoever filed the report ("" for none)."""
    if filed is None or filed.rendered_by is None:
        return ""
    row = (
        await StaffUser.select(StaffUser.display_name)
        .where(StaffUser.id == filed.rendered_by)
        .first()
    )
    return row["display_name"] if row else ""


async def preview_report(actor: Actor, inspection_id: int, media_root: Path) -> bytes:
    """A draft's report, rendered now and marked DRAFT; never filed. A final inspection's
    report is only ever its filed one."""
    inspection = await get_inspection(actor, inspection_id)
    if inspection.state == State.FINAL:
        raise InvalidTransition(_("A final inspection's report is the filed one."))
    return await render_report(inspection, media_root)


def _write(root: Path, key: str, data: bytes) -> None:
    path = media.resolve(root, key)
    media._write_atomically(path, data)  # the media folder's one way of writing a file


async def archive_report(
    actor: Actor, inspection_id: int, media_root: Path, now: dt.datetime
) -> InspectionReport:
    """File the report of a final inspection once; a second call returns the first filing."""
    require(actor, Perm.INSPECTIONS_FINALISE)
    inspection = await get_inspection(actor, inspection_id)
    existing = await find_report(inspection.id)
    if existing is not None:
        return existing
    if inspection.state != State.FINAL:
        raise InvalidTransition(_("Only a final inspection's report is filed."))
    data = await render_report(inspection, media_root)
    sha256 = hashlib.sha256(data).hexdigest()
    key = storage_key(sha256)
    await asyncio.to_thread(_write, media_root, key, data)
    async with db.transaction():
        inserted = (
            await InspectionReport.insert(
                InspectionReport(
                    inspection=inspection.id,
                    storage_key=key,
                    sha256=sha256,
                    size=len(data),
                    rendered_at=now,
                    rendered_by=actor.id,
                )
            )
            .on_conflict(action="DO NOTHING")
            .returning(InspectionReport.id)
        )
        if inserted:
            await audit.record(
                actor,
                "inspection.report_archived",
                "inspection",
                inspection.id,
                now,
                after={"sha256": sha256, "size": len(data), "storage_key": key},
            )
    filed = await find_report(inspection.id)
    assert filed is not None
    if filed.storage_key != key:  # another filing won the race with other bytes: keep only it
        media.remove(media_root, key)
    return filed


async def archive_after_finalise(
    actor: Actor, inspection_id: int, media_root: Path, now: dt.datetime
) -> InspectionReport | None:
    """File the report of a just-finalised inspection; on failure log it and record it in the
    audit (``inspection.report_failed``) for staff to file again, and return None."""
    try:
        return await archive_report(actor, inspection_id, media_root, now)
    except Exception as exc:
        log.exception("inspection %s: the report could not be filed", inspection_id)
        try:
            async with db.transaction():
                await audit.record(
                    actor,
                    "inspection.report_failed",
                    "inspection",
                    inspection_id,
                    now,
                    after={"error": f"{type(exc).__name__}: {exc}"[:300]},
                )
        except Exception:
            log.exception("inspection %s: the failed filing could not be recorded", inspection_id)
        return None


@dataclasses.dataclass(frozen=True)
class Verification:
    """What checking a filed report found. ``status``: ``not_filed``, ``missing`` (the file is
    gone), ``tampered`` (the file's hash is not the recorded one), ``differs`` (the file is the
    filed one, a re-render today is not) or ``ok``."""

    status: str
    recorded_sha256: str = ""
    file_sha256: str = ""
    rerendered_sha256: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def message(self) -> str:
        return {
            "not_filed": _("No report has been filed for this inspection."),
            "missing": _("The filed report's file is missing from the archive."),
            "tampered": _(
                "The archived file does not match the SHA-256 recorded when it was filed: "
                "it was changed after filing."
            ),
            "differs": _(
                "The re-rendered report differs from the filed one (the templates or the "
                "record changed since filing). The filed report stands."
            ),
            "ok": _("The filed report is intact and a re-render matches it."),
        }[self.status]

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "ok": self.ok, "message": self.message}


def _file_hash(root: Path, key: str) -> str | None:
    try:
        path = media.resolve(root, key)
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except (FileNotFoundError, IsADirectoryError):
        return None


async def filed_bytes(actor: Actor, inspection_id: int, media_root: Path) -> tuple[bytes, str]:
    """The filed PDF and its recorded SHA-256, exactly as filed: NotFound when nothing is filed
    or the file is gone, InvalidTransition when the file no longer matches its hash (served
    as filed or not at all)."""
    filed = await filed_report(actor, inspection_id)
    if filed is None:
        raise NotFound(_("No report has been filed for this inspection."))
    try:
        data = await asyncio.to_thread(media.resolve(media_root, filed.storage_key).read_bytes)
    except (FileNotFoundError, IsADirectoryError):
        raise NotFound(_("The filed report's file is missing from the archive.")) from None
    if hashlib.sha256(data).hexdigest() != filed.sha256:
        log.error("inspection %s: the filed report's file was changed", inspection_id)
        raise InvalidTransition(Verification("tampered").message)
    return data, filed.sha256


async def verify_report(actor: Actor, inspection_id: int, media_root: Path) -> Verification:
    """Check the stored file against its recorded hash, then re-render and compare."""
    inspection = await get_inspection(actor, inspection_id)
    filed = await find_report(inspection.id)
    if filed is None:
        return Verification("not_filed")
    on_disk = await asyncio.to_thread(_file_hash, media_root, filed.storage_key)
    rerendered = hashlib.sha256(await render_report(inspection, media_root)).hexdigest()
    if on_disk is None:
        status = "missing"
    elif on_disk != filed.sha256:
        status = "tampered"
    elif rerendered != filed.sha256:
        status = "differs"
    else:
        status = "ok"
    return Verification(status, filed.sha256, on_disk or "", rerendered)
