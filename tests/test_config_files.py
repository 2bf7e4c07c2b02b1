"""Configuration errors are one clear line naming file, line and key, never a traceback:
severity.toml and notify.toml checked key by key (types, ranges, known values, UTF-8), a
broken file stopping `heishi run` before it starts (and failing a crawl's run when it breaks
while the monitor runs), and a --db that is not a store, or is mistyped, refused."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess

import pytest

from monitor.alerting.notify_config import load_notify_config
from monitor.alerting.severity import load_rules
from monitor.demo.sites import DemoSites
from monitor.errors import ConfigError
from tests.test_cli import heishi as heishi_cli
from tests.test_ingest import listing, sweep
from tests.test_run import (
    child_env,
    heishi,
    runs_of,
    site_file,
    start_monitor,
    stop_monitor,
    wait_for,
    write_site,
)


def write(path, text: str | bytes):
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ('high_volume = "lots"\n', ":1 [high_volume]", "must be a whole number, not a string"),
        ("sensitive_volume = 0\n", ":1 [sensitive_volume]", "must be at least 1"),
        ('sensitive_categories = "identity"\n', ":1 [sensitive_categories]", "list of strings"),
        ('sensitive_categories = ["idnetity"]\n', ":1 [sensitive_categories]", "'idnetity'"),
        (
            'kind_floor = { source_failing = "urgent" }\n',
            ":1 [kind_floor.source_failing]",
            "not one of",
        ),
        ('kind_floor = { no_such_kind = "high" }\n', ":1 [kind_floor.no_such_kind]", "unknown key"),
        ("high_volume = 5\nhigh_volume_x = 3\n", ":2 [high_volume_x]", "unknown key"),
        (b"high_volume = 5\n# \xff\xfe gbk\n", ":2", "not UTF-8 text (byte 0xff)"),
        ("high_volume = \n", ":1", "not valid TOML"),
    ],
)
def test_a_broken_severity_file_names_file_line_and_key(tmp_path, text, where, says):
    path = write(tmp_path / "severity.toml", text)
    with pytest.raises(ConfigError) as raised:
        load_rules(path)
    assert str(raised.value).startswith(f"{path}{where}"), str(raised.value)
    assert says in str(raised.value)


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ('[settings]\nmax_attempts = "x"\n', ":2 [settings.max_attempts]", "whole number"),
        ("[settings]\nmax_attempts = 0\n", ":2 [settings.max_attempts]", "at least 1"),
        ("[settings]\nbackoff = -5\n", ":2 [settings.backoff]", "longer than zero"),
        ('[settings]\nbackoff = "soon"\n', ":2 [settings.backoff]", "not a duration"),
        (
            '[settings]\nbackoff = "1h"\nbackoff_max = "1m"\n',
            ":3 [settings.backoff_max]",
            "at least",
        ),
        (
            '[[routes]]\nurls = ["json://127.0.0.1/h"]\nkinds = "new"\n',
            ":3 [routes.kinds]",
            "not a string",
        ),
        (
            '[[routes]]\nurls = ["json://127.0.0.1/h"]\nkinds = ["nwe"]\n',
            ":3 [routes.kinds]",
            "'nwe'",
        ),
        (
            '[[routes]]\nurls = ["json://127.0.0.1/h"]\ncategories = ["x"]\n',
            ":3 [routes.categories]",
            "'x'",
        ),
        (
            '[[routes]]\nurls = ["json://127.0.0.1/h"]\nbrands_only = "yes"\n',
            ":3 [routes.brands_only]",
            "true or false",
        ),
        (
            '[[routes]]\nurls = ["json://127.0.0.1/h"]\ntimeout = 0\n',
            ":3 [routes.timeout]",
            "longer than zero",
        ),
        ('[[routes]]\nurls = "json://127.0.0.1/h"\n', ":2 [routes.urls]", "not a string"),
        (
            '[[routes]]\nname = "a"\nurls = ["json://127.0.0.1/h"]\n\n[[routes]]\nname = "b"\n'
            'urls = ["json://127.0.0.1/h"]\nmin_severity = "urgent"\n',
            ":8 [routes.min_severity]",
            "'urgent'",
        ),
        (b"[settings]\nbackoff = 30 # \xb3\xac\xca\xb1\n", ":2", "not UTF-8 text"),
    ],
)
def test_a_broken_notify_file_names_file_line_and_key(tmp_path, text, where, says):
    path = write(tmp_path / "notify.toml", text)
    with pytest.raises(ConfigError) as raised:
        load_notify_config(path)
    assert str(raised.value).startswith(f"{path}{where}"), str(raised.value)
    assert says in str(raised.value)


def test_heishi_run_refuses_to_start_with_a_broken_severity_file(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    severity = write(tmp_path / "severity.toml", 'high_volume = "lots"\n')
    with DemoSites(day=1) as demo:
        env = {**child_env(tmp_path, sites_dir, demo), "HEISHI_SEVERITY_FILE": str(severity)}
        write_site(
            sites_dir, "t_channel", site_file("demo_channel", "t_channel", 'interval = "1h"')
        )
        once = heishi(env, "run", "--once", "--db", str(db), "--create")
    assert once.returncode == 2, once.stderr
    assert f"{severity}:1 [high_volume]: must be a whole number" in once.stderr
    assert "Traceback" not in once.stderr


@pytest.mark.slow
def test_a_severity_file_broken_while_the_monitor_runs_fails_the_crawls_run(tmp_path):
    sites_dir, db = tmp_path / "sites", tmp_path / "heishi.db"
    severity = write(tmp_path / "severity.toml", "high_volume = 500000\n")
    with DemoSites(day=1) as demo:
        env = {**child_env(tmp_path, sites_dir, demo), "HEISHI_SEVERITY_FILE": str(severity)}
        write_site(
            sites_dir, "t_channel", site_file("demo_channel", "t_channel", 'interval = "2s"')
        )
        monitor = start_monitor(db, env, "--jitter", "0")
        try:
            wait_for(
                lambda: any(r["status"] == "ok" for r in runs_of(db, "t_channel")), 60, "a run"
            )
            write(severity, "high_volume = -1\n")
            wait_for(
                lambda: any(r["status"] == "failed" for r in runs_of(db, "t_channel")),
                60,
                "a failed run",
            )
            status = json.loads(heishi(env, "status", "--db", str(db), "--json").stdout)
        finally:
            stop_monitor(monitor)
    failed = next(r for r in runs_of(db, "t_channel") if r["status"] == "failed")
    assert failed["error"] == f"{severity}:1 [high_volume]: must be at least 1, not -1"
    [source] = status["sources"]
    assert source["health"] == "failing"


def test_a_store_that_is_not_sqlite_or_is_damaged_is_one_clear_error(tmp_path, db_path):
    sweep(db_path, [listing(str(i), f"身份证料 第{i}批") for i in range(50)])
    garbage = write(tmp_path / "notes.db", "these are my notes, not a store\n" * 200)
    truncated = tmp_path / "truncated.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    truncated.write_bytes(db_path.read_bytes()[:8192])
    for store in (garbage, truncated):
        for command in (["alerts"], ["notify", "status"], ["alert", "show", "1"]):
            result = heishi_cli(*command, "--db", str(store))
            assert result.returncode == 2, (command, result.stderr)
            assert result.stderr.startswith(f"heishi: error: store {store}"), result.stderr
            assert "Traceback" not in result.stderr


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder and a read-only view of it (a read-only bind mount: even root cannot write
    there); skipped where mounting is not allowed."""
    folder, view = tmp_path / "store", tmp_path / "ro"
    folder.mkdir()
    view.mkdir()
    bound = subprocess.run(["mount", "--bind", str(folder), str(view)], capture_output=True)
    if bound.returncode != 0:
        pytest.skip(f"cannot bind-mount here: {bound.stderr.decode().strip()}")
    try:
        made = subprocess.run(
            ["mount", "-o", "remount,bind,ro", str(view)], capture_output=True, text=True
        )
        if made.returncode != 0:
            pytest.skip(f"cannot make a read-only mount here: {made.stderr.strip()}")
        yield folder, view
    finally:
        subprocess.run(["umount", "-l", str(view)], check=False)


