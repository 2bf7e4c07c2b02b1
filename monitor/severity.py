"""How urgent an alert is, from what the listing offers.

The rules are data (`SeverityRules`), so an install can tune them; the defaults follow what
brand-protection teams triage first: their own brands, huge or fresh volumes, verified samples.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LEVELS = ("low", "medium", "high", "critical")


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
    elif volume >= rules.high_volume:
        level = 2
    elif categories & rules.sensitive_categories and (
        volume >= rules.sensitive_volume
        or extraction.get("sample_offer")
        or extraction.get("freshness")
    ):
        level = 2
    if kind == "removed":
        # Gone is less urgent than live: one level below what the listing was.
        level -= 1
    return LEVELS[max(0, level)]
