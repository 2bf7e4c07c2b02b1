"""Bulk number look-up: a customer list (any column, any kind per value) checked against the
store's keyed hashes in one report of which numbers appear where; masked in the library's
report, the CLI's text and JSON, and the web page, which takes a pasted list or a file."""

from __future__ import annotations

import json

import pytest

from monitor.analysis.bulk_lookup import bulk_lookup, number_in, read_cells
from monitor.config import install_secret
from monitor.store import open_store
from tests.analyst_store import CARD, ID_NUMBER, PHONE, build_shared_store
from tests.helpers import heishi_here
from tests.web_server import Server, add_users, chromium_browser, http, log_in

NEVER_QUOTED = "13912345678"  # a valid mobile number no listing quoted
CUSTOMERS = (
    "姓名,手机,身份证,备注\n"
    f"张三,+86 138 0013 8000,{ID_NUMBER},老客户\n"
    f"李四,{NEVER_QUOTED},,\n"
    "王五,1380013800,,号码少一位\n"
    f"赵六,{PHONE},,\n"
    f"钱七,,,卡 {CARD}\n"
    f"孙八,{CARD},,\n"
)
CLEAR = (PHONE, ID_NUMBER, CARD, NEVER_QUOTED, "1380013800", "138 0013 8000")


@pytest.fixture(scope="module")
def analyst_db(tmp_path_factory):
    db_path, ids = build_shared_store(tmp_path_factory)
    add_users(db_path)
    return db_path, ids


def assert_masked(text: str) -> None:
    for clear in CLEAR:
        assert clear not in text, clear


def test_every_cell_is_read_and_each_numbers_kind_told_from_it(analyst_db):
    db_path, ids = analyst_db
    cells = read_cells(CUSTOMERS)
    with open_store(db_path, readonly=True) as store:
        report = bulk_lookup(store, cells, install_secret(), source="customers.csv")
    by_masked = {n.masked: n for n in report.numbers}
    assert report.by_kind() == {"phone": 2, "id_number": 1, "bank_card": 1}
    phone = by_masked["13*******00"]
    assert phone.kind == "phone" and phone.rows == [2, 5] and phone.occurrences == 2
    assert {s.listing_id for s in phone.result.sightings} == {ids["f1"], ids["m1"]}
    assert [s.listing_id for s in by_masked["11**************2X"].result.sightings] == [ids["f1"]]
    card = by_masked["62***************28"]
    assert card.kind == "bank_card" and card.rows == [7]
    assert [s.status for s in card.result.sightings] == ["removed"]
    assert not by_masked["13*******78"].result.found
    assert len(report.found) == 3
    # "1380013800" is one digit short; "卡 6222..." holds more than a number; names, the
    # header and notes hold none.
    assert [(u.row, u.column) for u in report.invalid] == [(4, 2)]
    assert "11 digits" in report.invalid[0].reason
    assert report.skipped == 4 + 6 + 2 + 1  # header, names, notes, the card with a word
    assert_masked(json.dumps(report.to_dict(), ensure_ascii=False))


def test_a_list_past_the_cap_is_refused_whole():
    from monitor.analysis.bulk_lookup import BulkLookupError

    with pytest.raises(BulkLookupError, match="more than 3 cells"):
        read_cells("1,2\n3,4\n", max_cells=3)
    assert len(read_cells("1,2\n3,4\n", max_cells=4)) == 4


def test_a_kind_given_accepts_only_that_kind():
    secret = b"k" * 32
    assert number_in(PHONE, secret, "phone")[0] == "phone"
    assert "reads as a mobile number" in number_in(PHONE, secret, "bank_card")
    assert number_in("没有号码", secret) == ""


