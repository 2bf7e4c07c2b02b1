"""The review web app over the store the demo builds (three real local sites swept on days 1
and 2): the queue finds the demo's changed listings, an alert shows their real diff, and the
sources page shows that the channel is down on day 2."""

from __future__ import annotations

import pytest

from tests.web_server import Server, log_in

# The demo runs once per session (tests/conftest.py): its users share one worker.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.xdist_group("demo"),
]


@pytest.fixture(scope="module")
def demo_url(demo_run):
    """The store the session's demo run left after day 2 (tests/conftest.py), served."""
    from monitor.store import open_store, utc_now
    from monitor.web.auth import hash_password

    db = demo_run.day_two
    with open_store(db) as store:
        store.review.add_user("rita", "reviewer", hash_password("review-pass-1"), now=utc_now())
    with Server(db) as url:
        yield url


def test_demo_store_reviewed_in_the_browser(demo_url, chromium):
    page = chromium.new_context(viewport={"width": 1400, "height": 900}, locale="en-US").new_page()
    page.set_default_timeout(10_000)
    log_in(page, demo_url, "rita")
    assert page.locator("#queue tbody tr").count() >= 25

    page.select_option("select[name=kind]", "changed")
    page.select_option("select[name=source]", "demo_forum")
    page.click("#filters button[type=submit]")
    page.wait_for_url("**kind=changed**")
    titles = page.locator("#queue .title-link").all_inner_texts()
    assert any("3000元" in title for title in titles), titles  # 四件套 5000元 -> 3000元

    page.locator("#queue .title-link", has_text="3000元").first.click()
    page.wait_for_url("**/alerts/*")
    price = page.locator("table.sxs[data-field=price_text]")
    assert price.locator("del").inner_text() == "5000"
    assert price.locator("ins").inner_text() == "3000"
    assert page.locator("#listing-text mark.hit").count() >= 3
    assert page.locator("#listing-text mark.pii").count() >= 1  # the quoted ID number, masked
    dismissed = page.url.split("/alerts/")[1].split("?")[0]
    page.select_option("#dismiss-reason", "duplicate")
    page.click("button[value=dismiss]")
    # Opened from a filtered queue: the next alert of that queue opens (or the queue).
    assert page.locator("#done, .flash.ok").first.inner_text() == f"Alert #{dismissed} dismissed."
    page.goto(demo_url + f"/alerts/{dismissed}")
    assert page.locator(".alert-head .status").inner_text() == "dismissed"
    assert "Duplicate of another alert" in page.locator("#trail").inner_text()

    page.goto(demo_url + "/sources")
    channel = page.locator("tr.health-failing")
    assert channel.locator("strong").inner_text() == "demo_channel"  # down on day 2
    assert "failing 1 run(s) in a row" in channel.locator(".warning").inner_text()
    assert channel.locator(".run-failed").count() == 1
    assert page.locator("table.sources tbody tr.health-ok").count() == 2
    page.context.close()
