"""Score a listing against the keyword lists: is it selling personal data, of which kinds, why.

A listing alerts when it names data (a data noun, a subject plus a generic noun such as
业主+名单, or several data fields) AND offers it (sale signals, price, volume, contact, sample,
freshness), and the context does not say it is news, a police report, an anti-fraud warning, a
privacy policy or a job advert. Texts without any data vocabulary are decided by one
Aho-Corasick pass, without jieba.
"""

from __future__ import annotations

import bisect
import re
import threading
from dataclasses import MISSING, dataclass
from dataclasses import field as dataclass_field
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor import settings
from monitor.matching.conventions import conventional_categories
from monitor.matching.extract import extract_normalized
from monitor.matching.features import Features, listing_features
from monitor.matching.keyword_scope import ANY_DIGIT, RuleView
from monitor.matching.keywords import Entry, Keywords, Pattern, load_keywords, surface_automaton
from monitor.matching.match_result import MatchResult, TermHit
from monitor.matching.model import Model, load_model
from monitor.matching.normalize import (
    FIRST_GROUP,
    Normalized,
    normalize,
    quick_copies,
    quick_fold,
)
from monitor.matching.scoring import score_hits
from monitor.text_cuts import without_cut_marker

if TYPE_CHECKING:
    from monitor.matching.segment import WordSegmenter

DEFAULT_THRESHOLD = 3.0
# The matcher reads at most this many characters of a title and of a text (a hostile page can
# be megabytes); $HEISHI_MATCH_MAX_CHARS changes it, 0 turns the cap off.
DEFAULT_MAX_CHARS = 50_000
MAX_HITS_PER_FIELD = 2000
DATA_ROLES = frozenset({"data", "strong", "field", "subject", "generic"})
# The first pass sends a text to the full analysis when its data vocabulary could add up to
# FIRST_PASS_DATA, or to FIRST_PASS_CLUE (one field: 电话) with a second clue: a seller's post
# may name its data by one field and its sector (储户 电话 金额), and the learned score, not the
# first pass, tells an offer from talk. One field alone (这款手机的续航) is everyday talk.
FIRST_PASS_DATA = 1.0
FIRST_PASS_CLUE = 0.4
_OFFER_ROLES = frozenset({"sale", "contact", "sample", "fresh"})
# A price per item written loosely (三毛, 0.5元/条, 每条, 每单, 500u): an offer clue for the
# first pass.
_PRICE_HINT = re.compile(r"[0-9一二两三四五六七八九十百千](?:毛|角|u\b|元/|块一)|[每一/][条单]")
# Words between a negator and the sale word it negates (不会随意出售), at most three.
_NEGATION_FILLERS: tuple[str, ...] = (
    "会",
    "能",
    "得",
    "要",
    "可",
    "再",
    "将",
    "准",
    "对外",
    "随意",
    "擅自",
)
_NEGATION_FILLERS += ("向第三方", "向他人", "任何", "私自")
NEGATION_SCOPE = 12  # normalised characters a clause-level negator reaches back
NEGATION_SCOPE_ENGLISH = 40  # English needs more ("may not use the Service to buy, sell")
# A sale word in the passive is reported, not offered (数据在暗网被售卖, 遭倒卖).
# ... read on the reversed text before the sale word, so that one match at its start decides
# (a search with $ would try every position): 被(他人)售卖 is 卖售(人他)被 reversed.
_PASSIVE_REVERSED = re.compile(r"(?:人|人他|开公|量大|法非|意恶|包打|手转|次多)?(?:被|遭|到遭)")
# Punctuation that ends a clause; 、 and English commas join coordinated verbs (出售、出租).
_CLAUSE_BREAKS = "，。；！？;!?\n：:"
# The last of them in a string: one regex match instead of an rfind per character.
_LAST_CLAUSE_BREAK = re.compile(f"(?s:.*)[{_CLAUSE_BREAKS}]")
# An `unless` word cancels a term in the same clause (not across a colon: 四件套：纯棉), this
# many original characters away at most.
UNLESS_REACH = 20
_UNLESS_BREAKS = "，。；！？;!?\n"
_UNLESS_BREAK = re.compile(f"[{_UNLESS_BREAKS}]")
_LAST_UNLESS_BREAK = re.compile(f"(?s:.*)[{_UNLESS_BREAKS}]")


