"""What the matcher returns for one listing: shared by the matcher, the spiders and the store."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any, Literal

Field = Literal["title", "text"]


@dataclass(frozen=True)
class TermHit:
    """One keyword found in a listing, with its place in the original (unnormalised) field."""

    term: str  # canonical keyword, e.g. "身份证"
    category: str | None  # category id from MISSION.md, None for generic sale signals
    weight: float
    field: Field
    start: int  # offsets into the original title or text, for highlighting
    end: int
    surface: str  # the original characters, e.g. "身 份 證"
    role: str = "term"  # term | sale | context | exclusion | brand ...
    group: str | None = None  # the keyword's group; for context cues, the genre (report ...)


def term_hit(**values: Any) -> TermHit:
    """A TermHit made without the frozen dataclass's __init__ (a field at a time through
    object.__setattr__): the matcher makes one per hit of every listing. Same object."""
    hit = TermHit.__new__(TermHit)
    hit.__dict__.update(_TERM_HIT_DEFAULTS, **values)
    return hit


_TERM_HIT_DEFAULTS = {f.name: f.default for f in fields(TermHit) if f.default is not MISSING}


@dataclass(frozen=True)
class Price:
    amount: float
    currency: str  # CNY, USDT, BTC, USD
    per: str | None  # the unit the price is for, e.g. "1万条", "条", "天", "月"
    text: str  # as written


@dataclass(frozen=True)
class Volume:
    count: int  # number of records (条) as an integer, e.g. 300万 -> 3_000_000
    unit: str  # the unit as written: 条, 万, 亿, w, k, G ...
    text: str


@dataclass(frozen=True)
class Contact:
    kind: str  # qq | wechat | telegram | line | whatsapp | signal | email | url | phone | other
    value: str  # normalised handle or number
    text: str  # as written


@dataclass
class Extraction:
    prices: list[Price] = field(default_factory=list)
    volumes: list[Volume] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    sample_offer: bool = False  # 样本, 可验, 支持测试, 先测后付 ...
    freshness: list[str] = field(default_factory=list)  # 实时, 日更, 一手 ...
    data_fields: list[str] = field(default_factory=list)  # 姓名, 身份证, 手机号 ...


@dataclass
class MatchResult:
    score: float
    alert: bool  # score reached the alert threshold
    categories: list[str]
    hits: list[TermHit]
    reasons: list[str]  # human-readable, e.g. "data noun 身份证 + sale signal 出 + volume 300万"
    extraction: Extraction = field(default_factory=Extraction)
    brands: list[str] = field(default_factory=list)  # watched brands named in the listing
    # The rules' parts of the score (data, offer, context) and whether data is on offer, for
    # readers that weigh the rules themselves (a learned score, an analyst's query).
    rules: dict[str, float] = field(default_factory=dict)
    # Genre cues found (report, guide, review, policy, job, goods ...) -> their summed weight:
    # discussion of the trade rather than a seller's post.
    genres: dict[str, float] = field(default_factory=dict)
    # The learned score (monitor/matching/model.py) when the keyword directory has a model: the
    # calibrated probability the alert was decided on, and the model file's version.
    probability: float | None = None
    model_version: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def price(self) -> Price | None:
        return self.extraction.prices[0] if self.extraction.prices else None

    @property
    def volume(self) -> Volume | None:
        vols = self.extraction.volumes
        return max(vols, key=lambda v: v.count) if vols else None
