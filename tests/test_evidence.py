"""Evidence: the page (masked, compressed) and screenshot of every matched listing, kept in a
content-addressed folder beside the store and referenced from the listing's version."""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import re
import sqlite3

import pytest

from monitor.demo.discuz_pages import discuz_board, discuz_thread
from monitor.demo.local_server import LocalServer, html_page
from monitor.running.evidence import evidence_dir, read_blob, read_page, write_blob, write_page
from tests.servers import run_crawl, telegram_page, write_site

pytestmark = pytest.mark.browser

PHONE = "13812345678"
SALE = f"出售全国身份证四件套，一手货源，可验\n手机 {PHONE} 联系QQ 88661234"
TROUSERS = "九成新牛仔裤子转让，腰围30"


def test_blobs_are_named_by_their_content_and_stored_once(tmp_path):
    assert evidence_dir(tmp_path / "heishi.db") == tmp_path / "heishi-evidence"
    content = "<html>出售</html>".encode()
    digest = hashlib.sha256(content).hexdigest()
    first = write_blob(tmp_path, content, ".html.gz")
    assert first == f"{digest[:2]}/{digest}.html.gz"
    assert write_blob(tmp_path, content, ".html.gz") == first
    assert gzip.decompress((tmp_path / first).read_bytes()) == content
    assert read_blob(tmp_path, first) == content
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [f"{digest}.html.gz"]


def test_a_blob_that_does_not_match_its_name_or_escapes_the_folder_is_refused(tmp_path):
    relative = write_blob(tmp_path, b"\x89PNG fake", ".png")
    (tmp_path / relative).write_bytes(b"tampered")
    with pytest.raises(ValueError, match="does not match"):
        read_blob(tmp_path, relative)
    with pytest.raises(ValueError, match="not inside"):
        read_blob(tmp_path / "sub", "../" + relative)


def test_a_page_is_masked_before_it_is_stored_in_its_own_charset(tmp_path):
    page = f'<meta charset="gbk"><p>{SALE}</p>'
    relative, masked = write_page(tmp_path, page, "gb18030", b"k" * 32)
    assert masked == 1
    raw = gzip.decompress((tmp_path / relative).read_bytes())
    assert PHONE.encode() not in raw
    text = raw.decode("gb18030")
    assert "13*******78" in text
    assert "身份证四件套" in text


def test_a_page_is_masked_from_its_parsed_document_not_its_markup(tmp_path):
    page = (
        "<!DOCTYPE html><html><head><title>出售 13912345678</title>"
        '<style>p::after { content: "13712345678"; }</style></head><body>'
        "<p>手机 139<b></b>1234<!-- -->5678，备用 &#49;&#x33;&#56;1234&nbsp;5678</p>"
        "<p>卡号 6222   0212\n3456  7890  128</p><xmp>电话 <i>136</i>12345678</xmp>"
        '<img alt="ID 11010519491231002X" src="data:image/svg+xml,<svg><text>135</text></svg>">'
        '<input value="１３５１２３４５６７８" onfocus="alert(13412345678)">'
        '<a href="tel:+8613312345678" data-x="<b>132</b>12345678">电话</a>'
        "<script>document.write('13112345678')</script><!-- 15012345678 --></body></html>"
    )
    relative, masked = write_page(tmp_path, page, "utf-8", b"k" * 32)
    stored = read_blob(tmp_path, relative).decode()
    assert masked == 10
    assert stored.startswith("<!DOCTYPE html>")
    for clear in ("13912345678", "13812345678", "6222021234567890128", "13612345678",
                  "11010519491231002X", "13512345678", "13312345678", "13212345678",
                  "13712345678", "13112345678", "13412345678", "15012345678"):  # fmt: skip
        digits = re.sub(r"<[^>]*>|[^0-9X]", "", html.unescape(stored.replace("１", "1")))
        assert clear not in digits
    assert "<script" not in stored and "<style" not in stored and "onfocus" not in stored
    assert "data:image/svg" not in stored
    assert "手机 13*<b></b>****<!-- -->**78" in stored and "出售 13*******78" in stored
    assert 'alt="ID 11**************2X"' in stored and 'href="tel:+8613*******78"' in stored


