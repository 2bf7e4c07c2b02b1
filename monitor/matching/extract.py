r"""Prices, volumes and contacts in listing text (normalised by monitor.matching.normalize).

Sample offers, freshness and data fields come from keyword hits (roles sample, fresh, field);
the matcher passes them in (`Matcher.match(title, text).extraction` for one listing).

Listing text is hostile: every pattern here runs in time linear in the text. Repetitions are
bounded (a number has at most 15 digits before its point) and a pattern that starts with a
number starts only where a digit run starts (`\d(?<![\d.]\d)`), so a page of 30,000 digits is
read once, not once per digit; a field yields at most MAX_MATCHES prices, volumes and
contacts each, so the overlap checks stay short (benchmarks/worst_case.py measures this).
"""

from __future__ import annotations

import re

from monitor.matching.contacts import find_contacts
from monitor.matching.match_result import Extraction, Price, Volume
from monitor.matching.normalize import Normalized

# A number: at most 15 digits, 8 decimals (beyond that it is not a price or a count).
_DIGITS = r"\d{1,15}(?:\.\d{1,8})?"
_NUM = f"({_DIGITS})"
# A number that starts a digit run (no digit or point before it). The look-behind comes after
# the first digit so that the regex engine still skips ahead to digits quickly.
_RUN_DIGITS = r"\d(?<![\d.]\d)\d{0,14}(?:\.\d{1,8})?"
_RUN_NUM = f"({_RUN_DIGITS})"
# ... and not right after a letter either (3k, v2).
_RUN_NUM_NOT_AFTER_LETTER = r"(\d(?<![\d.a-z]\d)\d{0,14}(?:\.\d{1,8})?)"
MAX_MATCHES = 50
_MULT = {"万": 10_000, "w": 10_000, "千": 1_000, "k": 1_000, "亿": 100_000_000, "m": 1_000_000}
_CURRENCY = {
    "元": "CNY",
    "块": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "¥": "CNY",
    "u": "USDT",
    "usdt": "USDT",
    "btc": "BTC",
    "usd": "USD",
    "$": "USD",
    "美元": "USD",
    "美金": "USD",
    "刀": "USD",
    "xmr": "XMR",
    "eth": "ETH",
}
_PER = (
    r"(?:(?:/|一|每|1)(个月|月|天|日|周|年|条|单|张|个|次|套|份|人|号|千条|万条|w条|k条)"
    r"|(?<=[元块u])(个月|月|天|年|条|单|张|次))"
)
_PRICE_AFTER = re.compile(
    _RUN_NUM_NOT_AFTER_LETTER + r"\s?(万|w|千|k)?\s?"
    r"(元|块|rmb|cny|usdt|btc|usd|美元|美金|刀|xmr|eth|u(?![a-z]))"
    r"(?:\s?(?:" + _PER + r"|each|per\s(\w{1,20})))?"
)
_PRICE_BEFORE = re.compile(r"([¥$])\s?" + _NUM + r"(万|w|k)?(?:\s?" + _PER + r")?")
_PRICE_LABEL = re.compile(r"(?:价格|售价|单价|报价|价)[:：]?" + _NUM + r"(?![\d.]|万|w|条)")
_PRICE_BARE_PER = re.compile(_RUN_NUM + r"(?:/|一|每)(个月|月|天|日|周|年|条|单|张|次|套|份|个)")
_PRICE_PER_COUNT = re.compile(
    r"((?:一|每|" + _RUN_DIGITS + r")(?:万|w|千|k)?条)[:：]?" + _NUM + r"(?![\d.]|万|w|条|元|块|u)"
)
# Both run on a few characters next to a price (_per_around).
_PER_BEFORE = re.compile(
    r"((?:\d{1,8}(?:\.\d{1,4})?|[一二两三四五六七八九十百千]{1,8})(?:万|w|k|千)?"
    r"(?:条|人|粉|赞|个|张|单))$"
)
_PER_AFTER = re.compile(r"^(\d{1,8}(?:万|w|k)?(?:粉|赞|人|个|条|张|单))")

