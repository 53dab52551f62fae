"""The app's route table, as the permission matrix, the CSRF sweep and the hostile-input scans
read it: ``app_routes``, ``is_staff_route`` and the framework's own prefixes."""

from __future__ import annotations

from typing import Any

from facilities.web.auth import staff_guard

# Framework routes: static files and the OpenAPI documents.
FRAMEWORK_PREFIXES = ("/static", "/schema")


def app_routes(application: Any) -> dict[str, Any]:
    """``"METHOD path"`` -> route handler for every route the app serves (HEAD and OPTIONS
    aside, which Litestar adds by itself)."""
    routes = {}
    for route in application.routes:
        for handler in getattr(route, "route_handlers", []):
            for method in handler.http_methods - {"HEAD", "OPTIONS"}:
                routes[f"{method} {route.path}"] = handler
    return routes


def is_staff_route(handler: Any) -> bool:
    return any(getattr(g, "func", g) is staff_guard for g in handler.resolve_guards())
