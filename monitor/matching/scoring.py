"""Turn keyword hits and extracted facts into a score, categories and reasons.

score = data + offer + context, where
- data: the strongest evidence of WHAT is sold (a category's data nouns, a subject followed by a
  generic noun such as 股民+数据, generic nouns, or several data fields), plus a share of the
  next strongest kinds, since listings that name several kinds of data are surer;
- offer: evidence that it IS sold (sale words, price, volume, contact, sample, freshness);
- context: negative weights for news, police and court reports, anti-fraud warnings, privacy
  policies, job adverts; a negated sale word (不会出售) counts against as well.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from monitor.matching.match_result import Extraction

if TYPE_CHECKING:
    from monitor.matching.matcher import Hit

COMPOSE_AFTER = 10  # a generic noun this many characters after a subject makes it data
COMPOSE_BEFORE = 0
# A subject followed by these (within BUYER_REACH characters) names the buyer the data is for,
# not whose data it is.
_BUYER_WORDS = re.compile(r"专用|精准|推广|获客|必备|营销|拉客|引流|抢着要|招商|适用")
BUYER_REACH = 4
FIELD_LIST = 0.5  # what two or more data fields add to a subject with no generic noun after it
FIELD_LIST_REACH = 30  # ... when they follow it within this many characters
FALLBACK_CATEGORY = "identity"
NEGATED_SALE = -2.0
MIN_DATA = 1.0  # below this, generic nouns alone: no alert
DATA_VOLUME = 1000  # volumes from this many records count fully as an offer
CONTACT_WEIGHTS = {"url": 0.5, "email": 1.0}  # every other kind of contact: 1.5


@dataclass
class Scored:
    score: float
    data: float
    offers: bool
    categories: list[str]
    reasons: list[str] = field(default_factory=list)
    offer: float = 0.0  # the offer part of the score
    context: float = 0.0  # the context part (zero or negative)
    genres: dict[str, float] = field(default_factory=dict)  # genre cue group -> its weight

    # Written out so that mypyc compiles it (@dataclass's own __init__ is interpreted).
    def __init__(
        self,
        score: float,
        data: float,
        offers: bool,
        categories: list[str],
        reasons: list[str] | None = None,
        offer: float = 0.0,
        context: float = 0.0,
        genres: dict[str, float] | None = None,
    ) -> None:
        self.score = score
        self.data = data
        self.offers = offers
        self.categories = categories
        self.reasons = [] if reasons is None else reasons
        self.offer = offer
        self.context = context
        self.genres = {} if genres is None else genres


def _spread(weights: list[float], share: float = 0.25, cap: float = 1.0) -> float:
    """The largest weight plus a capped share of the others."""
    if not weights:
        return 0.0
    ordered = sorted(weights, reverse=True)
    return ordered[0] + min(cap, share * sum(ordered[1:]))


def _distinct(hits: list[Hit]) -> list[Hit]:
    seen: dict[str, Hit] = {}
    for hit in hits:
        if hit.entry.term not in seen or hit.entry.weight > seen[hit.entry.term].entry.weight:
            seen[hit.entry.term] = hit
    return list(seen.values())


def score_hits(hits: list[Hit], extraction: Extraction) -> Scored:
    by_role: dict[str, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_role["negated" if hit.negated else hit.entry.role].append(hit)
    reasons: list[str] = []
    absorbed = {t for h in hits for t in h.entry.absorbs}

    # WHAT: category evidence. Reasons name the words as the text writes them.
    per_category: dict[str, list[float]] = defaultdict(list)
    labels: dict[str, list[str]] = defaultdict(list)
    generics = list(by_role["generic"])
    for hit in _distinct(by_role["data"] + by_role["strong"]):
        if (hit.entry.term in absorbed or hit.entry.surface in absorbed) and not hit.entry.absorbs:
            continue
        if not hit.entry.categories:
            generics.append(hit)  # data of no sector of its own (a leak file's name)
        for category in hit.entry.categories:
            per_category[category].append(hit.entry.weight)
            labels[category].append(hit.surface())
    composed: set[int] = set()
    fields = _distinct(by_role["field"])
    # Partners that make a subject data: generic nouns, and data of a service that takes any
    # sector's data (某书博主数据采集 is the platform's data, collected).
    subjects = by_role["subject"]
    partners = (
        generics + [h for h in by_role["data"] + by_role["strong"] if h.entry.compose]
        if subjects
        else []
    )
    _compose_subjects(subjects, partners, fields, composed, per_category, labels)
    if subjects:
        _sector_of_insider(subjects, composed, per_category, labels)
    category_scores = {c: _spread(ws) for c, ws in per_category.items()}
    generic_score = _spread([h.entry.weight for h in _distinct(generics)])
    # One weak field name alone (手机, 地址) is not data on offer; two or more, or 身份证, are.
    field_score = min(1.5, 0.4 * len(fields)) if len(fields) >= 2 else 0.0
    if fields and max(h.entry.weight for h in fields) >= 1.0:
        field_score = max(field_score, max(h.entry.weight for h in fields))
    ranks = sorted([*category_scores.values(), generic_score, field_score], reverse=True)
    ranks += [0.0, 0.0]
    data = ranks[0] + min(1.5, 0.4 * ranks[1] + 0.2 * ranks[2]) if ranks[0] > 0 else 0.0
    for category in sorted(category_scores, key=category_scores.__getitem__, reverse=True):
        reasons.append(
            f"data [{category}] {', '.join(_unique(labels[category]))} "
            f"+{category_scores[category]:g}"
        )
    if generic_score:
        terms = ", ".join(_unique(h.surface() for h in generics))
        reasons.append(f"data (generic) {terms} +{generic_score:g}")
    if fields:
        shown = ", ".join(_unique(h.surface() for h in fields))
        reasons.append(f"data fields {shown} +{field_score:g}")

    # WHICH categories.
    categories = _categories(category_scores, generic_score, fields)

    # WHETHER it is offered.
    offer_parts = _offer_parts(by_role, extraction, fields, generics)
    # 0.0, not the int 0, when nothing is offered: a float as Scored.offer says (compiled, it
    # can only be one).
    offer = min(4.5, sum((v for _, v in offer_parts), 0.0))
    for text, value in offer_parts:
        reasons.append(f"{text} +{value:g}")

    # Context that says it is not an offer; its groups are genre cues (report, review ...).
    penalty, genres = _context_penalty(by_role, reasons)

    # Strong data with a weak offer (精准, 保密) is still an offer; ordinary talk rarely has both.
    offers = offer >= 1.0 or (offer >= 0.5 and data >= 3.0)
    # Weak data alone (发资料过来, 秒刷新) is not data on offer, whatever the offer looks like.
    offers = offers and data >= MIN_DATA
    score = data + offer + penalty if data > 0 else 0.0
    if data > 0 and not offers:
        score = min(score, 2.0)
    score = round(max(0.0, min(score, 20.0)), 2)
    return Scored(
        score,
        round(data, 2),
        offers,
        categories,
        reasons,
        offer=round(offer, 2),
        context=round(penalty, 2),
        genres=genres,
    )


def _compose_subjects(
    subjects: list[Hit],
    partners: list[Hit],
    fields: list[Hit],
    composed: set[int],
    per_category: dict[str, list[float]],
    labels: dict[str, list[str]],
) -> None:
    """Whose data a subject word is, with a partner (a generic noun, a service's data) or a
    list of its fields after it: its weight and label added to its categories."""
    buyers: dict[int, list[int]] = {}  # per field text: where buyer words start
    for subject in subjects:
        text = subject.norm.text
        starts = buyers.get(id(text))
        if starts is None:
            starts = buyers[id(text)] = [m.start() for m in _BUYER_WORDS.finditer(text)]
        if any(0 <= start - subject.end <= BUYER_REACH for start in starts):
            continue  # who buys it (保险精准, 装修必备, 医药代表专用), not whose data it is
        partner = _compose_partner(subject, partners)
        if partner is not None:
            added = partner.entry.weight if partner.entry.role == "generic" else 0.5
            weight = subject.entry.weight + added
            label = subject.surface() + "+" + partner.surface()
        else:
            # Whose data, then a list of its fields (体检中心客户 电话 年龄): that data.
            listed = [
                f
                for f in fields
                if f.field == subject.field and 0 <= f.start - subject.end <= FIELD_LIST_REACH
            ]
            if len(listed) < 2:
                continue
            weight = subject.entry.weight + FIELD_LIST
            label = subject.surface() + "+" + "/".join(_unique(f.surface() for f in listed[:3]))
        composed.add(id(subject))
        for category in subject.entry.categories:
            per_category[category].append(weight)
            labels[category].append(label)


def _offer_parts(
    by_role: dict[str, list[Hit]], extraction: Extraction, fields: list[Hit], generics: list[Hit]
) -> list[tuple[str, float]]:
    """What says the data is offered (sale words, contacts, a price ...), with its weights."""
    offer_parts: list[tuple[str, float]] = []
    sales = _by_surface(by_role["sale"])
    if sales:
        value = min(2.5, _sum_by_term(sales))
        offer_parts.append((f"sale signal {', '.join(h.surface() for h in sales)}", value))
    strong = _distinct(by_role["strong"])
    implied = (
        f"offer implied by {', '.join(_unique(h.surface() for h in strong))}" if strong else ""
    )
    contact_words = _distinct(by_role["contact"])
    if extraction.contacts:
        shown = ", ".join(f"{c.kind} {c.text}" for c in extraction.contacts[:3])
        # A messenger, a handle or a number reaches the seller; a mail address or a link
        # is as often the site's own.
        value = max(CONTACT_WEIGHTS.get(c.kind, 1.5) for c in extraction.contacts)
        offer_parts.append((f"contact {shown}", value))
    elif contact_words:
        offer_parts.append((f"contact channel {contact_words[0].surface()}", 1.0))
    if extraction.prices:
        offer_parts.append((f"price {extraction.prices[0].text}", 1.0))
    if extraction.volumes:
        biggest = max(extraction.volumes, key=lambda v: v.count)
        value = 1.0 if biggest.count >= DATA_VOLUME or biggest.unit == "G" else 0.3
        offer_parts.append((f"volume {biggest.text}", value))
    samples = _distinct(by_role["sample"])
    if samples:
        offer_parts.append((f"sample/verification {samples[0].surface()}", 1.0))
    fresh = _distinct(by_role["fresh"])
    if fresh:
        value = min(1.0, sum(h.entry.weight for h in fresh))
        offer_parts.append((f"freshness {', '.join(h.surface() for h in fresh)}", value))
    if len(fields) >= 2:
        offer_parts.append((f"{len(fields)} data fields listed", 0.75 if len(fields) >= 3 else 0.4))
    # A strong term (社工库, 脱裤, 开盒) implies an offer only when something else backs it:
    # alone, it is as likely the everyday sense (开盒有惊喜, 脱裤子放屁) or a mention.
    backing = (
        offer_parts
        or fields
        or len(_by_surface(by_role["strong"])) >= 2
        or any(h.entry.weight >= 1.5 for h in by_role["data"] + generics)
    )
    if strong and backing:
        offer_parts.append((implied, 1.0))
    return offer_parts


def _context_penalty(
    by_role: dict[str, list[Hit]], reasons: list[str]
) -> tuple[float, dict[str, float]]:
    """What says the text is not an offer (context words, negated sales), and its genres."""
    penalty = 0.0
    contexts = _by_surface(by_role["context"])
    penalty += _sum_by_term(contexts)
    genres: dict[str, float] = defaultdict(float)
    for hit in contexts:
        group = f" ({hit.entry.group})" if hit.entry.group else ""
        reasons.append(f"context {hit.surface()}{group} {hit.entry.weight:g}")
        if hit.entry.group:
            genres[hit.entry.group] = round(genres[hit.entry.group] + hit.entry.weight, 2)
    for hit in _distinct(by_role["negated"]):
        penalty += NEGATED_SALE
        reasons.append(f"negated sale signal {hit.surface()} {NEGATED_SALE:g}")
    penalty = max(-12.0, penalty)
    return penalty, dict(genres)


# Sectors that an insider's access reaches (银行员工 -> finance, a carrier insider -> telecom).
_INSIDER_SECTORS = frozenset(
    {"finance", "telecom", "logistics", "travel", "vehicle", "medical", "education_jobs"}
    | {"real_estate", "platform", "identity"}
)


def _sector_of_insider(
    subjects: list[Hit],
    composed: set[int],
    per_category: dict[str, list[float]],
    labels: dict[str, list[str]],
) -> None:
    """An insider's access (corporate data) is also data of the sector it names (某银行员工
    查询, a carrier insider): that sector's subjects count as its data."""
    if "corporate" not in per_category:
        return
    for subject in subjects:
        if id(subject) in composed:
            continue
        for category in subject.entry.categories:
            if category in _INSIDER_SECTORS:
                per_category[category].append(subject.entry.weight)
                labels[category].append(subject.surface())


