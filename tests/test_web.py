"""The review web app in a real Chromium against a real server on 127.0.0.1: log in, filter
the queue, open an alert, read the diff, triage it, see the audit trail; hostile listing text
never runs; forms without the CSRF token and users without the role are refused."""

from __future__ import annotations

import gzip
import sqlite3
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.web_server import PASSWORDS, PNG, Server, item, record_sweep

pytestmark = pytest.mark.browser

HOSTILE_TITLE = '出售 身份证 <script>window.__xss = 1; alert("t")</script> 四件套'
HOSTILE_TEXT = '身份证 四件套 <img src=x onerror="window.__xss = 2; alert(2)"> 联系 @evil'
RAW_PAGE = (
    '<html><head><link rel="stylesheet" href="{outside}/style.css"></head><body>'
    '<h1 id="raw">raw evidence page</h1><script>parent.__xss = 3; alert("raw")</script>'
    '<img src="{outside}/beacon.png"></body></html>'
)


# --- a store with listings written the way a crawl writes them ---------------------------


def four_sets(price, **kw):
    text = f"全新四件套：身份证+银行卡\n现货30套，{price}一套\n联系 薇信 laomao"
    return item(
        "1",
        f"出 身份证 四件套 30套 {price}",
        text,
        terms=[("身份证", "identity"), ("四件套", "identity")],
        price=price,
        seller="老猫数据",
        contacts=[("wechat", "laomao")],
        **kw,
    )


def build_store(db: Path, outside: str) -> None:
    from monitor.store import open_store, utc_now
    from monitor.web.app import evidence_dir
    from monitor.web.auth import hash_password

    evidence = evidence_dir(db)
    (evidence / "ab").mkdir(parents=True)
    with gzip.open(evidence / "ab" / "page.html.gz", "wb") as handle:
        handle.write(RAW_PAGE.format(outside=outside).encode())
    (evidence / "ab" / "shot.png").write_bytes(PNG)
    refs = {"page": "ab/page.html.gz", "screenshot": "ab/shot.png", "encoding": "gb18030"}
    hotel = "某酒店集团 入住记录 30万 sql"
    others = [
        item("2", HOSTILE_TITLE, HOSTILE_TEXT, terms=[("身份证", "identity")], seller="x"),
        item("3", hotel, "酒店 开房 记录 30万", terms=[("开房", "travel")], volume=300_000),
    ]
    record_sweep(db, "forum", [four_sets("5000元", evidence=refs), *others])
    record_sweep(db, "forum", [four_sets("3000元", evidence=refs), *others])
    record_sweep(
        db,
        "market",
        [
            item(
                "9",
                "星河银行 客户 资料 新鲜",
                "星河银行 信用卡 客户 20万 薇信 laomao",
                terms=[("客户", "finance")],
                seller="老猫数据",
                contacts=[("wechat", "laomao")],
                volume=200_000,
            )
        ],
    )
    with sqlite3.connect(db) as conn:  # the matcher names brands; these hand-made items do not
        conn.execute("UPDATE alerts SET brands = '[\"星河银行\"]' WHERE title LIKE '星河银行%'")
    with open_store(db) as store:
        for name, role in (("ada", "admin"), ("rita", "reviewer"), ("vic", "viewer")):
            store.review.add_user(name, role, hash_password(PASSWORDS[name]), now=utc_now())


# --- a real server and a real browser ----------------------------------------------------


class Outside:
    """Another server on 127.0.0.1 standing for the rest of the internet: it records every
    request that reaches it, and none should."""

    def __init__(self) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        hits = self.hits = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def outside() -> Iterator[Outside]:
    server = Outside()
    yield server
    server.server.shutdown()


@pytest.fixture(scope="module")
def web_db(tmp_path_factory, outside) -> Path:
    db = tmp_path_factory.mktemp("web") / "heishi.db"
    build_store(db, outside.url)
    return db


@pytest.fixture(scope="module")
def base_url(web_db) -> Iterator[str]:
    with Server(web_db) as url:
        yield url


@pytest.fixture
def page(chromium):
    # These tests read the English page (Simplified Chinese is the default): they ask for it.
    context = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()


