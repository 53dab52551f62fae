"""API token scopes: what a machine client may touch, on top of what its user's role allows.

A scope is ``<domain>:read`` or ``<domain>:write`` (write implies read). The domain of a request
comes from its path through the one map below, :data:`DOMAIN_OF_SEGMENT`: the resource segment
after ``/api/v1/`` (``/api/v1/sites/3`` -> ``sites`` -> assets), or the first segment of a page
or download path (``/tickets/attachments/7`` -> tickets). Read or write comes from the HTTP
method. Public routes need no scope. A token request to a staff or API path that maps to no
domain is refused, so a new
route cannot slip through unscoped (``tests/test_token_scopes.py`` checks every /api/v1 route
maps). A scope never grants more than the role: services still check the role's permissions.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from facilities.i18n import N_, gettext


class ScopeDomain(StrEnum):
    ASSETS = "assets"
    TICKETS = "tickets"
    INSPECTIONS = "inspections"
    CLOSURES = "closures"
    REPORTS = "reports"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return gettext(DOMAIN_LABELS[self])


DOMAIN_LABELS = {
    ScopeDomain.ASSETS: N_("Assets and sites"),
    ScopeDomain.TICKETS: N_("Repair tickets"),
    ScopeDomain.INSPECTIONS: N_("Inspections and schedules"),
    ScopeDomain.CLOSURES: N_("Closures and notices"),
    ScopeDomain.REPORTS: N_("Citizen reports"),
    ScopeDomain.ADMIN: N_("Administration"),
}


class Access(StrEnum):
    READ = "read"
    WRITE = "write"

    @property
    def label(self) -> str:
        return gettext(ACCESS_LABELS[self])


ACCESS_LABELS = {Access.READ: N_("read"), Access.WRITE: N_("read and write")}

#: Every scope a token may hold, as the form offers them and the API accepts them.
ALL_SCOPES = tuple(f"{d.value}:{a.value}" for d in ScopeDomain for a in Access)
#: What a token created without naming scopes holds, and what tokens made before scopes got:
#: every domain, read and write (the user's role still limits it).
FULL_SCOPES = tuple(f"{d.value}:{Access.WRITE.value}" for d in ScopeDomain)

#: Every domain, read only: what the tokens form offers ticked.
READ_SCOPES = tuple(f"{d.value}:{Access.READ.value}" for d in ScopeDomain)

#: The one map from a path's resource segment to its domain (see the module docstring).
DOMAIN_OF_SEGMENT: dict[str, ScopeDomain] = {
    "sites": ScopeDomain.ASSETS,
    "assets": ScopeDomain.ASSETS,
    "components": ScopeDomain.ASSETS,
    "tickets": ScopeDomain.TICKETS,
    "contractors": ScopeDomain.TICKETS,
    "budgets": ScopeDomain.TICKETS,
    "costs": ScopeDomain.TICKETS,
    "inspections": ScopeDomain.INSPECTIONS,
    "schedules": ScopeDomain.INSPECTIONS,
    "findings": ScopeDomain.INSPECTIONS,
    "checklists": ScopeDomain.INSPECTIONS,
    "rules": ScopeDomain.INSPECTIONS,
    "closures": ScopeDomain.CLOSURES,
    "reports": ScopeDomain.REPORTS,
    "triage": ScopeDomain.REPORTS,
    "admin": ScopeDomain.ADMIN,
    "users": ScopeDomain.ADMIN,
    "tokens": ScopeDomain.ADMIN,
    "teams": ScopeDomain.INSPECTIONS,
    "jobs": ScopeDomain.ADMIN,
    "sla": ScopeDomain.TICKETS,
    "audit": ScopeDomain.ADMIN,
    # two segments where the first names no domain of its own: the dashboards' numbers belong
    # to the domain they count (``/api/v1/kpis/tickets`` -> tickets)
    "kpis/tickets": ScopeDomain.TICKETS,
    "kpis/inspections": ScopeDomain.INSPECTIONS,
}

#: API resources any valid token may call whatever its scopes: ``/api/v1/me``, the caller's own
#: account and the scopes it holds (so a client can check who it is before anything else).
UNSCOPED_SEGMENTS = frozenset({"me"})

API_PREFIX = "/api/v1/"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def domain_of_path(path: str) -> ScopeDomain | None:
    """The domain a request path belongs to, or None when the map names none."""
    rest = path[len(API_PREFIX) :] if path.startswith(API_PREFIX) else path.lstrip("/")
    parts = rest.split("/", 2)
    return DOMAIN_OF_SEGMENT.get("/".join(parts[:2])) or DOMAIN_OF_SEGMENT.get(parts[0])


def access_of_method(method: str) -> Access:
    return Access.READ if method.upper() in READ_METHODS else Access.WRITE


def normalise(scopes: Iterable[str]) -> tuple[str, ...]:
    """Known scopes, each once, in the order of :data:`ALL_SCOPES`; a read beside the write of
    the same domain is dropped (write implies it). Unknown names raise ValueError."""
    chosen = set(scopes)
    unknown = chosen - set(ALL_SCOPES)
    if unknown:
        raise ValueError(", ".join(sorted(unknown)))
    writes = {s.split(":")[0] for s in chosen if s.endswith(":" + Access.WRITE.value)}
    return tuple(
        s
        for s in ALL_SCOPES
        if s in chosen and not (s.endswith(":" + Access.READ.value) and s.split(":")[0] in writes)
    )


def parse_stored(text: str) -> frozenset[str]:
    """The scopes stored on a token row (space-separated); unknown names are ignored."""
    return frozenset(text.split()) & frozenset(ALL_SCOPES)


def stored(scopes: Iterable[str]) -> str:
    return " ".join(normalise(scopes))


def allows(scopes: frozenset[str], domain: ScopeDomain, access: Access) -> bool:
    """Whether ``scopes`` cover ``access`` to ``domain`` (write implies read)."""
    if f"{domain.value}:{Access.WRITE.value}" in scopes:
        return True
    return access is Access.READ and f"{domain.value}:{Access.READ.value}" in scopes


def missing_scope(
    scopes: frozenset[str], path: str, method: str, *, scoped_route: bool
) -> str | None:
    """None when a token holding ``scopes`` may make this request; otherwise the scope it
    lacks (``tickets:write``), or "" for an API or staff route (``scoped_route``) whose path
    belongs to no domain, which no token may call. Public routes need no scope."""
    if not (scoped_route or path.startswith("/api/")):
        return None
    if path.startswith(API_PREFIX) and path[len(API_PREFIX) :].split("/", 1)[0] in (
        UNSCOPED_SEGMENTS
    ):
        return None
    domain = domain_of_path(path)
    if domain is None:
        return ""
    access = access_of_method(method)
    if allows(scopes, domain, access):
        return None
    return f"{domain.value}:{access.value}"


def labelled(scopes: Iterable[str]) -> list[str]:
    """Scopes in words for a person ("Repair tickets: read")."""
    words = []
    for scope in normalise(parse_stored(" ".join(scopes))):
        domain, access = scope.split(":")
        words.append(f"{ScopeDomain(domain).label}: {Access(access).label}")
    return words
