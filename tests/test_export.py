"""`heishi export`: CSV, JSON lines, STIX 2.1 (parsed by the stix2 package) and MISP (loaded
by PyMISP, attribute types and categories checked against MISP's own table), with the
filters of `heishi alerts`; only masked data goes out."""

from __future__ import annotations

import csv
import io
import json

import pytest

from monitor.export import export, write_atomically
from monitor.export.records import ALERT_FIELDS, LISTING_FIELDS
from monitor.store import open_store
from monitor.store.filters import Filters
from tests.analyst_store import CARD, ID_NUMBER, PHONE, build_shared_store
from tests.helpers import heishi_here

CLEAR_NUMBERS = (PHONE, ID_NUMBER, CARD, "0013 8000", "0013-8000")


@pytest.fixture(scope="module")
def analyst_db(tmp_path_factory):
    return build_shared_store(tmp_path_factory)


def exported(db_path, fmt, what="alerts", **filters):
    out = io.StringIO()
    with open_store(db_path, readonly=True) as store:
        count = export(store, fmt, what, Filters(**filters), out)
    return count, out.getvalue()


def assert_masked_only(text):
    for clear in CLEAR_NUMBERS:
        assert clear not in text


def test_csv_has_a_header_and_one_row_per_alert_with_lists_joined(analyst_db):
    db_path, ids = analyst_db
    count, text = exported(db_path, "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(ALERT_FIELDS)
    with open_store(db_path, readonly=True) as store:
        assert count == len(rows) - 1 == len(store.alerts.where())
    records = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    market = next(r for r in records if r["listing_id"] == str(ids["m1"]))
    assert market["categories"] == "identity; telecom" and market["contacts"] == "qq:88664422"
    assert "13*-****-**00" in market["text"]
    assert_masked_only(text)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"status": "open"},
        {"severity": "medium"},
        {"category": "identity"},
        {"kind": "changed"},
        {"source": "market_b"},
        {"since": "2026-02-01"},
        {"kind": "new", "category": "finance"},
    ],
)
def test_jsonl_selects_the_alerts_that_heishi_alerts_selects(analyst_db, filters):
    db_path, _ = analyst_db
    count, text = exported(db_path, "jsonl", **filters)
    records = [json.loads(line) for line in text.splitlines()]
    with open_store(db_path, readonly=True) as store:
        expected = sorted(a["id"] for a in store.alerts.where(Filters(**filters)))
    assert [r["alert_id"] for r in records] == expected and count == len(expected)
    assert all(
        isinstance(r["categories"], list) and isinstance(r["contacts"], list) for r in records
    )


def test_listing_export_keeps_matched_listings_and_applies_listing_filters(analyst_db):
    db_path, ids = analyst_db

    def site_ids(**filters):
        _, text = exported(db_path, "jsonl", "listings", **filters)
        return sorted(json.loads(line)["site_id"] for line in text.splitlines())

    assert site_ids() == ["c1", "f1", "f2", "m1"]  # f3 never matched
    _, text = exported(db_path, "jsonl", "listings")
    quoted = {r["site_id"]: r["pii_quoted"] for r in map(json.loads, text.splitlines())}
    # f1's current version quotes the phone only (its ID number was dropped in version 2).
    assert quoted == {"c1": 0, "f1": 1, "f2": 1, "m1": 1}
    assert site_ids(matched_only=False) == ["c1", "f1", "f2", "f3", "m1"]
    assert site_ids(status="removed") == ["f2"]
    assert site_ids(category="telecom") == ["m1"]
    assert site_ids(kind="changed") == ["f1"]
    assert site_ids(severity="medium") == ["c1"]
    _, text = exported(db_path, "csv", "listings")
    assert next(csv.reader(io.StringIO(text))) == list(LISTING_FIELDS)


