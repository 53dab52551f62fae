"""The fixed values every layer of the tests shares: ``NOW`` (the tests' default moment, passed
in, never read from a clock), the bureau's time zone and the app's secret key."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

NOW = dt.datetime(2026, 11, 28, 2, 0, tzinfo=dt.UTC)
ZONE = ZoneInfo("Asia/Shanghai")
TEST_SECRET = "test-secret-0123456789abcdefghijklmnopqrstuvwxyz"