def log_in(page, base_url: str, name: str, target: str = "/") -> None:
    """Log in through the form; later log-ins of the same user in this module reuse the
    session cookie the first one got."""
    saved = _SESSIONS.get((base_url, name))
    if saved:
        page.context.add_cookies(saved)
        page.goto(base_url + target)
        return
    page.goto(base_url + target)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)
    _SESSIONS[(base_url, name)] = page.context.cookies()


_SESSIONS: dict[tuple[str, str], list] = {}


def alert_id(db: Path, title_like: str, kind: str = "new") -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT id FROM alerts WHERE title LIKE ? AND kind = ? ORDER BY id",
            (title_like, kind),
        ).fetchone()[0]


def status_of(db: Path, alert: int) -> str:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT status FROM alerts WHERE id = ?", (alert,)).fetchone()[0]


# --- tests -------------------------------------------------------------------------------


def test_a_request_without_a_session_is_sent_to_the_log_in_page(base_url, page):
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(base_url + "/alerts/1")
    assert refused.value.code == 303
    assert refused.value.headers["Location"] == "/login?next=/alerts/1"
    page.goto(base_url + "/sources")
    assert page.url == base_url + "/login?next=/sources"
    assert page.locator("input[name=password]").is_visible()


def test_reviewer_filters_the_queue_reads_the_diff_confirms_and_sees_the_trail(
    base_url, web_db, page
):
    log_in(page, base_url, "rita")
    # One row per listing: the four-sets listing's new and changed alerts share one.
    assert page.locator("#queue tbody tr").count() == 4
    page.select_option("select[name=source]", "market")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**source=market**")
    rows = page.locator("#queue tbody tr")
    assert rows.count() == 1 and "星河银行" in rows.first.inner_text()
    page.select_option("select[name=source]", "")
    page.select_option("select[name=brand]", "*")
    page.click("#filters button[type=submit]")
    assert "★ 星河银行" in page.locator("#queue tbody tr").first.inner_text()

    page.goto(base_url + "/?q=3000")
    page.locator("#queue tbody tr", has_text="changed").first.click()
    page.wait_for_url("**/alerts/*")
    changed = int(page.url.rsplit("/", 1)[1].split("?")[0])
    price_diff = page.locator("table.sxs[data-field=price_text]")
    assert price_diff.locator("del").inner_text() == "5000"
    assert price_diff.locator("ins").inner_text() == "3000"
    assert page.locator("#listing-text mark.hit", has_text="四件套").count() == 1
    assert page.locator("img[alt^=Screenshot]").evaluate("img => img.naturalWidth") == 1

    page.fill("#triage-note", "seller known from last month")
    page.click("button[value=confirm]")
    # Opened from the queue: the decision, on both alerts of the listing's row, opens the
    # queue's next row (here none is left: the queue itself), and says so.
    page.wait_for_url(lambda url: f"/alerts/{changed}?" not in url)
    assert page.locator("#done").inner_text() == "2 alerts confirmed."
    page.goto(base_url + f"/alerts/{changed}")
    assert page.locator(".alert-head .status").inner_text() == "confirmed"
    trail = page.locator("#trail").inner_text()
    assert "rita" in trail and "confirmed" in trail and "seller known from last month" in trail
    assert status_of(web_db, changed) == "confirmed"
    first = alert_id(web_db, "出 身份证%", "new")  # the listing's other alert, in its row
    assert status_of(web_db, first) == "confirmed"
    with sqlite3.connect(web_db) as conn:
        assert conn.execute(
            "SELECT alert_id, actor, old_status, new_status, note FROM alert_events "
            "WHERE alert_id IN (?, ?) AND action = 'status' ORDER BY alert_id",
            (first, changed),
        ).fetchall() == [
            (first, "rita", "open", "confirmed", "seller known from last month"),
            (changed, "rita", "open", "confirmed", "seller known from last month"),
        ]


