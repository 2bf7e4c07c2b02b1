"""What each spider kind needs from a site file, and the built-in presets (forum engines,
Telegram previews) whose selectors a site file can override one by one."""

from __future__ import annotations

from dataclasses import dataclass

# Selector names a site file may set. List-page selectors apply to a board, search-result or
# channel page; `item_*` ones are read inside each list item. Detail-page selectors apply to a
# thread or listing page, inside `post` when that is set (a forum thread's first post).
LIST_SELECTORS = (
    "item",
    "item_link",
    "item_id",
    "item_title",
    "item_author",
    "item_price",
    "item_replies",
    "item_views",
    "item_posted",
    "next_page",
)
DETAIL_SELECTORS = (
    "post",
    "title",
    "text",
    "author",
    "price",
    "posted",
    "replies",
    "views",
    "removed",
    "blocked",
)
SELECTOR_NAMES = LIST_SELECTORS + DETAIL_SELECTORS


@dataclass(frozen=True)
class KindSpec:
    """What a kind of site needs: required selectors and the preset used when none is named."""

    name: str
    required: tuple[str, ...]
    default_preset: str | None = None
    # Kinds that read listings straight from the list page (a channel) have no detail pages.
    detail_pages: bool = True
    needs_start_urls: bool = True


KINDS: dict[str, KindSpec] = {
    "forum": KindSpec("forum", required=("item", "item_link", "text")),
    "marketplace": KindSpec("marketplace", required=("item",), needs_start_urls=False),
    "channel": KindSpec(
        "channel", required=("item", "text"), default_preset="telegram", detail_pages=False
    ),
}


@dataclass(frozen=True)
class Preset:
    kinds: tuple[str, ...]
    selectors: dict[str, tuple[str, ...]]
    id_pattern: str | None = None
    removed_text: tuple[str, ...] = ()
    blocked_text: tuple[str, ...] = ()


PRESETS: dict[str, Preset] = {
    # Discuz! X board (forum.php?mod=forumdisplay) and thread (mod=viewthread) pages.
    "discuz": Preset(
        kinds=("forum",),
        selectors={
            "item": ("tbody[id^=normalthread_]",),
            "item_link": ("a.xst::attr(href)",),
            "item_title": ("a.xst",),
            "item_author": ("td.by cite a",),
            "item_replies": ("td.num a",),
            "item_views": ("td.num em",),
            "item_posted": ("td.by em span::attr(title)", "td.by em"),
            "next_page": ("div.pg a.nxt::attr(href)",),
            "title": ("#thread_subject",),
            "post": ("div[id^=post_]",),
            "text": ("td.t_f",),
            "author": ("div.authi a.xw1",),
            "posted": ("em[id^=authposton] span::attr(title)", "em[id^=authposton]"),
            "blocked": ("#messagelogin",),
        },
        id_pattern=r"(?:[?&]tid=|thread-)(\d+)",
        removed_text=("指定的主题不存在或已被删除", "指定的主題不存在或已被刪除"),
        blocked_text=("您需要先登录才能继续本操作", "您需要先登錄才能繼續本操作"),
    ),
    # Telegram's public channel preview, t.me/s/<channel>.
    "telegram": Preset(
        kinds=("channel",),
        selectors={
            "item": ("div.tgme_widget_message[data-post]",),
            "item_id": ("::attr(data-post)",),
            "item_link": ("a.tgme_widget_message_date::attr(href)",),
            "item_author": (".tgme_widget_message_owner_name",),
            # The message's own text, not the quoted text of a message it replies to.
            "text": (
                ".tgme_widget_message_text.js-message_text",
                ".tgme_widget_message_text:not(.js-message_reply_text)",
            ),
            "posted": ("time[datetime]::attr(datetime)",),
            "views": (".tgme_widget_message_views",),
            "next_page": (
                "a.tme_messages_more[data-before]::attr(data-before)",
                "link[rel=prev]::attr(href)",
            ),
        },
        id_pattern=r"(\d+)$",
    ),
}
