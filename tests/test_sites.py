"""Site files: validation names file and key or line; env expansion; presets; the demo files."""

from __future__ import annotations

import subprocess
import sys

import pytest

from monitor.errors import SiteFileError
from monitor.sites import load_site, load_sites
from monitor.sites.loader import find_site
from tests.servers import PROJECT_ROOT, write_site

FORUM = """
name = "f1"
kind = "forum"
preset = "discuz"
start_urls = ["https://bbs.example.com/forum.php?mod=forumdisplay&fid=2"]
"""


def error_of(tmp_path, text, name="site"):
    path = write_site(tmp_path, name, text)
    with pytest.raises(SiteFileError) as caught:
        load_site(path, env={})
    return caught.value, path


def test_a_minimal_forum_site_gets_the_discuz_preset(tmp_path):
    site = load_site(write_site(tmp_path, "f1", FORUM), env={})
    assert site.name == "f1" and site.kind == "forum" and site.preset == "discuz"
    assert site.selectors["item"] == ("tbody[id^=normalthread_]",)
    assert site.selectors["text"] == ("td.t_f",)
    assert site.max_pages == 5 and site.removed_after_sweeps == 1 and site.enabled
    assert site.url == "https://bbs.example.com/forum.php?mod=forumdisplay&fid=2"


def test_a_channel_needs_only_its_address(tmp_path):
    path = write_site(
        tmp_path, "c", 'name = "c"\nkind = "channel"\nstart_urls = "https://t.me/s/x"\n'
    )
    site = load_site(path, env={})
    assert site.preset == "telegram"
    assert site.start_urls == ("https://t.me/s/x",)
    assert "div.tgme_widget_message[data-post]" in site.selectors["item"]


def test_selectors_override_the_preset_one_by_one(tmp_path):
    text = FORUM + "\n[selectors]\ntext = \"xpath://td[@class='t_f']\"\nnext_page = []\n"
    site = load_site(write_site(tmp_path, "f1", text), env={})
    assert site.selectors["text"] == ("xpath://td[@class='t_f']",)
    assert "next_page" not in site.selectors  # an empty list switches a preset selector off
    assert site.selectors["item_link"] == ("a.xst::attr(href)",)


def test_env_variables_are_expanded_with_defaults(tmp_path):
    text = """
name = "m"
kind = "marketplace"
search_url = "${MARKET:-http://127.0.0.1:1}/s?q={term}"
search_terms = ["身份证", "a b"]
wait_selector = "#done"
render = true
[selectors]
item = "div.item"
item_link = "a::attr(href)"
text = "${DESC_SELECTOR}"
"""
    path = write_site(tmp_path, "m", text)
    site = load_site(path, env={"DESC_SELECTOR": "div.desc"})
    assert site.search_url == "http://127.0.0.1:1/s?q={term}"
    assert site.selectors["text"] == ("div.desc",)
    assert site.search_urls() == [
        ("身份证", "http://127.0.0.1:1/s?q=%E8%BA%AB%E4%BB%BD%E8%AF%81"),
        ("a b", "http://127.0.0.1:1/s?q=a%20b"),
    ]
    assert site.url == "http://127.0.0.1:1/"
    site = load_site(path, env={"MARKET": "http://10.0.0.1:8080", "DESC_SELECTOR": "p"})
    assert site.search_url.startswith("http://10.0.0.1:8080/s?q=")
    error, _ = error_of(tmp_path, text, "m")
    assert error.key == "selectors.text"
    assert "DESC_SELECTOR is not set" in str(error)


def test_unknown_keys_are_named_with_their_line(tmp_path):
    error, path = error_of(tmp_path, FORUM + "max_page = 3\n")
    assert error.key == "max_page" and error.line == 6
    assert str(error).startswith(f"{path}:6 [max_page]: unknown key")


def test_unknown_selector_names_are_named(tmp_path):
    error, _ = error_of(tmp_path, FORUM + '\n[selectors]\ntitel = "h1"\n')
    assert error.key == "selectors.titel" and error.line == 8


def test_wrong_types_are_named(tmp_path):
    error, _ = error_of(tmp_path, FORUM + 'max_pages = "3"\n')
    assert error.key == "max_pages" and "whole number" in str(error)
    error, _ = error_of(tmp_path, FORUM + "render = 1\n")
    assert error.key == "render" and "true or false" in str(error)
    error, _ = error_of(tmp_path, FORUM + "tags = [1, 2]\n")
    assert error.key == "tags"
    error, _ = error_of(tmp_path, FORUM.replace('"forum"', '"pastebin"'))
    assert error.key == "kind" and "unknown kind" in str(error)


