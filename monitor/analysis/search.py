"""Full-text search over listings and every version of their text: segmentation and queries.

SQLite FTS5's tokenizers do not know Chinese words (unicode61 makes one token of a whole run of
Chinese characters), so heishi segments text itself and gives FTS5 words separated by spaces.
The text is normalised first, as the matcher does (monitor/matching/normalize.py: full width to half
width, traditional to simplified, separators inside words dropped), so 身份證, ＳＦＺ and
身 份 证 find what 身份证 finds. Segmentation is jieba's precise mode without HMM (the same
text always cuts the same way) over jieba's dictionary (its words seen at least
DICTIONARY_MIN_FREQ times, and every single character), with every keyword term added as a
user word at the frequency monitor/matching/segment.py gives them, so keyword terms stay whole.

Each indexed version has four columns:
- `title`, `text`: the segmented words, in order (phrase queries use their positions);
- `extra`: words hidden inside longer words (身份证 inside 身份证号码, as jieba's search mode
  cuts them) and every keyword term that occurs in the text even where segmentation cut across
  it (银行卡 in 银行卡料, cut 银行/卡料), so a keyword always finds the texts that contain it;
- `facets`: one opaque token for the source and one per category, so filters are answered by
  the index itself instead of by scanning matches.

A query is segmented with the same tokenizer, so 身份证四件套 and 身份证 四件套 are the same
query. See `parse_query` for the syntax, `search` for ranking (the newest DEFAULT_WINDOW
matches scored by bm25: monitor/analysis/search_results.py) and monitor/store/search.py for the table.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from monitor.analysis.search_results import (
    SearchHit,
    SearchResults,
    bm25_scores,
    hit_from_row,
    make_snippet,
)
from monitor.errors import HeishiError
from monitor.matching.normalize import normalize
from monitor.timespec import since_timestamp

log = logging.getLogger(__name__)

# jieba's words below this frequency (170,000 rare ones) are left out: the dictionary loads in
# a third of the time, and a word it lacks is cut into smaller ones, in texts and queries alike.
DICTIONARY_MIN_FREQ = 5
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD_CHAR = re.compile(r"\w")
_ASCII_WORD = re.compile(r"[0-9a-z]")
# jieba's blocks (jieba.re_han_default, as monitor.matching.wordcut splits text): a block cuts
# the same way wherever it stands, so its words are kept (`SearchSegmenter.words`).
_BLOCK = re.compile("([\u4e00-\u9fd5a-zA-Z0-9+#&\\._%\\-]+)", re.U)
# Blocks (and words) whose cut is kept: emptied when full. Listings repeat their own title in
# their text and share phrases, contacts and templates: about two blocks in three recur.
_MEMO_LIMIT = 1 << 12  # each entry 300-600 bytes: 2-3 MB at most


class QueryError(HeishiError):
    """A search query that cannot be run (unbalanced quotes, a dangling OR, no words)."""


class SearchSegmenter:
    """jieba with the keyword terms as user words (a private dictionary), cut through
    monitor.matching.wordcut (the same words, faster, and a warm start without loading jieba's
    dictionary); built once."""

    def __init__(self, user_words: Iterable[str], terms: Iterable[str], cache_dir: Path) -> None:
        from monitor.matching.segment import PrivateDictionary

        self.user_words = sorted({w for w in user_words if len(w) >= 2 and _CJK.search(w)})
        # Keyword surfaces looked for anywhere in a text (see `extra` in the module docstring).
        self.terms = sorted({t for t in terms if len(t) >= 2 and " " not in t})
        self.cache_dir = Path(cache_dir)
        self.dictionary = PrivateDictionary(
            f"jieba-search-{DICTIONARY_MIN_FREQ}",
            lambda word, freq: len(word) == 1 or freq >= DICTIONARY_MIN_FREQ,
            self.user_words,
            self.cache_dir,
        )
        self._automaton = None
        self._block_words: dict[str, list[str]] = {}
        self._inner_words: dict[str, list[str]] = {}

    def tokenizer(self):
        """The jieba tokenizer the cuts are made as (loaded only to build the word cut)."""
        return self.dictionary.tokenizer()

    def wordcut(self):
        return self.dictionary.wordcut()

    def fingerprint(self) -> str:
        """What decides the words indexed: jieba's dictionary, the cut of it, the user words
        and the keyword terms. An index made under another fingerprint misses words the new
        keyword lists add, until `heishi search --reindex`."""
        from monitor.matching.segment import USER_WORD_FREQ, jieba_dictionary_identity

        parts = [
            f"search dictionary: min freq {DICTIONARY_MIN_FREQ}, user words at {USER_WORD_FREQ}",
            jieba_dictionary_identity(),
            "user words:",
            *self.user_words,
            "terms:",
            *self.terms,
        ]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    def automaton(self):
        if self._automaton is None:
            import ahocorasick

            automaton = ahocorasick.Automaton()
            for term in self.terms:
                automaton.add_word(term, term)
            if self.terms:
                automaton.make_automaton()
            self._automaton = automaton
        return self._automaton

    def words(self, normalized: str) -> list[str]:
        """The words of already normalised text, in order, without spaces and punctuation."""
        if not normalized:
            return []
        memo = self._block_words
        out: list[str] = []
        # A capturing split alternates text between blocks (even) and blocks (odd); what lies
        # between blocks is cut into single characters (and runs of spaces, dropped here).
        for index, piece in enumerate(_BLOCK.split(normalized)):
            if not piece:
                continue
            if index % 2 == 0:
                out += [c for c in piece if _WORD_CHAR.search(c)]
                continue
            found = memo.get(piece)
            if found is None:
                found = [w for w in self.wordcut().cut(piece) if _WORD_CHAR.search(w)]
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[piece] = found
            out += found
        return out

    def hidden_words(self, normalized: str, words: list[str]) -> list[str]:
        """Dictionary words inside longer words, and keyword terms segmentation cut across."""
        seen = set(words)
        found: list[str] = []
        for word in words:
            if len(word) < 3:
                continue
            for part in self._inner(word):
                if part not in seen:
                    seen.add(part)
                    found.append(part)
        if self.terms and normalized:
            for _end, term in self.automaton().iter(normalized):
                if term not in seen:
                    seen.add(term)
                    found.append(term)
        return found

    def _inner(self, word: str) -> list[str]:
        """The dictionary words inside a word of Chinese (shortest first, left to right)."""
        memo = self._inner_words
        found = memo.get(word)
        if found is None:
            found = []
            if _CJK.search(word):
                is_word = self.wordcut().is_word
                for size in range(2, len(word)):
                    for start in range(len(word) - size + 1):
                        part = word[start : start + size]
                        if is_word(part):
                            found.append(part)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[word] = found
        return found


@lru_cache(maxsize=1)
def default_segmenter() -> SearchSegmenter:
    """The segmenter for this install's keyword lists (the matcher's user words)."""
    from monitor import config
    from monitor.matching.keywords import load_keywords

    try:
        keywords = load_keywords()
    except HeishiError as exc:
        # Indexing must not stop a sweep: segment with jieba's dictionary alone.
        log.warning("search index: keyword lists not loaded (%s); segmenting without them", exc)
        return SearchSegmenter([], [], config.cache_dir())
    users = [e.surface for e in keywords.entries if e.role != "context"]
    terms = [e.surface for e in keywords.entries]
    return SearchSegmenter(users, terms, config.cache_dir())


@dataclass(frozen=True)
class IndexedText:
    """The columns of one row of the search index."""

    title: str
    text: str
    extra: str
    facets: str


def index_row(
    title: str | None, text: str | None, source: str, categories: Iterable[str], segmenter=None
) -> IndexedText:
    """The search index row for one version of a listing."""
    segmenter = segmenter or default_segmenter()
    title_norm = normalize(title or "").text
    text_norm = normalize(text or "").text
    title_words = segmenter.words(title_norm)
    text_words = segmenter.words(text_norm)
    extra = segmenter.hidden_words(title_norm + "\n" + text_norm, title_words + text_words)
    facets = [facet_token("source", source), *(facet_token("category", c) for c in categories)]
    return IndexedText(
        " ".join(title_words), " ".join(text_words), " ".join(extra), " ".join(facets)
    )


def facet_token(kind: str, value: str) -> str:
    """One index token standing for a source or a category: its UTF-8 bytes in hex, so any
    name is one token. The store computes the same in SQL (see monitor/store/search.py)."""
    return ("zs" if kind == "source" else "zc") + str(value).encode().hex()


# --- queries ------------------------------------------------------------------------------

_QUERY_TOKEN = re.compile(r'"([^"]*)"|(\S+)')
_TEXT_COLUMNS = "{title text extra}"
_PHRASE_COLUMNS = "{title text}"


@dataclass
class ParsedQuery:
    """A user's query as an FTS5 expression, and the terms it looks for (each a word or a
    phrase of words) that rank and highlight results."""

    expression: str
    terms: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def highlights(self) -> list[str]:
        """The terms as they appear in normalised text."""
        return [_joined(list(term)) for term in self.terms]


def parse_query(query: str, segmenter=None) -> ParsedQuery:
    """Turn `身份证 四件套`, `"手持 身份证"`, `护照 OR 驾照`, `-测试` into an FTS5 expression.

    Words separated by spaces must all occur (AND); OR between two items makes either do (it
    binds tighter than the spaces: `四件套 身份证 OR 护照` is 四件套 AND (身份证 OR 护照));
    a quoted phrase must occur as written; `-word` excludes. Each word is normalised and
    segmented like indexed text: its words are ANDed, and a run of single characters (a name
    jieba does not know) must stay together, as a phrase. Raises QueryError on bad input.
    """
    segmenter = segmenter or default_segmenter()
    if query.count('"') % 2:
        raise QueryError(
            f"query {query!r} has an unclosed double quote",
            hint='close the phrase, e.g. "手持 身份证"',
        )
    groups: list[list[str]] = [[]]  # OR-groups of one AND position each
    excluded: list[str] = []
    terms: list[tuple[str, ...]] = []
    pending_or = False
    for found in _QUERY_TOKEN.finditer(query):
        phrase, word = found.group(1), found.group(2)
        if word is not None and word.upper() == "OR" and word.isascii():
            if not groups[-1] or pending_or:
                raise QueryError(
                    f"query {query!r}: OR needs a word on both sides", hint="e.g. 护照 OR 驾照"
                )
            pending_or = True
            continue
        negative = word is not None and word.startswith("-") and len(word) > 1
        if negative:
            if pending_or:
                raise QueryError(f"query {query!r}: OR cannot join an excluded word")
            word = word[1:]
        item, shown = _item(phrase if phrase is not None else word, phrase is not None, segmenter)
        if item is None:
            if pending_or:
                raise QueryError(f"query {query!r}: nothing to search after OR")
            continue
        if negative:
            excluded.append(item)
            continue
        terms.extend(shown)
        if pending_or:
            groups[-1].append(item)
            pending_or = False
        else:
            groups.append([item])
    if pending_or:
        raise QueryError(f"query {query!r} ends with OR", hint="e.g. 护照 OR 驾照")
    positions = [g for g in groups if g]
    if not positions:
        raise QueryError(
            f"query {query!r} has no words to search for",
            hint="give at least one word that is not excluded, e.g. 身份证",
        )
    parts = [g[0] if len(g) == 1 else "(" + " OR ".join(g) + ")" for g in positions]
    # Every term carries its own column filter (never `facets`): see `term_expression`.
    expression = "(" + " AND ".join(parts) + ")"
    for item in excluded:
        expression += f" NOT ({item})"
    return ParsedQuery(expression, list(dict.fromkeys(terms)))


def _item(raw: str, is_phrase: bool, segmenter) -> tuple[str | None, list[tuple[str, ...]]]:
    """One query word or phrase as an FTS5 expression, and its terms."""
    words = segmenter.words(normalize(raw).text)
    if not words:
        return None, []
    if is_phrase:
        return term_expression(tuple(words)), [tuple(words)]
    pieces: list[list[str]] = []
    for word in words:
        single = len(word) == 1 and _CJK.match(word)
        if single and pieces and len(pieces[-1][-1]) == 1 and _CJK.match(pieces[-1][-1]):
            pieces[-1].append(word)  # consecutive single characters: one unknown word
        else:
            pieces.append([word])
    terms = [tuple(p) for p in pieces]
    expressions = [term_expression(t) for t in terms]
    expression = expressions[0] if len(terms) == 1 else "(" + " AND ".join(expressions) + ")"
    return expression, terms


def term_expression(term: tuple[str, ...]) -> str:
    """One term in FTS5: a word in any text column, a phrase in the title or the text."""
    if len(term) == 1:
        return f"{_TEXT_COLUMNS} : {_phrase(list(term))}"
    return f"{_PHRASE_COLUMNS} : {_phrase(list(term))}"


def _phrase(words: list[str]) -> str:
    """An FTS5 phrase: each word a quoted string, so no user text is read as syntax."""
    return " + ".join('"' + w.replace('"', '""') + '"' for w in words)


def _joined(words: list[str]) -> str:
    """Words as they appear in normalised text: spaces only between two Latin words."""
    out = words[0]
    for word in words[1:]:
        if _ASCII_WORD.match(out[-1]) and _ASCII_WORD.match(word[0]):
            out += " "
        out += word
    return out


# --- searching the store ------------------------------------------------------------------

DEFAULT_WINDOW = 1000
DF_SAMPLE = 1000
SORTS = ("relevance", "recent")


def index_is_current(store, segmenter=None) -> bool | None:
    """Whether the store's search index was made with this segmentation (the current keyword
    lists'); None when the store does not know (indexed before heishi recorded it)."""
    recorded = store.search.segmentation()
    if recorded is None:
        return None
    return recorded == (segmenter or default_segmenter()).fingerprint()


