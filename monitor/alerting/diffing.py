"""Diffs of listing text in bounded time.

difflib's SequenceMatcher (without its junk heuristic, which would hide changes) can take time
that grows with the square of the lengths, or worse, when tokens repeat: two versions of a
16,000-character listing made of one repeated word took 40 s to diff, and 1,000 tokens against
500 pairs of them 25 s. Listing text is written by the people heishi watches, so a diff here
first matches the common head and tail (linear, and usually all but the change), then
compares what is left while a work budget lasts, counting the steps of SequenceMatcher's
inner loop before it takes them; past the budget the rest is shown replaced whole. The
opcodes have difflib's shape either way.
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import SequenceMatcher
from itertools import accumulate
from typing import Any

Opcode = tuple[str, int, int, int, int]
DEFAULT_BUDGET = 1_000_000  # inner-loop steps for one page or table: a fraction of a second


class _OverBudget(Exception):
    pass


class BoundedDiff:
    """Opcodes for pairs of sequences, sharing one work budget (one page, one table)."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.left = budget

    def spend(self, steps: int) -> None:
        if steps > self.left:
            self.left = 0
            raise _OverBudget
        self.left -= steps

    def opcodes(self, a: Sequence[Any], b: Sequence[Any]) -> list[Opcode]:
        """What turns `a` into `b`, as SequenceMatcher.get_opcodes() says it."""
        head = 0
        limit = min(len(a), len(b))
        while head < limit and a[head] == b[head]:
            head += 1
        tail = 0
        while tail < limit - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
            tail += 1
        middle_a, middle_b = a[head : len(a) - tail], b[head : len(b) - tail]
        ops: list[Opcode] = []
        if head:
            ops.append(("equal", 0, head, 0, head))
        compared = None
        if middle_a and middle_b and self.left > 0:
            try:
                compared = _BudgetedMatcher(middle_a, middle_b, self).get_opcodes()
            except _OverBudget:
                compared = None
        if compared is not None:
            for op, i1, i2, j1, j2 in compared:
                ops.append((op, i1 + head, i2 + head, j1 + head, j2 + head))
        elif middle_a or middle_b:
            op = "replace" if middle_a and middle_b else ("delete" if middle_a else "insert")
            ops.append((op, head, len(a) - tail, head, len(b) - tail))
        if tail:
            ops.append(("equal", len(a) - tail, len(a), len(b) - tail, len(b)))
        return ops


class _BudgetedMatcher(SequenceMatcher):
    """SequenceMatcher that pays for each longest-match search before running it: the search
    over a[alo:ahi] steps through every place in b where each of those tokens occurs, at most."""

    # Set by SequenceMatcher.set_seqs; typeshed leaves them out.
    a: Sequence[Any]
    b2j: dict[Any, list[int]]

    def __init__(self, a: Sequence[Any], b: Sequence[Any], budget: BoundedDiff) -> None:
        super().__init__(None, a, b, autojunk=False)
        occurrences = {token: len(places) for token, places in self.b2j.items()}
        self._steps_before = list(accumulate((occurrences.get(t, 0) for t in a), initial=0))
        self._budget = budget

    def find_longest_match(self, alo=0, ahi=None, blo=0, bhi=None):
        ahi = len(self.a) if ahi is None else ahi
        self._budget.spend(self._steps_before[ahi] - self._steps_before[alo] + ahi - alo)
        return super().find_longest_match(alo, ahi, blo, bhi)
