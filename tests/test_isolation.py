"""The test suite never uses the developer's own install: no real notification routes."""

from __future__ import annotations

import os


def test_a_test_never_reads_the_checkouts_own_notify_or_severity_file():
    from monitor.alerting.notify_config import load_notify_config, notify_file
    from monitor.alerting.severity import severity_file
    from monitor.config import PROJECT_ROOT

    assert notify_file() != PROJECT_ROOT / "notify.toml" and not notify_file().exists()
    assert severity_file() != PROJECT_ROOT / "severity.toml" and not severity_file().exists()
    assert load_notify_config().routes == ()


def test_only_the_variables_the_suite_sets_are_seen():
    seen = {name for name in os.environ if name.startswith("HEISHI_")}
    assert seen == {
        "HEISHI_SECRET_FILE",
        "HEISHI_DISTRIBUTED_KEY_FILE",
        "HEISHI_CACHE_DIR",
        "HEISHI_NOTIFY_FILE",
        "HEISHI_SEVERITY_FILE",
    }
