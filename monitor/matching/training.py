"""Train the learned score (monitor/matching/model.py) on labelled listings; the only module that
imports scikit-learn and numpy, and only `heishi learn` and `python -m monitor.matching.training` call it.

1. Every example goes through the matcher's rules (Matcher.analyse): its features, or None
   when the first pass decides it cannot alert (those never reach the model: score 0).
2. Hyper-parameters (L1 or L2 regularisation and its C, the n-grams' minimum document count)
   are chosen on the dev split: the highest dev recall at precision >= TARGET_PRECISION, then
   F1; an L1 model within SPARSE_SLACK of the best recall is preferred (it scores faster).
3. The alert model is a logistic regression, calibrated by Platt scaling fitted on
   out-of-fold scores (5 folds), folded into its weights so scoring stays one dot product.
4. The alert threshold is the lowest dev probability with precision >= TARGET_PRECISION; the
   category threshold the one with the best dev category exact. Categories are one-vs-rest
   logistic regressions over the same features, trained on the offers.
5. The final fit uses train and dev (more data; the threshold chosen on dev carries over as
   a calibrated probability), unless `final_fit="train"`.

    python -m monitor.matching.training [--out keywords/model.json] [--final-fit train|train+dev]
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import math
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.matching.conventions import Convention, apply_convention, convention_of
from monitor.matching.features import NGRAM_PREFIX, WORD_PREFIX
from monitor.matching.model import FORMAT, MODEL_FILE, model_version
from monitor.matching.rules_version import keyword_lists_version

log = logging.getLogger(__name__)

TARGET_PRECISION = 0.97
# The alert threshold is never below an even chance: the probability is calibrated on labelled
# sets with about as many offers as not, and a crawl reads far more ordinary text than offers
# (a dev set that reaches the target precision lower down says little about that text).
THRESHOLD_FLOOR = 0.5
# (penalty, C): L1 keeps a few hundred weights (cheap to score, each readable), L2 spreads
# weight over every n-gram, which helps when the rules find less.
PENALTY_GRID = (("l1", 1.0), ("l1", 3.0), ("l1", 10.0), ("l2", 0.3), ("l2", 1.0), ("l2", 3.0))
SPARSE_SLACK = 0.02  # an L1 model this close in dev recall to the best is preferred (speed)
MIN_DF_GRID = (2, 4)
CATEGORY_THRESHOLDS = (
    0.2,
    0.25,
    0.3,
    0.35,
    0.4,
    0.45,
    0.5,
    0.55,
    0.6,
    0.65,
    0.7,
    0.75,
    0.8,
    0.85,
    0.9,
)
FOLDS = 5
# The project's own labelled texts (tests/data): its listings, hard negatives and real public
# texts (privacy policies, news, real leak offers), trained on beside train.jsonl.
OWN_SETS = tuple(
    Path(__file__).resolve().parent.parent.parent / "tests" / "data" / name
    for name in ("listings.jsonl", "hard_negatives.jsonl", "public_text.jsonl")
)
MIN_WEIGHT = 0.005
TOPIC_BLIND_ALERT = True  # the alert model reads no topic words (`alert_vocabulary`)
_TEXT_PREFIXES = (NGRAM_PREFIX, WORD_PREFIX)  # features of the text itself, kept by min_df
MIN_NGRAM_WEIGHT = 0.05
# The category models' regularisation is chosen on dev (best category exact) from this grid.
CATEGORY_C_GRID = (3.0, 10.0, 30.0)
# Per-category shifts of the margin (logit) tried on dev, each category in turn: a category
# the models under-predict (a second sector) gets a lower bar, one they over-predict a higher.
CATEGORY_OFFSETS = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)
# A shift is kept only when it makes this many more offers of the tuning pool exact: on a
# pool of a thousand offers, a shift kept for one offer is noise.
CATEGORY_SHIFT_GAIN = 3
# What the category threshold and shifts are tuned on: train's offers scored out of fold,
# with dev's ("train+dev", the default) or without ("train": dev's figures then honest).
CATEGORY_TUNING = ("train+dev", "train")


@dataclass
class Featurised:
    """Labelled examples and their features (None: decided by the first pass)."""

    rows: list[dict[str, Any]]
    features: list[dict[str, float] | None]
    rules_alert: list[bool] = field(default_factory=list)
    # What the labelling convention reads in each (conventions.py; None: first pass decided).
    conventions: list[Convention | None] = field(default_factory=list)


def featurise(rows: list[dict[str, Any]], matcher: Any) -> Featurised:
    out = Featurised(rows, [])
    for row in rows:
        result, features = matcher.analyse(
            row.get("title", ""), row["text"], source=row.get("source"), kind=row.get("kind")
        )
        out.features.append(features.values if features is not None else None)
        out.rules_alert.append(result.alert)
        out.conventions.append(
            convention_of(features.values, features.ngram_text) if features is not None else None
        )
    return out


def file_record(path: Path, rows: int) -> dict[str, Any]:
    return {
        "name": path.name,
        "rows": rows,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
    }


def _vocabulary(features: list[dict[str, float] | None], min_df: int) -> list[str]:
    """Feature names kept: every rule feature, and n-grams and words seen in at least `min_df`
    texts."""
    counts: Counter[str] = Counter()
    for values in features:
        if values:
            counts.update(values.keys())
    return sorted(n for n, c in counts.items() if not n.startswith(_TEXT_PREFIXES) or c >= min_df)


# Features that name what data a text is about, not whether it offers it: kept out of the
# alert model (the category models read them). Trained on texts where one topic is mostly
# discussed (identity: news, warnings, kit adverts for bedding) the alert model learned the
# topic's words as discussion and lost that topic's bare offers (866b2e64: 出售 身份证 四件套
# 0.36); the rules' score and data evidence still carry how much data is named.
_TOPIC_PREFIXES = ("category:", "rules:category:", "term:data:", "term:field:", "term:subject:")
_TOPIC_ROLES = ("data", "field", "subject", "strong")


def topic_grams(keywords: Any) -> frozenset[str]:
    """The n-grams (as features name them) and English words inside the keyword lists' data,
    field, subject and strong terms: a topic's own words."""
    out: set[str] = set()
    for entry in keywords.entries:
        if entry.role not in _TOPIC_ROLES:
            continue
        surface = entry.surface.lower()
        for n in (2, 3):
            out.update(NGRAM_PREFIX + surface[i : i + n] for i in range(len(surface) - n + 1))
        out.update(WORD_PREFIX + word for word in surface.split() if len(word) >= 3)
    return frozenset(out)


def alert_vocabulary(vocabulary: list[str], topic: frozenset[str]) -> list[str]:
    """`vocabulary` without the topic's features (TOPIC_BLIND_ALERT)."""
    if not TOPIC_BLIND_ALERT:
        return vocabulary
    return [n for n in vocabulary if not n.startswith(_TOPIC_PREFIXES) and n not in topic]


def _matrix(features: list[dict[str, float] | None], vocabulary: list[str]):
    from scipy.sparse import csr_matrix

    index = {name: i for i, name in enumerate(vocabulary)}
    data, indices, indptr = [], [], [0]
    for values in features:
        for name, value in (values or {}).items():
            column = index.get(name)
            if column is not None:
                indices.append(column)
                data.append(value)
        indptr.append(len(indices))
    return csr_matrix((data, indices, indptr), shape=(len(features), len(vocabulary)))


def _fit_alert(X, y, c: float, penalty: str):
    """A logistic regression (`penalty` l1 or l2) and its Platt scaling from out-of-fold
    scores, folded together: (weights, bias) of one calibrated linear model."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    base = LogisticRegression(
        C=c,
        l1_ratio=1.0 if penalty == "l1" else 0.0,
        max_iter=3000,
        solver="liblinear",
        random_state=7,
    )
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=7)
    margins = cross_val_predict(base, X, y, cv=folds, method="decision_function")
    platt = LogisticRegression(C=1e6, max_iter=1000).fit(margins.reshape(-1, 1), y)
    a, c0 = float(platt.coef_[0][0]), float(platt.intercept_[0])
    base.fit(X, y)
    weights = np.asarray(base.coef_[0]) * a
    bias = float(base.intercept_[0]) * a + c0
    return weights, bias


def _probabilities(X, weights, bias):
    import numpy as np

    margin = X @ weights + bias
    return 1.0 / (1.0 + np.exp(-margin))


def _sets(rows: list[dict[str, Any]]) -> tuple[list[int], list[set[str]]]:
    return [int(r["label"] == 1) for r in rows], [set(r.get("categories") or []) for r in rows]


def _choose(search: list[dict[str, Any]]) -> dict[str, Any]:
    """The configuration with the best dev recall at the target precision (then F1); an L1
    one within SPARSE_SLACK of it wins, since it scores faster for the same alerts."""

    def rank(s: dict[str, Any]) -> tuple[Any, ...]:
        return (s["precision"] >= TARGET_PRECISION, s["recall"], s["f1"])

    best = max(search, key=rank)
    sparse = [
        s
        for s in search
        if s["penalty"] == "l1"
        and (s["precision"] >= TARGET_PRECISION) >= (best["precision"] >= TARGET_PRECISION)
        and s["recall"] >= best["recall"] - SPARSE_SLACK
    ]
    return max(sparse, key=rank) if sparse else best


def choose_threshold(probs: list[float], labels: list[int]) -> tuple[float, dict[str, float]]:
    """The lowest probability, at least THRESHOLD_FLOOR, whose alerts reach TARGET_PRECISION
    (highest recall), and the precision, recall and F1 there; the floor with the figures there
    when none does."""
    positives = sum(labels)
    best: tuple[float, dict[str, float]] | None = None
    for t in sorted(set(round(p, 4) for p in probs if p >= THRESHOLD_FLOOR), reverse=True):
        tp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and y)
        fp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and not y)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / positives if positives else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        if precision >= TARGET_PRECISION:
            best = (t, {"precision": precision, "recall": recall, "f1": f1})
    if best is None:
        return THRESHOLD_FLOOR, _figures_at(probs, labels, THRESHOLD_FLOOR)
    return best


def _figures_at(probs: list[float], labels: list[int], t: float) -> dict[str, float]:
    tp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and y)
    fp = sum(1 for p, y in zip(probs, labels, strict=True) if p >= t and not y)
    positives = sum(labels)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _fit_categories(X, cats: list[set[str]], labels: list[int], c: float) -> dict[str, Any]:
    """One-vs-rest logistic regressions over the offers: {category: (weights, bias)}."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    offers = [i for i, y in enumerate(labels) if y and cats[i]]
    Xo = X[offers]
    names = sorted({c for i in offers for c in cats[i]})
    models = {}
    for name in names:
        y = np.array([int(name in cats[i]) for i in offers])
        if y.sum() == 0 or y.sum() == len(y):
            continue
        # L1: a category turns on a few words, and a sparse model keeps scoring cheap.
        model = LogisticRegression(
            C=c, l1_ratio=1.0, max_iter=3000, solver="liblinear", random_state=7
        ).fit(Xo, y)
        models[name] = (np.asarray(model.coef_[0]), float(model.intercept_[0]))
    return models


@dataclass
class CategoryScores:
    """Category probabilities of a pool of offers, their labels, and which are dev's."""

    names: list[str]
    probs: Any  # numpy array, offers x categories
    cats: list[set[str]]
    from_dev: list[bool]
    # The convention's reading of each offer, applied to the categories chosen (the crawl
    # applies it too: matcher.py); empty: none applied.
    conventions: list[Convention] = field(default_factory=list)

    def part(self, dev: bool) -> CategoryScores:
        """Dev's offers (or train's) alone."""
        keep = [i for i, d in enumerate(self.from_dev) if d == dev]
        return CategoryScores(
            self.names,
            self.probs[keep],
            [self.cats[i] for i in keep],
            [dev] * len(keep),
            [self.conventions[i] for i in keep] if self.conventions else [],
        )


def _category_probs(X, models: dict[str, Any], names: list[str]):
    import numpy as np

    columns = []
    for name in names:
        if name in models:
            columns.append(_probabilities(X, models[name][0], models[name][1]))
        else:  # a category no offer of these folds carries
            columns.append(np.zeros(X.shape[0]))
    return np.column_stack(columns) if columns else np.zeros((X.shape[0], 0))


def category_pool(
    X_train,
    cats_train: list[set[str]],
    labels_train: list[int],
    X_dev,
    cats_dev: list[set[str]],
    labels_dev: list[int],
    c: float,
    conventions_train: list[Convention] | None = None,
    conventions_dev: list[Convention] | None = None,
) -> CategoryScores:
    """Category probabilities of train's offers, each from models fitted on the other folds
    (a shift fitted to them cannot be fitted to the offers that fitted the models), and of
    dev's offers from models fitted on all of train."""
    import numpy as np
    from sklearn.model_selection import KFold

    offers = [i for i, y in enumerate(labels_train) if y and cats_train[i]]
    names = sorted({n for i in offers for n in cats_train[i]})
    probs = np.zeros((len(offers), len(names)))
    folds = KFold(n_splits=FOLDS, shuffle=True, random_state=7)
    X_offers = X_train[offers]
    offer_cats = [cats_train[i] for i in offers]
    for fit, held in folds.split(offers):
        models = _fit_categories(X_offers[fit], [offer_cats[i] for i in fit], [1] * len(fit), c)
        probs[held] = _category_probs(X_offers[held], models, names)
    dev_offers = [i for i, y in enumerate(labels_dev) if y]
    models = _fit_categories(X_train, cats_train, labels_train, c)
    dev_probs = _category_probs(X_dev[dev_offers], models, names)
    conventions: list[Convention] = []
    if conventions_train is not None and conventions_dev is not None:
        conventions = [conventions_train[i] for i in offers]
        conventions += [conventions_dev[i] for i in dev_offers]
    return CategoryScores(
        names,
        np.vstack([probs, dev_probs]),
        offer_cats + [cats_dev[i] for i in dev_offers],
        [False] * len(offers) + [True] * len(dev_offers),
        conventions,
    )


def _category_figures_scored(
    scores: CategoryScores, t: float, offsets: dict[str, float]
) -> tuple[float, float]:
    """Category exact and micro-F1 of scored offers at threshold `t` with margin shifts."""
    import numpy as np

    if not scores.cats:
        return 1.0, 1.0
    shift = np.array([offsets.get(n, 0.0) for n in scores.names])
    p = np.clip(scores.probs, 1e-12, 1 - 1e-12)
    margins = np.log(p / (1 - p)) + shift
    floor = math.log(t / (1 - t))
    exact = tp = fp = fn = 0
    for n, (row, truth) in enumerate(zip(margins, scores.cats, strict=True)):
        chosen = {scores.names[j] for j in np.flatnonzero(row >= floor)} or {
            scores.names[int(np.argmax(row))]
        }
        if scores.conventions:
            chosen = set(apply_convention(sorted(chosen), scores.conventions[n]))
        exact += chosen == truth
        tp += len(chosen & truth)
        fp += len(chosen - truth)
        fn += len(truth - chosen)
    return exact / len(scores.cats), (2 * tp / (2 * tp + fp + fn) if tp else 0.0)


def _category_threshold_scored(scores: CategoryScores) -> tuple[float, float]:
    """The threshold with the best category exact over the pool."""
    best = (0.5, -1.0)
    for t in CATEGORY_THRESHOLDS:
        share = _category_figures_scored(scores, t, {})[0]
        if share > best[1] + 1e-9:
            best = (t, share)
    return best


def _category_offsets_scored(
    scores: CategoryScores, t: float
) -> tuple[dict[str, float], tuple[float, float]]:
    """A margin shift per category, one category at a time (two rounds), kept only when it
    makes at least CATEGORY_SHIFT_GAIN more offers of the pool exact."""
    offsets = dict.fromkeys(scores.names, 0.0)
    best = _category_figures_scored(scores, t, offsets)
    gain = CATEGORY_SHIFT_GAIN / max(len(scores.cats), 1)
    for _ in range(2):
        for name in scores.names:
            for shift in CATEGORY_OFFSETS:
                trial = offsets | {name: shift}
                figures = _category_figures_scored(scores, t, trial)
                if figures[0] >= best[0] + gain - 1e-9:
                    offsets, best = trial, figures
    return {n: v for n, v in offsets.items() if v}, best


def _weights_dict(vocabulary: list[str], weights) -> dict[str, float]:
    """The weights worth keeping: an n-gram's only when it can move a score (each one kept
    is one more the crawl-time automaton finds), any other feature's unless negligible."""
    return {
        name: round(float(w), 4)
        for name, w in zip(vocabulary, weights, strict=True)
        if abs(w) >= (MIN_NGRAM_WEIGHT if name.startswith(_TEXT_PREFIXES) else MIN_WEIGHT)
    }


def _as_kept(vocabulary: list[str], weights):
    """`weights` as a model file keeps them (`_weights_dict`), as an array again."""
    import numpy as np

    kept = _weights_dict(vocabulary, weights)
    return np.array([kept.get(name, 0.0) for name in vocabulary])


def _scored_rows(data: Featurised) -> list[int]:
    return [i for i, f in enumerate(data.features) if f is not None]


def train(
    train_rows: list[dict[str, Any]],
    dev_rows: list[dict[str, Any]],
    matcher: Any,
    *,
    final_fit: str = "train+dev",
    training_sets: list[dict[str, Any]] | None = None,
    progress: Any = None,
    category_tuning: str = "train+dev",
) -> dict[str, Any]:
    """A model file's contents (without its version) trained on `train_rows`, tuned on
    `dev_rows`, finally fitted on both (or on train alone). The category threshold and
    shifts are chosen on train's offers scored out of fold, with dev's unless
    `category_tuning` is "train"."""
    import numpy as np

    say = progress or (lambda message: log.info("%s", message))
    train_data = featurise(train_rows, matcher)
    dev_data = featurise(dev_rows, matcher)
    labels_train, cats_train = _sets(train_rows)
    labels_dev, cats_dev = _sets(dev_rows)
    in_train = _scored_rows(train_data)
    in_dev = _scored_rows(dev_data)
    say(
        f"{len(train_rows)} training and {len(dev_rows)} dev examples; the first pass "
        f"decides {len(train_rows) - len(in_train)} and {len(dev_rows) - len(in_dev)} of them"
    )

    def dev_probs(vocabulary, weights, bias) -> list[float]:
        X = _matrix([dev_data.features[i] for i in in_dev], vocabulary)
        probs = [0.0] * len(dev_rows)
        for i, p in zip(in_dev, _probabilities(X, weights, bias), strict=True):
            probs[i] = float(p)
        return probs

    topic = topic_grams(matcher.keywords)
    search = []
    for min_df in MIN_DF_GRID:
        vocabulary = alert_vocabulary(
            _vocabulary([train_data.features[i] for i in in_train], min_df), topic
        )
        X = _matrix([train_data.features[i] for i in in_train], vocabulary)
        y = np.array([labels_train[i] for i in in_train])
        for penalty, c in PENALTY_GRID:
            weights, bias = _fit_alert(X, y, c, penalty)
            # The threshold is chosen on the weights a model file keeps (small ones dropped,
            # each rounded): a dev offer at the threshold is scored as the crawl will score it.
            probs = dev_probs(vocabulary, _as_kept(vocabulary, weights), round(bias, 4))
            threshold, figures = choose_threshold(probs, labels_dev)
            search.append(
                {"penalty": penalty, "c": c, "min_df": min_df, "threshold": threshold}
                | {"features": len(vocabulary), "weights": int((weights != 0).sum())}
                | {k: round(v, 4) for k, v in figures.items()}
            )
            say(
                f"  {penalty} C={c:g} min_df={min_df}: dev at precision>={TARGET_PRECISION}: "
                f"{search[-1]}"
            )
    best = _choose(search)
    c, min_df, threshold, penalty = best["c"], best["min_df"], best["threshold"], best["penalty"]
    say(f"chosen: {penalty} C={c:g}, n-grams in >= {min_df} texts, threshold {threshold:g}")

    # Category regularisation, threshold and per-category shifts, chosen on the offers of
    # train scored out of fold and of dev scored by the train-only models (CATEGORY_TUNING).
    vocabulary = _vocabulary([train_data.features[i] for i in in_train], min_df)
    X_train = _matrix([train_data.features[i] for i in in_train], vocabulary)
    X_dev = _matrix([dev_data.features[i] for i in in_dev], vocabulary)
    tuning_cats = [cats_train[i] for i in in_train]
    tuning_labels = [labels_train[i] for i in in_train]
    category_search: list[dict[str, Any]] = []
    for category_c in CATEGORY_C_GRID:
        pooled = category_pool(
            X_train,
            tuning_cats,
            tuning_labels,
            X_dev,
            [cats_dev[i] for i in in_dev],
            [labels_dev[i] for i in in_dev],
            category_c,
            [c for c in (train_data.conventions[i] for i in in_train) if c is not None],
            [c for c in (dev_data.conventions[i] for i in in_dev) if c is not None],
        )
        tuning = pooled if category_tuning == "train+dev" else pooled.part(dev=False)
        t, exact = _category_threshold_scored(tuning)
        offsets, (shifted, micro) = _category_offsets_scored(tuning, t)
        dev_exact, dev_micro = _category_figures_scored(pooled.part(dev=True), t, offsets)
        category_search.append(
            {"c": category_c, "threshold": t, "exact": round(exact, 4)}
            | {"offsets": offsets, "shifted_exact": round(shifted, 4), "micro_f1": round(micro, 4)}
            | {"dev_exact": round(dev_exact, 4), "dev_micro_f1": round(dev_micro, 4)}
        )
        say(f"  categories C={category_c:g}: {category_search[-1]}")
    chosen = max(category_search, key=lambda s: (s["shifted_exact"], s["micro_f1"]))
    category_c, category_threshold = chosen["c"], chosen["threshold"]
    category_offsets, dev_exact = chosen["offsets"], chosen["dev_exact"]
    say(
        f"categories: C={category_c:g}, threshold {category_threshold:g}, shifts "
        f"{category_offsets} (tuned on {category_tuning}; exact there "
        f"{chosen['shifted_exact']:.3f}, dev over scored offers {dev_exact:.3f})"
    )

    # The final fit.
    if final_fit == "train":
        rows_final, feats_final = train_rows, train_data.features
    else:
        rows_final = train_rows + dev_rows
        feats_final = train_data.features + dev_data.features
    labels_final, cats_final = _sets(rows_final)
    scored = [i for i, f in enumerate(feats_final) if f is not None]
    vocabulary = _vocabulary([feats_final[i] for i in scored], min_df)
    X = _matrix([feats_final[i] for i in scored], vocabulary)
    y = np.array([labels_final[i] for i in scored])
    alert_names = alert_vocabulary(vocabulary, topic)
    alert_set = set(alert_names)
    kept_columns = [i for i, name in enumerate(vocabulary) if name in alert_set]
    weights, bias = _fit_alert(X[:, kept_columns], y, c, penalty)
    category_models = _fit_categories(
        X, [cats_final[i] for i in scored], [labels_final[i] for i in scored], category_c
    )
    alert_weights = _weights_dict(alert_names, weights)
    # The per-category shifts are folded into the biases: scoring stays one threshold.
    models = {
        name: {
            "bias": round(b + category_offsets.get(name, 0.0), 4),
            "weights": _weights_dict(vocabulary, w),
        }
        for name, (w, b) in sorted(category_models.items())
    }
    used = set(alert_weights)
    for spec in models.values():
        used.update(spec["weights"])
    return {
        "format": FORMAT,
        "threshold": threshold,
        "alert": {"bias": round(bias, 4), "weights": alert_weights},
        "categories": {"threshold": category_threshold, "models": models},
        "features": sorted(used),
        "training": {
            "sets": training_sets or [],
            "rows": len(rows_final),
            "final_fit": final_fit,
            "rules_version": keyword_lists_version(matcher.keywords.directory),
            "target_precision": TARGET_PRECISION,
            "penalty": penalty,
            "c": c,
            "min_df": min_df,
            "category_c": category_c,
            "category_offsets": category_offsets,
            "category_tuning": category_tuning,
            "folds": FOLDS,
            "first_pass_decided": len(rows_final) - len(scored),
        },
        "figures": {
            "search": search,
            "category_search": category_search,
            "dev_category_exact_scored": round(dev_exact, 4),
        },
    }


def _digest(rows: list[dict[str, Any]]) -> str:
    lines = (f"{r['label']}\t{r.get('title', '')}\t{r['text']}" for r in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def demo_rows() -> list[dict[str, Any]]:
    """The demo sites' listings and ordinary posts (monitor/demo), each distinct version once:
    labelled texts of the project's own, which the demo and its tests expect to hold."""
    from monitor.demo.content import DAYS, SITES, entries

    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for site in SITES:
        for day in DAYS:
            for entry in entries(site, day):
                key = (entry["title"], entry["text"])
                rows.setdefault(
                    key,
                    {
                        "id": f"demo-{site}-{entry['site_id']}-{day}",
                        "title": entry["title"],
                        "text": entry["text"],
                        "label": entry["label"],
                        "categories": entry["categories"],
                    },
                )
    return list(rows.values())


def conventional_rows(rows: list[dict[str, Any]], matcher: Any) -> list[dict[str, Any]]:
    """`rows` with their offers' categories as the labelling convention sets them
    (conventions.conventional_labels): the project's own sets and the demo sites were
    labelled before the convention, and taught the category models that a hotel list with
    name and ID number is `travel` alone."""
    from monitor.matching.conventions import conventional_labels

    out = []
    for row in rows:
        if row.get("label") == 1 and row.get("categories"):
            _, features = matcher.analyse(row.get("title", ""), row["text"])
            if features is not None:
                labelled = set(row["categories"])
                fixed = conventional_labels(labelled, features.values, features.ngram_text)
                if fixed != labelled:
                    row = row | {"categories": sorted(fixed)}
        out.append(row)
    return out


def longer_negatives(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The label-0 texts of a genre joined two by two (each once): a longer article,
    review or thread is still not an offer. The labelled texts are short (at most about 320
    characters) while a crawl reads news paragraphs and threads of any length, where rule hits
    add up; these teach the model that they do not make an offer."""
    import random

    by_genre: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["label"] == 0 and row.get("genre"):
            by_genre.setdefault(row["genre"], []).append(row)
    out = []
    shuffle = random.Random(18)
    for genre, group in sorted(by_genre.items()):
        if len(group) < 2:
            continue
        order = list(group)
        shuffle.shuffle(order)
        for first, second in zip(order[0::2], order[1::2], strict=False):
            out.append(
                {
                    "id": f"{first['id']}+{second['id']}",
                    "title": first.get("title", ""),
                    "text": first["text"] + "\n" + second.get("title", "") + "\n" + second["text"],
                    "label": 0,
                    "categories": [],
                    "genre": genre,
                }
            )
    return out


def train_files(
    keywords_dir: str | Path | None = None,
    extra_train: list[dict[str, Any]] | None = None,
    *,
    final_fit: str = "train+dev",
    progress: Any = None,
    extra_name: str = "store labels",
    category_tuning: str = "train+dev",
) -> dict[str, Any]:
    """`train` on tests/data/eval train.jsonl (plus `extra_train`, e.g. the review team's
    labels) and dev.jsonl, against the rules of `keywords_dir`."""
    from monitor.matching.evaluate import eval_set_path, read_examples
    from monitor.matching.matcher import load_matcher

    matcher = load_matcher(keywords_dir).without_model()
    train_path, dev_path = eval_set_path("train"), eval_set_path("dev")
    train_rows, dev_rows = read_examples(train_path), read_examples(dev_path)
    sets = [file_record(train_path, len(train_rows))]
    for path in OWN_SETS:  # the project's own labelled texts train too (never the test split)
        if path.is_file():
            rows = read_examples(path)
            sets.append(file_record(path, len(rows)))
            train_rows = train_rows + conventional_rows(rows, matcher)
    demo = demo_rows()
    sets.append({"name": "demo sites (monitor/demo)", "rows": len(demo), "sha256": _digest(demo)})
    train_rows = train_rows + conventional_rows(demo, matcher)
    longer = longer_negatives(train_rows)
    sets.append(
        {"name": "longer negatives (two joined)", "rows": len(longer), "sha256": _digest(longer)}
    )
    train_rows = train_rows + longer
    sets.append(file_record(dev_path, len(dev_rows)))
    if extra_train:
        digest = hashlib.sha256(
            "\n".join(
                f"{r['label']}\t{r.get('title', '')}\t{r['text']}" for r in extra_train
            ).encode()
        ).hexdigest()
        sets.append({"name": extra_name, "rows": len(extra_train), "sha256": digest})
        train_rows = train_rows + extra_train
    return train(
        train_rows,
        dev_rows,
        matcher,
        final_fit=final_fit,
        training_sets=sets,
        progress=progress,
        category_tuning=category_tuning,
    )


def main(argv: list[str] | None = None) -> int:
    from monitor import config
    from monitor.matching.model import write_model

    parser = argparse.ArgumentParser(
        prog="python -m monitor.matching.training", description=__doc__
    )
    parser.add_argument("--keywords", metavar="DIR", help="keyword directory (default keywords/)")
    parser.add_argument("--out", metavar="FILE", help=f"default: the directory's {MODEL_FILE}")
    parser.add_argument("--final-fit", choices=("train", "train+dev"), default="train+dev")
    parser.add_argument(
        "--category-tuning",
        choices=CATEGORY_TUNING,
        default=CATEGORY_TUNING[0],
        help="offers the category threshold and shifts are chosen on: train's scored out of "
        "fold, with dev's (default) or alone (dev's category figures then honest)",
    )
    args = parser.parse_args(argv)
    directory = Path(args.keywords) if args.keywords else config.keywords_dir()
    data = train_files(
        directory,
        final_fit=args.final_fit,
        progress=print,
        category_tuning=args.category_tuning,
    )
    out = Path(args.out) if args.out else directory / MODEL_FILE
    version = write_model(data, out)
    print(f"wrote {out}: model {version[:8]}, {len(data['features'])} features")
    return 0


__all__ = ["model_version", "train", "train_files", "choose_threshold"]

if __name__ == "__main__":
    sys.exit(main())
