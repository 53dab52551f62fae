"""Temporary: re-exports the closure controllers for ``facilities/app.py`` until it imports
them from :mod:`facilities.closures.pages` (HTML) and :mod:`facilities.closures.api` (JSON)."""

from facilities.closures.api import ClosureApiController
from facilities.closures.pages import ClosureController

__all__ = ["ClosureApiController", "ClosureController"]
