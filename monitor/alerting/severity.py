"""How urgent an alert is, from what the listing offers.

The rules are data (`SeverityRules`), so an install can tune them; the defaults follow what
brand-protection teams triage first: their own brands, huge or fresh volumes, verified samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor import settings
from monitor.vocabulary import ALERT_KINDS, CATEGORIES, SEVERITIES


@dataclass(frozen=True)
class SeverityRules:
    high_volume: int = 1_000_000  # records; 100万 and more is high
    sensitive_categories: frozenset[str] = field(
        default_factory=lambda: frozenset({"identity", "finance", "medical", "corporate"})
    )
    sensitive_volume: int = 10_000
    kind_floor: dict[str, str] = field(
        default_factory=lambda: {
            "source_failing": "medium",
            "source_changed_shape": "medium",
        }
    )


DEFAULT_RULES = SeverityRules()
RULE_KEYS = {"high_volume", "sensitive_categories", "sensitive_volume", "kind_floor"}


def severity_file() -> Path:
    """$HEISHI_SEVERITY_FILE, else severity.toml in the checkout (optional)."""
    return settings.current().severity_file


def load_rules(path: str | Path | None = None) -> SeverityRules:
    """Severity rules from a TOML file; missing file means the defaults. Every key is checked
    (monitor.config_files): a problem is a ConfigError naming the file, line and key.

    ```toml
    high_volume = 500000                         # records from which a listing is high
    sensitive_categories = ["identity", "finance", "medical"]
    sensitive_volume = 5000                      # ... or from this many, in these categories
    kind_floor = { source_failing = "high" }     # fixed severity for some alert kinds
    ```"""
    from monitor.config_files import TomlFile

    path = Path(path) if path else severity_file()
    if not path.exists():
        return DEFAULT_RULES
    rules = TomlFile.read(path)
    raw = rules.data
    rules.only(raw, RULE_KEYS)
    floors = dict(DEFAULT_RULES.kind_floor)
    given = rules.table(raw, "kind_floor")
    rules.only(given, ALERT_KINDS, "kind_floor")
    for kind in given:
        floors[kind] = rules.choice(given, kind, "medium", SEVERITIES, table="kind_floor")
    categories = rules.strings(raw, "sensitive_categories", choices=CATEGORIES, empty=True)
    high_volume = rules.integer(raw, "high_volume", DEFAULT_RULES.high_volume, minimum=1)
    sensitive_volume = rules.integer(
        raw, "sensitive_volume", DEFAULT_RULES.sensitive_volume, minimum=1
    )
    assert high_volume is not None and sensitive_volume is not None
    return SeverityRules(
        high_volume=high_volume,
        sensitive_categories=(
            frozenset(categories) if categories is not None else DEFAULT_RULES.sensitive_categories
        ),
        sensitive_volume=sensitive_volume,
        kind_floor=floors,
    )


def severity(
    kind: str,
    state: dict[str, Any],
    match: dict[str, Any] | None,
    rules: SeverityRules = DEFAULT_RULES,
) -> str:
    """The severity of an alert of `kind` about a listing in `state` with `match`."""
    if kind in rules.kind_floor:
        return rules.kind_floor[kind]
    match = match or {}
    extraction = match.get("extraction") or {}
    categories = set(match.get("categories") or [])
    volume = state.get("volume") or 0
    level = 1  # medium
    if match.get("brands"):
        level = 3
    elif volume >= rules.high_volume or _sensitive_offer(categories, volume, extraction, rules):
        level = 2
    if kind == "removed":
        # Gone is less urgent than live: one level below what the listing was.
        level -= 1
    return SEVERITIES[max(0, level)]


def _sensitive_offer(
    categories: set[str], volume: float, extraction: dict[str, Any], rules: SeverityRules
) -> bool:
    """Sensitive categories at their own volume, or with a sample or a freshness claim."""
    return bool(categories & rules.sensitive_categories) and bool(
        volume >= rules.sensitive_volume
        or extraction.get("sample_offer")
        or extraction.get("freshness")
    )
