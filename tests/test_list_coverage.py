"""A sweep that read less of a source's list than the last complete one (list pages that
answer 200 with no rows, a pager that vanished) is partial: it removes nothing, raises no
removed alerts and flags the source, unless the site file says the list may shrink. Real
crawls (`heishi sweep`) of a real local Discuz! board whose pages change between sweeps."""

from __future__ import annotations

import json

import pytest

from monitor.demo.discuz_pages import discuz_board, discuz_removed, discuz_thread
from monitor.demo.local_server import LocalServer, html_page
from tests.helpers import heishi_here, query
from tests.servers import write_site

pytestmark = pytest.mark.slow

BOARD = "/forum.php?mod=forumdisplay&fid=2"
PAGES = 3
PER_PAGE = 5
SITE = """
name = "shrinking"
kind = "forum"
preset = "discuz"
autothrottle = false
network = { allow_private = true }
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
max_pages = 5
"""


def threads(page: int) -> list[dict]:
    return [
        {
            "tid": 100 + (page - 1) * PER_PAGE + n,
            "title": f"出售 全国 身份证 四件套 第{page}页{n}号",
            "author": "老王",
        }
        for n in range(PER_PAGE)
    ]


def gbk(text: str) -> object:
    return html_page(text, charset="gbk", encoding="gb18030")


class Board:
    """A board of PAGES pages; `board.pages` is what the server answers, changed in place."""

    def __init__(self) -> None:
        self.pages: dict[str, object] = {}
        for page in range(1, PAGES + 1):
            for t in threads(page):
                path = f"/forum.php?mod=viewthread&tid={t['tid']}&extra=page%3D{page}"
                text = (
                    f"出售全国身份证四件套 第{t['tid']}批\n一手货源，可验\n联系QQ：8866{t['tid']}"
                )
                self.pages[path] = gbk(
                    discuz_thread(t["tid"], t["title"], t["author"], "2024-5-1 12:30", text)
                )
        self.whole()

    def list_page(self, page: int, rows: list[dict], last: int) -> None:
        path = BOARD if page == 1 else f"{BOARD}&page={page}"
        self.pages[path] = gbk(discuz_board(rows, page, last))

    def whole(self) -> None:
        for page in range(1, PAGES + 1):
            self.list_page(page, threads(page), PAGES)

    def later_pages_empty(self) -> None:
        """Pages 2 and 3 answer 200 with the board's frame and pager, and no rows."""
        for page in range(2, PAGES + 1):
            self.list_page(page, [], PAGES)

    def pager_gone(self) -> None:
        """Page 1 shows its rows but no link to page 2."""
        self.list_page(1, threads(1), 1)


def sweep(tmp_path, server, db) -> dict:
    """`heishi sweep` in this process (no interpreter start-up); its crawl has its own."""
    result = heishi_here(
        "sweep",
        "shrinking",
        "--db",
        str(db),
        "--create",
        "--json",
        env={"HEISHI_SITES_DIR": str(tmp_path / "sites"), "FIXTURE_URL": server.url},
    )
    assert result.stdout, result.stderr
    report = json.loads(result.stdout)
    return {"code": result.returncode, "run": report["runs"][0], "alerts": report["alerts"]}


def live(db) -> int:
    return query(db, "SELECT count(*) FROM listings WHERE status = 'live'")[0][0]