@dataclass(slots=True)
class Hit:
    """A keyword entry found at text[start:end] of one normalised field."""

    entry: Entry
    field: str
    norm: Normalized
    start: int
    end: int
    negated: bool = False
    _span: tuple[int, int] | None = dataclass_field(default=None, repr=False, compare=False)

    # Written out: mypyc compiles it, where the __init__ that @dataclass generates is Python
    # run by the interpreter (a listing makes a dozen hits; 1,400 instructions each).
    def __init__(
        self,
        entry: Entry,
        field: str,
        norm: Normalized,
        start: int,
        end: int,
        negated: bool = False,
        _span: tuple[int, int] | None = None,
    ) -> None:
        self.entry = entry
        self.field = field
        self.norm = norm
        self.start = start
        self.end = end
        self.negated = negated
        self._span = _span

    def original_span(self) -> tuple[int, int]:
        """Where the hit is in the original field (computed once)."""
        if self._span is None:
            self._span = self.norm.to_original(self.start, self.end)
        return self._span

    def surface(self) -> str:
        a, b = self.original_span()
        return self.norm.original[a:b]

    def to_term_hit(self) -> TermHit:
        a, b = self._span or self.original_span()
        entry = self.entry
        # term_hit's object, its fields set in its dict one by one (a call of dict.update
        # with keywords builds a dict of them first: the matcher's hottest object).
        hit = TermHit.__new__(TermHit)
        values = hit.__dict__
        values["role"] = "negated" if self.negated else entry.role
        values["group"] = entry.group
        values["term"] = entry.term
        categories = entry.categories
        values["category"] = categories[0] if categories else None
        values["weight"] = entry.weight
        values["field"] = self.field
        values["start"] = a
        values["end"] = b
        values["surface"] = self.norm.original[a:b]
        return hit


