"""One message of a Telegram channel's public preview (t.me/s/<channel>), read whole: its own
text, and everything else a reader sees that is text (a poll's question and options, document
names, a link preview's title and description), with who signed or forwarded it, what it
replies to, whether it was edited, and what media it carries.

The markup is t.me's (`tgme_widget_message_*` classes); the message's own text comes from the
site's `text` selector, so a site file can still override it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

from monitor.sites.selectors import Spec, first_text, node_text

_MESSAGE_LINK = re.compile(r"^https?://(?:t\.me|telegram\.me)/(?:s/)?([A-Za-z0-9_]{3,})(?:/(\d+))?")

# Media a message may carry with no text at all, in the order they are named when skipped.
_MEDIA = (
    ("photo", "a.tgme_widget_message_photo_wrap"),
    ("video", "a.tgme_widget_message_video_player"),
    ("round_video", ".tgme_widget_message_roundvideo_player"),
    ("voice", "a.tgme_widget_message_voice_player"),
    ("sticker", ".tgme_widget_message_sticker"),
    ("location", "a.tgme_widget_message_location_wrap"),
)


@dataclass
class TelegramMessage:
    """What one message shows, as text and as fields for `extra` (docs/schema.md)."""

    service: bool = False
    text: str | None = None  # the message's own text (or a media caption)
    poll: dict[str, Any] | None = None
    documents: list[dict[str, str]] = field(default_factory=list)
    link_preview: dict[str, str] | None = None
    media: list[str] = field(default_factory=list)
    author_signature: str | None = None
    edited: bool = False
    forwarded_from: dict[str, Any] | None = None
    reply_to: dict[str, Any] | None = None

    def listing_text(self) -> str | None:
        """All the text a reader sees in the message, own text first; None when it has none."""
        parts = [self.text] if self.text else []
        if self.poll:
            parts.append("\n".join([self.poll["question"], *self.poll["options"]]))
        parts += [d["title"] for d in self.documents if d.get("title")]
        if self.link_preview:
            shown = [self.link_preview.get(k) for k in ("title", "description")]
            parts.append("\n".join(s for s in shown if s))
        text = "\n\n".join(p for p in parts if p)
        return text or None

    def skip_reason(self) -> str:
        """Why a message without text is left out: its first medium, else `empty`."""
        if self.service:
            return "service"
        return self.media[0] if self.media else "empty"

    def extra(self) -> dict[str, Any]:
        """The message's fields beyond the listing's own (only those present)."""
        found: dict[str, Any] = {
            "author_signature": self.author_signature,
            "forwarded_from": self.forwarded_from,
            "reply_to": self.reply_to,
            "poll": self.poll,
            "documents": self.documents or None,
            "link_preview": self.link_preview,
            "media": self.media or None,
        }
        extra = {key: value for key, value in found.items() if value}
        if self.edited:
            extra["edited"] = True
        return extra


def message_link(url: str | None) -> dict[str, Any]:
    """A t.me address as {"url", "channel", "message_id"} (the last two when it names them)."""
    link: dict[str, Any] = {"url": url}
    found = _MESSAGE_LINK.match(url or "")
    if found:
        link["channel"] = found.group(1)
        if found.group(2):
            link["message_id"] = int(found.group(2))
    return link


def read_message(row: Selector, text_spec: Spec | None) -> TelegramMessage:
    """Everything `row` (a `div.tgme_widget_message`) shows."""
    message = TelegramMessage()
    message.service = "service_message" in (row.attrib.get("class") or "").split()
    message.text = first_text(row, text_spec)
    if message.service:
        return message
    message.poll = _poll(row)
    message.documents = [
        {
            "title": first_text(doc, ".tgme_widget_message_document_title") or "",
            "extra": first_text(doc, ".tgme_widget_message_document_extra") or "",
        }
        for doc in row.css(".tgme_widget_message_document")
    ]
    message.link_preview = _link_preview(row)
    message.media = [name for name, css in _MEDIA if row.css(css)]
    if not message.media and row.css(".message_media_not_supported"):
        message.media = ["media"]  # too big, or a kind the preview cannot show
    message.author_signature = first_text(row, ".tgme_widget_message_from_author")
    meta = " ".join(row.css(".tgme_widget_message_meta::text").getall())
    message.edited = "edited" in meta.split()
    message.forwarded_from = _forwarded_from(row)
    reply = row.css("a.tgme_widget_message_reply")
    if reply:
        message.reply_to = message_link(reply[0].attrib.get("href"))
        quoted = first_text(reply[0], ".js-message_reply_text")
        if quoted:
            message.reply_to["text"] = quoted
    return message


def _poll(row: Selector) -> dict[str, Any] | None:
    poll = row.css(".tgme_widget_message_poll")
    if not poll:
        return None
    question = first_text(poll[0], ".tgme_widget_message_poll_question") or ""
    options = [node_text(option) for option in poll[0].css(".tgme_widget_message_poll_option_text")]
    return {
        "question": question,
        "type": first_text(poll[0], ".tgme_widget_message_poll_type") or "",
        "options": [o for o in options if o],
    }


def _link_preview(row: Selector) -> dict[str, str] | None:
    preview = row.css("a.tgme_widget_message_link_preview")
    if not preview:
        return None
    found = {
        "url": preview[0].attrib.get("href") or "",
        "site": first_text(preview[0], ".link_preview_site_name") or "",
        "title": first_text(preview[0], ".link_preview_title") or "",
        "description": first_text(preview[0], ".link_preview_description") or "",
    }
    return {key: value for key, value in found.items() if value}


def _forwarded_from(row: Selector) -> dict[str, Any] | None:
    name = row.css(".tgme_widget_message_forwarded_from_name")
    if not name:
        return None
    # A hidden account is a name without a link; a channel post links to the message.
    forwarded = message_link(name[0].attrib.get("href")) if name[0].attrib.get("href") else {}
    forwarded["name"] = node_text(name[0])
    author = first_text(row, ".tgme_widget_message_forwarded_from_author")
    if author:
        forwarded["author"] = author
    return forwarded
