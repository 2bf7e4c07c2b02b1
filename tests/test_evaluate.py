"""evaluate_file reports precision, recall, F1, category_exact and the misclassified."""

from __future__ import annotations

import argparse
import json

from monitor.matching.evaluate import evaluate_file


def write(path, rows):
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")


ROWS = [
    {
        "id": "p1",
        "title": "车主信息 出售",
        "text": "车主信息 姓名 手机号 车牌 一手 10万条 私聊",
        "label": 1,
        "categories": ["vehicle"],
    },
    {"id": "p2", "title": "", "text": "今天天气很好", "label": 1, "categories": ["identity"]},
    {"id": "n1", "title": "出多肉", "text": "出售多肉植物 十元三盆", "label": 0, "categories": []},
]


def test_report_has_the_scores_and_reasons(tmp_path):
    path = tmp_path / "eval.jsonl"
    write(path, ROWS)
    report = evaluate_file(path)
    assert report["precision"] == 1.0
    assert report["recall"] == 0.5
    assert round(report["f1"], 3) == 0.667
    assert report["category_exact"] == 0.5
    assert report["categories"]["vehicle"]["tp"] == 1
    (missed,) = report["misclassified"]
    assert missed["id"] == "p2" and missed["kind"] == "false_negative" and missed["reasons"]


def test_eval_and_keywords_commands(tmp_path, capsys):
    from monitor.cli.keywords import register

    path = tmp_path / "eval.jsonl"
    write(path, ROWS)
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", str(path), "--json", "--threshold", "3"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"precision", "recall", "f1", "category_exact"} <= set(report)
    args = parser.parse_args(["eval", str(path)])
    assert args.func(args) == 0
    assert "category_exact" in capsys.readouterr().out
    args = parser.parse_args(["keywords", "test", "出售 身份证 料 一手 QQ 12345", "--json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out)["alert"] is True
    args = parser.parse_args(["keywords", "test", "出售 身份证 料 一手 QQ 12345", "--title", "料"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "ALERT" in out and "reasons" in out
    args = parser.parse_args(["keywords", "lint"])
    assert args.func(args) == 0
    bad = tmp_path / "kw"
    bad.mkdir()
    (bad / "x.toml").write_text('category = "identity"\n[terms]\n"a" = { weight = "x" }\n')
    args = parser.parse_args(["keywords", "lint", str(bad)])
    assert args.func(args) == 1
    assert "x.toml:3" in capsys.readouterr().out


def test_report_has_category_micro_f1_genres_and_a_curve(tmp_path):
    rows = [
        {**ROWS[0], "genre": "offer"},
        {**ROWS[1], "genre": "offer"},
        {
            "id": "n2",
            "title": "警方通报",
            "text": "出售 身份证 料 一手 QQ 12345",
            "label": 0,
            "categories": [],
            "genre": "news",
        },
        {**ROWS[2], "genre": "advert"},
    ]
    path = tmp_path / "eval.jsonl"
    write(path, rows)
    report = evaluate_file(path)
    # One category right (vehicle), one missed (identity of p2), the news alert counts as fp.
    cats = report["categories"]
    tp = sum(c["tp"] for c in cats.values())
    fp = sum(c["fp"] for c in cats.values())
    fn = sum(c["fn"] for c in cats.values())
    assert tp >= 1 and fn >= 1
    assert report["category_micro_f1"] == round(2 * tp / (2 * tp + fp + fn), 4)
    genres = report["genres"]
    assert genres["advert"] == {"texts": 1, "false_alerts": 0, "rate": 0.0}
    assert genres["news"]["texts"] == 1 and genres["news"]["false_alerts"] == report["fp"]
    assert genres["offer"]["alerts"] == report["tp"]
    curve = report["curve"]
    assert curve and [p["threshold"] for p in curve] == sorted(p["threshold"] for p in curve)
    assert curve[0]["alerts"] >= curve[-1]["alerts"]
    assert all(0.0 <= p["precision"] <= 1.0 and 0.0 <= p["recall"] <= 1.0 for p in curve)


def test_eval_takes_a_named_split(capsys):
    from monitor.cli.keywords import register

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["eval", "--set", "dev", "--json"])
    assert args.func(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["examples"] >= 400  # the dev split of tests/data/eval
    assert {"offer", "news", "review"} <= set(report["genres"])
    assert "category_micro_f1" in report and report["curve"]