class Matcher:
    """Matches listings against one directory's keyword lists."""

    def __init__(
        self,
        keywords: Keywords,
        threshold: float = DEFAULT_THRESHOLD,
        segmenter=None,
        max_chars: int | None = DEFAULT_MAX_CHARS,
        model: Model | None = None,
    ):
        self.keywords = keywords
        self.threshold = float(threshold)
        self.model = model  # the learned score decides the alert when there is one
        self.max_chars = max_chars or None
        self._segmenter = segmenter
        self._base_view = RuleView(keywords.automaton, keywords.patterns, keywords.entries)
        self._scoped = bool(keywords.scopes)
        self._views: dict[tuple[str | None, str | None], RuleView] = {}
        self._views_by_scopes: dict[tuple[bool, ...], RuleView] = {}
        self._negation_reversed = None
        if keywords.negators:
            alternatives = "|".join(
                re.escape(n[::-1]) for n in sorted(keywords.negators, key=len, reverse=True)
            )
            fillers = "|".join(re.escape(f[::-1]) for f in _NEGATION_FILLERS)
            self._negation_reversed = re.compile(
                r"(?:" + fillers + r"|\s){0,3}(?:" + alternatives + r")"
            )
        # Longer negators reach further, to the start of their clause (绝不会向任何第三方出售).
        long_negators = [n for n in keywords.negators if len(n) >= 2]
        self._negation_in_clause = None
        if long_negators:
            alternatives = "|".join(
                re.escape(n) for n in sorted(long_negators, key=len, reverse=True)
            )
            self._negation_in_clause = re.compile(alternatives)

    def with_threshold(self, threshold: float) -> Matcher:
        """The same keyword lists with another alert threshold."""
        other = Matcher(self.keywords, threshold, self.segmenter, self.max_chars, self.model)
        other._base_view, other._views = self._base_view, self._views
        other._views_by_scopes = self._views_by_scopes
        return other

    @property
    def rules_version(self) -> str:
        """The id of the keyword files' contents and model (monitor.matching.rules_version)."""
        return self.keywords.rules_version

    @property
    def model_version(self) -> str | None:
        """The learned score's version, None when the alert is the rules' alone."""
        return self.model.version if self.model is not None else None

    @property
    def alert_threshold(self) -> float:
        """What the verdict score must reach: the model's probability threshold, else the
        rules' score threshold."""
        return self.model.threshold if self.model is not None else self.threshold

    def without_model(self) -> Matcher:
        """The same keyword lists deciding alone (the rules' score and threshold)."""
        other = self.with_threshold(self.threshold)
        other.model = None
        return other

    def view(self, source: str | None = None, kind: str | None = None) -> RuleView:
        """The lists that apply to a listing of `source` swept by a `kind` spider; built once
        per distinct set of applicable files, so scoping costs a dict lookup per text."""
        if not self._scoped or (source is None and kind is None):
            return self._base_view
        view = self._views.get((source, kind))
        if view is not None:
            return view
        scopes = self.keywords.scopes
        applies = tuple(scope.applies(source, kind) for scope in scopes)
        view = self._views_by_scopes.get(applies)
        if view is None:
            if all(applies):
                view = self._base_view
            else:
                allowed = {scope: ok for scope, ok in zip(scopes, applies, strict=True)}

                def keep(item: Entry | Pattern) -> bool:
                    return item.scope is None or allowed[item.scope]

                entries = self.keywords.entries
                view = RuleView(
                    surface_automaton(entries, keep),
                    [p for p in self.keywords.patterns if keep(p)],
                    entries,
                    keep,
                    tuple(s for s, ok in allowed.items() if not ok),
                )
            self._views_by_scopes[applies] = view
        self._views[(source, kind)] = view
        return view

    @property
    def segmenter(self) -> WordSegmenter:
        if self._segmenter is None:
            from monitor import config
            from monitor.matching.segment import WordSegmenter

            words = [e.surface for e in self.keywords.entries if e.word]
            users = [
                e.surface for e in self.keywords.entries if e.role != "context" and not e.variant
            ]
            self._segmenter = WordSegmenter(words, users, config.cache_dir())
        return self._segmenter

    def match(
        self,
        title: str,
        text: str,
        *,
        first_pass: bool = True,
        source: str | None = None,
        kind: str | None = None,
    ) -> MatchResult:
        """Score, categories, hits with original offsets, extraction and reasons.

        The first pass decides, without offsets or jieba, texts that cannot alert (no data
        that could be on offer); they get no hits and no extraction. `first_pass=False`
        analyses every text in full. `source` and `kind` (the listing's site and spider kind)
        choose the keyword files whose scope includes them; without them every file applies.
        A title or text longer than `max_chars` is read up to there, and the reasons say so.
        """
        return self._match_capped(title, text, first_pass, source, kind, None)

    def analyse(
        self, title: str, text: str, *, source: str | None = None, kind: str | None = None
    ) -> tuple[MatchResult, Features | None]:
        """For training (monitor/matching/training.py): the rules' verdict and the listing's features
        with every n-gram (None when the first pass decides the text cannot alert)."""
        collected: list[Features] = []
        rules = self.without_model()
        result = rules._match_capped(title, text, True, source, kind, collected)
        return result, (collected[0] if collected else None)

    def _match_capped(
        self,
        title: str,
        text: str,
        first_pass: bool,
        source: str | None,
        kind: str | None,
        features_out: list[Features] | None,
    ) -> MatchResult:
        title = title if isinstance(title, str) else ""
        text = without_cut_marker(text) if isinstance(text, str) else ""
        limit = self.max_chars
        if limit is None or (len(title) <= limit and len(text) <= limit):
            return self._match(title, text, first_pass, source, kind, features_out)
        cut = [
            f"{name} cut to its first {limit:,} of {len(value):,} characters"
            for name, value in (("title", title), ("text", text))
            if len(value) > limit
        ]
        result = self._match(title[:limit], text[:limit], first_pass, source, kind, features_out)
        result.reasons[:0] = cut
        return result

    def _match(
        self,
        title: str,
        text: str,
        first_pass: bool,
        source: str | None,
        kind: str | None,
        features_out: list[Features] | None = None,
    ) -> MatchResult:
        view = self._base_view if not self._scoped else self.view(source, kind)
        if first_pass and not self._passes_first(title + "\n" + text, view):
            return MatchResult(
                score=0.0,
                alert=False,
                categories=[],
                hits=[],
                reasons=["first pass: no data on offer (nothing that could reach the threshold)"],
                probability=None if self.model is None else 0.0,
                model_version=self.model_version,
            )
        fields = [("title", normalize(title)), ("text", normalize(text))]
        hits: list[Hit] = []
        for name, norm in fields:
            hits.extend(self._scan(name, norm, view))
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
                probability=None if self.model is None else 0.0,
                model_version=self.model_version,
            )
        hits = [h for h in hits if self._keep(h)]
        sample_offer = False
        freshness: dict[str, None] = {}
        data_fields: dict[str, None] = {}
        for hit in hits:  # one pass: negation, and what the extraction records from hits
            role = hit.entry.role
            if role == "sale":
                hit.negated = self._is_negated(hit)
            elif role == "sample":
                sample_offer = True
            elif role == "fresh":
                freshness[hit.entry.term] = None
            elif role == "field":
                data_fields[hit.entry.term] = None
        extraction = extract_normalized(
            norms,
            sample_offer=sample_offer,
            freshness=list(freshness),
            data_fields=list(data_fields),
        )
        scored = score_hits(hits, extraction)
        alert = scored.score >= self.threshold and scored.offers and scored.data > 0
        reasons = scored.reasons + [
            f"score {scored.score:g} {'≥' if alert else '<'} threshold {self.threshold:g}"
            + ("" if scored.offers or not scored.data else " (no offer: data named, nothing sold)")
        ]
        result = MatchResult(
            score=scored.score,
            alert=bool(alert),
            categories=scored.categories if alert else scored.categories,
            hits=[h.to_term_hit() for h in hits if h.entry.role != "exclusion"],
            reasons=reasons,
            extraction=extraction,
            brands=_brands(hits),
            rules={
                "data": scored.data,
                "offer": scored.offer,
                "context": scored.context,
                "offers": 1.0 if scored.offers else 0.0,
            },
            genres=scored.genres,
        )
        if features_out is None and self.model is None:
            return result
        model = self.model if features_out is None else None
        features = listing_features(
            hits, extraction, scored, bool(alert), norms, list_ngrams=model is None
        )
        if features_out is not None:
            features_out.append(features)
            return result
        assert model is not None
        return _decide(model, result, features)

    @property
    def quick_automaton(self) -> Any:
        """The first pass's automaton over every entry, over UTF-8 bytes (see
        RuleView.quick_automaton)."""
        return self._base_view.quick_automaton()

    def _passes_first(self, listing: str, view: RuleView) -> bool:
        """The first pass over quick_text, the folded text first and its copies (without @,
        without repeated letters) only when that alone cannot alert."""
        quick = quick_fold(listing)
        if self._could_alert(quick, view):
            return True
        copies = quick_copies(quick)
        return bool(copies) and self._could_alert(quick + "\n" + copies, view)

    # The first pass's hot loop (benchmarks/matcher.py): a helper call per keyword hit would
    # cost texts/s, so it stays one function over the complexity limit.
    def _could_alert(self, quick: str, view: RuleView) -> bool:  # noqa: C901
        """False when the text names too little data to be an offer of it.

        An upper bound of the scorer's data part (context ignored), from one Aho-Corasick
        pass over quick_text: FIRST_PASS_DATA of it, or FIRST_PASS_CLUE with a second clue
        (whose data: a subject; a second field; any offer word), sends the text to the full
        analysis; a watched brand always does. Whether anything is offered is not decided
        here: prices, scarcity and services are written in too many ways (每条两毛, 只卖两份,
        price in DM) for a first pass to rule an offer out, so the rules and the learned
        score decide it.
        """
        if not quick:
            return False
        facts = view.entry_facts()
        data = generic = subject = 0.0
        fields: dict[str, float] = {}
        subjects: set[str] = set()
        offer = False
        # utf8_letters(quick), written out: a call of the (interpreted) helper costs more
        # than the conversion.
        letters = quick.encode("utf-8", "surrogatepass").decode("latin-1")
        for _, indices in view.quick_automaton().iter(letters):
            for index in indices:
                role, weight, term, word = facts[index]
                if role == "data" or role == "strong":
                    data += weight
                elif role == "generic":
                    generic += weight
                elif role == "field":
                    fields[term] = weight
                elif role == "subject":
                    subject += weight
                    subjects.add(term)
                elif role in _OFFER_ROLES:
                    # A whole-word term (出, 卖) is found inside any word here (出现): no clue.
                    offer = offer or not word
                elif role == "brand":
                    return True
                else:
                    continue
                named = data + 2 * generic
                if named + sum(max(0.4, w) for w in fields.values()) >= FIRST_PASS_DATA:
                    return True  # decided: the full analysis follows anyway
                if _clues(named + sum(fields.values()), offer, len(subjects), len(fields)):
                    return True
        listed = generic or len(fields) >= 2  # what turns a subject into data (scoring.py)
        weak = data + 2 * generic + sum(fields.values())  # fields at their own weight (手机 0.3)
        if not offer and weak > 0:  # with no data named, _clues is False whatever the offer
            offer = bool(_PRICE_HINT.search(quick))
        bound = data + 2 * generic + (subject if listed else 0.0)
        bound += sum(max(0.4, w) for w in fields.values())
        if bound >= FIRST_PASS_DATA or _clues(weak, offer, len(subjects), len(fields)):
            return True
        # The verdict changes only when a pattern matches, so it is checked only then. A
        # subject pattern never adds (whose data, not data), so it is not run.
        present: set[str] | None = None
        digit: bool | None = None
        for regex, hint, digit_led, pattern_weight in view.data_pattern_table(DATA_ROLES):
            if hint is not None:
                if present is None:
                    hints = view.hint_characters
                    present = set(hints.findall(quick)) if hints is not None else set()
                if not _any_present(hint, present):
                    continue
            if digit_led:
                if digit is None:
                    digit = ANY_DIGIT.search(quick) is not None
                if not digit:
                    continue
            if regex.search(quick):
                bound += max(0.4, pattern_weight)
                weak += max(0.4, pattern_weight)
                offer = True  # a pattern (a leak file's name) is data in its own right
                if bound >= FIRST_PASS_DATA or _clues(weak, offer, len(subjects), len(fields)):
                    return True
        return False

    def _scan(self, name: str, norm: Normalized, view: RuleView) -> list[Hit]:
        text = norm.text
        if not text:
            return []
        entries = self.keywords.entries
        # (start, -end, indices): sorted, the longest hit at each start comes first. The
        # automaton runs over the text's UTF-8 bytes (RuleView.byte_automaton): a hit ends
        # on a character's last byte, and hits come by their end, so one walk along the
        # text gives each hit's last character.
        found: list[tuple[int, int, tuple[int, ...]]] = []
        data = text.encode("utf-8", "surrogatepass").decode("latin-1")  # utf8_letters(text)
        hits_by_end = view.byte_automaton().iter(data)
        if len(data) == len(text):  # ASCII: a byte is a character
            for end_byte, (length, indices) in hits_by_end:
                last = int(end_byte)
                found.append((last - int(length) + 1, -last - 1, indices))
        else:
            last = -1  # the character holding byte `last_byte`
            last_byte = -1
            for end_byte, (length, indices) in hits_by_end:
                while last_byte < end_byte:
                    last += 1
                    code = ord(text[last])
                    last_byte += (
                        1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
                    )
                found.append((last - int(length) + 1, -last - 1, indices))
        found.sort()
        # Leftmost-longest: drop a hit lying inside a longer one (身份证 inside 身份证号).
        hits: list[Hit] = []
        max_end = -1
        max_start = -1
        for start, neg_end, indices in found:
            end = -neg_end
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
        if _REPEATED_LETTER.search(text):
            hits.extend(self._repeated_letter_hits(name, norm, view))
        if _SEPARATED_LETTERS.search(text):
            hits.extend(self._separated_latin_hits(name, norm, view))
        self._pattern_hits(name, norm, view, hits)
        return hits

    def _pattern_hits(self, name: str, norm: Normalized, view: RuleView, hits: list[Hit]) -> None:
        """The keyword patterns' matches, appended to `hits`: each pattern searched only where
        the text holds what every match of it needs (a hint character, a digit)."""
        text = norm.text
        hints = view.all_hint_characters
        present: set[str] = set(hints.findall(text)) if hints is not None else set()
        digit: bool | None = None
        for regex, hint, digit_led, pattern in view.pattern_table():
            if hint is not None and not _any_present(hint, present):
                continue  # nothing every match of it needs
            if digit_led:
                if digit is None:
                    digit = ANY_DIGIT.search(text) is not None
                if not digit:
                    continue  # every match starts with a digit
            for count, m in enumerate(regex.finditer(text)):
                if count >= 50 or m.end() == m.start():
                    break
                hits.append(
                    Hit(_pattern_entry(pattern, m.group(0)), name, norm, m.start(), m.end())
                )

    def _repeated_letter_hits(self, name: str, norm: Normalized, view: RuleView) -> list[Hit]:
        """Latin words with letters repeated (sssgk, fulllz, qqq) that are a keyword once the
        repeats are removed from both (sgk, fullz, qq)."""
        index = view.repeat_index()
        hits: list[Hit] = []
        for match in _LATIN_WORD_WITH_REPEAT.finditer(norm.text):
            word = match.group(0)
            for entry_index in index.get(_REPEATS.sub(FIRST_GROUP, word), ()):
                entry = self.keywords.entries[entry_index]
                if entry.surface != word:
                    hits.append(Hit(entry, name, norm, match.start(), match.end()))
            if len(hits) >= MAX_HITS_PER_FIELD:
                break
        return hits

    def _separated_latin_hits(self, name: str, norm: Normalized, view: RuleView) -> list[Hit]:
        """Latin words written apart that are one keyword together, compared without repeats:
        pinyin with its syllables grouped anyhow (kaifang jilu, shen/fen/zheng, 黑龙 江 in
        ToolGood.Words' PinyinMatchTest). Up to eight words of two letters or more (single
        letters apart are normalize's), each a single separator from the last, joined only
        while they still begin a keyword."""
        index, prefixes, joined = view.repeat_index(), view.repeat_prefixes, view.joined_keys
        text = norm.text
        words: list[tuple[int, int]] = []
        for run in _LATIN_RUN.finditer(text) if joined is not None else ():
            letters = _without_repeats(_NOT_LETTER.sub("", run.group(0)))
            if next(joined.iter(letters), None) is not None:  # a keyword, spread over words?
                words.extend(m.span() for m in _LATIN_WORD.finditer(text, *run.span()))
        single: dict[str, str] = {}  # word -> the word without repeats
        hits: list[Hit] = []
        for i, (start, _) in enumerate(words):
            key = ""
            for j in range(i, min(i + 8, len(words))):
                a, b = words[j]
                if j > i and (a - words[j - 1][1] != 1 or text[a - 1] not in _WORD_SEPARATORS):
                    break
                word = text[a:b]
                plain = single.get(word)
                if plain is None:
                    plain = single[word] = _without_repeats(word)
                key += plain[1:] if key and key[-1] == plain[0] else plain
                if key not in prefixes:
                    break
                for entry_index in index.get(key, ()) if j > i else ():
                    entry = self.keywords.entries[entry_index]
                    if entry.surface != text[start:b]:
                        hits.append(Hit(entry, name, norm, start, b))
            if len(hits) >= MAX_HITS_PER_FIELD:
                break
        return hits

    def _keep(self, hit: Hit) -> bool:
        entry = hit.entry
        if entry.unless and _cancelled(hit, entry.unless):
            return False
        return not entry.word or bool(self.segmenter.is_word(hit.norm.text, hit.start, hit.end))

    def _is_negated(self, hit: Hit) -> bool:
        """A sale word negated (不会出售, 不得将其出售、提供) or passive (被售卖): no offer."""
        scope = NEGATION_SCOPE_ENGLISH if hit.entry.ascii else NEGATION_SCOPE
        before = hit.norm.text[max(0, hit.start - scope) : hit.start]
        backwards = before[::-1]
        if _PASSIVE_REVERSED.match(backwards):
            return True
        if self._negation_reversed is None:
            return False
        if self._negation_reversed.match(backwards):
            return True
        if self._negation_in_clause is None:
            return False
        clause = before[_clause_start(hit.norm, hit.start, len(before)) :]
        return bool(self._negation_in_clause.search(clause))


