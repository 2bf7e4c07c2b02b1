"""A small store of ingested sweeps that the analyst tests (views, lookup, export, Datasette)
share: three sources, sellers and contacts seen on more than one, a price change, a removal,
numbers quoted in listings (masked at ingest with the install secret, as a crawl does)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.alerting.ingest import SweepRecorder
from monitor.config import install_secret
from monitor.matching.match_result import Contact, Extraction, MatchResult, Price, TermHit, Volume
from monitor.privacy.pii import mask_pii

OK_STATS = {"finish_reason": "finished", "response_received_count": 3}

# Test numbers (checksum-valid, not anyone's): quoted in listings, masked before storing.
PHONE = "13800138000"
ID_NUMBER = "11010519491231002X"
CARD = "6222021234567890128"
OLD_TIME = "2026-01-01T00:00:00Z"


def item(
    site_id: str,
    title: str,
    *,
    seller: str,
    categories: list[str],
    contacts: list[tuple[str, str]] = (),
    price: float | None = 800.0,
    volume: int | None = 300_000,
    text: str = "",
    matched: bool = True,
) -> dict:
    """A spider item with the match result the matcher would give, personal data masked."""
    raw_text = f"{title} {text}".strip()
    masked_text, hits = mask_pii(raw_text, install_secret())
    match = MatchResult(
        score=5.0 if matched else 0.5,
        alert=matched,
        categories=categories,
        hits=[TermHit("身份证", categories[0] if categories else None, 3.0, "title", 0, 2, "身份")]
        if matched
        else [],
        reasons=["data noun + sale signal"] if matched else [],
        extraction=Extraction(
            prices=[Price(price, "CNY", None, f"{price:g}元")] if price else [],
            volumes=[Volume(volume, "条", f"{volume}条")] if volume else [],
            contacts=[Contact(kind, value, f"{kind} {value}") for kind, value in contacts],
        ),
    )
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1/{site_id}",
        "title": title,
        "text": masked_text,
        "seller": seller,
        "price_text": None,
        "posted_at": None,
        "match": match,
        "pii": hits,
    }


def sweep(db_path: Path, source: str, items: list[dict]) -> None:
    recorder = SweepRecorder(db_path, source=source, kind="forum", url="http://127.0.0.1/")
    recorder.open()
    for entry in items:
        recorder.record(entry)
    recorder.close(dict(OK_STATS), "finished")


def forum_day1() -> list[dict]:
    return [
        item(
            "f1",
            "出身份证四件套",
            seller="老王",
            categories=["identity"],
            contacts=[("qq", "88664422"), ("wechat", "wx_laowang")],
            text=f"样本 {PHONE} 身份证 {ID_NUMBER}",
        ),
        item(
            "f2",
            "银行卡料出售",
            seller="阿强",
            categories=["finance"],
            contacts=[("telegram", "bank_q")],
            price=5000.0,
            volume=10_000,
            text=f"卡 {CARD[:4]} {CARD[4:8]} {CARD[8:12]} {CARD[12:16]} {CARD[16:]}",
        ),
        item("f3", "今天天气不错", seller="路人", categories=[], matched=False, price=None),
    ]


def build_store(db_path: Path) -> dict[str, int]:
    """Two days of sweeps of three sources; returns listing ids by site id."""
    sweep(db_path, "forum_a", forum_day1())
    market = [
        item(
            "m1",
            "身份证 手机号 实名数据",
            seller="老王",
            categories=["identity", "telecom"],
            contacts=[("qq", "88664422")],
            price=1200.0,
            volume=2_000_000,
            text="联系 +86 138-0013-8000",
        )
    ]
    sweep(db_path, "market_b", market)
    sweep(
        db_path,
        "channel_c",
        [
            item(
                "c1",
                "快递数据 日更",
                seller="小李",
                categories=["logistics"],
                contacts=[("telegram", "kd_li")],
                price=300.0,
                volume=50_000,
            )
        ],
    )
    with sqlite3.connect(db_path) as conn:
        # Day 1 happened long ago: first sightings and version 1 are old, so "new this
        # week" and "last seen" have something to tell apart.
        conn.execute("UPDATE listing_versions SET seen_at = ?", (OLD_TIME,))
        conn.execute("UPDATE listings SET first_seen = ? WHERE source = 'channel_c'", (OLD_TIME,))
    day2 = forum_day1()
    day2[0] = item(
        "f1",
        "出身份证四件套",
        seller="老王",
        categories=["identity"],
        contacts=[("qq", "88664422")],  # the WeChat contact is gone
        price=600.0,
        text=f"降价 样本 {PHONE}",
    )
    del day2[1]  # f2 is gone: removed after this complete sweep
    sweep(db_path, "forum_a", day2)
    sweep(db_path, "market_b", market)  # unchanged
    with sqlite3.connect(db_path) as conn:
        return dict(conn.execute("SELECT site_id, id FROM listings"))


def build_shared_store(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    """`build_store` in a module's own folder, hashed with the secret conftest gives each test
    (set here too: a module-scoped fixture runs before the autouse one)."""
    import pytest

    db_path = tmp_path_factory.mktemp("analyst") / "heishi.db"
    with pytest.MonkeyPatch.context() as patch:
        base = tmp_path_factory.getbasetemp()
        patch.setenv("HEISHI_SECRET_FILE", str(base / "secret.key"))
        patch.setenv("HEISHI_CACHE_DIR", str(base / "cache"))
        ids = build_store(db_path)
    return db_path, ids