_VOLUME = re.compile(
    _RUN_NUM_NOT_AFTER_LETTER + r"\s?(亿|千万|百万|万|w|千|k|m)?\s?"
    r"(条|行|rows|records|户(?![籍口型主])|人|份|组|单|套|量|用户|数据|级|gb|g|tb|t)?(?![a-z])"
)
# Units that count records only with a multiplier: 300万户 is households, 6142 户 is not.
_DEVICE_CAPACITIES = frozenset({16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1000.0, 1024.0, 2000.0})
_NEEDS_MULT = frozenset({"户", "级", "量", "数据", "用户"})
_CN_NUMERAL = "[一二两三四五六七八九十百千]"
# Tried only where a run of numerals starts (the look-behind after the first one, as above).
_CN_VOLUME = re.compile(
    f"({_CN_NUMERAL}(?<!{_CN_NUMERAL}{_CN_NUMERAL}){_CN_NUMERAL}{{0,11}})(万|亿)"
    r"(条|级|量|用户|数据|人|户)?"
)
_CN_DIGITS = {c: i for i, c in enumerate("零一二三四五六七八九")}
_CN_DIGITS.update({"〇": 0, "两": 2, "幺": 1})
# Prices written loosely: in Chinese numerals (五十块, 两毛, 一块五), in 毛/角 (5毛), or a bare
# amount after a unit (一次20, 每条两毛, 一套三十: two numerals at least, so 一人一份 is not one).
_CN_MONEY = re.compile(
    f"({_CN_NUMERAL}(?<!{_CN_NUMERAL}{_CN_NUMERAL})[一二两三四五六七八九十百千万]{{0,7}})"
    r"(块|元|毛|角)(钱|[一二三四五六七八九](?![十百千万亿]))?"
)
_CN_MONEY_HINT = re.compile(r"[一二两三四五六七八九十百千万][块元毛角]")  # in every _CN_MONEY
_DIGIT_DIMES = re.compile(_RUN_NUM + r"(毛|角)")
_UNIT = r"(条|次|张|份|单|人|套|号|户|个号|个账号|个)"
_PRICE_AFTER_UNIT = re.compile(
    r"(?:每|一|单)" + _UNIT + r"[:：]?"
    r"(\d{1,6}(?:\.\d{1,4})?|[一二两三四五六七八九十百千]{2,6})"
    r"(?![\d.]|[一二两三四五六七八九十百千万亿]|分|小时|天|岁|年|米|公|斤|%|个|次|人|多|号"
    r"|楼|层|元|块|u|毛|角|条|份|张|套|w|万|k|g|m)"
)
_MONEY_AFTER = re.compile(r"(元|块|u(?![a-z])|美|刀)")  # a number followed by it is a price
_UNIT_BEFORE = re.compile(r"(?:每|一|单)" + _UNIT + r"[:：]?$")

# Something to extract: a digit, a handle, a Chinese count or price, a contact cue or a link.
# The look-ahead: the alternatives' first characters (the engine passes the other positions at
# once instead of trying every alternative there).
_WORTH_A_LOOK = re.compile(
    r"(?=[0-9@$¥〇幺一二两三四五六七八九十百千零t微薇扣企飞电lwh 每单])"
    r"(?:[0-9@$¥〇幺]|[一二两三四五六七八九十百千][万亿]|[零一二三四五六七八九]{5}|t\.me"
    r"|[一二两三四五六七八九十百千][块元毛角]|微信|薇|扣扣|企鹅|飞机|电报|tg|line|www\.|http| at "
    r"|(?:每|一|单)(?:条|次|张|份|单|人|套|号|户|个)[一二两三四五六七八九十百千])"
)


def extract_normalized(
    fields: list[Normalized],
    *,
    sample_offer: bool = False,
    freshness: list[str] | None = None,
    data_fields: list[str] | None = None,
) -> Extraction:
    """Prices, volumes and contacts from normalised fields, plus what the hits found."""
    result = Extraction(
        sample_offer=sample_offer,
        freshness=list(freshness or []),
        data_fields=list(data_fields or []),
    )
    for norm in fields:
        if not _WORTH_A_LOOK.search(norm.text):
            continue  # no digit, handle or contact word: nothing to extract
        taken: list[tuple[int, int]] = []
        result.contacts.extend(find_contacts(norm, taken))
        result.prices.extend(_prices(norm, taken))
        result.volumes.extend(_volumes(norm, taken))
    result.contacts = list({(c.kind, c.value): c for c in result.contacts}.values())
    return result


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)


def _number(text: str) -> float:
    return float(text)


