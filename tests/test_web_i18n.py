"""The review page in Simplified Chinese first, English kept: message catalogues complete and
compiled, the language chosen per user or by the browser, times in the user's zone and
labelled, Chinese user and display names; in a real Chromium against a real server."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web_server import Server, item, record_sweep

pytestmark = pytest.mark.browser

WEB = Path(__file__).resolve().parent.parent / "monitor" / "web"
VOCABULARY = WEB.parent / "vocabulary.py"  # the labels of dismissal reasons
PO = WEB / "locale" / "zh_CN" / "LC_MESSAGES" / "messages.po"
PASSWORDS = {"ada": "admin-i18n-pass-1", "rita": "review-i18n-pass-1"}
RAISED_AT = "2026-11-23T08:00:00Z"  # 16:00 in Beijing


# --- the catalogues ----------------------------------------------------------------------


def catalogue():
    from babel.messages.pofile import read_po

    with PO.open("rb") as handle:
        return read_po(handle)


def extracted_ids() -> set:
    """Every string the web page's code and templates (and the vocabulary's labels) mark, as
    `make translations` finds them."""
    from babel.messages.extract import extract_from_dir, extract_from_file
    from babel.messages.frontend import parse_mapping_cfg

    with (WEB / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(WEB), method_map, options_map
    ):
        found.add(message if isinstance(message, str) else tuple(message))
    for _line, message, _comments, _context in extract_from_file("python", str(VOCABULARY)):
        found.add(message if isinstance(message, str) else tuple(message))
    return found


def test_every_marked_string_is_translated_into_simplified_chinese():
    messages = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalogue() if m.id}
    missing = extracted_ids() - set(messages)
    assert not missing, f"not in messages.po (run make translations): {sorted(missing, key=str)}"
    for key, message in messages.items():
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        assert all(strings) and "fuzzy" not in message.flags, f"untranslated: {key!r}"
        source = key if isinstance(key, str) else key[-1]
        for text in strings:  # every placeholder kept, none invented
            for pattern in (r"%\(\w+\)[sd]", r"\{\w+\}"):
                assert set(re.findall(pattern, text)) == set(re.findall(pattern, source)), key


def test_the_compiled_catalogue_matches_the_po_file():
    from monitor.web.i18n import translations

    translations.cache_clear()
    compiled = translations("zh_CN")
    for message in catalogue():
        if not message.id:
            continue
        if isinstance(message.id, str):
            assert compiled.gettext(message.id) == message.string, message.id
        else:
            assert compiled.ngettext(*message.id, 2) == message.string[0], message.id


def test_the_browser_language_decides_unless_the_user_chose():
    from monitor.web.i18n import negotiate, page_locale

    assert negotiate(None) == "zh_CN"  # no preference: Simplified Chinese
    assert negotiate("fr-FR,fr;q=0.9") == "zh_CN"
    assert negotiate("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert negotiate("zh-TW,zh;q=0.9,en;q=0.8") == "zh_CN"
    assert negotiate("en;q=0.2, zh-CN;q=0.9") == "zh_CN"
    assert negotiate("en;q=0, de") == "zh_CN"  # q=0: not wanted
    assert page_locale("en-US", "zh_CN").language == "zh_CN"  # the user's choice wins
    assert page_locale("zh-CN", "klingon").language == "zh_CN"  # an unknown one does not


def test_times_are_shown_in_the_zone_and_labelled(monkeypatch):
    from monitor.web import i18n

    monkeypatch.delenv("HEISHI_TIME_ZONE", raising=False)
    i18n.use(i18n.page_locale(None))
    assert i18n.when(RAISED_AT) == "11-23 16:00"
    assert i18n.when(RAISED_AT, full=True) == "2026-11-23 16:00 UTC+8"
    i18n.use(i18n.page_locale(None, time_zone="Asia/Kolkata"))
    assert i18n.when(RAISED_AT, full=True) == "2026-11-23 13:30 UTC+5:30"
    monkeypatch.setenv("HEISHI_TIME_ZONE", "UTC")
    i18n.use(i18n.page_locale(None, time_zone="Not/AZone"))
    assert i18n.when(RAISED_AT, full=True) == "2026-11-23 08:00 UTC"


# --- in the browser ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def i18n_db(tmp_path_factory) -> Path:
    from monitor.store import open_store, utc_now
    from monitor.web.auth import hash_password

    db = tmp_path_factory.mktemp("i18n") / "heishi.db"
    record_sweep(db, "forum", [
        item("1", "出售 身份证 四件套 300套", "身份证 四件套 现货 联系 @laowang",
             terms=[("身份证", "identity"), ("四件套", "identity")], price="5000元"),
    ])  # fmt: skip
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE alerts SET created_at = ?", (RAISED_AT,))
    with open_store(db) as store:
        store.review.add_user("ada", "admin", hash_password(PASSWORDS["ada"]), now=utc_now())
        store.review.add_user("rita", "reviewer", hash_password(PASSWORDS["rita"]), now=utc_now())
    return db


@pytest.fixture(scope="module")
def i18n_url(i18n_db) -> Iterator[str]:
    with Server(i18n_db) as url:
        yield url


def browser_page(chromium, url: str, name: str, password: str, locale: str | None = None):
    options = {"viewport": {"width": 1400, "height": 900}}
    if locale:
        options["locale"] = locale
    page = chromium.new_context(**options).new_page()
    page.set_default_timeout(10_000)
    page.goto(url + "/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda current: "/login" not in current)
    return page


def alert_of(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id FROM alerts ORDER BY id LIMIT 1").fetchone()[0]


def test_the_page_is_in_simplified_chinese_with_beijing_times_by_default(
    i18n_url,
    i18n_db,
    chromium,
):
    import urllib.request

    with urllib.request.urlopen(i18n_url + "/login") as answer:  # no Accept-Language at all
        assert '<html lang="zh-CN">' in answer.read().decode()
    page = browser_page(chromium, i18n_url, "rita", PASSWORDS["rita"], locale="zh-CN")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator(".topbar nav a").all_inner_texts()[:3] == ["队列", "来源", "关键词"]
    assert page.locator(".tabs a[aria-current]").inner_text().startswith("待处理")
    assert "告警时间 (UTC+8)" in page.locator("#queue thead").inner_text()
    assert page.locator("#queue tbody .c-when").inner_text() == "11-23 16:00"
    alert = alert_of(i18n_db)
    page.goto(i18n_url + f"/alerts/{alert}")
    assert "告警于 2026-11-23 16:00 UTC+8" in page.locator(".alert-head").inner_text()
    assert page.locator("#triage h2").inner_text() == "处理"
    assert page.locator("button[value=confirm]").inner_text() == "确认 c"
    page.keyboard.press("d")
    assert "驳回：按原因编号（1–5）" in page.locator("#armed-hint").inner_text()
    page.goto(i18n_url + f"/alerts/{alert}/case")
    assert page.locator(".case-kicker").inner_text() == "关于下架出售个人信息列表的申请"
    assert re.search(r"由 rita 于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\+8 使用 heishi 制作",
                     page.locator(".case header").inner_text())  # fmt: skip
    assert "首次发现" in page.locator(".case .kv").inner_text()
    page.goto(i18n_url + "/no-such-page")
    assert page.locator(".error-message").inner_text() == "没有这个页面。"
    page.context.close()


def test_a_browser_that_asks_for_english_gets_english_and_a_user_may_choose(
    i18n_url,
    chromium,
):
    page = browser_page(chromium, i18n_url, "ada", PASSWORDS["ada"], locale="en-US")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".topbar nav a").first.inner_text() == "Queue"
    # Labels of literal values too: the template was compiled while rendering Chinese.
    assert page.locator(".tabs a").first.inner_text().startswith("all")
    # The top bar's switch: this user reads Chinese from now on, whatever the browser says.
    with page.expect_navigation():
        page.locator(".lang-switch button[value=zh_CN]").click()
    assert page.locator(".topbar nav a").first.inner_text() == "队列"
    page.goto(i18n_url + "/preferences")
    page.fill("input[name=time_zone]", "UTC")
    with page.expect_navigation():
        page.click("#preferences button[type=submit]")
    page.goto(i18n_url + "/")
    assert "告警时间 (UTC)" in page.locator("#queue thead").inner_text()
    assert page.locator("#queue tbody .c-when").inner_text() == "11-23 08:00"
    page.goto(i18n_url + "/preferences")
    page.fill("input[name=time_zone]", "Mars/Olympus")
    page.click("#preferences button[type=submit]")
    assert "不是时区" in page.locator("#preferences-error").inner_text()
    page.select_option("select[name=language]", "")
    page.fill("input[name=time_zone]", "")
    with page.expect_navigation():
        page.click("#preferences button[type=submit]")
    assert page.locator(".topbar nav a").first.inner_text() == "Queue"  # the browser again
    page.context.close()


def test_chinese_user_and_display_names_are_accepted_and_shown(
    i18n_url,
    i18n_db,
    chromium,
):
    admin = browser_page(chromium, i18n_url, "ada", PASSWORDS["ada"], locale="en-US")
    admin.goto(i18n_url + "/users")
    add = admin.locator("form", has=admin.locator("input[name=action][value=add]"))
    add.locator("input[name=name]").fill("王芳")
    add.locator("input[name=display_name]").fill("王芳（品牌保护）")
    add.locator("select[name=role]").select_option("reviewer")
    add.locator("input[name=password]").fill("lantern-orchid-52")
    add.locator("button[type=submit]").click()
    assert admin.locator(".flash.error").count() == 0
    # A full-width name Unicode would fold into another is refused.
    add = admin.locator("form", has=admin.locator("input[name=action][value=add]"))
    add.locator("input[name=name]").fill("ａｄａ")
    add.locator("input[name=password]").fill("lantern-orchid-53")
    add.locator("button[type=submit]").click()
    assert "letters" in admin.locator(".flash.error").inner_text()
    admin.context.close()

    page = browser_page(chromium, i18n_url, "王芳", "lantern-orchid-52", locale="zh-CN")
    assert page.locator(".topbar .user").inner_text().startswith("王芳（品牌保护）")
    alert = alert_of(i18n_db)
    page.goto(i18n_url + f"/alerts/{alert}")
    page.fill("#note", "已核实")
    with page.expect_navigation():
        page.click(".note-form button[type=submit]")
    trail = page.locator("#trail").inner_text()
    assert "王芳（品牌保护）" in trail and "添加了备注" in trail and "已核实" in trail
    with sqlite3.connect(i18n_db) as conn:
        assert conn.execute(
            "SELECT actor, note FROM alert_events WHERE action = 'note'"
        ).fetchall() == [("王芳", "已核实")]
    page.context.close()
