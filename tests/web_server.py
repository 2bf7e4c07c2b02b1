"""Test helpers for the review web app: a real uvicorn server on 127.0.0.1 in a thread, users
with known passwords, a real headless Chromium, logging in through the form, and plain HTTP
requests with urllib (no client library stands in for the server)."""

from __future__ import annotations

import json
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PASSWORDS = {"ada": "admin-pass-1", "rita": "review-pass-1", "vic": "viewer-pass-1"}
ROLES = {"ada": "admin", "rita": "reviewer", "vic": "viewer"}
# A one-pixel PNG, for screenshots kept as evidence.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201a0e2a5"
    "9b0000000049454e44ae426082"
)


def add_users(db: Path) -> None:
    from monitor.store import open_store, utc_now
    from monitor.web.auth import hash_password

    with open_store(db) as store:
        for name, role in ROLES.items():
            store.review.add_user(name, role, hash_password(PASSWORDS[name]), now=utc_now())


class Server:
    """uvicorn on 127.0.0.1, a free port, in a thread; `with Server(db) as url`."""

    def __init__(self, db: Path, **app_options: Any) -> None:
        import uvicorn

        from monitor.web.app import create_app

        config = uvicorn.Config(
            create_app(db, **app_options), host="127.0.0.1", port=0, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.02)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def chromium_browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from spiders.settings import PLAYWRIGHT_LAUNCH_OPTIONS

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=os.environ.get("HEISHI_CHROMIUM") or "/usr/bin/chromium",
            args=PLAYWRIGHT_LAUNCH_OPTIONS["args"],
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, base_url: str, name: str, target: str = "/") -> None:
    """Log in through the form, then open `target`."""
    page.goto(base_url + target)
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", PASSWORDS[name])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http(
    method: str,
    url: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | dict | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request; (status, headers, body) whatever the status. A dict body is sent as JSON."""
    data = None
    headers = dict(headers or {})
    if isinstance(body, dict):
        data = json.dumps(body).encode()
        headers.setdefault("Content-Type", "application/json")
    elif body is not None:
        data = body
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


# --- listings written the way a crawl writes them -----------------------------------------


def item(site_id, title, text, *, terms, price=None, volume=None, seller="老王", contacts=(), **kw):
    """A crawled listing with its match: each term found where it stands in the text."""
    from monitor.matching.match_result import (
        Contact,
        Extraction,
        MatchResult,
        Price,
        TermHit,
        Volume,
    )

    hits = []
    for term, category in terms:
        for field, value in (("title", title), ("text", text)):
            start = value.find(term)
            if start >= 0:
                hits.append(TermHit(term, category, 2.0, field, start, start + len(term), term))
    extraction = Extraction(
        prices=[Price(float(price.rstrip("元")), "CNY", None, price)] if price else [],
        volumes=[Volume(volume, "万", f"{volume // 10000}万")] if volume else [],
        contacts=[Contact(k, v, v) for k, v in contacts],
    )
    match = MatchResult(
        score=6.0,
        alert=True,
        categories=sorted({c for _, c in terms if c}),
        hits=hits,
        reasons=["data noun + sale signal"],
        extraction=extraction,
    )
    return {
        "site_id": site_id,
        "url": f"http://127.0.0.1:9/t/{site_id}",
        "title": title,
        "text": text,
        "seller": seller,
        "price_text": None,
        "posted_at": None,
        "match": match,
        "pii": [],
        **kw,
    }


def record_sweep(db, source, items):
    """One complete sweep of `source` that found `items`, recorded in the store at `db`."""
    from monitor.alerting.ingest import SweepRecorder

    recorder = SweepRecorder(db, source=source, kind="forum", url="http://127.0.0.1:9/")
    recorder.open()
    for one in items:
        recorder.record(one)
    return recorder.close({"finish_reason": "finished", "response_received_count": 3}, "finished")