def test_stix_bundle_parses_with_stix2_and_describes_listings_and_alerts(analyst_db):
    import stix2
    from stix2patterns.validator import validate

    db_path, ids = analyst_db
    count, text = exported(db_path, "stix")
    bundle = stix2.parse(text, allow_custom=False)  # spec properties only
    by_type: dict[str, list] = {}
    for obj in bundle.objects:
        by_type.setdefault(obj.type, []).append(obj)
    assert [o.name for o in by_type["identity"]][0] == "heishi"
    # Who is behind the offers: a threat-actor per actor, an identity per alias.
    aliases = sorted(
        (o.name, o.description.split(" on ")[1].split(":")[0]) for o in by_type["identity"][1:]
    )
    assert aliases == [
        ("小李", "channel_c"),
        ("老王", "forum_a"),
        ("老王", "market_b"),
        ("阿强", "forum_a"),
    ]
    actors = {o.name: o for o in by_type["threat-actor"]}
    assert set(actors) == {"老王", "阿强", "小李"} and actors["老王"].aliases == ["老王"]
    assert "2 aliases" in actors["老王"].description
    relations = {
        (r.relationship_type, r.source_ref.split("--")[0], r.target_ref.split("--")[0])
        for r in by_type["relationship"]
    }
    assert {
        ("indicates", "indicator", "threat-actor"),
        ("attributed-to", "threat-actor", "identity"),
    } <= relations
    assert len(by_type["indicator"]) == 4  # f1, f2, m1, c1 (the alerts' listings)
    assert len(by_type["note"]) == count == 6
    for indicator in by_type["indicator"]:
        assert validate(indicator.pattern, ret_errs=True) == (True, [])
    urls = {o.value for o in by_type["url"]}
    assert urls == {f"http://127.0.0.1/{s}" for s in ("f1", "f2", "m1", "c1")}
    # Observable ids are the spec's deterministic ones: stix2 computes the same.
    for url in by_type["url"]:
        assert url.id == stix2.URL(value=url.value).id
    qq = [o for o in by_type["user-account"] if o.account_type == "qq"]
    assert [o.user_id for o in qq] == ["88664422"]  # one object, though two listings carry it
    assert (
        qq[0].id
        == stix2.UserAccount(account_type="qq", user_id="88664422", account_login="88664422").id
    )
    m1 = next(i for i in by_type["indicator"] if i.external_references[0].external_id == "m1")
    assert set(m1.labels) == {"identity", "telecom"} and "88664422" in m1.pattern
    (report,) = by_type["report"]
    heishi = by_type["identity"][0].id
    others = {o.id for o in bundle.objects if o.type != "report" and o.id != heishi}
    assert set(report.object_refs) == others
    f1 = next(i for i in by_type["indicator"] if i.external_references[0].external_id == "f1")
    notes_on_f1 = [n for n in by_type["note"] if n.object_refs == [f1.id]]
    assert sorted(n.abstract.split()[1] for n in notes_on_f1) == ["changed", "new"]
    assert_masked_only(text)


def test_stix_and_misp_exports_are_stable_when_exported_again(analyst_db):
    db_path, _ = analyst_db
    for fmt in ("stix", "misp"):
        assert exported(db_path, fmt)[1] == exported(db_path, fmt)[1]
    assert exported(db_path, "stix", status="open")[1] != exported(db_path, "stix")[1]


