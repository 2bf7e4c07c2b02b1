"""`scrapy check`: every spider kind's contracts, on fixture pages served from 127.0.0.1.

One `scrapy check` run (each costs seconds) over the demo site files, one contract site per
kind and preset, and one site whose selector no longer matches its fixture page."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

from tests.servers import PROJECT_ROOT

CONTRACT_SITES = PROJECT_ROOT / "spiders" / "contracts" / "sites"
DEMO_SITES = PROJECT_ROOT / "spiders" / "sites"


def test_scrapy_check_passes_for_every_kind_and_preset_and_catches_a_broken_selector(tmp_path):
    kinds = sorted(p.stem for p in CONTRACT_SITES.glob("*.toml"))
    assert kinds == [
        "contract_channel",
        "contract_discuz",
        "contract_market",
        "contract_onion",
        "contract_paste",
        "contract_phpbb",
        "contract_tieba",
    ]
    sites = tmp_path / "sites"
    sites.mkdir()
    for path in [*CONTRACT_SITES.glob("*.toml"), *DEMO_SITES.glob("demo_*.toml")]:
        shutil.copy(path, sites)
    broken = (CONTRACT_SITES / "contract_phpbb.toml").read_text()
    broken = broken.replace("contract_phpbb", "broken_phpbb") + '\n[selectors]\ntext = "div.gone"\n'
    (sites / "broken_phpbb.toml").write_text(broken)
    env = {**os.environ, "HEISHI_DB": str(tmp_path / "heishi.db"), "HEISHI_SITES_DIR": str(sites)}
    proc = subprocess.run(
        [sys.executable, "-m", "scrapy", "check", "--verbose"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    results = re.findall(r"^\[(\w+)\] (\w+) \((.+?)\) \.\.\. (\w+)$", proc.stderr, re.M)
    failed = {(site, callback) for site, callback, _, outcome in results if outcome != "ok"}
    checked = {site for site, *_ in results}
    # Only the broken selector fails: its thread pages yield nothing.
    assert failed == {("broken_phpbb", "parse_detail")}, proc.stderr[-3000:]
    assert proc.returncode != 0
    assert checked == {*kinds, "broken_phpbb", "demo_forum", "demo_market", "demo_channel"}
    per_site = {site: sum(1 for s, *_ in results if s == site) for site in checked}
    # Forums: 2 list + 3 detail contracts; market and paste 2 + 2; channels 3 (read in place).
    assert per_site["contract_tieba"] == per_site["demo_forum"] == 5
    assert per_site["contract_paste"] == per_site["demo_market"] == 4
    assert per_site["contract_channel"] == per_site["demo_channel"] == 3
    assert not (tmp_path / "heishi.db").exists()  # contracts record no run


def test_scrapy_check_with_the_project_site_files_runs_offline():
    """The default `scrapy check` (the demo sites) needs nothing but this checkout: it is
    part of the run above; here only that every fixture a demo site needs exists."""
    from monitor.sites import load_sites
    from spiders.contracts import fixture_path

    for site in load_sites(DEMO_SITES):
        assert fixture_path(site, "list"), site.name
        if site.kind != "channel":
            assert fixture_path(site, "detail"), site.name