def _prices(norm: Normalized, taken: list[tuple[int, int]]) -> list[Price]:
    text = norm.text
    found: list[tuple[int, Price]] = []
    for match in _PRICE_AFTER.finditer(text):
        if len(found) >= MAX_MATCHES:
            break
        if _overlaps(match.span(), taken):
            continue
        amount = _number(match.group(1)) * _MULT.get(match.group(2) or "", 1)
        per = match.group(4) or match.group(5) or match.group(6)
        per = per or _per_around(text, match.start(), match.end())
        currency = _CURRENCY[match.group(3)]
        taken.append(match.span())
        found.append((match.start(), Price(amount, currency, per, _orig(norm, match))))
    for match in _PRICE_BEFORE.finditer(text):
        if len(found) >= MAX_MATCHES:
            break
        if _overlaps(match.span(), taken):
            continue
        amount = _number(match.group(2)) * _MULT.get(match.group(3) or "", 1)
        per = match.group(4) or match.group(5) or _per_around(text, match.start(), match.end())
        taken.append(match.span())
        found.append(
            (match.start(), Price(amount, _CURRENCY[match.group(1)], per, _orig(norm, match)))
        )
    for match in _PRICE_PER_COUNT.finditer(text):
        if len(found) >= MAX_MATCHES:
            break
        if _overlaps(match.span(), taken):
            continue
        taken.append(match.span())
        found.append(
            (
                match.start(),
                Price(_number(match.group(2)), "CNY", match.group(1), _orig(norm, match)),
            )
        )
    found.extend(_loose_prices(norm, taken, MAX_MATCHES - len(found)))
    for regex in (_PRICE_LABEL, _PRICE_BARE_PER):
        for match in regex.finditer(text):
            if len(found) >= MAX_MATCHES:
                break
            if _overlaps(match.span(), taken):
                continue
            per = match.group(2) if regex is _PRICE_BARE_PER else None
            taken.append(match.span())
            found.append(
                (match.start(), Price(_number(match.group(1)), "CNY", per, _orig(norm, match)))
            )
    return [p for _, p in sorted(found, key=lambda item: item[0])]


def _loose_prices(
    norm: Normalized, taken: list[tuple[int, int]], room: int
) -> list[tuple[int, Price]]:
    """Prices in Chinese numerals or 毛, and bare amounts after a unit (see _CN_MONEY)."""
    text = norm.text
    found: list[tuple[int, Price]] = []
    dimes = "毛" in text or "角" in text
    for regex, worth_it in (
        (_CN_MONEY, bool(_CN_MONEY_HINT.search(text))),
        (_DIGIT_DIMES, dimes),
        (_PRICE_AFTER_UNIT, "每" in text or "一" in text or "单" in text),
    ):
        if not worth_it:
            continue
        for match in regex.finditer(text):
            if len(found) >= room:
                return found
            if _overlaps(match.span(), taken):
                continue
            if regex is _PRICE_AFTER_UNIT:
                amount = _amount(match.group(2))
                per: str | None = match.group(1)
            else:
                amount = _amount(match.group(1))
                if amount is not None and match.group(2) in ("毛", "角"):
                    amount /= 10
                extra = match.group(3) if regex is _CN_MONEY else None
                if amount == 1 and match.group(2) == "块" and not extra:
                    continue  # 一块: "together" as often as one yuan
                if amount is not None and extra and extra != "钱":
                    amount += _CN_DIGITS[extra] / (10 if match.group(2) in ("块", "元") else 100)
                before = _UNIT_BEFORE.search(text[max(0, match.start() - 6) : match.start()])
                per = before.group(1) if before else _per_around(text, *match.span())
            if not amount:
                continue
            taken.append(match.span())
            found.append((match.start(), Price(amount, "CNY", per, _orig(norm, match))))
    return found


def _amount(text: str) -> float | None:
    """12 -> 12.0, 两百 -> 200.0, 三万 -> 30000.0, 一块 -> None (not a number)."""
    if text[0].isdigit():
        return float(text)
    if "万" in text:
        high, _, low = text.partition("万")
        high_value = _chinese_number(high) if high else 1
        low_value = _chinese_number(low) if low else 0
        if high_value is None or low_value is None:
            return None
        return float(high_value * 10_000 + low_value)
    value = _chinese_number(text)
    return float(value) if value is not None else None


def _per_around(text: str, start: int, end: int) -> str | None:
    before = _PER_BEFORE.search(text[max(0, start - 8) : start])
    if before:
        return before.group(1)
    after = _PER_AFTER.match(text[end : end + 8])
    return after.group(1) if after else None


