"""The learned score: a calibrated logistic regression over a listing's features
(monitor/features.py), kept as plain weights in `keywords/model.json` beside the keyword lists.

Scoring is a dot product and a sigmoid in plain Python: crawling never imports numpy or
scikit-learn (only `heishi learn` / monitor/training.py does). The file is versioned: its
`version` is a hash of everything else in it, and it is part of the rules version
(monitor/rules_version.py), so stored matches, `heishi retrohunt` and `heishi eval --against`
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
from monitor.features import NGRAM_PREFIX, Features, NgramIndex

MODEL_FILE = "model.json"
FORMAT = "heishi-model-1"
EXPLAIN = 5  # features shown per direction in a listing's reasons


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
    _ngrams: NgramIndex | None = None

    @property
    def ngrams(self) -> NgramIndex:
        """The n-grams any weight uses, as one automaton (built on first use)."""
        if self._ngrams is None:
            names = set(self.alert.weights)
            for model in self.categories.values():
                names.update(model.weights)
            grams = sorted(n[len(NGRAM_PREFIX) :] for n in names if n.startswith(NGRAM_PREFIX))
            self._ngrams = NgramIndex(grams)
        return self._ngrams

    def probability(self, features: Features) -> float:
        """P(the listing offers personal data), calibrated."""
        return sigmoid(self.alert.margin(features.values))

    def explain(self, features: Features, limit: int = EXPLAIN) -> list[tuple[str, str, float]]:
        """The features that moved the score most, as (feature, words as written, weight),
        the strongest push towards an alert first, then the strongest push away."""
        weights = self.alert.weights
        moved = [
            (name, weights[name] * value)
            for name, value in features.values.items()
            if name in weights and abs(weights[name] * value) >= 0.05
        ]
        up = sorted((m for m in moved if m[1] > 0), key=lambda m: -m[1])[:limit]
        down = sorted((m for m in moved if m[1] < 0), key=lambda m: m[1])[:limit]
        return [(name, features.as_written(name), round(w, 2)) for name, w in up + down]

    def predict_categories(self, features: Features) -> list[str]:
        """Every category whose probability reaches the category threshold (at least the
        likeliest one), likeliest first."""
        scored = {c: sigmoid(m.margin(features.values)) for c, m in self.categories.items()}
        if not scored:
            return []
        chosen = [c for c, p in scored.items() if p >= self.category_threshold]
        if not chosen:
            chosen = [max(scored, key=scored.__getitem__)]
        return sorted(chosen, key=lambda c: -scored[c])

    def to_dict(self) -> dict[str, Any]:
        return self.data


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
