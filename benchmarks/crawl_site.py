"""The crawl benchmark's local site and its bare Scrapy baseline.

The site: a Discuz! X board of `threads` thread pages (50 rows a board page, GBK), served by
a real ThreadingHTTPServer on 127.0.0.1 (tests/servers.py). Thread texts are the matcher
benchmark's forum traffic: 90% everyday chatter, 10% listings selling personal data.

The baseline: `python -m benchmarks.crawl_site URL --max-pages N --stats PATH` is a bare
Scrapy spider that follows the same board pages and thread links with the same concurrency
and only parses each page (title, text, author): no masking, matching, storing or evidence.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # tests/servers.py lives in the checkout, beside benchmarks/
    sys.path.insert(0, str(ROOT))

ROWS_PER_BOARD_PAGE = 50
BOARD_PATH = "/forum.php?mod=forumdisplay&fid=2"
SELLERS = ["老王", "数据哥", "小李飞刀", "匿名用户", "路人甲", "阿强", "shujuwang", "星辰"]
# The same politeness for heishi and the baseline: a site we run ourselves, no throttling.
SCRAPY_SETTINGS = {
    "DOWNLOAD_DELAY": 0,
    "AUTOTHROTTLE_ENABLED": False,
    "ROBOTSTXT_OBEY": False,
    "TELNETCONSOLE_ENABLED": False,
    "LOG_LEVEL": "INFO",
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
}


def board_pages(threads: int, rows: int = ROWS_PER_BOARD_PAGE) -> int:
    return max(1, -(-threads // rows))


def site_pages(
    threads: int, seed: int = 11, rows: int = ROWS_PER_BOARD_PAGE, prefix: str = ""
) -> dict[str, Any]:
    """{path: Page} of the whole site: board pages 1..N (`rows` threads each) and `threads`
    thread pages, under `prefix` (`/s7`: one site of several on one server)."""
    from benchmarks.matcher import build_mix
    from monitor.demo.discuz_pages import discuz_board, discuz_thread
    from monitor.demo.local_server import html_page

    def gbk(text: str) -> Any:  # GBK as declared; gb18030 bytes so emoji survive, as real sites
        return html_page(text, charset="gbk", encoding="gb18030")

    texts = build_mix("forum", threads, seed)
    last = board_pages(threads, rows)
    per_page = rows
    pages: dict[str, Any] = {}
    for page in range(1, last + 1):
        rows_here = []
        for n in range((page - 1) * per_page, min(threads, page * per_page)):
            title, text = texts[n]
            tid = 1000 + n
            thread_title = (title or text)[:40]
            seller = SELLERS[n % len(SELLERS)]
            rows_here.append(
                {
                    "tid": tid,
                    "title": thread_title,
                    "author": seller,
                    "replies": n % 37,
                    "views": 20 + n * 7 % 3000,
                    "date": "2024-5-1",
                }
            )
            path = f"{prefix}/forum.php?mod=viewthread&tid={tid}&extra=page%3D{page}"
            replies = ["顶", "已私信"] if n % 3 == 0 else []
            pages[path] = gbk(
                discuz_thread(tid, thread_title, seller, "2024-5-1 12:30", text, replies)
            )
        path = prefix + (BOARD_PATH if page == 1 else f"{BOARD_PATH}&page={page}")
        pages[path] = gbk(discuz_board(rows_here, page, last))
    return pages


def site_file(name: str, url_var: str, threads: int, concurrency: int) -> str:
    """The heishi site file for this site (`${url_var}` is the server's address)."""
    return f"""# The crawl benchmark's local Discuz! board (benchmarks/crawl_site.py).
name = "{name}"
kind = "forum"
preset = "discuz"
description = "benchmark board of {threads} threads"
start_urls = ["${{{url_var}}}{BOARD_PATH}"]
max_pages = {board_pages(threads)}
concurrency = {concurrency}
download_delay = 0
autothrottle = false
network = {{ allow_private = true }}
"""


# -- the bare Scrapy spider (run in its own process) ----------------------------------------


def bare_spider_class() -> type:
    import scrapy

    class BareForumSpider(scrapy.Spider):
        """Board pages to `max_pages`, every thread row to its page; each page parsed only."""

        name = "bare_forum"

        def __init__(self, start_url: str, max_pages: int, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.start_url = start_url
            self.max_pages = int(max_pages)

        async def start(self) -> AsyncIterator[Any]:
            yield scrapy.Request(self.start_url, callback=self.parse_board, cb_kwargs={"page": 1})

        def parse_board(self, response: Any, page: int) -> Iterator[Any]:
            for row in response.css("tbody[id^=normalthread_]"):
                href = row.css("a.xst::attr(href)").get()
                if href:
                    yield response.follow(href, callback=self.parse_thread)
            next_href = response.css("div.pg a.nxt::attr(href)").get()
            if next_href and page < self.max_pages:
                yield response.follow(
                    next_href, callback=self.parse_board, cb_kwargs={"page": page + 1}
                )

        def parse_thread(self, response: Any) -> Iterator[dict[str, Any]]:
            post = response.css("div[id^=post_]")[:1]
            yield {
                "url": response.url,
                "title": response.css("#thread_subject::text").get(),
                "text": "\n".join(t.strip() for t in post.css("td.t_f ::text").getall()),
                "seller": post.css("div.authi a.xw1::text").get(),
            }

    return BareForumSpider


def run_bare_spider(url: str, max_pages: int, concurrency: int) -> dict[str, Any]:
    """Crawl the board at `url` with the bare spider in this process; returns its stats."""
    from scrapy.crawler import CrawlerProcess

    settings = {
        **SCRAPY_SETTINGS,
        "CONCURRENT_REQUESTS": concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": concurrency,
    }
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(bare_spider_class())
    process.crawl(crawler, start_url=url, max_pages=max_pages)
    process.start()
    return crawler.stats.get_stats() if crawler.stats else {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="the bare Scrapy baseline of the crawl benchmark")
    parser.add_argument("url", help="the board's first page")
    parser.add_argument("--max-pages", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--stats", type=Path, required=True, help="write the stats as JSON here")
    args = parser.parse_args(argv)
    stats = run_bare_spider(args.url, args.max_pages, args.concurrency)
    args.stats.write_text(json.dumps(stats, default=str, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
