"""Actors in the store: sellers and contacts as rows of their own, linked to every version
that named them; sellers linked by a shared contact, payment address or near-duplicate
cluster (each link saying why and since when); actors as the groups those links connect;
the backfill of a store that predates them; watches raising `actor_seen` through the outbox."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from monitor.actors.backfill import rebuild
from monitor.actors.identities import (
    ContactRef,
    identities_of,
    payment_addresses,
    seller_handle,
)
from monitor.actors.linking import LINK_LIMIT
from monitor.store import open_store, utc_now
from monitor.store.filters import Filters
from tests.analyst_store import PHONE, item, sweep


def base58check(payload: bytes) -> str:
    """An address with a good checksum (test addresses, nobody's)."""
    alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = alphabet[digit] + text
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + text


TRON = base58check(b"\x41" + bytes(range(1, 21)))
BITCOIN = base58check(b"\x00" + bytes(range(20)))


def actor_groups(store) -> set[frozenset[tuple[str, str]]]:
    """Actors as sets of (source, handle): what the ids stand for, whatever they are."""
    groups: dict[int, set[tuple[str, str]]] = {}
    for actor_id, source, handle in store.conn.execute(
        "SELECT actor_id, source, handle FROM sellers"
    ):
        groups.setdefault(actor_id, set()).add((source, handle))
    return {frozenset(g) for g in groups.values()}


def links(store) -> set[tuple]:
    return set(
        store.conn.execute(
            "SELECT a.source, a.handle, b.source, b.handle, k.reason, c.kind, c.value "
            "FROM seller_links k JOIN sellers a ON a.id = k.seller_id "
            "JOIN sellers b ON b.id = k.other_id LEFT JOIN contacts c ON c.id = k.contact_id"
        ).fetchall()
    )


# --- what a version names ------------------------------------------------------------------


def test_payment_addresses_count_only_with_a_good_checksum():
    text = f"USDT(TRC20): {TRON} BTC {BITCOIN} ETH 0x52908400098527886E0F7030069857D2E4169EE7"
    found = {(r.kind, r.value) for r in payment_addresses(text)}
    assert found == {
        ("trc20", TRON),
        ("btc", BITCOIN),
        ("eth", "0x52908400098527886e0f7030069857d2e4169ee7"),
    }
    broken = TRON[:-1] + ("a" if TRON[-1] != "a" else "b")
    assert payment_addresses(f"付款 {broken}") == []
    assert payment_addresses("T" + "1" * 33) == []


def test_a_mobile_number_is_a_contact_only_after_a_contact_word_and_only_as_a_hash():
    hit = {"kind": "phone", "masked": "13*******00", "digest": "d" * 64}
    contact = identities_of({"text": "联系电话 13*******00"}, [hit]).contacts
    assert contact == (ContactRef("phone", "13*******00", "d" * 64),)
    sample = identities_of({"text": "样本 13*******00 张*"}, [hit]).contacts
    assert sample == ()


def test_profile_fields_give_contacts_and_anonymous_names_give_no_seller():
    found = identities_of(
        {
            "seller": "老王 TG@laowang_data",
            "url": "https://t.me/shuju_daily/12",
            "extra": json.dumps({"author_signature": "薇信 kefu_888"}),
        }
    )
    assert {(c.kind, c.value, c.origin) for c in found.contacts} == {
        ("telegram", "laowang_data", "profile"),
        ("wechat", "kefu_888", "profile"),
        ("telegram", "shuju_daily", "profile"),
    }
    assert found.handle == "老王 TG@laowang_data"
    for name in ("Guest", "匿名", " 游客 ", "", None):
        assert seller_handle(name) is None


# --- linking as sweeps ingest --------------------------------------------------------------


@pytest.mark.slow
def test_one_contact_on_two_sources_makes_one_actor_and_unrelated_sellers_stay_apart(db_path):
    sweep(
        db_path,
        "forum_a",
        [
            item(
                "1", "出身份证料", seller="老王", categories=["identity"], contacts=[("qq", "8866")]
            ),
            item("2", "银行卡料", seller="阿强", categories=["finance"], contacts=[("qq", "5511")]),
        ],
    )
    sweep(
        db_path,
        "channel_c",
        [
            item(
                "9", "四件套", seller="数据日报", categories=["identity"], contacts=[("qq", "8866")]
            )
        ],
    )
    with open_store(db_path) as store:
        assert actor_groups(store) == {
            frozenset({("forum_a", "老王"), ("channel_c", "数据日报")}),
            frozenset({("forum_a", "阿强")}),
        }
        (link,) = store.actor_reads.actor_links(
            store.actor_reads.listing_actor(store.listings.by_key("forum_a", "1")["id"])["actor_id"]
        )
        assert (link["reason"], link["contact_kind"], link["contact_value"]) == (
            "contact",
            "qq",
            "8866",
        )
        assert link["since"] == store.listings.by_key("channel_c", "9")["first_seen"]
        contact = store.actor_reads.find_contact("qq", "8866")
        assert (contact["listings"], contact["sellers"], contact["versions"]) == (2, 2, 2)
        by_contact = store.actor_reads.contact_listings("qq", "8866")
        assert {(r["source"], r["seller"]) for r in by_contact} == {
            ("forum_a", "老王"),
            ("channel_c", "数据日报"),
        }


def test_a_payment_address_and_a_near_duplicate_offer_link_sellers_too(db_path):
    offer = (
        "出售全国快递面单数据，姓名电话地址齐全，每日更新当天的单，量大从优，支持验货，先验后付，"
        "老客户优先，长期合作有优惠，不接小单，诚信交易"
    )
    sweep(
        db_path,
        "forum_a",
        [
            item("1", "快递面单", seller="甲", categories=["logistics"], text=f"{offer} {TRON}"),
            item("2", "快递面单", seller="乙", categories=["logistics"], text=offer),
        ],
    )
    sweep(
        db_path,
        "market_b",
        [item("7", "快递", seller="丙", categories=["logistics"], text=f"USDT {TRON}")],
    )
    with open_store(db_path) as store:
        assert actor_groups(store) == {
            frozenset({("forum_a", "甲"), ("forum_a", "乙"), ("market_b", "丙")})
        }
        reasons = {(r[1], r[3], r[4]) for r in links(store)}
        assert reasons == {("甲", "乙", "cluster"), ("甲", "丙", "payment")}


@pytest.mark.slow
def test_a_contact_too_many_sellers_share_links_no_more_of_them(db_path):
    crowd = [
        item(
            str(n),
            "身份证料",
            seller=f"卖家{n}",
            categories=["identity"],
            contacts=[("qq", "10000")],
        )
        for n in range(LINK_LIMIT + 3)
    ]
    sweep(db_path, "forum_a", crowd)
    with open_store(db_path) as store:
        sizes = sorted(len(g) for g in actor_groups(store))
        assert sizes == [1, 1, 1, LINK_LIMIT]
        assert store.actor_reads.find_contact("qq", "10000")["sellers"] == LINK_LIMIT + 3


def test_sellers_and_contacts_keep_counts_first_and_last_seen_across_sweeps(db_path):
    first = [
        item("1", "身份证料", seller="老王", categories=["identity"], contacts=[("qq", "8866")])
    ]
    sweep(db_path, "forum_a", first)
    with open_store(db_path) as store:
        store.conn.execute(
            "UPDATE sellers SET first_seen = '2026-01-01T00:00:00Z', last_seen = '2026-01-01T00:00:00Z'"
        )
        store.conn.execute(
            "UPDATE contacts SET first_seen = '2026-01-01T00:00:00Z', last_seen = '2026-01-01T00:00:00Z'"
        )
    sweep(db_path, "forum_a", first)  # seen again, unchanged: no new version
    with open_store(db_path) as store:
        seller = store.actor_reads.seller(1)
        assert (seller["listings"], seller["versions"]) == (1, 1)
        assert seller["first_seen"] == "2026-01-01T00:00:00Z" < seller["last_seen"]
        contact = store.actor_reads.find_contact("qq", "8866")
        assert contact["last_seen"] == seller["last_seen"]


# --- stores that predate actors ------------------------------------------------------------


def test_rebuilding_from_stored_versions_gives_what_the_sweeps_built(db_path):
    sweep(
        db_path,
        "forum_a",
        [
            item(
                "1", "出身份证料", seller="老王", categories=["identity"], contacts=[("qq", "8866")]
            ),
            item("2", "银行卡", seller="阿强", categories=["finance"], text=f"联系 {PHONE}"),
        ],
    )
    sweep(
        db_path,
        "market_b",
        [
            item("5", "料", seller="王哥", categories=["identity"], contacts=[("qq", "8866")]),
            item("6", "卡", seller="强子", categories=["finance"], text=f"电话 {PHONE}"),
        ],
    )
    counts = (
        "SELECT kind, value, digest, listings, versions, sellers, sources, first_seen "
        "FROM contacts",
        "SELECT source, handle, listings, versions, first_seen FROM sellers",
        "SELECT c.value, s.handle, sc.listings, sc.first_seen FROM seller_contacts sc "
        "JOIN contacts c ON c.id = sc.contact_id JOIN sellers s ON s.id = sc.seller_id",
    )
    with open_store(db_path) as store:
        groups, built_links = actor_groups(store), links(store)
        built = [set(store.conn.execute(sql)) for sql in counts]
        contacts = set(store.conn.execute("SELECT kind, value, digest, listings FROM contacts"))
        assert ("phone",) in {(c[0],) for c in contacts}
        assert not any(PHONE in str(c) for c in contacts)  # a number only hashed and masked
        assert rebuild(store) == 4
        assert (
            actor_groups(store)
            == groups
            == {
                frozenset({("forum_a", "老王"), ("market_b", "王哥")}),
                frozenset({("forum_a", "阿强"), ("market_b", "强子")}),
            }
        )
        assert links(store) == built_links
        assert [set(store.conn.execute(sql)) for sql in counts] == built


def test_a_store_from_before_actors_is_linked_when_it_is_opened(db_path, monkeypatch):
    from monitor.store import schema

    before = [m for m in schema.MIGRATIONS if m[0] != "0021_actors"]
    monkeypatch.setattr(schema, "MIGRATIONS", before)
    monkeypatch.setattr(schema, "SCHEMA_VERSION", len(before))
    open_store(db_path).close()
    conn = sqlite3.connect(db_path)
    conn.execute("INSERT INTO sources (name, kind) VALUES ('forum_a', 'forum'), ('tg', 'channel')")
    conn.execute(
        "INSERT INTO runs (id, source, started_at, status) VALUES (1, 'forum_a', '2026-01-01T00:00:00Z', 'ok')"
    )
    for listing_id, source, seller, contacts in (
        (1, "forum_a", "老王", '["telegram:laowang_data"]'),
        (2, "forum_a", "阿强", '["qq:5511"]'),
        (3, "tg", "数据日报", '["telegram:laowang_data"]'),
    ):
        conn.execute(
            "INSERT INTO listings (id, source, site_id, seller, contacts, status, first_seen, "
            "last_seen, version) VALUES (?, ?, ?, ?, ?, 'live', '2026-01-01T00:00:00Z', "
            "'2026-01-02T00:00:00Z', 1)",
            (listing_id, source, str(listing_id), seller, contacts),
        )
        conn.execute(
            "INSERT INTO listing_versions (listing_id, version, run_id, seen_at, seller, contacts) "
            "VALUES (?, 1, 1, ?, ?, ?)",
            (listing_id, f"2026-01-0{listing_id}T00:00:00Z", seller, contacts),
        )
    conn.commit()
    conn.close()
    monkeypatch.undo()
    with open_store(db_path) as store:
        assert actor_groups(store) == {
            frozenset({("forum_a", "老王"), ("tg", "数据日报")}),
            frozenset({("forum_a", "阿强")}),
        }
        (link,) = links(store)
        assert link[4:] == ("contact", "telegram", "laowang_data")
        since = store.conn.execute("SELECT since FROM seller_links").fetchone()[0]
        assert since == "2026-01-03T00:00:00Z"  # when the second seller named it


# --- watches -------------------------------------------------------------------------------


def test_a_watched_actor_alerts_once_on_a_new_listing_by_any_of_its_aliases(db_path):
    sweep(
        db_path,
        "forum_a",
        [item("1", "身份证料", seller="老王", categories=["identity"], contacts=[("qq", "8866")])],
    )
    with open_store(db_path) as store, store.transaction():
        store.actors.add_watch(
            seller_id=store.actors.seller_id("forum_a", "老王", utc_now()),
            by="ana",
            now=utc_now(),
        )
    new_alias = [
        item("3", "四件套", seller="王哥", categories=["identity"], contacts=[("qq", "8866")])
    ]
    unrelated = [
        item("4", "银行卡", seller="阿强", categories=["finance"], contacts=[("qq", "5511")])
    ]
    sweep(db_path, "market_b", new_alias + unrelated)
    sweep(db_path, "market_b", new_alias + unrelated)  # seen again: no second alert
    with open_store(db_path) as store:
        seen = store.alerts.where(Filters(kind="actor_seen"))
        assert [(a["source"], a["listing_id"]) for a in seen] == [
            ("market_b", store.listings.by_key("market_b", "3")["id"])
        ]
        assert "watched actor" in seen[0]["summary"] and "老王 on forum_a" in seen[0]["summary"]
        assert seen[0]["severity"] in ("high", "critical")


def test_a_watched_contact_alerts_when_a_listing_first_names_it(db_path):
    sweep(db_path, "forum_a", [item("1", "身份证料", seller="老王", categories=["identity"])])
    with open_store(db_path) as store, store.transaction():
        contact = store.actors.contact_id(ContactRef("telegram", "laowang_data"), None)
        store.actors.add_watch(contact_id=contact, by="ana", now=utc_now())
    changed = item(
        "1",
        "身份证料",
        seller="老王",
        categories=["identity"],
        contacts=[("telegram", "laowang_data")],
    )
    sweep(db_path, "forum_a", [changed])
    with open_store(db_path) as store:
        (seen,) = store.alerts.where(Filters(kind="actor_seen"))
        assert seen["summary"] == "watched contact telegram:laowang_data"


@pytest.mark.parametrize("kind", ["actor_seen"])
def test_routes_and_severity_rules_know_the_new_alert_kind(kind, tmp_path):
    from monitor.alerting.notify_config import load_notify_config
    from monitor.alerting.severity import load_rules

    severity = tmp_path / "severity.toml"
    severity.write_text(f'kind_floor = {{ {kind} = "critical" }}\n')
    assert load_rules(severity).kind_floor[kind] == "critical"
    notify = tmp_path / "notify.toml"
    notify.write_text(
        f'[[routes]]\nname = "w"\nurls = ["json://127.0.0.1:9/x"]\nkinds = ["{kind}"]\n'
    )
    assert load_notify_config(notify).routes[0].name == "w"
