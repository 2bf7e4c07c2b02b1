"""Matcher benchmark: texts per second of the whole matcher (`match(title, text)`) against bare
`jieba.lcut` on the same texts, in the same run, on two mixes, plus warm start-up time.

    python -m benchmarks.matcher [--texts 3000] [--seed 7]      (or: heishi bench matcher)

Mixes: (a) listings only, drawn from tests/data/ (positives of listings.jsonl and
public_text.jsonl); (b) forum traffic where 90% of texts are unrelated chatter (synthetic,
seeded) and 10% are those listings. Issue 18's floor: (a) >= 0.7x bare jieba.lcut, (b) >= 3x;
issue 21's target: (a) >= 1.0x, (b) >= 5x; warm start < 0.5 s. Prints the figures and writes them to benchmarks/results/quick/matcher-report.json
(not kept by git): the committed benchmarks/results/matcher.json is the runner's full run
(`python -m benchmarks --only matcher`), which no standalone or quick run overwrites.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = ROOT / "tests" / "data"
# A standalone run's report, beside the runner's quick results (benchmarks/results/quick/ is
# not kept by git); the runner writes benchmarks/results/matcher.json itself.
RESULTS = HERE / "results" / "quick" / "matcher-report.json"
# Ratios to bare jieba.lcut on the same texts: issue 18's floor and issue 21's target.
FLOORS = {"listings": 0.7, "forum": 3.0}
TARGETS = {"listings": 1.0, "forum": 5.0, "warm_start_s": 0.5}

# Everyday forum chatter, assembled from parts so that texts vary in length and content.
_OPENERS = [
    "楼主",
    "请问",
    "同问",
    "顶一下",
    "说实话",
    "刚看到",
    "哈哈哈",
    "路过",
    "感谢分享",
    "我觉得",
    "有没有人知道",
    "求助",
    "分享一下",
    "今天",
    "昨天",
    "周末",
    "话说",
    "其实",
    "补充一下",
    "mark",
]
_TOPICS = [
    "这款手机的续航怎么样",
    "新出的电影剧情有点拖沓",
    "小区门口新开了一家面馆",
    "孩子上幼儿园要准备什么",
    "这个游戏的新版本平衡性很差",
    "上海这几天一直下雨",
    "装修选木地板还是瓷砖",
    "电动车冬天掉电太快",
    "考研数学复习到第几章了",
    "公司年会抽到了一台扫地机器人",
    "周末去爬山拍了很多照片",
    "猫咪最近不爱吃饭",
    "这本小说的结局太意外了",
    "高铁票越来越难买",
    "健身三个月瘦了八斤",
    "家里的路由器信号不好",
    "新买的显卡跑分不错",
    "这家火锅店排队两小时",
    "老家的橘子熟了",
    "春节回家的车票抢到了",
    "Python 的装饰器到底怎么理解",
    "换了新工作通勤一小时",
    "楼下超市鸡蛋打折",
    "球队昨晚又输了",
    "the new update broke my save file",
    "anyone tried the ramen place downtown",
]
_TAILS = [
    "，大家怎么看？",
    "。",
    "，求推荐！",
    "，有点纠结。",
    "，笑死我了😂",
    "，太难了。",
    "，真香。",
    "，价格{n}元左右。",
    "，等了{n}天。",
    "，一共花了{n}块。",
    "，第{n}次了。",
    "，已经{n}个人问过了。",
    "，下次再说吧。",
    "~",
    "，先收藏了。",
    "，up主加油！",
    "，{n}楼说得对。",
    " lol",
    "",
    "！！",
]
_REPLIES = ["+1", "同感", "说得好", "学到了", "顶", "沙发", "不明觉厉", "谢谢楼主", "已阅", "666"]


def chatter(rng: random.Random) -> tuple[str, str]:
    """One unrelated forum post (title, text)."""
    sentences = []
    for _ in range(rng.randint(1, 4)):
        tail = rng.choice(_TAILS).replace("{n}", str(rng.randint(2, 3000)))
        sentences.append(rng.choice(_OPENERS) + "，" + rng.choice(_TOPICS) + tail)
    if rng.random() < 0.3:
        sentences.append(rng.choice(_REPLIES))
    title = rng.choice(_TOPICS) if rng.random() < 0.5 else ""
    return title, "".join(sentences)


def listings() -> list[tuple[str, str]]:
    """The labelled listings (positives) of tests/data/."""
    out = []
    for name in ("listings.jsonl", "public_text.jsonl"):
        path = DATA / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("label") == 1:
                    out.append((row.get("title", ""), row["text"]))
    return out


def build_mix(kind: str, count: int, seed: int) -> list[tuple[str, str]]:
    """`count` texts of a mix: 'listings' only, or 'forum' (90% chatter, 10% listings)."""
    rng = random.Random(seed)
    pool = listings()
    if kind == "listings":
        return [rng.choice(pool) for _ in range(count)]
    return [rng.choice(pool) if rng.random() < 0.1 else chatter(rng) for _ in range(count)]


def _rates(
    funcs: dict[str, Any], texts: list[tuple[str, str]], rounds: int = 3
) -> dict[str, float]:
    """Texts per second of each func(title, text): rounds interleaved, the best round each.

    CPU time of this process, so that other work on the machine does not skew the ratio.
    """
    best = dict.fromkeys(funcs, float("inf"))
    for _ in range(rounds):
        for name, func in funcs.items():
            started = time.process_time()
            for title, text in texts:
                func(title, text)
            best[name] = min(best[name], time.process_time() - started)
    return {name: len(texts) / max(spent, 1e-9) for name, spent in best.items()}


def warm_start(runs: int = 3) -> float:
    """Median seconds for a fresh process to load the matcher with every cache warm."""
    code = (
        "import time; t = time.perf_counter(); from monitor.matching.matcher import load_matcher; "
        "load_matcher(); print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def run(count: int = 3000, seed: int = 7, start_runs: int = 3) -> dict[str, Any]:
    """Measure both mixes and the warm start; return the figures (see module docstring)."""
    import logging

    import jieba

    from monitor.matching.matcher import load_matcher

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    matcher = load_matcher()
    matcher.match("出 料", "出售 身份证 料 一手")  # builds the segmenter: not part of a match

    def bare_jieba(title: str, text: str) -> None:
        jieba.lcut(title + "\n" + text)

    from monitor.matching.compiled import is_compiled

    # Whether the matcher ran compiled (make compile) or as pure Python: about 1.3x apart.
    report: dict[str, Any] = {
        "texts_per_mix": count,
        "seed": seed,
        "compiled": is_compiled(),
        "mixes": {},
    }
    for kind in ("listings", "forum"):
        texts = build_mix(kind, count, seed)
        for title, text in texts[:200]:  # warm both before timing
            matcher.match(title, text)
            bare_jieba(title, text)
        rates = _rates({"jieba": bare_jieba, "matcher": matcher.match}, texts)
        jieba_rate, matcher_rate = rates["jieba"], rates["matcher"]
        ratio = matcher_rate / jieba_rate
        report["mixes"][kind] = {
            "texts": len(texts),
            "chars": sum(len(t) + len(x) for t, x in texts),
            "matcher_texts_per_s": round(matcher_rate),
            "jieba_lcut_texts_per_s": round(jieba_rate),
            "ratio": round(ratio, 2),
            "floor_ratio": FLOORS[kind],
            "meets_floor": ratio >= FLOORS[kind],
            "target_ratio": TARGETS[kind],
            "meets_target": ratio >= TARGETS[kind],
        }
    start = warm_start(start_runs) if start_runs else None
    report["warm_start_s"] = round(start, 3) if start is not None else None
    report["warm_start_target_s"] = TARGETS["warm_start_s"]
    return report


def render(report: dict[str, Any]) -> str:
    lines = [f"matcher {'compiled (mypyc)' if report.get('compiled') else 'pure Python'}"]
    for kind, mix in report["mixes"].items():
        lines.append(
            f"{kind:9} matcher {mix['matcher_texts_per_s']:>8,} texts/s   jieba.lcut "
            f"{mix['jieba_lcut_texts_per_s']:>7,} texts/s   ratio {mix['ratio']:.2f}x "
            f"(floor {mix['floor_ratio']}x {'ok' if mix['meets_floor'] else 'MISSED'}, "
            f"target {mix['target_ratio']}x {'ok' if mix['meets_target'] else 'MISSED'})"
        )
    if report.get("warm_start_s") is not None:
        ok = report["warm_start_s"] < report["warm_start_target_s"]
        lines.append(
            f"warm start {report['warm_start_s']:.3f} s "
            f"(target < {report['warm_start_target_s']} s) {'ok' if ok else 'MISSED'}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--texts", type=int, default=3000, help="texts per mix")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    args = parser.parse_args(argv)
    report = run(args.texts, args.seed)
    save(report, args.out)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0


MIX_METRICS = {"listings": "texts/s, listings only", "forum": "texts/s, forum (90% chatter)"}


def as_result(report: dict[str, Any]) -> dict[str, Any]:
    """The report in the shape every benchmark returns (benchmarks/table.py)."""
    from benchmarks.table import row

    rows = [
        row(
            MIX_METRICS[kind],
            mix["matcher_texts_per_s"],
            "texts/s",
            baseline=mix["jieba_lcut_texts_per_s"],
            baseline_name="bare jieba.lcut",
            target=f">= {mix['floor_ratio']:g}x floor, {mix['target_ratio']:g}x target",
            meets=mix["meets_target"],
        )
        for kind, mix in report["mixes"].items()
    ]
    if report.get("warm_start_s") is not None:
        rows.append(
            row(
                "matcher warm start",
                report["warm_start_s"],
                "s",
                target=f"< {report['warm_start_target_s']:g} s",
                meets=report["warm_start_s"] < report["warm_start_target_s"],
            )
        )
    return {"name": "matcher", "rows": rows, "details": report}


def bench(quick: bool = False) -> dict[str, Any]:
    """Both mixes and the warm start (3,000 texts a mix; 300 and one start when quick)."""
    return as_result(run(300 if quick else 3000, 7, start_runs=1 if quick else 3))


def save(report: dict[str, Any], path: Path = RESULTS) -> None:
    """The report as measured (`python -m benchmarks` writes `as_result(report)` instead)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