def test_hostile_listing_text_is_shown_escaped_and_never_runs(base_url, web_db, outside, page):
    dialogs, blocked = [], []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("requestfailed", lambda request: blocked.append((request.url, request.failure)))
    log_in(page, base_url, "vic")
    assert HOSTILE_TITLE in page.locator("#queue").inner_text()
    page.goto(base_url + f"/alerts/{alert_id(web_db, '%<script>%')}")
    assert page.locator("#listing-title").inner_text() == HOSTILE_TITLE
    assert HOSTILE_TEXT in page.locator("#listing-text").inner_text()
    assert page.locator("#listing-title script, #listing-text img").count() == 0
    # The raw page as fetched: framed in a sandbox, its script and its beacon blocked.
    page.goto(base_url + f"/alerts/{alert_id(web_db, '出 身份证%', 'changed')}")
    frame = page.frame_locator("iframe.raw-page")
    assert frame.locator("#raw").inner_text() == "raw evidence page"
    assert page.locator("iframe.raw-page").get_attribute("sandbox") == ""
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert dialogs == []
    assert outside.hits == []  # the raw page's stylesheet and beacon never left the browser
    assert {failure for url, failure in blocked if url.startswith(outside.url)} == {"csp"}


def test_a_form_without_its_csrf_token_is_refused(base_url, web_db, page):
    log_in(page, base_url, "rita")
    hotel = alert_id(web_db, "某酒店%")
    page.goto(base_url + f"/alerts/{hotel}")
    page.evaluate("document.querySelector('#triage-form input[name=csrf]').remove()")
    with page.expect_response(f"**/alerts/{hotel}/triage") as answer:
        page.click("button[value=escalate]")
    assert answer.value.status == 403
    assert "security token" in page.locator(".error-message").inner_text()
    forged = page.request.post(
        base_url + f"/alerts/{hotel}/triage", form={"action": "escalate", "csrf": "0" * 64}
    )
    assert forged.status == 403
    assert status_of(web_db, hotel) == "open"


def test_a_viewer_cannot_triage_even_with_a_valid_token(base_url, web_db, page):
    log_in(page, base_url, "vic")
    hotel = alert_id(web_db, "某酒店%")
    page.goto(base_url + f"/alerts/{hotel}")
    assert page.locator("#triage").count() == 0
    token = page.locator("form[action='/logout'] input[name=csrf]").get_attribute("value")
    for path, form in (
        (f"/alerts/{hotel}/triage", {"action": "dismiss", "reason": "duplicate"}),
        (f"/alerts/{hotel}/note", {"note": "hi"}),
        ("/alerts/bulk", {"ids": str(hotel), "action": "confirm"}),
    ):
        answer = page.request.post(base_url + path, form={**form, "csrf": token})
        assert answer.status == 403, path
    assert page.request.get(base_url + "/users").status == 403
    assert status_of(web_db, hotel) == "open"


def test_bulk_dismissal_needs_a_reason_and_writes_one_event_per_alert(base_url, web_db, page):
    log_in(page, base_url, "rita", "/?status=open")
    boxes = page.locator("#queue input[name=ids]")
    # A row holds every open alert of one listing ("1,4"); tick two rows of one alert each.
    values = [boxes.nth(i).get_attribute("value") or "" for i in range(boxes.count())]
    rows_of_one = [i for i, value in enumerate(values) if "," not in value][:2]
    assert len(rows_of_one) == 2, values
    ids = [int(values[i]) for i in rows_of_one]
    for i in rows_of_one:
        boxes.nth(i).check()
    assert page.locator("#bulk-count").inner_text() == "2 ticked"
    page.select_option("#bulk-action", "dismiss")
    page.select_option("#bulk-reason", "false_positive")
    page.fill("#bulk input[name=note]", "checked by hand")
    page.click("#bulk-apply")
    assert page.locator(".flash.ok").inner_text() == "2 alerts dismissed."
    with sqlite3.connect(web_db) as conn:
        events = conn.execute(
            f"SELECT alert_id, actor, new_status, reason, note FROM alert_events "
            f"WHERE alert_id IN ({ids[0]}, {ids[1]}) AND action = 'status' ORDER BY alert_id"
        ).fetchall()
    assert events == [
        (i, "rita", "dismissed", "false_positive", "checked by hand") for i in sorted(ids)
    ]


