"""Chinese by default, English on request; every user-facing string is in the catalogs."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from facilities import i18n

ROOT = Path(__file__).resolve().parents[1]
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "pgettext": ((1, "c"), 2),
    "NC_": ((1, "c"), 2),
}
METHOD_MAP = [("**.py", "python"), ("**.html", "jinja2"), ("**.txt", "jinja2")]
OPTIONS = {
    "**.html": {"extensions": "jinja2.ext.i18n,jinja2.ext.do"},
    "**.txt": {"extensions": "jinja2.ext.i18n,jinja2.ext.do"},
}


def _source_messages() -> set[tuple[str | None, str]]:
    """(msgctxt, msgid) of every marked string."""
    found = set()
    for folder in ("facilities", "scheduler", "templates"):
        for _file, _line, message, _comments, ctx in extract_from_dir(
            ROOT / folder, METHOD_MAP, OPTIONS, keywords=KEYWORDS
        ):
            found.add((ctx, message if isinstance(message, str) else message[0]))
    return found


def _catalog(locale: str):
    with open(i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=locale)


def test_every_source_string_is_in_the_catalogs_and_translated_to_chinese():
    source = _source_messages()
    assert len(source) > 100
    catalog = _catalog("zh_CN")
    in_catalog = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in catalog if m.id}
    missing = sorted(source - in_catalog)
    assert missing == [], f"run `make messages` and translate: {missing[:10]}"
    untranslated = [
        m.id
        for m in catalog
        if m.id and not (m.string if isinstance(m.string, str) else all(m.string))
    ]
    assert untranslated == [], f"untranslated zh_CN strings: {untranslated[:10]}"


def test_english_catalog_lists_the_same_messages():
    zh = {
        (m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _catalog("zh_CN") if m.id
    }
    en = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in _catalog("en") if m.id}
    assert zh == en


def test_negotiation_order_is_cookie_then_header_then_default():
    assert i18n.negotiate("en", "zh-CN,zh;q=0.9", "zh_CN") == "en"
    assert i18n.negotiate(None, "en-GB,en;q=0.9,zh;q=0.5", "zh_CN") == "en"
    assert i18n.negotiate(None, "fr-FR, zh-TW;q=0.8", "en") == "zh_CN"
    assert i18n.negotiate(None, "de, fr;q=0.5", "zh_CN") == "zh_CN"
    assert i18n.negotiate("xx", "garbage;;q=abc", "en") == "en"


def test_translations_follow_the_active_locale():
    with i18n.use_locale("zh_CN"):
        chinese = i18n.gettext("Assets")
    with i18n.use_locale("en"):
        english = i18n.gettext("Assets")
    assert english == "Assets"
    assert chinese != "Assets"


async def test_switching_language_sets_a_cookie_and_returns_to_the_page(anon, personas):
    page = await anon.get("/")
    assert 'lang="zh-CN"' in page.text
    switched = await anon.get("/language", params={"lang": "en", "next": "/login"})
    assert switched.status_code == 303
    assert switched.headers["location"] == "/login"
    assert anon.cookies.get("lang") == "en"
    english = await anon.get("/login")
    assert 'lang="en"' in english.text
    assert "Staff login" in english.text


async def test_language_switch_never_redirects_off_site(anon):
    response = await anon.get("/language", params={"lang": "en", "next": "//evil.example/x"})
    assert response.headers["location"] == "/"


async def test_accept_language_header_picks_english(anon):
    page = await anon.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    assert "Staff login" in page.text
    chinese = await anon.get("/login", headers={"Accept-Language": "zh-CN"})
    assert 'lang="zh-CN"' in chinese.text


def test_each_domain_state_is_its_own_catalog_entry():
    """One English word, several meanings: a closed ticket is finished (已办结), a closed bridge
    is shut (已封闭); a triaged ticket is acknowledged (已受理), nobody is assigned yet; a passed
    checklist item is 合格, not 成功 ("success")."""
    from facilities.assets.choices import MaintenanceClass, MaintenanceGrade, OperationalStatus
    from facilities.inspections.choices import Answer
    from facilities.reports.choices import PublicStatus, Stage
    from facilities.tickets.choices import ClosingReason
    from facilities.tickets.choices import Status as TicketStatus

    with i18n.use_locale("zh_CN"):
        assert TicketStatus.CLOSED.label == "已办结"
        assert OperationalStatus.CLOSED.label == "已封闭"
        assert Stage.CLOSED.label == PublicStatus.CLOSED.label == "已办结"
        assert TicketStatus.TRIAGED.label == "已受理"
        assert [a.label for a in Answer] == ["合格", "不合格", "不适用"]
        assert MaintenanceClass.I.label != MaintenanceGrade.I.label
        assert TicketStatus.DUPLICATE.label and ClosingReason.DUPLICATE.label
    with i18n.use_locale("en"):
        assert TicketStatus.CLOSED.label == "Closed"
        assert TicketStatus.TRIAGED.label == "Acknowledged"
        assert [a.label for a in Answer] == ["Pass", "Fail", "N/A"]
        assert MaintenanceClass.I.label == "Class I"
        assert MaintenanceGrade.I.label == "Grade I"


def test_templates_translate_with_a_context():
    from facilities.web.templating import environment

    template = environment().from_string('{{ pgettext("component condition", "OK") }}')
    with i18n.use_locale("zh_CN"):
        assert template.render() == "完好"
    with i18n.use_locale("en"):
        assert template.render() == "OK"
