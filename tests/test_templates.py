"""Every template compiles, and every e-mail renders in both languages."""

import datetime as dt

import pytest

from facilities.i18n import use_locale
from facilities.notifications.choices import StaffEvent
from facilities.notifications.digest import DigestGroup
from facilities.reports.choices import Category
from facilities.web.templating import TEMPLATE_DIR, environment, render_email

TEMPLATES = sorted(
    str(path.relative_to(TEMPLATE_DIR)) for path in TEMPLATE_DIR.rglob("*") if path.is_file()
)
EMAILS = sorted(
    {name.split("/")[1].split(".")[0] for name in TEMPLATES if name.startswith("emails/")}
)


#: One context that satisfies every e-mail template (StrictUndefined fails on a missing name).
EMAIL_CONTEXT = {
    "display_name": "<Alice>",
    "at": dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC),
    "ticket_id": 7,
    "title": "<Loose plank>",
    "body": "<Fixed>",
    "due": dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC),
    "priority": "P1",
    "inspection_id": 3,
    "asset_code": "GX-QL-PH-001",
    "asset_name": "<平湖公园景观悬索桥>",
    "asset_name_zh": "平湖公园景观悬索桥",
    "inspection_type": "patrol",
    # "no restriction" at grade D/E, flagged to the supervisors (issue 16)
    "grade": "D",
    "reason": "<临时加固已完成>",
    "closure_id": 5,
    "planned": dt.date(2027, 5, 1),
    "open_tickets": 2,
    "since": dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC),
    "token": "tok",
    "text": "<Work has started>",
    "unsubscribe_url": "http://testserver/unsubscribe/tok",
    # the reporter's e-mails (reports/services/reporter_mail.py)
    "report_id": 12,
    "category": "deck_damage",
    "Category": Category,
    "facility": {"name_zh": "<环湖木栈道>", "name_en": "<Lakeside Boardwalk>"},
    "covered": True,
    "follow_up_of": 11,
    "merged": False,
    "closing_reason": "repaired",
    # the staff's daily digest (notifications/digest.py)
    "groups": [
        DigestGroup(
            StaffEvent.TICKET_ASSIGNED,
            [{"id": 1, "subject": "<Assigned to you: ticket #7>", "link": "/tickets/7"}],
        )
    ],
    "count": 1,
    "work": {"overdue_tickets": 2, "inspections_due_today": 1},
    # the work order to a contractor (tickets/services/contractors.py)
    "contractor": "<衡阳路桥>",
    "contact_person": "<李工>",
    "contract_number": "HY-2026-017",
    "asset_name_en": "<Pinghu bridge>",
    "site_name_zh": "<平湖公园>",
    "site_name_en": "<Pinghu Park>",
    "location_note": "<west side>",
    "lat": 26.895,
    "lng": 112.581,
    "scope": "<Replace planks>",
    "planned_start_on": dt.date(2026, 12, 1),
    "planned_end_on": dt.date(2026, 12, 5),
}


def test_there_are_templates():
    assert "base.html" in TEMPLATES
    assert {"password_changed", "ticket_assigned", "inspection_before_due"} <= set(EMAILS)


@pytest.mark.parametrize("name", TEMPLATES)
def test_template_compiles(name):
    environment().get_template(name)


def test_autoescape_is_on_and_undefined_is_strict():
    env = environment()
    assert env.from_string("{{ x }}").render(x="<script>") == "&lt;script&gt;"
    with pytest.raises(Exception, match="undefined"):
        env.from_string("{{ missing }}").render()


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("template", EMAILS)
def test_email_renders(app, template, language):  # the app configures the templates' globals
    with use_locale(language):
        subject, text, html = render_email(template, dict(EMAIL_CONTEXT))
    assert subject and "\n" not in subject
    assert text.strip()
    assert "&lt;" not in text  # plain text is never HTML-escaped
    if html:
        assert "<Alice>" not in html  # ...the HTML part always is


def test_password_email_escapes_html_and_shows_local_time():
    with use_locale("en"):
        _subject, text, html = render_email("password_changed", dict(EMAIL_CONTEXT))
    assert "<Alice>" in text
    assert "&lt;Alice&gt;" in html
    assert "10:00" in text  # 02:00 UTC shown in Asia/Shanghai
