"""Measure the matcher on labelled listings (JSONL: id, title, text, label, categories, and
optionally source and kind, the context that scoped keyword files see), and compare two
versions of the keyword rules on them before a change goes live."""

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
    return _report(examples, predict(examples, matcher), matcher.threshold)


def predict(examples: list[dict], matcher) -> list:
    """The matcher's result for each example, in its source and kind when it names them."""
    return [
        matcher.match(row["title"], row["text"], source=row.get("source"), kind=row.get("kind"))
        for row in examples
    ]


def _report(examples: list[dict], results: list, threshold: float) -> dict:
    tp = fp = fn = tn = 0
    exact = positives = 0
    per_cat: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    wrong: list[dict] = []
    for row, result in zip(examples, results, strict=True):
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
        "threshold": threshold,
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


METRICS = ("precision", "recall", "f1", "category_exact", "tp", "fp", "fn", "tn")


def compare_rules(examples: list[dict], new_matcher, old_matcher) -> dict:
    """How the rules of `new_matcher` move the scores against `old_matcher`'s: both reports,
    the deltas, and every example whose verdict or categories flipped."""
    old_results = predict(examples, old_matcher)
    new_results = predict(examples, new_matcher)
    old = _report(examples, old_results, old_matcher.threshold)
    new = _report(examples, new_results, new_matcher.threshold)
    flipped = []
    for row, before, after in zip(examples, old_results, new_results, strict=True):
        label = row["label"] == 1
        old_cats = sorted(before.categories) if before.alert else []
        new_cats = sorted(after.categories) if after.alert else []
        if before.alert == after.alert and old_cats == new_cats:
            continue
        if before.alert != after.alert:
            change = {
                (True, False): "new_false_positive",
                (True, True): "new_true_positive",
                (False, True): "new_miss",
                (False, False): "fixed_false_positive",
            }[(after.alert, label)]
        else:
            change = "categories_changed"
        flipped.append(
            {
                "id": row["id"],
                "change": change,
                "label": row["label"],
                "categories": sorted(row["categories"]) if label else [],
                "title": row["title"],
                "text": row["text"][:300],
                "old": {"alert": before.alert, "score": before.score, "categories": old_cats},
                "new": {"alert": after.alert, "score": after.score, "categories": new_cats},
                "reasons": after.reasons,
            }
        )
    order = ("new_false_positive", "new_miss", "categories_changed")
    flipped.sort(key=lambda f: (order.index(f["change"]) if f["change"] in order else 9, f["id"]))
    return {
        "examples": len(examples),
        "old": {**old, "rules_version": old_matcher.rules_version},
        "new": {**new, "rules_version": new_matcher.rules_version},
        "delta": {m: round(new[m] - old[m], 4) for m in METRICS},
        "flipped": flipped,
    }
