"""The small parts the spiders are built from: text extraction, counts, dates, encodings."""

from __future__ import annotations

from functools import partial

import pytest
from parsel import Selector
from scrapy.http import HtmlResponse

from monitor.sites.page_values import parse_count, parse_date
from monitor.sites.selectors import check_selector, first_text
from spiders.encoding import best_encoding
from spiders.items import ListingLoader, first_line_title, first_loaded

GBK_TEXT = "<html><body><p>出售 身份证 四件套，联系QQ</p></body></html>"


def response(body: bytes, content_type: str | None) -> HtmlResponse:
    headers = {"Content-Type": content_type} if content_type else {}
    return HtmlResponse("http://127.0.0.1/x", body=body, headers=headers)


BIG5_TEXT = "<p>台灣 個資 最新一批，含 姓名 身分證字號 電話 地址，約 50萬筆</p>"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("text/html; charset=utf-8", GBK_TEXT.encode("gb18030"), "身份证"),  # lies
        ("text/html", GBK_TEXT.encode("gb18030"), "身份证"),  # says nothing
        ("text/html; charset=iso-8859-1", GBK_TEXT.encode("gb18030"), "身份证"),
        ("text/html; charset=utf-8", BIG5_TEXT.encode("big5"), "身分證字號"),
        ("text/html", BIG5_TEXT.encode("big5"), "身分證字號"),
        (
            "text/html; charset=utf-8",
            BIG5_TEXT.encode("gb18030"),
            "身分證字號",
        ),  # traditional in GBK
        ("text/html; charset=gbk", GBK_TEXT.encode("gb18030"), "身份证"),  # honest
        ("text/html; charset=utf-8", GBK_TEXT.encode("utf-8"), "身份证"),
        ("text/html; charset=iso-8859-1", GBK_TEXT.encode("utf-8"), "身份证"),
        ("text/html; charset=gbk", GBK_TEXT.encode("utf-8"), "身份证"),
        # Big5 said to be GBK: its characters land in GBK's user-defined (private) areas.
        ("text/html; charset=gbk", BIG5_TEXT.encode("big5"), "身分證字號"),
        ("text/html; charset=gb2312", BIG5_TEXT.encode("big5"), "身分證字號"),
        # UTF-16 without a byte order mark, said to be something else or nothing.
        ("text/html; charset=utf-8", BIG5_TEXT.encode("utf-16-le"), "身分證字號"),
        ("text/html; charset=gbk", GBK_TEXT.encode("utf-16-be"), "身份证"),
        ("text/html", GBK_TEXT.encode("utf-16-le"), "身份证"),
        # Its first 4 KB nearly all CJK (a huge title): found by tests/test_hostile_fuzz.py.
        (
            "text/html; charset=utf-8",
            ("<html><head><title>" + "标" * 3000 + "</title></head><p>身份证</p>").encode(
                "utf-16-le"
            ),
            "身份证",
        ),
        ("text/html; charset=utf-8", b"\xff\xfe" + GBK_TEXT.encode("utf-16-le"), "身份证"),
    ],
)
def test_pages_that_lie_about_their_charset_are_decoded_as_what_they_are(
    content_type, body, expected
):
    page = response(body, content_type)
    encoding = best_encoding(page)
    if encoding:
        page = page.replace(encoding=encoding)
    assert expected in page.text


def test_a_site_encoding_override_wins():
    page = response(GBK_TEXT.encode("gb18030"), "text/html; charset=utf-8")
    assert best_encoding(page, "gbk") == "gbk"


def test_text_keeps_line_breaks_and_drops_scripts():
    page = Selector(
        "<div id=t>第一行<br/>第二行 <b>加粗</b><script>var x=1</script><p>段落</p>尾</div>"
    )
    assert first_text(page, "#t") == "第一行\n第二行 加粗\n段落\n尾"
    assert first_text(page, "xpath://div[@id='t']/text()") == "第一行"
    assert first_text(page, ["#missing", "#t::attr(id)"]) == "t"


def test_selectors_are_checked():
    assert check_selector("div.item[data-id]") is None
    assert check_selector("xpath://div[@class='a']") is None
    assert check_selector("div[") is not None
    assert check_selector("xpath://div[") is not None


@pytest.mark.parametrize(
    ("text", "count"),
    [("1,234", 1234), ("1.2K", 1200), ("3.4万", 34000), ("12 回复", 12), ("无", None)],
)
def test_counts_read_as_pages_show_them(text, count):
    assert parse_count(text) == count


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("发表于 2024-5-1 12:30", "2024-05-01T12:30:00"),
        ("2024年5月1日", "2024-05-01"),
        ("2024-05-01", "2024-05-01"),
        ("2024-05-01T08:00:00+00:00", "2024-05-01T08:00:00+00:00"),
        ("3 天前", None),
    ],
)
def test_dates_become_iso_8601(text, iso):
    assert parse_date(text) == iso


def test_a_title_is_the_first_line_trimmed():
    assert first_line_title("\n  出售 料子 \n第二行") == "出售 料子"
    assert first_line_title("长" * 80) == "长" * 59 + "…"


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("title", [None, "", "  \u3000 ", " 出售  身份证 \n\n\n 四件套 ", "later"]),
        ("seller", [["", None], ["  老王 ", "小李"]]),
        ("replies", ["", "1.2万", "3"]),
        ("posted_at", ["not a date", "2026-11-03 08:15"]),
        ("site_id", [" 17 "]),
        ("views", [None, None]),
    ],
)
def test_a_field_loads_what_the_item_loader_would(field: str, values: list[object]) -> None:
    """build_item loads fields with first_loaded, which must keep ListingLoader's result."""
    loader = ListingLoader()
    for value in values:
        loader.add_value(field, value)
    called: list[object] = []
    candidates = [partial(_read, called, value) for value in values]
    assert first_loaded(field, candidates) == loader.get_output_value(field)
    # The candidates after the one that gave the value are never read.
    giving = [n for n, value in enumerate(values) if _loaded(field, value) is not None]
    assert len(called) == (giving[0] + 1 if giving else len(values))


def _read(called: list[object], value: object) -> object:
    called.append(value)
    return value


def _loaded(field: str, value: object) -> object:
    loader = ListingLoader()
    loader.add_value(field, value)
    return loader.get_output_value(field)


def test_feeds_export_every_item_field_but_the_transient_page():
    from spiders import settings
    from spiders.items import EXPORTED_FIELDS

    assert settings.FEED_EXPORT_FIELDS == EXPORTED_FIELDS
    assert "page" not in settings.FEED_EXPORT_FIELDS and "evidence" in settings.FEED_EXPORT_FIELDS


def test_a_login_form_is_submitted_with_its_hidden_fields():
    from spiders.kinds.login import form_fields

    form = Selector(
        """<form><input type="hidden" name="formhash" value="abc"><input name="username">
        <input type="password" name="password"><input type="checkbox" name="remember" checked>
        <input type="checkbox" name="spam"><select name="q"><option value="1">a</option>
        <option value="2" selected>b</option></select>
        <button type="submit" name="loginsubmit" value="true">登录</button></form>"""
    ).css("form")[0]
    assert form_fields(form) == {
        "formhash": "abc",
        "username": "",
        "password": "",
        "remember": "on",
        "q": "2",
        "loginsubmit": "true",
    }
