"""The test suite never uses the developer's own install: no real notification routes, no real
store, no real secrets, in the tests, their fixtures and the processes they start."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHECKOUT_DATA, ISOLATED_FILES
from tests.helpers import HEISHI
from tests.receivers import WebhookReceiver

ROOT = Path(__file__).resolve().parent.parent


def test_a_test_never_reads_the_checkouts_own_notify_or_severity_file():
    from monitor.alerting.notify_config import load_notify_config, notify_file
    from monitor.alerting.severity import severity_file
    from monitor.config import PROJECT_ROOT

    assert notify_file() != PROJECT_ROOT / "notify.toml" and not notify_file().exists()
    assert severity_file() != PROJECT_ROOT / "severity.toml" and not severity_file().exists()
    assert load_notify_config().routes == ()


def test_only_the_variables_the_suite_sets_are_seen():
    seen = {name for name in os.environ if name.startswith("HEISHI_")}
    assert seen == set(ISOLATED_FILES)


def test_every_file_setting_the_code_reads_is_isolated_or_the_checkouts_data():
    """A new HEISHI_*_FILE, *_DIR or HEISHI_DB read anywhere in monitor/ or spiders/ must be
    added to ISOLATED_FILES (tests/conftest.py), or to CHECKOUT_DATA if it names project data."""
    names = set()
    for folder in ("monitor", "spiders"):
        for path in (ROOT / folder).rglob("*.py"):
            names |= set(re.findall(r"HEISHI_[A-Z0-9_]+", path.read_text(encoding="utf-8")))
    file_settings = {n for n in names if n == "HEISHI_DB" or n.endswith(("_FILE", "_DIR"))}
    assert {"HEISHI_NOTIFY_FILE", "HEISHI_DB", "HEISHI_SITES_DIR"} <= file_settings
    assert file_settings - set(ISOLATED_FILES) - CHECKOUT_DATA == set()


def test_every_file_a_setting_resolves_to_lies_in_the_sessions_temporary_folder(
    tmp_path_factory,
):
    from monitor.alerting.notify_config import notify_file
    from monitor.alerting.severity import severity_file
    from monitor.config import cache_dir, db_path, secret_path
    from monitor.running.payload_signing import key_path

    base = tmp_path_factory.getbasetemp()
    resolved = [db_path(), notify_file(), severity_file(), secret_path(), cache_dir(), key_path()]
    assert all(path is not None and path.is_relative_to(base) for path in resolved), resolved
    assert not db_path().exists()


# -- a developer's own routes, and a run of the suite ---------------------------------------


@pytest.fixture(scope="module")
def routes_seen_by_a_module_fixture():
    """Module fixtures are built before a test's own autouse fixtures."""
    from monitor.alerting.notify_config import load_notify_config

    return load_notify_config().routes


def test_an_alert_sent_with_the_default_routes_goes_nowhere(
    tmp_path, routes_seen_by_a_module_fixture
):
    """Run inside the suite this passes; run by the test below with a developer's routes in
    the environment it shows where a test's alerts would go without tests/conftest.py."""
    from monitor.alerting.notify import drain_outbox
    from tests.test_ingest import listing, sweep

    db = tmp_path / "heishi.db"
    sweep(db, [listing("1", "身份证四件套 出售", price="3000元")])
    here = drain_outbox(db)
    child = subprocess.run(
        [*HEISHI, "notify", "send", "--db", str(db), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == 0, child.stderr
    sent = (len(routes_seen_by_a_module_fixture), here.sent, json.loads(child.stdout)["sent"])
    assert sent == (0, 0, 0)


TEST_WITH_DEFAULT_ROUTES = test_an_alert_sent_with_the_default_routes_goes_nowhere.__name__


def test_a_developers_own_notify_file_receives_nothing_from_a_run_of_the_suite(tmp_path):
    receiver = WebhookReceiver().start()
    try:
        own = tmp_path / "developer"
        own.mkdir()
        (own / "notify.toml").write_text(f'[[routes]]\nname = "mine"\nurls = ["{receiver.url}"]\n')
        developer_env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("HEISHI_")},
            "HEISHI_NOTIFY_FILE": str(own / "notify.toml"),
            "HEISHI_DB": str(own / "heishi.db"),
            "HEISHI_SECRET_FILE": str(own / "secret.key"),
            "HEISHI_CACHE_DIR": os.environ["HEISHI_CACHE_DIR"],
        }
        inner = f"{Path(__file__).relative_to(ROOT)}::{TEST_WITH_DEFAULT_ROUTES}"

        def suite(*options: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options, inner],
                cwd=ROOT,
                env=developer_env,
                capture_output=True,
                text=True,
                timeout=240,
            )

        isolated = suite()
        assert isolated.returncode == 0, isolated.stdout + isolated.stderr
        assert receiver.received == []
        # The same test without the suite's conftest.py: the developer's receiver gets its alert.
        unprotected = suite("--noconftest")
        assert "assert (1, 1, 0) == (0, 0, 0)" in unprotected.stdout, unprotected.stdout
        assert len(receiver.received) == 1
        assert "身份证四件套" in receiver.received[0]["json"]["title"]
    finally:
        receiver.stop()