def test_case_export_as_json_and_printable_page(base_url, web_db, page):
    log_in(page, base_url, "vic")
    changed = alert_id(web_db, "出 身份证%", "changed")
    case = page.request.get(base_url + f"/alerts/{changed}/case.json").json()
    assert [v["price_text"] for v in case["versions"]] == ["5000元", "3000元"]
    assert case["versions"][0]["evidence_files"]["page"]["sha256"]
    assert case["listing"]["contacts"] == ["wechat:laomao"]
    assert {r["title"] for r in case["related"]["contact"]} == {"星河银行 客户 资料 新鲜"}
    page.goto(base_url + f"/alerts/{changed}/case")
    assert page.locator(".case-kicker").text_content().startswith("Request to remove a listing")
    assert "3000元" in page.locator(".case .kv").inner_text()


def test_pages_carry_security_headers_and_evidence_its_own_sandbox(base_url, web_db, page):
    log_in(page, base_url, "vic")
    answer = page.request.get(base_url + "/sources")
    headers = answer.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    cookie = next(c for c in page.context.cookies() if c["name"] == "heishi_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    with sqlite3.connect(web_db) as conn:
        version = conn.execute(
            "SELECT id FROM listing_versions WHERE evidence IS NOT NULL"
        ).fetchone()[0]
    raw = page.request.get(base_url + f"/evidence/{version}/page")
    assert raw.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert raw.headers["content-type"] == "text/html; charset=gb18030"
    assert "raw evidence page" in raw.text()


def test_admin_adds_a_reviewer_who_can_then_log_in(base_url, page, chromium):
    log_in(page, base_url, "ada", "/users")
    form = page.locator("form", has=page.locator("input[name=action][value=add]"))
    form.locator("input[name=name]").fill("newbie")
    form.locator("select[name=role]").select_option("reviewer")
    form.locator("input[name=password]").fill("kettle-mirror-7")
    form.locator("button[type=submit]").click()
    assert "newbie" in page.locator("table.users").inner_text()
    other = chromium.new_context(locale="en-US").new_page()
    other.set_default_timeout(10_000)
    other.goto(base_url + "/login")
    other.fill("input[name=name]", "newbie")
    other.fill("input[name=password]", "wrong password")
    other.click("button[type=submit]")
    assert "Wrong name or password" in other.locator(".flash.error").inner_text()
    other.fill("input[name=password]", "kettle-mirror-7")
    other.click("button[type=submit]")
    other.wait_for_url(base_url + "/")
    assert "newbie" in other.locator(".topbar .user").inner_text()
    other.context.close()


def test_keywords_page_tests_a_text_with_the_real_matcher(base_url, page):
    log_in(page, base_url, "vic", "/keywords")
    assert page.locator(".keyword-file").count() > 5
    assert "星河银行" in page.locator("body").inner_text()
    page.fill("#test-text", "出售 身份证 四件套 300万条 样本可验 <b>x</b>")
    page.click(".test-box button[type=submit]")
    result = page.locator("#test-result")
    assert "Would alert" in result.inner_text()
    assert "<b>x</b>" in result.locator(".listing-text").inner_text()
    assert result.locator("mark.hit", has_text="四件套").count() == 1


def test_store_queue_sorts_pages_and_filters(web_db):
    from monitor.store import open_store
    from monitor.store.review import QueueFilters

    with open_store(web_db, readonly=True) as store:
        everything, total = store.review.review_queue(QueueFilters(), sort="volume", limit=2)
        assert total == 5 and len(everything) == 2  # the plain queue: a row per alert
        assert everything[0]["volume"] == 300_000
        second, _ = store.review.review_queue(QueueFilters(), sort="volume", limit=2, offset=2)
        assert not {a["id"] for a in everything} & {a["id"] for a in second}
        travel, count = store.review.review_queue(QueueFilters(category="travel"))
        assert count == 1 and travel[0]["title"].startswith("某酒店")
        assert store.review.review_queue(QueueFilters(since="2999-01-01"))[1] == 0
        assert store.review.review_queue(QueueFilters(text="100%_"))[1] == 0


def test_the_queues_since_is_read_as_every_since_is(web_db):
    from datetime import UTC, datetime, timedelta

    from monitor.store import open_store
    from monitor.web.queue_view import queue_view

    assert queue_view({"since": "2026-11-01"}).filters.since == "2026-11-01T00:00:00Z"
    assert queue_view({"since": "2026-11-01T08:00+08:00"}).filters.since == "2026-11-01T00:00:00Z"
    week = datetime.strptime(queue_view({"since": "7d"}).filters.since, "%Y-%m-%dT%H:%M:%SZ")
    expected = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=7)
    assert abs((week - expected).total_seconds()) < 60
    unread = queue_view({"since": "soon"})
    assert unread.filters.since is None and "soon" in (unread.since_error or "")
    assert unread.since_text == "soon"  # shown back as written
    with open_store(web_db, readonly=True) as store:
        everything = store.desk.queue(queue_view({}).filters)[1]
        assert everything > 0
        assert store.desk.queue(queue_view({"since": "3650d"}).filters)[1] == everything
        assert store.desk.queue(queue_view({"since": "2999-01-01"}).filters)[1] == 0