def _decide(model: Model, result: MatchResult, features: Features) -> MatchResult:
    """The model's verdict: its probability against its threshold; a watched brand keeps the
    rules' alert. The reasons say which features moved the score, as written."""
    probability, categories, pushes = model.decide(features)
    rules_alert = result.alert
    alert = probability >= model.threshold
    result.reasons.append(
        f"model {model.version[:8]}: probability {probability:.2f} "
        f"{'≥' if alert else '<'} threshold {model.threshold:.2f}"
    )
    if not alert and rules_alert and result.brands:
        alert = True
        result.reasons.append(f"watched brand {', '.join(result.brands)}: the rules' alert holds")
    elif not alert and rules_alert and _priced_offer_with_handle(result):
        # The model learns style from labelled texts written by few hands; a text the rules
        # score this high that also names its price and a handle to write to is a seller's
        # post however it is phrased (discussion quotes prices, not handles).
        alert = True
        result.reasons.append(
            f"rules score {result.score:g} with a price and a seller's handle: the rules' alert holds"
        )
    elif not alert and rules_alert and _compact_listing(features):
        # The model reads genre (news, report, guide, seller) from prose; a bare row of
        # keywords (出售 身份证 四件套) has none, and topic words the discussions share pull it
        # down. Too short to be a discussion, its rules decide.
        alert = True
        result.reasons.append(
            f"rules score {result.score:g} on a bare listing of keywords: the rules' alert holds"
        )
    # Explained: alerts and near misses; a text far below the threshold needs no reasons.
    moved = model.explain(features, pushes) if probability >= model.threshold / 2 else []
    if moved:
        result.reasons.append(
            "moved by: "
            + ", ".join(
                f"{written or _feature_label(name)} {weight:+g}" for name, written, weight in moved
            )
        )
    if alert:
        chosen = categories or model.predict_categories(features) or result.categories
        # The labelling convention's rules over what the matcher found (conventions.py).
        result.categories = conventional_categories(chosen, features.values, features.ngram_text)
    result.alert = alert
    result.probability = round(probability, 4)
    result.model_version = model.version
    return result


