r"""Contacts in listing text (normalised by monitor.matching.normalize): how a buyer reaches the seller.

QQ, WeChat, Telegram (a named channel, an @handle, a t.me link), LINE, WhatsApp and Signal, an
e-mail address (also spelled out: seller[at]proton.me, seller (at) mail (dot) com), a web
link, and a bare number only where a contact cue stands right before it (联系, 加我, 私聊,
电话, 手机, 热线, contact, call me, mobile ...): a number alone is as likely a price or a count.

A cue written in Chinese (微信, 扣扣, 飞机) may follow any character (500u微信); a cue written in
Latin letters (qq, vx, tg) must not continue a Latin word unless a colon follows it
(500uvx：abc, 500uQQ：8866123). Numbers may be written with Chinese
numerals or mixed (扣扣三九五七二零一, 9〇二四...). Every pattern runs in time linear in the
text (monitor/matching/extract.py says how); a field yields at most MAX_MATCHES contacts.
"""

from __future__ import annotations

import re

from monitor.matching.match_result import Contact
from monitor.matching.normalize import Normalized

MAX_MATCHES = 50
_CN_DIGITS = {c: str(i) for i, c in enumerate("零一二三四五六七八九")}
_CN_DIGITS.update({"〇": "0", "两": "2", "幺": "1"})
# A number of an account: digits, Chinese numerals or both mixed (at least one of each kind
# of evasion is seen: 扣扣三九五七二零一, 9〇二四...).
_ACCOUNT_DIGITS = r"[0-9零一二三四五六七八九〇幺]"
_LATIN_CUE = r"(?<![a-z])"
# ... unless a colon follows it (500uvx：abc, 500uQQ：8866123; "faqq 123456" is no QQ).
_GLUED_CUE = r"(?:vx|wx|weixin|wechat)(?=[:：])"