def test_passwords_are_salted_scrypt_hashes():
    from monitor.web.auth import hash_password, verify_password

    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("correct horse", first)
    assert not verify_password("correct hors", first)
    assert not verify_password("anything", None)


def test_highlighting_escapes_every_segment():
    from monitor.web.text import highlighted, side_by_side

    hostile = '<b onmouseover="x()">身份证</b>'
    start = hostile.index("身份证")
    html = highlighted(hostile, [{"start": start, "end": start + 3, "term": "身份证"}])
    assert str(html) == (
        '&lt;b onmouseover=&#34;x()&#34;&gt;<mark class="hit role-term" title="身份证 · ">'
        "身份证</mark>&lt;/b&gt;"
    )
    rows = side_by_side("价格 <i>5000</i>", "价格 <i>3000</i>")
    assert str(rows[0]["left"]) == "价格 &lt;i&gt;<del>5000</del>&lt;/i&gt;"


def test_users_add_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    import io

    from monitor.cli import main
    from monitor.store import open_store
    from monitor.web.auth import verify_password

    db = tmp_path / "heishi.db"
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    assert (
        main(
            ["users", "add", "kim", "--role", "reviewer", "--password-stdin", "--db", str(db)]
            + ["--create"]
        )
        == 0
    )
    with open_store(db, readonly=True) as store:
        kim = store.review.user("kim")
    assert kim["role"] == "reviewer" and verify_password("long-enough-pw", kim["password_hash"])
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        main(["users", "add", "lee", "--role", "viewer", "--password-stdin", "--db", str(db)]) == 2
    )
    assert "at least 10" in capsys.readouterr().err


def test_users_add_refuses_a_name_the_web_log_in_would_refuse(tmp_path, monkeypatch, capsys):
    import io

    from monitor.cli import main
    from monitor.store import open_store
    from monitor.web.auth import is_user_name

    db = tmp_path / "heishi.db"
    errors = {}
    for name in ("ＡＤＡ", "ada\n", "ada lee", "x" * 65):  # full-width, newline, space, too long
        monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
        add = ["users", "add", name, "--role", "admin", "--password-stdin", "--db", str(db)]
        assert main([*add, "--create"]) == 2, name
        assert not is_user_name(name)  # the log-in page's check says the same
        errors[name] = capsys.readouterr().err
        assert "is not a user name" in errors[name] and "Traceback" not in errors[name]
    assert "reads as 'ADA'" in errors["ＡＤＡ"]
    monkeypatch.setattr("sys.stdin", io.StringIO("long-enough-pw\n"))
    add = ["users", "add", "王芳", "--role", "reviewer", "--password-stdin", "--db", str(db)]
    assert main([*add, "--create"]) == 0  # Chinese names are names
    with open_store(db, readonly=True) as store:
        assert [u["name"] for u in store.review.users()] == ["王芳"]