def _by_surface(hits: list[Hit]) -> list[Hit]:
    """One hit per distinct surface form, in text order."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.entry.surface, hit)
    return list(seen.values())


def _sum_by_term(hits: list[Hit]) -> float:
    """Sum of weights; a second surface of the same term (an alias) counts half."""
    total = 0.0
    counted: set[str] = set()
    for hit in sorted(hits, key=lambda h: -abs(h.entry.weight)):
        total += hit.entry.weight * (0.5 if hit.entry.term in counted else 1.0)
        counted.add(hit.entry.term)
    return total


def _compose_partner(subject: Hit, generics: list[Hit]) -> Hit | None:
    best = None
    for generic in generics:
        if not generic.entry.compose or generic.field != subject.field:
            continue
        after = generic.start - subject.end
        before = subject.start - generic.end
        near = 0 <= after <= COMPOSE_AFTER or 0 <= before <= COMPOSE_BEFORE
        if near and (best is None or generic.entry.weight > best.entry.weight):
            best = generic
    return best


def _categories(
    category_scores: dict[str, float], generic_score: float, fields: list[Hit]
) -> list[str]:
    if category_scores:
        top = max(category_scores.values())
        floor = max(1.0, 0.4 * top)
        chosen = [c for c, s in category_scores.items() if s >= floor]
        return sorted(chosen, key=lambda c: -category_scores[c])
    if generic_score or fields:
        field_categories: dict[str, float] = defaultdict(float)
        for hit in fields:
            for category in hit.entry.categories:
                field_categories[category] += hit.entry.weight
        if field_categories and not generic_score:
            return [max(field_categories, key=field_categories.__getitem__)]
        return [FALLBACK_CATEGORY]
    return []


def _unique(items) -> list[str]:
    return list(dict.fromkeys(items))
