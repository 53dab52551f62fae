"""Histories read in the reader's words: every field the services audit is shown by its form
label, a choice by its label, a boolean as 是/否 (Yes/No), a member of staff by name and a moment
in the bureau's zone; never a column name, a stored code or True/False.

What the audit records is found in the code itself: every ``audit.record(...)`` call, the keys of
the dicts it is given, and the snapshot functions it calls (run on a blank row of their table),
so a field added to a service and not described here fails this test."""

from __future__ import annotations

import ast
import datetime as dt
import html
import importlib
import inspect
import re
import typing
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

from facilities import i18n
from facilities.audit import display
from facilities.audit import services as audit
from facilities.web import templating
from tests.kit.constants import NOW
from tests.kit.pages import Page, english
from tests.kit.tickets import make_ticket

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT_CALL = re.compile(r"(^|_)snapshot$")


def _action_codes(node: ast.expr) -> list[str]:
    """The action codes (or their prefix ``ticket.``) an argument can hold."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr) and isinstance(node.values[0], ast.Constant):
        return [str(node.values[0].value)]
    if isinstance(node, ast.IfExp):
        return _action_codes(node.body) + _action_codes(node.orelse)
    raise AssertionError(f"an audit action this test cannot read: {ast.unparse(node)}")


class _Recorded:
    def __init__(self) -> None:
        self.keys: dict[str, set[str]] = {}
        self.snapshots: dict[str, set[tuple[str, str]]] = {}

    def add_key(self, action: str, key: str) -> None:
        self.keys.setdefault(action, set()).add(key)


def _walk_data(
    node: ast.AST, function: ast.AST, module: str, action: str, found: _Recorded, seen: set[str]
) -> None:
    """The keys of the data given to the audit: dict literals (and what they splat), snapshot
    calls, ``a | b``, and a variable through its assignments in the function."""
    if isinstance(node, ast.Dict):
        for key, value in zip(node.keys, node.values, strict=True):
            if key is None:
                _walk_data(value, function, module, action, found, seen)
            elif isinstance(key, ast.Constant) and isinstance(key.value, str):
                found.add_key(action, key.value)
    elif isinstance(node, ast.BinOp):
        _walk_data(node.left, function, module, action, found, seen)
        _walk_data(node.right, function, module, action, found, seen)
    elif isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else None
        name = node.func.id if isinstance(node.func, ast.Name) else name
        if name and SNAPSHOT_CALL.search(name):
            found.snapshots.setdefault(action, set()).add((module, name))
    elif isinstance(node, ast.Name) and node.id not in seen:
        seen.add(node.id)
        for stmt in ast.walk(function):
            if not isinstance(stmt, ast.Assign):
                continue
            for target in stmt.targets:
                if isinstance(target, ast.Name) and target.id == node.id:
                    _walk_data(stmt.value, function, module, action, found, seen)
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.value, ast.Name)
                    and target.value.id == node.id
                    and isinstance(target.slice, ast.Constant)
                ):
                    found.add_key(action, str(target.slice.value))


def _functions(tree: ast.AST) -> Iterator[ast.AST]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def recorded() -> _Recorded:
    """Every audited field, by action code (or prefix), read from the services' source."""
    found = _Recorded()
    for path in sorted((ROOT / "facilities").rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in _functions(tree):
            for call in ast.walk(function):
                if not (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr == "record"
                    and isinstance(call.func.value, ast.Name)
                    and call.func.value.id == "audit"
                ):
                    continue
                data = call.args[5:] + [
                    k.value for k in call.keywords if k.arg in {"before", "after"}
                ]
                for action in _action_codes(call.args[1]):
                    found.keys.setdefault(action, set())
                    for node in data:
                        _walk_data(node, function, module, action, found, set())
    return found


def _snapshot_fields(module: str, name: str) -> set[str]:
    """The keys a snapshot function returns, run on a blank row of the table it is given."""
    owner = importlib.import_module(module)
    function = getattr(owner, name, None)
    if function is None:  # imported under another module's name
        for candidate in (owner.__name__.rsplit(".", 1)[0],):
            function = getattr(importlib.import_module(candidate), name)
    hints = typing.get_type_hints(function)
    table = hints[next(iter(inspect.signature(function).parameters))]
    return set(function(table(_ignore_missing=True)))


def audited_fields() -> dict[str, set[str]]:
    found = recorded()
    fields = {action: set(keys) for action, keys in found.keys.items()}
    for action, calls in found.snapshots.items():
        for module, name in calls:
            fields[action] |= _snapshot_fields(module, name)
    return fields


def test_the_code_audits_what_this_test_expects():
    """The reader above finds the audit calls it must (a guard against reading nothing)."""
    fields = audited_fields()
    assert {"status", "closing_reason", "note"} <= fields["ticket."]
    assert {"assignee_id", "priority", "planned_start_on"} <= fields["ticket.updated"]
    assert {"safety_measures", "is_urgent", "effective_from"} <= fields["closure.updated"]
    assert {"category", "status"} <= fields["report.created"]
    assert {"maintenance_class", "is_tension_critical"} <= fields["asset.updated"]
    assert {"next_due_at", "override_rrule"} <= fields["schedule.shortened"]


def test_every_audited_field_is_described():
    import facilities.rendering  # noqa: F401 - every domain describes its fields

    undescribed = sorted(
        f"{action} {field}"
        for action, names in audited_fields().items()
        for field in names
        if field not in display.fields_for(action + "x" if action.endswith(".") else action)
    )
    assert undescribed == [], (
        "describe these audited fields in the domain's labels.py (Field(label, how it reads)): "
        f"{undescribed}"
    )


def _samples(field: display.Field, user_id: int) -> list[Any]:
    show = field.show
    if isinstance(show, display.choice):
        members: list[Enum] = list(show.choices)
        return [m.value for m in members] + [[m.value for m in members[:2]]]
    if isinstance(show, display.labelled):
        return [*show.labels, list(show.labels)]
    if show is display.yes_no:
        return [True, False]
    if show is display.user:
        return [user_id]
    if show is display.day:
        return ["2026-04-30"]
    if show is display.instant:
        return ["2026-04-29T23:30:00+00:00"]
    if show is display.record or show is display.number:
        return [12]
    if show is display.listing:
        return [["主缆", "吊索"]]
    return ["一段文字"]


def _cells(page: str) -> list[tuple[str, str, str, str]]:
    rows = re.findall(
        r'<tr data-field="([^"]*)"><th scope="row">(.*?)</th><td>(.*?)</td><td>(.*?)</td></tr>',
        page,
    )
    return [tuple(html.unescape(cell) for cell in row) for row in rows]


async def test_a_history_of_every_audited_field_reads_in_both_languages(app, personas):
    carol = personas["carol"]
    events, samples = [], []
    for action, names in sorted(audited_fields().items()):
        code = action + "x" if action.endswith(".") else action
        described = display.fields_for(code)
        for name in sorted(names):
            for value in _samples(described[name], carol.id):
                samples.append((name, value, described[name].show))
                events.append(
                    {
                        "actor_name": "Alice",
                        "action": code,
                        "at": NOW,
                        "changes": {name: [None, value]},
                    }
                )
    names = await audit.staff_names(display.user_ids(events))
    for event in events:
        event["names"] = names
    template = templating.environment().get_template("partials/_history.html")
    coded = (display.choice, display.labelled)
    for locale in i18n.LOCALES:
        with i18n.use_locale(locale):
            cells = _cells(template.render(history=events))
        assert len(cells) == len(events)
        for (field, label, before, after), (name, value, show) in zip(cells, samples, strict=True):
            where = (locale, field, value, after)
            assert field == name and before == "—"
            assert label and label != field and "_" not in label, where
            assert after not in {"True", "False", "None", ""}, where
            assert not re.search(r"\b[a-z]+_[a-z_]+\b", after), where  # no code like deck_damage
            if isinstance(show, coded) and not isinstance(value, list):
                assert after != str(value), where  # a stored code is shown by its label
            if show is display.yes_no:
                assert (
                    after
                    == {"zh_CN": {True: "是", False: "否"}, "en": {True: "Yes", False: "No"}}[
                        locale
                    ][value]
                ), where
            if show is display.user:
                assert after == carol.display_name, where
            if show is display.instant:  # 23:30 UTC is 07:30 the next morning in Hengyang
                assert "7:30" in after and "23:30" not in after, where
        states = {after for field, _l, _b, after in cells if field == "status"}
        if locale == "zh_CN":
            assert {"已办结", "已受理", "已解除封闭"} <= states
        else:
            assert {"Closed", "Acknowledged", "Lifted"} <= states


async def test_the_ticket_page_names_the_assignee_and_the_fields_changed(app, personas, login):
    from facilities.tickets import services as tickets
    from facilities.tickets.schemas import TicketIn
    from facilities.tickets.services.writing import snapshot

    alice, carol = personas["alice"], personas["carol"]
    ticket = await make_ticket(alice)
    data = {k: v for k, v in snapshot(ticket).items() if k != "status"}
    data.update(assignee_id=carol.id, priority="P1", version=ticket.version)
    await tickets.update_ticket(alice, ticket.id, TicketIn(**data), NOW + dt.timedelta(minutes=5))
    client = await login("alice")
    page = Page((await client.get(f"/tickets/{ticket.id}")).text).text
    assert "assignee_id" not in page
    assert f"负责人: — → {carol.display_name}" in page
    page = Page((await english(client).get(f"/tickets/{ticket.id}")).text).text
    assert f"Assignee: — → {carol.display_name}" in page
    assert "Priority: P2 · normal → P1 · urgent" in page


def test_every_audited_action_has_a_name():
    """A history names what was done ("extended the closure"), never the code."""
    from facilities.closures.labels import closure_action_label
    from facilities.reports.choices import ReportStatus
    from facilities.tickets.choices import Action

    codes = {action for action in audited_fields() if not action.endswith(".")}
    codes |= {f"ticket.{action.value}" for action in Action}
    codes |= {f"report.{status.value}" for status in ReportStatus if status != ReportStatus.NEW}
    for locale in i18n.LOCALES:
        with i18n.use_locale(locale):
            unnamed = sorted(code for code in codes if closure_action_label(code) == code)
        assert unnamed == [], f"name these actions in audit/choices.py ACTION_LABELS: {unnamed}"


async def test_the_inspection_page_shows_its_history_in_words(login, personas, now):
    from tests.kit.assets import make_asset
    from tests.kit.inspections import plan

    inspection = await plan(personas["alice"], await make_asset(), now)
    client = await login("alice")
    page = Page((await client.get(f"/inspections/{inspection.id}")).text).text
    assert "安排了检查" in page and "特殊检查" in page
    raw = (await client.get(f"/inspections/{inspection.id}", cookies={"lang": "en"})).text
    english = Page(raw).text
    assert "planned the inspection" in english
    assert "Inspection type — Special inspection" in english
    assert "<td>special</td>" not in raw and ">type<" not in raw