def search(
    store,
    query: str,
    *,
    source: str | None = None,
    category: str | None = None,
    since: str | None = None,
    limit: int = 20,
    sort: str = "relevance",
    window: int = DEFAULT_WINDOW,
    segmenter=None,
) -> SearchResults:
    """Listings whose current or earlier text matches `query` (see `parse_query`).

    `sort="relevance"` ranks by bm25 (title over text) the newest `window` matching versions,
    which is every match unless a word is common (see `bm25_scores` for why and how);
    `sort="recent"` puts the newest text first.
    `since` (ISO date or time, or a duration such as 7d) keeps listings last seen since then.
    """
    import sqlite3

    if sort not in SORTS:
        raise QueryError(f"unknown sort {sort!r}", hint=f"one of {', '.join(SORTS)}")
    parsed = parse_query(query, segmenter)
    expression = parsed.expression
    if source:
        expression = f'({expression}) AND facets : "{facet_token("source", source)}"'
    if category:
        expression = f'({expression}) AND facets : "{facet_token("category", category)}"'
    since_at = since_timestamp(since) if since else None
    relevance = sort == "relevance"
    try:
        window_rows = store.search.window(
            expression, since=since_at, window=window, with_text=relevance
        )
        if relevance:
            totals = store.search.index_totals()
            frequencies = {t: _document_frequency(store, t, totals) for t in parsed.terms}
    except sqlite3.OperationalError as exc:
        if "fts5" not in str(exc) and "MATCH" not in str(exc):
            raise
        raise QueryError(f"query {query!r} cannot be searched: {exc}") from exc
    ranked: list[tuple[int, float | None]]
    if relevance:
        scored = bm25_scores(window_rows, parsed.terms, frequencies, totals)
        by_score = sorted(scored, key=lambda c: (-c[1], -c[0]))
        ranked = [(rowid, score) for rowid, score in by_score]
    else:  # the window comes newest first
        ranked = [(row[0], None) for row in window_rows]
    in_window = {row[0] for row in window_rows}
    hits: list[SearchHit] = []
    listed: set[int] = set()
    position = 0
    while len(hits) < limit and position < len(ranked):
        # A listing's versions can match more than once: read details a few at a time.
        chunk = ranked[position : position + max(2 * limit, 20)]
        position += len(chunk)
        details = store.search.details([version_id for version_id, _ in chunk])
        fresh = []
        for version_id, score in chunk:
            row = details.get(version_id)
            if row is not None and row["listing_id"] not in listed:
                listed.add(row["listing_id"])
                fresh.append((row, score))
        current = store.search.current_text_versions([row["listing_id"] for row, _ in fresh])
        for row, score in fresh[: limit - len(hits)]:
            matches_now = bool(current.get(row["listing_id"], set()) & in_window)
            hits.append(hit_from_row(row, score, matches_now))
    for hit in hits:
        hit.title = make_snippet(hit.title.text, parsed.highlights, width=60)
        hit.text = make_snippet(hit.text.text, parsed.highlights, width=100)
    return SearchResults(query, expression, sort, hits, len(window_rows), window, since_at)


def _document_frequency(store, term: tuple[str, ...], totals: dict[str, Any]) -> float:
    """Versions holding `term`: counted when fewer than DF_SAMPLE, else estimated from how far
    back its newest DF_SAMPLE rows reach (rowids grow with time), so a common word costs the
    same as a rare one instead of a pass over its hundreds of thousands of rows."""
    newest = store.search.term_sample(term_expression(term), DF_SAMPLE)
    if len(newest) < DF_SAMPLE:
        return float(len(newest))
    span = totals["max_rowid"] - newest[-1] + 1
    return min(float(totals["rows"]), DF_SAMPLE * totals["max_rowid"] / max(span, 1))
