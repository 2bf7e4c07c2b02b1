"""heishi's vocabulary (monitor.vocabulary) as SQL: the orderings as generated `CASE`s and the
sets as `IN` lists, so a query never spells a severity or status order of its own."""

from __future__ import annotations

from collections.abc import Iterable

from monitor.vocabulary import SEVERITIES, STATUS_QUEUE_ORDER, severity_rank

# A severity from its rank (`max()` of ranks over a group of alerts).
SEVERITY_OF_RANK = {severity_rank(severity): severity for severity in SEVERITIES}


def sql_list(values: Iterable[str]) -> str:
    """`('a', 'b')`: closed-vocabulary words (never user input) as an SQL list."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


def severity_rank_sql(column: str) -> str:
    """`column`'s severity as a number to sort or `max()` by: critical 4 ... low 1, else 0."""
    whens = " ".join(f"WHEN '{s}' THEN {severity_rank(s)}" for s in reversed(SEVERITIES))
    return f"CASE {column} {whens} ELSE 0 END"


def status_rank_sql(column: str) -> str:
    """`column`'s status in the queue's order (open first, dismissed last), unknown after."""
    whens = " ".join(f"WHEN '{s}' THEN {n}" for n, s in enumerate(STATUS_QUEUE_ORDER, 1))
    return f"CASE {column} {whens} ELSE {len(STATUS_QUEUE_ORDER) + 1} END"
