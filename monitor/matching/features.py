"""A listing as named features for the learned score (monitor/matching/model.py): the matcher's own work
(keyword hits by category and role, the rules' score, extracted price, volume, contacts and
sample offers, genre cues) plus character n-grams of the normalised text, and the text each
feature came from, as written, for explanations.

Everything here reuses what the matcher already computed for the listing; no second
normalisation or segmentation. Character n-grams (2 and 3 characters, digits folded to 0) are
found by one Aho-Corasick pass over the model's n-gram vocabulary at crawl time; training
(monitor/matching/training.py) lists every n-gram instead, so both see the same features.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.matching.match_result import Extraction
    from monitor.matching.matcher import Hit
    from monitor.matching.normalize import Normalized
    from monitor.matching.scoring import Scored

NGRAM_SIZES = (2, 3)
NGRAM_PREFIX = "ng:"
# An English word (3+ letters, lower-cased) of the text as written: the normalised text drops
# the spaces between words, so its n-grams read English poorly ("ro", "nd").
WORD_PREFIX = "word:"
NGRAM_LENGTH = 80  # listings up to this many characters count each n-gram fully
_DIGITS = str.maketrans("0123456789", "0000000000")
_NONZERO_DIGIT = re.compile("[1-9]")
_DATA_ROLES = frozenset({"data", "strong", "field", "subject", "generic"})
_LENGTHS = ((30, "<30"), (80, "30-80"), (200, "80-200"))


@dataclass
class Features:
    """Feature name -> value (most are 1.0: present), and name -> the words behind it."""

    values: dict[str, float] = field(default_factory=dict)
    surfaces: dict[str, str] = field(default_factory=dict)
    hits: dict[str, Any] = field(default_factory=dict)  # feature -> the keyword hit behind it
    ngram_starts: dict[str, int] = field(default_factory=dict)  # in the normalised listing
    norms: list[Any] = field(default_factory=list)  # the listing's Normalized title and text
    # The text n-grams are read from and what each one counts (see listing_features). When
    # `ngrams_listed` is False the n-grams are not in `values`: the model finds the ones it
    # knows itself, scoring as it goes (Model.decide), so the crawl builds no n-gram names.
    ngram_text: str = ""
    ngram_weight: float = 1.0
    ngrams_listed: bool = False

    # Written out so that mypyc compiles it (@dataclass's own __init__ is interpreted).
    def __init__(
        self,
        values: dict[str, float] | None = None,
        surfaces: dict[str, str] | None = None,
        hits: dict[str, Any] | None = None,
        ngram_starts: dict[str, int] | None = None,
        norms: list[Any] | None = None,
        ngram_text: str = "",
        ngram_weight: float = 1.0,
        ngrams_listed: bool = False,
    ) -> None:
        self.values = {} if values is None else values
        self.surfaces = {} if surfaces is None else surfaces
        self.hits = {} if hits is None else hits
        self.ngram_starts = {} if ngram_starts is None else ngram_starts
        self.norms = [] if norms is None else norms
        self.ngram_text = ngram_text
        self.ngram_weight = ngram_weight
        self.ngrams_listed = ngrams_listed

    def add(self, name: str, value: float = 1.0, surface: str | None = None) -> None:
        if value > self.values.get(name, 0.0):
            self.values[name] = value
        if surface and name not in self.surfaces:
            self.surfaces[name] = surface

    def as_written(self, name: str) -> str:
        """The words behind a feature as the listing writes them ('' when none)."""
        if name in self.surfaces:
            return self.surfaces[name]
        if name in self.hits:
            return str(self.hits[name].surface())
        start = self.ngram_starts.get(name[len(NGRAM_PREFIX) :])
        if start is None:
            return ""
        size = len(name) - len(NGRAM_PREFIX)
        for norm in self.norms:
            if start < len(norm.text):
                return str(norm.original_slice(start, min(len(norm.text), start + size)))
            start -= len(norm.text) + 1  # the "\n" between title and text
        return ""


def all_ngrams(text: str) -> dict[str, int]:
    """Every n-gram of `text` (no whitespace inside) and where it first starts: training's
    view of the n-grams the model finds (Model.decide)."""
    found: dict[str, int] = {}
    for size in NGRAM_SIZES:
        for start in range(len(text) - size + 1):
            gram = text[start : start + size]
            if not any(c.isspace() for c in gram):
                found.setdefault(gram, start)
    return found


def ngram_text(listing: str) -> str:
    """The text n-grams are read from: the normalised listing with every digit as 0."""
    # A search first: translate's dict would raise and clear a KeyError for every other
    # character; most texts have no digit 1-9.
    return listing.translate(_DIGITS) if _NONZERO_DIGIT.search(listing) else listing


def listing_features(
    hits: list[Hit],
    extraction: Extraction,
    scored: Scored,
    rules_alert: bool,
    norms: list[Normalized],
    list_ngrams: bool = True,
) -> Features:
    """The features of one listing the matcher analysed in full (`norms`: title, text); with
    `list_ngrams`, every n-gram too (training), else only the text they are read from."""
    out = Features(norms=norms)
    _rule_features(out, hits, scored, rules_alert)
    _extraction_features(out, extraction)
    listing = "\n".join(norm.text for norm in norms)
    length = len(listing)
    out.values["length:" + next((name for limit, name in _LENGTHS if length < limit), ">=200")] = 1
    written = "\n".join(norm.original for norm in norms)
    _style_features(out.values, listing, written)
    _word_features(out, written)
    _voice_features(out.values, listing, written, extraction)
    _identity_features(out.values, listing, extraction)
    out.ngram_text = ngram_text(listing)
    # A long text has many n-grams: each counts less, so that length alone (a news paragraph)
    # does not add up to an offer.
    out.ngram_weight = math.sqrt(NGRAM_LENGTH / max(NGRAM_LENGTH, length))
    if list_ngrams:
        out.ngram_starts = all_ngrams(out.ngram_text)
        out.ngrams_listed = True
        values, weight = out.values, out.ngram_weight
        for gram in out.ngram_starts:
            values[NGRAM_PREFIX + gram] = weight
    return out


_WORD = re.compile(r"[A-Za-z]{3,}")


def _word_features(out: Features, written: str) -> None:
    """The English words of the text, weighted as its n-grams are (less in a long text)."""
    weight = math.sqrt(NGRAM_LENGTH / max(NGRAM_LENGTH, len(written)))
    values, surfaces = out.values, out.surfaces
    for match in _WORD.finditer(written):
        word = match.group(0)
        name = WORD_PREFIX + word.lower()
        if name not in values:
            values[name] = weight
            surfaces[name] = word


def _style_features(values: dict[str, float], listing: str, written: str) -> None:
    """How the text is written, whatever it says: prose (sentences, particles such as 的 了
    是, a reporter's dating) is how news, reports, reviews and chatter read; a seller's post
    is a run of nouns, numbers and separators. `listing` is the normalised text (particles),
    `written` the text as written (its punctuation and spaces). Bucketed, so that the model
    weighs each style."""
    if not listing:
        return
    rate = len(_PARTICLE.findall(listing)) / len(listing)
    values["style:particles:" + _bucket(rate, _PARTICLE_BUCKETS)] = 1.0
    sentences = len(_SENTENCE_MARKS.findall(written)) + len(_FULL_STOPS.findall(written))
    values["style:sentences:" + ("0" if not sentences else "1-2" if sentences <= 2 else "3+")] = 1.0
    commas = len(_COMMA.findall(written))
    gaps = len(_GAP_MARKS.findall(written)) + len(_GAP_SPACES.findall(written))
    if gaps >= 3 and gaps > commas + sentences:
        values["style:fragments"] = 1.0  # a run of fragments: 姓名 电话 地址 每条两毛
    if _DATE_PROSE.search(listing):
        values["style:dated"] = 1.0  # 2019年3月, 去年, 日前: a narrative of past events


_PARTICLES = "的了是着在也很都被就把们吗呢吧"
# One findall each instead of a str.count per character: the same counts, one pass.
_PARTICLE = re.compile(f"[{_PARTICLES}]")
_COMMA = re.compile("[，,、；;]")
# A gap between fragments: a bar, slash, tab or ideographic space, or a space beside a
# character that is not ASCII (姓名 电话, sfz 号码). A space between two ASCII words is
# English prose, not a fragment (every English sentence has more spaces than commas).
# Counted as two regexes, each a single character a match: the marks, and the spaces (a regex
# that starts with its space is searched by its literal; one alternation of both tried every
# position three ways, twice as long).
_GAP_MARKS = re.compile(r"[\t|/　]")
_GAP_SPACES = re.compile(r" (?:(?<=[^\x00-\x7f] )|(?=[^\x00-\x7f]))")
_PARTICLE_BUCKETS = ((0.02, "<2%"), (0.05, "2-5%"), (0.09, "5-9%"))
# A sentence's end: one of these marks, or a full stop before a space or the end (two regexes
# for the same count: the second is searched by its literal).
_SENTENCE_MARKS = re.compile(r"[。！？!?]")
_FULL_STOPS = re.compile(r"\.(?:\s|$)")
# The look-ahead for the alternatives' first characters skips at once the positions none
# starts at (as _cue_pattern's).
_DATE_PROSE = re.compile(
    r"(?=[\d去今前日近据记])(?:\d{1,4}年\d{1,2}月|[去今前]年|日前|近日|近年|据悉|记者)"
)


# Who speaks, whatever the keyword lists hold: a report tells of someone else's sale after the
# fact (警方, 法院, 记者, 据…, 被告人, 涉案; police, court, according to; third person, past
# tense, quotation), a seller speaks of their own stock to a buyer (我们, 本店; we, our; 私聊,
# 找我, DM me; 现货, 一手, in stock). Chinese cues are read in the normalised text (simplified,
# no spaces or punctuation), English ones in the text as written, lower-cased, by word.
_VOICE_ZH_CUES: dict[str, tuple[str, ...]] = {
    "reported": (
        *("警方", "民警", "公安", "法院", "检察", "记者", "据悉", "据了解", "据介绍", "据报道"),
        *("据统计", "据称", "据调查", "据查", "被告", "嫌疑人", "涉案", "通报", "获悉", "报道"),
        *("披露", "审理", "查明", "指控", "案例", "办案"),
    ),
    "third": (
        *("卖家", "该团伙", "团伙", "他们", "对方", "此类", "这些", "这类", "该公司", "该平台"),
        *("上线", "下线", "买家", "受害人"),
    ),
    "first": ("我们", "本人", "本店", "本工作室", "我司", "咱", "小弟"),
    "imperative": (
        *("私聊", "私我", "私信", "联系", "加我", "找我", "速来", "欢迎", "要的", "需要的"),
        *("有意", "来问", "咨询", "滴滴", "带价"),
    ),
    "stock": (
        *("现货", "有货", "库存", "在库", "一手", "实时", "日更", "长期", "稳定", "量大"),
        *("大量", "批发", "可验", "包换", "包过", "秒出", "秒回"),
    ),
}


def _cue_pattern(cues: dict[str, tuple[str, ...]]) -> re.Pattern[str]:
    """One alternation of every cue, a named group per kind, behind a look-ahead for the
    cues' first characters: the regex engine then skips at once the positions no cue starts
    at, instead of trying every cue there (a third of the time)."""
    groups = "|".join(
        f"(?P<{kind}>{'|'.join(map(re.escape, terms))})" for kind, terms in cues.items()
    )
    starts = "".join(sorted({term[0] for terms in cues.values() for term in terms}))
    return re.compile(f"(?=[{re.escape(starts)}])(?:{groups})")


_VOICE_ZH = _cue_pattern(_VOICE_ZH_CUES)
_VOICE_EN = re.compile(
    r"\b(?=[a-z])(?:(?P<reported>police|court|prosecutors?|according|reportedly|investigators?|"
    r"authorities|researchers?|analysts?|indictment|sentenced|convicted|arrested|defendants?|"
    r"journalists?|said|says|told|disclosed|regulators?)"
    r"|(?P<third>the seller|sellers|a seller|they|their|he|she|his|the group|the gang|vendors?|buyers)"
    r"|(?P<first>we|our|us)"
    r"|(?P<imperative>dm|pm|contact|message|hit me|inbox|telegram me|hmu|ask)"
    r"|(?P<stock>in stock|fresh|available|bulk|private|exclusive|escrow|vouched|replacement)"
    r"|(?P<past>\w{3,}ed|was|were|had|been))\b"
)
_LATIN = re.compile("[a-z]")
_QUOTES = re.compile('[“”「」『』"]')


def _voice_features(
    values: dict[str, float], listing: str, written: str, extraction: Extraction
) -> None:
    """Cues of reporting (reported verbs, third person about a seller, past tense, quotation)
    and of selling (first person, a call to contact, stock), alone and with the extracted
    price and contacts: a price in a report's prose is not a seller's price."""
    counts: dict[str, int] = {}
    for match in _VOICE_ZH.finditer(listing):
        group = match.lastgroup or ""
        counts[group] = counts.get(group, 0) + 1
    lowered = written.lower()
    if _LATIN.search(lowered):  # every English cue starts with a letter
        for match in _VOICE_EN.finditer(lowered):
            group = match.lastgroup or ""
            counts[group] = counts.get(group, 0) + 1
    for group, count in counts.items():
        values["voice:" + group] = 1.0
        if count >= 3:
            values[f"voice:{group}:3+"] = 1.0
    if len(_QUOTES.findall(written)) >= 2:
        values["voice:quoted"] = 1.0
    reported = "reported" in counts or counts.get("third", 0) >= 2 or counts.get("past", 0) >= 3
    selling = "first" in counts or "imperative" in counts or "stock" in counts
    priced, contact = bool(extraction.prices), bool(extraction.contacts)
    if reported and not selling:
        values["voice:reporter"] = 1.0
        if priced or extraction.volumes:
            values["voice:reporter:priced"] = 1.0  # prices and volumes in a report's prose
    elif selling and not reported:
        values["voice:seller"] = 1.0
        if priced or contact:
            values["voice:seller:priced"] = 1.0
    elif reported and selling:
        values["voice:mixed"] = 1.0
    if contact and reported:
        values["voice:reported+contact"] = 1.0


# An ID number the buyer gives or shows (给名字身份证就行, 报名只需身份证, 身份证查…): a look-up
# keyed on it, or a requirement, not ID numbers on sale.
_ID_AS_KEY = re.compile(
    "(?=[给凭提只输需带准身s])(?:"  # the first characters of the two alternatives below
    "(?:给|凭|提供|只需|只要|输入|需要|需|带上|准备好?)(?:名字|姓名)?(?:和|加|及)?(?:身份证|sfz)"
    "|(?:身份证|sfz)号?(?:就行|即可|就可以|就能|反查|查))"
)
_NAME_FIELDS = frozenset({"姓名"})
_ID_FIELDS = frozenset({"身份证", "身份证号"})


def _identity_features(values: dict[str, float], listing: str, extraction: Extraction) -> None:
    """Whether a record set is citizen-identity data too: its fields include the name and the
    ID number (车险数据 姓名 身份证号 手机号), or the ID number is only the key of a look-up."""
    fields = set(extraction.data_fields)
    if fields & _NAME_FIELDS and fields & _ID_FIELDS:
        values["fields:name+id"] = 1.0
    if _ID_AS_KEY.search(listing):
        values["fields:id_as_key"] = 1.0


def _bucket(value: float, buckets: tuple[tuple[float, str], ...]) -> str:
    return next((name for limit, name in buckets if value < limit), ">=" + buckets[-1][1][-2:])


def _rule_features(out: Features, hits: list[Hit], scored: Scored, rules_alert: bool) -> None:
    values, found = out.values, out.hits
    values["rules:score"] = min(scored.score, 12.0) / 6.0
    values["rules:data"] = min(scored.data, 6.0) / 3.0
    if scored.offers:
        values["rules:offer"] = 1.0
    if rules_alert:
        values["rules:alert"] = 1.0
    # The rules' offer and context parts and their genre cues (discussion, not an offer),
    # where the rules report them.
    offer = getattr(scored, "offer", 0.0)
    if offer:
        values["rules:offer_part"] = min(offer, 6.0) / 3.0
    context = getattr(scored, "context", 0.0)
    if context:
        values["rules:context"] = min(-context, 12.0) / 4.0
    for genre in getattr(scored, "genres", None) or ():
        values["genre:" + genre] = 1.0
    # The sectors the rules settle on (an insider's sector, a leak file's, not the buyer's),
    # beside the raw category of every hit below.
    for category in scored.categories:
        values["rules:category:" + category] = 1.0
    roles: dict[str, int] = {}
    for hit in hits:
        entry = hit.entry
        role = "negated" if hit.negated else entry.role
        if role == "exclusion":
            continue
        roles[role] = roles.get(role, 0) + 1
        key = (role, entry.term, entry.group, entry.categories)
        names = _NAMES.get(key)
        if names is None:
            names = _NAMES[key] = _feature_names(role, entry.term, entry.group, entry.categories)
        if names[0] in values:
            continue  # the same term again: present once, shown as first written
        for name in names:
            if name not in values:
                values[name] = 1.0
                found[name] = hit
    for role, count in roles.items():
        values["role:" + role] = 1.0
        if count >= 3:
            values[f"role:{role}:3+"] = 1.0


# (role, term, group, categories) -> the features a hit of that entry sets, the term's first.
_NAMES: dict[tuple[str, str, str | None, tuple[str, ...]], tuple[str, ...]] = {}


def _feature_names(
    role: str, term: str, group: str | None, categories: tuple[str, ...]
) -> tuple[str, ...]:
    names = [f"term:{role}:{term}"]
    if role == "context" and group:
        names.append("context:" + group)
    elif role == "field":  # one field of a list (身份证 in a hotel list) is not its sector
        names.extend(f"category:{category}:field" for category in categories)
    elif role in _DATA_ROLES:
        names.extend("category:" + category for category in categories)
    return tuple(names)


def _extraction_features(out: Features, extraction: Extraction) -> None:
    for price in extraction.prices[:3]:
        out.add("price", 1.0, price.text)
        out.add(f"price:{price.currency}", 1.0, price.text)
        if price.per:
            out.add("price:per_unit", 1.0, price.text)
    if extraction.volumes:
        biggest = max(extraction.volumes, key=lambda v: v.count)
        out.add("volume", 1.0, biggest.text)
        digits = int(math.log10(max(1, biggest.count)))
        out.add(f"volume:1e{min(digits, 8)}", 1.0, biggest.text)
    for contact in extraction.contacts[:3]:
        out.add("contact", 1.0, contact.text)
        out.add(f"contact:{contact.kind}", 1.0, contact.text)
    if len(extraction.contacts) >= 2:
        out.add("contact:2+")
    if extraction.sample_offer:
        out.add("sample")
    if extraction.freshness:
        out.add("fresh")  # the words themselves are term:fresh:... features
    fields = len(extraction.data_fields)
    if fields:
        out.add(f"fields:{min(fields, 4)}")
