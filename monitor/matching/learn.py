"""`heishi learn`: retrain the learned score from the review team's decisions (confirmed and
dismissed alerts in the store) plus the labelled files, show what it changes on the frozen
test split, and adopt it only when asked and nothing got worse.

Adopting writes keywords/model.json (or the `--keywords` directory's), which changes the rules
version (monitor/matching/rules_version.py): `heishi retrohunt` then re-matches stored listings with it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from monitor.errors import HeishiError

# No regression: the candidate may not lose F1, nor more than this much precision or recall.
TOLERANCE = 0.005
GUARDED = ("precision", "recall", "f1")


def learn(
    db: str | Path,
    keywords_dir: str | Path | None = None,
    *,
    adopt: bool = False,
    test_path: str | Path | None = None,
    progress: Any = None,
) -> dict[str, Any]:
    """Train a candidate, compare it with the model in force on the test split, adopt it when
    `adopt` and it does not regress. Returns the comparison and what was done."""
    from monitor import config
    from monitor.matching.evaluate import compare_rules, eval_set_path, read_examples
    from monitor.matching.matcher import clear_cache, load_matcher
    from monitor.matching.model import from_dict, model_path, model_version, write_model
    from monitor.matching.training import train_files
    from monitor.store import open_store

    directory = Path(keywords_dir) if keywords_dir is not None else config.keywords_dir()
    store = open_store(db)
    try:
        labels = store.alerts.reviewed_listings()
    finally:
        store.close()
    data = train_files(directory, labels, progress=progress)
    data["version"] = model_version(data)
    current = load_matcher(directory)
    candidate = current.with_threshold(current.threshold)
    candidate.model = from_dict(data)
    examples = read_examples(test_path or eval_set_path("test"))
    report = compare_rules(examples, candidate, current)
    old, new = report["old"], report["new"]
    regressions = [
        metric
        for metric in GUARDED
        if new[metric] < old[metric] - (0 if metric == "f1" else TOLERANCE)
    ]
    adopted = False
    if adopt and not regressions:
        write_model({k: v for k, v in data.items() if k != "version"}, model_path(directory))
        clear_cache()
        adopted = True
    elif adopt:
        raise HeishiError(
            f"the new model is worse on the test split ({', '.join(regressions)}): not adopted",
            hint="review the labels it learned from; the model in force is unchanged",
        )
    return {
        "store_labels": {
            "confirmed": sum(1 for r in labels if r["label"] == 1),
            "dismissed": sum(1 for r in labels if r["label"] == 0),
        },
        "old_model": current.model_version,
        "new_model": data["version"],
        "comparison": report,
        "regressions": regressions,
        "adopted": adopted,
    }
