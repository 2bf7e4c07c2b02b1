"""`heishi sources check NAME`: the first page of a source, field by field, nothing stored."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from monitor.demo.local_server import LocalServer
from tests.servers import PROJECT_ROOT, write_site
from tests.test_spiders import BOARD, FORUM_SITE, forum_pages


def heishi(*args, env):
    return subprocess.run(
        [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())", *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "COLUMNS": "160", **env},
        timeout=120,
    )


def test_check_shows_the_first_listings_field_by_field_and_stores_nothing(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "fixture_forum", FORUM_SITE)
    env = {"HEISHI_SITES_DIR": str(sites), "HEISHI_DB": str(tmp_path / "heishi.db")}
    with LocalServer(forum_pages()) as server:
        env["FIXTURE_URL"] = server.url
        shown = heishi("sources", "check", "fixture_forum", "--rows", "2", env=env)
        as_json = heishi("sources", "check", "fixture_forum", "--rows", "1", "--json", env=env)
        hits = dict(server.hits)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert "fixture_forum (forum)" in out and "2 item row(s)" in out
    assert "listing 1" in out and "listing 2" in out and "listing 3" not in out
    assert "出售 全国 身份证 四件套" in out and "老王" in out and "2024-05-01T12:30:00" in out
    assert "page=2" in out  # the next page it would follow
    result = json.loads(as_json.stdout)
    assert result["rows"] == 2 and len(result["items"]) == 1
    item = result["items"][0]
    assert item["site_id"] == "101" and item["replies"] == 3 and item["views"] == 1200
    assert item["text"].startswith("出售全国身份证四件套")
    # Only the first board page and the listings asked for; no store was written.
    assert hits.get(f"{BOARD}&page=2") is None
    assert not (tmp_path / "heishi.db").exists()


def test_check_fails_clearly_when_nothing_parses(tmp_path):
    sites = tmp_path / "sites"
    write_site(
        sites,
        "fixture_forum",
        FORUM_SITE + '\n[selectors]\nitem = "table.threads tr"\n',
    )
    env = {"HEISHI_SITES_DIR": str(sites), "HEISHI_DB": str(tmp_path / "heishi.db")}
    with LocalServer(forum_pages()) as server:
        env["FIXTURE_URL"] = server.url
        run = heishi("sources", "check", "fixture_forum", env=env)
    assert run.returncode != 0
    assert "nothing parsed from fixture_forum" in run.stderr
    assert "selectors.item" in run.stderr
    assert "0 item row(s)" in run.stdout

    unknown = heishi("sources", "check", "nothing_here", env=env)
    assert unknown.returncode == 2
    assert "no site file defines this source" in unknown.stderr
