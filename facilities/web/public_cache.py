"""The in-process cache of rendered public pages and feeds, one per app.

A page or feed is rendered once per change of the data it shows, not once per reader. The cache
knows nothing about what the data is: the controller hands it a *version source*, an async
function of ``now`` that returns the data's fingerprint (anything with a ``token``, a
``last_modified`` and a ``valid_until``), and keys its bodies by ETags that include that token.

On SQLite even the version query is skipped while nothing was written: ``PRAGMA data_version`` on
one long-lived read connection changes whenever any other connection commits, so the last
version is reused until then (or until the clock crosses the version's ``valid_until``).
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import os
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from litestar import Request
from piccolo.engine.sqlite import SQLiteEngine

from facilities import db

FRAGMENTS_KEPT = 20_000  # rendered fragments (calendar events) kept per process
REVALIDATIONS_KEPT = 10_000  # addresses whose last shared answer is remembered for a 304


class DataVersion(Protocol):
    """The fingerprint of the data a family of pages shows."""

    @property
    def token(self) -> str: ...

    @property
    def last_modified(self) -> dt.datetime | None: ...

    @property
    def valid_until(self) -> dt.datetime | None: ...


V = TypeVar("V", bound=DataVersion)
VersionSource = Callable[[dt.datetime], Awaitable[V]]


@dataclasses.dataclass(frozen=True)
class Rendered:
    body: bytes
    media_type: str


@dataclasses.dataclass(frozen=True)
class Revalidation:
    """What an address answered every anonymous reader at one version: its ETag and the
    headers of a 304 (``facilities.web.conditional.answer_early``)."""

    token: str
    etag: str
    headers: tuple[tuple[bytes, bytes], ...]


class PublicCache:
    """Per app: the last version (with the SQLite change counter it was read at) and rendered
    bodies by ETag, least recently used first out.

    Every body's ETag includes the version it was rendered at, so when the version changes no
    body kept can be served again: they are dropped then, and the cache holds the pages of one
    version (a few MB for the bureau), not the budget's worth of dead ones."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._bodies: collections.OrderedDict[str, Rendered] = collections.OrderedDict()
        self._bytes = 0
        self._token: str | None = None
        self._probe: sqlite3.Connection | None = None
        self._probe_identity: tuple[str, int, int] | None = None
        self._memo: tuple[int, Any] | None = None
        self._fragments: dict[str, bytes] = {}
        self._revalidations: dict[tuple[str, bytes, str], Revalidation] = {}

    def _data_version(self) -> int | None:
        """SQLite's count of commits by other connections, read on a connection that never
        writes; None on PostgreSQL (or if the probe fails: then every request asks). A database
        file replaced under the running server (a restore) opens a new probe."""
        engine = db.engine()
        if not isinstance(engine, SQLiteEngine):
            return None
        try:
            stat = os.stat(engine.path)
            identity = (engine.path, stat.st_dev, stat.st_ino)
            if self._probe is None or self._probe_identity != identity:
                if self._probe is not None:
                    self._probe.close()
                self._probe = sqlite3.connect(
                    engine.path, isolation_level=None, check_same_thread=False, timeout=1.0
                )
                self._probe_identity = identity
                self._memo = None
            # fetchall() steps the statement to its end, so no read transaction stays open.
            return int(self._probe.execute("PRAGMA data_version").fetchall()[0][0])
        except (OSError, sqlite3.Error):
            self._probe = None
            return None

    async def version(self, now: dt.datetime, source: VersionSource[V]) -> V:
        """The current version: the memo while SQLite saw no commit and the clock has not
        crossed its ``valid_until``, else ``await source(now)``. A new token drops the bodies
        rendered for the old one."""
        counter = self._data_version()
        memo = self._memo
        if (
            counter is not None
            and memo is not None
            and memo[0] == counter
            and (memo[1].valid_until is None or now < memo[1].valid_until)
        ):
            return memo[1]  # type: ignore[no-any-return]
        current = await source(now)
        if counter is not None:
            self._memo = (counter, current)
        if current.token != self._token:
            self._token = current.token
            self._bodies.clear()
            self._bytes = 0
            self._revalidations.clear()
        return current

    def revalidation(self, key: tuple[str, bytes, str]) -> Revalidation | None:
        """The shared answer remembered for (path, query string, language)."""
        return self._revalidations.get(key)

    def remember(self, key: tuple[str, bytes, str], value: Revalidation) -> None:
        if len(self._revalidations) >= REVALIDATIONS_KEPT:
            self._revalidations.clear()  # many addresses (odd query strings): start again
        self._revalidations[key] = value

    def fragment(self, key: str) -> bytes | None:
        """A rendered piece of a body (a calendar event), kept across versions under a key
        that digests everything it shows."""
        return self._fragments.get(key)

    def put_fragment(self, key: str, body: bytes) -> None:
        if len(self._fragments) >= FRAGMENTS_KEPT:
            self._fragments.clear()
        self._fragments[key] = body

    def get(self, key: str) -> Rendered | None:
        found = self._bodies.get(key)
        if found is not None:
            self._bodies.move_to_end(key)
        return found

    def put(self, key: str, value: Rendered) -> None:
        if len(value.body) > self.budget // 4:
            return
        old = self._bodies.pop(key, None)
        if old is not None:
            self._bytes -= len(old.body)
        self._bodies[key] = value
        self._bytes += len(value.body)
        while self._bytes > self.budget and self._bodies:
            _key, dropped = self._bodies.popitem(last=False)
            self._bytes -= len(dropped.body)

    def clear(self) -> None:
        self._bodies.clear()
        self._bytes = 0
        self._token = None
        self._memo = None
        self._fragments.clear()
        self._revalidations.clear()


def cache_of(request: Request[Any, Any, Any]) -> PublicCache:
    """The app's cache (``app.state.public_cache``), made on first use with the budget of the
    ``public_cache_mb`` setting."""
    return cache_of_app(request.app)


def cache_of_app(app: Any) -> PublicCache:
    state = app.state
    cache = getattr(state, "public_cache", None)
    if cache is None:
        cache = PublicCache(state.settings.public_cache_mb * 1024 * 1024)
        state.public_cache = cache
    return cache
