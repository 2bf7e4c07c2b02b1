"""`heishi lookup`: a number is found by its keyed hash in a store that holds it only masked;
input is normalised and checked as masking does; nothing clear is printed or written."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest

from monitor.analysis.lookup import LookupInputError, lookup
from monitor.config import install_secret
from monitor.store import open_store
from tests.analyst_store import CARD, ID_NUMBER, OLD_TIME, PHONE, build_shared_store
from tests.helpers import heishi


@pytest.fixture(scope="module")
def analyst_db(tmp_path_factory):
    return build_shared_store(tmp_path_factory)


def find(db_path, kind, number):
    with open_store(db_path, readonly=True) as store:
        return lookup(store, kind, number, install_secret())


def test_store_holds_the_numbers_only_masked(analyst_db):
    db_path, _ = analyst_db
    data = db_path.read_bytes() + db_path.with_name("heishi.db-wal").read_bytes()
    for clear in (PHONE, ID_NUMBER, CARD, "0013 8000"):
        assert clear.encode() not in data


def test_phone_found_in_two_listings_on_two_sources(analyst_db):
    db_path, ids = analyst_db
    result = find(db_path, "phone", PHONE)
    assert result.found and result.masked == "13*******00"
    assert {s.listing_id for s in result.sightings} == {ids["f1"], ids["m1"]}
    assert result.sources == ["forum_a", "market_b"]
    assert result.versions == 3  # f1's two versions quote it, and m1's one
    assert result.first_seen == OLD_TIME and result.last_seen > OLD_TIME
    market = next(s for s in result.sightings if s.source == "market_b")
    assert market.masked_as_written == ["13*-****-**00"]  # as it was written there


@pytest.mark.parametrize(
    "typed", ["+86 138 0013 8000", "138-0013-8000", "１３８００１３８０００", "(+86) 13800138000"]
)
def test_phone_is_normalised_as_masking_does(analyst_db, typed):
    db_path, _ = analyst_db
    assert find(db_path, "phone", typed).listings == 2


def test_id_number_dropped_in_a_later_version_is_still_found(analyst_db):
    db_path, ids = analyst_db
    result = find(db_path, "id_number", ID_NUMBER.lower())  # a lowercase x is the same number
    assert [s.listing_id for s in result.sightings] == [ids["f1"]]
    (sighting,) = result.sightings
    assert sighting.versions == 1 and not sighting.in_current_version
    assert sighting.last_seen == OLD_TIME
    assert result.masked == "11**************2X"


def test_card_of_a_removed_listing_is_found(analyst_db):
    db_path, ids = analyst_db
    result = find(db_path, "bank_card", CARD)
    assert [(s.listing_id, s.status) for s in result.sightings] == [(ids["f2"], "removed")]


def test_valid_number_never_quoted_is_not_found(analyst_db):
    db_path, _ = analyst_db
    result = find(db_path, "phone", "13912345678")
    assert not result.found and result.listings == 0 and result.sightings == []


@pytest.mark.parametrize(
    ("kind", "typed", "message"),
    [
        ("phone", "12345", "11 digits"),
        ("phone", "1380013800a", "only digits"),
        ("id_number", "110105194912310021", "check digit"),
        ("id_number", "11010519491231", "18 characters"),
        ("bank_card", "6222021234567890123", "Luhn"),
        ("bank_card", "622202123456", "16 to 19 digits"),
        ("bank_card", PHONE, "reads as a mobile number"),
        ("phone", ID_NUMBER, "not a valid mobile number"),
    ],
)
def test_invalid_input_is_rejected_with_a_reason(analyst_db, kind, typed, message):
    db_path, _ = analyst_db
    with pytest.raises(LookupInputError, match=message):
        find(db_path, kind, typed)


def test_cli_json_answers_from_a_store_it_does_not_change(analyst_db):
    db_path, ids = analyst_db
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    result = heishi("lookup", "--db", str(db_path), "--phone", "+86 138 0013 8000", "--json")
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["found"] and answer["listings"] == 2 and answer["masked"] == "13*******00"
    assert {s["listing_id"] for s in answer["sightings"]} == {ids["f1"], ids["m1"]}
    assert PHONE not in result.stdout and "0013 8000" not in result.stdout
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before


def test_cli_table_reads_the_number_from_stdin_and_shows_it_masked(analyst_db):
    db_path, _ = analyst_db
    result = heishi("lookup", "--db", str(db_path), "--id", "-", stdin=ID_NUMBER + "\n")
    assert result.returncode == 0, result.stderr
    assert "11**************2X" in result.stdout and "forum_a:f1" in result.stdout
    assert ID_NUMBER not in result.stdout


def test_cli_rejects_an_invalid_number_with_a_clear_message(analyst_db):
    db_path, _ = analyst_db
    result = heishi("lookup", "--db", str(db_path), "--card", "6222021234567890123")
    assert result.returncode == 2
    assert "not a valid bank card number" in result.stderr and "Luhn" in result.stderr


def test_cli_refuses_to_look_up_without_the_install_secret(analyst_db, tmp_path, monkeypatch):
    db_path, _ = analyst_db
    missing = tmp_path / "nowhere" / "secret.key"
    monkeypatch.setenv("HEISHI_SECRET_FILE", str(missing))
    result = heishi("lookup", "--db", str(db_path), "--phone", PHONE)
    assert result.returncode == 2 and "no install secret" in result.stderr
    assert not missing.exists()


def test_the_store_names_the_key_that_hashed_its_numbers(analyst_db):
    from monitor.privacy.pii import key_fingerprint

    db_path, _ = analyst_db
    with open_store(db_path, readonly=True) as store:
        assert store.pii_keys.fingerprints() == [key_fingerprint(install_secret())]
    assert find(db_path, "phone", PHONE).key_checked is True


def test_a_lookup_with_another_key_is_refused_not_answered_empty(analyst_db, tmp_path):
    from monitor.analysis.lookup import LookupKeyError

    db_path, _ = analyst_db
    with open_store(db_path, readonly=True) as store, pytest.raises(LookupKeyError) as error:
        lookup(store, "phone", PHONE, b"\x01" * 32, key_source="the key in /tmp/other.key")
    assert "/tmp/other.key" in str(error.value) and "not the key" in str(error.value)
    other = tmp_path / "other.key"
    other.write_text("02" * 32 + "\n")
    env_result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from monitor.cli import main; sys.exit(main())",
            "lookup",
            "--db",
            str(db_path),
            "--phone",
            PHONE,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HEISHI_SECRET_FILE": str(other)},
        timeout=120,
    )
    assert env_result.returncode == 2
    assert str(other) in env_result.stderr and "HEISHI_SECRET_FILE" in env_result.stderr
    assert PHONE not in env_result.stderr + env_result.stdout


def test_numbers_hashed_before_keys_were_recorded_are_looked_up_with_a_note(tmp_path):
    import shutil
    import sqlite3

    from tests.analyst_store import build_store

    db_path = tmp_path / "old.db"
    build_store(db_path)
    conn = sqlite3.connect(db_path, isolation_level=None)  # undo 0012, as in an older store
    conn.execute("DROP TABLE pii_keys")
    conn.execute("DELETE FROM schema_migrations WHERE name = '0012_pii_keys'")
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.execute(f"PRAGMA user_version = {version - 1}")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the copy below is then the whole store
    conn.close()
    copy = tmp_path / "copy.db"
    shutil.copy(db_path, copy)
    assert find(copy, "phone", PHONE).key_checked is False  # read-only: no table, no check
    open_store(db_path).close()  # migrated: the old hashes' key is unknown
    with open_store(db_path, readonly=True) as store:
        assert store.pii_keys.fingerprints() == [None]
        other = lookup(store, "phone", PHONE, b"\x01" * 32)  # cannot check, so not refused
    assert other.found is False and other.other_keys == 1 and other.key_checked is False
    assert find(db_path, "phone", PHONE).found is True
