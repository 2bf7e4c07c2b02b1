"""Listing text made inert for notifications, whatever the channel renders.

Titles, sellers and prices come from the sites heishi watches, which are hostile. Sent as they
are, Telegram would render their HTML, Discord, Slack, Mattermost, DingTalk and WeCom their
Markdown, links and mentions (`@everyone`, `<!channel>`, `@all`, `@13800138000`), and every
chat app would turn their addresses into links one tap away from a colleague's phone.
`neutralise` is applied to every title and body heishi sends (monitor.alerting.notify), and Apprise is
told the body is plain text, so channels that render Markdown or HTML escape it once more.

What it does, in order: drops control and invisible formatting characters (zero-width, bidi
overrides) that could hide or reorder text; defangs links as threat-intelligence reports do
(`http://` -> `hxxp://`, `://` -> `[://]`, a dot before a letter -> `[.]`), so no address
is clickable or auto-linked; replaces the characters that start mentions, tags and Markdown
(`@ < > * _ ` ~ | #` at a line start) with look-alikes that no renderer treats as syntax; caps
the length. The text stays readable by a person; nothing in it can act. Applying it twice
changes nothing more.
"""

from __future__ import annotations

import re
import unicodedata

# Look-alikes no channel treats as syntax: ＠ (fullwidth), ‹ › (angle quotation marks), ∗
# (asterisk operator), ＿ (fullwidth low line), ˋ (modifier grave), ∼ (tilde operator),
# ǀ (dental click), ＃ (fullwidth number sign).
_LOOKALIKES = str.maketrans(
    {"@": "＠", "<": "‹", ">": "›", "*": "∗", "_": "＿", "`": "ˋ", "~": "∼", "|": "ǀ"}
)
_SCHEME = re.compile(r"\b(h)tt(ps?)(?=://)", re.IGNORECASE)
_SCHEME_SEPARATOR = re.compile(r"(?<!\[)://(?!\])")
# Schemes that run or embed something without `//`.
_SCRIPT_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data):(?=\S)")
# A dot between a letter or digit and a letter: domains (example.com, t.me, www.x.cn), never
# prices (3.5). Bounded on both sides: linear, as everything here.
_DOMAIN_DOT = re.compile(r"(?<=[0-9A-Za-z\-])\.(?=[A-Za-z])")
# Dotted IPv4 addresses (10.0.0.5): their dots too.
_IPV4 = re.compile(r"(?<![0-9.])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9])")
_HEADING = re.compile(r"(?m)^(\s{0,3})#")
_BLANK_RUNS = re.compile(r"\n{3,}")
ELLIPSIS = "…"


def neutralise(text: str, limit: int | None = None) -> str:
    """`text` with nothing a chat, mail or web renderer acts on; at most `limit` characters."""
    if not text:
        return ""
    if limit is not None:
        text = text[: 4 * limit + 16]  # before the per-character work; the rest is cut anyway
    text = _visible(text)
    text = _SCHEME.sub(lambda m: m.group(1) + "xx" + m.group(2), text)
    text = _SCHEME_SEPARATOR.sub("[://]", text)
    text = _SCRIPT_SCHEME.sub(r"\1[:]", text)
    text = _IPV4.sub(lambda m: m.group(0).replace(".", "[.]"), text)
    text = _DOMAIN_DOT.sub("[.]", text)
    text = text.translate(_LOOKALIKES)
    text = _HEADING.sub(r"\1＃", text)
    text = _BLANK_RUNS.sub("\n\n", text).strip()
    if limit is not None and len(text) > limit:
        text = text[: max(0, limit - 1)].rstrip() + ELLIPSIS
    return text


def _visible(text: str) -> str:
    """Line breaks and printable characters only: tabs become spaces, \\r\\n and Unicode line
    separators become \\n, other controls and invisible format characters (Cf: zero-width
    joiners, bidi overrides, soft hyphens) are dropped."""
    out = []
    for char in text.replace("\r\n", "\n"):
        if char == "\n" or char == " ":
            out.append(char)
            continue
        category = unicodedata.category(char)
        if category in ("Zl", "Zp") or char in "\r\x0b\x0c\x85":
            out.append("\n")
        elif char == "\t":
            out.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(char)
    return "".join(out)
