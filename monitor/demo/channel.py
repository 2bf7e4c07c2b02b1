"""Demo Telegram channel in Telegram's web-preview markup (t.me/s/<channel>), UTF-8.

/s/shuju_daily                 the newest MESSAGES_PER_PAGE messages, oldest first
/s/shuju_daily?before=ID       the MESSAGES_PER_PAGE messages before message ID
"""

from __future__ import annotations

import re
import zlib

from monitor.demo.content import CHANNEL, CHANNEL_TITLE, Entry, live_entries
from monitor.demo.response import Response, error_page, esc, html_page, split_path

MESSAGES_PER_PAGE = 20
_URL = re.compile(r"(https?://[^\s<>\"，。）)]+|t\.me/[A-Za-z0-9_/]+)")


def page_ids(day: int, before: int | None = None) -> list[str]:
    """Ids of the messages one page shows, oldest first."""
    messages = sorted(live_entries("channel", day), key=lambda e: int(e.site_id))
    if before is not None:
        messages = [m for m in messages if int(m.site_id) < before]
    return [m.site_id for m in messages[-MESSAGES_PER_PAGE:]]


def respond(path: str, day: int) -> Response:
    route, query = split_path(path)
    if route != f"/s/{CHANNEL}":
        return error_page(404, "Not Found")
    before = query.get("before", "")
    return html_page(_page(day, int(before) if before.isdigit() else None))


def _page(day: int, before: int | None) -> str:
    by_id = {e.site_id: e for e in live_entries("channel", day)}
    shown = [by_id[i] for i in page_ids(day, before)]
    older = bool(shown) and any(int(i) < int(shown[0].site_id) for i in by_id)
    more = prev_link = ""
    if older:
        first = shown[0].site_id
        href = f"/s/{CHANNEL}?before={first}"
        prev_link = f'<link rel="prev" href="{href}">\n'
        more = f"""<div class="tgme_widget_message_centered js-messages_more_wrap">
<a href="{href}" data-before="{first}" class="tme_messages_more js-messages_more"></a>
</div>
"""
    messages = "\n".join(_message(m, day) for m in shown)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<title>{esc(CHANNEL_TITLE)} – Telegram</title>
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="og:title" content="{esc(CHANNEL_TITLE)}">
<link rel="canonical" href="https://t.me/s/{CHANNEL}">
{prev_link}</head>
<body class="widget_frame_base tgme_webpreview_body">
<header class="tgme_header search_collapsed"><div class="tgme_header_info">
<div class="tgme_channel_info_header_title"><span dir="auto">{esc(CHANNEL_TITLE)}</span></div>
<div class="tgme_channel_info_header_username"><a href="https://t.me/{CHANNEL}">@{CHANNEL}</a></div>
</div></header>
<main class="tgme_main">
<section class="tgme_channel_history js-message_history">
{more}{messages}
</section>
</main>
</body>
</html>
"""


def _message(message: Entry, day: int) -> str:
    text = message.version(day).text
    post = f"{CHANNEL}/{message.site_id}"
    stamp = message.posted.replace(" ", "T") + ":00+00:00"
    return f"""<div class="tgme_widget_message_wrap js-widget_message_wrap"><div class="tgme_widget_message text_not_supported_wrap js-widget_message" data-post="{post}" data-view="{_data_view(message)}">
<div class="tgme_widget_message_user"><a href="https://t.me/{CHANNEL}"><i class="tgme_widget_message_user_photo bgcolor1" data-content="数"></i></a></div>
<div class="tgme_widget_message_bubble">
<div class="tgme_widget_message_author accent_color"><a class="tgme_widget_message_owner_name" href="https://t.me/{CHANNEL}"><span dir="auto">{esc(CHANNEL_TITLE)}</span></a></div>
<div class="tgme_widget_message_text js-message_text" dir="auto">{_text_html(text)}</div>
<div class="tgme_widget_message_footer compact js-message_footer"><div class="tgme_widget_message_info short js-message_info"><span class="tgme_widget_message_views">{_views(message)}</span><span class="copyonly"> views</span><span class="tgme_widget_message_meta"><a class="tgme_widget_message_date" href="https://t.me/{post}"><time datetime="{stamp}" class="time">{message.posted[11:16]}</time></a></span></div></div>
</div>
</div></div>"""


def _text_html(text: str) -> str:
    parts = []
    for i, piece in enumerate(_URL.split(text)):
        if i % 2:
            href = piece if piece.startswith("http") else f"https://{piece}"
            parts.append(f'<a href="{esc(href)}" target="_blank" rel="noopener">{esc(piece)}</a>')
        else:
            parts.append(esc(piece, quote=False))
    return "".join(parts).replace("\n", "<br/>")


def _views(message: Entry) -> str:
    count = message.views or 300 + zlib.crc32(message.site_id.encode()) % 9000
    return f"{count / 1000:.1f}K" if count >= 1000 else str(count)


def _data_view(message: Entry) -> str:
    return f"eyJjIjotMTAwMjI{zlib.crc32(message.site_id.encode()):08x}"