def test_list_pages_that_go_empty_or_a_pager_that_vanishes_remove_nothing(tmp_path):
    write_site(tmp_path / "sites", "shrinking", SITE)
    db = tmp_path / "heishi.db"
    board = Board()
    with LocalServer(board.pages) as server:
        board.pages = server.pages  # the server's own dict, changed in place between sweeps
        first = sweep(tmp_path, server, db)
        assert first["run"]["status"] == "ok", first
        assert live(db) == PAGES * PER_PAGE
        assert {a["kind"] for a in first["alerts"]} == {"new"}

        board.later_pages_empty()
        empty = sweep(tmp_path, server, db)
        assert live(db) == PAGES * PER_PAGE  # nothing removed
        assert not [a for a in empty["alerts"] if a["kind"] == "removed"]
        assert empty["run"]["status"] == "partial" and empty["run"]["removed"] == 0
        assert "2 list page(s) had no listings" in empty["run"]["error"]
        assert (first["run"]["list_pages"], empty["run"]["empty_list_pages"]) == (PAGES, 2)
        # The source's health names the cause (monitor.running.source_health).
        assert query(db, "SELECT health FROM sources") == [("changed_shape",)]

        board.whole()
        board.pager_gone()
        no_pager = sweep(tmp_path, server, db)
        assert live(db) == PAGES * PER_PAGE
        assert not [a for a in no_pager["alerts"] if a["kind"] == "removed"]
        assert no_pager["run"]["status"] == "partial" and no_pager["run"]["removed"] == 0
        assert (
            "read 1 list page(s) where the last complete sweep read 3" in no_pager["run"]["error"]
        )
        # One open alert says the source's list changed shape (not one per partial sweep).
        shape = query(db, "SELECT status FROM alerts WHERE kind = 'source_changed_shape'")
        assert shape == [("open",)]

        board.whole()
        back = sweep(tmp_path, server, db)
        assert back["run"]["status"] == "ok" and back["run"]["removed"] == 0
        assert query(db, "SELECT health FROM sources") == [("ok",)]
        assert query(db, "SELECT status FROM alerts WHERE kind = 'source_changed_shape'") == [
            ("resolved",)
        ]
    assert query(db, "SELECT count(*) FROM alerts WHERE kind IN ('removed', 'relisted')") == [(0,)]


def test_a_list_that_may_shrink_removes_what_left_it(tmp_path):
    write_site(tmp_path / "sites", "shrinking", SITE + "list_may_shrink = true\n")
    db = tmp_path / "heishi.db"
    board = Board()
    with LocalServer(board.pages) as server:
        board.pages = server.pages  # the server's own dict, changed in place between sweeps
        assert sweep(tmp_path, server, db)["run"]["status"] == "ok"
        board.pager_gone()  # the board really lost its older threads: their pages say so
        for page in range(2, PAGES + 1):
            for t in threads(page):
                path = f"/forum.php?mod=viewthread&tid={t['tid']}&extra=page%3D{page}"
                board.pages[path] = gbk(discuz_removed())
        shrunk = sweep(tmp_path, server, db)
    assert shrunk["run"]["status"] == "ok"
    assert shrunk["run"]["removed"] == (PAGES - 1) * PER_PAGE
    assert live(db) == PER_PAGE


def test_a_listing_missing_from_the_list_is_checked_on_its_own_page_before_it_is_removed(
    tmp_path,
):
    write_site(tmp_path / "sites", "shrinking", SITE)
    db = tmp_path / "heishi.db"
    board = Board()
    with LocalServer(board.pages) as server:
        board.pages = server.pages
        assert sweep(tmp_path, server, db)["run"]["status"] == "ok"
        # The board shifted while it was read: thread 100 was bumped to a page the crawl had
        # already read, so no list page it read shows it; its thread page is still there.
        # Thread 101 was deleted: its thread page says so.
        rows = [t for t in threads(1) if t["tid"] not in (100, 101)]
        board.list_page(1, rows, PAGES)
        deleted = "/forum.php?mod=viewthread&tid=101&extra=page%3D1"
        board.pages[deleted] = gbk(discuz_removed())
        after = sweep(tmp_path, server, db)
    run = after["run"]
    assert (run["status"], run["removed"]) == ("ok", 1)
    stats = json.loads(run["stats"])
    assert (stats["heishi/removal_checks"], stats["heishi/removal_checks_still_there"]) == (2, 1)
    status = dict(query(db, "SELECT site_id, status FROM listings WHERE site_id IN ('100', '101')"))
    assert status == {"100": "live", "101": "removed"}
    assert [a["kind"] for a in after["alerts"]] == ["removed"]