def test_misp_event_loads_in_pymisp_with_valid_types_categories_and_tags(analyst_db):
    from pymisp import MISPEvent

    db_path, _ = analyst_db
    count, text = exported(db_path, "misp")
    event = MISPEvent()
    event.load(text)
    describe = event.describe_types
    assert event.attributes, "no attributes"
    for attribute in event.attributes:
        assert attribute.type in describe["types"]
        assert attribute.type in describe["category_type_mappings"][attribute.category]
    by_type: dict[str, set] = {}
    for attribute in event.attributes:
        by_type.setdefault(attribute.type, set()).add(attribute.value)
    assert by_type["url"] == {f"http://127.0.0.1/{s}" for s in ("f1", "f2", "m1", "c1")}
    assert by_type["threat-actor"] == {"老王", "阿强", "小李"}
    assert {"qq:88664422", "wechat:wx_laowang"} - by_type["text"] == {"wechat:wx_laowang"}
    assert len([a for a in event.attributes if a.type == "comment"]) == count == 6
    tags = {t.name for t in event.tags}
    assert {"tlp:amber", 'heishi:category="identity"', 'heishi:category="telecom"'} <= tags
    assert int(event.threat_level_id) == 1  # the alerts include high ones
    # A user-account object per alias of the actors behind the offers, tied together.
    accounts = {
        (
            o.get_attributes_by_relation("username")[0].value,
            o.get_attributes_by_relation("account-type")[0].value,
        ): o
        for o in event.objects
    }
    assert set(accounts) == {
        ("老王", "forum_a"),
        ("老王", "market_b"),
        ("阿强", "forum_a"),
        ("小李", "channel_c"),
    }
    market = accounts[("老王", "market_b")]
    same_actor = [r for r in market.references if r.comment.startswith("the same actor")]
    assert [r.referenced_uuid for r in same_actor] == [accounts[("老王", "forum_a")].uuid]
    assert "qq:88664422" in market.get_attributes_by_relation("description")[0].value
    assert len({a.uuid for a in event.attributes}) == len(event.attributes)
    assert_masked_only(text)


def test_source_health_alerts_stay_out_of_stix_and_misp_but_not_csv(tmp_path):
    import stix2

    from monitor.alerting.ingest import SweepRecorder

    db_path = tmp_path / "heishi.db"
    recorder = SweepRecorder(db_path, source="down", kind="forum", url="http://127.0.0.1/")
    recorder.open()
    recorder.close({"heishi/list_page_errors": 1, "retry/max_reached": 1}, "finished")
    assert exported(db_path, "csv")[0] == 1  # the source_failing alert
    assert exported(db_path, "stix")[0] == 0 and exported(db_path, "misp")[0] == 0
    stix2.parse(exported(db_path, "stix")[1], allow_custom=False)


def test_cli_writes_csv_with_bom_to_a_file_and_stix_to_stdout(analyst_db, tmp_path):
    db_path, _ = analyst_db
    target = tmp_path / "out" / "alerts.csv"
    done = heishi_here(
        "export", "--db", str(db_path), "--format", "csv", "--bom", "-o", str(target)
    )
    assert done.returncode == 0, done.stderr
    assert "6 alerts written" in done.stderr
    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfalert_id,kind,")
    assert list(target.parent.iterdir()) == [target]  # no temporary file left behind
    done = heishi_here("export", "--db", str(db_path), "--format", "stix", "--what", "listings")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["type"] == "bundle"


def test_atomic_write_leaves_the_old_file_when_an_export_fails(tmp_path):
    target = tmp_path / "alerts.jsonl"
    target.write_text("previous export\n")
    with pytest.raises(RuntimeError), write_atomically(target) as out:
        out.write("half an export")
        raise RuntimeError("store went away")
    assert target.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["alerts.jsonl"]


def test_one_filters_object_selects_alerts_lists_and_exports_alike(analyst_db):
    """`Filters` is what `heishi alerts`, `alert set --from-queue`, exports and the queue
    take: the same object gives the same alerts everywhere, and describes itself."""
    from monitor.store.review import QueueFilters

    db_path, _ = analyst_db
    filters = Filters(status="open", category="identity")
    assert filters.described() == "category=identity, status=open"
    assert Filters(matched_only=False).described() == "unmatched included"
    assert Filters().described() == "all"
    with open_store(db_path, readonly=True) as store:
        listed = sorted(a["id"] for a in store.alerts.where(filters))
        exported_ids = sorted(a["id"] for a in store.analyst.export_alerts(filters))
        queued, total = store.review.review_queue(QueueFilters(**vars(filters)), limit=1000)
    assert listed and listed == exported_ids == sorted(a["id"] for a in queued)
    assert total == len(listed)
