"""Every template compiles, and every e-mail renders in both languages."""

import datetime as dt

import pytest

from facilities.i18n import use_locale
from facilities.web.templating import TEMPLATE_DIR, environment, render_email

TEMPLATES = sorted(
    str(path.relative_to(TEMPLATE_DIR)) for path in TEMPLATE_DIR.rglob("*") if path.is_file()
)
EMAILS = sorted(
    {name.split("/")[1].split(".")[0] for name in TEMPLATES if name.startswith("emails/")}
)


def test_there_are_templates():
    assert "base.html" in TEMPLATES
    assert EMAILS == ["password_changed"]


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
def test_email_renders(template, language):
    context = {"display_name": "<Alice>", "at": dt.datetime(2026, 11, 28, 2, tzinfo=dt.UTC)}
    with use_locale(language):
        subject, text, html = render_email(template, context)
    assert subject and "\n" not in subject
    assert "<Alice>" in text  # plain text is not HTML-escaped...
    assert "&lt;Alice&gt;" in html  # ...but the HTML part is
    assert "10:00" in text  # 02:00 UTC shown in Asia/Shanghai
