"""A store of known alerts for the review desk's tests (the CLI, statistics, the API): two
sources, six alerts over three days with known times, severities, keywords and triage, so
every figure the statistics show can be worked out by hand (see EXPECTED)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from monitor.alerting.ingest import SweepRecorder
from monitor.matching.match_result import Contact, Extraction, MatchResult, Price, TermHit

OK_STATS = {"finish_reason": "finished", "response_received_count": 3}


def item(
    site_id: str,
    title: str,
    terms: list[tuple[str, str]],
    *,
    price: float = 800.0,
    seller: str = "老王",
    contacts: list[tuple[str, str]] = (),
) -> dict:
    """A crawled listing whose match found each of `terms` (term, category) in its title."""
    hits = []
    for term, category in terms:
        start = title.find(term)
        assert start >= 0, (term, title)
        hits.append(TermHit(term, category, 3.0, "title", start, start + len(term), term))
    match = MatchResult(
        score=6.0,
        alert=True,
        categories=sorted({c for _, c in terms}),
        hits=hits,
        reasons=["data noun + sale signal"],
        extraction=Extraction(
            prices=[Price(price, "CNY", None, f"{price:g}元")],
            contacts=[Contact(kind, value, value) for kind, value in contacts],
        ),
    )
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1:9/t/{site_id}",
        "title": title,
        "text": f"{title} 价格 {price:g}元",
        "seller": seller,
        "price_text": None,
        "posted_at": None,
        "match": match,
        "pii": [],
    }


def sweep(db_path: Path, source: str, items: list[dict]) -> int:
    recorder = SweepRecorder(db_path, source=source, kind="forum", url="http://127.0.0.1:9/")
    run_id = recorder.open()
    for entry in items:
        recorder.record(entry)
    recorder.close(dict(OK_STATS), "finished")
    return run_id


def forum(f1_price: float) -> list[dict]:
    return [
        item(
            "f1",
            "出售身份证四件套",
            [("身份证", "identity"), ("四件套", "identity")],
            price=f1_price,
            seller="老猫数据",
            contacts=[("wechat", "laomao")],
        ),
        item("f2", "银行卡料 新鲜", [("银行卡", "finance")]),
        item("f3", "快递单号数据 日更", [("快递", "logistics")]),
    ]


MARKET = [
    item("m1", "身份证 手机号 实名", [("身份证", "identity"), ("手机号", "telecom")]),
    item("m2", "裤子出售 全新", [("裤子", "platform")], seller="服装店"),
]

# Each alert: (site id, kind) -> created_at (UTC), severity. f2's is 20:00 UTC on 11-01,
# which is 04:00 on 11-02 in Beijing.
ALERTS = {
    ("f1", "new"): ("2026-11-01T02:00:00Z", "high"),
    ("f2", "new"): ("2026-11-01T20:00:00Z", "critical"),
    ("f3", "new"): ("2026-11-02T03:00:00Z", "medium"),
    ("m1", "new"): ("2026-11-02T05:00:00Z", "high"),
    ("m2", "new"): ("2026-11-03T01:00:00Z", "low"),
    ("f1", "changed"): ("2026-11-03T02:00:00Z", "medium"),
}
# (site id, kind): [(at, actor, status, reason)], in order.
TRIAGE = {
    ("f1", "new"): [("2026-11-01T03:00:00Z", "rita", "confirmed", None)],
    ("f2", "new"): [("2026-11-01T22:00:00Z", "rita", "escalated", None)],
    ("m1", "new"): [
        ("2026-11-02T06:00:00Z", "王芳", "acknowledged", None),
        ("2026-11-02T09:00:00Z", "王芳", "dismissed", "news_or_warning"),
    ],
    ("m2", "new"): [("2026-11-03T05:00:00Z", "王芳", "dismissed", "false_positive")],
}
# Runs: (source, started_at, status, items, errors)
RUNS = {
    "forum_a": [
        ("2026-11-01T01:00:00Z", "ok", 3, 0),
        ("2026-11-03T01:30:00Z", "ok", 3, 0),
        ("2026-11-03T06:00:00Z", "failed", 0, 2),
    ],
    "market_b": [("2026-11-02T04:00:00Z", "ok", 2, 0)],
}

# What the statistics must say about this store (since 2026-11-01, UTC days unless named).
EXPECTED = {
    "per_day_utc": {"2026-11-01": 2, "2026-11-02": 2, "2026-11-03": 2},
    "per_day_beijing": {"2026-11-01": 1, "2026-11-02": 3, "2026-11-03": 2},
    "by_source": {"forum_a": 4, "market_b": 2},
    "by_severity": {"critical": 1, "high": 2, "medium": 2, "low": 1},
    "by_status": {"confirmed": 1, "escalated": 1, "dismissed": 2, "open": 2},
    "by_category": {"identity": 3, "finance": 1, "logistics": 1, "telecom": 1, "platform": 1},
    # source: (alerts, confirmed, dismissed)
    "verdicts_by_source": {"forum_a": (4, 2, 0), "market_b": (2, 0, 2)},
    # keyword: (alerts, confirmed, dismissed)
    "verdicts_by_keyword": {
        "身份证": (3, 1, 1),
        "四件套": (2, 1, 0),
        "银行卡": (1, 1, 0),
        "快递": (1, 0, 0),
        "手机号": (1, 0, 1),
        "裤子": (1, 0, 1),
    },
    # reviewer: (actions, {status: count})
    "reviewers": {
        "rita": (2, {"confirmed": 1, "escalated": 1}),
        "王芳": (3, {"acknowledged": 1, "dismissed": 2}),
    },
    # seconds from alert to first triage: f1 1 h, f2 2 h, m1 1 h, m2 4 h; two untriaged
    "first_triage_seconds": [3600, 7200, 3600, 14400],
    "first_triage_median": 5400,
    "untriaged": 2,
    # source: [(day, runs, ok, failed, items, errors)]
    "health": {
        "forum_a": [("2026-11-01", 1, 1, 0, 3, 0), ("2026-11-03", 2, 1, 1, 3, 2)],
        "market_b": [("2026-11-02", 1, 1, 0, 2, 0)],
    },
}


def build_desk_store(db_path: Path) -> dict[tuple[str, str], int]:
    """The store above; returns alert ids by (site id, kind)."""
    from monitor.store import open_store

    sweep(db_path, "forum_a", forum(800.0))
    sweep(db_path, "market_b", MARKET)
    sweep(db_path, "forum_a", forum(600.0))  # f1's price changed: a "changed" alert
    with sqlite3.connect(db_path) as conn:
        ids = {
            (site_id, kind): alert_id
            for site_id, kind, alert_id in conn.execute(
                "SELECT l.site_id, a.kind, a.id FROM alerts a JOIN listings l ON l.id = a.listing_id"
            )
        }
        assert set(ids) == set(ALERTS), ids
        for key, (created_at, severity) in ALERTS.items():
            conn.execute(
                "UPDATE alerts SET created_at = ?, updated_at = ?, severity = ? WHERE id = ?",
                (created_at, created_at, severity, ids[key]),
            )
            conn.execute(
                "UPDATE alert_events SET at = ? WHERE alert_id = ? AND action = 'created'",
                (created_at, ids[key]),
            )
        conn.execute("DELETE FROM runs WHERE id NOT IN (SELECT run_id FROM alerts)")
        conn.execute("UPDATE alerts SET run_id = NULL")
        conn.execute("UPDATE listings SET last_run_id = NULL")
        conn.execute("UPDATE listing_versions SET run_id = NULL")
        conn.execute("UPDATE sources SET last_run_id = NULL")
        conn.execute("DELETE FROM runs")
        for source, runs in RUNS.items():
            for started_at, status, items, errors in runs:
                conn.execute(
                    "INSERT INTO runs (source, started_at, finished_at, status, items, errors) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (source, started_at, started_at, status, items, errors),
                )
    with open_store(db_path) as store:
        for key, steps in TRIAGE.items():
            for at, actor, status, reason in steps:
                store.review.triage_alerts([ids[key]], status, actor=actor, now=at, reason=reason)
    return ids
