"""Measure the matcher on labelled listings (JSONL: id, title, text, label, categories, and
optionally genre, source and kind, the context that scoped keyword files see), and compare two
versions of the keyword rules (and the model kept with them) before a change goes live.

Figures: precision, recall and F1 of the alert; category exact (the predicted set equals the
labelled one) and category micro-F1 over every (text, category) pair; false alerts per genre
(news, court, report, guide ... of tests/data/eval/README.md); and the precision/recall curve
over thresholds of the score the verdict is decided on (the model's probability when the
keyword directory has a model, else the rules' score).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from monitor.errors import HeishiError

EVAL_DIR = Path(__file__).resolve().parent.parent.parent / "tests" / "data" / "eval"
SPLITS = ("train", "dev", "test")
CURVE_POINTS = 20


def eval_set_path(name: str) -> Path:
    """The file of a named split (train, dev, test of tests/data/eval) or a path as given."""
    if name in SPLITS:
        return EVAL_DIR / f"{name}.jsonl"
    path = Path(name)
    if not path.is_file():
        raise HeishiError(
            f"{name}: no such labelled file", hint="give train, dev, test or a .jsonl path"
        )
    return path


def read_examples(path: str | Path) -> list[dict[str, Any]]:
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


def evaluate(
    examples: list[dict[str, Any]], matcher=None, threshold: float | None = None
) -> dict[str, Any]:
    """Precision, recall, F1, category_exact, per-category scores and the misclassified.

    category_exact is measured over all label-1 examples: the share whose predicted category
    set equals the labelled set exactly (a missed listing counts as wrong).
    """
    if matcher is None:
        from monitor.matching.matcher import load_matcher

        matcher = load_matcher(threshold=threshold)
    elif threshold is not None:
        matcher = matcher.with_threshold(threshold)
    return _report(examples, predict(examples, matcher), _threshold(matcher))


def _threshold(matcher) -> float:
    """The threshold the verdict score is held against (the model's, else the rules')."""
    return float(getattr(matcher, "alert_threshold", matcher.threshold))


def predict(examples: list[dict[str, Any]], matcher) -> list:
    """The matcher's result for each example, in its source and kind when it names them."""
    return [
        matcher.match(row["title"], row["text"], source=row.get("source"), kind=row.get("kind"))
        for row in examples
    ]


def verdict_score(result) -> float:
    """The score the alert is decided on: the model's probability, else the rules' score."""
    probability = getattr(result, "probability", None)
    return float(result.score if probability is None else probability)


def _report(examples: list[dict[str, Any]], results: list, threshold: float) -> dict[str, Any]:
    tp = fp = fn = tn = 0
    exact = positives = 0
    per_cat: dict[str, dict[str, int]] = defaultdict(lambda: {"tp": 0, "fp": 0, "fn": 0})
    wrong: list[dict[str, Any]] = []
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
    precision, recall, f1 = _prf(tp, fp, fn)
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
    micro = [sum(cell[k] for cell in per_cat.values()) for k in ("tp", "fp", "fn")]
    model_versions = {getattr(r, "model_version", None) for r in results}
    return {
        "examples": len(examples),
        "threshold": threshold,
        "model_version": next(iter(model_versions)) if len(model_versions) == 1 else None,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "category_exact": round(exact / positives, 4) if positives else 1.0,
        "category_micro_f1": round(_prf(*micro)[2], 4),
        "categories": categories,
        "genres": _genres(examples, results),
        "curve": _curve(examples, results),
        "misclassified": wrong,
    }


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _genres(examples: list[dict[str, Any]], results: list) -> dict[str, dict]:
    """Per genre: texts, alerts and the rate; for label-0 genres these alerts are false."""
    cells: dict[str, dict[str, int]] = defaultdict(lambda: {"texts": 0, "alerts": 0, "label": 0})
    for row, result in zip(examples, results, strict=True):
        cell = cells[row.get("genre") or ("offer" if row["label"] == 1 else "unlabelled")]
        cell["texts"] += 1
        cell["alerts"] += bool(result.alert)
        cell["label"] = max(cell["label"], row["label"])
    out = {}
    for genre, cell in sorted(cells.items()):
        key = "false_alerts" if cell["label"] == 0 else "alerts"
        out[genre] = {
            "texts": cell["texts"],
            key: cell["alerts"],
            "rate": round(cell["alerts"] / cell["texts"], 4),
        }
    return out


def _curve(examples: list[dict[str, Any]], results: list) -> list[dict[str, Any]]:
    """Precision and recall if the alert were `verdict score >= t`, for up to CURVE_POINTS
    thresholds spread over the scores the examples reached."""
    scored = [
        (verdict_score(r), row["label"] == 1) for row, r in zip(examples, results, strict=True)
    ]
    values = sorted({s for s, _ in scored if s > 0})
    if len(values) > CURVE_POINTS:
        step = (len(values) - 1) / (CURVE_POINTS - 1)
        values = sorted({values[round(i * step)] for i in range(CURVE_POINTS)})
    curve = []
    for t in values:
        tp = sum(1 for s, label in scored if s >= t and label)
        fp = sum(1 for s, label in scored if s >= t and not label)
        fn = sum(1 for s, label in scored if s < t and label)
        precision, recall, f1 = _prf(tp, fp, fn)
        curve.append(
            {
                "threshold": round(t, 4),
                "precision": round(precision, 4),
                "recall": round(recall, 4),
                "f1": round(f1, 4),
                "alerts": tp + fp,
            }
        )
    return curve


def evaluate_file(path: str | Path, matcher=None, threshold: float | None = None) -> dict[str, Any]:
    """`evaluate` on the examples of a JSONL file."""
    return evaluate(read_examples(path), matcher=matcher, threshold=threshold)


METRICS = (
    "precision",
    "recall",
    "f1",
    "category_exact",
    "category_micro_f1",
    "tp",
    "fp",
    "fn",
    "tn",
)


def compare_rules(examples: list[dict[str, Any]], new_matcher, old_matcher) -> dict[str, Any]:
    """How the rules of `new_matcher` move the scores against `old_matcher`'s: both reports,
    the deltas, and every example whose verdict or categories flipped."""
    old_results = predict(examples, old_matcher)
    new_results = predict(examples, new_matcher)
    old = _report(examples, old_results, _threshold(old_matcher))
    new = _report(examples, new_results, _threshold(new_matcher))
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
