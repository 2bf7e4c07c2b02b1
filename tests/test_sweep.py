"""`heishi sweep`: real crawl subprocesses against real local servers, and clear errors."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest

from tests.helpers import heishi


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_site(directory, name, body):
    directory.mkdir(exist_ok=True)
    path = directory / f"{name}.toml"
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.slow
def test_sweep_of_a_site_that_is_down_fails_clearly_and_raises_a_health_alert(tmp_path):
    sites = tmp_path / "sites"
    port = closed_port()
    write_site(
        sites,
        "gone_channel",
        f'name = "gone_channel"\nkind = "channel"\nstart_urls = ["http://127.0.0.1:{port}/s/x"]\nnetwork = {{ allow_private = true }}\n',
    )
    db = tmp_path / "heishi.db"
    env = {"HEISHI_SITES_DIR": str(sites), "HEISHI_RETRY_BACKOFF_BASE": "0.05"}
    result = heishi("sweep", "--db", str(db), "--create", "--json", env=env)
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    run = report["runs"][0]
    assert run["status"] == "failed"
    assert f"127.0.0.1:{port}/s/x" in run["error"]
    assert [a["kind"] for a in report["alerts"]] == ["source_failing"]
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT health FROM sources").fetchone() == ("failing",)
    logs = tmp_path / "heishi-logs" / "gone_channel.log"
    assert logs.exists() and "gone_channel" in logs.read_text()


@pytest.mark.slow
def test_sweep_with_a_malformed_site_file_names_the_file_and_key(tmp_path):
    sites = tmp_path / "sites"
    bad = write_site(
        sites,
        "broken",
        'name = "broken"\nkind = "forum"\npreset = "discuz"\nstart_urls = ["http://127.0.0.1/"]\nmax_pages = 0\n',
    )
    result = heishi(
        "sweep", "--db", str(tmp_path / "heishi.db"), env={"HEISHI_SITES_DIR": str(sites)}
    )
    assert result.returncode == 2
    assert f"{bad}:5 [max_pages]" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_sweep_of_an_unknown_source_lists_the_known_ones(tmp_path):
    result = heishi("sweep", "nosuchsite", "--db", str(tmp_path / "heishi.db"))
    assert result.returncode == 2
    assert "unknown source(s): nosuchsite" in result.stderr
    assert "demo_forum" in result.stderr


@pytest.mark.slow
def test_sweep_with_a_malformed_keyword_file_names_file_and_line_before_crawling(tmp_path):
    import shutil

    from monitor.config import keywords_dir

    keywords = tmp_path / "keywords"
    shutil.copytree(keywords_dir(), keywords)
    broken = keywords / "identity.toml"
    broken.write_text(broken.read_text(encoding="utf-8") + "\nthis is not toml\n", encoding="utf-8")
    db = tmp_path / "heishi.db"
    result = heishi(
        "sweep", "demo_forum", "--db", str(db), env={"HEISHI_KEYWORDS_DIR": str(keywords)}
    )
    assert result.returncode == 2
    assert f"{broken}:" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "heishi-logs").exists()  # no crawl was started