@pytest.mark.slow
def test_cli_file_report_in_text_and_json_shows_numbers_only_masked(analyst_db, tmp_path):
    db_path, ids = analyst_db
    customers = tmp_path / "customers.csv"
    customers.write_bytes(CUSTOMERS.encode("gb18030"))  # as Excel in China saves it
    text = heishi_here("lookup", "--db", str(db_path), "--file", str(customers))
    assert text.returncode == 0, text.stderr
    assert "customers.csv: 19 cell(s), 4 distinct number(s)" in text.stdout
    assert "3 of 4 number(s) seen in listings" in text.stdout
    assert "13*******00" in text.stdout and "forum_a:f1" in text.stdout
    assert "market_b:m1" in text.stdout and "row 4 column 2" in text.stdout
    assert_masked(text.stdout + text.stderr)
    result = heishi_here("lookup", "--db", str(db_path), "--file", str(customers), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["numbers"] == 4 and report["found"] == 3
    phone = next(r for r in report["results"] if r["masked"] == "13*******00")
    assert phone["rows"] == [2, 5] and phone["listings"] == 2
    assert {s["listing_id"] for s in phone["sightings"]} == {ids["f1"], ids["m1"]}
    assert_masked(result.stdout)


@pytest.mark.slow
def test_cli_phone_dash_reads_every_number_on_stdin(analyst_db):
    db_path, _ = analyst_db
    numbers = f"{PHONE}\n{NEVER_QUOTED}\n\n+86 138-0013-8000\n"
    result = heishi_here("lookup", "--db", str(db_path), "--phone", "-", "--json", stdin=numbers)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["numbers"] == 2 and report["cells"] == 3
    assert [(r["masked"], r["rows"], r["found"]) for r in report["results"]] == [
        ("13*******00", [1, 4], True),
        ("13*******78", [2], False),
    ]
    card_as_phone = heishi_here("lookup", "--db", str(db_path), "--phone", "-", stdin=CARD + "\n")
    assert card_as_phone.returncode == 0
    assert "1 cell(s) are not valid numbers: row 1 column 1" in card_as_phone.stdout
    assert_masked(result.stdout + card_as_phone.stdout)


# --- the web page -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base_url(analyst_db):
    with Server(analyst_db[0]) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with chromium_browser() as opened:
        yield opened


def test_web_page_looks_up_a_pasted_list_and_an_uploaded_file_masked(
    base_url, analyst_db, chromium, tmp_path
):
    page = chromium.new_page()
    page.set_default_timeout(10_000)
    log_in(page, base_url, "vic", "/lookup")
    page.fill("textarea[name=numbers]", f"{PHONE}\n{NEVER_QUOTED}\n{ID_NUMBER}")
    page.click("#lookup-form button[type=submit]")
    page.wait_for_selector("#lookup-report")
    summary = page.inner_text("#lookup-summary")
    assert "3 distinct number(s)" in summary and "2 mobile number" in summary
    found = page.inner_text("#lookup-found")
    assert "13*******00" in found and "11**************2X" in found
    assert "forum_a:f1" in found and "market_b:m1" in found
    assert page.locator("#lookup-found a[href^='/alerts/']").count() >= 1
    assert page.input_value("textarea[name=numbers]") == ""  # not filled in again
    assert_masked(page.content())

    customers = tmp_path / "customers.csv"
    customers.write_text(CUSTOMERS, encoding="utf-8-sig")
    page.set_input_files("input[type=file]", str(customers))
    page.click("#lookup-form button[type=submit]")
    page.wait_for_selector("#lookup-report h2:has-text('customers.csv')")
    assert "3 of 4 number(s) seen in listings" in page.inner_text("#lookup-report")
    assert "row 4 column 2" in page.inner_text("#lookup-invalid")
    assert_masked(page.content())
    # Logged in, but without the form's token: refused.
    refused = page.request.post(base_url + "/lookup", form={"numbers": PHONE})
    assert refused.status == 403 and PHONE not in refused.text()
    page.close()


def test_web_look_up_needs_the_form_token_and_a_session(base_url):
    status, headers, _ = http(
        "POST",
        base_url + "/lookup",
        body=f"numbers={PHONE}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status in (303, 403)
    if status == 303:
        assert headers["location"].startswith("/login")
