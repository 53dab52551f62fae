"""facilities.lib.forms.parse_fields: text fields into a Struct, one message per wrong field."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from enum import StrEnum
from typing import Annotated, Any, Literal

import msgspec
import pytest

from facilities.assets.schemas import AssetIn
from facilities.i18n import use_locale
from facilities.lib.forms import parse_fields


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Sample(msgspec.Struct, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=10)]
    code: Annotated[str, msgspec.Meta(min_length=3, max_length=8, pattern=r"^[A-Z]+$")]
    title: str
    count: Annotated[int, msgspec.Meta(ge=1, le=10)]
    colour: Colour
    note: str = ""
    ratio: Annotated[float, msgspec.Meta(ge=-1.5, le=1.5)] | None = None
    length: Annotated[float, msgspec.Meta(gt=0, le=100)] | None = None
    floor: Annotated[float, msgspec.Meta(gt=0)] | None = None
    ceiling: Annotated[int, msgspec.Meta(le=5)] | None = None
    above_zero: Annotated[int, msgspec.Meta(gt=0)] | None = None
    at_least_one: Annotated[int, msgspec.Meta(ge=1)] | None = None
    mode: Literal["fast", "slow"] = "fast"
    level: Colour | None = None
    active: bool = False
    notify: bool = True
    on: dt.date | None = None


VALID = {"name": "平湖桥", "code": "ABC", "title": "t", "count": "3", "colour": "red"}


def parse(**changes: str | None) -> tuple[Sample | None, dict[str, str]]:
    data = {**VALID, **changes}
    return parse_fields(Sample, {k: v for k, v in data.items() if v is not None})


def error(**changes: str | None) -> str:
    instance, errors = parse(**changes)
    assert instance is None
    assert len(errors) == 1, errors
    return next(iter(errors.values()))


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with use_locale("en"):
        yield


def test_valid_text_becomes_typed_values():
    instance, errors = parse(
        name="  平湖桥  ",
        ratio="-0.25",
        length="12.5",
        ceiling="5",
        mode="slow",
        level="green",
        active="on",
        on="2026-11-28",
        unknown="ignored",
    )

    assert errors == {}
    assert instance == Sample(
        name="平湖桥",
        code="ABC",
        title="t",
        count=3,
        colour=Colour.RED,
        ratio=-0.25,
        length=12.5,
        ceiling=5,
        mode="slow",
        level=Colour.GREEN,
        active=True,
        notify=False,  # an absent checkbox is an unticked one
        on=dt.date(2026, 11, 28),
    )
    assert isinstance(instance.colour, Colour)


def test_blank_optional_fields_become_none_or_their_default():
    instance, errors = parse(note="", ratio="", level="  ", on="", mode="")
    assert errors == {}
    assert instance is not None
    assert (instance.ratio, instance.level, instance.on) == (None, None, None)
    assert (instance.note, instance.mode) == ("", "fast")


@pytest.mark.parametrize("value", [None, "", "   "])
def test_required_strings(value):
    assert error(name=value) == "This field is required."


def test_a_required_string_without_a_minimum_may_be_blank():
    instance, errors = parse(title="")
    assert errors == {}
    assert instance is not None
    assert instance.title == ""


def test_every_wrong_field_is_reported_at_once():
    instance, errors = parse(name="", count="x", colour="blue", on="tomorrow")
    assert instance is None
    assert set(errors) == {"name", "count", "colour", "on"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("AB", "Enter at least 3 characters."),
        ("ABCDEFGHI", "Enter at most 8 characters."),
        ("abc", "This value is not in the expected format."),
        ("AB1", "This value is not in the expected format."),
    ],
)
def test_string_lengths_and_patterns(value, message):
    assert error(code=value) == message


def test_max_length_counts_characters_not_bytes():
    instance, errors = parse(name="平" * 10)
    assert instance is not None
    assert errors == {}
    assert error(name="平" * 11) == "Enter at most 10 characters."


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("count", "abc", "Enter a whole number."),
        ("count", "1.5", "Enter a whole number."),
        ("count", "9" * 5000, "Enter a whole number."),
        ("count", "0", "Enter a number from 1 to 10."),
        ("count", "11", "Enter a number from 1 to 10."),
        ("count", "-3", "Enter a number from 1 to 10."),
        ("ratio", "x", "Enter a number."),
        ("ratio", "1.6", "Enter a number from -1.5 to 1.5."),
        ("ceiling", "6", "Enter a number up to 5."),
        ("floor", "0", "Enter a number above 0."),
        ("above_zero", "0", "Enter a number above 0."),
        ("at_least_one", "0", "Enter a number above 0."),
        # An open lower bound is never worded as if the bound itself were allowed.
        ("length", "0", "Enter a number above 0."),
        ("length", "-1", "Enter a number above 0."),
        ("length", "100.5", "Enter a number up to 100."),
    ],
)
def test_numbers_and_ranges(field, value, message):
    assert error(**{field: value}) == message


@pytest.mark.parametrize("value", ["0.0001", "100", "1e2"])
def test_range_edges_that_are_allowed(value):
    instance, errors = parse(length=value)
    assert errors == {}
    assert instance is not None
    assert 0 < instance.length <= 100


@pytest.mark.parametrize("value", ["nan", "NaN", "inf", "-inf", "Infinity", "1e999"])
def test_nan_and_infinity_are_refused(value):
    assert error(ratio=value) == "Enter a number."


@pytest.mark.parametrize(
    ("field", "value"),
    [("colour", "blue"), ("colour", "RED"), ("colour", "Colour.RED"), ("mode", "medium")],
)
def test_enums_and_literals_accept_only_their_values(field, value):
    assert error(**{field: value}) == "Choose one of the listed options."


@pytest.mark.parametrize(
    ("value", "expected"),
    [("on", True), ("true", True), ("1", True), ("YES", True), ("", False), ("off", False)],
)
def test_checkboxes(value, expected):
    instance, errors = parse(active=value)
    assert errors == {}
    assert instance is not None
    assert instance.active is expected


def test_an_absent_checkbox_is_unticked_unless_asked_otherwise():
    ticked_default, _ = parse_fields(Sample, VALID)
    kept_default, _ = parse_fields(Sample, VALID, checkboxes_absent_false=False)

    assert ticked_default is not None
    assert kept_default is not None
    assert (ticked_default.active, ticked_default.notify) == (False, False)
    assert (kept_default.active, kept_default.notify) == (False, True)


def test_a_checkbox_with_another_answer_is_an_error():
    assert error(active="maybe") == "Answer yes or no."


@pytest.mark.parametrize("value", ["28/11/2026", "2026-02-30", "tomorrow", "2026-13-01"])
def test_dates(value):
    assert error(on=value) == "Enter a date as YYYY-MM-DD."


def test_the_asset_schema_through_the_same_rules():
    instance, errors = parse_fields(
        AssetIn,
        {
            "code": "GX-QL-PH-001",
            "name_zh": "平湖桥",
            "asset_type": "footbridge",
            "site_id": "1",
            "span_m": "0",
            "lat": "200",
            "is_special_structure": "on",
        },
    )
    assert instance is None
    assert errors == {
        "span_m": "Enter a number above 0.",
        "lat": "Enter a number from -90 to 90.",
    }


def test_messages_follow_the_active_language():
    data: dict[str, Any] = {**VALID, "name": "", "count": "x", "colour": "blue", "on": "x"}

    with use_locale("zh_CN"):
        _, chinese = parse_fields(Sample, data)
        _, chinese_range = parse_fields(Sample, {**VALID, "count": "0"})
    with use_locale("en"):
        _, english = parse_fields(Sample, data)

    assert chinese == {
        "name": "此项为必填项。",
        "count": "请输入整数。",
        "colour": "请从列出的选项中选择。",
        "on": "请按 YYYY-MM-DD 格式输入日期。",
    }
    assert chinese_range == {"count": "请输入 1 至 10 之间的数字。"}
    assert english == {
        "name": "This field is required.",
        "count": "Enter a whole number.",
        "colour": "Choose one of the listed options.",
        "on": "Enter a date as YYYY-MM-DD.",
    }
