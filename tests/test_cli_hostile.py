"""The command line against hostile listings: terminal escape sequences, bidi overrides and rich
markup in titles, texts, sellers and URLs reach the terminal as inert text; numbers that are not
numbers are usage errors, never tracebacks. Each test runs the real `heishi` in a subprocess and
reads the bytes it printed."""

from __future__ import annotations

import functools
import html
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.alerting.ingest import SweepRecorder
from monitor.matching.match_result import Extraction, MatchResult, Price, TermHit
from tests import helpers
from tests.helpers import HEISHI

# What a page can carry to a terminal: clear the screen, retitle the window, a hyperlink to
# elsewhere, a right-to-left override that reverses what follows, an 8-bit CSI, and markup
# and an emoji code for rich.
ESCAPES = "\x1b[2J\x1b]0;pwned\x07\x1b]8;;http://evil.example/\x1b\\点我\x1b]8;;\x1b\\"
BIDI = "\u202egpj.exe\u202c"
MARKUP = "[bold red]LOUD[/bold red]"
HOSTILE_TITLE = f"出售 身份证 {ESCAPES} {BIDI} {MARKUP} :warning: \x9b31m"
HOSTILE_TEXT = f"身份证 四件套 {ESCAPES}\r覆盖 {BIDI} [link=http://evil.example/]点[/link]"
NEVER_PRINTED = ("\x1b", "\x9b", "\u202e", "\u202c", "\x07", "\r")

# Bytes, as hostile output may not be UTF-8; wide, so no table cell is cut.
heishi = functools.partial(helpers.heishi, text=False, columns=400)


def hostile_item(site_id: str, price_text: str) -> dict:
    start = HOSTILE_TITLE.index("身份证")
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1:9/t/{site_id}\x1b[31m[red]",
        "title": HOSTILE_TITLE,
        "text": HOSTILE_TEXT,
        "seller": f"[blink]老王[/blink]{BIDI}",
        "price_text": price_text,
        "posted_at": None,
        "match": MatchResult(
            score=6.0,
            alert=True,
            categories=["identity"],
            hits=[TermHit("身份证", "identity", 3.0, "title", start, start + 3, "身份证")],
            reasons=["data noun + sale signal"],
            extraction=Extraction(
                prices=[Price(float(price_text.split("元")[0][-4:]), "CNY", None, price_text)]
            ),
        ),
        "pii": [],
    }


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("cli-hostile") / "heishi.db"
    for price in (f"5000元{ESCAPES}", f"3000元 {MARKUP}"):
        recorder = SweepRecorder(db, source="forum", kind="forum", url="http://127.0.0.1:9/")
        recorder.open()
        recorder.record(hostile_item("1", price))
        recorder.close({"finish_reason": "finished", "response_received_count": 1}, "finished")
    return db


def assert_inert(output: bytes) -> str:
    """Nothing in `output` acts on a terminal, and the markup is shown as it was written."""
    text = output.decode("utf-8")
    for character in NEVER_PRINTED:
        assert character not in text, f"{character!r} printed raw"
    return text


def test_alerts_prints_hostile_titles_as_inert_text(hostile_db):
    result = heishi("alerts", "--db", str(hostile_db))
    assert result.returncode == 0, result.stderr
    text = assert_inert(result.stdout)
    assert MARKUP in text and ":warning:" in text and "⚠" not in text
    assert "gpj.exe" in text  # shown, in the order it was written


def test_alert_show_prints_title_text_seller_url_and_diff_as_inert_text(hostile_db):
    with sqlite3.connect(hostile_db) as conn:
        changed = conn.execute("SELECT id FROM alerts WHERE kind = 'changed'").fetchone()[0]
    result = heishi("alert", "show", str(changed), "--db", str(hostile_db))
    assert result.returncode == 0, result.stderr
    text = assert_inert(result.stdout)
    assert MARKUP in text  # the title, and the price in the versions table
    assert "[red]" in text  # in the URL
    assert "3000元 [bold red]" in text


def test_history_and_search_print_hostile_titles_as_inert_text(hostile_db):
    history = heishi("history", "forum:1", "--db", str(hostile_db))
    assert history.returncode == 0, history.stderr
    assert MARKUP in assert_inert(history.stdout)
    found = heishi("search", "四件套", "--db", str(hostile_db))
    assert found.returncode == 0, found.stderr
    text = assert_inert(found.stdout)
    assert "[link=http://evil.example/]" in text and "gpj.exe" in text


