"""Evidence a reviewer can use: the crawler's screenshots draw Chinese (a CJK font is
installed: pixels checked, not boxes), and the alert page says which address each piece of
evidence shows and when it was fetched. Real Chromium, real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.web_server import PNG, Server, item, record_sweep

pytestmark = pytest.mark.browser

PASSWORD = "evidence-pass-1"
FETCHED_AT = "2026-11-23T08:00:00Z"


# --- pixels ------------------------------------------------------------------------------


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit, non-interlaced RGB or RGBA PNG (as Chromium writes them) as a grey array."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, [], None
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and not interlace, header
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * channels
    rows = np.zeros((height, stride), dtype=np.int32)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).astype(np.int32)
        if kind == 1 or kind == 3 or kind == 4:  # each byte depends on the one to its left
            out = line.copy()
            for x in range(stride):
                left = out[x - channels] if x >= channels else 0
                up = previous[x]
                corner = previous[x - channels] if x >= channels else 0
                if kind == 1:
                    guess = left
                elif kind == 3:
                    guess = (left + up) // 2
                else:
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    guess = left if pa <= pb and pa <= pc else (up if pb <= pc else corner)
                out[x] = (line[x] + guess) & 0xFF
            line = out
        elif kind == 2:
            line = (line + previous) & 0xFF
        rows[y] = line
        previous = line
    pixels = rows.reshape(height, width, channels)[:, :, :3]
    return pixels.mean(axis=2)


def ink(grey: np.ndarray, box: dict) -> np.ndarray:
    """The dark pixels (text) of a box of the picture, as booleans."""
    x, y = int(box["x"]), int(box["y"])
    crop = grey[y : y + int(box["height"]), x : x + int(box["width"])]
    return crop < 128


SPECIMEN = """<!doctype html><meta charset="utf-8"><style>
body { margin: 0; background: #fff; color: #000; font: 48px sans-serif; }
span { display: inline-block; width: 60px; height: 64px; text-align: center; line-height: 64px; }
</style>
<p><span id="a1">身</span><span id="a2">份</span><span id="a3">证</span></p>
<p><span id="b1">四</span><span id="b2">件</span><span id="b3">套</span></p>
<p><span id="c1">身</span><span id="u1">\ue000</span><span id="u2">\ue001</span></p>"""


def test_the_crawlers_screenshots_draw_chinese_characters_not_empty_boxes():
    from playwright.async_api import async_playwright

    from spiders.screenshots import masked_screenshot
    from spiders.settings import PLAYWRIGHT_LAUNCH_OPTIONS

    async def shoot() -> tuple[bytes, dict]:
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(**PLAYWRIGHT_LAUNCH_OPTIONS)
            page = await browser.new_page(viewport={"width": 240, "height": 260})
            await page.set_content(SPECIMEN)
            boxes = {
                name: await page.locator(f"#{name}").bounding_box()
                for name in ("a1", "a2", "a3", "b1", "b2", "b3", "c1", "u1", "u2")
            }
            shot = await masked_screenshot(page)  # the evidence screenshot's own code path
            await browser.close()
            return shot.png, boxes

    png, boxes = asyncio.run(shoot())
    grey = decode_png(png)
    cells = {name: ink(grey, box) for name, box in boxes.items()}
    # Control: two characters no installed font has are drawn as the same empty box, so
    # comparing cells tells glyphs from boxes.
    assert np.array_equal(cells["u1"], cells["u2"]) and cells["u1"].sum() > 0
    chinese = ["a1", "a2", "a3", "b1", "b2", "b3"]
    for name in chinese:
        assert cells[name].sum() > 3 * cells["u1"].sum(), name  # strokes, not an outline
    drawn = {cells[name].tobytes() for name in chinese}
    assert len(drawn) == len(chinese)  # six characters, six different glyphs
    assert np.array_equal(cells["a1"], cells["c1"])  # the same character, the same glyph


# --- the alert page ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def evidence_db(tmp_path_factory) -> Path:
    from monitor.store import open_store, utc_now
    from monitor.web.app import evidence_dir
    from monitor.web.auth import hash_password

    db = tmp_path_factory.mktemp("evidence") / "heishi.db"
    folder = evidence_dir(db) / "cd"
    folder.mkdir(parents=True)
    (folder / "shot.png").write_bytes(PNG)
    (folder / "page.html").write_bytes("<p>出售 身份证</p>".encode())
    refs = {
        "page": "cd/page.html",
        "screenshot": "cd/shot.png",
        "url": "http://127.0.0.1:9/thread-7-1-1.html",
        "screenshot_url": "http://127.0.0.1:9/thread-7-1-1.html#rendered",
        "fetched_at": FETCHED_AT,
        "encoding": "utf-8",
    }
    record_sweep(db, "forum", [
        item("7", "出售 身份证 四件套", "身份证 四件套 现货", evidence=refs,
             terms=[("身份证", "identity"), ("四件套", "identity")]),
    ])  # fmt: skip
    with open_store(db) as store:
        store.review.add_user("rita", "reviewer", hash_password(PASSWORD), now=utc_now())
    with sqlite3.connect(db) as conn:
        stored = json.loads(conn.execute("SELECT evidence FROM listing_versions").fetchone()[0])
    assert stored["fetched_at"] == FETCHED_AT
    return db


@pytest.fixture(scope="module")
def evidence_url(evidence_db) -> Iterator[str]:
    with Server(evidence_db) as url:
        yield url


def test_the_alert_page_names_the_address_and_fetch_time_of_each_piece_of_evidence(
    evidence_url,
    evidence_db,
    chromium,
):
    page = chromium.new_context(locale="zh-CN").new_page()
    page.set_default_timeout(10_000)
    page.goto(evidence_url + "/login")
    page.fill("input[name=name]", "rita")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    with sqlite3.connect(evidence_db) as conn:
        alert = conn.execute("SELECT id FROM alerts").fetchone()[0]
    page.goto(evidence_url + f"/alerts/{alert}")
    shot = page.locator("#screenshot-provenance").inner_text()
    assert "http://127.0.0.1:9/thread-7-1-1.html#rendered" in shot
    assert "2026-11-23 16:00 UTC+8" in shot
    fetched = page.locator("#page-provenance").inner_text()
    assert "抓取网址" in fetched and "http://127.0.0.1:9/thread-7-1-1.html" in fetched
    assert "2026-11-23 16:00 UTC+8" in fetched
    assert page.frame_locator("iframe.raw-page").locator("p").inner_text() == "出售 身份证"
    page.goto(evidence_url + f"/alerts/{alert}/case")
    kept = page.locator(".case section", has_text="留存的证据").inner_text()
    assert "http://127.0.0.1:9/thread-7-1-1.html#rendered" in kept
    assert "2026-11-23 16:00 UTC+8" in kept
    page.context.close()