def test_a_read_only_store_is_read_and_not_a_traceback(db_path, read_only_folder):
    folder, view = read_only_folder
    sweep(db_path, [listing("1", "身份证四件套")])
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    shutil.copy(db_path, folder / "heishi.db")
    store = str(view / "heishi.db")
    listed = heishi_cli("alerts", "--db", store, "--json")
    outbox = heishi_cli("notify", "status", "--db", store)
    write_attempt = heishi_cli("alert", "set", "1", "confirmed", "--db", store)
    for result in (listed, outbox, write_attempt):
        assert "Traceback" not in result.stderr, result.stderr
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout.splitlines()[0])["kind"] == "new"
    assert outbox.returncode == 0, outbox.stderr
    assert write_attempt.returncode == 2 and "read-only" in write_attempt.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["sweep", "demo_forum"],
        ["run", "--once"],
        ["retrohunt"],
        ["notify", "send"],
    ],
)
def test_a_mistyped_db_is_refused_and_nothing_is_created(tmp_path, command):
    missing = tmp_path / "typo" / "heishi.db"
    result = heishi_cli(*command, "--db", str(missing))
    assert result.returncode == 2, result.stderr
    assert f"store {missing} does not exist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "typo").exists()


@pytest.mark.parametrize(
    ("raw", "line", "says"),
    [
        (b'name = "x"\n# \xb3\xac\xca\xb1\n', 2, "not UTF-8 text (byte 0xb3)"),
        (b'name = "x"\nkind = = 1\n', 2, "not valid TOML"),
    ],
)
def test_site_keyword_notify_and_severity_files_are_read_by_one_reader(tmp_path, raw, line, says):
    """The same broken bytes are the same error, with file and line, whichever file they are
    in (monitor.config_files.TomlFile reads them all)."""
    from monitor.errors import KeywordFileError, SiteFileError
    from monitor.matching.keywords import lint_keywords, load_keywords
    from monitor.sites import load_site

    site = write(tmp_path / "site.toml", raw)
    with pytest.raises(SiteFileError) as caught:
        load_site(site, env={})
    assert (caught.value.line, says in str(caught.value)) == (line, True)
    keywords = tmp_path / "keywords"
    keywords.mkdir()
    listed = write(keywords / "list.toml", raw)
    with pytest.raises(KeywordFileError) as caught:
        load_keywords(keywords, use_cache=False)
    assert str(caught.value).startswith(f"{listed}:{line}: ") and says in str(caught.value)
    assert lint_keywords(keywords) == [str(caught.value)]
    for name, load in (("severity.toml", load_rules), ("notify.toml", load_notify_config)):
        path = write(tmp_path / name, raw)
        with pytest.raises(ConfigError) as caught:
            load(path)
        assert str(caught.value).startswith(f"{path}:{line}: ") and says in str(caught.value)


def test_the_web_page_lists_keyword_terms_with_the_matchers_default_role(tmp_path, monkeypatch):
    """web/admin.py reads keyword files as the matcher does: a file without a category gives
    its terms the `generic` role, one with a category `data`."""
    from monitor.matching.keywords import load_keywords
    from monitor.web.admin import keyword_lists

    write(tmp_path / "a.toml", '[terms]\n"个人信息" = 1\n')
    write(tmp_path / "b.toml", 'category = "identity"\n[terms]\n"身份证" = { weight = 2 }\n')
    monkeypatch.setenv("HEISHI_KEYWORDS_DIR", str(tmp_path))
    lists, _ = keyword_lists()
    shown = {t["term"]: t["role"] for lst in lists for t in lst["terms"]}
    matcher = {e.term: e.role for e in load_keywords(tmp_path, use_cache=False).entries}
    assert shown == {"个人信息": "generic", "身份证": "data"} == {t: matcher[t] for t in shown}
