"""Measure the matcher on labelled listings (JSONL: id, title, text, label, categories)."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from monitor.errors import HeishiError


def read_examples(path: str | Path) -> list[dict]:
    """The labelled examples of a JSONL file; HeishiError naming the line if one is malformed."""
    examples = []
    with Path(path).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                row["label"] = int(row["label"])
                row.setdefault("title", "")
                row.setdefault("categories", [])
                row.setdefault("id", f"line{number}")
                row["text"]  # noqa: B018 - required
            except (ValueError, KeyError, TypeError) as exc:
                raise HeishiError(f"{path}:{number}: not a labelled example ({exc})") from exc
            examples.append(row)
    return examples


def evaluate(examples: list[dict], matcher=None, threshold: float | None = None) -> dict:
    """Precision, recall, F1, category_exact, per-category scores and the misclassified.

    category_exact is measured over all label-1 examples: the share whose predicted category
    set equals the labelled set exactly (a missed listing counts as wrong).
    """
    if matcher is None:
        from monitor.matcher import load_matcher

        matcher = load_matcher(threshold=threshold)
    elif threshold is not None:
        matcher = matcher.with_threshold(threshold)
    tp = fp = fn = tn = 0
    exact = positives = 0
    per_cat: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    wrong: list[dict] = []
    for row in examples:
        result = matcher.match(row["title"], row["text"])
        label = row["label"] == 1
        gold = set(row["categories"]) if label else set()
        predicted = set(result.categories) if result.alert else set()
        if label:
            positives += 1
            exact += predicted == gold
        if result.alert and label:
            tp += 1
        elif result.alert:
            fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
        for category in gold | predicted:
            cell = per_cat[category]
            if category in gold and category in predicted:
                cell["tp"] += 1
            elif category in predicted:
                cell["fp"] += 1
            else:
                cell["fn"] += 1
        if result.alert != label or (label and predicted != gold):
            kind = "false_positive" if result.alert and not label else "false_negative"
            if result.alert == label:
                kind = "wrong_categories"
            wrong.append(
                {
                    "id": row["id"],
                    "kind": kind,
                    "title": row["title"],
                    "text": row["text"][:300],
                    "label": row["label"],
                    "categories": sorted(gold),
                    "predicted": sorted(predicted),
                    "score": result.score,
                    "reasons": result.reasons,
                }
            )
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    categories = {}
    for category, cell in sorted(per_cat.items()):
        p = cell["tp"] / (cell["tp"] + cell["fp"]) if cell["tp"] + cell["fp"] else 1.0
        r = cell["tp"] / (cell["tp"] + cell["fn"]) if cell["tp"] + cell["fn"] else 1.0
        categories[category] = {
            **cell,
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
        }
    return {
        "examples": len(examples),
        "threshold": matcher.threshold,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "category_exact": round(exact / positives, 4) if positives else 1.0,
        "categories": categories,
        "misclassified": wrong,
    }


def evaluate_file(path: str | Path, matcher=None, threshold: float | None = None) -> dict:
    """`evaluate` on the examples of a JSONL file."""
    return evaluate(read_examples(path), matcher=matcher, threshold=threshold)
