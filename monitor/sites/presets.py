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
    "empty",
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
    # The seller's profile block beside the post (signature, contact fields): kept as
    # `extra.profile`, where contacts link the seller to others (monitor/actors/).
    "profile",
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
    "paste": KindSpec("paste", required=("item", "item_link"), default_preset="pastebin"),
}


@dataclass(frozen=True)
class Preset:
    kinds: tuple[str, ...]
    selectors: dict[str, tuple[str, ...]]
    id_pattern: str | None = None
    removed_text: tuple[str, ...] = ()
    blocked_text: tuple[str, ...] = ()
    # What a list page says when the source has no listings at all (an empty board or
    # channel), as opposed to a page whose rows the selectors no longer find.
    empty_text: tuple[str, ...] = ()
    # List pages that ship their HTML inside comments (Tieba's BigPipe pagelets).
    commented_html: bool = False
    raw_url: str | None = None  # paste sites: where a paste's raw text is, `{id}` for its id


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
            # Recent dates are "3 小时前" with the date in a title; older ones are plain.
            "item_posted": ("td.by em span::attr(title)", "td.by em"),
            "next_page": ("div.pg a.nxt::attr(href)",),
            "title": ("#thread_subject",),
            "post": ("div[id^=post_]",),
            "text": ("td.t_f",),
            # Author left of the post (`authoronleft`, the default), else above it; an
            # anonymous post has only text where the name would be.
            "author": ("div.authi a.xw1", "td.plc div.authi a.xi2", "td.pls div.pi"),
            # X2.5 to X3.5 write `authorposton<pid>`; `authposton` is X2's.
            "posted": (
                "em[id^=authorposton] span::attr(title)",
                "em[id^=authorposton]",
                "em[id^=authposton] span::attr(title)",
                "em[id^=authposton]",
            ),
            "blocked": ("#messagelogin",),
        },
        id_pattern=r"(?:[?&]tid=|thread-)(\d+)",
        removed_text=("指定的主题不存在或已被删除", "指定的主題不存在或已被刪除"),
        blocked_text=(
            "您需要先登录才能继续本操作",
            "您需要先登錄才能繼續本操作",
            "您尚未登录，没有权限访问该版块",
            "您尚未登錄，沒有權限訪問該版塊",
        ),
        empty_text=("本版块或指定的范围内尚无主题", "本版塊或指定的範圍內尚無主題"),
    ),
    # phpBB 3 (prosilver): viewforum.php board pages and viewtopic.php topic pages.
    "phpbb": Preset(
        kinds=("forum",),
        selectors={
            # Announcements have a board block of their own; stickies and topics follow. The
            # second form is for boards whose only rows are announcements (and never reads
            # a subforum list, `ul.topiclist.forums`).
            "item": (
                "div.forumbg:not(.announcement) ul.topiclist li.row dl",
                "ul.topiclist.topics li.row:not(.announce):not(.global-announce) dl",
            ),
            "item_link": ("a.topictitle::attr(href)",),
            "item_title": ("a.topictitle",),
            # Members are `a.username` or `a.username-coloured` (group colours), guests a
            # `span.username`; the row's last poster is a different name.
            "item_author": ("div.topic-poster .username, div.topic-poster .username-coloured",),
            "item_replies": ("dd.posts",),
            "item_views": ("dd.views",),
            "item_posted": ("div.topic-poster time::attr(datetime)", "time::attr(datetime)"),
            "next_page": (
                "a.button[rel=next]::attr(href)",
                "li.next a::attr(href)",
                "a[rel=next]::attr(href)",
            ),
            "title": ("h2.topic-title a", "h2.topic-title", "h2 a"),
            "post": ("div.post[id^=p]", "div.post"),
            "text": ("div.postbody div.content",),
            "author": (
                "dl.postprofile dt .username, dl.postprofile dt .username-coloured",
                "p.author .username, p.author .username-coloured",
                "p.author strong",
            ),
            "posted": ("p.author time::attr(datetime)", "p.author"),
        },
        id_pattern=r"[?&;]t=(\d+)",
        removed_text=("The requested topic does not exist.", "所请求的主题不存在"),
        blocked_text=(
            "The board requires you to be registered and logged in",
            "You must be registered and logged in",
            "You do not have the required permissions to view or read topics",
            "你需要注册并登录",
        ),
        empty_text=("There are no topics or posts in this forum.",),
    ),
    # Baidu Tieba style boards: /f?kw= thread lists and /p/<id> thread pages.
    "tieba": Preset(
        kinds=("forum",),
        selectors={
            # Sticky threads (thread_top) are the board's rules, not listings.
            "item": ("li.j_thread_list:not(.thread_top)", "li.j_thread_list"),
            "item_link": ("a.j_th_tit::attr(href)",),
            "item_id": ("::attr(data-tid)",),
            "item_title": ("a.j_th_tit",),
            "item_author": ("a.frs-author-name", "span.tb_icon_author a"),
            "item_replies": ("span.threadlist_rep_num",),
            "item_posted": ("span.is_show_create_time",),
            "next_page": ("a.next.pagination-item::attr(href)",),
            "title": ("h3.core_title_txt", "h1.core_title_txt", ".core_title_txt"),
            "post": ("div.l_post",),
            "text": ("div.d_post_content",),
            "author": ("a.p_author_name", "li.d_name a"),
            "posted": (
                "xpath:(.//span[contains(@class, 'tail-info')][contains(., ':')])[last()]",
                "xpath:(.//span[contains(@class, 'tail-info')])[last()]",
            ),
        },
        id_pattern=r"/p/(\d+)",
        removed_text=("该贴已被删除", "該貼已被刪除", "该帖已被删除"),
        blocked_text=("百度安全验证",),
        commented_html=True,
    ),
    # A paste site's archive (pastebin.com/archive markup): links to pastes, each read raw.
    "pastebin": Preset(
        kinds=("paste",),
        selectors={
            "item": ("xpath://table[contains(@class, 'maintable')]//tr[td/a]",),
            "item_link": ("td:first-child a::attr(href)",),
            "item_title": ("td:first-child a",),
            "item_posted": ("td:nth-child(2)",),
            "blocked": ("#challenge-form",),
        },
        id_pattern=r"/([A-Za-z0-9]{4,})/?$",
        removed_text=("This page is no longer available",),
        raw_url="/raw/{id}",
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
            # A channel with no posts at all (or none before `?before=`).
            "empty": (".tme_no_messages_found",),
        },
        id_pattern=r"(\d+)$",
    ),
}
