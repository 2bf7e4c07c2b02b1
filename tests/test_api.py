"""The JSON API under /api/ on a real server: every operation its OpenAPI description names
exists and answers as described (each answer checked against its schema); per-user tokens made
by `heishi users token`, stored only hashed, refused when missing, unknown, revoked or of a
disabled user; session cookies never authenticate it; failed tokens are throttled like log-ins;
triage writes the audit trail; notifications link to the alert's page (HEISHI_BASE_URL)."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import urllib.parse

import pytest

from monitor.cli.app import run
from monitor.web.api_routes import ROUTES
from monitor.web.throttle import LoginThrottle
from tests.desk_store import build_desk_store
from tests.web_server import PASSWORDS, Server, add_users, http


def make_token(db, name, capsys) -> str:
    assert run(["users", "token", name, "--db", str(db)]) == 0
    token = capsys.readouterr().out.strip()
    assert re.fullmatch(r"heishi_[A-Za-z0-9_-]{43}", token)
    return token


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    db = tmp_path_factory.mktemp("api") / "heishi.db"
    ids = build_desk_store(db)
    add_users(db)
    return db, ids


@pytest.fixture(scope="module")
def base_url(desk):
    with Server(desk[0]) as url:
        yield url


@pytest.fixture
def tokens(desk, capsys):
    db, _ = desk
    return {name: make_token(db, name, capsys) for name in ("ada", "rita", "vic")}


def call(base_url, method, path, token=None, body=None, headers=None):
    headers = dict(headers or {})
    if token:
        headers["Authorization"] = f"Bearer {token}"
    status, answer_headers, data = http(method, base_url + path, headers=headers, body=body)
    try:
        answer = json.loads(data) if data else None
    except ValueError:
        answer = data
    return status, {k.lower(): v for k, v in answer_headers.items()}, answer


# --- a small JSON Schema check (the subset the description uses) ------------------------


def check(value, schema, document, where="$"):
    """Raise AssertionError where `value` breaks `schema` (type, enum, required, properties,
    items, maxLength, minimum, maximum, $ref)."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return check(value, document["components"]["schemas"][name], document, where)
    types = schema.get("type")
    if types is not None:
        kinds = types if isinstance(types, list) else [types]
        python = {
            "string": str,
            "integer": int,
            "number": (int, float),
            "boolean": bool,
            "object": dict,
            "array": list,
            "null": type(None),
        }
        ok = any(
            isinstance(value, python[k]) and not (k in ("integer", "number") and value is True)
            for k in kinds
        )
        assert ok, f"{where}: {value!r} is not {kinds}"
    if "enum" in schema:
        assert value in schema["enum"], f"{where}: {value!r} not in {schema['enum']}"
    if isinstance(value, dict):
        for key in schema.get("required", []):
            assert key in value, f"{where}: {key!r} missing"
        for key, sub in schema.get("properties", {}).items():
            if key in value:
                check(value[key], sub, document, f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            check(item, schema["items"], document, f"{where}[{index}]")
    if isinstance(value, str) and "maxLength" in schema:
        assert len(value) <= schema["maxLength"], where
    if isinstance(value, int | float) and not isinstance(value, bool):
        assert value >= schema.get("minimum", value), where
        assert value <= schema.get("maximum", value), where
    return None


def answer_schema(operation, status):
    described = operation["responses"].get(str(status))
    assert described is not None, f"status {status} is not described"
    return described.get("content", {}).get("application/json", {}).get("schema")


# --- the description and the routes -----------------------------------------------------


def test_every_api_route_is_described_and_every_description_is_a_route(base_url):
    status, headers, document = call(base_url, "GET", "/api/openapi.json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    assert document["openapi"].startswith("3.1")
    described = {
        (path, method.upper()) for path, ops in document["paths"].items() for method in ops
    }
    served = {(r.path, m) for r in ROUTES for m in r.methods if m != "HEAD"}
    assert described == served
    assert all(p.startswith("/api/") for p, _ in served)


def test_every_described_operation_answers_as_described(base_url, desk, tokens):
    db, ids = desk
    _, _, document = call(base_url, "GET", "/api/openapi.json")
    with sqlite3.connect(db) as conn:
        listing_id = conn.execute("SELECT id FROM listings WHERE site_id = 'f1'").fetchone()[0]
    values = {"alert_id": ids[("f3", "new")], "listing_id": listing_id}
    bodies = {"triageAlert": {"action": "ack", "note": "seen by the API test"}}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
            query = {
                p["name"]: str(p["example"])
                for p in operation.get("parameters", [])
                if p["in"] == "query" and "example" in p
            }
            if query:
                url += "?" + urllib.parse.urlencode(query)
            body = bodies.get(operation["operationId"])
            status, _, answer = call(base_url, method.upper(), url, tokens["ada"], body)
            assert status == 200, (path, answer)
            schema = answer_schema(operation, 200)
            if schema:
                check(answer, schema, document, operation["operationId"])
            secured = operation.get("security", document.get("security")) != []
            if secured:
                status, headers, answer = call(base_url, method.upper(), url, None, body)
                assert status == 401, path
                check(answer, answer_schema(operation, 401), document)
                assert headers["www-authenticate"].startswith("Bearer")
            if "404" in operation["responses"]:
                missing = re.sub(r"\{(\w+)\}", "999999", path)
                status, _, answer = call(base_url, method.upper(), missing, tokens["ada"], body)
                assert status == 404, path
                check(answer, answer_schema(operation, 404), document)


def test_alert_list_takes_the_queues_filters_and_grouping(base_url, desk, tokens):
    db, ids = desk
    with sqlite3.connect(db) as conn:
        open_ids = [r[0] for r in conn.execute("SELECT id FROM alerts WHERE status = 'open'")]
    status, _, answer = call(base_url, "GET", "/api/alerts?status=open", tokens["vic"])
    assert status == 200 and open_ids
    assert sorted(a["id"] for a in answer["alerts"]) == sorted(open_ids)
    assert answer["total"] == len(open_ids)
    _, _, answer = call(
        base_url, "GET", "/api/alerts?source=market_b&status=dismissed", tokens["vic"]
    )
    assert {a["id"] for a in answer["alerts"]} == {ids[("m1", "new")], ids[("m2", "new")]}
    assert answer["alerts"][0]["categories"] and isinstance(answer["alerts"][0]["categories"], list)
    _, _, answer = call(
        base_url, "GET", "/api/alerts?q=" + urllib.parse.quote("裤子"), tokens["vic"]
    )
    assert [a["id"] for a in answer["alerts"]] == [ids[("m2", "new")]]
    _, _, answer = call(
        base_url, "GET", "/api/alerts?group=1&source=forum_a&since=2026-11-01", tokens["vic"]
    )
    f1 = next(g for g in answer["groups"] if ids[("f1", "new")] in g["alert_ids"])
    assert f1["alert_ids"] == [ids[("f1", "new")], ids[("f1", "changed")]]
    assert f1["kinds"] == ["new", "changed"] and answer["total"] == 3
    status, _, answer = call(base_url, "GET", "/api/alerts?status=opne", tokens["vic"])
    assert status == 400 and "acknowledged" in answer["error"]
    status, _, answer = call(base_url, "GET", "/api/alerts?colour=red", tokens["vic"])
    assert status == 400 and "unknown parameter 'colour'" in answer["error"]
    status, _, answer = call(base_url, "GET", "/api/alerts?since=soon", tokens["vic"])
    assert status == 400 and "not a date" in answer["error"]


def test_triage_writes_the_audit_trail_and_group_takes_the_listings_open_alerts(
    base_url, desk, tokens
):
    db, ids = desk
    f1_new, f1_changed = ids[("f1", "new")], ids[("f1", "changed")]
    reopen = call(
        base_url, "POST", f"/api/alerts/{f1_new}/triage", tokens["rita"], {"action": "reopen"}
    )
    assert reopen[0] == 200 and reopen[2]["alerts"] == [{"id": f1_new, "status": "open"}]
    status, _, answer = call(
        base_url,
        "POST",
        f"/api/alerts/{f1_new}/triage",
        tokens["rita"],
        {"action": "confirm", "note": "ticket SOC-7", "group": True},
    )
    assert status == 200 and answer["changed"] == 2
    assert {a["id"]: a["status"] for a in answer["alerts"]} == {
        f1_new: "confirmed",
        f1_changed: "confirmed",
    }
    with sqlite3.connect(db) as conn:
        for alert_id in (f1_new, f1_changed):
            assert conn.execute(
                "SELECT actor, new_status, note FROM alert_events WHERE alert_id = ? "
                "ORDER BY id DESC LIMIT 1",
                (alert_id,),
            ).fetchone() == ("rita", "confirmed", "ticket SOC-7")
    no_reason = call(
        base_url, "POST", f"/api/alerts/{f1_new}/triage", tokens["rita"], {"action": "dismiss"}
    )
    assert no_reason[0] == 400 and "false_positive" in no_reason[2]["error"]
    viewer = call(
        base_url, "POST", f"/api/alerts/{f1_new}/triage", tokens["vic"], {"action": "ack"}
    )
    assert viewer[0] == 403
    not_json = call(
        base_url,
        "POST",
        f"/api/alerts/{f1_new}/triage",
        tokens["rita"],
        b"action=ack",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert not_json[0] == 400


def test_history_detail_and_search_show_numbers_masked(base_url, desk, tokens):
    _, ids = desk
    status, _, detail = call(
        base_url, "GET", f"/api/alerts/{ids[('f1', 'changed')]}", tokens["vic"]
    )
    assert status == 200
    assert detail["alert"]["diff"]["price_text"] == ["800元", "600元"]
    assert detail["listing"]["contacts"] == ["wechat:laomao"]
    assert {m["term"] for m in detail["matches"]} == {"身份证", "四件套"}
    listing_id = detail["listing"]["id"]
    status, _, history = call(base_url, "GET", f"/api/listings/{listing_id}/history", tokens["vic"])
    assert status == 200 and [v["version"] for v in history["versions"]] == [1, 2]
    assert history["versions"][1]["diff"]["price_text"] == ["800元", "600元"]
    status, _, found = call(
        base_url, "GET", "/api/search?" + urllib.parse.urlencode({"q": "身份證"}), tokens["vic"]
    )
    assert status == 200  # traditional characters find the simplified text
    assert {r["site_id"] for r in found["results"]} == {"f1", "m1"}
    status, _, answer = call(base_url, "GET", "/api/stats?since=2026-11-01&tz=UTC", tokens["vic"])
    assert status == 200 and answer["total"] == 6 and answer["timezone"] == "UTC"


# --- tokens ------------------------------------------------------------------------------


def test_tokens_are_stored_only_hashed_and_refused_when_revoked_or_disabled(base_url, desk, capsys):
    db, _ = desk
    token = make_token(db, "vic", capsys)
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT token_hash, prefix FROM api_tokens").fetchall()
    assert (hashlib.sha256(token.encode()).hexdigest(), token[:12]) in stored
    data = b"".join(p.read_bytes() for p in db.parent.glob("heishi.db*"))
    assert token.encode() not in data
    assert call(base_url, "GET", "/api/alerts", token)[0] == 200
    with sqlite3.connect(db) as conn:
        used = conn.execute(
            "SELECT last_used_at FROM api_tokens WHERE prefix = ?", (token[:12],)
        ).fetchone()[0]
    assert used is not None
    assert call(base_url, "GET", "/api/alerts", token[:-1] + "x")[0] == 401
    assert call(base_url, "GET", "/api/alerts", "not-even-a-token")[0] == 401
    assert run(["users", "token", "vic", "--revoke", "--db", str(db)]) == 0
    assert "token(s) revoked" in capsys.readouterr().out
    status, _, answer = call(base_url, "GET", "/api/alerts", token)
    assert status == 401 and "revoked" in answer["error"]
    fresh = make_token(db, "rita", capsys)
    assert run(["users", "disable", "rita", "--db", str(db)]) == 0
    assert call(base_url, "GET", "/api/alerts", fresh)[0] == 401
    assert run(["users", "enable", "rita", "--db", str(db)]) == 0
    assert call(base_url, "GET", "/api/alerts", fresh)[0] == 200
    assert run(["users", "token", "nobody", "--db", str(db)]) == 2


def session_cookie(base_url, name):
    """Log in through the form as a browser would; the session cookie."""
    status, headers, page = http("GET", base_url + "/login")
    cookie = headers["set-cookie"].split(";", 1)[0]
    csrf = re.search(rb'name="csrf" value="([^"]+)"', page).group(1).decode()
    form = urllib.parse.urlencode({"name": name, "password": PASSWORDS[name], "csrf": csrf})
    status, headers, _ = http(
        "POST",
        base_url + "/login",
        body=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    assert status == 303, status
    return headers["set-cookie"].split(";", 1)[0]


def test_a_session_cookie_never_authenticates_the_api(base_url, desk):
    db, ids = desk
    cookie = session_cookie(base_url, "ada")
    assert http("GET", base_url + "/", headers={"Cookie": cookie})[0] == 200  # a real session
    f3 = ids[("f3", "new")]
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT status FROM alerts WHERE id = ?", (f3,)).fetchone()[0]
    status, _, _ = call(
        base_url,
        "POST",
        f"/api/alerts/{f3}/triage",
        body={"action": "escalate"},
        headers={"Cookie": cookie, "Origin": base_url},
    )
    assert status == 401
    assert call(base_url, "GET", "/api/alerts", headers={"Cookie": cookie})[0] == 401
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT status FROM alerts WHERE id = ?", (f3,)).fetchone()[0] == before


def test_failed_tokens_are_throttled_per_address_like_log_ins(desk, capsys):
    db, _ = desk
    good = make_token(db, "ada", capsys)
    throttle = LoginThrottle(address_failures_free=2, first_wait=30.0)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM login_failures")
    with Server(db, throttle=throttle) as url:
        assert call(url, "GET", "/api/alerts", good)[0] == 200
        bad = "heishi_" + "A" * 43
        assert [call(url, "GET", "/api/alerts", bad)[0] for _ in range(2)] == [401, 401]
        status, headers, answer = call(url, "GET", "/api/alerts", bad)
        assert status == 429 and 1 <= int(headers["retry-after"]) <= 30
        # while the wait runs, the address is held back whatever token it brings
        assert call(url, "GET", "/api/alerts", good)[0] == 429
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM login_failures")


# --- links in notifications ----------------------------------------------------------


def test_notifications_link_to_the_alert_page_when_the_base_url_is_set(tmp_path, monkeypatch):
    from monitor.alerting.notify import drain_outbox
    from tests.desk_store import item, sweep
    from tests.receivers import WebhookReceiver

    receiver = WebhookReceiver().start()
    try:
        config = tmp_path / "notify.toml"
        config.write_text(f'[[routes]]\nname = "team"\nurls = ["{receiver.url}"]\n')
        monkeypatch.setenv("HEISHI_NOTIFY_FILE", str(config))
        monkeypatch.setenv("HEISHI_BASE_URL", "https://desk.example.com/heishi/")
        db = tmp_path / "linked.db"
        sweep(
            db,
            "forum_a",
            [item("a1", "出售身份证四件套 see http://evil.example/x", [("身份证", "identity")])],
        )
        monkeypatch.delenv("HEISHI_BASE_URL")
        sweep(db, "forum_b", [item("b1", "银行卡料 新鲜", [("银行卡", "finance")])])
        assert drain_outbox(db).sent == 2
    finally:
        receiver.stop()
    linked, plain = (m["json"]["message"] for m in receiver.received)
    # the alert's own page, a working address, while the listing's text stays defanged
    assert "https://desk.example.com/heishi/alerts/1" in linked.splitlines()
    assert "hxxp" in linked and "http://evil.example" not in linked
    assert "/alerts/" not in plain
