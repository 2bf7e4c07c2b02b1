"""`heishi learn`: a candidate model from a real store's reviewed alerts plus the labelled
files, compared on a held-out set, adopted only with --adopt."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from monitor.matching.rules_version import rules_version
from monitor.store import open_store
from tests.test_ingest import listing, rows, sweep

ROOT = Path(__file__).resolve().parent.parent
HELD_OUT = [
    {
        "title": "出 身份证四件套",
        "text": "身份证四件套 一手 现货 QQ 88661234 每套300",
        "label": 1,
        "categories": ["identity"],
    },
    {"title": "床上四件套", "text": "纯棉床上四件套 包邮 99元", "label": 0, "categories": []},
]


def test_learn_trains_from_reviewed_alerts_and_adopts_only_when_asked(db_path, tmp_path, capsys):
    sweep(
        db_path,
        [
            listing(
                "t1", "出 车主数据 全国 一手", text="全国车主数据 车架号 车牌 一手 800元一万条"
            ),
            listing("t2", "出 旧裤子", text="出几条旧裤子 九成新 20元一条 微信聊"),
        ],
    )
    ids = dict(
        rows(db_path, "SELECT l.site_id, a.id FROM alerts a JOIN listings l ON l.id = a.listing_id")
    )
    store = open_store(db_path)
    with store.transaction():
        store.alerts.set_status(ids["t1"], "confirmed", actor="a", now="2026-11-21")
        store.alerts.set_status(ids["t2"], "dismissed", actor="a", now="2026-11-21")
    store.close()
    keywords = tmp_path / "keywords"
    shutil.copytree(ROOT / "keywords", keywords)
    held_out = tmp_path / "held_out.jsonl"
    held_out.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in HELD_OUT) + "\n")
    before = (keywords / "model.json").read_bytes()
    version_before = rules_version(keywords).id

    from monitor.cli.learn import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    common = ["learn", "--db", str(db_path), "--keywords", str(keywords), "--test", str(held_out)]
    args = parser.parse_args([*common, "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["store_labels"] == {"confirmed": 1, "dismissed": 1}
    assert report["new_model"] != report["old_model"] and not report["adopted"]
    assert {"precision", "recall", "f1"} <= set(report["comparison"]["new"])
    assert (keywords / "model.json").read_bytes() == before  # nothing in force changed
    model = json.loads((keywords / "model.json").read_text())
    args = parser.parse_args([*common, "--adopt"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "adopted" in out and "on the frozen test split" in out
    adopted = json.loads((keywords / "model.json").read_text())
    assert adopted["version"] != model["version"]
    assert any(s["name"] == "store labels" and s["rows"] == 2 for s in adopted["training"]["sets"])
    assert rules_version(keywords).id != version_before
