"""Scrapy settings for heishi's crawls, and the HEISHI_* settings its components read.

Every value can be overridden per crawl: `scrapy crawl NAME -s KEY=VALUE`, or
`python -m spiders.crawl NAME --set KEY=VALUE`. Per-site politeness (`download_delay`,
`concurrency`) comes from the site file.
"""

from __future__ import annotations

from typing import Any

from monitor.settings import crawl_defaults

BOT_NAME = "heishi"
SPIDER_LOADER_CLASS = "spiders.spiderloader.SiteSpiderLoader"
SPIDER_MODULES: list[str] = []

# -- heishi -------------------------------------------------------------------------------
# Every HEISHI_* setting of a crawl, with its type, default and meaning, is in the table of
# monitor/settings.py: the crawl settings' defaults, and the environment settings a crawl's
# components read from here (HEISHI_DB and HEISHI_SITES_DIR are None where monitor's default
# applies). Distributed crawling (spiders/distributed/): HEISHI_DISTRIBUTED_REDIS_URL turns this
# crawl into a worker of a sweep shared through Redis, whose items `heishi writer` stores.
_heishi = crawl_defaults()
globals().update(_heishi)
ADDONS = {"spiders.distributed.addon.DistributedAddon": 0}

ITEM_PIPELINES = {
    "spiders.pipelines.MaskPiiPipeline": 100,
    "spiders.pipelines.MatchPipeline": 200,
    "spiders.pipelines.EvidencePipeline": 250,
    "spiders.pipelines.StorePipeline": 300,
}
EXTENSIONS = {
    # This crawl's records only: crawls that share a warm worker share its root logger.
    "scrapy.extensions.logcount.LogCount": None,
    "spiders.extensions.CrawlLogCount": 0,
    "spiders.extensions.SweepRunExtension": 100,
    "spiders.extensions.ListCoverageExtension": 110,
}
DOWNLOADER_MIDDLEWARES = {
    # The site's network policy, before anything else sees a request (spiders/network.py).
    "spiders.network.NetworkPolicyMiddleware": 50,
    # Responses pass middlewares from the highest number down: below HttpCompression (590)
    # it sees the decompressed body, above MetaRefresh (580) which reads the text.
    "spiders.encoding.FixEncodingMiddleware": 585,
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "spiders.retry.BackoffRetryMiddleware": 550,
    # A site's `proxy` (and the SOCKS5 bridge), before Scrapy's HttpProxyMiddleware (750).
    "spiders.proxy.SiteProxyMiddleware": 740,
    # Cookies kept between runs (a jar per source beside the store) and a site's cookies file.
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
    "spiders.cookies.PersistentCookiesMiddleware": 700,
}

# -- politeness ---------------------------------------------------------------------------
# robots.txt: off by default (the demo sites have none); set ROBOTSTXT_OBEY = True (or
# `--set ROBOTSTXT_OBEY=true`) to honour it.
ROBOTSTXT_OBEY = False
# One user agent for Scrapy and Chromium. A crawl that renders pages claims the Chrome version
# its Chromium really is (spiders.browser.browser_user_agent), so headers, navigator.userAgent
# and the browser's client hints agree.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
# Scrapy starts this many asyncio workers for every page's output (default 100). heishi's item
# pipelines are synchronous and CPU-bound, so parallel items gain nothing, and the workers cost
# about a tenth of a sweep's CPU.
CONCURRENT_ITEMS = 4
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 20
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.5
AUTOTHROTTLE_MAX_DELAY = 30
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Exponential backoff before each retry (spiders/retry.py): HEISHI_RETRY_BACKOFF_BASE and _MAX.
COOKIES_ENABLED = True
# Caps on the cookies a site may leave (spiders/cookies.py): HEISHI_COOKIES_PER_DOMAIN,
# HEISHI_COOKIE_MAX_BYTES, HEISHI_COOKIE_JAR_MAX_BYTES.
# -- hostile pages ------------------------------------------------------------------------
# A page larger than this is cut off and fails (decompressed size too: gzip/brotli bombs);
# a site file's `download_maxsize` overrides it. Scrapy warns above DOWNLOAD_WARNSIZE.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 2 * 1024 * 1024
# Names that resolve to loopback or private addresses are refused (spiders/network.py).
TWISTED_DNS_RESOLVER = "spiders.network.PublicAddressResolver"
DNSCACHE_ENABLED = True  # the address checked is the address connected to
# What a listing keeps of a page's title and text (HEISHI_MAX_TITLE_CHARS, _TEXT_CHARS) and the
# list rows read per page (HEISHI_MAX_ROWS_PER_PAGE).
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False  # Scrapy 2.19's HTTP control port: not wanted on a monitor
LOG_LEVEL = "INFO"

# -- Chromium through scrapy-playwright (only requests with meta playwright=True use it) -----
TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"
DOWNLOAD_HANDLERS = {
    "http": "spiders.browser.BrowserDownloadHandler",
    "https": "spiders.browser.BrowserDownloadHandler",
    # Never file:, data:, ftp: or s3: (spiders/network.py).
    "file": None,
    "data": None,
    "ftp": None,
    "s3": None,
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
# One Chromium per launch options (the site's policy) in a process, shared by its crawls.
PLAYWRIGHT_BROWSER_PROVIDER = "spiders.shared_browser.SharedBrowserProvider"
PLAYWRIGHT_LAUNCH_OPTIONS: dict[str, Any] = {
    "executable_path": _heishi["HEISHI_CHROMIUM"],
    "headless": True,
    # The sandbox, the user Chromium runs as, the addresses it may reach and its user agent
    # are added by spiders.browser.BrowserDownloadHandler.
    "args": [
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ],
}
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 20_000  # ms
# How long a rendered page may take to show the site's `wait_selector`: HEISHI_RENDER_WAIT_TIMEOUT.
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4
# Every request a rendered page makes is checked against the site's network policy first
# (spiders.browser), then this decides whether to skip it.
PLAYWRIGHT_ABORT_REQUEST = "spiders.rendering.skip_heavy_resources"
# Chromium's sandbox (HEISHI_CHROMIUM_SANDBOX): on. As root, Chromium is started as
# HEISHI_CHROMIUM_USER (through setpriv) so that the sandbox can run; empty, or without
# setpriv, it runs as root without it.

FEED_EXPORT_ENCODING = "utf-8"
# `scrapy check`: callbacks' contracts run against fixture pages served locally.
SPIDER_CONTRACTS = {"spiders.contracts.FixtureContract": 10}
# Every item field but the transient `page` (spiders.items.EXPORTED_FIELDS).
FEED_EXPORT_FIELDS = [
    "site_id",
    "url",
    "title",
    "text",
    "seller",
    "price_text",
    "posted_at",
    "replies",
    "views",
    "extra",
    "match",
    "pii",
    "evidence",
]
