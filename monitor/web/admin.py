"""The sources page (health), the keywords page (the lists and a box to test a text), the
users page (admins only), and logging in and out."""

from __future__ import annotations

import dataclasses
import math
import time
import unicodedata
from typing import Any

from starlette.responses import Response

from monitor import config
from monitor.store import utc_now
from monitor.store.review import USER_ROLES
from monitor.web import auth, i18n, text
from monitor.web.auth import is_user_name
from monitor.web.endpoint import Context, endpoint, safe_next
from monitor.web.i18n import _
from monitor.web.matching import MatchUnavailable

MAX_DISPLAY_NAME = 64


def display_name_of(text: str) -> str | None:
    """A display name as typed: trimmed, printable, at most MAX_DISPLAY_NAME characters;
    None for an empty one."""
    cleaned = "".join(c for c in text if c.isprintable()).strip()[:MAX_DISPLAY_NAME]
    return unicodedata.normalize("NFC", cleaned) or None


MAX_TEST_TITLE, MAX_TEST_TEXT = 500, 20_000  # characters of a text tested on the keywords page


# --- log in and out ----------------------------------------------------------------------


@endpoint(None)
def login(ctx: Context) -> Response:
    next_url = safe_next(ctx.param("next") or ctx.field("next"))
    if ctx.request.method == "GET":
        if ctx.user:
            return ctx.redirect(next_url)
        return ctx.render("login.html", next_url=next_url, error=None, name="")
    # A name no user can have is never looked up, counted or kept, whatever its length.
    name = ctx.field("name")
    name_or_none = name if is_user_name(name) else None
    password = ctx.form.get("password") if ctx.form else ""
    password = password if isinstance(password, str) else ""
    shown = name_or_none or ""
    throttle, address = ctx.web.throttle, ctx.client_address
    with ctx.store(write=True) as store:
        wait = throttle.attempt(store, name_or_none, address, time.time())
        if wait > 0:
            seconds = math.ceil(wait)
            error = _("Too many failed log-ins: wait %(seconds)s s, then try again.") % {
                "seconds": seconds
            }
            page = ctx.render("login.html", status=429, next_url=next_url, error=error, name=shown)
            page.headers["Retry-After"] = str(seconds)
            return page
        found = store.review.user(name_or_none) if name_or_none else None
        ok = auth.verify_password(
            password[: auth.MAX_PASSWORD_LENGTH], found["password_hash"] if found else None
        )
        if not ok or found is None or found["disabled"]:
            error = _("Wrong name or password.")
            return ctx.render("login.html", status=401, next_url=next_url, error=error, name=shown)
        throttle.succeeded(store, found["name"], address)
    ctx.login(found["name"], found["session_generation"])
    return ctx.redirect(next_url)


@endpoint(None)
def logout(ctx: Context) -> Response:
    """Log out: every session of this user ends, here and in any other browser."""
    if ctx.user:
        with ctx.store(write=True) as store:
            store.web_auth.end_sessions(ctx.user["name"])
    ctx.logout()
    return ctx.redirect("/login")


# --- sources -----------------------------------------------------------------------------


@endpoint("viewer")
def sources_page(ctx: Context) -> Response:
    with ctx.store() as store:
        sources = store.review.source_health()
    for source in sources:
        source["warning"] = _source_warning(source)
    return ctx.render("sources.html", sources=sources)


def _source_warning(source: dict[str, Any]) -> str | None:
    """What an operator should look at first, in words."""
    runs = source["recent_runs"]
    if source.get("health") == "failing":
        failures = source.get("consecutive_failures") or 1
        return _("failing %(count)s run(s) in a row") % {"count": failures}
    completed = [r for r in runs if r["status"] in ("ok", "partial")]
    if len(completed) >= 2 and (completed[0]["items"] or 0) == 0 and (completed[1]["items"] or 0):
        return _("yielded nothing this time")
    if source.get("health") == "degraded":
        return _("last run was partial")
    return None


# --- keywords ----------------------------------------------------------------------------


def keyword_lists() -> tuple[list[dict[str, Any]], dict[str, list[str]]]:
    """Each keyword file's terms, and the watched brands, as the files say them (read as the
    matcher reads them: the same TOML reader, term forms and default role)."""
    from monitor.config_files import TomlFile
    from monitor.errors import KeywordFileError
    from monitor.matching.keywords import file_role, keyword_files, term_spec

    lists: list[dict[str, Any]] = []
    brands: dict[str, list[str]] = {}
    for path in keyword_files(config.keywords_dir()):
        try:
            data = TomlFile.read(path, KeywordFileError).data
        except KeywordFileError as exc:
            lists.append({"file": path.name, "error": str(exc), "terms": [], "patterns": []})
            continue
        if isinstance(data.get("brands"), dict):
            brands.update({str(k): [str(a) for a in v] for k, v in data["brands"].items()})
        terms = []
        for term, given in (data.get("terms") or {}).items():
            spec = term_spec(given)
            if not isinstance(spec, dict):
                continue  # `heishi keywords lint` names it
            terms.append(
                {
                    "term": term,
                    "weight": spec.get("weight"),
                    "role": spec.get("role", file_role(data)),
                    "aliases": [str(a) for a in spec.get("aliases") or []],
                    "unless": [str(a) for a in spec.get("unless") or []],
                }
            )
        lists.append(
            {
                "file": path.name,
                "category": data.get("category"),
                "description": data.get("description"),
                "terms": terms,
                "patterns": sorted((data.get("patterns") or {}).keys()),
                "error": None,
            }
        )
    return lists, brands