def test_a_page_that_is_not_markup_is_masked_as_text(tmp_path):
    relative, masked = write_page(tmp_path, "paste 138 0013 8000\n&#49;3900139000", "utf-8", b"k")
    assert masked == 2
    assert read_blob(tmp_path, relative).decode() == "paste 13* **** **00\n&#49;3*******00"


def test_a_page_stored_again_is_found_not_masked_again_unless_its_blob_is_gone(tmp_path):
    page = f"<p>{SALE}</p>"
    first = write_page(tmp_path, page, "utf-8", b"k" * 32)
    assert write_page(tmp_path, page, "utf-8", b"k" * 32) == first
    (tmp_path / first[0]).unlink()  # a pruned blob is written again, not pointed at
    assert write_page(tmp_path, page, "utf-8", b"k" * 32) == first
    assert (tmp_path / first[0]).exists()
    # Another evidence directory stores the page itself, never points at this one's blob.
    other = write_page(tmp_path / "other", page, "utf-8", b"k" * 32)
    assert (tmp_path / "other" / other[0]).exists()
    assert PHONE.encode() not in gzip.decompress((tmp_path / "other" / other[0]).read_bytes())


FORUM_SITE = """
name = "evidence_forum"
kind = "forum"
preset = "discuz"
start_urls = ["${FIXTURE_URL}/forum.php?mod=forumdisplay&fid=2"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
"""


def forum_pages(sale_text: str = SALE) -> dict[str, object]:
    threads = [
        {"tid": 201, "title": "出售 全国 身份证 四件套", "author": "老王"},
        {"tid": 202, "title": "二手 裤子 转让", "author": "路人"},
    ]
    pages: dict[str, object] = {
        "/forum.php?mod=forumdisplay&fid=2": html_page(
            discuz_board(threads, 1, 1), charset="gbk", encoding="gb18030"
        )
    }
    for t, text in zip(threads, (sale_text, TROUSERS), strict=True):
        path = f"/forum.php?mod=viewthread&tid={t['tid']}&extra=page%3D1"
        body = discuz_thread(t["tid"], t["title"], t["author"], "2024-5-1 12:30", text)
        pages[path] = html_page(body, charset="gbk", encoding="gb18030")
    return pages


def versions(db):
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [
            dict(r)
            for r in conn.execute(
                "SELECT l.site_id, v.version, v.evidence FROM listing_versions v "
                "JOIN listings l ON l.id = v.listing_id ORDER BY l.site_id, v.version"
            )
        ]


def test_a_matched_listing_keeps_its_masked_page_and_an_unmatched_one_nothing(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "evidence_forum", FORUM_SITE)
    db = tmp_path / "store" / "heishi.db"
    with LocalServer(forum_pages()) as server:
        env = {"FIXTURE_URL": server.url}
        first = run_crawl("evidence_forum", tmp_path, sites_dir=sites, env=env, db=db)
        assert first.returncode == 0, first.stderr[-3000:]
        second = run_crawl("evidence_forum", tmp_path, sites_dir=sites, env=env, db=db)
        assert second.returncode == 0, second.stderr[-3000:]
        server.pages.update(forum_pages(SALE + "\n新增：量大从优"))
        third = run_crawl("evidence_forum", tmp_path, sites_dir=sites, env=env, db=db)
        assert third.returncode == 0, third.stderr[-3000:]
    rows = versions(db)
    # The unchanged second sweep made no version; the edit in the third made one.
    assert [(r["site_id"], r["version"]) for r in rows] == [("201", 1), ("201", 2), ("202", 1)]
    assert rows[2]["evidence"] is None  # the trousers did not match
    first_ref, edited_ref = (json.loads(r["evidence"]) for r in rows[:2])
    assert first_ref["url"].endswith("tid=201&extra=page%3D1")
    assert first_ref["screenshot"] is None  # a plain HTTP page
    assert first_ref["fetched_at"].endswith("Z")
    assert first_ref["page"] != edited_ref["page"]
    folder = evidence_dir(db)
    assert folder == tmp_path / "store" / "heishi-evidence"
    stored = read_page(db, first_ref)
    assert "身份证四件套" in stored and 'charset=gbk"' in stored
    assert PHONE not in stored and "13*******78" in stored
    for path in folder.rglob("*.gz"):
        assert PHONE.encode() not in gzip.decompress(path.read_bytes())
    assert len(list(folder.rglob("*.html.gz"))) == 2
    assert first.stats["heishi/evidence_pages"] == 1
    assert first.stats["heishi/evidence_pii_masked"] >= 1
    # Items exported by a feed never carry the page itself.
    assert all("page" not in item for item in first.items)