STRONG_OFFER_SCORE = 8.0
_HANDLE_KINDS = frozenset({"qq", "wechat", "telegram", "line", "whatsapp", "signal"})


def _priced_offer_with_handle(result: MatchResult) -> bool:
    """A rules score of STRONG_OFFER_SCORE or more, a price, and a messaging handle written
    as one (after a colon or an @, or a number), not a platform named in passing."""
    if result.score < STRONG_OFFER_SCORE or not result.extraction.prices:
        return False
    return any(
        c.kind in _HANDLE_KINDS
        and (c.value.isdigit() or any(mark in c.text for mark in ("@", ":", "：")))
        for c in result.extraction.contacts
    )


COMPACT_LISTING_CHARS = 20


def _compact_listing(features: Features) -> bool:
    """Title and text together under COMPACT_LISTING_CHARS characters with no sentence in
    them (no full stop, comma or question mark): a keyword row, not prose."""
    norms = features.norms
    written = "".join(norm.original for norm in norms)
    if len("".join(written.split())) >= COMPACT_LISTING_CHARS:
        return False
    return not any(mark in written for mark in "，。,.？?！!；;：:")


def _feature_label(name: str) -> str:
    """A feature with no words behind it, in the reader's terms (rules:offer -> rules offer)."""
    return "(" + name.replace(":", " ") + ")"


