"""Accessibility in the system Chromium (Playwright), against a real server with the demo data.

axe-core (pinned in tests/a11y/package.json and its lock file, installed with `npm ci` when
missing) audits the public pages in Chinese and English on a phone, and the main staff pages on a
desktop, against WCAG 2.0/2.1 A and AA: no serious or critical violation is allowed. A citizen
then reports a problem with the keyboard alone, from the home page to the tracking page.

The pages keep their real Content-Security-Policy (`script-src 'self'`) during the audit: axe is
not added as a <script> tag (an inline script the policy blocks) but evaluated through the
DevTools protocol (`page.evaluate`), which the page's policy does not govern. So what axe sees is
what a citizen's browser runs, and no test weakens the policy (no `bypass_csp`).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdf
import pytest

from facilities.demo import DEMO_PASSWORD
from tests.kit.browser import CHROMIUM, CHROMIUM_ARGS, SCREENSHOTS, require_browser

pytestmark = pytest.mark.browser

A11Y = Path(__file__).resolve().parent / "a11y"
AXE = A11Y / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LANGS = {"zh-CN": "zh-CN", "en": "en"}  # browser locale -> the <html lang> the page must carry
BRIDGE = "GX-QL-PH-001"  # the Pinghu Park suspension bridge, closed in the demo
BOARDWALK = "GX-ZD-PH-001"

# Each audited page, by name, with what it must show (so a redirect or an error page is never
# audited in its place).
PUBLIC_PAGES = {
    "home": "section.register",
    "notice": "#notice-title",
    "facility": "main a[href^='/notices/sites/']",
    "site": "main h1",
    "report": "#sites",
    "report_form": "form.report-form",
    "tracking": "#reference",
    "subscribe": "form.subscribe",
    "login": "#username",
}
STAFF_PAGES = {  # where the staff pages are checked (the login lands on /staff, the role home)
    "dashboard": ".stats",
    "staff_home": "#outbox-title",  # the admin's home
    "assets": "table.table",
    "asset": "main a[href^='/tickets/new?asset=']",
    "tickets": "table.table",
    "ticket": "#timeline",
    "board": ".board-grid",
    "inspections": "table.inspections-list",
    "closures": "main table",
    "closure": "#gate",
    "triage": "main td a[href^='/triage/']",
    "jobs": "main h1",
    "users": "table",
}


class AxeSource(str):
    """axe.min.js; shown by its version in failure reports instead of half a megabyte."""

    def __repr__(self) -> str:
        version = re.search(r"axe v([\d.]+)", self[:200])
        return f"<axe-core {version.group(1) if version else '?'}>"


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core's source, installed from the lock file the first time."""
    require_browser()
    if not AXE.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("REQUIRE_BROWSER") == "1":
                pytest.fail("npm is missing (needed for axe-core) but REQUIRE_BROWSER=1")
            pytest.skip("npm is not installed: cannot install axe-core for the accessibility audit")
        done = subprocess.run(
            [npm, "ci", "--prefix", str(A11Y), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0 or not AXE.exists():
            pytest.fail(f"npm ci --prefix {A11Y} failed:\n{done.stdout}\n{done.stderr}")
    return AxeSource(AXE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def browser(server: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def new_context(browser: Any, locale: str, viewport: dict[str, int]) -> Any:
    phone = viewport == PHONE
    context = browser.new_context(
        viewport=viewport, locale=locale, is_mobile=phone, has_touch=phone
    )
    context.set_default_timeout(10_000)
    return context


def log_in(context: Any, base: str, username: str = "admin") -> None:
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/staff")
    page.close()


@pytest.fixture(scope="module")
def contexts(browser: Any, server: str) -> Iterator[dict[str, Any]]:
    """Browser contexts by use: public on a phone per language, staff (admin) on a desktop, and
    staff on a phone for the inspection form."""
    made = {f"public-{lang}": new_context(browser, lang, PHONE) for lang in LANGS}
    made["staff"] = new_context(browser, "zh-CN", DESKTOP)
    log_in(made["staff"], server)
    made["staff-phone"] = new_context(browser, "zh-CN", PHONE)
    log_in(made["staff-phone"], server, "bob")
    yield made
    for context in made.values():
        context.close()


@pytest.fixture(scope="module")
def paths(contexts: dict[str, Any], server: str) -> dict[str, str]:
    """Where each audited page is, found the way a person finds it (nothing hard-coded but the
    demo's asset codes), plus what the demo lacks: a citizen report and a planned inspection."""
    page = contexts["staff"].new_page()
    found = {
        "home": "/",
        "report": "/report",
        "subscribe": "/subscriptions",
        "login": "/login",
        "dashboard": "/tickets/dashboard",
        "staff_home": "/staff",
        "assets": "/assets",
        "tickets": "/tickets",
        "board": "/tickets/board",
        "inspections": "/inspections",
        "closures": "/closures",
        "triage": "/triage",
        "jobs": "/jobs",
        "users": "/admin/users",
    }

    def asset_id(code: str) -> str:
        page.goto(f"{server}/assets?q={code}")
        href = page.locator(f"table.table a:has-text('{code}')").first.get_attribute("href")
        assert href is not None
        return href.rsplit("/", 1)[1]

    bridge, boardwalk = asset_id(BRIDGE), asset_id(BOARDWALK)
    found["asset"] = f"/assets/{bridge}"
    found["facility"] = f"/facilities/{bridge}"
    page.goto(f"{server}/facilities/{bridge}")
    found["notice"] = _href(page.locator("main a[href^='/notices/']:not([href*='sites'])").first)
    found["site"] = _href(page.locator("main a[href^='/notices/sites/']").first)
    closure_id = found["notice"].rsplit("/", 1)[1]
    found["closure"] = f"/closures/{closure_id}"
    page.goto(f"{server}/assets/{bridge}")
    found["ticket"] = _href(page.locator("main a[href^='/tickets/']:not([href*='new'])").first)
    found["report_form"] = f"/report?asset={boardwalk}"

    # A citizen report (its tracking page, and an entry in the triage queue).
    page.goto(f"{server}/report?asset={boardwalk}")
    page.select_option("#category", index=1)
    page.fill("#description", "东入口第三块木板松动。A loose plank at the east entrance.")
    page.click("#submit-report")
    page.wait_for_url(re.compile(r".*/reports/[A-Za-z0-9_-]{20,}$"))
    found["tracking"] = page.url.removeprefix(server)

    # A planned inspection of the bridge: its recording form is what an inspector fills in.
    page.goto(f"{server}/inspections/new?asset={bridge}")
    page.click("form.card button[type=submit]")
    page.wait_for_url(re.compile(r".*/inspections/\d+$"))
    found["inspection"] = page.url.removeprefix(server)
    page.close()
    return found


def _href(locator: Any) -> str:
    href = locator.get_attribute("href")
    assert href, f"no link found for {locator}"
    return str(href)


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    url: str
    targets: list[str]

    def describe(self) -> str:
        shown = ", ".join(self.targets[:4]) + (" …" if len(self.targets) > 4 else "")
        return (
            f"  - {self.rule} ({self.impact}): {self.help} [{len(self.targets)} element(s): "
            f"{shown}] {self.url}"
        )


def audit(page: Any, axe_source: str) -> list[Violation]:
    """Run axe on the page as it is now; every violation of the WCAG 2.x A/AA rules."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    found = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return result.violations.map(v => ({
                rule: v.id, impact: v.impact || "", help: v.help, url: v.helpUrl,
                targets: v.nodes.map(n => n.target.join(" "))}));
        }""",
        WCAG,
    )
    return [Violation(**v) for v in found]


def assert_accessible(page: Any, axe_source: str, where: str) -> None:
    blocking = [v for v in audit(page, axe_source) if v.impact in BLOCKING]
    assert not blocking, (
        f"{len(blocking)} serious/critical accessibility violation(s) on {where}:\n"
        + "\n".join(v.describe() for v in blocking)
    )


@pytest.fixture
def screenshot_on_failure(request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Pages appended to the list are photographed if the test fails."""
    pages: list[Any] = []
    yield pages
    failed = getattr(request.node, "rep_call", None) is None or request.node.rep_call.failed
    for index, page in enumerate(pages):
        if failed and not page.is_closed():
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            suffix = f"-{index}" if index else ""
            name = re.sub(r"[^\w.-]", "_", request.node.name)
            page.screenshot(path=str(SCREENSHOTS / f"{name}{suffix}.png"), full_page=True)
        if not page.is_closed():
            page.close()


def visit(context: Any, base: str, path: str, pages: list[Any]) -> Any:
    page = context.new_page()
    pages.append(page)
    response = page.goto(f"{base}{path}")
    assert response is not None and response.status == 200, (
        f"{path}: {response and response.status}"
    )
    # The audit runs under the policy real visitors get (see the module docstring).
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    return page


@pytest.mark.parametrize("lang", list(LANGS))
@pytest.mark.parametrize("name", list(PUBLIC_PAGES))
def test_public_page_on_a_phone_has_no_serious_violation(
    server,
    contexts,
    paths,
    axe_source,
    screenshot_on_failure,
    name,
    lang,
):
    page = visit(contexts[f"public-{lang}"], server, paths[name], screenshot_on_failure)
    assert page.locator(PUBLIC_PAGES[name]).count() >= 1, f"not the {name} page: {page.url}"
    assert page.locator("html").get_attribute("lang") == LANGS[lang]
    assert_accessible(page, axe_source, f"{paths[name]} ({lang}, phone)")


@pytest.mark.parametrize("name", list(STAFF_PAGES))
def test_staff_page_on_a_desktop_has_no_serious_violation(
    server,
    contexts,
    paths,
    axe_source,
    screenshot_on_failure,
    name,
):
    page = visit(contexts["staff"], server, paths[name], screenshot_on_failure)
    assert page.locator(STAFF_PAGES[name]).count() >= 1, f"not the {name} page: {page.url}"
    assert_accessible(page, axe_source, f"{paths[name]} (zh-CN, desktop, admin)")


def test_inspection_form_on_a_phone_has_no_serious_violation(
    server,
    contexts,
    paths,
    axe_source,
    screenshot_on_failure,
):
    page = visit(contexts["staff-phone"], server, paths["inspection"], screenshot_on_failure)
    assert page.locator("form.inspection-form").count() == 1  # the recording form itself
    assert_accessible(page, axe_source, f"{paths['inspection']} (zh-CN, phone, inspector)")


# --- a citizen with a keyboard only ---------------------------------------------------------

FOCUSED = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return null;
    const style = getComputedStyle(el);
    const box = el.getBoundingClientRect();
    const describedBy = (el.getAttribute("aria-describedby") || "").split(/\\s+/).filter(Boolean);
    return {
        tag: el.tagName.toLowerCase(), id: el.id, type: el.getAttribute("type") || "",
        href: el.getAttribute("href") || "", value: "value" in el ? String(el.value) : "",
        inMain: el.closest("main") !== null, inResults: el.closest("#search-results") !== null,
        ring: el.matches(":focus-visible")
            && ((style.outlineStyle !== "none" && parseFloat(style.outlineWidth) >= 2)
                || style.boxShadow !== "none"),
        onScreen: box.width > 0 && box.height > 0 && box.bottom > 0 && box.right > 0
            && box.top < innerHeight && box.left < innerWidth,
        invalid: el.getAttribute("aria-invalid"),
        description: describedBy.map(id => document.getElementById(id)?.textContent.trim() || "")
            .join(" "),
    };
}"""


@dataclass
class Keyboard:
    """Presses keys and checks, after every move, that the focused control shows a focus ring,
    is on screen and has an accessible name (the role and name an assistive technology gets)."""

    page: Any
    trail: list[str]

    def focused(self) -> dict[str, Any]:
        state = self.page.evaluate(FOCUSED)
        assert state is not None, f"focus was lost (on <body>) after {self.trail[-5:]}"
        snapshot = self.page.locator(":focus").aria_snapshot().splitlines()[0]
        role_and_name = re.match(r'- (\w+)(?: "(.+?)")?', snapshot)
        assert role_and_name, snapshot
        state["role"], state["name"] = role_and_name.group(1), role_and_name.group(2) or ""
        where = (
            f"<{state['tag']} id={state['id']!r} href={state['href']!r}> after {self.trail[-5:]}"
        )
        assert state["name"].strip(), f"no accessible name: {where}"
        assert state["ring"], f"no visible focus indicator: {where}"
        assert state["onScreen"], f"focused but off screen: {where}"
        return state

    def press(self, key: str) -> dict[str, Any]:
        self.page.keyboard.press(key)
        self.trail.append(key)
        return self.focused()

    def press_until(self, key: str, wanted: Any, limit: int = 40) -> dict[str, Any]:
        for _ in range(limit):
            state = self.press(key)
            if wanted(state):
                return state
        raise AssertionError(f"not reached with {key} x{limit}; trail {self.trail[-limit:]}")

    def follow(self, key: str = "Enter") -> None:
        with self.page.expect_navigation():
            self.page.keyboard.press(key)
        self.trail.append(f"{key} -> {self.page.url}")


def test_a_citizen_reports_a_problem_with_the_keyboard_alone(
    server,
    browser,
    axe_source,
    screenshot_on_failure,
):
    context = new_context(browser, "zh-CN", PHONE)
    page = context.new_page()
    screenshot_on_failure.append(page)
    keys = Keyboard(page, [])
    page.goto(f"{server}/")

    # The first Tab reaches a visible "skip to content" link; it moves on to the main content.
    skip = keys.press("Tab")
    assert (skip["tag"], skip["href"]) == ("a", "#main")
    keys.page.keyboard.press("Enter")
    # Playwright learns of a same-page navigation by an event: wait for it, do not read page.url
    # at once (on a busy machine, with the home map's scripts loading, it came late).
    page.wait_for_url(re.compile(r".*#main$"))
    assert keys.press("Tab")["inMain"]

    # Back up into the navigation to "report a problem".
    keys.press_until("Shift+Tab", lambda s: s["href"] == "/report")
    keys.follow()
    assert page.url == f"{server}/report"

    # Find the boardwalk by its code with the search form.
    keys.press_until("Tab", lambda s: s["id"] == "q")
    page.keyboard.type(BOARDWALK)
    keys.follow()
    keys.press_until("Tab", lambda s: s["inResults"] and s["tag"] == "a")
    keys.follow()
    assert re.search(r"/report\?asset=\d+$", page.url)

    # Sending the empty form: the first field to fix gets the focus, marked invalid and described
    # by its error; the summary is an alert.
    keys.press_until("Tab", lambda s: s["id"] == "submit-report")
    keys.follow()
    assert page.locator(".report-form [role=alert]").inner_text().strip()
    first = keys.focused()
    assert first["id"] == "category"
    assert first["invalid"] == "true" and first["description"]
    description = page.locator("#description")
    assert description.get_attribute("aria-invalid") == "true"
    assert page.locator(f"#{description.get_attribute('aria-describedby')}").inner_text().strip()
    assert_accessible(page, axe_source, "the report form with errors (zh-CN, phone)")

    # Fill it in: a category with the arrow keys, the text fields by typing; the photo field is
    # passed over with Tab (it must not hold the focus), the hidden honeypot is never reached.
    assert keys.press("ArrowDown")["value"]
    assert keys.press("Tab")["id"] == "description"
    page.keyboard.type("东入口往里第三块木板松动。A loose plank near the east entrance.")
    assert keys.press("Tab")["id"] == "photos"
    assert keys.press("Tab")["id"] == "contact_email"
    page.keyboard.type("walker@example.org")
    assert keys.press("Tab")["id"] == "contact_name"
    page.keyboard.type("Walker")
    assert keys.press("Tab")["id"] == "contact_phone"
    page.keyboard.type("138 0013 8000")
    assert keys.press("Tab")["id"] == "submit-report"
    # Shift+Tab goes back through the photo field too.
    assert keys.press("Shift+Tab")["id"] == "contact_phone"
    assert keys.press("Tab")["id"] == "submit-report"
    keys.follow("Space")

    assert re.search(r"/reports/[A-Za-z0-9_-]{20,}$", page.url), page.url
    assert page.locator("#reference").inner_text().isdigit()
    assert "木板松动" in page.locator("#report-description").inner_text()
    keys.press_until("Tab", lambda s: s["inMain"])  # and the page is walkable from the top
    context.close()


# --- staff detail pages on paper ---------------------------------------------------------------

PRINTED = {
    "asset": "#components",
    "ticket": "#timeline",
    "inspection": "main h1",
    "closure": "#gate",
}
HIDDEN_ON_PAPER = (".topbar", "main form", "main button", ".actions", ".skip-link")


@pytest.mark.parametrize("name", sorted(PRINTED))
def test_a_staff_detail_page_prints_as_its_record(
    name, contexts, paths, server, screenshot_on_failure
):
    """In print media the page keeps its content and drops the navigation, forms and buttons;
    Chromium's own PDF of it opens with the record, without the navigation or a blank page."""
    page = visit(contexts["staff"], server, paths[name], screenshot_on_failure)
    assert page.locator(HIDDEN_ON_PAPER[0]).first.is_visible()  # on screen it is there
    nav_text = "".join(page.locator(".topbar .nav ul").inner_text().split())
    heading = "".join(page.locator("main h1").first.inner_text().split())
    page.emulate_media(media="print")
    assert page.locator(PRINTED[name]).first.is_visible()
    for selector in HIDDEN_ON_PAPER:
        shown = [
            i
            for i in range(page.locator(selector).count())
            if page.locator(selector).nth(i).is_visible()
        ]
        assert not shown, f"{selector} is printed on {paths[name]}"
    printed = pypdf.PdfReader(io.BytesIO(page.pdf(format="A4", prefer_css_page_size=True)))
    first = "".join(printed.pages[0].extract_text().split())  # PDF text spaces CJK apart
    assert heading and heading[:10] in first, f"{paths[name]}: the record is not on page 1"
    assert nav_text and nav_text[:10] not in first, f"{paths[name]}: the navigation is printed"
    assert all(p.extract_text().strip() for p in printed.pages), "a blank page is printed"
    page.close()
