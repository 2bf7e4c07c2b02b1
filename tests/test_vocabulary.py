"""One vocabulary: severities, statuses, alert kinds, categories and site kinds are defined in
monitor/vocabulary.py; the command line, the web page, notifications, exports and the store's
SQL take them from there, and every table of words per value covers exactly its vocabulary."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from monitor import vocabulary as v
from monitor.store.ranks import SEVERITY_OF_RANK, severity_rank_sql, sql_list, status_rank_sql

ROOT = Path(__file__).resolve().parent.parent


def test_severity_ranks_follow_the_vocabulary_in_python_and_in_sql():
    assert [v.severity_rank(s) for s in v.SEVERITIES] == [1, 2, 3, 4]
    assert v.severity_rank(None) == v.severity_rank("urgent") == 0
    assert SEVERITY_OF_RANK == {1: "low", 2: "medium", 3: "high", 4: "critical"}
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE a (severity TEXT, status TEXT)")
    words = [*v.SEVERITIES, None, "bogus"]
    conn.executemany("INSERT INTO a (severity) VALUES (?)", [(w,) for w in words])
    ranked = conn.execute(f"SELECT severity, {severity_rank_sql('severity')} FROM a").fetchall()
    assert ranked == [(w, v.severity_rank(w)) for w in words]
    by_rank = f"SELECT severity FROM a ORDER BY {severity_rank_sql('severity')} DESC LIMIT 1"
    assert conn.execute(by_rank).fetchone() == ("critical",)


def test_the_queue_orders_statuses_waiting_ones_first_and_knows_every_status():
    assert sorted(v.STATUS_QUEUE_ORDER) == sorted(v.ALERT_STATUSES)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE a (status TEXT)")
    conn.executemany("INSERT INTO a VALUES (?)", [(s,) for s in (*v.ALERT_STATUSES, "odd")])
    ordered = [
        r[0] for r in conn.execute(f"SELECT status FROM a ORDER BY {status_rank_sql('status')}")
    ]
    assert ordered == [*v.STATUS_QUEUE_ORDER, "odd"]
    assert conn.execute(
        f"SELECT count(*) FROM a WHERE status IN {sql_list(v.UNDECIDED_STATUSES)}"
    ).fetchone() == (2,)


def test_status_sets_and_triage_words_are_words_of_the_vocabulary():
    statuses = set(v.ALERT_STATUSES)
    for subset in (
        v.UNDECIDED_STATUSES,
        v.ACTIVE_STATUSES,
        v.CONFIRMING_STATUSES,
        v.DISMISSING_STATUSES,
    ):
        assert set(subset) <= statuses
    assert set(v.TRIAGE_VERBS.values()) == statuses
    assert v.TRIAGE_ACTIONS.items() <= v.TRIAGE_VERBS.items()
    assert set(v.SOURCE_ALERT_KINDS) <= set(v.ALERT_KINDS)
    assert v.status_of_verb(" ACK ") == "acknowledged" and v.status_of_verb("maybe") is None


def test_every_table_of_words_per_value_covers_exactly_its_vocabulary():
    from monitor.alerting.notify import KIND_WORDS, NOTIFY_TYPE
    from monitor.alerting.notify_config import ROUTE_ONLY_KINDS
    from monitor.export.misp import THREAT_LEVEL
    from monitor.render import KIND_TITLES, SEVERITY_STYLE
    from monitor.sites.presets import KINDS
    from monitor.web.chart import COLOURS
    from monitor.web.labels import LABELS
    from monitor.web.queue import ACTIONS

    for table in (SEVERITY_STYLE, NOTIFY_TYPE, THREAT_LEVEL):
        assert set(table) == set(v.SEVERITIES)
    assert set(KIND_TITLES) == set(v.ALERT_KINDS)
    assert set(KIND_WORDS) == {*v.ALERT_KINDS, *ROUTE_ONLY_KINDS}
    assert tuple(KINDS) == v.SITE_KINDS
    from spiders.kinds import SPIDER_CLASSES

    assert tuple(SPIDER_CLASSES) == v.SITE_KINDS
    assert ACTIONS == v.TRIAGE_ACTIONS
    every = {*v.SEVERITIES, *v.ALERT_STATUSES, *v.ALERT_KINDS, *v.CATEGORIES}
    assert every <= set(LABELS)
    assert {*v.SEVERITIES, *v.ALERT_STATUSES} <= set(COLOURS)


# Words of the closed vocabularies written as a literal list or order in code: each one of
# these shapes is a second definition.
SECOND_DEFINITIONS = [
    re.compile(r"""["']low["'],\s*["']medium["'],\s*["']high["']"""),
    re.compile(r"""WHEN ["']critical["'] THEN"""),
    re.compile(r"""["']open["'],\s*["'](acknowledged|escalated)["']"""),
    re.compile(r"""["']confirmed["'],\s*["']escalated["']"""),
    re.compile(r"""["']source_failing["'],\s*["']source_changed_shape["']"""),
    re.compile(r"""["']forum["'],\s*["']marketplace["'],\s*["']channel["']"""),
]


def test_no_module_defines_a_closed_vocabulary_a_second_time():
    found = []
    for top in ("monitor", "spiders"):
        for path in sorted((ROOT / top).rglob("*.py")):
            if path.name == "vocabulary.py":
                continue
            text = path.read_text(encoding="utf-8")
            for pattern in SECOND_DEFINITIONS:
                for match in pattern.finditer(text):
                    line = text.count("\n", 0, match.start()) + 1
                    found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)}")
    assert not found


@pytest.mark.parametrize(
    "option,value",
    [("--severity", "urgent"), ("--status", "pending"), ("--kind", "sold"), ("--category", "x")],
)
def test_an_unknown_word_on_the_command_line_exits_2_and_lists_the_vocabulary(
    option, value, capsys
):
    from monitor.cli import main

    assert main(["alerts", option, value]) == 2
    words = {
        "--severity": v.SEVERITIES,
        "--status": v.ALERT_STATUSES,
        "--kind": v.ALERT_KINDS,
        "--category": v.CATEGORIES,
    }[option]
    error = capsys.readouterr().err
    assert f"invalid choice: '{value}'" in error
    assert all(word in error for word in words)


def test_datasettes_canned_queries_order_severities_with_the_generated_case():
    """metadata.json is data Datasette reads as it is: the orderings it spells are the ones
    monitor/store/ranks.py generates, word for word."""
    import json

    from monitor.datasette import METADATA_PATH

    queries = json.loads(METADATA_PATH.read_text(encoding="utf-8"))["databases"]["heishi"]
    texts = [query["sql"] for query in queries["queries"].values()]
    cases = [m.group(0) for sql in texts for m in re.finditer(r"(?i)case a\.severity .*? end", sql)]
    assert cases and set(cases) == {severity_rank_sql("a.severity")}