# Not cached: compiled, the function is a few native comparisons, and functools.lru_cache's
# wrapper (a Python call hashing its arguments) cost fifty times as much.
def _clues(named: float, offer: bool, subjects: int, fields: int) -> bool:
    """Data named weakly (FIRST_PASS_CLUE: 姓名, 地址) with a second clue: a subject (whose
    data), a second field, an offer word or a price per item; or only by an everyday word
    (手机, 电话) with two (two subjects count twice: 储户 理财 电话)."""
    clues = bool(offer) + (subjects > 0) + (subjects > 1) + (fields >= 2)
    return (named >= FIRST_PASS_CLUE and clues >= 1) or (named > 0 and clues >= 2)


def _pattern_entry(pattern: Pattern, surface: str) -> Entry:
    """The entry for one surface matched by a keyword pattern: Entry(term=pattern.name,
    surface=surface, role=..., compose=pattern.compose) made without the frozen dataclass's
    __init__ (interpreted, a field at a time through object.__setattr__). Same object."""
    entry: Entry = Entry.__new__(Entry)
    entry.__dict__.update(
        _ENTRY_DEFAULTS,
        term=pattern.name,
        surface=surface,
        role=pattern.role,
        categories=pattern.categories,
        weight=pattern.weight,
        group=pattern.group,
        where=pattern.where,
        compose=pattern.compose,
    )
    return entry