def test_missing_required_keys_are_named(tmp_path):
    error, _ = error_of(tmp_path, 'kind = "forum"\nstart_urls = ["http://x.example/"]\n')
    assert error.key == "name" and "missing" in str(error)
    error, _ = error_of(tmp_path, 'name = "x"\nkind = "forum"\npreset = "discuz"\n')
    assert error.key == "start_urls"
    error, _ = error_of(tmp_path, 'name = "x"\nkind = "forum"\nstart_urls = "http://x.example/"\n')
    assert error.key == "selectors" and "item, item_link, text" in str(error)


def test_bad_selectors_are_named(tmp_path):
    error, _ = error_of(tmp_path, FORUM + '\n[selectors]\nitem = "tbody[id^="\n')
    assert error.key == "selectors.item" and error.line == 8 and "bad selector" in str(error)
    error, _ = error_of(tmp_path, FORUM + '\n[selectors]\ntext = "xpath://td[@class="\n')
    assert error.key == "selectors.text" and "bad selector" in str(error)


def test_bad_toml_names_its_line(tmp_path):
    error, path = error_of(tmp_path, FORUM + "max_pages = = 3\n")
    assert error.line == 6 and "not valid TOML" in str(error)
    assert str(error).startswith(f"{path}:6")


def test_schedules_and_other_values_are_checked(tmp_path):
    site = load_site(write_site(tmp_path, "f1", FORUM + 'schedule = { interval = "1h30m" }\n'))
    assert site.schedule.interval_seconds == 5400
    site = load_site(write_site(tmp_path, "f1", FORUM + 'schedule = { cron = "*/15 * * * *" }\n'))
    assert site.schedule.cron == "*/15 * * * *"
    error, _ = error_of(tmp_path, FORUM + 'schedule = { interval = "soon" }\n')
    assert error.key == "schedule.interval"
    error, _ = error_of(tmp_path, FORUM + 'schedule = { cron = "* *" }\n')
    assert error.key == "schedule.cron"
    error, _ = error_of(tmp_path, FORUM + 'encoding = "klingon"\n')
    assert error.key == "encoding"
    error, _ = error_of(tmp_path, FORUM + 'id_pattern = "(unclosed"\n')
    assert error.key == "id_pattern"
    error, _ = error_of(tmp_path, FORUM.replace("https://bbs", "ftp://bbs"))
    assert error.key == "start_urls"
    error, _ = error_of(tmp_path, FORUM + "removed_after_sweeps = 0\n")
    assert error.key == "removed_after_sweeps"


def test_duplicate_names_are_an_error_naming_the_second_file(tmp_path):
    write_site(tmp_path, "a", FORUM)
    write_site(tmp_path, "b", FORUM)
    with pytest.raises(SiteFileError) as caught:
        load_sites(tmp_path)
    assert caught.value.path.endswith("b.toml") and caught.value.key == "name"


def test_one_broken_file_does_not_hide_another_source(tmp_path):
    write_site(tmp_path, "f1", FORUM)
    write_site(tmp_path, "broken", "name = ")
    assert find_site("f1", tmp_path).name == "f1"
    with pytest.raises(SiteFileError):
        find_site("broken", tmp_path)
    with pytest.raises(KeyError):
        find_site("nothing", tmp_path)


def test_the_demo_site_files_load_and_are_tagged_demo():
    sites = {site.name: site for site in load_sites()}
    assert set(sites) >= {"demo_forum", "demo_market", "demo_channel"}
    assert sites["demo_forum"].kind == "forum" and sites["demo_forum"].preset == "discuz"
    assert sites["demo_market"].render and sites["demo_market"].wait_selector == "#results-done"
    assert sites["demo_channel"].kind == "channel"
    assert all("demo" in sites[n].tags for n in ("demo_forum", "demo_market", "demo_channel"))


def test_scrapy_list_prints_the_site_names():
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "list"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    names = proc.stdout.split()
    assert {"demo_forum", "demo_market", "demo_channel"} <= set(names)


def test_every_key_of_the_table_fills_a_site_field_and_every_field_has_a_key():
    import dataclasses

    from monitor.sites.keys import KEYS, STEPS, Key
    from monitor.sites.loader import Site

    fields = {f.name for f in dataclasses.fields(Site)}
    filled = {"name", "kind", "preset", "selectors", "path"}
    for step in STEPS:
        if isinstance(step, Key):
            filled.update(step.into or (step.name,))
    assert filled == fields
    assert KEYS - {"network"} <= fields


def test_a_key_the_file_leaves_out_takes_the_presets_value_and_the_file_overrides_it(tmp_path):
    site = load_site(write_site(tmp_path, "f1", FORUM), env={})
    assert site.id_pattern == r"(?:[?&]tid=|thread-)(\d+)"
    assert "指定的主题不存在或已被删除" in site.removed_text
    text = FORUM + 'id_pattern = "t(\\\\d+)"\nremoved_text = "gone"\n'
    site = load_site(write_site(tmp_path, "f1", text), env={})
    assert site.id_pattern == r"t(\d+)" and site.removed_text == ("gone",)