# Each cue starts with a look-ahead for its alternatives' first characters: the regex engine
# then passes at once the positions none starts at, instead of trying every alternative there
# (a third to a half of these patterns' time; the same matches).
_QQ_CUE = rf"(?=[q扣企])(?:{_LATIN_CUE}(?:qq|q)|qq(?=[:：])|扣扣|企鹅)(?:号|群)?[:：]?\s?"
_WECHAT_CUE = (
    rf"(?=[微薇威徽vw])(?:(?:微信|薇信|威信|徽信|{_LATIN_CUE}(?:vx|v信|wx|weixin|wechat)|{_GLUED_CUE}|薇|威)"
    r"(?:号)?[:：]?\s?"
    rf"|{_LATIN_CUE}v(?:号|[:：]\s?|\s))"
)
_QQ = re.compile(rf"{_QQ_CUE}({_ACCOUNT_DIGITS}{{5,11}})(?![0-9])")
_WECHAT = re.compile(
    rf"{_WECHAT_CUE}([a-z][-_a-z0-9]{{5,19}}|[0-9]{{5,11}}|{_ACCOUNT_DIGITS}{{5,11}})(?![a-z0-9])"
)
# An account number split into groups (QQ 88 66 12 34, 微信 138-1234-5678, 1234567===0001 in
# houbb's Bug118Test), tried before the patterns above; a group followed by a unit is a count
# or a price (QQ 88661234 20条), so the number ends before it (_contact checks 6 to 11 digits).
_SPLIT_DIGITS = (
    r"([0-9]{2,7}(?:[- ][0-9]{2,4}){1,4})"
    r"(?![0-9a-z]|[- ][0-9]|[条元块万千亿个人份套张次单号户年月日岁])"
)
_QQ_SPLIT = re.compile(_QQ_CUE + _SPLIT_DIGITS)
_WECHAT_SPLIT = re.compile(_WECHAT_CUE + _SPLIT_DIGITS)
_TELEGRAM = re.compile(
    rf"(?=[t飞纸电])(?:{_LATIN_CUE}(?:tg|telegram|telegra\.m)|(?:tg|telegram)(?=[:：])|飞机|纸飞机|电报)"
    r"(?:号)?[:：]?\s?@?"
    r"([a-z][a-z0-9_]{4,31})"
)
# Normalised text keeps one separator between Latin letters and digits ("t.me/abc"), but a
# run of them becomes a space ("https://x" -> "https x", "t.me/+abc" -> "t.me abc"): the
# patterns read that form, and links and numbers are taken as written from the original.
_TME = re.compile(
    r"(?=[ht])(?<![a-z0-9.])(?:https?[: ]{1,3})?(?:t|telegram)\.me[/ ](?:joinchat[/ ])?([a-z0-9_]{5,32})"
)
_LINE = re.compile(rf"(?=l){_LATIN_CUE}line(?:\s?id)?[:：\s]\s?@?([a-z0-9][-_.a-z0-9]{{3,19}})")
_MESSENGER = re.compile(
    rf"(?=[ws]){_LATIN_CUE}(?:whatsapp|signal|wa)[:：]?\s?(\+?[0-9][-0-9 ]{{6,16}}[0-9])(?![0-9])"
)
_AT = re.compile(r"@(?<![a-z0-9.]@)([a-z][a-z0-9_]{4,31})")
_EMAIL = re.compile(
    r"(?<![a-z0-9._%+-])([a-z0-9][a-z0-9._%+-]{0,63}@[a-z0-9][-a-z0-9]{0,62}"
    r"(?:\.[a-z0-9][-a-z0-9]{0,62}){0,4}\.[a-z]{2,12})(?![a-z0-9-])"
)
# An address spelled out to slip past filters: seller[at]proton.me, seller (at) mail (dot) com.
# Normalised, the brackets are spaces; _contact wants the brackets or a spelled dot as written,
# so that "look at example.com" is no address.
_EMAIL_SPELLED = re.compile(
    r"(?<![a-z0-9._%+-])([a-z0-9][a-z0-9._%+-]{0,63}) at ([a-z0-9][-a-z0-9]{0,62}"
    r"(?:(?:\.| dot )[a-z0-9][-a-z0-9]{0,62}){0,4}(?:\.| dot )[a-z]{2,12})(?![a-z0-9-])"
)
_SPELLED_MARK = re.compile(r"[\[(（【{<]\s?at\s?[\])）】}>]|\bdot\b", re.I)
_URL = re.compile(
    r"(?=[hw])(?<![a-z0-9@])((?:https?[: ]{1,3}|www\.)[a-z0-9][-a-z0-9.]{0,200}\.[a-z]{2,12}(?![a-z])"
    r"(?::\d{1,5})?(?:/[-a-z0-9._~%/?#=&+]{0,200})?)"
)
_URL_AS_WRITTEN = re.compile(r"(?:https?://|www\.)\S{1,400}", re.I)
# A bare number with a contact cue right before it: 联系 138****5621, 加我 88664422.
_CUED_NUMBER = re.compile(
    r"(?=[联加找私咨有电手热座致ctpm])(?:联系(?:方式|电话|人|我)?|加我|找我|私聊|私信|咨询|有意|电话|手机号?|热线|座机|致电|"
    rf"{_LATIN_CUE}(?:contact(?: me)?|call(?: me)?|text me|tel|phone|mobile))"
    r"[:：]?\s?(\+?[0-9][0-9*\- ]{5,16}[0-9])(?![0-9])"
)
_MASKED_MOBILE = re.compile(r"1[3-9][0-9][0-9*]{4}[0-9]{4}")
_TELEGRAM_NAMED = re.compile(r"tg|telegram|飞机|电报")
# Where a WeChat cue may be (each of _WECHAT_CUE's alternatives holds one of these): a text
# with a w or a v but none of them (5w条) is not searched by the two WeChat patterns.
_WECHAT_HINT = re.compile(r"[薇威]|微信|徽信|v[x信号:：\s]|w(?:x|eixin|echat)")
_DIGIT = re.compile(r"[0-9]")
_SENTENCE_BREAK = re.compile(r"[.,;!?。，；！？、]")


