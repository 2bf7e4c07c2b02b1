"""`heishi learn`: a candidate model from a real store's reviewed alerts plus the labelled
files, compared on a held-out set, adopted only with --adopt."""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from monitor.matching.rules_version import rules_version
from monitor.store import open_store
from tests.helpers import listing, sweep
from tests.helpers import query as rows

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


# Two full trainings (grid search, calibration folds) over every labelled text: minutes on two
# busy cores, more than the suite's default limit.
@pytest.mark.timeout(900)
@pytest.mark.slow
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


def test_the_alert_threshold_is_never_below_an_even_chance():
    from monitor.matching.training import THRESHOLD_FLOOR, choose_threshold

    # Precision 0.97 is reached from 0.3 down the dev probabilities, but 0.3 is not chosen.
    probs = [0.95, 0.9, 0.8, 0.6, 0.45, 0.3, 0.2, 0.1]
    labels = [1, 1, 1, 1, 1, 1, 0, 0]
    threshold, figures = choose_threshold(probs, labels)
    assert threshold == 0.6 and THRESHOLD_FLOOR == 0.5
    assert figures["precision"] == 1.0 and figures["recall"] == 4 / 6


def test_longer_negatives_join_two_texts_of_one_genre_and_never_an_offer():
    from monitor.matching.training import longer_negatives

    rows = [
        {
            "id": "n1",
            "title": "A",
            "text": "记者获悉，一人出售信息被抓。",
            "label": 0,
            "genre": "news",
        },
        {"id": "n2", "title": "B", "text": "法院判处其有期徒刑一年。", "label": 0, "genre": "news"},
        {"id": "r1", "title": "C", "text": "房间干净，价格合适。", "label": 0, "genre": "review"},
        {"id": "r2", "title": "D", "text": "前台登记很快。", "label": 0, "genre": "review"},
        {"id": "o1", "title": "E", "text": "出身份证四件套 QQ 8866", "label": 1, "genre": "offer"},
    ]
    longer = longer_negatives(rows)
    assert len(longer) == 2 and all(r["label"] == 0 for r in longer)
    by_id = {r["id"]: r for r in rows}
    for row in longer:
        first, second = (by_id[i] for i in row["id"].split("+"))
        assert first is not second and first["genre"] == second["genre"] == row["genre"]
        assert row["text"].startswith(first["text"]) and row["text"].endswith(second["text"])
    assert longer_negatives(rows) == longer  # the same every time (seeded)


def test_the_adoption_rule_refuses_a_candidate_that_fails_any_point():
    # benchmarks/adoption.py: every point of docs/matching.md's rule, against the shipped model.
    from benchmarks.adoption import points

    def side(precision, recall, exact, discussion, false_alerts=0):
        return {
            "precision": precision,
            "recall": recall,
            "category_exact": exact,
            "discussion_false_alerts": discussion,
            "false_alerts": false_alerts,
        }

    shipped = side(0.975, 0.967, 0.839, 2)
    figures = {
        "dev": {"shipped": shipped, "candidate": side(0.975, 0.971, 0.839, 2)},
        "shared": {"shipped": side(1.0, 1.0, 0.975, 0), "candidate": side(1.0, 1.0, 1.0, 0)},
        "ordinary_rate": 0.00007,
    }
    assert all(holds for _, holds in points(figures))
    for split, change in (
        ("dev", {"category_exact": 0.835}),  # one offer's categories fewer
        ("dev", {"discussion_false_alerts": 3}),
        ("dev", {"precision": 0.969, "recall": 0.99}),
        ("shared", {"category_exact": 0.95}),
    ):
        candidate = figures[split]["candidate"] | change
        failed = points(figures | {split: figures[split] | {"candidate": candidate}})
        assert not all(holds for _, holds in failed), (split, change)
    assert not all(holds for _, holds in points(figures | {"ordinary_rate": 0.0003}))
