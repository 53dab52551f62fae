"""How a staff account's history reads: the fields its services audit, by the user form's
labels (``user.*``, ``token.*``)."""

from __future__ import annotations

from facilities.accounts.choices import Role
from facilities.audit.display import Field, choice, describe, instant, yes_no
from facilities.i18n import LANGUAGE_NAMES, N_


def _language(value: object, names: object) -> str:
    return LANGUAGE_NAMES.get(str(value), str(value))


USER_AUDIT_FIELDS = {
    "username": Field(N_("User name")),
    "display_name": Field(N_("Name")),
    "email": Field(N_("E-mail")),
    "role": Field(N_("Role"), choice(Role)),
    "language": Field(N_("Language for e-mails"), _language),
    "team": Field(N_("Team")),
    "is_active": Field(N_("Active (may log in)"), yes_no),
}
TOKEN_AUDIT_FIELDS = {
    "name": Field(N_("What the token is for")),
    "user": Field(N_("Acts as user")),
    "prefix": Field(N_("Key begins")),
    "scopes": Field(N_("Scopes")),
    "expires_at": Field(N_("Expires"), instant),
}
describe("user", USER_AUDIT_FIELDS)
describe("token", TOKEN_AUDIT_FIELDS)