def test_json_output_keeps_the_data_as_stored(hostile_db):
    result = heishi("alerts", "--db", str(hostile_db), "--json")
    titles = {json.loads(line)["title"] for line in result.stdout.decode().splitlines()}
    assert titles == {HOSTILE_TITLE}  # for scripts: exact; JSON escapes the C0 controls
    assert b"\x1b" not in result.stdout


def test_printable_replaces_controls_one_for_one_and_keeps_tabs_and_newlines():
    from monitor.render import printable

    assert printable("a\x1b[31mb\u202ec\td\ne\x9b") == "a\ufffd[31mb\ufffdc\td\ne\ufffd"
    assert len(printable(HOSTILE_TITLE)) == len(HOSTILE_TITLE)
    assert printable(None) == ""


# --- numbers that are not numbers (finding 13) -------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("alerts", "--limit", "²"),
        ("alerts", "--limit", "٣"),
        ("alerts", "--limit", "9" * 30),
        ("alerts", "--limit", "-1"),
        ("search", "身份证", "--limit", "9" * 30),
        ("alert", "show", "9" * 30),
        ("alert", "show", "²"),
        ("alert", "set", "9" * 30, "confirmed"),
        ("history", "²"),
        ("history", "9" * 30),
    ],
)
def test_numbers_that_are_not_ascii_or_too_large_are_usage_errors(hostile_db, args):
    result = heishi(*args, "--db", str(hostile_db))
    assert result.returncode == 2, result.stderr
    assert b"Traceback" not in result.stderr
    assert b"whole number" in result.stderr or b"no listing" in result.stderr


# --- a real sweep of a hostile page -------------------------------------------------------