def find_contacts(norm: Normalized, taken: list[tuple[int, int]]) -> list[Contact]:
    """Contacts in one normalised field; their spans go to `taken`."""
    text = norm.text
    out: list[Contact] = []
    telegram_named = bool(_TELEGRAM_NAMED.search(text))
    has_digit = bool(_DIGIT.search(text))
    wechat_named = bool(_WECHAT_HINT.search(text))
    # Each pattern is tried only when the text holds what it needs (cheap substring checks).
    for kind, regex, worth_it in (
        ("telegram", _TME, ".me" in text),
        ("telegram", _TELEGRAM, telegram_named),
        ("qq", _QQ_SPLIT, has_digit and ("q" in text or "扣扣" in text or "企鹅" in text)),
        ("qq", _QQ, "q" in text or "扣扣" in text or "企鹅" in text),
        ("wechat", _WECHAT_SPLIT, has_digit and wechat_named),
        ("wechat", _WECHAT, wechat_named),
        ("line", _LINE, "line" in text),
        (
            "whatsapp",
            _MESSENGER,
            has_digit and ("wa" in text or "whatsapp" in text or "signal" in text),
        ),
        ("email", _EMAIL, "@" in text),
        ("email", _EMAIL_SPELLED, " at " in text),
        ("url", _URL, "http" in text or "www." in text),
        ("phone", _CUED_NUMBER, has_digit),
    ):
        if not worth_it:
            continue
        for match in regex.finditer(text):
            if len(out) >= MAX_MATCHES:
                break
            if _overlaps(match.span(), taken):
                continue
            contact = _contact(kind, regex, match, norm)
            if contact is None:
                continue
            taken.append(match.span())
            out.append(contact)
    for match in _AT.finditer(text) if "@" in text else ():
        if len(out) >= MAX_MATCHES:
            break
        if _overlaps(match.span(), taken):
            continue
        taken.append(match.span())
        kind = "telegram" if telegram_named else "other"
        out.append(Contact(kind, match.group(1), _orig(norm, match)))
    return out


def _contact(
    kind: str, regex: re.Pattern[str], match: re.Match[str], norm: Normalized
) -> Contact | None:
    value = match.group(1)
    written = _orig(norm, match)
    if regex is _MESSENGER or regex is _CUED_NUMBER:
        plus = "+" if "+" in written else ""
        value = plus + re.sub(r"[- ]", "", value)
        if regex is _MESSENGER:
            kind = "signal" if match.group(0).startswith("signal") else "whatsapp"
        else:
            kind = "phone" if _MASKED_MOBILE.fullmatch(value[-11:]) else "other"
    elif regex is _TELEGRAM:
        between = written[: len(written) - len(value)]
        if _SENTENCE_BREAK.search(between):
            return None  # "on Telegram. Common terms...": the word after is no handle
        if re.fullmatch(r"telegram\s+", between, re.I) and not re.search(r"[0-9_]", value):
            return None  # "sellers on Telegram channels": an English word, not a handle
    elif regex is _LINE:
        if not re.search(r"[:：@]|id", written, re.I):
            return None  # "line" is an English word: only "LINE: handle" is a contact
    elif regex is _EMAIL_SPELLED:
        if not _SPELLED_MARK.search(written):
            return None
        value = f"{match.group(1)}@{match.group(2).replace(' dot ', '.')}"
    elif regex is _URL:
        found = _URL_AS_WRITTEN.search(written)
        value = (found.group(0) if found else value).rstrip(".,;)")
    elif regex is _QQ_SPLIT or regex is _WECHAT_SPLIT:
        value = re.sub(r"[- ]", "", value)
        if not 6 <= len(value) <= 11:
            return None
    elif kind in ("qq", "wechat"):
        value = "".join(_CN_DIGITS.get(c, c) for c in value)
    return Contact(kind, value, written)


def _overlaps(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(span[0] < b and a < span[1] for a, b in taken)


def _orig(norm: Normalized, match: re.Match[str]) -> str:
    return norm.original_slice(match.start(), match.end())
