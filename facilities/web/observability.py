"""Request ids, structured logs and Prometheus metrics.

Every request gets an id (the incoming ``X-Request-ID`` when it is sane, else a new one), echoed
in the response and attached to every log line written while handling it. With
``FACILITIES_LOG_JSON`` the logs are one JSON object per line. Metrics are per process (each web
worker exposes its own request counters; scrape each worker, or run one) plus figures read from
the database at scrape time (outbox backlog, open tickets, closures in force), which are the same
from any process.
"""

from __future__ import annotations

import contextvars
import functools
import json
import logging
import re
import secrets
from typing import Any

from litestar.types import Scope
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "facilities_http_requests_total",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "facilities_http_request_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


class Exchange:
    """One request's id and, once the response starts, its status: kept in the scope's state
    by the request envelope (:mod:`facilities.web.envelope`), which counts it at the end."""

    __slots__ = ("request_id", "status")

    def __init__(self, incoming: str) -> None:
        self.request_id = incoming if _SANE_ID.match(incoming) else new_request_id()
        self.status = 500  # until a response starts: an exception no handler answered


def new_request_id() -> str:
    return secrets.token_hex(8)


def count(scope: Scope, status: int, seconds: float) -> None:
    """Count a finished request under its route template, with its latency."""
    handler = scope.get("route_handler")
    route = scope.get("path_template") or (
        next(iter(handler.paths), "?") if handler is not None else "unmatched"
    )
    requests, latency = _series(scope.get("method", "GET"), route, status)
    requests.inc()
    latency.observe(seconds)


@functools.cache
def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The counter and histogram children of one (method, route, status): looked up once, not
    per request (``labels()`` takes a lock and builds its key each time). Bounded by the route
    table."""
    return REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route)


def count_unmatched(scope: Scope, status: int) -> None:
    """Count an answer given before any route matched (404, 405): no middleware timed it."""
    REQUESTS.labels(scope.get("method", "GET"), "unmatched", str(status)).inc()


def render_metrics(extra: dict[str, float]) -> bytes:
    """The process's counters plus gauges computed for this scrape, in the text format."""
    lines = [generate_latest(REGISTRY).decode()]
    declared: set[str] = set()
    for name, value in sorted(extra.items()):
        family = name.partition("{")[0]
        if family not in declared:  # one TYPE line per metric family
            declared.add(family)
            lines.append(f"# TYPE {family} gauge\n")
        lines.append(f"{name} {value}\n")
    return "".join(lines).encode()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str, as_json: bool) -> None:
    """One handler on the root logger, with the request id on every line."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(
        JsonFormatter()
        if as_json
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
