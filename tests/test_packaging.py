"""How heishi is installed: dependency ranges, the lock `make setup` installs from, a checkout
it runs from, and what git must never pick up."""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from monitor import config, settings

ROOT = Path(__file__).resolve().parent.parent


def declared() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    names = project["dependencies"] + project["optional-dependencies"]["dev"]
    return [Requirement(text) for text in names]


def locked() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.lock").read_text("utf-8").splitlines():
        found = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if found:
            pins[canonicalize_name(found.group(1))] = found.group(2)
    return pins


def test_every_dependency_has_a_range_up_to_its_next_major_version():
    for requirement in declared():
        bounds = {spec.operator for spec in requirement.specifier}
        assert bounds == {">=", "<"}, f"{requirement}: give it a lower and an upper bound"


def test_the_lock_pins_every_dependency_within_its_range():
    pins = locked()
    for requirement in declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: run `make lock`"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}: "
            "run `make lock`"
        )
    assert len(pins) > len(declared())  # their own dependencies are pinned too


def test_setup_installs_the_lock_then_heishi_without_its_dependencies():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    assert "pip install -q --disable-pip-version-check -r $(LOCK)" in makefile
    assert "--no-deps -e ." in makefile
    assert re.search(r"^\$\(STAMP\): pyproject.toml \$\(LOCK\)$", makefile, re.M)


def test_heishi_runs_from_its_checkout_and_reads_its_data_there():
    assert config.PROJECT_ROOT == ROOT  # installed editable: the code is the checkout's
    defaults = settings.from_environment({})
    assert defaults.keywords_dir == ROOT / "keywords"
    assert sorted(defaults.keywords_dir.glob("*.toml"))
    assert defaults.sites_dir == ROOT / "spiders" / "sites"
    assert sorted(defaults.sites_dir.glob("*.toml"))
    assert defaults.notify_file == ROOT / "notify.toml"
    assert (ROOT / "scrapy.cfg").exists()
    assert "heishi runs from its checkout" in (ROOT / "README.md").read_text("utf-8")


@pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout"
)
def test_git_ignores_secrets_stores_and_what_lives_beside_them():
    private = [
        "notify.toml",
        "heishi.db",
        "heishi.db-wal",
        "heishi.db-reserve",
        "heishi-web.key",
        "demo-web.key",
        "heishi-logs/heishi-run.log",
        "heishi-evidence/ab/abcd.gz",
        "heishi-cookies/forum.json",
        "demo-logs/demo_forum.log",
        "distributed.key",
        ".venv/bin/python",
        ".ruff_cache/x",
        ".pytest_cache/x",
        ".mypy_cache/x",
    ]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *private],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert sorted(result.stdout.split()) == sorted(private)
    kept = ["keywords/identity.toml", "spiders/sites/demo_forum.toml", "requirements.lock"]
    result = subprocess.run(
        ["git", "check-ignore", "--no-index", *kept], cwd=ROOT, capture_output=True, text=True
    )
    assert result.stdout.split() == []
