"""Score a listing against the keyword lists: is it selling personal data, of which kinds, why.

A listing alerts when it names data (a data noun, a subject plus a generic noun such as
业主+名单, or several data fields) AND offers it (sale signals, price, volume, contact, sample,
freshness), and the context does not say it is news, a police report, an anti-fraud warning, a
privacy policy or a job advert. Texts without any data vocabulary are decided by one
Aho-Corasick pass, without jieba.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import ConfigError
from monitor.extract import extract_normalized
from monitor.keywords import Entry, Keywords, load_keywords
from monitor.match_result import MatchResult, TermHit
from monitor.normalize import Normalized, normalize
from monitor.scoring import score_hits

DEFAULT_THRESHOLD = 3.0
MAX_HITS_PER_FIELD = 2000
DATA_ROLES = frozenset({"data", "strong", "field", "subject", "generic"})
_NEGATION_FILLER = r"(?:会|能|得|要|可|再|将|准|对外|随意|擅自|向第三方|向他人|任何|私自|\s){0,3}$"


@dataclass
class Hit:
    """A keyword entry found at text[start:end] of one normalised field."""

    entry: Entry
    field: str
    norm: Normalized
    start: int
    end: int
    negated: bool = False

    def surface(self) -> str:
        return self.norm.original_slice(self.start, self.end)

    def to_term_hit(self) -> TermHit:
        a, b = self.norm.to_original(self.start, self.end)
        entry = self.entry
        return TermHit(
            term=entry.term,
            category=entry.categories[0] if entry.categories else None,
            weight=entry.weight,
            field=self.field,  # type: ignore[arg-type]
            start=a,
            end=b,
            surface=self.norm.original[a:b],
            role="negated" if self.negated else entry.role,
        )


class Matcher:
    """Matches listings against one directory's keyword lists."""

    def __init__(self, keywords: Keywords, threshold: float = DEFAULT_THRESHOLD, segmenter=None):
        self.keywords = keywords
        self.threshold = float(threshold)
        self._segmenter = segmenter
        self._negation = None
        if keywords.negators:
            alternatives = "|".join(
                re.escape(n) for n in sorted(keywords.negators, key=len, reverse=True)
            )
            self._negation = re.compile(r"(?:" + alternatives + r")" + _NEGATION_FILLER)

    def with_threshold(self, threshold: float) -> Matcher:
        """The same keyword lists with another alert threshold."""
        return Matcher(self.keywords, threshold, self.segmenter)

    @property
    def segmenter(self):
        if self._segmenter is None:
            from monitor import config
            from monitor.segment import WordSegmenter

            words = [e.surface for e in self.keywords.entries if e.word]
            users = [e.surface for e in self.keywords.entries if e.role != "context"]
            self._segmenter = WordSegmenter(words, users, config.cache_dir())
        return self._segmenter

    def match(self, title: str, text: str) -> MatchResult:
        """Score, categories, hits with original offsets, extraction and reasons."""
        title = title if isinstance(title, str) else ""
        text = text if isinstance(text, str) else ""
        fields = [("title", normalize(title)), ("text", normalize(text))]
        hits: list[Hit] = []
        for name, norm in fields:
            hits.extend(self._scan(name, norm))
        norms = [norm for _, norm in fields]
        if not any(h.entry.role in DATA_ROLES for h in hits):
            # First pass decides: no data vocabulary, no alert. Skip jieba and scoring.
            return MatchResult(
                score=0.0,
                alert=False,
                categories=[],
                hits=[h.to_term_hit() for h in hits],
                reasons=["no data vocabulary"],
                extraction=extract_normalized(norms),
                brands=_brands(hits),
            )
        listing = "\n".join(norm.text for norm in norms)
        hits = [h for h in hits if self._keep(h, listing)]
        for hit in hits:
            if hit.entry.role == "sale" and self._is_negated(hit):
                hit.negated = True
        extraction = extract_normalized(
            norms,
            sample_offer=any(h.entry.role == "sample" and not h.negated for h in hits),
            freshness=_unique(h.entry.term for h in hits if h.entry.role == "fresh"),
            data_fields=_unique(h.entry.term for h in hits if h.entry.role == "field"),
        )
        scored = score_hits(hits, extraction)
        alert = scored.score >= self.threshold and scored.offers and scored.data > 0
        reasons = scored.reasons + [
            f"score {scored.score:g} {'≥' if alert else '<'} threshold {self.threshold:g}"
            + ("" if scored.offers or not scored.data else " (no offer: data named, nothing sold)")
        ]
        return MatchResult(
            score=scored.score,
            alert=bool(alert),
            categories=scored.categories if alert else scored.categories,
            hits=[h.to_term_hit() for h in hits if h.entry.role != "exclusion"],
            reasons=reasons,
            extraction=extraction,
            brands=_brands(hits),
        )

    def _scan(self, name: str, norm: Normalized) -> list[Hit]:
        text = norm.text
        if not text:
            return []
        entries = self.keywords.entries
        found: list[tuple[int, int, tuple[int, ...]]] = []
        for end_index, (surface, indices) in self.keywords.automaton.iter(text):
            start = end_index - len(surface) + 1
            found.append((start, end_index + 1, indices))
        # Leftmost-longest: drop a hit lying inside a longer one (身份证 inside 身份证号).
        found.sort(key=lambda item: (item[0], -item[1]))
        hits: list[Hit] = []
        max_end = -1
        max_start = -1
        for start, end, indices in found:
            if end <= max_end and not (start == max_start and end == max_end):
                continue
            if end > max_end:
                max_end, max_start = end, start
            for index in indices:
                entry = entries[index]
                if entry.ascii and not _ascii_bounded(text, start, end):
                    continue
                hits.append(Hit(entry, name, norm, start, end))
            if len(hits) >= MAX_HITS_PER_FIELD:
                break
        for pattern in self.keywords.patterns:
            for count, m in enumerate(pattern.regex.finditer(text)):
                if count >= 50 or m.end() == m.start():
                    break
                entry = Entry(
                    term=pattern.name,
                    surface=m.group(0),
                    role=pattern.role,
                    categories=pattern.categories,
                    weight=pattern.weight,
                    group=pattern.group,
                    where=pattern.where,
                )
                hits.append(Hit(entry, name, norm, m.start(), m.end()))
        return hits

    def _keep(self, hit: Hit, listing: str) -> bool:
        entry = hit.entry
        if entry.unless and any(u in listing for u in entry.unless):
            return False
        if entry.word and not self.segmenter.is_word(hit.norm.text, hit.start, hit.end):
            return False
        return True

    def _is_negated(self, hit: Hit) -> bool:
        if self._negation is None:
            return False
        before = hit.norm.text[max(0, hit.start - 12) : hit.start]
        return bool(self._negation.search(before))


