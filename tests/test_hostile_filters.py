"""Hostile input, part 3: SQL metacharacters in every list filter.

Every list, search and filter parameter of every route (derived from the app) takes quotes,
comment markers, LIKE wildcards, NUL bytes, 10 kB strings, bad numbers and dates without a 5xx;
LIKE searches treat ``%`` and ``_`` literally; no table changes.
"""

from __future__ import annotations

import inspect
import re
import xml.etree.ElementTree as ET
from typing import Any

import httpx

from facilities import db
from facilities.inspections import services as inspections
from facilities.tickets import services as tickets
from facilities.tickets.schemas import TicketIn
from tests.kit.assets import make_asset, make_site
from tests.kit.clients import client_for_app, csrf_token
from tests.kit.closures import make_closure
from tests.kit.hostile import FRAMEWORK, PATH_VALUES, READ_AT, markup_problems, pin_clocks
from tests.kit.inspections import plan
from tests.kit.reports import make_report
from tests.kit.routes import app_routes

# --- 3. SQL metacharacters in every filter -------------------------------------------------

INJECTED = {
    "self",
    "request",
    "actor",
    "state",
    "headers",
    "data",
    "scope",
    "settings",
    "now",
    "asset_file",
    "commission",
}
_QUERY_GET = re.compile(r"""(?:query_params|query)\.get\(\s*["'](\w+)["']""")
_QUERY_HELPER = re.compile(r"""\(\s*request\s*,\s*["'](\w+)["']""")
_PARSED_STRUCT = re.compile(r"parse_fields\(\s*(\w+)")
_CALL = re.compile(r"\b(\w+)\(")


def _functions_of(module: Any) -> dict[str, Any]:
    """Module functions and class methods (route handlers unwrapped) by name."""
    found: dict[str, Any] = {}
    for name, obj in vars(module).items():
        if inspect.isfunction(obj) and obj.__module__ == module.__name__:
            found[name] = obj
        elif inspect.isclass(obj) and obj.__module__ == module.__name__:
            for member_name, member in vars(obj).items():
                function = getattr(member, "fn", member)
                if inspect.isfunction(function):
                    found.setdefault(member_name, function)
    return found


def query_parameters(handler: Any, path: str) -> set[str]:
    """The query parameters a route reads: its declared parameters, and the names its code (or
    the helpers it calls, in its module) reads from ``request.query_params``. Names shared by
    two methods of the module may add a parameter a route does not read: fuzzing it is
    harmless."""
    import sys

    function = handler.fn
    module = sys.modules[function.__module__]
    functions = _functions_of(module)
    in_path = set(re.findall(r"\{(\w+):", path))
    names = {p for p in inspect.signature(function).parameters if p not in INJECTED | in_path}
    seen: set[Any] = set()
    todo, sources = [function], []
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        source = inspect.getsource(current)
        sources.append(source)
        todo.extend(functions[c] for c in _CALL.findall(source) if c in functions)
    if any("query_params" in source for source in sources):
        for source in sources:
            names |= set(_QUERY_GET.findall(source)) | set(_QUERY_HELPER.findall(source))
            for struct in _PARSED_STRUCT.findall(source):
                names |= set(getattr(getattr(module, struct, None), "__struct_fields__", ()))
    return names


#: Routes whose parameters the derivation must find (a check that it still works).
KNOWN_FILTERS = {
    "GET /assets": {"q", "site", "type", "status", "page", "per_page"},
    "GET /api/v1/assets": {"q", "site", "type", "status", "page", "per_page"},
    "GET /tickets": {"q", "status", "priority", "asset", "site", "assignee", "sort", "after"},
    "GET /api/v1/tickets": {"q", "status", "priority", "sort", "after", "per_page"},
    "GET /api/v1/inspections": {"asset", "open_only", "limit"},
    "GET /api/v1/closures": {"status", "asset"},
    "GET /closures": {"status"},
    "GET /report": {"q", "site", "asset", "lat", "lng"},
    "GET /report/nearby.json": {"lat", "lng"},
    "GET /open311/v2/{name:str}": {
        "service_request_id",
        "service_code",
        "start_date",
        "end_date",
        "status",
    },
    "GET /notices": {"page"},
    "GET /inspections/calendar": {"month"},
    "GET /calendar": {"month", "week", "layers"},
}
#: Named routes: the documents their parameters apply to.
FILTER_NAMED = {
    "/open311/v2/{name:str}": ("/open311/v2/requests.json", "/open311/v2/requests.xml"),
    "/feeds/facilities/{name:str}": ("/feeds/facilities/{asset}.atom",),
    "/feeds/sites/{name:str}": ("/feeds/sites/{site}.atom",),
}
LONG = "長" + "x" * 10_000
#: Each sent alone in each parameter (the other parameters left out, so it reaches the query).
PER_PARAMETER = [
    "' OR 1=1 --",
    '"; DROP TABLE asset; --\x00',
    "%'||(SELECT 1)||'\\",
    LONG,
]
#: Sent in every parameter of a route at once.
ALL_PARAMETERS = [
    "_",
    "桥😀\u202e",
    "-1",
    "99999999999999999999",
    "-99999999999999999999",
    "NaN",
    "2026-13-45T99:99",
    "<script>alert(1)</script>",
    "-created;DROP",
]


def filter_routes(application: Any) -> dict[str, tuple[list[str], bool, set[str]]]:
    """route key -> (URL templates, is a staff route, query parameters)."""
    from tests.kit.routes import is_staff_route

    routes = {}
    for key, handler in sorted(app_routes(application).items()):
        method, path = key.split(" ", 1)
        if method != "GET" or path.startswith(FRAMEWORK):
            continue
        names = query_parameters(handler, path)
        if not names:
            continue
        if path in FILTER_NAMED:
            urls = list(FILTER_NAMED[path])
        else:
            filled = path
            for name, value in PATH_VALUES.items():
                filled = filled.replace(f"{{{name}:int}}", value)
            urls = [filled]
        routes[key] = (urls, is_staff_route(handler), names)
    return routes


