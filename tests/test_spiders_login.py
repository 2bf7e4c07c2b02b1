"""Sites behind a log-in: form log-in with credentials from the environment, cookies kept
between runs beside the store, a cookies file, and walls reported as source health."""

from __future__ import annotations

import json
import secrets
import sqlite3
import stat

from monitor.demo.discuz_pages import discuz_board, discuz_thread
from monitor.demo.local_server import LocalServer, Page, Received, html_page
from spiders.cookies import cookie_jar_path
from tests.servers import run_crawl, write_site

BOARD = "/forum.php?mod=forumdisplay&fid=2"
THREADS = [
    {"tid": 301, "title": "会员区：出售 快递 单号 数据", "author": "内鬼"},
    {"tid": 302, "title": "会员区：收 银行卡 四件套", "author": "收料"},
]
LOGIN_FORM = """<html><head><meta charset="utf-8"><title>登录</title></head><body>
<div id="messagetext"><p>{message}</p></div>
<form id="lsform" method="post" action="/member.php?mod=logging&amp;action=login&amp;loginsubmit=yes">
<input type="hidden" name="formhash" value="{token}" />
<input type="text" name="username" id="ls_username" />
<input type="password" name="password" id="ls_password" />
<button type="submit" name="loginsubmit" value="true">登录</button></form></body></html>"""
LOGIN = "/member.php?mod=logging&action=login"


class MembersOnlyForum:
    """A forum that shows its board and threads to logged-in members only, and sends everyone
    else to its log-in page (or, with `captcha`, to a verification page)."""

    def __init__(self, captcha: bool = False) -> None:
        self.token = secrets.token_hex(4)
        self.sessions: set[str] = set()
        self.logins = 0
        self.captcha = captcha
        self.pages: dict[str, object] = {
            LOGIN: lambda: html_page(LOGIN_FORM.format(message="请先登录", token=self.token)),
            LOGIN + "&loginsubmit=yes": self.submit,
            "/verify?from=board": html_page(
                "<html><body><img src='/v.png'><p>请稍候…</p></body></html>"
            ),
            BOARD: self.members_only(discuz_board(THREADS, 1, 1)),
        }
        for t in THREADS:
            body = discuz_thread(t["tid"], t["title"], t["author"], "2024-5-1 12:30", t["title"])
            path = f"/forum.php?mod=viewthread&tid={t['tid']}&extra=page%3D1"
            self.pages[path] = self.members_only(body)

    def members_only(self, body: str):
        def answer(request: Received) -> Page:
            if request.cookies().get("sid") in self.sessions:
                return html_page(body)
            to = "/verify?from=board" if self.captcha else LOGIN
            return Page(b"", 302, {"Location": to})

        return answer

    def submit(self, request: Received) -> Page:
        form = request.form()
        if request.method != "POST" or form.get("formhash") != self.token:
            return html_page("bad form", status=400)
        if (form.get("username"), form.get("password")) != ("analyst", "s3cret"):
            return html_page(LOGIN_FORM.format(message="密码错误", token=self.token))
        self.logins += 1
        session = secrets.token_hex(8)
        self.sessions.add(session)
        return Page(b"", 302, {"Location": BOARD, "Set-Cookie": f"sid={session}; Path=/; HttpOnly"})


SITE = """
name = "members"
kind = "forum"
preset = "discuz"
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
"""
LOGIN_SITE = (
    SITE
    + """login = { url = "${FIXTURE_URL}/member.php?mod=logging&action=login", username_env = "BBS_USER", password_env = "BBS_PASS", form_selector = "form#lsform" }
"""
)
CREDENTIALS = {"BBS_USER": "analyst", "BBS_PASS": "s3cret"}


def crawl(tmp_path, server, site_text, env=None, **kwargs):
    sites = tmp_path / "sites"
    write_site(sites, "members", site_text)
    settings = {"HEISHI_DB": str(tmp_path / "heishi.db"), **kwargs.pop("settings", {})}
    return run_crawl(
        "members",
        tmp_path,
        sites_dir=sites,
        env={"FIXTURE_URL": server.url, **(env or {})},
        settings=settings,
        **kwargs,
    )