_ENTRY_DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in dataclass_fields(Entry) if f.default is not MISSING
}


def _cancelled(hit: Hit, unless: tuple[str, ...]) -> bool:
    """An `unless` word in this occurrence's clause, within UNLESS_REACH characters of it:
    纯棉床上四件套 is bedding, and cancels only itself, not the 四件套 of another clause or
    one before it in the same clause."""
    norm = hit.norm
    a, b = norm.to_original(hit.start, hit.end)
    original = norm.original
    low, high = max(0, a - UNLESS_REACH), min(len(original), b + UNLESS_REACH)
    before, after = original[low:a], original[b:high]
    last_break = _LAST_UNLESS_BREAK.match(before)
    first = low + last_break.end() if last_break is not None else low
    stop = _UNLESS_BREAK.search(after)
    last = b + stop.start() if stop is not None else high
    start = bisect.bisect_left(norm.origins, first, 0, hit.start)
    end = bisect.bisect_left(norm.origins, last, hit.end)
    # A word after this occurrence that stands before another occurrence of the term in reach
    # is that one's (出银行卡四件套 纯棉床上四件套: the bedding is the second): modifiers come
    # before the noun they qualify.
    if norm.text.find(norm.text[hit.start : hit.end], hit.end, end) >= 0:
        end = hit.end
    window = norm.text[start:end]
    return any(u in window for u in unless)


