"""Whether a regular expression from a data file (a keyword pattern) runs in time linear in the
text it searches, however hostile the text.

Python's `re` backtracks. A pattern is searched from every position of a listing, so work per
position must be bounded by the pattern, not the text:
- every repetition is bounded (`\\d{1,12}`, never `\\d+`, `*` or `{2,}`): `\\d+个号` over 20,000
  digits tries every digit as a start and runs to the end of the run from each, 200 million
  steps; bounded, at most 12 from each;
- no repetition contains an unbounded repetition or an ambiguous alternation (`(a+)+`,
  `(a|aa)+`): those take exponential time;
- the ways the pattern can match at one position are few: the product of the lengths each
  repetition may take and of the alternatives that can start alike (`\\d{1,50}\\d{1,50}` is
  2,500 ways, refused); a pattern within MAX_WAYS does at most that much per position.
Patterns that start with a number should also say where a number starts
(`\\d(?<![\\d.]\\d)\\d{0,11}`: after the first digit, so the regex engine still skips
quickly to digits), so they are tried once per digit run, not once per digit.
"""

from __future__ import annotations

from re import _constants as _sre_constants  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Any

MAX_LENGTH = 200
MAX_REPEAT = 50  # the longest repetition a pattern may write ({1,50})
MAX_WAYS = 1_000  # ways to match at one position (see _ways)
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def regex_problem(source: object) -> str | None:
    """Why a pattern is refused (invalid, too long, unbounded, or too ambiguous), or None."""
    if not isinstance(source, str) or not source:
        return "regex must be a non-empty string"
    if len(source) > MAX_LENGTH:
        return f"regex longer than {MAX_LENGTH} characters"
    try:
        parsed = _sre_parse.parse(source)
    except Exception as exc:  # re.error, RecursionError, OverflowError
        return f"invalid regex: {exc}"
    if _nested_repeat(parsed, inside_repeat=False):
        return "nested or ambiguous repetition (catastrophic backtracking), e.g. (a+)+"
    unbounded = _unbounded(parsed)
    if unbounded:
        return (
            f"repetition {unbounded} is unbounded or longer than {MAX_REPEAT} (slow on long "
            "runs of one character): bound it, e.g. \\d{1,12} instead of \\d+, and start "
            "numbers at the start of a run: \\d(?<![\\d.]\\d)\\d{0,11}"
        )
    ways = _ways(parsed)
    if ways > MAX_WAYS:
        return (
            f"too ambiguous: over {MAX_WAYS:,} ways to match at one position; shorten "
            "repetitions that follow each other or alternatives that start alike"
        )
    return None


def _items(parsed: Any) -> list[tuple[Any, Any]]:
    return list(parsed.data if hasattr(parsed, "data") else parsed)


def _is_unbounded(high: int) -> bool:
    return high == _sre_constants.MAXREPEAT or high > MAX_REPEAT


def _children(op: str, arg: Any) -> list[Any]:
    """The sub-patterns inside one item (repeats handled by the callers)."""
    if op in ("SUBPATTERN",):
        return [arg[-1]]
    if op == "ATOMIC_GROUP":
        return [arg]
    if op == "BRANCH":
        return list(arg[1])
    if op in ("ASSERT", "ASSERT_NOT"):
        return [arg[1]]
    if op == "GROUPREF_EXISTS":
        return [p for p in arg[1:] if p is not None]
    return []


def _nested_repeat(parsed: Any, inside_repeat: bool) -> bool:
    """True when an unbounded repeat contains another repeat or an alternation, or sits in one."""
    for op, arg in _items(parsed):
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            unbounded = _is_unbounded(high)
            if inside_repeat and unbounded:
                return True
            if unbounded and _has_branch(sub):
                return True
            if _nested_repeat(sub, inside_repeat or unbounded):
                return True
        elif any(_nested_repeat(child, inside_repeat) for child in _children(name, arg)):
            return True
    return False


def _has_branch(parsed: Any) -> bool:
    for op, arg in _items(parsed):
        name = str(op)
        if name == "BRANCH":
            return True
        if name in _REPEATS and _has_branch(arg[2]):
            return True
        if any(_has_branch(child) for child in _children(name, arg)):
            return True
    return False


def _unbounded(parsed: Any) -> str | None:
    """How the first unbounded repetition is written (`+`, `*`, `{2,}`), or None."""
    for op, arg in _items(parsed):
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            if _is_unbounded(high):
                if high != _sre_constants.MAXREPEAT:
                    return f"{{{low},{high}}}"
                return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
            found = _unbounded(sub)
        else:
            found = next(filter(None, (_unbounded(c) for c in _children(name, arg))), None)
        if found:
            return found
    return None


def _ways(parsed: Any) -> int:
    """An upper bound on the paths the matcher may try from one position: a product over a
    sequence, a sum over the lengths a repetition may take, and over alternatives that can
    start with the same character (alternatives starting with different literals exclude
    each other). Saturates just above MAX_WAYS."""
    total = 1
    for op, arg in _items(parsed):
        name = str(op)
        if name in _REPEATS:
            low, high, sub = arg
            inner = _ways(sub)
            count = 0
            for times in range(low, min(high, MAX_REPEAT) + 1):
                count += inner**times if inner > 1 else 1
                if count > MAX_WAYS:
                    break
            total *= max(1, count)
        elif name == "BRANCH":
            total *= _branch_ways(list(arg[1]))
        elif name == "GROUPREF_EXISTS":
            total *= sum(_ways(p) if p is not None else 1 for p in arg[1:])
        else:
            for child in _children(name, arg):
                total *= _ways(child)
        if total > MAX_WAYS:
            return MAX_WAYS + 1
    return total


def _branch_ways(alternatives: list[Any]) -> int:
    by_first: dict[int, int] = {}
    unknown = 0
    for alternative in alternatives:
        items = _items(alternative)
        ways = _ways(alternative)
        if items and str(items[0][0]) == "LITERAL":
            by_first[items[0][1]] = by_first.get(items[0][1], 0) + ways
        else:
            unknown += ways
    return unknown + max(by_first.values(), default=0) or 1