def test_a_redirect_to_the_log_in_page_is_a_blocked_source_not_an_empty_one(tmp_path):
    forum = MembersOnlyForum()
    db = tmp_path / "heishi.db"
    with LocalServer(forum.pages) as server:
        run = crawl(tmp_path, server, SITE, db=db)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.items == []
    assert run.stats["heishi/blocked_pages"] == 1
    assert run.stats.get("heishi/empty_list_pages", 0) == 0
    with sqlite3.connect(db) as conn:
        status, error = conn.execute("SELECT status, error FROM runs").fetchone()
    assert status == "failed" and "log-in or captcha wall" in error


def test_a_redirect_to_a_verification_page_is_blocked_too(tmp_path):
    forum = MembersOnlyForum(captcha=True)
    with LocalServer(forum.pages) as server:
        run = crawl(tmp_path, server, SITE)
    assert run.items == []
    assert run.stats["heishi/blocked_pages"] == 1


def test_log_in_once_then_cookies_carry_the_session_to_the_next_runs(tmp_path):
    forum = MembersOnlyForum()
    with LocalServer(forum.pages) as server:
        first = crawl(tmp_path, server, LOGIN_SITE, env=CREDENTIALS)
        assert first.returncode == 0, first.stderr[-3000:]
        assert sorted(first.by_id()) == ["301", "302"]
        assert forum.logins == 1 and first.stats["heishi/logins"] == 1
        jar = cookie_jar_path(tmp_path / "heishi.db", "members")
        assert jar == tmp_path / "heishi-cookies" / "members.txt"
        assert "\tsid\t" in jar.read_text()
        assert stat.S_IMODE(jar.stat().st_mode) == 0o600

        second = crawl(tmp_path, server, LOGIN_SITE, env=CREDENTIALS)
        assert sorted(second.by_id()) == ["301", "302"]
        assert forum.logins == 1  # the kept session was enough
        assert second.stats["heishi/cookies_restored"] == 1
        assert "heishi/login_attempts" not in second.stats

        forum.sessions.clear()  # the site expired every session
        third = crawl(tmp_path, server, LOGIN_SITE, env=CREDENTIALS)
        assert sorted(third.by_id()) == ["301", "302"]
        assert forum.logins == 2  # logged in again, once
        assert third.stats.get("heishi/blocked_pages", 0) == 0


def test_a_refused_log_in_or_missing_credentials_is_a_blocked_source(tmp_path):
    forum = MembersOnlyForum()
    with LocalServer(forum.pages) as server:
        wrong = crawl(tmp_path, server, LOGIN_SITE, env={**CREDENTIALS, "BBS_PASS": "nope"})
        missing = crawl(tmp_path, server, LOGIN_SITE, env={"BBS_USER": "", "BBS_PASS": ""})
    for run in (wrong, missing):
        assert run.returncode == 0, run.stderr[-3000:]
        assert run.items == []
        assert run.stats["heishi/login_failures"] == 1
        assert run.stats["heishi/blocked_pages"] >= 1
    assert "refused" in wrong.stats["heishi/first_error"]
    assert "BBS_USER is not set" in missing.stats["heishi/first_error"]


def test_a_cookies_file_exported_from_a_browser_opens_the_site(tmp_path):
    forum = MembersOnlyForum()
    forum.sessions.add("from-browser")
    cookies = tmp_path / "browser-cookies.txt"
    cookies.write_text(
        "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tfrom-browser\n"
    )
    site = SITE + f'cookies_file = "{cookies}"\n'
    with LocalServer(forum.pages) as server:
        run = crawl(tmp_path, server, site, settings={"HEISHI_KEEP_COOKIES": False})
    assert run.returncode == 0, run.stderr[-3000:]
    assert sorted(run.by_id()) == ["301", "302"]
    assert forum.logins == 0
    assert not (tmp_path / "heishi-cookies").exists()  # HEISHI_KEEP_COOKIES off
    assert json.dumps(run.stats["heishi/cookies_restored"]) == "1"
