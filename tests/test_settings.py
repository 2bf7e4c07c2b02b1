"""Every HEISHI_* setting is in monitor/settings.py's table, the README shows that table, and
nothing else reads the environment."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from monitor import settings
from monitor.errors import ConfigError
from monitor.settings import CRAWL, ENVIRONMENT, SETTINGS, Setting, from_environment

ROOT = Path(__file__).resolve().parent.parent
TABLE_HEADS = {ENVIRONMENT: "environment variable", CRAWL: "crawl setting"}
# Names that look like settings and are not: variables of the Chromium wrapper script, the
# addresses of demo and benchmark sites a site file's ${VAR} names, a STIX namespace constant.
NOT_SETTINGS = {
    "HEISHI_CHROMIUM_BINARY",
    "HEISHI_CHROMIUM_UID",
    "HEISHI_CHROMIUM_GID",
    "HEISHI_DEMO_FORUM_URL",
    "HEISHI_DEMO_MARKET_URL",
    "HEISHI_DEMO_CHANNEL_URL",
    "HEISHI_BENCH_FORUM_URL",
    "HEISHI_NAMESPACE",
}
# The one module that reads (and, to point Scrapy at the project, writes) the environment.
ENVIRONMENT_READERS = {"monitor/settings.py"}


def readme_row(row: Setting) -> str:
    return f"| `{row.name}` | {row.type} | {row.default} | {row.help} |"


def readme_rows(head: str) -> list[str]:
    """The rows of the README table whose first column is `head`."""
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    start = lines.index(f"| {head} | type | default | meaning |")
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


@pytest.mark.parametrize("kind", [ENVIRONMENT, CRAWL])
def test_the_readme_tables_are_the_settings_table_both_ways(kind):
    wanted = [readme_row(row) for row in SETTINGS if row.kind == kind]
    shown = readme_rows(TABLE_HEADS[kind])
    missing = [r for r in wanted if r not in shown]
    unknown = [r for r in shown if r not in wanted]
    assert not missing, f"in monitor/settings.py, not in the README: {missing}"
    assert not unknown, f"in the README, not in monitor/settings.py: {unknown}"
    assert shown == wanted  # and in the same order


def test_every_heishi_name_in_the_code_is_a_setting_in_the_table():
    names = set()
    for folder in ("monitor", "spiders"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"\bHEISHI_[A-Z][A-Z_]*[A-Z]\b", path.read_text("utf-8")))
    unknown = names - set(settings.BY_NAME) - NOT_SETTINGS
    assert not unknown, f"HEISHI_* names missing from monitor/settings.py: {sorted(unknown)}"
    assert len(SETTINGS) == len(settings.BY_NAME)  # no name twice


def test_only_the_settings_module_reads_the_environment():
    readers = []
    for folder in ("monitor", "spiders", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            where = path.relative_to(ROOT).as_posix()
            for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                if re.search(r"\bos\.environ\b|\bgetenv\b|\benviron\[", line):
                    readers.append(f"{where}:{number}: {line.strip()}")
    outside = [r for r in readers if r.split(":")[0] not in ENVIRONMENT_READERS]
    assert not outside, "read the environment through monitor.settings:\n" + "\n".join(outside)
    assert readers  # the grep finds the reads it is there to find


def test_settings_are_parsed_from_the_environment_with_their_defaults():
    empty = from_environment({"HOME": "/home/analyst"})
    assert empty.db == Path("heishi.db")
    assert empty.keywords_dir == ROOT / "keywords"
    assert empty.sites_dir == ROOT / "spiders" / "sites"
    assert empty.cache_dir == Path("/home/analyst/.cache/heishi")
    assert empty.secret_file == Path("/home/analyst/.local/share/heishi/secret.key")
    assert (empty.failures_before_alert, empty.store_batch, empty.store_flush) == (3, 1000, 2.0)
    assert (empty.match_max_chars, empty.alert_threshold, empty.model) == (50_000, None, True)
    assert (empty.chromium_sandbox, empty.chromium_user) == (True, "nobody")
    given = from_environment(
        {
            "HEISHI_DB": "/var/lib/heishi/heishi.db",
            "HEISHI_FAILURES_BEFORE_ALERT": "5",
            "HEISHI_CHROMIUM_SANDBOX": "off",
            "HEISHI_CHROMIUM_USER": "",
            "HEISHI_DATASETTE_HOSTS": "a.lan, b.lan,",
            "XDG_CACHE_HOME": "/cache",
            "PATH": "/usr/bin",  # not a setting: not kept
        }
    )
    assert given.db == Path("/var/lib/heishi/heishi.db")
    assert given.failures_before_alert == 5
    assert (given.chromium_sandbox, given.chromium_user) == (False, "")
    assert [h.strip() for h in given.datasette_hosts] == ["a.lan", "b.lan"]
    assert given.cache_dir == Path("/cache/heishi")
    assert "PATH" not in given.environ


def test_a_malformed_setting_fails_where_it_is_used_naming_it():
    broken = from_environment({"HEISHI_MODEL": "maybe", "HEISHI_MATCH_MAX_CHARS": "lots"})
    assert broken.db == Path("heishi.db")  # the rest still reads
    with pytest.raises(ConfigError, match="HEISHI_MODEL"):
        _ = broken.model
    with pytest.raises(ConfigError, match="HEISHI_MATCH_MAX_CHARS"):
        _ = broken.match_max_chars


def test_settings_are_frozen_and_replace_makes_new_ones():
    given = from_environment({"HEISHI_DB": "a.db"})
    with pytest.raises(AttributeError):
        given.environ = {}  # type: ignore[misc]
    changed = given.replace(HEISHI_DB="b.db", HEISHI_SITES_DIR="/sites")
    assert (given.db, changed.db, changed.sites_dir) == (Path("a.db"), Path("b.db"), Path("/sites"))
    assert changed.replace(HEISHI_DB=None).db == Path("heishi.db")
    with pytest.raises(KeyError, match="HEISHI_TYPO"):
        given.replace(HEISHI_TYPO="1")


def test_current_reads_once_and_again_only_when_a_setting_changed(monkeypatch):
    first = settings.current()
    assert settings.current() is first
    monkeypatch.setenv("HEISHI_STORE_BATCH", "7")
    changed = settings.current()
    assert changed is not first and changed.store_batch == 7
    assert settings.current() is changed


def test_a_child_gets_its_settings_explicitly_and_nothing_of_the_parents_heishi_variables(
    monkeypatch, tmp_path
):
    monkeypatch.setenv("HEISHI_WEB_MATCH_SECONDS", "4")  # the parent's, not given to the child
    given = from_environment({"HEISHI_DB": str(tmp_path / "child.db")})
    env = settings.child_environment(given, {"HEISHI_DEMO_FORUM_URL": "http://127.0.0.1:1"})
    assert "HEISHI_WEB_MATCH_SECONDS" not in env
    assert env["PATH"]  # the rest of the environment is kept
    script = (
        "from monitor.settings import current; s = current();"
        "print(s.db, s.web_match_seconds, s.text('HEISHI_DEMO_FORUM_URL'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True
    )
    assert out.stdout.split() == [str(tmp_path / "child.db"), "10.0", "http://127.0.0.1:1"]


def test_crawls_get_the_tables_defaults_as_scrapy_settings(monkeypatch):
    monkeypatch.setenv("HEISHI_RETRY_BACKOFF_BASE", "0.25")
    monkeypatch.delenv("HEISHI_DB", raising=False)  # the suite's fixture points it at tmp
    crawl = settings.crawl_defaults()
    for row in SETTINGS:
        if row.kind == CRAWL:
            assert crawl[row.name] == row.value, row.name
    assert crawl["HEISHI_RETRY_BACKOFF_BASE"] == 0.25
    assert crawl["HEISHI_DB"] is None  # monitor's default applies


def test_failures_before_alert_has_one_default_and_one_off_sweeps_alert_at_once():
    from monitor.alerting.ingest import ONE_OFF_FAILURES_BEFORE_ALERT, failures_before_alert

    assert settings.BY_NAME["HEISHI_FAILURES_BEFORE_ALERT"].default == "`3`"
    assert from_environment({}).failures_before_alert == 3
    assert failures_before_alert(from_environment({})) == ONE_OFF_FAILURES_BEFORE_ALERT == 1
    given = from_environment({"HEISHI_FAILURES_BEFORE_ALERT": "4"})
    assert failures_before_alert(given) == 4


def test_the_tables_defaults_are_the_ones_the_code_falls_back_to():
    from monitor.matching.matcher import DEFAULT_MAX_CHARS, DEFAULT_THRESHOLD
    from monitor.privacy.pii import DEFAULT_KEEP
    from monitor.running.distributed import DEFAULT_LEASE_SECONDS, DEFAULT_MAX_DELIVERIES
    from spiders.kinds.paste import MAX_TEXT_CHARS

    shown = {row.name: row.default for row in SETTINGS}
    assert shown["HEISHI_ALERT_THRESHOLD"] == f"`{DEFAULT_THRESHOLD}`"
    assert shown["HEISHI_MATCH_MAX_CHARS"] == f"`{DEFAULT_MAX_CHARS}`"
    assert from_environment({}).match_max_chars == DEFAULT_MAX_CHARS
    assert shown["HEISHI_PII_MASK_KEEP"] == "`{},{}`".format(*DEFAULT_KEEP)
    crawl = settings.crawl_defaults(from_environment({}))
    assert crawl["HEISHI_DISTRIBUTED_LEASE_SECONDS"] == DEFAULT_LEASE_SECONDS
    assert crawl["HEISHI_DISTRIBUTED_MAX_DELIVERIES"] == DEFAULT_MAX_DELIVERIES
    assert crawl["HEISHI_PASTE_MAX_CHARS"] == MAX_TEXT_CHARS
