"""What changed, and when: :func:`version` is the cheap fingerprint of everything the public
views show (ETag and Last-Modified of every public page and feed), with the next instant at
which the views change by the clock alone (a planned start, an announced reopening, a
reopening leaving the 30-day list, a promised reopening date passing)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from facilities.closures.choices import Precision
from facilities.closures.public.listings import RECENTLY_REOPENED
from facilities.closures.public.views import promise_broken_at
from facilities.closures.tables import Closure
from facilities.web import templating


@dataclasses.dataclass(frozen=True)
class Version:
    """A fingerprint of everything public about closures, assets and sites.

    ``token`` changes whenever any public view could change: a closure, notice update, linked
    ticket (its public progress), asset or site changed, or the clock crossed ``valid_until``.
    ``last_modified`` is the newest of those changes (and of the clock crossings passed).
    """

    token: str
    last_modified: dt.datetime | None
    valid_until: dt.datetime | None
    changed_at: dt.datetime | None = None


_VERSION_SQL = """
SELECT
  (SELECT max(updated_at) FROM closure) AS closure_at,
  (SELECT max(id) FROM closure) AS closure_id,
  (SELECT max(id) FROM notice_update) AS update_id,
  (SELECT max(published_at) FROM notice_update) AS published_at,
  (SELECT max(t.updated_at) FROM repair_ticket t
     WHERE t.id IN (SELECT ct.ticket FROM closure_ticket ct)) AS ticket_at,
  (SELECT count(*) FROM closure_ticket) AS links,
  (SELECT max(updated_at) FROM asset) AS asset_at,
  (SELECT max(id) FROM asset) AS asset_id,
  (SELECT max(updated_at) FROM site) AS site_at,
  (SELECT max(id) FROM site) AS site_id,
  (SELECT min(effective_from) FROM closure
     WHERE status = 'planned' AND effective_from > {}) AS next_start,
  (SELECT min(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at > {}) AS next_reopen,
  (SELECT min(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at > {}) AS next_expiry,
  (SELECT max(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at <= {}) AS last_reopen,
  (SELECT max(reopens_at) FROM closure
     WHERE status = 'lifted' AND reopens_at <= {}) AS last_expiry,
  (SELECT min(planned_reopen_on) FROM closure WHERE status IN ('planned', 'active', 'extended')
     AND reopen_precision = 'before' AND planned_reopen_on > {}) AS next_before,
  (SELECT min(planned_reopen_on) FROM closure WHERE status IN ('planned', 'active', 'extended')
     AND reopen_precision <> 'before' AND planned_reopen_on >= {}) AS next_on,
  (SELECT max(planned_reopen_on) FROM closure WHERE status IN ('planned', 'active', 'extended')
     AND reopen_precision = 'before' AND planned_reopen_on <= {}) AS last_before,
  (SELECT max(planned_reopen_on) FROM closure WHERE status IN ('planned', 'active', 'extended')
     AND reopen_precision <> 'before' AND planned_reopen_on < {}) AS last_on
"""
_INSTANTS = ("closure_at", "published_at", "ticket_at", "asset_at", "site_at")


def _broken_at(value: Any, precision: str) -> dt.datetime | None:
    """When a promise of reopening (a date: a ``date`` on PostgreSQL, text on SQLite) is broken,
    in the bureau's zone (see :func:`promise_broken_at`)."""
    if value is None:
        return None
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    return promise_broken_at(day, precision, templating._zone)


def _instant(value: Any) -> dt.datetime | None:
    """Aggregates come back as datetimes on PostgreSQL and as stored text on SQLite."""
    if value is None or isinstance(value, dt.datetime):
        return value
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


async def version(now: dt.datetime) -> Version:
    """One query: the newest change of every public fact, and the clock's next effect."""
    window = now - RECENTLY_REOPENED
    today = now.astimezone(templating._zone).date()
    rows = await Closure.raw(
        _VERSION_SQL, now, now, window, now, window, today, today, today, today
    )
    row = rows[0]
    instants = [_instant(row[name]) for name in _INSTANTS]
    next_expiry = _instant(row["next_expiry"])
    upcoming = [
        _instant(row["next_start"]),
        _instant(row["next_reopen"]),
        next_expiry + RECENTLY_REOPENED if next_expiry else None,
        _broken_at(row["next_before"], Precision.BEFORE),
        _broken_at(row["next_on"], Precision.EXACT),
    ]
    last_expiry = _instant(row["last_expiry"])
    passed = [
        _instant(row["last_reopen"]),
        last_expiry + RECENTLY_REOPENED if last_expiry else None,
        _broken_at(row["last_before"], Precision.BEFORE),
        _broken_at(row["last_on"], Precision.EXACT),
    ]
    valid_until = min((u for u in upcoming if u is not None), default=None)
    changed_at = max((i for i in instants if i is not None), default=None)
    last_modified = max((i for i in [changed_at, *passed] if i is not None), default=None)
    parts = [
        *(i.isoformat() if i else "-" for i in instants),
        *(str(row[name]) for name in ("closure_id", "update_id", "links", "asset_id", "site_id")),
        valid_until.isoformat() if valid_until else "-",
        last_modified.isoformat() if last_modified else "-",
    ]
    return Version("|".join(parts), last_modified, valid_until, changed_at)


async def last_changed(now: dt.datetime | None = None) -> dt.datetime | None:
    """The newest change to anything public about closures, their linked repair work, assets
    and sites; with ``now``, also the newest clock crossing (a reopening) that changed a view."""
    current = await version(now or dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
    return current.last_modified if now is not None else current.changed_at