def _volumes(norm: Normalized, taken: list[tuple[int, int]]) -> list[Volume]:
    out: list[Volume] = []
    volume_spans: list[tuple[int, int]] = []
    _counted_volumes(norm, taken, out, volume_spans)
    _per_count_volumes(norm, out, volume_spans)
    _chinese_volumes(norm, taken, out)
    return out


def _counted_volumes(
    norm: Normalized,
    taken: list[tuple[int, int]],
    out: list[Volume],
    volume_spans: list[tuple[int, int]],
) -> None:
    """Volumes written with digits (5万条, 20w, 3GB), appended to `out`."""
    text = norm.text
    for match in _VOLUME.finditer(text):
        number, mult, unit = match.group(1), match.group(2), match.group(3)
        if not mult and not unit:
            continue  # a bare number: cheap to pass over, so not counted against the cap
        if len(out) >= MAX_MATCHES:
            break
        if _overlaps(match.span(), taken):
            continue
        if mult in ("k", "m", "千") and unit not in ("条", "rows", "records", "行", "用户", "户"):
            continue  # 20-35k is a salary, 5m a length
        if unit in _NEEDS_MULT and not mult:
            continue
        if unit in ("g", "gb", "t", "tb"):
            if mult:
                continue
            size = _number(number) * (1000 if unit.startswith("t") else 1)
            if size in _DEVICE_CAPACITIES and not re.match(
                r"(?:sql|csv|txt|压缩|数据)", text[match.end() : match.end() + 3]
            ):
                continue  # iPhone 14 128G, a 64g USB drive: storage, not a dump's size
            out.append(Volume(int(size), "G", _orig(norm, match)))
            taken.append(match.span())
            continue
        tail = text[match.end() : match.end() + 2]
        if _MONEY_AFTER.match(tail):
            continue
        count = _number(number) * _MULT.get(mult or "", 1)
        if mult in ("千万", "百万"):
            count = _number(number) * {"千万": 10_000_000, "百万": 1_000_000}[mult]
        taken.append(match.span())
        volume_spans.append(match.span())
        out.append(Volume(int(count), mult or unit, _orig(norm, match)))


def _per_count_volumes(
    norm: Normalized, out: list[Volume], volume_spans: list[tuple[int, int]]
) -> None:
    """The records a price per count offers (一万条800), appended to `out`."""
    for match in _PRICE_PER_COUNT.finditer(norm.text):
        if len(out) >= MAX_MATCHES:
            break
        # 一万条800: a price per ten thousand records, and ten thousand records on offer.
        span = match.span(1)
        if any(v_span == span for v_span in volume_spans):
            continue
        records = _count(match.group(1))
        if records:
            volume_spans.append(span)
            out.append(Volume(records, "条", norm.original_slice(*span)))


def _chinese_volumes(norm: Normalized, taken: list[tuple[int, int]], out: list[Volume]) -> None:
    """Volumes in Chinese numerals (三万条, 十亿), appended to `out`."""
    for match in _CN_VOLUME.finditer(norm.text):
        if len(out) >= MAX_MATCHES:
            break
        if _overlaps(match.span(), taken):
            continue
        value = _chinese_number(match.group(1))
        if match.group(1) in ("千", "百", "十") and not match.group(3):
            continue  # 千万别, 百万富翁: idioms, not counts
        if value is None:
            continue
        count = value * (10_000 if match.group(2) == "万" else 100_000_000)
        out.append(Volume(count, match.group(2), _orig(norm, match)))


def _count(text: str) -> int | None:
    """Records in a per-count unit: 一万条 -> 10000, 5k条 -> 5000, 条 -> 1."""
    m = re.fullmatch(r"(一|每|" + _DIGITS + r")(万|w|千|k)?条", text)
    if not m:
        return None
    number = 1.0 if m.group(1) in ("一", "每") else float(m.group(1))
    return int(number * _MULT.get(m.group(2) or "", 1))


def _chinese_number(text: str) -> int | None:
    """一万 -> 1, 二十 -> 20, 三百五十 -> 350, 百 -> 100 (up to 9999)."""
    units = {"十": 10, "百": 100, "千": 1000}
    total, digit = 0, None
    for char in text:
        if char in _CN_DIGITS:
            digit = _CN_DIGITS[char]
        elif char in units:
            total += (digit if digit is not None else 1) * units[char]
            digit = None
        else:
            return None
    return total + (digit or 0) or None


def _orig(norm: Normalized, match: re.Match[str]) -> str:
    return norm.original_slice(match.start(), match.end())
