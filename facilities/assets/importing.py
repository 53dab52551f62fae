"""Importing a file of assets and components through the web: a dry run, then the real thing.

Both runs go the same way: every row of both tables is checked without writing
(:func:`facilities.assets.csvio.check_rows`, :func:`facilities.assets.componentio.check_rows`);
when all pass, the rows are written in one transaction through the register's services (their
checks, their audit events). A dry run then rolls that transaction back, so it reports exactly
what the real run would create, update or refuse, and leaves nothing behind. The real run is
all-or-nothing too: one refused row and nothing is kept.

Between the two, the file waits under the media folder (``imports/``), named by a random token
and the id of whoever sent it: the confirm form carries the token and the file's SHA-256, so
the file applied is the file checked, and nobody else can apply it. Left-over files expire.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import re
import secrets
from pathlib import Path

from facilities import db
from facilities.accounts.choices import Perm
from facilities.accounts.permissions import Actor, require
from facilities.assets import componentio, csvio
from facilities.assets.xlsxio import Upload, read_upload
from facilities.errors import ValidationFailed
from facilities.i18n import gettext as _

#: Most rows read from one table of a file (a city's register is a few thousand assets).
MAX_IMPORT_ROWS = 5000
#: How long a checked file waits for its confirmation.
STAGED_FOR = dt.timedelta(hours=6)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclasses.dataclass
class ImportReport:
    assets: csvio.ImportResult
    components: csvio.ImportResult
    dry_run: bool

    @property
    def ok(self) -> bool:
        return self.assets.ok and self.components.ok

    @property
    def error_count(self) -> int:
        return len(self.assets.errors) + len(self.components.errors)


class _DryRun(Exception):
    """Raised at the end of a dry run to roll its transaction back."""


def read_file(data: bytes, max_bytes: int, max_rows: int | None = None) -> Upload:
    """The file's tables; ``ValidationFailed`` naming ``file`` when empty, too large, or neither
    an xlsx workbook nor a CSV (told by content)."""
    if not data:
        raise ValidationFailed({"file": _("Choose a file to upload.")})
    if len(data) > max_bytes:
        raise ValidationFailed(
            {
                "file": _("The file is larger than %(size)d MB.")
                % {"size": max(1, max_bytes // 1_000_000)}
            }
        )
    upload = read_upload(data, MAX_IMPORT_ROWS if max_rows is None else max_rows)
    if not upload.assets.rows and not upload.components.rows:
        raise ValidationFailed({"file": _("The file has no rows to import.")})
    return upload


async def import_upload(
    actor: Actor, upload: Upload, now: dt.datetime, *, dry_run: bool
) -> ImportReport:
    """Check every row, then write them all in one transaction (rolled back on a dry run)."""
    require(actor, Perm.ASSETS_EDIT)
    asset_result, asset_rows = await csvio.check_rows(
        actor, upload.assets.rows, upload.assets.first_line
    )
    # Codes of every asset row, even refused ones: their parts are not "unknown" as well.
    codes = {(row.get("code") or "").strip() for row in upload.assets.rows} - {""}
    component_result, component_rows = await componentio.check_rows(
        actor, upload.components.rows, codes, upload.components.first_line
    )
    report = ImportReport(asset_result, component_result, dry_run)
    if not report.ok:
        return report
    try:
        async with db.transaction():
            await csvio.apply_rows(actor, asset_rows, now, asset_result)
            await componentio.apply_rows(actor, component_rows, now, component_result)
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    except csvio.ImportAborted:
        for result in (asset_result, component_result):
            result.created = result.updated = result.unchanged = 0
    return report


# --- the file between the dry run and the confirmation -----------------------------------


def _folder(media_root: Path) -> Path:
    return media_root / "imports"


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stage(media_root: Path, actor: Actor, data: bytes, now: dt.datetime) -> str:
    """Keep the checked file for its confirmation; returns its token. Expired files go.

    A staged file's modification time is set to the app's ``now`` (not the filesystem's clock),
    so its age is measured on the one clock the app reads (``lib/clock``)."""
    folder = _folder(media_root)
    folder.mkdir(parents=True, exist_ok=True)
    moment = now.timestamp()
    for old in folder.iterdir():
        try:
            if moment - old.stat().st_mtime > STAGED_FOR.total_seconds():
                old.unlink()
        except OSError:
            pass
    token = secrets.token_urlsafe(24)
    path = folder / f"{actor.id or 0}-{token}"
    path.write_bytes(data)
    os.utime(path, (moment, moment))
    return token


def _staged_path(media_root: Path, actor: Actor, token: str) -> Path:
    if not _TOKEN.match(token):
        raise ValidationFailed({"file": _("This import has expired; upload the file again.")})
    return _folder(media_root) / f"{actor.id or 0}-{token}"


def staged(media_root: Path, actor: Actor, token: str, sha256: str) -> bytes:
    """The file checked under ``token`` by this actor, unchanged since (or a 400)."""
    path = _staged_path(media_root, actor, token)
    try:
        data = path.read_bytes()
    except OSError:
        raise ValidationFailed(
            {"file": _("This import has expired; upload the file again.")}
        ) from None
    if digest(data) != sha256:
        raise ValidationFailed({"file": _("This import has expired; upload the file again.")})
    return data


def discard(media_root: Path, actor: Actor, token: str) -> None:
    try:
        _staged_path(media_root, actor, token).unlink(missing_ok=True)
    except (OSError, ValidationFailed):
        pass