CHANNEL_SITE = """
name = "evidence_channel"
kind = "channel"
start_urls = ["${FIXTURE_URL}/s/shuju"]
network = { allow_private = true }  # the fixture site is on 127.0.0.1
render = true
wait_selector = "div.tgme_widget_message"
max_pages = 1
"""


def test_a_rendered_page_keeps_a_screenshot_with_personal_numbers_masked(tmp_path):
    sites = tmp_path / "sites"
    write_site(sites, "evidence_channel", CHANNEL_SITE)
    db = tmp_path / "heishi.db"
    messages = [{"id": 7, "text": SALE, "views": "1.2K"}, {"id": 8, "text": TROUSERS}]
    pages = {"/s/shuju": html_page(telegram_page("shuju", messages, before=None))}
    with LocalServer(pages) as server:
        run = run_crawl(
            "evidence_channel", tmp_path, sites_dir=sites, env={"FIXTURE_URL": server.url}, db=db
        )
    assert run.returncode == 0, run.stderr[-3000:]
    refs = {r["site_id"]: r["evidence"] for r in versions(db)}
    assert refs["8"] is None
    ref = json.loads(refs["7"])
    png = read_blob(evidence_dir(db), ref["screenshot"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and ref["screenshot"].endswith(".png")
    assert PHONE not in read_page(db, ref)
    # The DOM was masked for the picture only: the text read from the page still held the
    # number, so the store has its keyed hash.
    assert run.stats["heishi/evidence_screenshot_pii_masked"] >= 1
    with sqlite3.connect(db) as conn:
        kinds = [r[0] for r in conn.execute("SELECT kind FROM pii_hashes")]
    assert "phone" in kinds


def test_the_writer_and_a_crawl_keep_the_same_evidence_for_the_same_page(tmp_path):
    """A crawl's EvidencePipeline keeps a FetchedPage; the distributed writer keeps the page a
    worker sent through Redis as JSON. Both call keep_evidence: the same blobs, reference and
    counts."""
    from monitor.running import distributed as dist
    from monitor.running.evidence import keep_evidence
    from monitor.running.payload_signing import load_signer
    from spiders.items import FetchedPage
    from spiders.pipelines import EvidencePipeline

    class Counts(dict):
        def inc_value(self, name: str, count: int = 1) -> None:
            self[name] = self.get(name, 0) + count

    page = FetchedPage(
        url="http://127.0.0.1/thread-1.html",
        text=f"<html><body><p>{SALE}</p></body></html>",
        encoding="gbk",
        fetched_at="2026-12-02T00:00:00Z",
        screenshot=b"\x89PNG fake but stored as given",
        screenshot_masked=2,
        screenshot_url="http://127.0.0.1/list.html",
    )
    crawl_counts = Counts()
    pipeline = EvidencePipeline(tmp_path / "crawl", b"k" * 32, crawl_counts, (2, 2))

    class Matched:
        alert = True

    crawled = pipeline.process_item({"page": page, "match": Matched()})
    signer = load_signer()
    _, sent = dist.decode_item(
        signer, dist.encode_item(signer, "s1", {"site_id": "1", "page": page})
    )
    writer_counts = Counts()
    written = keep_evidence(tmp_path / "writer", sent["page"], b"k" * 32, (2, 2), writer_counts)
    assert "page" not in crawled and crawled["evidence"] == written
    assert written["screenshot"] and written["screenshot_url"] == "http://127.0.0.1/list.html"
    assert crawl_counts == writer_counts
    assert writer_counts["heishi/evidence_pii_masked"] == 1
    assert writer_counts["heishi/evidence_screenshot_pii_masked"] == 2
    for folder in ("crawl", "writer"):
        stored = read_blob(tmp_path / folder, written["page"]).decode("gbk")
        assert PHONE not in stored and "身份证四件套" in stored
