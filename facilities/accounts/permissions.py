"""The acting person (or machine, or the scheduler) and the permission check services call."""

from __future__ import annotations

import dataclasses

from facilities.accounts.choices import GRANTS, Perm, Role
from facilities.errors import PermissionDenied
from facilities.i18n import gettext as _


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who is acting: a staff user through a session or an API token, or the system itself."""

    id: int | None
    username: str
    display_name: str
    role: Role
    via: str = "session"  # session | token | system
    team: str = ""  # the team the person works in (StaffUser.team); empty: none
    #: An API token's scopes (``accounts.scopes``), checked by the authentication middleware
    #: on top of the role; None for sessions and the system, which scopes do not limit.
    scopes: frozenset[str] | None = None

    @property
    def is_system(self) -> bool:
        return self.via == "system"


SYSTEM = Actor(id=None, username="system", display_name="system", role=Role.ADMIN, via="system")


def can(actor: Actor | None, perm: Perm) -> bool:
    return actor is not None and actor.role in GRANTS[perm]


def require(actor: Actor | None, perm: Perm) -> Actor:
    """Return the actor when allowed; raise PermissionDenied (403) otherwise."""
    if actor is None or not can(actor, perm):
        raise PermissionDenied(_("You do not have permission to do this."))
    return actor
