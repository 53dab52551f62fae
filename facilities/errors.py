"""Domain errors raised by services; the web layer turns each into a 4xx page or JSON body.

Services never import HTTP code, so these carry only a status code, a message meant for a person
(already translated) and, for validation, the message per field.
"""

from __future__ import annotations


class DomainError(Exception):
    status_code = 400

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(DomainError):
    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class Conflict(DomainError):
    """Someone else changed the record first (stale version), or a unique value is taken."""

    status_code = 409


class InvalidTransition(DomainError):
    status_code = 409


class ValidationFailed(DomainError):
    """Input that breaks a rule; ``errors`` maps a field name to a message a person can act on."""

    status_code = 400

    def __init__(self, errors: dict[str, str], detail: str = "") -> None:
        super().__init__(detail or "; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors
