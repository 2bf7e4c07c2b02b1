"""The learned score: a calibrated logistic regression over a listing's features
(monitor/matching/features.py), kept as plain weights in `keywords/model.json` beside the keyword lists.

Scoring is a dot product and a sigmoid in plain Python: crawling never imports numpy or
scikit-learn (only `heishi learn` / monitor/matching/training.py does). The file is versioned: its
`version` is a hash of everything else in it, and it is part of the rules version
(monitor/matching/rules_version.py), so stored matches, `heishi retrohunt` and `heishi eval --against`
tell models apart as they tell keyword lists apart.

model.json:
    format        "heishi-model-1"
    version       sha256 (16 hex) of the file without this field
    threshold     the alert probability, chosen on the dev split for precision >= 0.97
    alert         {"bias": b, "weights": {feature: w}}: P(offer) = sigmoid(b + w . x)
    categories    {"threshold": t, "models": {category: {"bias", "weights"}}}: one-vs-rest
    features      every feature name any weight uses
    training      the labelled sets (name, rows, sha256), rules version, hyper-parameters
    figures       what training measured (dev split, cross-validation)
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.errors import ConfigError
from monitor.matching.features import NGRAM_PREFIX, Features

MODEL_FILE = "model.json"
FORMAT = "heishi-model-1"
EXPLAIN = 4  # features shown per direction in a listing's reasons
MOVED = 0.05  # a smaller push on the alert margin is not worth explaining
MOVED_NGRAM = 0.3  # an n-gram pushing less is never among the few explained


@dataclass
class _Scored:
    """A listing's alert margin and the category weights its features carry."""

    alert: float
    features: list[tuple[tuple[tuple[int, float], ...], float]]
    ngrams: list[tuple[tuple[int, float], ...]]
    ngram_value: float

    # Written out so that mypyc compiles it (@dataclass's own __init__ is interpreted).
    def __init__(
        self,
        alert: float,
        features: list[tuple[tuple[tuple[int, float], ...], float]],
        ngrams: list[tuple[tuple[int, float], ...]],
        ngram_value: float,
    ) -> None:
        self.alert = alert
        self.features = features
        self.ngrams = ngrams
        self.ngram_value = ngram_value


@dataclass(frozen=True)
class LinearModel:
    bias: float
    weights: dict[str, float]

    def margin(self, values: dict[str, float]) -> float:
        weights = self.weights
        total = self.bias
        for name, value in values.items():
            weight = weights.get(name)
            if weight is not None:
                total += weight * value
        return total

    def to_dict(self) -> dict[str, Any]:
        return {"bias": self.bias, "weights": self.weights}


@dataclass
class Model:
    """A trained model: the alert score, per-category scores and how they were made."""

    version: str
    threshold: float
    alert: LinearModel
    categories: dict[str, LinearModel]
    category_threshold: float
    data: dict[str, Any] = field(default_factory=dict)  # the whole file, as read
    # n-gram -> (alert weight, category cells), and the n-grams' lengths, longest first
    _ngrams: dict[str, tuple[float, tuple[tuple[int, float], ...]]] = field(default_factory=dict)
    _ngram_sizes: tuple[int, ...] = ()
    _pair_starts: frozenset[str] | None = None
    # feature -> ((0, alert weight), (1 + i, weight of category i), ...): one pass over a
    # listing's features gives every margin.
    _table: dict[str, tuple[float, tuple[tuple[int, float], ...]]] = field(default_factory=dict)
    _biases: list[float] = field(default_factory=list)
    _names: list[str] = field(default_factory=list)
    _category_margin: float = 0.0  # the category threshold as a margin (its logit)

    def __post_init__(self) -> None:
        self._names = sorted(self.categories)
        p = min(max(self.category_threshold, 1e-9), 1 - 1e-9)
        self._category_margin = math.log(p / (1 - p))
        models = [self.alert, *(self.categories[n] for n in self._names)]
        self._biases = [m.bias for m in models]
        cells: dict[str, list[tuple[int, float]]] = {}
        for index, model in enumerate(models):
            for name, weight in model.weights.items():
                cells.setdefault(name, []).append((index, weight))
        # feature -> (alert weight, ((category index, weight), ...)): the alert margin needs
        # one addition per feature; the categories are added up only for an alert.
        self._table = {
            name: (
                row[0][1] if row[0][0] == 0 else 0.0,
                tuple(cell for cell in row if cell[0] != 0),
            )
            for name, row in cells.items()
        }
        # The n-grams are 2 and 3 characters long (features.NGRAM_SIZES): a dict lookup of
        # each slice of the text finds them in the order an Aho-Corasick pass did (by end,
        # the longest first) at half its cost (pyahocorasick searched the root's thousands
        # of first characters one by one, and built a tuple for every hit).
        self._ngrams = {
            name[len(NGRAM_PREFIX) :]: cells
            for name, cells in self._table.items()
            if name.startswith(NGRAM_PREFIX) and len(name) > len(NGRAM_PREFIX)
        }
        self._ngram_sizes = tuple(sorted({len(gram) for gram in self._ngrams}, reverse=True))
        # With 2- and 3-grams only (training's NGRAM_SIZES): the 2-grams that begin a 3-gram,
        # so that a 3-gram is sliced and looked up only after one (half the 3-grams of a text).
        if self._ngram_sizes == (3, 2):
            self._pair_starts = frozenset(g[:2] for g in self._ngrams if len(g) == 3)

    def margins(
        self, features: Features, moved: list[tuple[float, str]] | None = None
    ) -> list[float]:
        """[alert margin, margin of each category in name order]; `moved` collects the alert
        contributions large enough to explain."""
        scored = self._scored(features, moved)
        totals = list(self._biases)
        totals[0] = scored.alert
        self._add_categories(scored, totals)
        return totals

    def _scored(self, features: Features, moved: list[tuple[float, str]] | None) -> _Scored:
        """The alert margin, and what the category margins are made of, in one pass over the
        listing's rule features and a dict lookup of each of its n-grams."""
        table = self._table
        alert = self._biases[0]
        later: list[tuple[tuple[tuple[int, float], ...], float]] = []
        for name, value in features.values.items():
            entry = table.get(name)
            if entry is None:
                continue
            weight, categories = entry
            if weight:
                push = weight * value
                alert += push
                if moved is not None and (push >= MOVED or push <= -MOVED):
                    moved.append((push, name))
            if categories:
                later.append((categories, value))
        grams: list[tuple[tuple[int, float], ...]] = []
        value = features.ngram_weight
        text = features.ngram_text
        if not features.ngrams_listed and self._ngrams and text:
            cut = MOVED_NGRAM / value if moved is not None else math.inf
            total, strong = self._ngram_pass(text, features.ngram_starts, grams, cut)
            alert += total * value
            if moved is not None:
                moved.extend((weight * value, NGRAM_PREFIX + gram) for weight, gram in strong)
        return _Scored(alert, later, grams, value)

    def _ngram_pass(
        self,
        text: str,
        starts: dict[str, int],
        grams: list[tuple[tuple[int, float], ...]],
        cut: float,
    ) -> tuple[float, list[tuple[float, str]]]:
        """The model's n-grams in `text`, each counted once, by end and the longest first
        (as an Aho-Corasick pass found them): their summed alert weight and those weighing
        at least `cut` either way; where each first starts goes to `starts`, their category
        cells to `grams`."""
        ngrams = self._ngrams
        pair_starts = self._pair_starts
        total = 0.0
        strong: list[tuple[float, str]] = []
        begins_triple = False  # whether the pair ending one character back begins a 3-gram
        for end in range(1, len(text) + 1):
            for size in self._ngram_sizes:
                start = end - size
                if start < 0:
                    continue
                if pair_starts is not None and size == 3 and not begins_triple:
                    continue  # no 3-gram starts with text[start:end - 1]
                gram = text[start:end]
                if pair_starts is not None and size == 2:
                    begins_triple = gram in pair_starts
                found = ngrams.get(gram)
                if found is None or gram in starts:
                    continue
                starts[gram] = start
                weight, categories = found
                total += weight
                if categories:
                    grams.append(categories)
                if weight >= cut or weight <= -cut:
                    strong.append((weight, gram))
        return total, strong

    def _add_categories(self, scored: _Scored, totals: list[float]) -> None:
        # A value of 1.0 (most features, and every n-gram of a short listing) adds the weight
        # itself: weight * 1.0 is weight exactly, so the sums are the same, one step shorter.
        # The features, then the n-grams: the order of the additions is the sums' order.
        for categories, value in scored.features:
            _add_cells(totals, categories, value)
        value = scored.ngram_value
        for categories in scored.ngrams:
            _add_cells(totals, categories, value)

    def decide(self, features: Features) -> tuple[float, list[str], list[tuple[float, str]]]:
        """The alert probability, the categories (empty below the threshold) and the alert
        contributions that explain it, as (push, feature), for `explain`."""
        moved: list[tuple[float, str]] = []
        scored = self._scored(features, moved)
        probability = sigmoid(scored.alert)
        if probability < self.threshold:
            return probability, [], moved
        totals = list(self._biases)
        self._add_categories(scored, totals)
        return probability, self._categories(totals), moved

    def _categories(self, totals: list[float]) -> list[str]:
        """The categories whose margin reaches the category threshold's (at least the
        likeliest one), likeliest first: margins compare as probabilities do."""
        if not self._names:
            return []
        ranked = sorted(zip(totals[1:], self._names, strict=True), reverse=True)
        floor = self._category_margin
        return [name for margin, name in ranked if margin >= floor] or [ranked[0][1]]

    def probability(self, features: Features) -> float:
        """P(the listing offers personal data), calibrated."""
        return sigmoid(self.margins(features)[0])

    def explain(
        self,
        features: Features,
        moved: list[tuple[float, str]] | None = None,
        limit: int = EXPLAIN,
    ) -> list[tuple[str, str, float]]:
        """The features that moved the score most, as (feature, words as written, weight):
        up to `limit` with words behind them each way (strongest push towards an alert first,
        then away), and the two strongest without words (the rules' score, a length)."""
        if moved is None:
            moved = []
            self.margins(features, moved)
        moved.sort(key=lambda m: -abs(m[0]))
        up: list[tuple[str, str, float]] = []
        down: list[tuple[str, str, float]] = []
        bare: list[tuple[str, str, float]] = []
        shown: set[str] = set()
        for push, name in moved:
            if len(bare) >= 2 and len(up if push > 0 else down) >= limit:
                continue  # both sides it could go to are full: its words are not needed
            written = features.as_written(name)
            if written and written in shown:
                continue  # the same words through another feature (a term and its n-gram)
            side = bare if not written else (up if push > 0 else down)
            if len(side) < (2 if side is bare else limit):
                side.append((name, written, round(push, 2)))
                shown.add(written)
            if len(up) >= limit and len(down) >= limit and len(bare) >= 2:
                break
        return up + down + bare

    def predict_categories(self, features: Features) -> list[str]:
        """Every category whose probability reaches the category threshold (at least the
        likeliest one), likeliest first."""
        return self._categories(self.margins(features))

    def to_dict(self) -> dict[str, Any]:
        return self.data


def _add_cells(totals: list[float], cells: tuple[tuple[int, float], ...], value: float) -> None:
    """Each (category index, weight) cell's weight times `value` added to its total."""
    # totals[index] + weight, not +=: mypyc compiles an augmented assignment to a list item
    # as a generic in-place add of two boxed floats, this as a float addition.
    if value == 1.0:
        for index, weight in cells:
            totals[index] = totals[index] + weight
    else:
        for index, weight in cells:
            totals[index] = totals[index] + weight * value


def sigmoid(margin: float) -> float:
    if margin >= 0:
        return 1.0 / (1.0 + math.exp(-margin))
    z = math.exp(margin)
    return z / (1.0 + z)


def model_version(data: dict[str, Any]) -> str:
    """The hash of a model file's contents without its own `version` field."""
    body = {k: v for k, v in data.items() if k != "version"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def from_dict(data: dict[str, Any], where: str = MODEL_FILE) -> Model:
    """A Model from a model file's parsed contents; ConfigError naming `where` if malformed."""
    try:
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, expected {FORMAT!r}")
        alert = _linear(data["alert"])
        categories = data.get("categories") or {}
        models = {name: _linear(spec) for name, spec in (categories.get("models") or {}).items()}
        model = Model(
            version=str(data.get("version") or model_version(data)),
            threshold=float(data["threshold"]),
            alert=alert,
            categories=models,
            category_threshold=float(categories.get("threshold", 0.5)),
            data=data,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(where, f"not a heishi model file: {exc}") from exc
    if model.version != model_version(data):
        raise ConfigError(
            where,
            "its contents do not match its version (edited by hand?)",
            hint="retrain with `heishi learn --adopt`, or restore the file from git",
        )
    return model


def _linear(spec: dict[str, Any]) -> LinearModel:
    weights = {str(k): float(v) for k, v in spec["weights"].items()}
    return LinearModel(float(spec["bias"]), weights)


def model_path(directory: str | Path) -> Path:
    return Path(directory) / MODEL_FILE


def load_model(directory: str | Path) -> Model | None:
    """The model kept in a keyword directory, or None when it has none."""
    path = model_path(directory)
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(str(path), f"cannot read the model: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(str(path), "not a heishi model file: not a JSON object")
    return from_dict(data, str(path))


def write_model(data: dict[str, Any], path: str | Path) -> str:
    """Write a model file (its version computed and set); returns the version."""
    data = dict(data)
    data["version"] = model_version(data)
    path = Path(path)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
    return str(data["version"])