def _ascii_bounded(text: str, start: int, end: int) -> bool:
    if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
        return False
    if end < len(text) and _is_word_char(text[end]) and _is_word_char(text[end - 1]):
        # Allow an English plural: "account" in "accounts".
        rest = text[end : end + 3]
        if not re.match(r"(?:s|es)(?![a-z0-9])", rest):
            return False
    return True


def _is_word_char(char: str) -> bool:
    return char < "\x80" and char.isalnum()


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _brands(hits: list[Hit]) -> list[str]:
    return _unique(h.entry.term for h in hits if h.entry.role == "brand")


_CACHE: dict[str, Matcher] = {}
_CACHE_LOCK = threading.Lock()


def default_threshold() -> float:
    """$HEISHI_ALERT_THRESHOLD, else the calibrated default."""
    raw = os.environ.get("HEISHI_ALERT_THRESHOLD")
    if not raw:
        return DEFAULT_THRESHOLD
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(
            "HEISHI_ALERT_THRESHOLD", f"not a number: {raw!r}", hint="e.g. 3.0"
        ) from None


def load_matcher(keywords_dir: str | Path | None = None, threshold: float | None = None) -> Matcher:
    """The matcher for a keywords directory, built once per process and directory."""
    from monitor import config

    directory = Path(keywords_dir) if keywords_dir is not None else config.keywords_dir()
    key = str(directory.resolve())
    with _CACHE_LOCK:
        matcher = _CACHE.get(key)
        if matcher is None:
            matcher = Matcher(load_keywords(directory), default_threshold())
            _CACHE[key] = matcher
    wanted = default_threshold() if threshold is None else float(threshold)
    return matcher if wanted == matcher.threshold else matcher.with_threshold(wanted)


def clear_cache() -> None:
    """Forget loaded matchers (after keyword files changed)."""
    with _CACHE_LOCK:
        _CACHE.clear()