def channel_page(text: str) -> str:
    """A Telegram channel preview (the markup of t.me/s/NAME) with one message."""
    body = html.escape(text, quote=False).replace("\n", "<br/>")
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>Channel</title></head>
<body class="tgme_webpreview_body"><main class="tgme_main">
<section class="tgme_channel_history js-message_history">
<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message js-widget_message" data-post="leaks/7">
<div class="tgme_widget_message_bubble">
<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/leaks"><span dir="auto">{html.escape(MARKUP)}</span></a></div>
<div class="tgme_widget_message_text js-message_text" dir="auto">{body}</div>
<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info"><span class="tgme_widget_message_views">1.2K</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/leaks/7"><time datetime="2026-11-20T08:00:00+00:00" class="time">08:00</time></a></span></div></div>
</div></div></div>
</section></main></body></html>"""


HOSTILE_CHANNEL_TITLE = f"出售 身份证 四件套 {BIDI} {MARKUP} \x1b]0;pwned\x07"


def sweep_hostile_channel(tmp_path: Path, db: Path, umask: int = -1):
    """`heishi sweep` of a local channel whose one message is hostile."""
    from monitor.demo.local_server import LocalServer, html_page
    from tests.servers import write_site

    text = f"{HOSTILE_CHANNEL_TITLE}\n全新 身份证 四件套 现货 3000元 一套 {ESCAPES} 联系 @leaks_bot"
    with LocalServer({"/s/leaks": html_page(channel_page(text))}) as site:
        sites = tmp_path / "sites"
        write_site(
            sites,
            "leaks",
            f'name = "leaks"\nkind = "channel"\nstart_urls = ["{site.url}/s/leaks"]\n'
            "autothrottle = false\nmax_pages = 1\nnetwork = { allow_private = true }\n",
        )
        return heishi(
            "sweep", "--db", str(db), "--create", env={"HEISHI_SITES_DIR": str(sites)}, umask=umask
        )


@pytest.mark.slow
def test_sweep_of_a_hostile_page_prints_its_listing_as_inert_text(tmp_path):
    result = sweep_hostile_channel(tmp_path, tmp_path / "heishi.db")
    assert result.returncode == 0, result.stderr
    shown = assert_inert(result.stdout)
    assert "gpj.exe" in shown and MARKUP in shown  # the listing was alerted on, and printed


# --- passwords (finding 19) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("nine-char", "at least 10 characters"),
        ("password123", "most common"),
        ("Password2026!", "most common"),
        ("qwertyuiop", "most common"),
        ("woaini1314", "most common"),
        ("1212121212", "most common"),
        ("abababababab", "4 different characters"),
        ("!!Password!!99", "most common"),
        ("i-am-kim-the-analyst", "user's name"),
    ],
)
@pytest.mark.slow
def test_users_add_refuses_short_and_common_passwords_clearly(tmp_path, password, reason):
    db = tmp_path / "heishi.db"
    result = subprocess.run(
        [*HEISHI] + ["users", "add", "kim", "--role", "admin", "--password-stdin", "--db", str(db)],
        input=f"{password}\n".encode(),
        capture_output=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert reason in result.stderr.decode() and b"Traceback" not in result.stderr
    assert not db.exists() or not sqlite3.connect(db).execute("SELECT * FROM users").fetchall()


@pytest.mark.slow
def test_users_password_changes_it_with_the_same_rules(tmp_path):
    from monitor.store import open_store
    from monitor.web.auth import verify_password

    db = tmp_path / "heishi.db"

    def users(*args: str, password: str) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*HEISHI] + ["users", *args, "--password-stdin", "--db", str(db)],
            input=f"{password}\n".encode(),
            capture_output=True,
            timeout=60,
        )

    created = users("add", "kim", "--role", "viewer", "--create", password="plum tree harbour")
    assert created.returncode == 0, created.stderr
    refused = users("password", "kim", password="letmein123")
    assert refused.returncode == 2 and b"most common" in refused.stderr
    assert users("password", "kim", password="quiet lantern orbit").returncode == 0
    with open_store(db, readonly=True) as store:
        assert verify_password("quiet lantern orbit", store.review.user("kim")["password_hash"])
    assert users("password", "nobody", password="quiet lantern orbit").returncode == 2


@pytest.mark.slow
def test_alert_show_and_history_diff_repetitive_text_in_bounded_time(tmp_path):
    import time

    db = tmp_path / "heishi.db"
    for text in ("a " * 8000, "a " * 4000 + "b " + "a " * 3999):
        recorder = SweepRecorder(db, source="forum", kind="forum", url="http://127.0.0.1:9/")
        recorder.open()
        item = hostile_item("1", "5000元")
        recorder.record({**item, "title": "出售 身份证 " + "a b " * 600, "text": text})
        recorder.close({"finish_reason": "finished", "response_received_count": 1}, "finished")
    with sqlite3.connect(db) as conn:
        changed = conn.execute("SELECT id FROM alerts WHERE kind = 'changed'").fetchone()[0]
    for args in (("alert", "show", str(changed)), ("history", "forum:1")):
        started = time.monotonic()
        result = heishi(*args, "--db", str(db))
        took = time.monotonic() - started
        assert result.returncode == 0, result.stderr
        assert took < 15, f"{args[0]} took {took:.0f} s"
        assert "+b" in result.stdout.decode() or "→b" in result.stdout.decode()


# --- file modes (finding 14) ---------------------------------------------------------------


def modes(root: Path, skip: set[str]) -> dict[str, str]:
    """Every file and folder under `root` (but `skip`) with its mode, as `0o600`."""
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if relative.parts[0] in skip:
            continue
        found[str(relative)] = oct(path.stat().st_mode & 0o777)
    return found


@pytest.mark.slow
def test_what_heishi_writes_is_private_whatever_the_umask(tmp_path):
    import stat

    from monitor.store import open_store

    db = tmp_path / "data" / "heishi.db"
    swept = sweep_hostile_channel(tmp_path, db, umask=0o022)
    assert swept.returncode == 0, swept.stderr
    exported = heishi(
        "export",
        "--format",
        "csv",
        "--db",
        str(db),
        "-o",
        str(tmp_path / "out" / "a.csv"),
        umask=0o022,
    )
    assert exported.returncode == 0, exported.stderr
    # The library on its own (no `heishi` entry point): the web app's store and key.
    library = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from monitor.web.app import create_app; create_app(sys.argv[1])",
            str(tmp_path / "web" / "heishi.db"),
        ],
        capture_output=True,
        umask=0o022,
        timeout=120,
    )
    assert library.returncode == 0, library.stderr
    found = modes(tmp_path, skip={"sites"})
    assert {"data/heishi-logs/leaks.log", "data/heishi-evidence", "out/a.csv"} <= set(found)
    assert "web/heishi-web.key" in found and "web/heishi.db" in found
    wrong = {
        name: mode
        for name, mode in found.items()
        if mode != ("0o700" if (tmp_path / name).is_dir() else "0o600")
    }
    assert wrong == {}
    # The WAL and shared-memory files take the store's mode while it is open.
    previous = os.umask(0o022)
    try:
        with open_store(db) as store, store.transaction():
            store.conn.execute("UPDATE alerts SET status = status")
            for suffix in ("-wal", "-shm"):
                wal = Path(f"{db}{suffix}")
                assert stat.S_IMODE(wal.stat().st_mode) == 0o600, suffix
    finally:
        os.umask(previous)


def test_an_older_world_readable_store_is_closed_to_others(tmp_path):
    import stat

    from monitor.store import open_store

    db = tmp_path / "heishi.db"
    open_store(db).close()
    db.chmod(0o644)
    open_store(db).close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o640  # a group the operator chose may still read
