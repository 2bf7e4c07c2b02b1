"""An alert whose listing is a near-duplicate (same cluster) of one the team dismissed is marked
`dismissed_twin_of` (migration 0020_dismissed_twins), in real stores built by real sweeps."""

from __future__ import annotations

from monitor.store import open_store
from tests.helpers import listing, sweep
from tests.helpers import query as rows

TEXT = "全新四件套：身份证+银行卡+手机卡+U盾 开户人本人配合过人脸 现货30套，{p}元一套 量大优惠"


def dismiss(db_path, alert_id):
    store = open_store(db_path)
    try:
        with store.transaction():
            store.alerts.set_status(
                alert_id, "dismissed", actor="analyst", note="false positive", now="2026-11-21"
            )
    finally:
        store.close()


def test_a_new_near_duplicate_of_a_dismissed_listing_is_marked(db_path):
    sweep(db_path, [listing("t1", "出 身份证四件套 30套", text=TEXT.format(p=3000))])
    ((first,),) = rows(db_path, "SELECT id FROM alerts WHERE kind = 'new'")
    dismiss(db_path, first)
    other = listing(
        "m10", "出 车主数据 全国 一手", text="全国车主数据 车架号 车牌 一手 800元一万条"
    )
    twin = {**listing("m9", "四件套 现货 便宜出", text=TEXT.format(p=2800)), "seller": "dada"}
    sweep(db_path, [twin, other], source="channel")
    marked = dict(
        rows(
            db_path,
            "SELECT l.site_id, a.dismissed_twin_of FROM alerts a "
            "JOIN listings l ON l.id = a.listing_id WHERE a.kind = 'new'",
        )
    )
    assert marked == {"t1": None, "m9": first, "m10": None}


def test_dismissing_an_alert_marks_the_open_alerts_of_its_twins(db_path):
    sweep(db_path, [listing("t1", "出 身份证四件套 30套", text=TEXT.format(p=3000))])
    twin = {**listing("m9", "四件套 现货 便宜出", text=TEXT.format(p=2800)), "seller": "dada"}
    sweep(db_path, [twin], source="channel")
    alerts = dict(
        rows(
            db_path,
            "SELECT l.site_id, a.id FROM alerts a JOIN listings l ON l.id = a.listing_id "
            "WHERE a.kind = 'new'",
        )
    )
    assert rows(db_path, "SELECT count(*) FROM alerts WHERE dismissed_twin_of IS NOT NULL") == [
        (0,)
    ]
    dismiss(db_path, alerts["m9"])
    marked = rows(
        db_path, "SELECT listing_id, status, dismissed_twin_of FROM alerts WHERE kind = 'new'"
    )
    by_status = {status: twin_of for _, status, twin_of in marked}
    assert by_status == {"dismissed": None, "open": alerts["m9"]}


def test_the_review_queue_carries_the_twin_flag(db_path):
    from monitor.store.review import QueueFilters

    sweep(db_path, [listing("t1", "出 身份证四件套 30套", text=TEXT.format(p=3000))])
    ((first,),) = rows(db_path, "SELECT id FROM alerts WHERE kind = 'new'")
    dismiss(db_path, first)
    twin = {**listing("m9", "四件套 现货 便宜出", text=TEXT.format(p=2800)), "seller": "dada"}
    sweep(db_path, [twin], source="channel")
    store = open_store(db_path, readonly=True)
    try:
        queue, _ = store.review.review_queue(QueueFilters())
        desk, _ = store.desk.queue(QueueFilters())  # the web page's queue: a row per listing
    finally:
        store.close()
    flags = {a["id"]: a["dismissed_twin_of"] for a in queue if a["kind"] == "new"}
    assert flags == {first: None, max(flags): first}
    assert {a["dismissed_twin_of"] for a in desk} == {None, first}
