"""The review web app against hostile clients, over real sockets: uvicorn on 127.0.0.1 (in a
thread, or `heishi serve` in a subprocess where the server's own process must be measured).
Numbers that are not numbers, replayed session cookies, password guessing and spraying, huge
forms, slow texts on the keywords page."""

from __future__ import annotations

import re
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.ingest import SweepRecorder
from monitor.match_result import Extraction, MatchResult, TermHit

PASSWORDS = {"ada": "ada-admin-pass-1", "rita": "rita-review-pass", "vic": "vic-viewer-pass"}
HUGE = "9" * 30  # beyond SQLite's INTEGER


# --- a store, a server, a client ---------------------------------------------------------


def listing(site_id: str, title: str, text: str) -> dict:
    start = title.find("身份证")
    hits = [TermHit("身份证", "identity", 3.0, "title", start, start + 3, "身份证")]
    match = MatchResult(
        score=5.0,
        alert=True,
        categories=["identity"],
        hits=hits if start >= 0 else [],
        reasons=["data noun + sale signal"],
        extraction=Extraction(),
    )
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1:9/t/{site_id}",
        "title": title,
        "text": text,
        "seller": "老王",
        "price_text": None,
        "posted_at": None,
        "match": match,
        "pii": [],
    }


def build_store(db: Path) -> None:
    from monitor.store import open_store, utc_now
    from monitor.web.auth import hash_password

    for text in ("身份证 四件套 5000元", "身份证 四件套 3000元"):
        recorder = SweepRecorder(db, source="forum", kind="forum", url="http://127.0.0.1:9/")
        recorder.open()
        recorder.record(listing("1", "出 身份证 四件套", text))
        recorder.close({"finish_reason": "finished", "response_received_count": 1}, "finished")
    with open_store(db) as store:
        for name, role in (("ada", "admin"), ("rita", "reviewer"), ("vic", "viewer")):
            store.add_user(name, role, hash_password(PASSWORDS[name]), now=utc_now())


class Server:
    """uvicorn on 127.0.0.1, a free port, in a thread of this process."""

    def __init__(self, app) -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServeProcess:
    """`heishi serve` in its own process, as an operator runs it."""

    def __init__(self, db: Path, env: dict[str, str] | None = None) -> None:
        import os

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
            + ["serve", "--db", str(db), "--port", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )

    def __enter__(self) -> ServeProcess:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(self.url + "/login", timeout=2)
                return self
            except httpx.TransportError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.process.kill()
                    pytest.fail(f"heishi serve did not start: {self.process.stderr.read()}")
                time.sleep(0.1)

    def rss_kib(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', page).group(1)


def log_in(client: httpx.Client, name: str, password: str | None = None) -> httpx.Response:
    """Log in through the form, as a browser does: GET the form, POST it with its token."""
    form = client.get("/login")
    return client.post(
        "/login",
        data={"csrf": csrf_of(form.text), "name": name, "password": password or PASSWORDS[name]},
    )


def token(client: httpx.Client) -> str:
    return csrf_of(client.get("/").text)


@pytest.fixture(scope="module")
def web_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("hostile") / "heishi.db"
    build_store(db)
    return db


@pytest.fixture(scope="module")
def base_url(web_db) -> Iterator[str]:
    from monitor.web.app import create_app

    with Server(create_app(web_db)) as url:
        yield url


@pytest.fixture
def client(base_url) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as opened:
        yield opened


@pytest.fixture
def vic(client) -> httpx.Client:
    assert log_in(client, "vic").status_code == 303
    return client


@pytest.fixture
def rita(client) -> httpx.Client:
    assert log_in(client, "rita").status_code == 303
    return client


def alert_ids(db: Path) -> list[int]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM alerts ORDER BY id")]


# --- numbers that are not numbers (finding 13) -------------------------------------------


def test_digits_that_are_not_ascii_or_too_large_never_make_a_500(web_db, vic):
    first = alert_ids(web_db)[0]
    for path in (
        "/?page=²",
        "/?page=٣",
        f"/?page={HUGE}",
        f"/?page={'9' * 5000}",
        "/?per=²",
        f"/?per={HUGE}",
        f"/alerts/{first}?a=²&b=1",
        f"/alerts/{first}?a={HUGE}&b=1",
    ):
        answer = vic.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
    for path in (
        "/alerts/²",
        f"/alerts/{HUGE}",
        f"/alerts/{HUGE}/case.json",
        f"/alerts/{HUGE}/case",
        f"/evidence/{HUGE}/page",
        f"/evidence/{HUGE}/screenshot",
        "/evidence/²/page",
    ):
        answer = vic.get(path)
        assert answer.status_code == 404, (path, answer.status_code)


def events(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM alert_events").fetchone()[0]


def test_posted_ids_that_are_not_ascii_or_too_large_are_refused_not_a_500(web_db, rita):
    before = events(web_db)
    csrf = token(rita)
    answer = rita.post(
        "/alerts/bulk", data={"csrf": csrf, "ids": ["²", HUGE, "-1"], "action": "confirm"}
    )
    assert answer.status_code == 400 and "No alerts were ticked" in answer.text
    for action in ("triage", "note", "assign"):
        answer = rita.post(f"/alerts/{HUGE}/{action}", data={"csrf": csrf, "action": "confirm"})
        assert answer.status_code == 404, action
    assert events(web_db) == before


def test_whole_number_takes_ascii_digits_only_and_clamps_or_refuses_past_sqlite():
    from monitor.numbers import SQLITE_MAX_INTEGER, NotANumber, number_or, whole_number

    assert whole_number("0042") == 42
    assert whole_number(str(SQLITE_MAX_INTEGER)) == SQLITE_MAX_INTEGER
    for bad in ("", "²", "٣", "12a", "-1", "+1", " 1", "1.0", str(SQLITE_MAX_INTEGER + 1)):
        with pytest.raises(NotANumber):
            whole_number(bad)
    with pytest.raises(NotANumber):
        whole_number("0")  # ids and pages start at 1
    assert whole_number("9" * 10_000, clamp=True) == SQLITE_MAX_INTEGER
    assert whole_number("500", maximum=100, clamp=True) == 100
    assert number_or("²", 7) == 7


# --- passwords (finding 19) ----------------------------------------------------------------


def test_users_page_refuses_short_and_common_passwords(web_db, client):
    assert log_in(client, "ada").status_code == 303
    csrf = token(client)
    for name, password, reason in (
        ("nina", "short-pw1", "at least 10 characters"),
        ("nina", "Password123!", "most common"),
        ("nina", "1q2w3e4r5t", "most common"),
    ):
        answer = client.post(
            "/users",
            data={
                "csrf": csrf,
                "action": "add",
                "name": name,
                "role": "viewer",
                "password": password,
            },
        )
        assert answer.status_code == 400 and reason in answer.text, password
    answer = client.post(
        "/users", data={"csrf": csrf, "action": "update", "name": "vic", "password": "qwertyuiop"}
    )
    assert answer.status_code == 400
    with sqlite3.connect(web_db) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE name = 'nina'").fetchone() == (0,)
