"""Configuration is strict: a bad value or a misspelt variable stops start-up naming it."""

import re
from pathlib import Path

import pytest

from facilities.settings import DEV_SECRET, Settings, SettingsError, documented_fields

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_are_safe_for_a_local_run():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///var/facilities.db"
    assert settings.language == "zh_CN"
    assert settings.timezone == "Asia/Shanghai"
    assert settings.base_url == "http://127.0.0.1:8000"
    assert settings.secret_key == DEV_SECRET
    assert settings.scheduler_embedded is True


def test_values_are_parsed():
    settings = Settings.from_env(
        {
            "FACILITIES_PORT": "9000",
            "FACILITIES_SCHEDULER_EMBEDDED": "off",
            "FACILITIES_LANGUAGE": "en",
            "FACILITIES_DATABASE_URL": "postgres://app@db:5432/facilities",
            "FACILITIES_BASE_URL": "https://facilities.example.gov.cn/",
        }
    )
    assert settings.port == 9000
    assert settings.scheduler_embedded is False
    assert settings.language == "en"
    assert not settings.is_sqlite
    assert settings.base_url == "https://facilities.example.gov.cn"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FACILITIES_PORT", "eighty", "whole number"),
        ("FACILITIES_PORT", "70000", "from 1 to 65535"),
        ("FACILITIES_SCHEDULER_EMBEDDED", "maybe", "true/false"),
        ("FACILITIES_LANGUAGE", "fr", "zh_CN, en"),
        ("FACILITIES_TIMEZONE", "Mars/Olympus", "IANA"),
        ("FACILITIES_DATABASE_URL", "mysql://x", "sqlite:///"),
        ("FACILITIES_BASE_URL", "ftp://x", "http"),
        ("FACILITIES_SMTP_SECURITY", "ssl3", "none, starttls, tls"),
    ],
)
def test_a_bad_value_names_the_variable(name, value, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert name in str(caught.value)
    assert message in str(caught.value)


def test_an_unknown_variable_is_a_typo():
    with pytest.raises(SettingsError, match="FACILITIES_DATABSE_URL"):
        Settings.from_env({"FACILITIES_DATABSE_URL": "sqlite:///x.db"})


def test_production_needs_a_real_secret():
    with pytest.raises(SettingsError, match="SECRET_KEY is required"):
        Settings.from_env({"FACILITIES_ENV": "production"})
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.from_env({"FACILITIES_ENV": "production", "FACILITIES_SECRET_KEY": "short"})
    ok = Settings.from_env({"FACILITIES_ENV": "production", "FACILITIES_SECRET_KEY": "x" * 40})
    assert ok.secret_key == "x" * 40


def test_pool_bounds_are_consistent():
    with pytest.raises(SettingsError, match="DB_POOL_MIN"):
        Settings.from_env({"FACILITIES_DB_POOL_MIN": "20", "FACILITIES_DB_POOL_MAX": "5"})


def test_every_setting_is_documented_in_env_example_and_readme():
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, _default, _help in documented_fields():
        assert re.search(rf"^#?{name}=", example, re.M), f"{name} missing from .env.example"
        assert f"`{name}`" in readme, f"{name} missing from the README settings table"
