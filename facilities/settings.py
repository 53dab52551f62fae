"""Configuration from ``FACILITIES_*`` environment variables, parsed strictly.

Every setting is one field below with its variable, its parser and a one-line help text. A value
that does not parse, or a ``FACILITIES_*`` variable nobody knows (a typo), stops start-up with a
message naming the variable. ``.env.example`` and the README's table list the same fields; a test
keeps the three in step.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from facilities.lib.media import PIXEL_CEILING
from facilities.lib.proxies import Network, parse_networks

PREFIX = "FACILITIES_"
DEV_SECRET = "dev-only-insecure-secret-do-not-use-in-production"  # noqa: S105


class SettingsError(ValueError):
    """A configuration problem, worded for the operator: it names the variable."""


def _parse_bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected one of true/false, yes/no, on/off, 1/0")


def _int_between(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError("expected a whole number") from None
        if not low <= value <= high:
            raise ValueError(f"expected a number from {low} to {high}")
        return value

    return parse


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        value = raw.strip()
        if value not in choices:
            raise ValueError(f"expected one of: {', '.join(choices)}")
        return value

    return parse


def _database_url(raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ValueError("expected sqlite:///path or postgres://user@host:port/dbname")
    return value


def _timezone(raw: str) -> str:
    try:
        ZoneInfo(raw.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("expected an IANA time zone such as Asia/Shanghai") from None
    return raw.strip()


def _text(raw: str) -> str:
    return raw.strip()


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected an http:// or https:// URL")
    return value


def _tiles(raw: str) -> str:
    """``none``, ``tianditu`` (with ``FACILITIES_TIANDITU_KEY``) or an http(s) URL template
    with {z}, {x} and {y} (and {s} for subdomains)."""
    value = raw.strip()
    if value in ("none", "tianditu"):
        return value
    if not value.startswith(("http://", "https://")):
        raise ValueError("expected none or an http:// or https:// URL template")
    if not all(part in value for part in ("{z}", "{x}", "{y}")):
        raise ValueError("expected a URL template with {z}, {x} and {y}")
    if any(c in value for c in " \"'<>;,"):
        raise ValueError("expected a URL template without spaces, quotes, ';' or ','")
    host = urlsplit(value).netloc.removeprefix("{s}.")
    if not host or any(c in host for c in "{}@"):
        raise ValueError("expected a plain host name (only a leading {s}. may vary)")
    return value


def _actions(raw: str) -> frozenset[str]:
    allowed = {"start", "complete", "accept", "close", "hold", "resume"}
    values = frozenset(part.strip() for part in raw.split(",") if part.strip())
    unknown = sorted(values - allowed)
    if unknown:
        raise ValueError(f"unknown ticket action {unknown[0]}; choose from {sorted(allowed)}")
    return values


def _time_of_day(raw: str) -> str:
    try:
        value = dt.time.fromisoformat(raw.strip())
    except ValueError:
        raise ValueError("expected a time of day as HH:MM, such as 07:30") from None
    return value.strftime("%H:%M")


def _setting(default: Any, parse: Callable[[str], Any], help: str) -> Any:
    return dataclasses.field(default=default, metadata={"parse": parse, "help": help})


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything configurable, with safe defaults for ``make run`` on one machine."""

    env: str = _setting(
        "development", _one_of("development", "production"), "development or production"
    )
    secret_key: str = _setting(
        "", _text, "Signs CSRF tokens; required in production (32+ random characters)"
    )
    database_url: str = _setting(
        "sqlite:///var/facilities.db",
        _database_url,
        "sqlite:///relative/path, sqlite:////absolute/path or postgres://user@host:port/db",
    )
    db_pool_min: int = _setting(1, _int_between(1, 100), "PostgreSQL pool: connections kept open")
    db_pool_max: int = _setting(10, _int_between(1, 500), "PostgreSQL pool: most connections")
    memory_trim_seconds: int = _setting(
        60, _int_between(0, 86400), "Seconds between handing freed memory back to the OS; 0: never"
    )
    host: str = _setting("127.0.0.1", _text, "Address the web server binds")
    port: int = _setting(8000, _int_between(1, 65535), "Port the web server binds")
    base_url: str = _setting(
        "", _url, "Public URL used in emails and feeds (default from host/port)"
    )
    language: str = _setting("zh_CN", _one_of("zh_CN", "en"), "Default language: zh_CN or en")
    timezone: str = _setting("Asia/Shanghai", _timezone, "Time zone for dates shown to people")
    scheduler_embedded: bool = _setting(
        True, _parse_bool, "Run the scheduler inside the web process (off when scaled out)"
    )
    email_backend: str = _setting(
        "console", _one_of("console", "smtp"), "console (print) or smtp (deliver)"
    )
    mail_from: str = _setting("facilities@localhost", _text, "Sender address of outgoing mail")
    bureau_contact: str = _setting(
        "",
        _text,
        "The bureau's contact line printed on closure notices (phone, address); empty: the"
        " sender address",
    )
    smtp_host: str = _setting("localhost", _text, "SMTP server host")
    smtp_port: int = _setting(25, _int_between(1, 65535), "SMTP server port")
    smtp_user: str = _setting("", _text, "SMTP user name (empty: no login)")
    smtp_password: str = _setting("", _text, "SMTP password")
    smtp_security: str = _setting(
        "none", _one_of("none", "starttls", "tls"), "none, starttls or tls (implicit TLS)"
    )
    smtp_timeout: int = _setting(20, _int_between(1, 600), "Seconds before an SMTP attempt fails")
    outbox_batch_size: int = _setting(50, _int_between(1, 10000), "Messages sent per job run")
    public_cache_mb: int = _setting(
        32,
        _int_between(0, 4096),
        "Most rendered public pages and feeds kept per web process (current data only), in MB",
    )
    public_max_age: int = _setting(
        30,
        _int_between(0, 3600),
        "Seconds a shared cache (nginx, a CDN) and a browser may reuse a public page or feed",
    )
    public_stale_seconds: int = _setting(
        60,
        _int_between(0, 86400),
        "Seconds past that a shared cache may serve a public page while it fetches a fresh one",
    )
    trusted_proxies: tuple[Network, ...] = _setting(
        (),
        parse_networks,
        "Addresses or CIDR networks (comma-separated) of reverse proxies such as nginx whose"
        " X-Forwarded-For names the client; empty: trust none",
    )
    outbox_max_attempts: int = _setting(
        8, _int_between(1, 100), "Delivery attempts before a message is marked failed"
    )
    media_dir: str = _setting("var/media", _text, "Where uploaded photos and documents are stored")
    max_upload_bytes: int = _setting(
        8_000_000, _int_between(1024, 500_000_000), "Largest accepted photo or document in bytes"
    )
    max_image_pixels: int = _setting(
        24_000_000,
        _int_between(10_000, PIXEL_CEILING),
        "Largest accepted image in pixels (width x height), checked before it is decoded",
    )
    max_request_bytes: int = _setting(
        10_000_000, _int_between(1024, 1_000_000_000), "Largest accepted request body in bytes"
    )
    session_hours: int = _setting(
        12, _int_between(1, 24 * 90), "Staff sessions expire after idle hours"
    )
    cookie_secure: bool = _setting(
        False, _parse_bool, "Send cookies only over HTTPS (turn on behind TLS)"
    )
    login_max_attempts: int = _setting(
        5, _int_between(1, 1000), "Failed logins allowed per user name and address per window"
    )
    login_window_seconds: int = _setting(
        900, _int_between(10, 86400), "Length of the login rate-limit window in seconds"
    )
    notice_autopublish: frozenset[str] = _setting(
        frozenset({"accept", "close"}),
        _actions,
        "Ticket actions whose public progress entry is published at once (others are drafts)",
    )
    separate_acceptance: bool = _setting(
        True,
        _parse_bool,
        "Acceptance of completed ticket work must be by someone other than who completed it",
    )
    promise_slip_days: int = _setting(
        14, _int_between(1, 365), "Warn this many days before a promised reopening at risk"
    )
    notice_quiet_days: int = _setting(
        14, _int_between(1, 365), "Remind staff of closures without a published update for days"
    )
    digest_time: str = _setting(
        "07:30",
        _time_of_day,
        "Local time (HH:MM) of the daily e-mail digest for staff who chose one",
    )
    date_horizon_years: int = _setting(
        5,
        _int_between(1, 100),
        "Typed dates (reopening, planned work, schedules) may be at most this many years ahead",
    )
    subscribe_rate_limit: int = _setting(
        5, _int_between(1, 10000), "Subscription requests allowed per address per hour"
    )
    map_tiles: str = _setting(
        "none",
        _tiles,
        "Map tiles: none (our own basemap, works offline), tianditu (needs "
        "FACILITIES_TIANDITU_KEY) or a URL template https://host/{z}/{x}/{y}.png",
    )
    map_attribution: str = _setting("", _text, "Credit shown under the map for its tile source")
    map_tiles_crs: str = _setting(
        "wgs84", _one_of("wgs84", "gcj02"), "Coordinates the tile source uses: wgs84 or gcj02"
    )
    #: A secret: kept out of the settings' repr (and so out of logs); it reaches a page only
    #: inside the tile URLs the browser needs (facilities.web.maps).
    tianditu_key: str = dataclasses.field(
        default="",
        repr=False,
        metadata={
            "parse": _text,  # checked in Settings.checked(), whose message never echoes it
            "help": "Tianditu developer key (tk), required when FACILITIES_MAP_TILES=tianditu",
        },
    )
    log_json: bool = _setting(False, _parse_bool, "Write logs as one JSON object per line")
    log_level: str = _setting("INFO", _one_of("DEBUG", "INFO", "WARNING", "ERROR"), "Log level")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read, parse and check every ``FACILITIES_*`` variable; SettingsError on any fault."""
        environ = os.environ if environ is None else environ
        known = {env_name(f): f for f in dataclasses.fields(cls)}
        unknown = sorted(k for k in environ if k.startswith(PREFIX) and k not in known)
        if unknown:
            raise SettingsError(f"unknown setting {unknown[0]}: see .env.example for the list")
        values: dict[str, Any] = {}
        for name, field in known.items():
            if name not in environ:
                continue
            try:
                values[field.name] = field.metadata["parse"](environ[name])
            except ValueError as exc:
                raise SettingsError(f"{name}={environ[name]!r}: {exc}") from None
        return cls(**values).checked()

    def checked(self) -> Settings:
        """Cross-field rules, and derived defaults that depend on other fields."""
        if self.db_pool_min > self.db_pool_max:
            raise SettingsError(f"{PREFIX}DB_POOL_MIN must not exceed {PREFIX}DB_POOL_MAX")
        if self.map_tiles == "tianditu" and not self.tianditu_key:
            raise SettingsError(
                f"{PREFIX}MAP_TILES=tianditu needs {PREFIX}TIANDITU_KEY (a key from the "
                "Tianditu console, https://console.tianditu.gov.cn)"
            )
        key = self.tianditu_key
        if key and not (key.isascii() and key.isalnum() and 8 <= len(key) <= 64):
            # it travels in the tiles' URL; the console issues 32 hexadecimal characters
            raise SettingsError(
                f"{PREFIX}TIANDITU_KEY: expected the key from the Tianditu console "
                "(8-64 letters and digits)"
            )
        changes: dict[str, Any] = {}
        if not self.base_url:
            changes["base_url"] = f"http://{self.host}:{self.port}"
        if not self.secret_key:
            if self.env == "production":
                raise SettingsError(f"{PREFIX}SECRET_KEY is required in production")
            changes["secret_key"] = DEV_SECRET
        elif len(self.secret_key) < 32:
            raise SettingsError(f"{PREFIX}SECRET_KEY must be at least 32 characters")
        return dataclasses.replace(self, **changes) if changes else self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def digest_at(self) -> dt.time:
        return dt.time.fromisoformat(self.digest_time)

    @property
    def media_path(self) -> Path:
        return Path(self.media_dir)


def env_name(field: dataclasses.Field[Any]) -> str:
    return PREFIX + field.name.upper()


def documented_fields() -> list[tuple[str, str, str]]:
    """(variable, default, help) for every setting: the source of the docs tables."""
    rows = []
    for field in dataclasses.fields(Settings):
        default = field.default
        if isinstance(default, bool):
            shown = str(default).lower()
        elif isinstance(default, frozenset):
            shown = ",".join(sorted(default))
        elif isinstance(default, tuple):
            shown = ",".join(map(str, default))
        else:
            shown = str(default)
        rows.append((env_name(field), shown, field.metadata["help"]))
    return rows
