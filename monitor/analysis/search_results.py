"""What a search returns: listings found, with snippets of their original text highlighted.

The index holds segmented, normalised words; people read the text as it was posted. A snippet
is cut from the original text, and the query's words are found in it through the same
normalisation (so 身份證 in a query highlights 身份证, and ＱＱ highlights qq), mapped back to
the original characters.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from monitor.matching.normalize import normalize, quick_text

# bm25 as FTS5 computes it (k1, b), with heishi's column weights: title, text, hidden words.
BM25_K1 = 1.2
BM25_B = 0.75
COLUMN_WEIGHTS = (4.0, 1.0, 0.5)


def bm25_scores(
    rows: list[tuple[Any, ...]],
    terms: list[tuple[str, ...]],
    frequencies: dict[tuple[str, ...], float],
    totals: dict[str, Any],
) -> list[tuple[int, float]]:
    """(rowid, score) for index rows (rowid, title, text, extra, facets): higher is better.

    The formula of FTS5's bm25() with the column weights of `COLUMN_WEIGHTS`, computed here
    over the rows a search ranks (its window) because FTS5's own pays for every row of every
    word first (to count them for the inverse document frequency), which for a common word is
    most of the time of a search. Term frequencies are read from the stored words; document
    frequencies come from `frequencies` (see monitor.analysis.search._document_frequency) and average
    lengths from FTS5's own totals. A phrase counts where its words stand in a row.
    """
    rows_total = max(1, totals["rows"])
    average = max(1e-9, sum(totals["tokens"]) / rows_total)
    title_weight, text_weight, extra_weight = COLUMN_WEIGHTS
    scoring = []
    for term in terms:
        df = frequencies.get(term, 0.0)
        idf = max(1e-6, math.log((rows_total - df + 0.5) / (df + 0.5)))
        # Words are separated by two spaces (below), so neighbours never share a space.
        needle = " " + "  ".join(term) + " "
        scoring.append((idf, needle, extra_weight if len(term) == 1 else 0.0))
    k1, b = BM25_K1, BM25_B
    scored = []
    for rowid, title, text, extra, facets in rows:
        title, text, extra = title or "", text or "", extra or ""
        # Words in the row, all columns (as FTS5 counts them; an empty column has none).
        length = sum(c.count(" ") + 1 for c in (title, text, extra, facets) if c)
        norm = k1 * (1 - b + b * length / average)
        title = " " + title.replace(" ", "  ") + " "
        text = " " + text.replace(" ", "  ") + " "
        extra = " " + extra.replace(" ", "  ") + " "
        score = 0.0
        for idf, needle, hidden_weight in scoring:
            tf = title_weight * title.count(needle) + text_weight * text.count(needle)
            if hidden_weight:  # hidden words are single words
                tf += hidden_weight * extra.count(needle)
            if tf:
                score += idf * tf * (k1 + 1) / (tf + norm)
        scored.append((rowid, score))
    return scored


@dataclass
class Snippet:
    """A window of original text and the (start, end) spans in it to highlight."""

    text: str
    spans: list[tuple[int, int]]


def hit_spans(original: str, highlights: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of `original` whose normalised form is one of `highlights` (longest first)."""
    original = original or ""
    needles = sorted({h for h in highlights if h}, key=len, reverse=True)
    direct = [n for n in needles if n in original]
    quick = quick_text(original)  # C speed: is there anything normalising would find?
    if len(direct) == len(needles) or not any(
        n.replace(" ", "") in quick for n in needles if n not in direct
    ):
        # Stored text is mostly simplified and half width already: no need to normalise.
        return _find_all(original, direct, lambda start, end: (start, end))
    norm = normalize(original)
    return _find_all(norm.text, needles, norm.to_original)


def _find_all(text: str, needles: list[str], to_original) -> list[tuple[int, int]]:
    taken = [False] * len(text)
    spans: list[tuple[int, int]] = []
    for needle in needles:
        start = text.find(needle)
        while start >= 0:
            end = start + len(needle)
            if not any(taken[start:end]):
                taken[start:end] = [True] * (end - start)
                spans.append(to_original(start, end))
            start = text.find(needle, end)
    return sorted(spans)


def make_snippet(original: str | None, highlights: Iterable[str], width: int = 80) -> Snippet:
    """Up to `width` characters of `original` around its first hit, on one line."""
    text = original or ""
    spans = hit_spans(text, highlights)
    start = 0
    if len(text) > width:
        first = spans[0][0] if spans else 0
        start = max(0, min(first - width // 4, len(text) - width))
    window = text[start : start + width]
    shown = re.sub(r"\s", " ", window)
    kept = [
        (max(0, a - start), min(len(window), b - start))
        for a, b in spans
        if b > start and a < start + len(window)
    ]
    prefix = "…" if start else ""
    suffix = "…" if start + width < len(text) else ""
    shift = len(prefix)
    return Snippet(prefix + shown + suffix, [(a + shift, b + shift) for a, b in kept])


@dataclass
class SearchHit:
    """One listing found: where the words were (current text or an older version) and why."""

    listing_id: int
    source: str
    site_id: str
    url: str | None
    status: str
    score: float | None  # -bm25 of its best matching version, higher is better (relevance)
    current: bool  # the words are in the listing's current title or text
    version: int  # the listing's current version
    found_in_version: int  # the version shown (the current one when `current`)
    found_seen_at: str | None
    first_seen: str | None
    last_seen: str | None
    categories: list[str]
    title: Snippet
    text: Snippet

    def as_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k not in ("title", "text")}
        data["score"] = None if self.score is None else round(self.score, 3)
        data["title"], data["title_highlights"] = self.title.text, self.title.spans
        data["snippet"], data["snippet_highlights"] = self.text.text, self.text.spans
        return data


@dataclass
class SearchResults:
    query: str
    expression: str
    sort: str
    hits: list[SearchHit]
    candidates: int  # matching versions ranked
    window: int
    since: str | None = None

    @property
    def window_full(self) -> bool:
        """True when more versions match than were ranked (only the newest `window` were)."""
        return self.candidates >= self.window


def hit_from_row(row: dict[str, Any], score: float | None, current: bool) -> SearchHit:
    """A listing's result from its best matching version; `current` when its current text
    matches too (then that text is shown)."""
    try:
        categories = json.loads(row["categories"] or "[]")
    except ValueError:
        categories = []
    return SearchHit(
        listing_id=row["listing_id"],
        source=row["source"],
        site_id=row["site_id"],
        url=row["url"],
        status=row["status"],
        score=score,
        current=current,
        version=row["version"],
        found_in_version=row["version"] if current else row["hit_version"],
        found_seen_at=row["last_seen"] if current else row["hit_seen_at"],
        first_seen=row["first_seen"],
        last_seen=row["last_seen"],
        categories=categories,
        # Made into snippets by `search`.
        title=Snippet((row["title"] if current else row["hit_title"]) or "", []),
        text=Snippet((row["text"] if current else row["hit_text"]) or "", []),
    )