@endpoint("viewer")
def keywords_page(ctx: Context) -> Response:
    """The lists; with a POSTed text, what the matcher finds in it and why (matched in a
    worker process with a time limit: monitor/web/matching.py)."""
    lists, brands = keyword_lists()
    result, error = None, None
    sample = {
        "title": ctx.field("title")[:MAX_TEST_TITLE],
        "text": ctx.field("text")[:MAX_TEST_TEXT],
    }
    if ctx.request.method == "POST" and (sample["title"] or sample["text"]):
        try:
            found = ctx.web.matching.match(sample["title"], sample["text"])
        except MatchUnavailable as exc:
            error = _("Not tested: %(why)s.") % {"why": exc}
        else:
            hits = [dataclasses.asdict(h) for h in found.hits]
            result = {
                "match": found,
                "title": text.highlighted(
                    sample["title"], [h for h in hits if h["field"] == "title"]
                ),
                "text": text.highlighted(sample["text"], [h for h in hits if h["field"] == "text"]),
                "hits": hits,
            }
    return ctx.render(
        "keywords.html",
        status=503 if error else 200,
        lists=lists,
        brands=brands,
        sample=sample,
        result=result,
        error=error,
        limits={"title": MAX_TEST_TITLE, "text": MAX_TEST_TEXT},
    )


# --- users -------------------------------------------------------------------------------


@endpoint("admin")
def users_page(ctx: Context) -> Response:
    error = None
    if ctx.request.method == "POST":
        error = _change_users(ctx)
        if error is None:
            return ctx.redirect("/users")
    with ctx.store() as store:
        users = store.review.users()
    status = 400 if error else 200
    return ctx.render("users.html", status=status, users=users, roles=USER_ROLES, error=error)


def _change_users(ctx: Context) -> str | None:
    """Add a user, or change one's role, password, display name or access; returns a
    problem or None."""
    name, action = ctx.field("name"), ctx.field("action")
    password = ctx.form.get("password") if ctx.form else None
    password = password if isinstance(password, str) and password else None
    role = ctx.field("role") or None
    shown = display_name_of(ctx.field("display_name"))
    if role is not None and role not in USER_ROLES:
        return _("Unknown role.")
    problem = auth.password_problem(password, name, _) if password else None
    if problem:
        return problem[0].upper() + problem[1:] + _(".")
    with ctx.store(write=True) as store:
        found = store.review.user(name)
        if action == "add":
            if not is_user_name(name):
                return _("A name is 1 to 64 letters (Chinese too), digits, dots, dashes or @.")
            if found:
                return _("There is already a user %(name)s.") % {"name": name}
            if not password:
                return _("A new user needs a password.")
            store.review.add_user(
                name, role or "viewer", auth.hash_password(password), now=utc_now()
            )
            store.desk.set_user_preferences(name, display_name=shown)
            return None
        if not found:
            return _("There is no user %(name)s.") % {"name": name}
        if name == ctx.actor and (action == "disable" or (role and role != "admin")):
            return _("You cannot lock yourself out: ask another admin.")
        store.review.update_user(
            name,
            role=role,
            disabled={"disable": True, "enable": False}.get(action),
            password_hash=auth.hash_password(password) if password else None,
        )
        if action == "update":
            store.desk.set_user_preferences(name, display_name=shown)
        if name == ctx.actor and password:  # one's own new password: this session goes on
            me = store.review.user(name)
            assert me is not None  # just updated, in this request
            ctx.login(name, me["session_generation"])
    return None


# --- one's own preferences ---------------------------------------------------------------


@endpoint("viewer")
def preferences_page(ctx: Context) -> Response:
    """The user's own display name, language and time zone (the language switch in the top
    bar posts here too)."""
    error = None
    if ctx.request.method == "POST":
        error = _save_preferences(ctx)
        if error is None:
            return ctx.redirect(safe_next(ctx.field("back") or "/preferences"))
    with ctx.store() as store:
        me = store.review.user(ctx.actor) or {}
    return ctx.render(
        "preferences.html",
        status=400 if error else 200,
        me=me,
        error=error,
        zones=i18n.zone_names(),
        default_zone=i18n.time_zone_setting(),
    )


def _save_preferences(ctx: Context) -> str | None:
    fields = ctx.form.keys() if ctx.form else []
    changes: dict[str, Any] = {}
    if "display_name" in fields:
        changes["display_name"] = display_name_of(ctx.field("display_name"))
    if "language" in fields:
        language = ctx.field("language")
        if language and language not in i18n.LANGUAGES:
            return _("Unknown language.")
        changes["language"] = language or None
    if "time_zone" in fields:
        zone = ctx.field("time_zone")
        if zone and i18n.zone(zone) is None:
            return _("%(zone)s is not a time zone (e.g. Asia/Shanghai).") % {"zone": zone[:64]}
        changes["time_zone"] = zone or None
    with ctx.store(write=True) as store:
        store.desk.set_user_preferences(ctx.actor, **changes)
    return None
