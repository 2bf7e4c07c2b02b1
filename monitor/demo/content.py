"""Ground truth of the demo sites: every entry, day by day, and what a sweep must find.

Sites are ``forum``, ``market`` and ``channel``; days are 1, 2 and 3. An entry's ``site_id``
is the id a spider reads on the site: the forum's thread id (``tid``), the market's item id,
the channel's message id (the number after the slash in ``data-post``), always a string.

Entries are plain dicts (see :func:`Entry.as_dict`): ``site``, ``site_id``, ``url`` (path on
the demo server), ``label`` (1 = black-market listing, 0 = must not alert), ``categories``
(ids from MISSION.md), ``days`` (days it is published), ``title``, ``text``, ``price``,
``volume``, ``author`` and ``posted`` as on the requested day, and ``versions`` (day -> the
title/text/price/volume published that day).

Day 2: prices and volumes change, listings come and go on the forum and the market, and the
channel answers 503 to everything. Day 3: the channel is back with new messages and a forum
thread removed on day 2 returns under the same id and URL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from monitor.vocabulary import CATEGORIES

SITES = ("forum", "market", "channel")
DAYS = (1, 2, 3)
CHANGE_FIELDS = ("price", "volume", "title", "text")
# The calendar date each demo day's sweep pretends to run on.
DAY_DATES = {1: datetime(2026, 11, 20), 2: datetime(2026, 11, 21), 3: datetime(2026, 11, 22)}
DOWN_DAYS = {"forum": (), "market": (), "channel": (2,)}
CHANNEL = "shuju_daily"
CHANNEL_TITLE = "数据日报 | 每日更新"


@dataclass(frozen=True)
class Version:
    title: str
    text: str
    price: str | None
    volume: str | None


@dataclass(frozen=True)
class Entry:
    """One thread, item or message. ``{price}`` and ``{volume}`` in title/text are filled
    in per day; ``edits`` maps a day to the fields that change from that day on."""

    site: str
    site_id: str
    label: int
    categories: tuple[str, ...]
    title: str
    text: str
    author: str
    price: str | None = None
    volume: str | None = None
    days: tuple[int, ...] = DAYS
    edits: Mapping[int, Mapping[str, str]] = field(default_factory=dict)
    replies: tuple[tuple[str, str], ...] = ()
    tags: tuple[str, ...] = ()
    views: int = 0
    posted: str = ""

    def present(self, day: int) -> bool:
        return day in self.days

    def version(self, day: int) -> Version:
        """Title, text, price and volume as published on `day`."""
        values: dict[str, Any] = {
            "title": self.title,
            "text": self.text,
            "price": self.price,
            "volume": self.volume,
        }
        for edit_day in sorted(self.edits):
            if edit_day <= day:
                values.update(self.edits[edit_day])
        price, volume = values["price"], values["volume"]
        return Version(
            title=_fill(values["title"], price, volume),
            text=_fill(values["text"], price, volume),
            price=price,
            volume=volume,
        )

    @property
    def url(self) -> str:
        if self.site == "forum":
            return f"/forum.php?mod=viewthread&tid={self.site_id}"
        if self.site == "market":
            return f"/item/{self.site_id}"
        return f"/s/{CHANNEL}/{self.site_id}"

    def as_dict(self, day: int | None = None) -> dict[str, Any]:
        day = day if day is not None else self.days[0]
        shown = self.version(day)
        return {
            "site": self.site,
            "site_id": self.site_id,
            "url": self.url,
            "label": self.label,
            "categories": list(self.categories),
            "days": list(self.days),
            "title": shown.title,
            "text": shown.text,
            "price": shown.price,
            "volume": shown.volume,
            "author": self.author,
            "posted": self.posted,
            "tags": list(self.tags),
            "replies": [list(r) for r in self.replies],
            "versions": {d: vars(self.version(d)) for d in self.days},
        }


def listing(
    site: str, site_id: int | str, categories: str, author: str, title: str, text: str, **more: Any
) -> Entry:
    """A black-market listing; `categories` is a space-separated list of category ids."""
    cats = tuple(categories.split())
    unknown = set(cats) - set(CATEGORIES)
    assert cats and not unknown, f"{site}/{site_id}: bad categories {unknown or cats}"
    return Entry(site, str(site_id), 1, cats, title, text, author, **more)


def negative(
    site: str, site_id: int | str, author: str, title: str, text: str, **more: Any
) -> Entry:
    """An entry that must not alert (chatter, news, ordinary trade)."""
    return Entry(site, str(site_id), 0, (), title, text, author, **more)


def _fill(template: str, price: str | None, volume: str | None) -> str:
    return template.replace("{price}", price or "").replace("{volume}", volume or "")


def _with_posted_times(site: str, raw: Iterable[Entry]) -> tuple[Entry, ...]:
    """Give entries without a `posted` time one that fits the order they were written in:
    the first entry is the oldest; entries that appear later are posted on their first day."""
    entries = list(raw)
    done = []
    baseline = [e for e in entries if e.days[0] == 1]
    start = DAY_DATES[1] - timedelta(hours=9 * len(baseline))
    later: dict[int, int] = {}
    for entry in entries:
        if entry.posted:
            done.append(entry)
            continue
        first = entry.days[0]
        if first == 1:
            when = start + timedelta(hours=9 * baseline.index(entry), minutes=7 * len(done) % 60)
        else:
            later[first] = later.get(first, 0) + 1
            when = DAY_DATES[first] - timedelta(hours=12) + timedelta(hours=2 * later[first])
        done.append(replace(entry, posted=when.strftime("%Y-%m-%d %H:%M")))
    ids = [e.site_id for e in done]
    assert len(ids) == len(set(ids)), f"duplicate ids on {site}"
    return tuple(done)


@cache
def all_entries(site: str) -> tuple[Entry, ...]:
    """Every entry ever published on `site`, as Entry objects."""
    if site == "forum":
        from monitor.demo.forum_data import FORUM_ENTRIES as raw
    elif site == "market":
        from monitor.demo.market_data import MARKET_ENTRIES as raw
    elif site == "channel":
        from monitor.demo.channel_data import CHANNEL_ENTRIES as raw
    else:
        raise KeyError(f"no demo site {site!r}; sites are {SITES}")
    return _with_posted_times(site, raw)


def live_entries(site: str, day: int) -> list[Entry]:
    """Entries published on `site` on `day` (whether or not the site is up that day)."""
    return [e for e in all_entries(site) if e.present(day)]


def entries(site: str, day: int | None = None) -> list[dict[str, Any]]:
    """Entries of `site` as dicts: those published on `day`, or every entry ever."""
    if day is None:
        return [e.as_dict() for e in all_entries(site)]
    return [e.as_dict(day) for e in live_entries(site, day)]


def entry(site: str, site_id: str | int, day: int | None = None) -> dict[str, Any]:
    """One entry as a dict, as published on `day` (default: its first day)."""
    for found in all_entries(site):
        if found.site_id == str(site_id):
            return found.as_dict(day)
    raise KeyError(f"no entry {site_id!r} on demo {site}")


def site_down(site: str, day: int) -> bool:
    """Whether every request to `site` answers 503 on `day`."""
    return day in DOWN_DAYS[site]


def expected_changes(site: str, day_from: int, day_to: int) -> dict[str, Any]:
    """What a sweep on `day_to` finds against the store as the sweep on `day_from` left it.

    Returns ``{"new": [ids], "changed": {id: [fields]}, "removed": [ids], "relisted": [ids]}``.
    `changed` lists every differing field among price/volume/title/text (a price written in
    the text changes both). A sweep of a site that is down finds nothing, so a down `day_to`
    gives no changes; a down `day_from` means comparing with the last day the site was up.
    """
    empty: dict[str, Any] = {"new": [], "changed": {}, "removed": [], "relisted": []}
    if site_down(site, day_to):
        return empty
    seen_days = [d for d in DAYS if d <= day_from and not site_down(site, d)]
    if not seen_days:
        return {**empty, "new": [e.site_id for e in live_entries(site, day_to)]}
    last = seen_days[-1]
    result = empty
    for item in all_entries(site):
        was, now = item.present(last), item.present(day_to)
        seen_before = any(item.present(d) for d in seen_days)
        if now and not was:
            result["relisted" if seen_before else "new"].append(item.site_id)
        elif was and not now:
            result["removed"].append(item.site_id)
        elif was and now:
            old, new = item.version(last), item.version(day_to)
            fields = [f for f in CHANGE_FIELDS if getattr(old, f) != getattr(new, f)]
            if fields:
                result["changed"][item.site_id] = fields
    return result


_ID_NUMBER = re.compile(r"(?<![0-9])[1-9][0-9]{16}[0-9Xx](?![0-9])")
_PHONE = re.compile(r"(?<![0-9])1[3-9][0-9]{9}(?![0-9])")
_CARD = re.compile(r"(?<![0-9])[0-9]{16,19}(?![0-9])")


def id_checksum_ok(number: str) -> bool:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(number[:17], weights, strict=True))
    return "10X98765432"[total % 11] == number[17].upper()


def luhn_ok(number: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch) * (2 if i % 2 else 1)
        total += digit - 9 if digit > 9 else digit
    return total % 10 == 0


def personal_numbers(item: Mapping[str, Any]) -> list[str]:
    """Valid ID numbers, mobile numbers and Luhn-valid card numbers quoted in an entry's
    texts on any day: what must never reach the store in clear."""
    texts = [item["title"], item["text"], *(r[1] for r in item.get("replies", ()))]
    texts += [v["title"] for v in item["versions"].values()]
    texts += [v["text"] for v in item["versions"].values()]
    found: set[str] = set()
    for text in texts:
        found |= {m for m in _ID_NUMBER.findall(text) if id_checksum_ok(m)}
        found |= set(_PHONE.findall(text))
        found |= {m for m in _CARD.findall(text) if luhn_ok(m)}
    return sorted(found)