def _clause_start(norm: Normalized, start: int, reach: int) -> int:
    """How far into the `reach` characters before `start` the hit's clause begins."""
    if start == 0:
        return 0
    origin = norm.origins[start]
    first = norm.origins[start - reach] if reach else origin
    segment = norm.original[first:origin]
    last_break = _LAST_CLAUSE_BREAK.match(segment)
    if last_break is None:
        return 0
    boundary = first + last_break.end()
    index = bisect.bisect_left(norm.origins, boundary, start - reach, start)
    return index - (start - reach)


def _ascii_bounded(text: str, start: int, end: int) -> bool:
    """A Latin term does not continue a word: no letter next to its letters, no digit next
    to its digits (sfz2要素 and 1db2 match; feedback does not hold db, nor 14件套 4件套)."""
    if start > 0 and _same_kind(text[start - 1], text[start]):
        return False
    if end < len(text) and _same_kind(text[end], text[end - 1]):
        # Allow an English plural: "account" in "accounts".
        rest = text[end : end + 3]
        if not _PLURAL.match(rest):
            return False
    return True


_PLURAL = re.compile(r"(?:s|es)(?![a-z0-9])")


def _same_kind(a: str, b: str) -> bool:
    """Both ASCII letters or both digits."""
    if a >= "\x80" or b >= "\x80":
        return False
    return (a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit())


# A Latin word with a letter repeated, and the repeats (monitor.matching.normalize keeps them).
_REPEATED_LETTER = re.compile(r"([a-z])\1")
_LATIN_WORD_WITH_REPEAT = re.compile(r"(?<![a-z])[a-z]{0,30}?([a-z])\1[a-z]{0,30}(?![a-z])")
_REPEATS = re.compile(r"([a-z])\1+")


def _without_repeats(word: str) -> str:
    """`word` with each run of a repeated letter as one letter (sssgk -> sgk). Most words
    have none: a search first spares them the substitution's template (a Python call)."""
    return _REPEATS.sub(FIRST_GROUP, word) if _REPEATED_LETTER.search(word) else word


# Latin words one separator apart (normalize keeps one of these between Latin letters).
_WORD_SEPARATORS = " .,:-/_"
_SEPARATED_LETTERS = re.compile(r"[a-z][ .,:\-/_][a-z]")
_LATIN_WORD = re.compile(r"(?<![a-z])[a-z]{2,40}(?![a-z])")
_LATIN_RUN = re.compile(r"(?<![a-z])[a-z]{2,40}(?:[ .,:\-/_][a-z]{2,40}){1,30}(?![a-z])")
_NOT_LETTER = re.compile(r"[^a-z]")


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))


def _brands(hits: list[Hit]) -> list[str]:
    return _unique(h.entry.term for h in hits if h.entry.role == "brand")


_CACHE: dict[str, Matcher] = {}
_CACHE_LOCK = threading.Lock()


def default_threshold() -> float:
    """$HEISHI_ALERT_THRESHOLD, else the calibrated default."""
    given = settings.current().alert_threshold
    return DEFAULT_THRESHOLD if given is None else given


def model_enabled() -> bool:
    """$HEISHI_MODEL: "off" makes the rules alone decide, even where a model file exists."""
    return settings.current().model


def max_chars() -> int:
    """$HEISHI_MATCH_MAX_CHARS (0: no cap), else DEFAULT_MAX_CHARS."""
    return settings.current().match_max_chars


def load_matcher(keywords_dir: str | Path | None = None, threshold: float | None = None) -> Matcher:
    """The matcher for a keywords directory, built once per process and directory."""
    from monitor import config

    directory = Path(keywords_dir) if keywords_dir is not None else config.keywords_dir()
    key = str(directory.resolve())
    with _CACHE_LOCK:
        matcher = _CACHE.get(key)
        if matcher is None:
            matcher = Matcher(
                load_keywords(directory),
                default_threshold(),
                None,
                max_chars(),
                load_model(directory) if model_enabled() else None,
            )
            _CACHE[key] = matcher
    wanted = default_threshold() if threshold is None else float(threshold)
    return matcher if wanted == matcher.threshold else matcher.with_threshold(wanted)


def clear_cache() -> None:
    """Forget loaded matchers (after keyword files changed)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _any_present(hint: tuple[str, ...], present: set[str]) -> bool:
    """Whether any of a pattern's hint characters is among those the text holds."""
    return any(char in present for char in hint)  # mypyc compiles any() to a plain loop