def test_the_filter_parameters_are_derived_from_the_code(app):
    routes = filter_routes(app)
    for key, expected in KNOWN_FILTERS.items():
        assert key in routes, key
        missing = expected - routes[key][2]
        assert not missing, f"{key}: the derivation missed {missing}"


async def table_counts() -> dict[str, int]:
    skipped = {"staff_session", "rate_limit_bucket", "job_run", "scheduled_job", "audit_event"}
    return {
        t._meta.tablename: await t.count()
        for t in db.all_tables()
        if t._meta.tablename not in skipped
    }


def _message_of(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        body = response.json()
        if isinstance(body, list):  # Open311 errors
            return " ".join(str(e.get("description", "")) for e in body)
        return str(body.get("detail", ""))
    if "xml" in kind:
        return " ".join(ET.fromstring(response.content).itertext())  # noqa: S314
    return re.sub(r"<[^>]+>", " ", response.text)


async def test_sql_metacharacters_in_every_filter_never_break_anything(
    app, login, personas, now, clock, media_root
):
    pin_clocks(clock, READ_AT)
    await inspections.ensure_policy()
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-SQL-001", lat=26.8961, lng=112.5830)
    ticket = await tickets.open_ticket(
        personas["alice"], TicketIn(asset_id=asset.id, title="栏杆"), now
    )
    closure = await make_closure(personas["alice"], asset, now)  # the printed notice's ?size=
    inspection = await plan(personas["alice"], asset, now)  # its photos and history
    report = await make_report(asset, now=now, media_root=media_root)  # its history
    ids = {"asset": asset.id, "site": site.id, "closure": closure.id, "ticket": ticket.id}
    ids |= {"inspection": inspection.id, "report": report.report.id}
    before = await table_counts()
    staff = await login("admin")
    async with client_for_app(app) as citizen:
        sent = 0
        for key, (urls, is_staff, names) in filter_routes(app).items():
            client = staff if is_staff else citizen
            for template in urls:
                url = template.format(**ids)
                cases = [{name: value} for name in sorted(names) for value in PER_PARAMETER]
                cases += [dict.fromkeys(names, value) for value in ALL_PARAMETERS]
                for params in cases:
                    response = await client.get(url, params=params)
                    sent += 1
                    shown = {k: v[:40] for k, v in params.items()}
                    assert response.status_code < 500, (key, shown, response.status_code)
                    if 400 <= response.status_code < 500 and response.status_code != 404:
                        assert _message_of(response).strip(), (key, shown, "no message")
                    if "html" in response.headers.get("content-type", ""):
                        assert not markup_problems(url, response.text), (key, shown)
    assert sent > 500
    assert await table_counts() == before


async def test_like_searches_take_wildcards_literally(app, login, personas, now, clock):
    pin_clocks(clock, READ_AT)
    site = await make_site("平湖公园")
    plain = await make_asset(site, code="GX-LIKE-001", name_zh="普通桥", name_en="Plain bridge")
    percent = await make_asset(
        site, code="GX-LIKE-002", name_zh="百分之百%桥", name_en="100% bridge"
    )
    under = await make_asset(site, code="GX-LIKE-003", name_zh="下划_线桥", name_en="Under_score")
    slash = await make_asset(site, code="GX-LIKE-004", name_zh="反斜\\杠桥", name_en="Back\\slash")
    for asset in (plain, percent, under, slash):
        await tickets.open_ticket(
            personas["alice"], TicketIn(asset_id=asset.id, title=f"工单 {asset.name_zh}"), now
        )
    alice = await login("alice")
    expected = {"%": percent.code, "_": under.code, "\\": slash.code}
    for term, code in expected.items():
        listed = (await alice.get("/api/v1/assets", params={"q": term})).json()
        codes = (
            [row["code"] for row in listed["items"]]
            if isinstance(listed, dict)
            else [row["code"] for row in listed]
        )
        assert codes == [code], (term, codes)
        page = await alice.get("/assets", params={"q": term})
        assert page.status_code == 200
        assert code in page.text and plain.code not in page.text, term
        found = (await alice.get("/api/v1/tickets", params={"q": term, "status": ""})).json()
        rows = found["items"] if isinstance(found, dict) else found
        assert [row["asset_code"] for row in rows] == [code], (term, rows)
        public = await alice.get("/report", params={"q": term})
        assert public.status_code == 200
        names = {a.code: a.name_zh for a in (plain, percent, under, slash)}
        assert names[code] in public.text and names[plain.code] not in public.text, term


async def test_a_nul_character_in_written_text_is_never_a_server_error(login, personas):
    """PostgreSQL refuses NUL in text (SQLite keeps it): a 400 there, never a 500 anywhere."""
    site = await make_site("平湖公园")
    asset = await make_asset(site, code="GX-NUL-001")
    alice = await login("alice")
    before = await table_counts()
    api = await alice.post(
        "/api/v1/tickets",
        json={"asset_id": asset.id, "title": "桥面\u0000板"},
        headers={"x-csrftoken": await csrf_token(alice)},
    )
    assert api.status_code in (201, 400), api.text
    form = await alice.post(
        "/sites",
        data={"name_zh": "公园\x00二", "_csrf_token": await csrf_token(alice)},
    )
    assert form.status_code in (303, 400), form.text
    if api.status_code == 400:
        assert api.json()["detail"]
        assert (await table_counts())["repair_ticket"] == before["repair_ticket"]
